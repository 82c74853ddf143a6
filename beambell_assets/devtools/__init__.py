"""Developer tools for tests and benchmark scripts (not used by the assets themselves)."""

from beambell_assets.devtools.local_dagster import (
    DagsterStartError,
    GraphQLError,
    LocalDagster,
    free_port,
    running_dagster,
    wait_for,
)

__all__ = [
    "DagsterStartError",
    "GraphQLError",
    "LocalDagster",
    "free_port",
    "running_dagster",
    "wait_for",
]
