"""Against a real Label Studio server (own virtualenv, started here): tasks with predictions out,
annotations back as gold — added, changed, deleted — through the sensor and the sync asset; plus the
JSON file export and the import of a Label Studio JSON export file."""

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dagster import (
    AssetSelection,
    DagsterInstance,
    Definitions,
    SensorResult,
    SkipReason,
    build_sensor_context,
    define_asset_job,
    materialize,
)

from beambell_assets.defs.assets.annotation import label_studio_gold
from beambell_assets.defs.automation.gold_sync import build_label_studio_gold_sensor
from beambell_assets.defs.resources import (
    LabelStudioResource,
    PromotionPolicyResource,
    StreamResource,
    TaskResource,
    WarehouseResource,
)
from beambell_assets.devtools.label_studio import running_label_studio
from beambell_assets.feedback.annotation_queue import AUDIT_REASON
from beambell_assets.feedback.gold_sync import import_label_studio_export_file, label_studio_gold_rows
from beambell_assets.feedback.label_studio import (
    build_tasks,
    ensure_project,
    export_json_from_server,
    export_to_label_studio,
    write_tasks_json,
)
from beambell_assets.labeling.task import load_task
from beambell_assets.storage.warehouse import Warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TASK_SPEC = "beambell_assets.labeling.tasks.web_content"


def _picks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "page_id": ["p-news", "p-travel", "p-food"],
            "url": ["https://a.example/n", "https://b.example/t", "https://c.example/f"],
            "text": ["breaking news election", "cheap flights and hotels", "easy pasta recipes"],
            "score": [0.91, 0.75, 0.52],
            "predicted_label": ["News", "Travel", "Food"],
            "predicted_probability": [0.41, 0.55, 0.62],
            "model_version": "web_content-test",
            "reason": ["classifier unsure", "LFs disagree", "label model entropy"],
        }
    )


def test_label_studio_round_trip(tmp_path: Path) -> None:
    task = load_task(TASK_SPEC)
    wh_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    wh = Warehouse(wh_url)
    wh.migrate()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with running_label_studio(tmp_path / "ls") as server:
        timings["server_start_s"] = time.perf_counter() - t0
        client = server.client()

        # Project from the generated label config; tasks with the classifier's pre-annotation.
        project_id = ensure_project(client, task, title="beambell roundtrip")
        assert ensure_project(client, task, title="beambell roundtrip") == project_id
        project = client.projects.get(id=project_id)
        assert 'Choice value="Law and Government"' in project.label_config
        tasks = build_tasks(_picks())
        first = export_to_label_studio(client, project_id, tasks)
        again = export_to_label_studio(client, project_id, tasks)
        assert (first.imported, again.imported, again.skipped_existing) == (3, 0, 3)
        ls_tasks = {t.data["page_id"]: t for t in client.tasks.list(project=project_id, fields="all")}
        assert set(ls_tasks) == {"p-news", "p-travel", "p-food"}
        assert ls_tasks["p-news"].data["uncertainty"] == pytest.approx(0.91)
        preds = client.predictions.list(task=ls_tasks["p-news"].id)
        assert len(preds) == 1
        assert preds[0].model_version == "web_content-test"
        assert preds[0].score == pytest.approx(0.41)
        assert preds[0].result[0]["value"]["choices"] == ["News"]

        # Offline users: the same tasks as a JSON file.
        path = write_tasks_json(tasks, tmp_path / "export" / "tasks.json")
        assert json.loads(path.read_text())[0]["predictions"][0]["model_version"] == "web_content-test"

        resource = LabelStudioResource(url=server.url, api_key=server.api_key, project_id=project_id)
        resources = {
            "task": TaskResource(spec=TASK_SPEC),
            "warehouse": WarehouseResource(url=wh_url),
            "label_studio": resource,
            # new gold is also published to the stream's feedback stream (the local Redis), under
            # this test's own prefix
            "stream": StreamResource(prefix=f"beambell-test-{tmp_path.name}"),
        }
        job = define_asset_job("label_studio_gold_sync", selection=AssetSelection.assets(label_studio_gold))
        sensor = build_label_studio_gold_sensor(job, interval_s=5)
        defs = Definitions(assets=[label_studio_gold], jobs=[job], sensors=[sensor], resources=resources)
        instance = DagsterInstance.ephemeral()
        cursor: list[str | None] = [None]

        def tick() -> SensorResult | SkipReason:
            with build_sensor_context(
                instance=instance, cursor=cursor[0], resources=resources, definitions=defs
            ) as ctx:
                out = sensor(ctx)
            if isinstance(out, SensorResult):
                cursor[0] = out.cursor
            return out

        def sync() -> dict[str, int]:
            result = materialize([label_studio_gold], resources=resources, instance=instance)
            assert result.success
            md = result.asset_materializations_for_node("label_studio_gold")[0].metadata
            return {k: md[k].value for k in ("inserted", "updated", "deleted", "unchanged")}

        def gold_row(page_id: str) -> dict | None:
            gold = label_studio_gold_rows(wh, task)
            rows = gold[gold["page_id"] == page_id].to_dict("records")
            return rows[0] if rows else None

        # Nothing annotated yet: the first tick records the empty state, the next one skips.
        assert isinstance(tick(), SensorResult)
        assert isinstance(tick(), SkipReason)

        # An annotation through the API -> a run request -> a gold row with who and when.
        t1 = time.perf_counter()
        ann = client.annotations.create(
            id=ls_tasks["p-news"].id,
            result=[
                {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["News"]}}
            ],
            lead_time=3.0,
        )
        req = tick()
        assert isinstance(req, SensorResult) and len(req.run_requests) == 1
        run_key = req.run_requests[0].run_key
        assert sync() == {"inserted": 1, "updated": 0, "deleted": 0, "unchanged": 0}
        timings["annotation_to_gold_s"] = time.perf_counter() - t1
        row = gold_row("p-news")
        assert row is not None
        assert row["label"] == "News"
        assert row["labeler"] == server.username
        assert row["labeled_at"] and row["labeled_at"].startswith(str(ann.updated_at.year))
        assert row["ls_annotation_id"] == ann.id and row["source"] == f"label_studio:{project_id}"
        # Idempotent: same annotations -> no new run, and a re-sync changes nothing.
        assert isinstance(tick(), SkipReason)
        assert sync() == {"inserted": 0, "updated": 0, "deleted": 0, "unchanged": 1}

        # Changed in Label Studio -> a new change set -> the gold label changes.
        time.sleep(1.1)  # updated_at has second resolution in some exports
        client.annotations.update(
            id=ann.id,
            result=[
                {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["Sports"]}}
            ],
        )
        req = tick()
        assert isinstance(req, SensorResult) and req.run_requests[0].run_key != run_key
        assert sync() == {"inserted": 0, "updated": 1, "deleted": 0, "unchanged": 0}
        assert gold_row("p-news")["label"] == "Sports"

        # A second annotated page, then the JSON export file of the project, imported elsewhere.
        client.annotations.create(
            id=ls_tasks["p-food"].id,
            result=[
                {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["Food"]}}
            ],
        )
        export_file = tmp_path / "project-export.json"
        export_file.write_text(json.dumps(export_json_from_server(client, project_id)))
        offline = Warehouse(f"sqlite:///{tmp_path / 'offline.db'}")
        offline.migrate()
        assert import_label_studio_export_file(export_file, task, offline)[0]["inserted"] == 2
        assert import_label_studio_export_file(export_file, task, offline)[0]["unchanged"] == 2
        imported = label_studio_gold_rows(offline, task).set_index("page_id")
        assert imported.loc["p-news", "label"] == "Sports" and imported.loc["p-food", "label"] == "Food"
        assert imported.loc["p-news", "source"] == "label_studio_file:project-export.json"
        assert isinstance(tick(), SensorResult)
        assert sync()["inserted"] == 1

        # Deleted in Label Studio -> the gold row disappears.
        client.annotations.delete(id=ann.id)
        assert isinstance(tick(), SensorResult)
        assert sync() == {"inserted": 0, "updated": 0, "deleted": 1, "unchanged": 1}
        assert gold_row("p-news") is None and gold_row("p-food") is not None
    print(f"timings: {timings}")


def test_human_in_the_loop_on_the_graph(tmp_path: Path, make_settings) -> None:  # type: ignore[no-untyped-def]
    """Queue -> Label Studio file -> human gold (synced as Label Studio gold) -> stateful LFs in
    lf_votes and the label model -> gold overrides in the training set, never in the evaluation set."""
    from dagster import AssetKey

    from beambell_assets.defs.assets.gold import gold_labels as gold_asset
    from beambell_assets.defs.assets.ingest import page_features, raw_pages
    from beambell_assets.defs.assets.partitions import landing_partitions
    from beambell_assets.defs.assets.task_family import build_task_assets
    from beambell_assets.defs.resources import build_resources
    from beambell_assets.devtools.sample_home import FIXED_END_MODEL, SampleScrape
    from beambell_assets.feedback.gold_sync import project_source, sync_gold
    from beambell_assets.ingest.contract import normalize_url, page_id_for
    from beambell_assets.labeling.stateful import STATEFUL_LF_NAMES
    from beambell_assets.storage.artifacts import ArtifactStore

    settings = make_settings(task_spec=TASK_SPEC, end_model=FIXED_END_MODEL)  # gold's path, not the search
    truth_dir = tmp_path / "truth"  # every page's true label: the humans' answers, not gold files
    keys = SampleScrape(n_batches=2, pages_per_batch=150, seed=5, gold_fraction=1.0).land(settings, truth_dir)
    page = build_task_assets()
    every = [
        raw_pages,
        page_features,
        gold_asset,
        page.stateful_lfs,
        label_studio_gold,
        *page.annotation.all,
        *page.chain.all,
    ]
    resources = {
        **build_resources(settings),
        "label_studio": LabelStudioResource(),
        # This test follows the gold into training, not promotion (tests/integration/test_promotion.py
        # tests the gates): the champion comparison runs on ~50 evaluation pages, where one page is
        # 2 points of macro-F1, so its tolerance here is wide enough for the retrain to finish.
        "promotion": PromotionPolicyResource(tolerance=0.1),
    }
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(landing_partitions.name, keys)

    def run(names: list[str], **kw: object) -> Any:
        result = materialize(
            every,
            selection=AssetSelection.assets(*[AssetKey(n) for n in names]),
            resources=resources,
            instance=instance,
            **kw,
        )
        assert result.success
        return result

    for key in keys:
        run(["raw_pages", "page_features", "lf_votes"], partition_key=key)
    run(["gold_labels", "label_model", "training_set", "classifier", "deployed_model"])

    t0 = time.perf_counter()
    run(["annotation_queue", "label_studio_export"], partition_key=keys[-1])
    queue_s = time.perf_counter() - t0
    wh = Warehouse(settings.warehouse_url)
    queue = wh.read("SELECT * FROM annotation_queue WHERE partition_key = :k", {"k": keys[-1]})
    assert len(queue) == 20 and queue["reason"].str.len().min() > 0
    assert sorted(queue["queue_rank"]) == list(range(1, 21))
    # a fifth of the batch is audit picks, recorded apart: their gold is a random sample
    audit = wh.read("SELECT page_id FROM audit_picks WHERE partition_key = :k", {"k": keys[-1]})
    assert set(audit["page_id"]) == set(queue.loc[queue["reason"] == AUDIT_REASON, "page_id"])
    assert len(audit) == 4
    store = ArtifactStore(settings.artifacts_dir)
    exported = json.loads(store.path("label_studio_export", f"{keys[-1]}.json").read_text())
    assert len(exported) == 20 and exported[0]["predictions"][0]["model_version"]

    # Humans label 120 pages in Label Studio (their true categories), synced as Label Studio gold.
    truth = pd.concat([pd.read_csv(p) for p in sorted(truth_dir.glob("*.csv"))], ignore_index=True)
    truth["page_id"] = [page_id_for(normalize_url(u)) for u in truth["url"]]
    # ... the first 120 pages of the scrape, and the queue's 4 audit picks
    audited = truth[truth["page_id"].isin(audit["page_id"])]
    human = pd.concat([truth.head(120), audited]).drop_duplicates("page_id")
    n_human = len(human)
    human = human.assign(
        labeler="ann@x.org",
        labeled_at="2026-11-21T00:00:00Z",
        ls_task_id=range(n_human),
        ls_annotation_id=range(n_human),
        ls_updated_at="2026-11-21T00:00:00Z",
    )
    sync_gold(wh, load_task(TASK_SPEC), human, project_source(1), project_id=1)
    run(["stateful_lfs"])
    state = store.read_json("stateful_lfs", "current")
    assert state["keywords"] and state["n_gold"] > 20
    for key in keys:
        run(["lf_votes"], partition_key=key)
    votes = store.read_frame("lf_votes", keys[0])
    assert set(STATEFUL_LF_NAMES) <= set(votes.columns)
    assert (votes[list(STATEFUL_LF_NAMES)] != -1).any().all()  # both learned LFs vote
    result = run(["label_model", "training_set", "classifier"])
    lm_meta = {
        k: v.value for k, v in result.asset_materializations_for_node("label_model")[0].metadata.items()
    }
    clf_meta = {
        k: v.value for k, v in result.asset_materializations_for_node("classifier")[0].metadata.items()
    }
    # the label model fits on the stateful LFs' cross-fitted votes on the gold they learned from
    oof = store.read_frame("stateful_lfs", "out_of_fold_votes")
    assert len(oof) == state["n_gold"] and set(oof["state_version"]) == {state["version"]}
    assert 0 < lm_meta["gold_rows_voted_out_of_fold"] <= len(oof)
    # queue gold is no sample: only the audit picks' gold may anchor or choose the aggregator
    assert lm_meta["gold_rows_random_sample"] == 4
    assert lm_meta["aggregator_gold_anchors"] <= 4
    assert lm_meta["aggregator_criterion"] == "heldout_lf_agreement"
    weak = store.read_frame("training_set", "weak")
    gold_eval = store.read_frame("training_set", "gold_eval")
    overrides = set(weak.loc[weak["label_source"] == "gold", "page_id"])
    assert overrides and not overrides & set(gold_eval["page_id"])
    # the classifier is also scored on the eval gold that is a random sample: the audit picks' there
    audited_eval = set(audit["page_id"]) & set(gold_eval["page_id"])
    assert clf_meta["n_gold_eval_random_sample"] == len(audited_eval), clf_meta
    assert clf_meta["n_gold_eval"] == len(gold_eval) > len(audited_eval)
    if audited_eval:
        assert 0.0 <= clf_meta["accuracy_on_random_sample_gold"] <= 1.0
    else:
        assert clf_meta["accuracy_on_random_sample_gold"] == "n/a"
    print(
        f"annotation_queue + export of one 150-page partition: {queue_s:.1f}s; overrides {len(overrides)}, "
        f"gold eval {len(gold_eval)} ({len(audited_eval)} audit picks); stateful state {state['version']}"
    )
