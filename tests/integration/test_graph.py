"""The whole asset graph, materialized for real on a temporary Dagster instance and warehouse."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from beambell_assets.defs.assets.gold import gold_labels
from beambell_assets.defs.assets.ingest import page_features, raw_pages
from beambell_assets.defs.assets.partitions import landing_partitions
from beambell_assets.defs.assets.weak_supervision import WeakSupervisionAssets, build_weak_supervision_assets
from beambell_assets.defs.resources import build_resources
from beambell_assets.devtools.sample_home import (
    FIXED_END_MODEL,
    SAMPLE,
    Home,
    home_settings,
    materialize_train_and_score,
)
from beambell_assets.ingest.contract import landing_files
from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.serving.model_store import load_model
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.settings import Settings
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.training.end_model import end_model_spec

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]


def _latest_metadata(instance: DagsterInstance, asset: str, partition: str | None = None) -> dict:
    records = instance.fetch_materializations(AssetKey(asset), limit=100).records
    for r in records:
        mat = r.asset_materialization
        if partition is None or mat.partition == partition:
            return {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    raise AssertionError(f"no materialization of {asset} {partition or ''}")


def _materialize_all(
    settings: Settings, instance: DagsterInstance
) -> tuple[list[str], WeakSupervisionAssets]:
    ws = build_weak_supervision_assets()
    resources = build_resources(settings)
    keys = sorted(landing_files(settings.landing_dir))
    instance.add_dynamic_partitions(landing_partitions.name, keys)
    for key in keys:
        res = materialize(
            [raw_pages, page_features, ws.lf_votes],
            partition_key=key,
            resources=resources,
            instance=instance,
        )
        assert res.success
    train = [
        gold_labels,
        *ws.train_graph,
    ]
    assert materialize(train, resources=resources, instance=instance).success
    for key in keys:
        assert materialize(
            [ws.predictions], partition_key=key, resources=resources, instance=instance
        ).success
    return keys, ws


@pytest.mark.slow
def test_full_graph_on_sample_scrape(graph_home: Home, home_copy: Callable[[Home], Home]) -> None:
    """The shared sample graph (ingest, train, score; see tests/integration/conftest.py), read in place."""
    settings, keys = graph_home.settings, list(graph_home.keys)
    assert len(keys) == SAMPLE.n_batches
    with graph_home.instance() as instance:
        wh = Warehouse(settings.warehouse_url)

        for key in keys:
            meta = _latest_metadata(instance, "raw_pages", key)
            pages, quarantined = wh.count("pages", key), wh.count("quarantine", key)
            # Every row read is accounted for, in the metadata and in the warehouse.
            assert meta["accepted"] + meta["quarantined"] == meta["rows_read"]
            assert (pages, quarantined) == (meta["accepted"], meta["quarantined"])
            assert quarantined > 0, "the sample scrape deliberately contains bad rows"
            assert wh.count("predictions", key) == pages

        lf_meta = _latest_metadata(instance, "lf_votes", keys[0])
        assert lf_meta["lfs"] == len(TASK.lfs) >= 40
        assert "coverage" in str(lf_meta["lf_summary"]).lower()

        lm_meta = _latest_metadata(instance, "label_model")
        assert lm_meta["gold_rows"] > 0
        assert "majority" in str(lm_meta["label_model_vs_majority_vote"]).lower()
        # CSV gold is evaluation gold: the aggregator is chosen gold-free, and the choice is recorded
        assert lm_meta["aggregator_criterion"] == "heldout_lf_agreement"
        assert lm_meta["aggregator_gold_anchors"] == 0
        assert lm_meta["aggregator"] in str(lm_meta["aggregator_scores"])

        champion = ModelRegistry(wh, TASK.name).champion()
        assert champion is not None and champion.status == "champion"
        assert champion.metrics["label_model_aggregator"] == lm_meta["aggregator"]
        assert set(champion.metrics["label_model_aggregator_scores"]) >= {"majority_vote", "snorkel"}
        assert champion.metrics["n_gold"] > 0
        # The end model was chosen without gold; the choice and every candidate are recorded.
        em = champion.metrics["end_model"]
        assert em["spec"] == "auto" and em["chosen"] in {c["candidate"] for c in em["candidates"]}
        assert end_model_spec(champion.metrics)["features"] in ("word", "char", "both")
        clf_meta = _latest_metadata(instance, "classifier")
        assert clf_meta["end_model"] == em["chosen"]
        # auto is an ensemble of the best candidate of each featurisation; the stream follows the best
        assert len(em["ensemble"]) == 3 and em["best_single"] == em["ensemble"][0]
        assert clf_meta["end_model_best_single"] == em["best_single"]
        assert em["best_single"].split("/")[0] == end_model_spec(champion.metrics)["features"]
        assert "expected_accuracy" in str(clf_meta["end_model_candidates"])
        assert clf_meta["end_model_criterion"] == "cross_entropy"
        # calibrated or not, the metadata says which: a scale exactly when the choice is calibrated
        assert (clf_meta["end_model_calibration_scale"] != "n/a") == em["calibrated"], clf_meta
        model = load_model(champion.artifact_path)
        proba = model.predict_proba(["book cheap flights and hotel rooms for your holiday"])
        assert proba.shape == (1, len(TASK.label_names))
        assert np.isclose(proba.sum(), 1.0)

        preds = wh.read("SELECT label, probability, model_version FROM predictions")
        assert set(preds["model_version"]) == {champion.version}
        assert preds["probability"].between(0, 1).all()
        assert set(preds["label"]) <= set(TASK.label_names)
        wh.dispose()

    # Re-running a partition replaces its rows: no duplicates anywhere (on this test's own copy).
    mine = home_copy(graph_home)
    wh = Warehouse(mine.settings.warehouse_url)
    before = {t: wh.count(t) for t in ("pages", "quarantine", "predictions", "lf_stats")}
    ws = build_weak_supervision_assets()
    resources = build_resources(mine.settings)
    with mine.instance() as instance:
        assert materialize(
            [raw_pages, page_features, ws.lf_votes],
            partition_key=keys[0],
            resources=resources,
            instance=instance,
        ).success
        assert materialize(
            [ws.predictions], partition_key=keys[0], resources=resources, instance=instance
        ).success
    assert {t: wh.count(t) for t in before} == before
    wh.dispose()


@pytest.mark.slow
def test_full_graph_on_dev_csv_with_mapping(tmp_path: Path, dev_csv: Path) -> None:
    """A user's own file with other column names: one batch, labels used as gold for evaluation.

    The mapping, the accounting and the gold split are under test, so the fixed end model: the
    search is tested on the shared sample graph above, the README demo and the quality reports."""
    settings = home_settings(
        tmp_path / "home",
        column_mapping="url=website_url,text=cleaned_website_text,label=Category",
        end_model=FIXED_END_MODEL,
    )
    (settings.landing_dir / "websites-2026-11-01.csv").write_bytes(dev_csv.read_bytes())
    raw = pd.read_csv(dev_csv)
    gold = raw.dropna(subset=["Category"]).rename(columns={"website_url": "url", "Category": "label"})
    gold[["url", "label"]].to_csv(settings.gold_dir / "dev.csv", index=False)
    with DagsterInstance.ephemeral() as instance:
        keys, _ = _materialize_all(settings, instance)
        meta = _latest_metadata(instance, "raw_pages", keys[0])
        assert meta["rows_read"] == len(raw)
        assert meta["accepted"] + meta["quarantined"] == len(raw)
        clf = _latest_metadata(instance, "classifier")
        # Every accepted row is gold here, so about half is held out (training/splits.py).
        assert 0.4 * meta["accepted"] <= clf["n_gold_eval"] <= 0.6 * meta["accepted"]
        assert clf["n_train"] > 0
        assert 0.0 <= clf["macro_f1_on_gold"] <= 1.0


def test_definitions_validate(tmp_path: Path) -> None:
    """`dagster definitions validate` loads the workspace exactly as the UI would."""
    env = {"BEAMBELL_HOME": str(tmp_path / "home"), "DAGSTER_HOME": str(tmp_path / "dh"), "PATH": ""}
    (tmp_path / "dh").mkdir()
    dagster = Path(sys.executable).parent / "dagster"
    out = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_classifier_kind_is_configuration(ingested_home: Home, home_copy: Callable[[Home], Home]) -> None:
    """``Settings.compute.classifier = "hashed-sgd"`` (``BEAMBELL_CLASSIFIER``, see test_settings): the
    same graph trains, registers, promotes and scores with the hashed tf-idf + SGD model (the
    streaming retrain's classifier) - no asset code changes."""
    import dataclasses

    from beambell_assets.settings import ComputeSettings
    from beambell_assets.training.streaming_classifier import StreamingSoftClassifier

    mine = home_copy(ingested_home)  # the shared sample, landed and ingested; trained here
    mine = dataclasses.replace(
        mine, settings=dataclasses.replace(mine.settings, compute=ComputeSettings(classifier="hashed-sgd"))
    )
    settings, keys = mine.settings, mine.keys
    with mine.instance() as instance:
        materialize_train_and_score(mine, instance)
        assert _latest_metadata(instance, "classifier")["model_kind"] == "StreamingSoftClassifier"
        wh = Warehouse(settings.warehouse_url)
        champion = ModelRegistry(wh, TASK.name).champion()
        assert champion is not None
        assert isinstance(load_model(champion.artifact_path), StreamingSoftClassifier)
        assert champion.metrics["macro_f1"] >= 0.5  # it passed the same promotion gates
        for key in keys:
            assert wh.count("predictions", key) == wh.count("pages", key) > 0
        wh.dispose()
