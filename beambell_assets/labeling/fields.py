"""Reading a field of a data point, or a column of a frame, exactly as an LF's per-row form sees it.

Snorkel's ``PandasLFApplier`` hands an LF one pandas row at a time (``df.apply(f, axis=1)``); the
column forms of the LFs read whole columns instead and must see the same values. Missing values
(None, NaN, pd.NA) read as the empty string for text; a field missing from the data point reads as
missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "column_strings",
    "column_text",
    "column_values",
    "field_text",
    "field_text_value",
    "field_value",
    "row_dtype",
    "value_strings",
]


def field_value(x: Any, field: str) -> Any:
    """The raw value of ``field`` on a data point, or None when the data point has no such field.

    A pandas row is read by item (``x[field]``), not attribute: ``getattr(row, "name")`` or
    ``getattr(row, "size")`` would return the Series' own attributes, not the columns.
    """
    if isinstance(x, pd.Series):
        return x[field] if field in x.index else None
    if isinstance(x, Mapping):
        return x.get(field)
    return getattr(x, field, None)


def field_text_value(value: Any) -> str:
    """A raw value as text; missing values (None, NaN, pd.NA) are the empty string."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


def field_text(x: Any, field: str) -> str:
    """The text of ``field`` on a data point; missing values are the empty string."""
    return field_text_value(field_value(x, field))


def row_dtype(df: pd.DataFrame) -> Any:
    """The dtype of the row Series that ``df.apply(f, axis=1)`` (Snorkel's applier) hands an LF.

    Usually ``object`` (mixed columns). When every column shares a dtype family, pandas upcasts
    the row (an int column reads as float next to a float column).
    """
    if len(df) == 0 or df.shape[1] == 0:
        return np.dtype(object)
    return df.iloc[:1].apply(lambda r: r.dtype, axis=1).iloc[0]


def column_values(df: pd.DataFrame, field: str, dtype: Any = None) -> pd.Series | None:
    """Column ``field`` as the rows of ``df`` see it (cast to :func:`row_dtype`), None if absent.

    Raises ValueError for duplicated column names (a row would hold a Series there).
    """
    if field not in df.columns:
        return None
    if int(np.sum(df.columns == field)) > 1:
        raise ValueError(f"duplicated column {field!r}")
    col = df[field]
    dtype = row_dtype(df) if dtype is None else dtype
    if dtype != np.dtype(object) and col.dtype != dtype:
        col = col.astype(dtype)
    return col


def value_strings(col: pd.Series | None, n: int) -> list[str]:
    """:func:`field_text_value` of each value of ``col``; ``n`` empty strings for an absent column."""
    if col is None:
        return [""] * n
    return [field_text_value(v) for v in col.to_numpy(dtype=object)]


def column_strings(df: pd.DataFrame, field: str, dtype: Any = None) -> list[str]:
    """Column form of :func:`field_text` as a list: one string per row of ``df``."""
    return value_strings(column_values(df, field, dtype), len(df))


def column_text(df: pd.DataFrame, field: str, dtype: Any = None) -> pd.Series:
    """Column form of :func:`field_text`: an object Series of strings aligned with ``df``."""
    return pd.Series(column_strings(df, field, dtype), index=df.index, dtype=object)
