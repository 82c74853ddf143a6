"""Safe promotion on the real graph: a corrupted model is refused, a worse one is refused, a better
one is promoted, and rollback restores the previous champion — each decision in the registry."""

import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest
from dagster import AssetKey, AssetSelection, ExecuteInProcessResult, materialize

from beambell_assets.defs.assets.gold import gold_labels
from beambell_assets.defs.assets.ingest import page_features, raw_pages
from beambell_assets.defs.assets.weak_supervision import build_weak_supervision_assets
from beambell_assets.defs.resources import PromotionPolicyResource, build_resources
from beambell_assets.devtools.sample_home import FIXED_END_MODEL, SAMPLE, Home
from beambell_assets.serving.registry import ModelRecord, ModelRegistry
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse
from beambell_assets.training.training_set import prob_columns

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TASK = "web_content"
K = 16


class Graph:
    def __init__(self, home: Home) -> None:
        """``home``: a copy of the shared ingested sample; its gold is replaced by a larger share.
        The gates are under test, not the end-model search: the fixed end model."""
        self.settings = dataclasses.replace(home.settings, end_model=FIXED_END_MODEL)
        for old in self.settings.gold_dir.iterdir():
            old.unlink()
        SAMPLE.write_gold(self.settings.gold_dir, fraction=0.15)
        self.ws = build_weak_supervision_assets()
        self.all = [raw_pages, page_features, gold_labels, *self.ws.all]
        self.instance = home.instance()
        self.wh = Warehouse(self.settings.warehouse_url)
        self.store = ArtifactStore(self.settings.artifacts_dir)
        self.registry = ModelRegistry(self.wh, TASK)
        self.keys = list(home.keys)
        self._clean_weak = None  # the label model's training set on this unchanged window
        assert self.registry.champion() is None

    def _run(
        self, names: list[str], policy: PromotionPolicyResource | None = None, **kw: object
    ) -> ExecuteInProcessResult:
        resources = build_resources(self.settings)
        if policy is not None:
            resources["promotion"] = policy
        return materialize(
            self.all,
            selection=AssetSelection.assets(*[AssetKey(n) for n in names]),
            resources=resources,
            instance=self.instance,
            raise_on_error=False,
            **kw,
        )

    def train(
        self, policy: PromotionPolicyResource | None = None, corrupt: float = 0.0
    ) -> ExecuteInProcessResult:
        """The train job; ``corrupt`` shuffles that share of the weak labels between pages first.

        The window and its gold never change here, so the label model's training set is fitted
        once and each corrupted run starts from a clean copy of it (the gates are under test,
        not a refit that would give the same labels)."""
        if corrupt:
            if self._clean_weak is None:
                assert self._run(["gold_labels", "label_model", "training_set"]).success
                self._clean_weak = self.store.read_frame("training_set", "weak")
            weak = self._clean_weak.copy()
            rng = np.random.default_rng(0)
            cols = prob_columns(K)
            probs = weak[cols].to_numpy(copy=True)
            picked = np.flatnonzero(rng.random(len(weak)) < corrupt)
            probs[picked] = probs[rng.permutation(picked)]  # labels swapped between pages
            weak[cols] = probs
            self.store.write_frame("training_set", "weak", weak)
            return self._run(["classifier", "deployed_model"], policy=policy)
        return self._run(
            ["gold_labels", "label_model", "training_set", "classifier", "deployed_model"], policy=policy
        )

    def first_champion(self) -> ModelRecord:
        """The champion the tests start from. The module's tests share one registry and, in file
        order, the first test makes it; run alone (``-k``), a test trains it here."""
        if self.registry.champion() is None:
            assert self.train().success
        champion = self.registry.champion()
        assert champion is not None
        return champion

    def gate_results(self, result: ExecuteInProcessResult) -> dict[str, bool]:
        return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


@pytest.fixture(scope="module")
def graph(ingested_home: Home, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Graph]:
    graph = Graph(ingested_home.copy(tmp_path_factory.mktemp("promotion") / "home"))
    yield graph
    graph.instance.dispose()


def test_first_model_passes_the_gates_and_becomes_champion(graph: Graph) -> None:
    result = graph.train()
    assert result.success
    assert graph.gate_results(result) == dict.fromkeys(
        ("quality_floor", "not_worse_than_champion", "no_severe_drift"), True
    )
    champion = graph.registry.champion()
    assert champion is not None
    assert champion.metrics["n_gold"] >= 20
    assert champion.metrics["agreement_with_label_model"] > 0.8


def test_shuffled_label_model_is_never_promoted(graph: Graph) -> None:
    before = graph.first_champion().version
    # Even with the quality floor and the champion comparison switched off.
    lenient = PromotionPolicyResource(floor=0.0, min_lift=-1.0, tolerance=1.0)
    result = graph.train(policy=lenient, corrupt=1.0)
    assert not result.success  # a blocking check failed: deployed_model did not run
    gates = graph.gate_results(result)
    assert gates["quality_floor"] is False
    assert not result.asset_materializations_for_node("deployed_model")
    shuffled = graph.registry.versions()[-1]
    assert shuffled.status == "rejected"
    assert shuffled.metrics["agreement_with_label_model"] < 0.5
    assert graph.registry.champion().version == before
    reject = [e for e in graph.registry.events() if e["action"] == "reject"][-1]
    assert reject["version"] == shuffled.version and "labels look corrupted" in reject["reason"]


def test_worse_model_is_refused_on_the_same_gold(graph: Graph) -> None:
    before = graph.first_champion()
    # Agreement gate relaxed so that only the champion comparison can refuse it.
    policy = PromotionPolicyResource(min_agreement_with_label_model=0.0, floor=0.0, min_lift=-1.0)
    result = graph.train(policy=policy, corrupt=0.9)
    gates = graph.gate_results(result)
    assert gates["not_worse_than_champion"] is False, gates
    assert graph.registry.champion().version == before.version
    assert graph.registry.versions()[-1].status == "rejected"


def test_better_model_is_promoted_and_rollback_restores(graph: Graph) -> None:
    # Make a weak model the champion by hand (an operator's mistake) ...
    policy = PromotionPolicyResource(
        min_agreement_with_label_model=0.0, floor=0.0, min_lift=-1.0, tolerance=1.0
    )
    good = graph.first_champion().version
    assert graph.train(policy=policy, corrupt=0.9).success
    weak = graph.registry.champion()
    assert weak.version != good
    # ... then a normal retrain beats it on the same gold and replaces it.
    result = graph.train()
    assert result.success, graph.gate_results(result)
    better = graph.registry.champion()
    assert better.version not in (good, weak.version)
    assert better.metrics["macro_f1"] > weak.metrics["macro_f1"]
    promote = [e for e in graph.registry.events() if e["action"] == "promote"][-1]
    assert promote["version"] == better.version and promote["previous"] == weak.version
    assert "dagster run" in promote["actor"]

    restored = graph.registry.rollback(actor="test", reason="on-call rollback")
    assert restored.version == weak.version
    assert graph.registry.champion().version == weak.version
    assert graph.registry.events()[-1]["action"] == "rollback"
