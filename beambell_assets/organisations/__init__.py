"""Organisations: who runs a site, from what a scrape holds (HTML metadata, text, the domain).

``extract`` finds name candidates on one page, ``normalise`` makes names comparable, ``records``
merges a site's candidates into its organisation and builds the org-type task's features.
Plain Python (no Dagster): ``defs/assets/domains.py`` wires it into the graph.
"""
