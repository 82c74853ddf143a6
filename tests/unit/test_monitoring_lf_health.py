"""LF health alarms from lf_stats history (pure logic, plus the warehouse read)."""

from __future__ import annotations

import pandas as pd
import pytest

from beambell_assets.monitoring.lf_health import LFHealthPolicy, assess_lf_health, lf_health_history
from beambell_assets.storage.warehouse import Warehouse, utcnow

KEYS = [f"batch-{i:02d}" for i in range(16)]


def _history(coverage: dict[str, list[float]], n_rows: int | list[int] = 200, errors: dict | None = None):
    rows = []
    for lf, values in coverage.items():
        for i, cov in enumerate(values):
            n = n_rows[i] if isinstance(n_rows, list) else n_rows
            rows.append(
                {
                    "partition_key": KEYS[i],
                    "lf_name": lf,
                    "n_rows": n,
                    "coverage": cov,
                    "n_errors": (errors or {}).get((lf, i), 0),
                }
            )
    return pd.DataFrame(rows)


def _alarm(report, lf: str, state: str) -> pd.Series:
    hits = report.alarms[(report.alarms["lf"] == lf) & (report.alarms["state"] == state)]
    assert len(hits) == 1, report.alarms
    return hits.iloc[0]


def test_silent_lf_is_alarmed_from_the_partition_it_went_silent() -> None:
    k = 8
    hist = _history(
        {"kw_news": [0.3, 0.32, 0.28, 0.31, 0.3, 0.29, 0.33, 0.3] + [0.0] * 4, "steady": [0.1] * 12}
    )
    before = assess_lf_health(hist, KEYS, KEYS[k - 1])
    assert before.passed
    at_k = assess_lf_health(hist, KEYS, KEYS[k])
    assert not at_k.passed
    alarm = _alarm(at_k, "kw_news", "silent")
    assert alarm["since_partition"] == KEYS[k] and alarm["partitions_alarmed"] == 1
    assert alarm["baseline_coverage"] == pytest.approx(0.30, abs=0.01)
    assert alarm["current_coverage"] == 0.0 and alarm["change"] == pytest.approx(-1.0)
    assert set(at_k.alarms["lf"]) == {"kw_news"}
    for later in (k + 1, k + 3):  # stays alarmed, same since, even once silent batches outnumber healthy ones
        report = assess_lf_health(hist, KEYS, KEYS[later])
        alarm = _alarm(report, "kw_news", "silent")
        assert alarm["since_partition"] == KEYS[k]
        assert alarm["partitions_alarmed"] == later - k + 1


def test_recovery_ends_the_run_and_a_new_silence_starts_a_new_one() -> None:
    hist = _history({"lf": [0.3] * 5 + [0.0, 0.0] + [0.3, 0.3] + [0.0]})
    assert assess_lf_health(hist, KEYS, KEYS[8]).passed
    alarm = _alarm(assess_lf_health(hist, KEYS, KEYS[9]), "lf", "silent")
    assert alarm["since_partition"] == KEYS[9]


def test_fires_on_everything() -> None:
    hist = _history({"url_host": [0.05, 0.04, 0.06, 0.05, 0.97], "surging": [0.05] * 4 + [0.6]})
    report = assess_lf_health(hist, KEYS, KEYS[4])
    assert _alarm(report, "url_host", "fires_on_everything")["current_coverage"] == pytest.approx(0.97)
    surge = _alarm(report, "surging", "fires_on_everything")
    assert surge["change"] == pytest.approx(11.0)
    # A broad LF that always covers most pages is not alarmed.
    assert assess_lf_health(_history({"broad": [0.85, 0.9, 0.88, 0.92]}), KEYS, KEYS[3]).passed


def test_first_partitions_have_no_baseline_and_pass_with_a_note() -> None:
    hist = _history({"a": [0.3, 0.0, 0.99], "b": [0.1, 0.1, 0.1]})
    for i in range(3):
        report = assess_lf_health(hist, KEYS, KEYS[i])
        assert report.passed
        assert any("no baseline yet" in n for n in report.notes)
    meta = report.metadata()
    assert meta["lf_alarms"] == 0 and "no baseline" in meta["notes"]


def test_erroring_needs_no_baseline_and_tiny_partitions_are_not_judged() -> None:
    hist = _history({"buggy": [0.2, 0.2]}, errors={("buggy", 0): 3})
    alarm = _alarm(assess_lf_health(hist, KEYS, KEYS[0]), "buggy", "erroring")
    assert alarm["n_errors"] == 3 and alarm["since_partition"] == KEYS[0]
    assert assess_lf_health(hist, KEYS, KEYS[1]).passed

    # A 5-row batch where the LF did not fire says nothing about coverage, and does not break a run.
    hist = _history({"lf": [0.3] * 5 + [0.0, 0.0, 0.0]}, n_rows=[200] * 5 + [200, 5, 200])
    tiny = assess_lf_health(hist, KEYS, KEYS[6])
    assert tiny.passed and any("coverage not judged" in n for n in tiny.notes)
    alarm = _alarm(assess_lf_health(hist, KEYS, KEYS[7]), "lf", "silent")
    assert alarm["since_partition"] == KEYS[5] and alarm["partitions_alarmed"] == 2


def test_metadata_is_dagster_ready() -> None:
    from dagster import MarkdownMetadataValue

    hist = _history({"lf": [0.3] * 5 + [0.0]})
    meta = assess_lf_health(hist, KEYS, KEYS[5], LFHealthPolicy(baseline_partitions=3)).metadata()
    assert meta["lf_alarms"] == 1 and meta["lfs_silent"] == 1 and meta["lfs_erroring"] == 0
    assert isinstance(meta["alarms"], MarkdownMetadataValue)
    assert "silent" in meta["alarms"].value


def test_history_is_read_from_the_warehouse(warehouse_url: str) -> None:
    wh = Warehouse(warehouse_url)
    wh.migrate()
    now = utcnow()
    for i, cov in enumerate([0.3, 0.3, 0.3, 0.0]):
        wh.replace_partition(
            "lf_stats",
            KEYS[i],
            [
                {
                    "lf_name": "lf",
                    "n_rows": 100,
                    "n_votes": int(cov * 100),
                    "coverage": cov,
                    "n_errors": 0,
                    "computed_at": now,
                }
            ],
            where={"task": "t"},
        )
    wh.replace_partition(
        "lf_stats",
        KEYS[3],
        [{"lf_name": "lf", "n_rows": 100, "n_votes": 90, "coverage": 0.9, "n_errors": 0, "computed_at": now}],
        where={"task": "other_task"},
    )
    hist = lf_health_history(wh, "t")
    assert len(hist) == 4 and set(hist.columns) >= {
        "partition_key",
        "lf_name",
        "n_rows",
        "coverage",
        "n_errors",
    }
    assert _alarm(assess_lf_health(hist, KEYS, KEYS[3]), "lf", "silent")["since_partition"] == KEYS[3]
    wh.dispose()
