"""The Dagster layer: everything that knows about Dagster, and nothing else does.

    defs/assets/        software-defined assets; per-task families from one factory (task_family.py)
    defs/asset_checks.py  the promotion gates (blocking checks on each task's classifier)
    defs/automation/    sensors, schedules, backfills, Dagster's run-tag names
    defs/executors/     in-process or celery execution, step retry policy
    defs/resources.py   every resource, built from ``Settings`` by ``build_resources``

``beambell_assets.definitions`` wires them into jobs and the code location. Domain packages
(``ingest/``, ``labeling/``, ``training/``, ``serving/``, ``monitoring/``, ``feedback/``, …) never
import this package. Importing it builds and reads nothing.
"""
