"""Property tests of the landing readers (issue #12): whatever a file holds, every row is accounted
for, and a bad row never costs a good one.

Generated files: arbitrary bytes under every supported name, JSON lines mixing good records with
arbitrary bytes and arbitrary JSON values (deep, wide, odd types), CSV files of arbitrary shape,
Parquet files with columns of arbitrary Arrow types, and good records in every text encoding the
contract accepts. The only exception allowed out of the reader is ``LandingSchemaError``: a batch
that lacks a column every row needs fails the run loudly (nothing is silently lost).

Bounded for CI: a fixed number of examples per property, derandomized (the same inputs every run).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beambell_assets.ingest.contract import LandingSchemaError
from beambell_assets.ingest.readers import IngestResult, read_landing_file

PROFILE = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,  # the same examples on every machine: no local example database
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TEXT = "An ordinary page about trains, timetables, platforms and tickets to the coast"
NAMES = ["b.jsonl", "b.json", "b.ndjson", "b.jsonl.gz", "b.csv", "b.csv.gz", "b.parquet"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)
# JSON objects that look like records: canonical keys with values of any JSON type
records = st.dictionaries(
    st.sampled_from(["url", "text", "html", "title", "scraped_at", "id", "extra"]) | st.text(max_size=6),
    json_values,
    max_size=6,
)


def _good(i: int) -> dict[str, str]:
    return {"url": f"https://good.example/page-{i}", "text": f"{TEXT}, number {i}."}


def _read(path: Path) -> IngestResult | None:
    """The reader's result, checked for the accounting invariant; None for a batch-level error."""
    try:
        result = read_landing_file(path, "p")
    except LandingSchemaError:
        return None
    assert len(result.accepted) + len(result.quarantined) == result.rows_read
    assert result.rows_read >= 1
    assert result.accepted["source_row"].is_unique
    assert result.quarantined["reason"].notna().all()
    return result


@PROFILE
@given(data=st.binary(max_size=2_000), name=st.sampled_from(NAMES))
def test_arbitrary_bytes_are_accounted_for(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        _read(path)


@PROFILE
@given(
    bad=st.lists(
        st.binary(max_size=300).map(lambda b: b.replace(b"\n", b" "))
        | records.map(lambda r: json.dumps(r).encode())
        | json_values.map(lambda v: json.dumps(v).encode())
        | st.integers(400, 3_000).map(lambda d: b"[" * d + b"]" * d),
        max_size=8,
    ),
    n_good=st.integers(1, 6),
    order=st.randoms(use_true_random=False),
)
def test_bad_json_lines_never_cost_the_good_ones(bad: list[bytes], n_good: int, order) -> None:  # type: ignore[no-untyped-def]
    good = [json.dumps(_good(i)).encode() for i in range(n_good)]
    rest = good[1:] + bad
    order.shuffle(rest)
    lines = [good[0], *rest]  # a good first line: encoding detection reads the file's first bytes
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mixed.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        result = _read(path)
    assert result is not None
    good_rows = {i + 1 for i, line in enumerate(lines) if line in good}
    assert good_rows <= set(result.accepted["source_row"]), result.reason_counts()


@PROFILE
@given(
    header=st.lists(
        st.sampled_from(["url", "text", "html", "title"]) | st.text(max_size=8), min_size=1, max_size=6
    ),
    rows=st.lists(st.lists(st.text(max_size=40), max_size=7), max_size=12),
    good=st.integers(0, 4),
)
def test_csv_of_any_shape_is_accounted_for(header: list[str], rows: list[list[str]], good: int) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["url", "text", *header])
    for i in range(good):
        writer.writerow([_good(i)["url"], _good(i)["text"], *([""] * len(header))])
    for row in rows:
        writer.writerow(row)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shape.csv"
        path.write_text(buf.getvalue(), encoding="utf-8", errors="surrogatepass")
        result = _read(path)
    assert result is not None  # url and text columns exist
    if len(set(["url", "text", *header])) == 2 + len(header):  # unambiguous header: good rows read
        accepted = set(result.accepted["url"])
        assert {_good(i)["url"] for i in range(good)} <= accepted


arrow_columns = st.sampled_from(
    [
        pa.int64(),
        pa.float64(),
        pa.bool_(),
        pa.string(),
        pa.binary(),
        pa.list_(pa.string()),
        pa.struct([("a", pa.int32()), ("b", pa.string())]),
        pa.timestamp("ms"),
        pa.null(),
    ]
)


@PROFILE
@given(
    n=st.integers(0, 8),
    extra=st.lists(st.tuples(st.sampled_from(["title", "html", "x", "y", "id"]), arrow_columns), max_size=4),
    url_type=st.sampled_from([pa.string(), pa.binary(), pa.large_string(), pa.int64()]),
    data=st.data(),
)
def test_parquet_with_columns_of_any_type_is_accounted_for(n, extra, url_type, data) -> None:  # type: ignore[no-untyped-def]
    columns: dict[str, pa.Array] = {}
    urls = [_good(i)["url"] for i in range(n)]
    columns["url"] = pa.array(
        [u.encode() for u in urls]
        if url_type == pa.binary()
        else list(range(n))
        if url_type == pa.int64()
        else urls,
        type=url_type,
    )
    columns["text"] = pa.array([_good(i)["text"] for i in range(n)], type=pa.string())
    for name, dtype in extra:
        values = data.draw(st.lists(_arrow_value(dtype), min_size=n, max_size=n))
        columns[name] = pa.array(values, type=dtype)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "any.parquet"
        pq.write_table(pa.table(columns), path)
        result = _read(path)
    assert result is not None
    assert result.rows_read == max(n, 1)
    # unmapped columns of any type never cost a row (title/html/id are fields, checked as such)
    if n and url_type != pa.int64() and not any(name in ("title", "html", "id") for name, _ in extra):
        assert len(result.accepted) == n, result.reason_counts()


def _arrow_value(dtype: pa.DataType) -> st.SearchStrategy:
    if pa.types.is_struct(dtype):
        return st.none() | st.fixed_dictionaries(
            {"a": st.integers(-(2**31), 2**31 - 1), "b": st.text(max_size=5)}
        )
    if pa.types.is_list(dtype):
        return st.none() | st.lists(st.text(max_size=5), max_size=3)
    if pa.types.is_timestamp(dtype):
        return st.none() | st.datetimes().map(pd.Timestamp)
    return {
        "int64": st.none() | st.integers(-(2**63), 2**63 - 1),
        "double": st.none() | st.floats(),
        "bool": st.none() | st.booleans(),
        "string": st.none() | st.text(max_size=20),
        "binary": st.none() | st.binary(max_size=20),
        "null": st.none(),
    }[str(dtype)]


@PROFILE
@given(
    n=st.integers(1, 5),
    codec=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"]),
    fmt=st.sampled_from(["jsonl", "csv"]),
    gz=st.booleans(),
    crlf=st.booleans(),
)
def test_good_records_in_every_accepted_encoding_are_all_read(n, codec, fmt, gz, crlf) -> None:  # type: ignore[no-untyped-def]
    rows = [{"url": f"https://good.example/café-{i}", "text": f"{TEXT} — déjà vu nº {i}."} for i in range(n)]
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    else:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["url", "text"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        text = buf.getvalue()
    if crlf:
        text = text.replace("\n", "\r\n")
    raw = text.encode(codec)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"enc.{fmt}{'.gz' if gz else ''}"
        path.write_bytes(gzip.compress(raw) if gz else raw)
        result = _read(path)
    assert result is not None and len(result.accepted) == n, result.reason_counts()
    assert "déjà vu" in result.accepted["text"].iat[0]
