"""The Beam path gives the local path's results exactly: same L (order, faults), same scores, same assets.

Every pipeline here runs for real on Beam's DirectRunner in ``multi_processing`` mode with two SDK
worker processes (the same serialization a Flink/Spark/Dataflow cluster needs). Data is small: the
runner's start-up (a few seconds per pipeline) dominates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dagster import materialize
from snorkel.labeling import LabelingFunction, PandasLFApplier, labeling_function

from beambell_assets.beam.lf_pipeline import BeamLFApplier
from beambell_assets.beam.options import pipeline_options
from beambell_assets.beam.scoring_pipeline import score_pages_beam
from beambell_assets.defs.assets.weak_supervision import build_weak_supervision_assets
from beambell_assets.defs.resources import ComputeResource, build_resources
from beambell_assets.devtools.sample_home import Home
from beambell_assets.ingest.features import build_page_features
from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.lf_types import ABSTAIN, RegexLF
from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.serving.registry import ModelRegistry
from beambell_assets.serving.scoring import score_pages
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier

pytestmark = pytest.mark.integration

BEAM = ComputeResource(engine="beam", direct_num_workers=2, direct_running_mode="multi_processing")
LOCAL = ComputeResource(engine="local")


def _options():
    return pipeline_options("DirectRunner", direct_num_workers=2, direct_running_mode="multi_processing")


def _faulty_lfs() -> list[LabelingFunction]:
    """LFs that exercise fault handling: a per-row LF raising on some rows, a column form that fails.

    Defined in a function so cloudpickle ships their code to the Beam workers (which cannot import
    this test module).
    """

    @labeling_function(name="raises_on_short_text")
    def raises_on_short_text(x: pd.Series) -> int:
        if len(str(x["text"])) < 400:
            raise ValueError("short page")
        return 0 if "hotel" in str(x["text"]).lower() else ABSTAIN

    class BrokenColumnRegexLF(RegexLF):
        """Column form always raises: the applier falls back to per-row evaluation."""

        def votes_from_text(self, texts):  # type: ignore[no-untyped-def]
            raise RuntimeError("column form broken")

    return [raises_on_short_text, BrokenColumnRegexLF("broken_column_regex", r"\brecipe", label=1)]


@pytest.fixture(scope="module")
def graph(graph_home: Home, tmp_path_factory: pytest.TempPathFactory):
    """A copy of the shared sample graph (ingested, a champion deployed, every batch scored), for its
    first batch."""
    home = graph_home.copy(tmp_path_factory.mktemp("beam") / "home")
    instance = home.instance()
    yield home.settings, instance, home.keys[0]
    instance.dispose()


def test_beam_L_identical_on_sample_scrape_with_faults(graph) -> None:
    settings, _instance, key = graph
    features = ArtifactStore(str(settings.artifacts_dir)).read_frame("page_features", key)
    lfs = [*TASK.lfs, *_faulty_lfs()]
    L_local, rep_local = FastLFApplier(lfs).apply(features)
    L_beam, rep_beam = BeamLFApplier(lfs, options=_options(), chunk_size=64).apply(features)
    assert rep_beam.mode == "beam DirectRunner (multi_processing, 2 workers)"
    assert rep_beam.n_chunks >= 2
    np.testing.assert_array_equal(L_beam, L_local)
    assert rep_beam.fault_counts == rep_local.fault_counts
    assert rep_beam.faults["raises_on_short_text"] > 0, "the faulty LF must actually fault here"
    assert set(rep_beam.fallbacks) == {"broken_column_regex"}
    # and both are Snorkel's matrix
    L_snorkel, meta = PandasLFApplier(lfs).apply(
        features, progress_bar=False, fault_tolerant=True, return_meta=True
    )
    np.testing.assert_array_equal(L_beam, L_snorkel)
    assert rep_beam.faults == dict(meta.faults)


def test_beam_counts_votes_for_labels_the_task_lacks_as_the_local_applier_does(graph) -> None:
    settings, _instance, key = graph
    features = ArtifactStore(str(settings.artifacts_dir)).read_frame("page_features", key)

    @labeling_function(name="votes_label_99")
    def votes_label_99(x: pd.Series) -> int:  # the task has 16 labels
        return 99 if "the" in str(x["text"]).lower().split() else ABSTAIN

    lfs = [*TASK.lfs, votes_label_99]
    k = TASK.cardinality
    L_local, rep_local = FastLFApplier(lfs, cardinality=k).apply(features)
    L_beam, rep_beam = BeamLFApplier(lfs, options=_options(), chunk_size=64, cardinality=k).apply(features)
    np.testing.assert_array_equal(L_beam, L_local)
    assert (L_beam[:, -1] == ABSTAIN).all() and rep_beam.fault_counts == rep_local.fault_counts
    faults = rep_beam.faults["votes_label_99"]
    assert rep_beam.invalid_counts == rep_local.invalid_counts == {"votes_label_99": faults}
    assert rep_beam.invalid_counts["votes_label_99"] > 0


def test_beam_L_identical_on_dev_csv_and_parquet(dev_csv: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(dev_csv)
    raw = pd.DataFrame(
        {
            "page_id": [f"dev-{i}" for i in range(len(raw))],
            "url": raw["website_url"],
            "text": raw["cleaned_website_text"],
        }
    )
    features = build_page_features(raw)
    L_local, rep_local = FastLFApplier(TASK.lfs).apply(features)
    applier = BeamLFApplier(TASK.lfs, options=_options(), chunk_size=128)
    L_beam, rep_beam = applier.apply(features)
    np.testing.assert_array_equal(L_beam, L_local)
    assert rep_beam.fault_counts == rep_local.fault_counts
    assert (L_beam != ABSTAIN).any()

    # Parquet input read by the workers: L equals the local applier on the files read back, in order
    paths = []
    for i, (s, e) in enumerate([(0, 250), (250, 251), (251, len(features))]):
        p = tmp_path / f"part-{i}.parquet"
        features.iloc[s:e].to_parquet(p)
        paths.append(str(p))
    back = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    L_files, rep_files = applier.apply_parquet(paths)
    np.testing.assert_array_equal(L_files, FastLFApplier(TASK.lfs).apply(back)[0])
    assert rep_files.n_rows == len(features)


def test_beam_scores_identical(graph) -> None:
    settings, _instance, key = graph
    features = ArtifactStore(str(settings.artifacts_dir)).read_frame("page_features", key)
    texts = features["text"].fillna("").astype(str).tolist()
    rng = np.random.default_rng(0)
    y = rng.dirichlet(np.ones(TASK.cardinality), size=len(texts))
    model = SoftLabelTextClassifier(n_classes=TASK.cardinality, random_state=0).fit(texts, y)
    features = features.copy()
    features.loc[features.index[:3], "text"] = None  # missing text scores as "" on both paths
    expected = score_pages(model, features, TASK, "v-test")
    got = score_pages_beam(model, features, TASK, "v-test", options=_options(), chunk_size=32)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    empty = score_pages_beam(model, features.iloc[:0], TASK, "v-test", options=_options())
    assert empty.empty and list(empty.columns) == list(expected.columns)


def test_assets_same_with_beam_engine(graph, monkeypatch: pytest.MonkeyPatch) -> None:
    """lf_votes and predictions materialized with engine=beam equal the local engine's output.

    The engine is given both ways a deployment can: the ``compute`` resource, and
    ``BEAMBELL_COMPUTE_ENGINE`` (what the assets use while the definitions provide no resource).
    """
    settings, instance, key = graph
    ws = build_weak_supervision_assets()
    store = ArtifactStore(str(settings.artifacts_dir))
    wh = Warehouse(settings.warehouse_url)
    base = build_resources(settings)

    def votes_with(compute: ComputeResource) -> pd.DataFrame:
        monkeypatch.setenv("BEAMBELL_COMPUTE_ENGINE", compute.engine)
        res = materialize(
            [ws.lf_votes], partition_key=key, resources={**base, "compute": compute}, instance=instance
        )
        assert res.success
        meta = res.asset_materializations_for_node("lf_votes")[0].metadata
        assert meta["lf_engine"].value.startswith("beam DirectRunner") == (compute.engine == "beam")
        return store.read_frame("lf_votes", key)

    votes_local = votes_with(LOCAL)
    votes_beam = votes_with(BEAM)
    pd.testing.assert_frame_equal(votes_beam, votes_local, check_exact=True)
    assert ModelRegistry(wh, TASK.name).champion() is not None  # the shared graph's (auto end model)

    def predictions_with(compute: ComputeResource) -> pd.DataFrame:
        monkeypatch.setenv("BEAMBELL_COMPUTE_ENGINE", compute.engine)
        res = materialize(
            [ws.predictions], partition_key=key, resources={**base, "compute": compute}, instance=instance
        )
        assert res.success
        assert (
            res.asset_materializations_for_node("predictions")[0].metadata["scoring_engine"].value
            == compute.engine
        )
        cols = "page_id, url, label, probability, model_version"
        sql = f"SELECT {cols} FROM predictions WHERE partition_key = :k ORDER BY page_id"
        return wh.read(sql, {"k": key})

    preds_local = predictions_with(LOCAL)
    preds_beam = predictions_with(BEAM)
    assert len(preds_local) == len(votes_local) > 0
    pd.testing.assert_frame_equal(preds_beam, preds_local, check_exact=True)
