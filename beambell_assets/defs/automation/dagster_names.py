"""Dagster's run tags and job type, named once so the automation uses only Dagster's public API.

The tag values are Dagster's documented system tags (``dagster/run_key`` …); Dagster exports no
constants for them. ``AssetJob`` is what ``dg.define_asset_job`` returns: its class is not
exported either, so it is imported for type checking only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

RUN_KEY_TAG = "dagster/run_key"
SENSOR_NAME_TAG = "dagster/sensor_name"
ASSET_PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition as AssetJob,
    )
else:
    AssetJob = Any
