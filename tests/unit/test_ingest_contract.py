"""The landing contract: column mappings, url normalisation, which files count as batches."""

from __future__ import annotations

from pathlib import Path

import pytest

from beambell_assets.ingest.contract import (
    ColumnMapping,
    Limits,
    QuarantineReason,
    content_hash_for,
    detect_format,
    is_landing_file,
    list_landing_files,
    normalize_url,
    page_id_for,
    partition_key_for,
)


def test_mapping_parses_user_column_names() -> None:
    m = ColumnMapping.parse("url=website_url, text=cleaned_website_text,label=Category")
    assert (m.url, m.text, m.label) == ("website_url", "cleaned_website_text", "Category")
    assert m.html == "html" and m.title == "title"


def test_mapping_aliases_and_empty_columns() -> None:
    m = ColumnMapping.parse("id=row_id,html=")
    assert m.source_id == "row_id"
    assert m.html is None
    assert ColumnMapping.parse("") == ColumnMapping() == ColumnMapping.parse(None)


def test_mapping_round_trips_through_its_spec() -> None:
    m = ColumnMapping.parse("url=u,text=t,label=Category,title=")
    assert ColumnMapping.parse(m.to_spec()) == m


@pytest.mark.parametrize("spec", ["colour=red", "url", "url=a,url=b", "url=", "label"], ids=str)
def test_mapping_rejects_nonsense(spec: str) -> None:
    with pytest.raises(ValueError, match="column mapping"):
        ColumnMapping.parse(spec)


def test_label_is_only_read_when_mapped() -> None:
    assert "label" not in ColumnMapping().source_columns(["url", "text", "label"])
    assert ColumnMapping.parse("label=label").source_columns(["url", "label"])["label"] == "label"


def test_source_id_falls_back_from_page_id_to_id() -> None:
    assert ColumnMapping().source_columns(["url", "id"])["source_id"] == "id"
    assert ColumnMapping().source_columns(["url", "id", "page_id"])["source_id"] == "page_id"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.BBC.co.uk/Sport/", "https://news.bbc.co.uk/Sport"),
        ("http://example.com:80/a#frag", "http://example.com/a"),
        ("https://example.com:8443", "https://example.com:8443/"),
        ("https://example.com/?q=1&b=2", "https://example.com/?q=1&b=2"),
        ("https://münchen.de/straße", "https://xn--mnchen-3ya.de/straße"),
        ("http://192.168.0.1/x", "http://192.168.0.1/x"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
        ("  https://example.com.  ", "https://example.com/"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "example.com/page",
        "https://",
        "http:///path",
        "https://exa mple.com/",
        "javascript:alert(1)",
        "https://a..b.com/",
        "http://[::1/",
        "not a url",
    ],
)
def test_normalize_url_rejects_non_web_urls(url: str) -> None:
    assert normalize_url(url) is None


def test_ids_are_stable_hashes() -> None:
    pid = page_id_for("https://example.com/")
    assert len(pid) == 16 and int(pid, 16) >= 0
    assert pid == page_id_for("https://example.com/")
    assert content_hash_for("Hello   World\n") == content_hash_for("hello world")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("b.jsonl", "jsonl"),
        ("b.JSON", "jsonl"),
        ("b.ndjson.gz", "jsonl"),
        ("b.csv.gz", "csv"),
        ("b.pq", "parquet"),
    ],
)
def test_detect_format(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt


def test_detect_format_names_the_supported_suffixes() -> None:
    with pytest.raises(ValueError, match=r"\.parquet"):
        detect_format("batch.xlsx")


def test_landing_listing_skips_partial_and_hidden_files(tmp_path: Path) -> None:
    for name in ["b-2.csv", "b-1.jsonl", ".b-3.jsonl.tmp", "b-4.parquet.part", "_tmp.csv", "notes.txt"]:
        (tmp_path / name).write_text("x")
    (tmp_path / "sub.csv").mkdir()
    assert [p.name for p in list_landing_files(tmp_path)] == ["b-1.jsonl", "b-2.csv"]
    assert not is_landing_file(tmp_path / "missing.csv")
    assert partition_key_for(tmp_path / "b-1.jsonl") == "b-1.jsonl"
    assert list_landing_files(tmp_path / "nowhere") == []


def test_limits_validate_and_reasons_are_stable_strings() -> None:
    with pytest.raises(ValueError):
        Limits(min_text_chars=100, max_text_chars=10)
    assert QuarantineReason.DUPLICATE == "duplicate"
    assert {r.value for r in QuarantineReason} >= {"malformed_line", "empty_file", "unreadable_file"}
