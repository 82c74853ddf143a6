"""Helpers that turn frames and dicts into Dagster metadata the UI renders well."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from dagster import MetadataValue


def md_table(df: pd.DataFrame, max_rows: int = 60, floatfmt: str = ".3f") -> MetadataValue:
    shown = df.head(max_rows)
    text = shown.to_markdown(index=False, floatfmt=floatfmt)
    if len(df) > max_rows:
        text += f"\n\n… {len(df) - max_rows} more rows"
    return MetadataValue.md(text)


def counts_table(values: pd.Series, name: str) -> MetadataValue:
    counts = values.value_counts(dropna=False).rename_axis(name).reset_index(name="rows")
    return md_table(counts)


def scalar(value: Any) -> Any:
    """A metadata-safe scalar: NaN/None become the string 'n/a' (the UI shows it plainly)."""
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if hasattr(value, "item"):
        return value.item()
    return value


def rollup(per_partition: dict[str, dict[str, Any]], totals: tuple[str, ...] = ()) -> dict[str, Any]:
    """Metadata for a run that materialized several partitions at once (a backfill chunk).

    One partition keeps its full metadata. Several get summed ``totals`` and one table row per
    partition with its scalar values, so nothing a single-partition run shows is lost.
    """
    if len(per_partition) == 1:
        return next(iter(per_partition.values()))
    rows = [
        {"partition": key, **{k: v for k, v in md.items() if isinstance(v, int | float | str)}}
        for key, md in per_partition.items()
    ]
    summed = {k: sum(md.get(k, 0) for md in per_partition.values()) for k in totals}
    return {"partitions_in_run": len(per_partition), **summed, "per_partition": md_table(pd.DataFrame(rows))}
