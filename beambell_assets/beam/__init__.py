"""Apache Beam pipelines for LF application and batch scoring (the optional ``beam`` extra).

``lf_pipeline`` and ``scoring_pipeline`` import apache-beam; ``options`` does not (until asked for
``PipelineOptions``). The Dagster side chooses local or Beam per run through
:class:`beambell_assets.defs.resources.ComputeResource`.
"""
