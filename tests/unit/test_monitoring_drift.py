"""Drift verdicts on the project's own sample scrape, with real Evidently (no mocks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from beambell_assets.demo.sample import write_sample_scrape
from beambell_assets.ingest.contract import partition_key_for
from beambell_assets.ingest.features import build_page_features
from beambell_assets.ingest.readers import read_landing_file
from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.monitoring.drift import (
    LF_PREFIX,
    DriftThresholds,
    bucket_domains,
    compute_drift,
    prepare_frames,
)


def _drift_frame(features: pd.DataFrame) -> pd.DataFrame:
    """What ``monitoring.reference.build_drift_frame`` gives, with majority vote standing in for the model."""
    L, _ = FastLFApplier(list(TASK.lfs)).apply(features)
    frame = features[["page_id", "registered_domain", "has_html", "text_len", "n_tokens", "n_links"]].copy()
    for col in ("n_images", "n_forms", "n_price_mentions", "n_date_mentions", "ascii_ratio"):
        frame[col] = features[col]
    fired = (L != -1).astype(np.int8)
    frame = pd.concat(
        [frame, pd.DataFrame(fired, columns=[LF_PREFIX + n for n in TASK.lf_names], index=frame.index)],
        axis=1,
    )
    frame["lfs_fired"] = fired.sum(axis=1)
    counts = np.stack([(k == L).sum(axis=1) for k in range(TASK.cardinality)], axis=1)
    frame["pred_label"] = [TASK.label_names[i] for i in counts.argmax(axis=1)]
    frame["pred_probability"] = (counts.max(axis=1) + 1) / (counts.sum(axis=1) + 2)
    return frame


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> list[pd.DataFrame]:
    landing = tmp_path_factory.mktemp("landing")
    frames, known = [], frozenset()
    for path in write_sample_scrape(landing, n_batches=6, pages_per_batch=150, seed=11):
        result = read_landing_file(path, partition_key_for(path), known_content_hashes=known)
        known = known | frozenset(result.accepted["content_hash"])
        frames.append(_drift_frame(build_page_features(result.accepted)).reset_index(drop=True))
    return frames


def _run(current: pd.DataFrame, reference: pd.DataFrame, **kw):
    cur, ref, roles = prepare_frames(current, reference)
    return compute_drift(
        cur, ref, numeric=roles["numeric"], categorical=roles["categorical"], lf_columns=roles["lf"], **kw
    )


def _shifted(frame: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["text_len"] = out["text_len"] * 5
    out["n_tokens"] = out["n_tokens"] * 5
    out["registered_domain"] = "lucky-spins-casino.bet"  # a new dominant domain
    busiest = (reference[[c for c in reference if c.startswith(LF_PREFIX)]].mean()).idxmax()
    out[busiest] = 0  # the LF that fires most stops firing
    out["pred_label"] = "Games"  # predicted class mix collapsed to one class
    out["pred_probability"] = 0.99
    return out


def test_same_distribution_is_not_drift(batches: list[pd.DataFrame]) -> None:
    reference = pd.concat(batches[:4], ignore_index=True)
    for current in batches[4:]:
        result = _run(current, reference)
        assert result.severity == "none", result.table[result.table["drifted"]]
        assert not result.retrain_recommended
        assert result.n_columns == len(result.table) > 90  # ~12 Evidently columns + 85 LFs
        assert set(result.table["kind"]) == {"feature", "prediction", "lf"}


def test_shifted_batch_is_severe(batches: list[pd.DataFrame], tmp_path: Path) -> None:
    reference = pd.concat(batches[:4], ignore_index=True)
    result = _run(_shifted(batches[4], reference), reference)
    assert result.severity == "severe"
    assert result.retrain_recommended
    for col in ("text_len", "n_tokens", "domain_bucket", "pred_label"):
        assert col in result.drifted_columns, col
    busiest = (reference[[c for c in reference if c.startswith(LF_PREFIX)]].mean()).idxmax()
    assert busiest[len(LF_PREFIX) :] in result.drifted_columns
    row = result.table.set_index("column").loc["text_len"]
    assert row["stattest"] == "ks" and row["score"] < row["threshold"]
    assert result.share_drifted == pytest.approx(result.n_drifted / result.n_columns)

    path = result.save_html(tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    assert len(html) > 100_000  # Evidently's bundled report, not a stub
    assert "drawDashboard" in html and "beambell drift verdict: severe" in html
    assert "Labeling-function firing rates" in html


def test_prediction_drift_alone_is_moderate(batches: list[pd.DataFrame]) -> None:
    reference = pd.concat(batches[:4], ignore_index=True)
    current = batches[5].copy()
    current["pred_label"] = "Games"
    result = _run(current, reference)
    assert result.severity == "moderate"
    assert not result.retrain_recommended
    assert "pred_label" in result.drifted_columns


def test_small_and_empty_frames_are_none_with_a_note(batches: list[pd.DataFrame]) -> None:
    reference = pd.concat(batches[:4], ignore_index=True)
    for current in (batches[4].head(12), batches[4].head(0)):
        result = _run(current, reference)
        assert result.severity == "none" and not result.retrain_recommended
        assert result.n_columns == 0 and result.snapshot is None
        assert any("not compared" in n for n in result.notes)
        assert "beambell drift verdict: none" in result.html()
    empty_ref = _run(batches[4], reference.head(0))
    assert empty_ref.severity == "none"


def test_constant_and_missing_columns_are_listed_not_tested(batches: list[pd.DataFrame]) -> None:
    reference = pd.concat(batches[:4], ignore_index=True).assign(has_html=1)
    current = batches[4].assign(has_html=1, n_links=np.nan)
    result = _run(current, reference)
    table = result.table.set_index("column")
    assert table.loc["has_html", "stattest"] == "skipped"
    assert "constant" in table.loc["has_html", "note"]
    assert table.loc["n_links", "stattest"] == "skipped"
    assert "too few non-missing" in table.loc["n_links", "note"]
    assert "has_html" not in result.drifted_columns and result.severity == "none"


def test_large_samples_use_distances(batches: list[pd.DataFrame]) -> None:
    reference = pd.concat(batches[:4], ignore_index=True)
    t = DriftThresholds(small_sample_rows=100)
    result = _run(batches[4], reference, thresholds=t)
    methods = set(result.table.loc[result.table["kind"] != "lf", "stattest"]) - {"skipped"}
    assert methods == {"wasserstein", "jensenshannon"}


@pytest.mark.parametrize("small_sample_rows", [1000, 100])  # p-value tests, then distances
def test_without_a_report_the_table_and_verdict_are_the_reports(
    batches: list[pd.DataFrame], small_sample_rows: int
) -> None:
    """``report=False`` (the promotion gate's path) calls Evidently's per-column drift function
    directly: every score, threshold, verdict and the severity equal the ``Report``'s."""
    reference = pd.concat(batches[:4], ignore_index=True)
    t = DriftThresholds(small_sample_rows=small_sample_rows)
    shifted = _shifted(batches[4], reference)
    severities = []
    currents = [batches[5], shifted]
    if small_sample_rows == 1000:  # a small batch once: it gets the p-value tests under either threshold
        currents.append(batches[5].head(40))
    for current in currents:
        with_report = _run(current, reference, thresholds=t)
        without = _run(current, reference, thresholds=t, report=False)
        assert without.snapshot is None and with_report.snapshot is not None
        pd.testing.assert_frame_equal(without.table, with_report.table)
        assert without.severity == with_report.severity
        assert without.drifted_columns == with_report.drifted_columns
        severities.append(without.severity)
    assert severities[1] == "severe" and severities[0] != "severe"  # drift and no drift were compared


def test_domain_buckets_come_from_the_reference() -> None:
    ref = pd.Series(["a.com"] * 5 + ["b.com"] * 3 + ["c.com"])
    cur = pd.Series(["a.com", "new.org", None])
    cur_b, ref_b = bucket_domains(cur, ref, top_k=2)
    assert cur_b.tolist() == ["a.com", "other", "other"]
    assert sorted(set(ref_b)) == ["a.com", "b.com", "other"]


def test_reference_window_follows_the_artifact_key_order() -> None:
    from beambell_assets.monitoring.reference import window_partitions

    keys = ["b-01.csv", "b-02.jsonl", "b-03.csv", "b-04.parquet"]
    assert window_partitions(keys, "b-02.jsonl..b-03.csv") == ["b-02.jsonl", "b-03.csv"]
    assert window_partitions(keys, "b-00..b-02.zzz") == ["b-01.csv", "b-02.jsonl"]  # ends not landed
    assert window_partitions(keys, None) == [] and window_partitions(keys, "garbage") == []
