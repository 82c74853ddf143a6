"""The sample scrape: deterministic, every category present, bad rows quarantined when read back."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from beambell_assets.demo.sample import (
    CATEGORIES,
    generate_sample,
    sample_truth,
    write_sample_gold,
    write_sample_scrape,
)
from beambell_assets.ingest.contract import detect_format, normalize_url
from beambell_assets.ingest.features import build_page_features
from beambell_assets.ingest.readers import IngestResult, read_landing_file


def digest(paths: list[Path]) -> list[tuple[str, str]]:
    return [(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths]


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_sample_scrape(tmp_path_factory.mktemp("landing"))


@pytest.fixture(scope="module")
def read_back(landed: list[Path]) -> dict[str, IngestResult]:
    """Each batch read in time order, carrying accepted content forward as the pipeline does."""
    results: dict[str, IngestResult] = {}
    known: frozenset[str] = frozenset()
    for path in landed:
        results[path.name] = result = read_landing_file(path, path.name, known_content_hashes=known)
        known |= frozenset(result.accepted["content_hash"])
    return results


def test_batches_rotate_formats_and_sort_by_time(landed: list[Path]) -> None:
    assert [detect_format(p) for p in landed] == ["jsonl", "csv", "parquet", "jsonl"]
    assert [p.name for p in landed] == sorted(p.name for p in landed)
    assert landed[0].name == "batch-2026-11-01T00-00-00.jsonl"
    assert not [p for p in landed[0].parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_same_seed_same_bytes(tmp_path: Path, landed: list[Path]) -> None:
    assert digest(write_sample_scrape(tmp_path / "again")) == digest(landed)
    assert digest(write_sample_scrape(tmp_path / "other", seed=1)) != digest(landed)


def test_generation_is_fast(tmp_path: Path) -> None:
    start = time.perf_counter()
    write_sample_scrape(tmp_path, n_batches=4, pages_per_batch=150)
    assert time.perf_counter() - start < 4.0  # ~0.8 s on a busy 2-core box


def test_every_category_appears_in_every_batch() -> None:
    truth = sample_truth()
    assert len(truth) == 600
    good = truth[truth["expected_reason"].isna()]
    for _, batch in good.groupby("file"):
        assert set(batch["label"]) == set(CATEGORIES)


def test_pages_are_varied() -> None:
    records = [r for b in generate_sample() for r in b.records if r.expected_reason is None]
    html = [r.fields["html"] for r in records if "html" in r.fields]
    text_only = [r for r in records if "html" not in r.fields]
    assert 0.1 < len(text_only) / len(records) < 0.5
    assert sum("application/ld+json" in h for h in html) > len(html) / 4
    assert sum("cookie" in h for h in html) > len(html) / 5
    assert all("©" in h for h in html if h.endswith("</html>"))
    assert Counter(r.fields["lang"] for r in records).keys() >= {"en", "de", "fr", "es"}
    hosts = {normalize_url(r.fields["url"]).split("/")[2] for r in records}  # type: ignore[union-attr]
    assert any(h.endswith((".gov", ".gov.uk")) for h in hosts) and any(h.endswith(".ac.uk") for h in hosts)
    assert all(normalize_url(r.fields["url"]) == r.fields["url"] for r in records)  # gold joins on url


def test_bad_rows_are_quarantined_as_expected(read_back: dict[str, IngestResult]) -> None:
    truth = sample_truth()
    for name, result in read_back.items():
        assert len(result.accepted) + len(result.quarantined) == result.rows_read == 150
        expected = truth[truth["file"] == name]
        assert result.reason_counts() == dict(Counter(expected["expected_reason"].dropna()))
        good_urls = set(expected.loc[expected["expected_reason"].isna(), "url"])
        assert set(result.accepted["url"]) == good_urls


def test_each_batch_has_the_deliberate_problems(read_back: dict[str, IngestResult]) -> None:
    reasons = [set(r.quarantined["reason"]) for r in read_back.values()]
    core = {
        "missing_text",
        "bad_url",
        "missing_url",
        "duplicate",
        "bad_encoding",
        "text_too_short",
        "text_too_large",
    }
    assert all(core <= r for r in reasons)
    assert "malformed_line" in reasons[0]


def test_features_of_the_sample(read_back: dict[str, IngestResult]) -> None:
    raw = pd.concat([r.accepted for r in read_back.values()], ignore_index=True)
    feats = build_page_features(raw)
    assert len(feats) == len(raw) and feats["page_id"].is_unique
    assert feats["text_len"].min() >= 20
    assert 0 < feats["has_html"].mean() < 1
    assert feats.loc[feats["has_html"] == 1, "n_links"].notna().all()
    assert (feats["n_price_mentions"] > 0).any() and (feats["n_date_mentions"] > 0).any()


def test_gold_labels_a_tenth_of_the_good_pages(tmp_path: Path) -> None:
    path = write_sample_gold(tmp_path)
    gold = pd.read_csv(path)
    assert list(gold.columns) == ["url", "label", "labeler", "labeled_at"]
    truth = sample_truth()
    good = truth[truth["expected_reason"].isna()].set_index("url")["label"]
    assert abs(len(gold) - 0.1 * len(good)) <= 1
    assert gold["url"].is_unique
    assert (gold["label"] == good.loc[gold["url"]].to_numpy()).all()
    assert write_sample_gold(tmp_path / "again").read_bytes() == path.read_bytes()
