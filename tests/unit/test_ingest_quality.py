"""The GX page suite: clean batches pass, each expectation quarantines the row it is about, once."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import great_expectations as gx
import pandas as pd
import pytest

from beambell_assets.demo.sample import write_sample_scrape
from beambell_assets.ingest.contract import content_hash_for, page_id_for
from beambell_assets.ingest.quality import (
    REQUIRED_COLUMNS,
    QualityOutcome,
    QualityPolicy,
    build_page_suite,
    validate_pages,
)
from beambell_assets.ingest.readers import QUARANTINE_SCHEMA, IngestResult, read_landing_file

PROSE = "Trains to the coast leave every hour from platform four; tickets cost twelve dollars. "
FRENCH = "Café, crème brûlée et déjà vu: la façade naïve du théâtre à côté de l'hôtel. "


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> IngestResult:
    """A real sample batch (JSON lines, HTML pages, the sample's own bad rows) read by the reader."""
    [path] = write_sample_scrape(tmp_path_factory.mktemp("landing"), n_batches=1, pages_per_batch=60)
    return read_landing_file(path, path.name)


@pytest.fixture
def clean(ingested: IngestResult) -> pd.DataFrame:
    return ingested.accepted.head(40).copy()


def with_row(pages: pd.DataFrame, **changes: Any) -> tuple[pd.DataFrame, int]:
    """``pages`` plus a copy of its first row made distinct (url, ids, source_row), then ``changes``."""
    row = pages.iloc[[0]].copy()
    source_row = int(pages["source_row"].max()) + 1
    url = f"https://crafted.example.com/page/{source_row}"
    text = f"{PROSE} Crafted page number {source_row}."
    row["source_row"] = source_row
    row["url"], row["page_id"] = url, page_id_for(url)
    row["text"], row["content_hash"] = text, content_hash_for(text)
    for column, value in changes.items():
        row[column] = pd.Series([value], index=row.index, dtype=pages[column].dtype)
    return pd.concat([pages, row], ignore_index=True), source_row


def assert_partition(pages: pd.DataFrame, outcome: QualityOutcome) -> None:
    """Every input row is in exactly one of passed / failed, and the frames keep their schemas."""
    assert len(outcome.passed) + len(outcome.failed) == len(pages)
    assert list(outcome.passed.columns) == list(pages.columns)
    assert outcome.failed.dtypes.astype(str).to_dict() == {
        c: str(pd.Series([], dtype=d).dtype) for c, d in QUARANTINE_SCHEMA.items()
    }
    passed_rows, failed_rows = set(outcome.passed["source_row"]), set(outcome.failed["source_row"])
    assert not passed_rows & failed_rows
    assert passed_rows | failed_rows == set(pages["source_row"])
    assert outcome.failed["source_row"].is_unique
    stats = outcome.statistics
    assert (stats["rows_in"], stats["rows_passed"], stats["rows_failed"]) == (
        len(pages),
        len(outcome.passed),
        len(outcome.failed),
    )


def failed_row(outcome: QualityOutcome, source_row: int) -> pd.Series:
    hits = outcome.failed[outcome.failed["source_row"] == source_row]
    assert len(hits) == 1, outcome.failed
    return hits.iloc[0]


def test_clean_sample_batch_passes_entirely(ingested: IngestResult) -> None:
    pages = ingested.accepted
    outcome = validate_pages(pages)

    assert outcome.batch_ok, outcome.batch_problems
    assert outcome.batch_problems == []
    assert outcome.failed.empty
    pd.testing.assert_frame_equal(outcome.passed, pages.reset_index(drop=True))
    assert outcome.expectations["success"].all()
    assert outcome.expectations["evaluated"].all()
    assert (outcome.expectations["unexpected_count"] == 0).all()
    assert outcome.statistics["evaluated_expectations"] == len(outcome.expectations) == 13
    assert outcome.statistics["successful_expectations"] == 13
    assert outcome.statistics["seconds"] >= outcome.statistics["gx_seconds"] > 0
    # With the reader's own quarantine, every row of the file is still accounted for.
    assert len(outcome.passed) + len(outcome.failed) + len(ingested.quarantined) == ingested.rows_read


def test_input_frame_is_left_alone(clean: pd.DataFrame) -> None:
    before = clean.copy()
    pages, _ = with_row(clean, text=None)
    validate_pages(pages)
    validate_pages(clean)
    pd.testing.assert_frame_equal(clean, before)
    assert not [c for c in pages.columns if c.startswith("_q_")]


CASES: list[tuple[str, dict[str, Any], str]] = [
    ("null text", {"text": None}, "text_not_null"),
    ("null page_id", {"page_id": None}, "page_id_not_null"),
    ("null url", {"url": None}, "url_not_null"),
    ("null content_hash", {"content_hash": None}, "content_hash_not_null"),
    ("ftp url", {"url": "ftp://files.example.com/page.txt"}, "url_format"),
    ("garbage url", {"url": "not a url at all"}, "url_format"),
    ("url without host", {"url": "https:///only/a/path"}, "url_format"),
    ("too short text", {"text": "Too short."}, "text_length"),
    ("too long text", {"text": "word " * 400_001}, "text_length"),
    ("huge title", {"title": "Title " * 400}, "title_length"),
    ("replacement chars", {"text": PROSE + "\ufffd" * 5}, "bad_chars"),
    ("mojibake", {"text": (FRENCH * 3).encode("utf-8").decode("cp1252")}, "mojibake"),
    ("binary junk", {"text": bytes(range(256)).decode("latin-1") * 4}, "bad_chars"),
    ("number table", {"text": "12,345.67 | 89.10 | 11.12 | 13.14 | 15.16 | 17.18 | 19.20 $"}, "letter_share"),
    ("ascii read as utf-16", {"text": (PROSE * 2).encode("ascii").decode("utf-16-le")}, "latin_share"),
]


@pytest.mark.parametrize(("changes", "expectation"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_expectation_quarantines_the_row_it_is_about(
    clean: pd.DataFrame, changes: dict[str, Any], expectation: str
) -> None:
    pages, bad_row = with_row(clean, **changes)
    outcome = validate_pages(pages)

    assert_partition(pages, outcome)
    row = failed_row(outcome, bad_row)
    assert row["reason"] == f"quality:{expectation}"
    assert row["detail"].startswith(f"{expectation}: ")
    assert row["partition_key"] == clean["partition_key"].iloc[0]
    assert row["source_file"] == clean["source_file"].iloc[0]
    assert isinstance(row["raw"], str) and len(row["raw"]) <= QualityPolicy().raw_preview_chars
    assert len(outcome.failed) == 1 and len(outcome.passed) == len(clean)
    assert outcome.batch_ok  # one bad row in 41 is a bad page, not a bad batch
    summary = outcome.expectations.set_index("expectation").loc[expectation]
    assert not summary["success"] and summary["rows_failed"] == 1 and summary["unexpected_count"] >= 1
    assert f"row {bad_row}:" in summary["sample"]


def test_binary_junk_detail_names_every_failed_expectation(clean: pd.DataFrame) -> None:
    pages, bad_row = with_row(clean, text=bytes(range(256)).decode("latin-1") * 4)
    detail = failed_row(validate_pages(pages), bad_row)["detail"]
    assert "bad_chars: " in detail and "letter_share: " in detail


def test_row_failing_two_expectations_is_quarantined_once_with_both(clean: pd.DataFrame) -> None:
    pages, bad_row = with_row(clean, url="ftp://files.example.com/x", text="Too short.")
    outcome = validate_pages(pages)

    assert_partition(pages, outcome)
    row = failed_row(outcome, bad_row)
    assert row["reason"] == "quality:url_format"  # the first failure in suite order
    assert "url_format: not an http(s) url" in row["detail"]
    assert "text_length: text has 10 chars" in row["detail"]
    assert outcome.statistics["failed_by_reason"] == {"quality:url_format": 1}


def test_duplicate_page_id_keeps_the_first_occurrence(clean: pd.DataFrame) -> None:
    first = clean.iloc[0]
    pages, dup_row = with_row(clean, page_id=first["page_id"])
    outcome = validate_pages(pages)

    assert_partition(pages, outcome)
    row = failed_row(outcome, dup_row)
    assert row["reason"] == "quality:page_id_unique"
    assert f"duplicates row {first['source_row']}" in row["detail"]
    assert first["source_row"] in set(outcome.passed["source_row"])
    summary = outcome.expectations.set_index("expectation").loc["page_id_unique"]
    assert summary["unexpected_count"] == 2 and summary["rows_failed"] == 1  # GX flags both copies


def test_duplicate_of_a_failing_row_keeps_the_clean_copy(clean: pd.DataFrame) -> None:
    pages, broken = with_row(clean, text="Too short.")
    pages, dup = with_row(pages, page_id=pages["page_id"].iloc[-1])
    outcome = validate_pages(pages)

    assert_partition(pages, outcome)
    row = failed_row(outcome, broken)
    assert row["reason"] == "quality:text_length"
    assert row["detail"].endswith(
        f"; page_id_unique: page_id {pages['page_id'].iloc[-1]} duplicates row {dup}, which is kept"
    )
    assert dup in set(outcome.passed["source_row"])


URLS = {
    "https://example.com": True,
    "http://shop.example.co.uk:8080/cart?id=7&x=y#top": True,
    "https://xn--caf-dma.example/menu": True,
    "http://[2001:db8::1]/status": True,
    "https://127.0.0.1/": True,
    "https://example.com/ünïcode/päth": True,
    "ftp://example.com/file": False,
    "example.com/page": False,
    "https://": False,
    "https://exa mple.com/": False,
    "https://example.com/a b": False,
    "javascript:alert(1)": False,
    "mailto:someone@example.com": False,
}


def test_url_format(clean: pd.DataFrame) -> None:
    pages, rows = clean, {}
    for url in URLS:
        pages, rows[url] = with_row(pages, url=url)
    outcome = validate_pages(pages)

    passed = set(outcome.passed["source_row"])
    assert {url: rows[url] in passed for url in URLS} == URLS
    assert outcome.failed["reason"].eq("quality:url_format").all()


def test_missing_column_fails_the_batch_without_raising(clean: pd.DataFrame) -> None:
    pages = clean.drop(columns=["text"])
    outcome = validate_pages(pages)

    assert not outcome.batch_ok
    assert outcome.batch_problems[0] == "schema: missing required column(s) text"
    assert "not evaluated for lack of columns" in outcome.batch_problems[1]
    assert_partition(pages, outcome)
    summary = outcome.expectations.set_index("expectation")
    assert not summary.loc["columns_present", "success"]
    assert not summary.loc["text_length", "evaluated"] and not summary.loc["letter_share", "evaluated"]
    assert summary.loc["url_format", "evaluated"] and summary.loc["url_format", "success"]
    assert outcome.statistics["evaluated_expectations"] < len(summary)


def test_failed_share_above_policy_fails_the_batch(clean: pd.DataFrame) -> None:
    pages = clean.head(8)
    for _ in range(3):
        pages, _row = with_row(pages, text="short")
    outcome = validate_pages(pages)

    assert_partition(pages, outcome)
    assert len(outcome.failed) == 3
    assert not outcome.batch_ok
    assert outcome.batch_problems == ["3 of 11 rows (27.3%) failed the suite, above the policy's 20%"]
    assert validate_pages(pages, QualityPolicy(max_failed_share=0.5)).batch_ok


def test_empty_frame(clean: pd.DataFrame) -> None:
    outcome = validate_pages(clean.iloc[0:0])

    assert outcome.batch_ok and outcome.batch_problems == []
    assert outcome.passed.empty and list(outcome.passed.columns) == list(clean.columns)
    assert outcome.failed.empty and list(outcome.failed.columns) == list(QUARANTINE_SCHEMA)
    assert outcome.expectations["success"].all() and (outcome.expectations["unexpected_percent"] == 0).all()
    assert outcome.statistics["rows_in"] == outcome.statistics["rows_failed"] == 0


@pytest.mark.parametrize("text", [PROSE, None])
def test_single_row(clean: pd.DataFrame, text: str | None) -> None:
    pages = clean.head(1).copy()
    pages["text"] = pd.Series([text], dtype=clean["text"].dtype, index=pages.index)
    outcome = validate_pages(pages)

    assert_partition(pages, outcome)
    assert len(outcome.passed) == (1 if text else 0)
    assert outcome.batch_ok is bool(text)  # 1 of 1 failing is above the 20 % budget


def test_title_is_optional(clean: pd.DataFrame) -> None:
    outcome = validate_pages(clean.drop(columns=["title"]))
    assert outcome.batch_ok and outcome.failed.empty
    assert "title" not in outcome.passed.columns


def test_rows_are_identified_by_position_when_source_row_is_not_unique(clean: pd.DataFrame) -> None:
    pages, _ = with_row(clean.head(5), text="Too short.")
    pages["source_row"] = 7  # e.g. frames of two files concatenated
    pages.index = pd.Index(range(100, 106))  # and a non-default index
    outcome = validate_pages(pages)

    assert len(outcome.passed) == 5 and len(outcome.failed) == 1
    assert outcome.failed.iloc[0]["detail"].startswith("text_length: text has 10 chars")
    assert outcome.passed["text"].str.len().min() >= 20
    assert list(outcome.passed.index) == list(range(5))


def test_build_page_suite_follows_the_policy() -> None:
    policy = QualityPolicy(min_text_chars=50, max_title_chars=300, min_latin_ratio=0.0)
    suite = build_page_suite(policy)

    assert isinstance(suite, gx.ExpectationSuite)
    by_name = {e.meta["beambell_check"]: e for e in suite.expectations}
    assert list(by_name) == [
        "columns_present",
        "page_id_not_null",
        "url_not_null",
        "text_not_null",
        "content_hash_not_null",
        "url_format",
        "text_length",
        "title_length",
        "bad_chars",
        "mojibake",
        "letter_share",
        "latin_share",
        "page_id_unique",
    ]
    assert set(by_name["columns_present"].column_set) == set(REQUIRED_COLUMNS)
    assert by_name["text_length"].min_value == 50
    assert by_name["title_length"].max_value == 300
    assert by_name["latin_share"].min_value == 0.0
    assert isinstance(by_name["page_id_unique"], gx.expectations.ExpectColumnValuesToBeUnique)


def test_policy_changes_verdicts(clean: pd.DataFrame) -> None:
    pages, row = with_row(clean, text=(PROSE * 2).encode("ascii").decode("utf-16-le"))
    assert row in set(validate_pages(pages, QualityPolicy(min_latin_ratio=0.0)).passed["source_row"])
    strict = validate_pages(clean, QualityPolicy(min_text_chars=100_000))
    assert strict.failed["reason"].eq("quality:text_length").all() and strict.passed.empty


@pytest.mark.parametrize(
    "kwargs",
    [{"min_text_chars": 10, "max_text_chars": 5}, {"max_failed_share": 1.5}, {"min_alpha_ratio": -0.1}],
)
def test_policy_rejects_impossible_bounds(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        QualityPolicy(**kwargs)


def test_importing_the_module_does_not_import_gx() -> None:
    """GX costs seconds to import: only the process that validates should pay for it."""
    code = "import sys, beambell_assets.ingest.quality; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
