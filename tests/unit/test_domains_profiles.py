"""Domain profiles: partial aggregates per partition, incremental and idempotent updates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from beambell_assets.domains.domain_lfs import build_domain_lfs
from beambell_assets.domains.profiles import combine, decide, domain_partials, majority_vote
from beambell_assets.domains.store import update_domain_profiles
from beambell_assets.domains.suffix import parse_url
from beambell_assets.labeling.tasks.web_content import LABELS
from beambell_assets.storage.warehouse import Warehouse

LFS = build_domain_lfs(LABELS)


def _pages(urls: list[str], prefix: str) -> pd.DataFrame:
    from urllib.parse import urlsplit

    return pd.DataFrame(
        {
            "page_id": [f"{prefix}{i}" for i in range(len(urls))],
            "url": urls,
            "url_path": [urlsplit(u).path or "/" for u in urls],
        }
    )


def _preds(features: pd.DataFrame, labels: list[str], probs: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"page_id": features["page_id"], "label": labels, "probability": probs})


def test_partials_sum_page_evidence_per_site() -> None:
    f = _pages(
        [
            "https://www.shop.example.com/products/1",
            "https://shop.example.com/cart",
            "http://news.site.co.uk/a",
        ],
        "p",
    )
    preds = _preds(f.iloc[:2], ["E-Commerce", "E-Commerce"], [0.9, 0.7])
    k = len(LABELS)
    L = np.full((3, 4), -1)
    L[2, :2] = LABELS.index("News")
    partials = domain_partials(f, LABELS, preds, L).set_index("registered_domain")
    assert list(partials.index) == ["example.com", "site.co.uk"]
    shop = partials.loc["example.com"]
    assert (shop["n_pages"], shop["n_predicted"], shop["n_voted"]) == (2, 2, 0)
    mass = json.loads(shop["page_mass_json"])
    assert mass["E-Commerce"] == pytest.approx(1.6)
    assert sum(mass.values()) == pytest.approx(2.0, abs=1e-4)  # each page is one unit of evidence
    news = partials.loc["site.co.uk"]  # no prediction: falls back to the LF votes
    assert json.loads(news["page_mass_json"]) == {"News": 1.0}
    assert json.loads(news["mv_counts_json"]) == {"News": 1}
    assert k == 16


def test_majority_vote_abstains_on_ties() -> None:
    L = np.array([[0, 0, 1], [0, 1, -1], [-1, -1, -1]])
    assert majority_vote(L, 3).tolist() == [0, -1, -1]


def test_domain_lfs_outweigh_a_weak_page_but_not_many_confident_ones() -> None:
    gov = decide({"Travel": 0.4}, {"dom_suffix_gov": "Law and Government"}, LABELS)
    assert gov.category == "Law and Government" and 0 < gov.confidence < 1
    many = decide({"News": 40.0}, {"dom_suffix_gov": "Law and Government"}, LABELS)
    assert many.category == "News"
    assert decide({}, {}, LABELS).category is None


def test_combine_reads_paths_and_suffix() -> None:
    f = _pages([f"https://forum.talkboard.org/threads/{i}" for i in range(4)] + ["https://x.gov.uk/"], "q")
    partials = domain_partials(f, LABELS).to_dict("records")
    by = {r["registered_domain"]: r for r in partials}
    forum = combine("talkboard.org", [by["talkboard.org"]], LFS, LABELS)
    assert forum["category"] == "Forums"
    assert set(json.loads(forum["evidence_json"])["domain_lfs"]) == {"dom_host_forum", "dom_paths_forum"}
    gov = combine("x.gov.uk", [by["x.gov.uk"]], LFS, LABELS)
    assert gov["category"] == "Law and Government" and gov["public_suffix"] == "gov.uk"


def _profiles(wh: Warehouse) -> pd.DataFrame:
    return wh.read("SELECT * FROM domain_profiles ORDER BY registered_domain").set_index("registered_domain")


def test_incremental_updates_touch_only_the_partitions_domains(warehouse_url: str) -> None:
    wh = Warehouse(warehouse_url)
    wh.migrate()
    f1 = _pages(
        ["https://a.com/1", "https://a.com/2", "https://www.a.com/3", "https://b.gov/", "https://c.co.uk/x"],
        "p1-",
    )
    p1 = domain_partials(
        f1, LABELS, _preds(f1, ["Travel"] * 3 + ["Travel", "News"], [0.9, 0.8, 0.9, 0.4, 0.8])
    )
    first = update_domain_profiles(wh, "batch-1", p1, "web_content", LFS, LABELS)
    assert first.new == ["a.com", "b.gov", "c.co.uk"]
    after1 = _profiles(wh)
    assert after1.at["b.gov", "category"] == "Law and Government"  # the .gov LF beats one weak page

    f2 = _pages(["https://a.com/4", "https://shop.a.com/5", "https://d.org/"], "p2-")
    p2 = domain_partials(f2, LABELS, _preds(f2, ["Travel", "Travel", "Sports"], [0.7, 0.7, 0.9]))
    second = update_domain_profiles(wh, "batch-2", p2, "web_content", LFS, LABELS)
    assert second.touched == ["a.com", "d.org"] and second.new == ["d.org"]
    after2 = _profiles(wh)
    untouched = ["b.gov", "c.co.uk"]
    pd.testing.assert_frame_equal(after2.loc[untouched], after1.loc[untouched])  # not even rewritten
    assert after2.at["a.com", "n_pages"] == 5 and after2.at["a.com", "n_partitions"] == 2
    assert after2.at["a.com", "updated_partition"] == "batch-2"
    assert (after2.at["a.com", "first_partition"], after2.at["a.com", "last_partition"]) == (
        "batch-1",
        "batch-2",
    )

    # A rerun replaces the partition's partials: nothing duplicates, the profiles are the same.
    update_domain_profiles(wh, "batch-2", p2, "web_content", LFS, LABELS)
    again = _profiles(wh)
    assert wh.count("domain_partials") == 5
    cols = ["n_pages", "n_partitions", "category", "confidence", "class_mass_json", "evidence_json"]
    pd.testing.assert_frame_equal(again[cols], after2[cols])

    # A rerun whose batch no longer holds d.org takes its evidence away, and the profile with it.
    p2b = domain_partials(f2.iloc[:2], LABELS, _preds(f2.iloc[:2], ["Travel", "Travel"], [0.7, 0.7]))
    third = update_domain_profiles(wh, "batch-2", p2b, "web_content", LFS, LABELS)
    assert third.removed == ["d.org"] and "d.org" not in _profiles(wh).index
    wh.dispose()


def test_site_categories_on_the_dev_csv_beat_the_majority_vote_baseline(dev_csv: Path) -> None:
    """LF votes only (no classifier): the profile covers every voted site and is at least as accurate."""
    from beambell_assets.ingest.features import build_page_features
    from beambell_assets.labeling.applier import FastLFApplier
    from beambell_assets.labeling.tasks.web_content import TASK

    raw = pd.read_csv(dev_csv).dropna(subset=["Category", "website_url"]).reset_index(drop=True)
    pages = pd.DataFrame(
        {
            "page_id": [f"d{i}" for i in raw.index],
            "partition_key": "dev",
            "url": raw["website_url"],
            "text": raw["cleaned_website_text"].fillna(""),
        }
    )
    features = build_page_features(pages)
    L, _ = FastLFApplier(list(TASK.lfs), n_jobs=1).apply(features)
    partials = domain_partials(features, LABELS, None, L)
    truth = pd.Series(
        raw["Category"].to_numpy(), index=[parse_url(u).registered_domain for u in raw["website_url"]]
    )
    truth = truth[~truth.index.duplicated(keep="first")]
    decided = [combine(r["registered_domain"], [r], LFS, LABELS) for r in partials.to_dict("records")]
    profile = pd.Series({d["registered_domain"]: d["category"] for d in decided})
    baseline = pd.Series({d["registered_domain"]: d["baseline_category"] for d in decided})
    sites = profile.index.intersection(truth.index)
    profile_acc = (profile[sites] == truth[sites]).mean()
    baseline_acc = (baseline[sites] == truth[sites]).mean()
    assert len(sites) > 500
    assert profile_acc >= baseline_acc and profile_acc >= 0.85, (profile_acc, baseline_acc)
