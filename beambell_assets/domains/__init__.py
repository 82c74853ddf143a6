"""Domains: public-suffix-aware site keys, domain-level LFs and incremental domain profiles.

Plain Python (no Dagster): ``defs/assets/domains.py`` wires it into the graph.
"""
