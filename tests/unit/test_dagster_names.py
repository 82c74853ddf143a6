"""The tag names beambell spells out are Dagster's own (a Dagster upgrade that renames one fails here)."""

import pytest
from dagster._core.storage import tags

from beambell_assets.defs.automation import dagster_names


@pytest.mark.parametrize(
    "name",
    ["RUN_KEY_TAG", "SENSOR_NAME_TAG", "ASSET_PARTITION_RANGE_START_TAG", "ASSET_PARTITION_RANGE_END_TAG"],
)
def test_tag_names_are_dagsters(name: str) -> None:
    assert getattr(dagster_names, name) == getattr(tags, name)
