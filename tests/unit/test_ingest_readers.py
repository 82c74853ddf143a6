"""Reading landing files: every row accepted or quarantined with a reason, whatever the file holds."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beambell_assets.ingest.contract import (
    ColumnMapping,
    LandingSchemaError,
    Limits,
    content_hash_for,
    detect_format,
)
from beambell_assets.ingest.readers import (
    ACCEPTED_COLUMNS,
    ACCEPTED_SCHEMA,
    QUARANTINE_COLUMNS,
    IngestResult,
    read_landing_file,
)

GOOD = "A perfectly ordinary page about trains, timetables and tickets."
SEEN = "This text was accepted in an earlier partition already, word for word."
PAGE_HTML = (
    "<html><head><title>Timetables</title><meta name='description' content='All trains'>"
    "<meta property='og:site_name' content='RailCo'></head><body><nav><a href='/'>Home</a></nav>"
    "<article><p>Trains to the coast leave every hour from platform four, with tickets from $12.</p>"
    "<img src='t.png'></article></body></html>"
)
# UTF-8 read as cp1252 never reaches a Parquet file as bytes, so that format gets classic mojibake.
BAD_BYTES_TEXT = "Caf\udce9 cr\udce8me br\udcfbl\udce9e served all day in the station buffet"
MOJIBAKE_TEXT = "CafÃ© crÃ¨me brÃ»lÃ©e served all day in the station buffet, dÃ©jÃ  vu"

FORMATS = ["jsonl", "json", "jsonl.gz", "csv", "csv.gz", "parquet"]


def problem_rows(fmt: str) -> list[tuple[dict[str, Any], str | None]]:
    """One row per case, with the reason it must get (None: accepted)."""
    bad_text = MOJIBAKE_TEXT if fmt == "parquet" else BAD_BYTES_TEXT
    return [
        (
            {"url": "https://example.com/good", "text": GOOD, "title": "Good", "id": "r1", "crawler": "c"},
            None,
        ),
        ({"url": "https://example.com/html", "html": PAGE_HTML}, None),
        ({"url": None, "text": GOOD + " two"}, "missing_url"),
        ({"url": "mailto:someone@example.com", "text": GOOD + " three"}, "bad_url"),
        ({"url": "https://example.com/empty", "text": ""}, "missing_text"),
        (
            {"url": "https://example.com/no-body", "html": "<html><head><title>T</title></head></html>"},
            "missing_text",
        ),
        ({"url": "https://example.com/short", "text": "Too short"}, "text_too_short"),
        ({"url": "https://example.com/huge", "text": "x" * 2_000_001}, "text_too_large"),
        ({"url": "https://example.com/big-html", "html": "<p>" + "y" * 5_300_000}, "text_too_large"),
        ({"url": "https://EXAMPLE.com/good/", "text": GOOD + " again"}, "duplicate"),
        ({"url": "https://example.com/mirror", "text": GOOD.upper()}, "duplicate"),
        ({"url": "https://example.com/seen", "text": SEEN}, "duplicate"),
        ({"url": "https://example.com/bytes", "text": bad_text}, "bad_encoding"),
        (
            {
                "url": "https://example.com/fffd",
                "text": "broken \ufffd\ufffd\ufffd text from a lossy decoder",
            },
            "bad_encoding",
        ),
    ]


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` in the format the file name says; str surrogate escapes become raw bytes."""
    fmt = detect_format(path)
    if fmt == "parquet":
        columns = sorted({k for r in rows for k in r})
        table = pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns})
        pq.write_table(table, path)
        return path
    if fmt == "csv":
        columns = sorted({k for r in rows for k in r})
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow(columns)
        out.writerows([["" if r.get(c) is None else r[c] for c in columns] for r in rows])
        data = buf.getvalue().encode("utf-8", "surrogateescape")
    else:
        data = b"".join(
            json.dumps(r, ensure_ascii=False).encode("utf-8", "surrogateescape") + b"\n" for r in rows
        )
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def assert_accounted(result: IngestResult) -> None:
    assert len(result.accepted) + len(result.quarantined) == result.rows_read
    assert tuple(result.accepted.columns) == ACCEPTED_COLUMNS
    assert tuple(result.quarantined.columns) == QUARANTINE_COLUMNS
    assert result.quarantined["reason"].notna().all() and result.quarantined["detail"].notna().all()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_problem_row_is_quarantined_with_its_reason(tmp_path: Path, fmt: str) -> None:
    cases = problem_rows(fmt)
    path = write_rows(tmp_path / f"batch.{fmt}", [row for row, _ in cases])
    result = read_landing_file(path, "p1", known_content_hashes=frozenset({content_hash_for(SEEN)}))

    assert_accounted(result)
    assert result.rows_read == len(cases)
    got = Counter(zip(result.quarantined["url"].fillna(""), result.quarantined["reason"], strict=True))
    expected = Counter((row["url"] or "", reason) for row, reason in cases if reason)
    assert got == expected
    assert sorted(result.accepted["url"]) == ["https://example.com/good", "https://example.com/html"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_accepted_rows_carry_source_text_and_html_metadata(tmp_path: Path, fmt: str) -> None:
    path = write_rows(tmp_path / f"batch.{fmt}", [row for row, _ in problem_rows(fmt)])
    acc = read_landing_file(path, "p1").accepted.set_index("url")

    text_row, html_row = acc.loc["https://example.com/good"], acc.loc["https://example.com/html"]
    assert text_row["text"] == GOOD and text_row["title"] == "Good"
    assert pd.isna(text_row["html"]) and pd.isna(text_row["n_links"])
    assert json.loads(text_row["extra"]) == {"crawler": "c", "source_id": "r1"}
    assert "platform four" in html_row["text"]
    assert (html_row["title"], html_row["description"], html_row["og_site_name"]) == (
        "Timetables",
        "All trains",
        "RailCo",
    )
    assert (html_row["n_links"], html_row["n_images"], html_row["n_forms"]) == (1.0, 1.0, 0.0)
    assert html_row["source_file"] == path.name and html_row["partition_key"] == "p1"
    assert len(html_row["page_id"]) == 16 and len(html_row["content_hash"]) == 40
    assert pd.isna(html_row["label"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_results_are_storable_and_typed(tmp_path: Path, fmt: str) -> None:
    path = write_rows(tmp_path / f"batch.{fmt}", [row for row, _ in problem_rows(fmt)])
    result = read_landing_file(path, "p1")
    assert {c: str(t) for c, t in result.accepted.dtypes.items()} == {
        c: "str" if t == "str" else t for c, t in ACCEPTED_SCHEMA.items()
    }
    # invalid bytes survive only as visible escapes, so a warehouse can store every row
    result.accepted.to_parquet(tmp_path / "accepted.parquet")
    result.quarantined.to_parquet(tmp_path / "quarantined.parquet")
    assert result.quarantined["raw"].str.len().max() <= Limits().raw_preview_chars
    raw_of_bad = result.quarantined.loc[result.quarantined["url"] == "https://example.com/bytes", "raw"].iloc[
        0
    ]
    assert ("\\udce9" in raw_of_bad) == (fmt != "parquet")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "jsonl.gz", "csv.gz"])
def test_empty_file_is_one_empty_file_row(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"empty.{fmt}"
    path.write_bytes(gzip.compress(b"") if fmt.endswith(".gz") else b"")
    result = read_landing_file(path, "p")
    assert_accounted(result)
    assert result.rows_read == 1
    assert result.quarantined[["source_row", "reason"]].to_dict("records") == [
        {"source_row": 0, "reason": "empty_file"}
    ]


@pytest.mark.parametrize(
    ("name", "content"),
    [("blank.jsonl", b"\n  \n\r\n"), ("header.csv", b"url,text\r\n"), ("bom.jsonl", b"\xef\xbb\xbf\n")],
)
def test_files_without_records_are_empty(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    assert read_landing_file(tmp_path / name, "p").reason_counts() == {"empty_file": 1}


def test_parquet_without_rows_is_empty(tmp_path: Path) -> None:
    pq.write_table(pa.table({"url": pa.array([], pa.string())}), tmp_path / "e.parquet")
    assert read_landing_file(tmp_path / "e.parquet", "p").reason_counts() == {"empty_file": 1}


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("corrupt.parquet", b"PAR1 this is not really parquet"),
        ("notgzip.csv.gz", b"url,text\nhttps://a.com,hello there\n"),
        ("binary.jsonl.gz", b"\x1f\x8b\x08\x00garbage"),
    ],
)
def test_unreadable_file_is_one_unreadable_row(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    result = read_landing_file(tmp_path / name, "p")
    assert_accounted(result)
    assert result.rows_read == 1
    assert result.quarantined.iloc[0][["source_row", "reason"]].tolist() == [0, "unreadable_file"]


def test_truncated_gzip_keeps_the_rows_before_the_damage(tmp_path: Path) -> None:
    rows = [
        {"url": f"https://example.com/{i}", "text": f"{GOOD} number {i} " + "pad " * 200} for i in range(200)
    ]
    full = gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in rows))
    (tmp_path / "cut.jsonl.gz").write_bytes(full[: len(full) // 2])
    result = read_landing_file(tmp_path / "cut.jsonl.gz", "p")
    assert_accounted(result)
    assert 0 < len(result.accepted) < 200
    assert result.reason_counts() == {"unreadable_file": 1}
    assert result.quarantined.iloc[0]["source_row"] == len(result.accepted) + 1


def test_broken_and_non_object_json_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"url": "https://example.com/1", "text": GOOD}),
        '{"url": "https://example.com/2", "text": "cut off',
        "",
        "[1, 2, 3]",
        '"just a string"',
        json.dumps({"url": "https://example.com/3", "text": GOOD + " three"}),
        "{'url': 'single quotes are not JSON'}",
    ]
    (tmp_path / "b.jsonl").write_text("\n".join(lines) + "\n")
    result = read_landing_file(tmp_path / "b.jsonl", "p")
    assert_accounted(result)
    assert result.rows_read == 6  # the blank line is not a record
    q = result.quarantined.set_index("source_row")
    assert q["reason"].to_dict() == {
        2: "malformed_line",
        4: "malformed_line",
        5: "malformed_line",
        7: "malformed_line",
    }
    assert q.loc[2, "url"] == "https://example.com/2"  # best effort, to find the page again
    assert "expected a JSON object, got list" in q.loc[4, "detail"]
    assert result.accepted["source_row"].tolist() == [1, 6]


def test_invalid_bytes_mark_only_their_own_row(tmp_path: Path) -> None:
    good = json.dumps({"url": "https://example.com/ok", "text": GOOD}).encode()
    bad_value = b'{"url": "https://example.com/bad", "text": "caf\xe9 au lait and croissants for breakfast"}'
    bad_syntax = b'{"url": "https://example.com/worse", "text": "caf\xe9 \xff and broken'
    escaped = json.dumps({"url": "https://example.com/esc", "text": "lone \udc80 surrogate in a JSON escape"})
    extra_field = b'{"url": "https://example.com/extra", "text": "' + GOOD.encode() + b'", "note": "\xff"}'
    (tmp_path / "enc.jsonl").write_bytes(
        b"\n".join([good, bad_value, bad_syntax, escaped.encode(), extra_field])
    )
    result = read_landing_file(tmp_path / "enc.jsonl", "p")
    assert_accounted(result)
    assert result.accepted["url"].tolist() == ["https://example.com/ok"]
    assert result.reason_counts() == {"bad_encoding": 4}
    details = result.quarantined.set_index("source_row")["detail"]
    assert details[2] == "invalid UTF-8 in text" and details[5] == "invalid UTF-8 in note"
    assert "offset" in details[3]


def test_csv_rows_with_wrong_field_counts_and_multiline_fields(tmp_path: Path) -> None:
    content = (
        "url,text\n"
        f'https://example.com/1,"{GOOD}\nsecond line of the same field"\n'
        "https://example.com/2,too,many,fields\n"
        f'https://example.com/3,"{GOOD} three"\n'
    )
    (tmp_path / "b.csv").write_text(content)
    result = read_landing_file(tmp_path / "b.csv", "p")
    assert_accounted(result)
    assert result.accepted["source_row"].tolist() == [2, 5]  # the line each record starts on
    bad = result.quarantined.iloc[0]
    assert (bad["source_row"], bad["reason"], bad["url"]) == (4, "malformed_line", "https://example.com/2")


def test_csv_with_a_latin1_row_and_utf16_files(tmp_path: Path) -> None:
    rows = f'url,text\nhttps://example.com/a,"{GOOD}"\nhttps://example.com/b,"caf\xe9 {GOOD}"\n'
    (tmp_path / "latin.csv").write_bytes(rows.encode("latin-1"))
    latin = read_landing_file(tmp_path / "latin.csv", "p")
    assert latin.accepted["url"].tolist() == ["https://example.com/a"]
    assert latin.reason_counts() == {"bad_encoding": 1}
    (tmp_path / "wide.csv").write_bytes(rows.encode("utf-16"))
    assert len(read_landing_file(tmp_path / "wide.csv", "p").accepted) == 2


def test_json_array_file(tmp_path: Path) -> None:
    data = [
        {"url": "https://example.com/1", "text": GOOD},
        7,
        {"url": "https://example.com/2", "text": GOOD + "!"},
    ]
    (tmp_path / "arr.json").write_text(json.dumps(data, indent=2))
    result = read_landing_file(tmp_path / "arr.json", "p")
    assert_accounted(result)
    assert result.accepted["source_row"].tolist() == [1, 3]
    assert result.quarantined["source_row"].tolist() == [2]


def test_column_mapping_with_gold_labels(tmp_path: Path) -> None:
    rows = [
        {
            "website_url": "https://shop.example.co.uk/p/1",
            "cleaned_website_text": GOOD,
            "Category": "E-Commerce",
        },
        {"website_url": "https://news.example.com/a", "cleaned_website_text": SEEN, "Category": ""},
    ]
    path = write_rows(tmp_path / "mapped.csv", rows)
    mapping = ColumnMapping.parse("url=website_url,text=cleaned_website_text,label=Category")
    result = read_landing_file(path, "p", mapping=mapping)
    assert result.accepted["label"].tolist()[0] == "E-Commerce"
    assert pd.isna(result.accepted["label"].tolist()[1])
    assert result.accepted["extra"].isna().all()  # every column was mapped
    with pytest.raises(LandingSchemaError, match="'url'") as err:  # batch-level: fails the run
        read_landing_file(path, "p")
    assert set(err.value.available) == {"website_url", "cleaned_website_text", "Category"}


def test_scraped_at_is_normalised_to_utc_iso(tmp_path: Path) -> None:
    stamps = ["2026-11-01T10:00:00+02:00", "2026-11-01", 1762000000, 1762000000000, "not a date", None]
    rows = [
        {"url": f"https://example.com/{i}", "text": f"{GOOD} {i}", "scraped_at": s}
        for i, s in enumerate(stamps)
    ]
    (tmp_path / "t.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    got = read_landing_file(tmp_path / "t.jsonl", "p").accepted["scraped_at"].tolist()
    assert got[:4] == [
        "2026-11-01T08:00:00+00:00",
        "2026-11-01T00:00:00+00:00",
        "2025-11-01T12:26:40+00:00",
        "2025-11-01T12:26:40+00:00",
    ]
    assert pd.isna(got[4]) and pd.isna(got[5])


def test_custom_limits_apply(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "b.jsonl", [{"url": "https://example.com/", "text": GOOD}])
    assert read_landing_file(path, "p", limits=Limits(min_text_chars=500)).reason_counts() == {
        "text_too_short": 1
    }
    assert read_landing_file(path, "p", limits=Limits(max_text_chars=30)).reason_counts() == {
        "text_too_large": 1
    }


def test_html_is_only_extracted_when_text_is_missing_or_short(tmp_path: Path) -> None:
    rows = [
        {"url": "https://example.com/both", "text": GOOD, "html": PAGE_HTML},
        {"url": "https://example.com/stub", "text": "Loading…", "html": PAGE_HTML.replace("hour", "day")},
    ]
    acc = read_landing_file(write_rows(tmp_path / "b.jsonl", rows), "p").accepted.set_index("url")
    assert acc.loc["https://example.com/both", "text"] == GOOD  # the scraper's text wins
    assert acc.loc["https://example.com/both", "n_images"] == 1.0  # metadata still comes from html
    assert "every day" in acc.loc["https://example.com/stub", "text"]


@pytest.mark.parametrize(("bad", "error"), [("missing.jsonl", FileNotFoundError), ("batch.xlsx", ValueError)])
def test_only_missing_paths_and_unknown_formats_raise(
    tmp_path: Path, bad: str, error: type[Exception]
) -> None:
    (tmp_path / "batch.xlsx").write_bytes(b"PK")
    with pytest.raises(error):
        read_landing_file(tmp_path / bad, "p")
    with pytest.raises(IsADirectoryError):
        read_landing_file(tmp_path, "p")


@pytest.mark.parametrize("seed", range(5))
def test_random_garbage_never_breaks_the_accounting(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    pieces = [
        lambda: bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 80))),
        lambda: json.dumps(
            {"url": f"https://x{rnd.randint(0, 5)}.com/", "text": "w " * rnd.randint(0, 40)}
        ).encode(),
        lambda: json.dumps(
            {"url": rnd.choice(["", "http://", "https://ok.io/a", None, 5]), "html": "<p>hi"}
        ).encode(),
        lambda: b'{"url": "https://a.com", "text": ' + bytes(rnd.getrandbits(8) for _ in range(20)) + b"}",
        lambda: json.dumps(rnd.choice([[], {}, None, 1.5, "s", {"text": ["a", "list"] * 20}])).encode(),
    ]
    lines = [rnd.choice(pieces)() for _ in range(200)]
    for name, data in [("g.jsonl", b"\n".join(lines)), ("g.csv", b"url,text,html\n" + b"\n".join(lines))]:
        (tmp_path / name).write_bytes(data)
        result = read_landing_file(tmp_path / name, "p")
        assert_accounted(result)
        result.quarantined.to_parquet(tmp_path / f"{name}.q.parquet")
        result.accepted.to_parquet(tmp_path / f"{name}.a.parquet")
