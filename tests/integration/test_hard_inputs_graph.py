"""Hostile landing folders against the real Dagster graph (issue #12): names, links, schemas."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from beambell_assets.defs.assets.ingest import page_features, raw_pages
from beambell_assets.defs.assets.partitions import landing_partitions
from beambell_assets.defs.resources import build_resources
from beambell_assets.settings import Settings
from beambell_assets.storage.artifacts import ArtifactStore
from beambell_assets.storage.warehouse import Warehouse

pytestmark = pytest.mark.integration
TEXT = "An ordinary page about trains, timetables, platforms and tickets to the coast."


def _pages(n: int, url_key: str = "url") -> str:
    rows = [{url_key: f"https://example.com/p{i}", "text": f"{TEXT} Page {i}."} for i in range(n)]
    return "".join(json.dumps(r) + "\n" for r in rows)


def _ingest(settings: Settings, instance: DagsterInstance, key: str, raise_on_error: bool = True):  # type: ignore[no-untyped-def]
    wh = Warehouse(settings.warehouse_url)
    wh.migrate()
    instance.add_dynamic_partitions(landing_partitions.name, [key])
    return materialize(
        [raw_pages, page_features],
        partition_key=key,
        resources=build_resources(settings),
        instance=instance,
        raise_on_error=raise_on_error,
    )


def _label_one_batch(settings: Settings, key: str):  # type: ignore[no-untyped-def]
    """Ingest and vote the landed batch ``key``, then run the label model on it; its result."""
    from beambell_assets.defs.assets.weak_supervision import build_weak_supervision_assets

    ws = build_weak_supervision_assets()
    with DagsterInstance.ephemeral() as instance:
        assert _ingest(settings, instance, key).success
        resources = build_resources(settings)
        voted = materialize([ws.lf_votes], partition_key=key, resources=resources, instance=instance)
        assert voted.success
        return materialize([ws.label_model], resources=resources, instance=instance, raise_on_error=False)


def test_a_landing_name_as_long_as_the_file_system_allows_is_ingested(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    name = "batch-" + "x" * (255 - len("batch-") - len(".jsonl")) + ".jsonl"
    assert len(name.encode()) == 255
    (settings.landing_dir / name).write_text(_pages(5))
    with DagsterInstance.ephemeral() as instance:
        assert _ingest(settings, instance, name).success
    store = ArtifactStore(settings.artifacts_dir)
    assert store.frame_keys("raw_pages") == [name]
    assert len(store.read_frame("page_features", name)) == 5
    wh = Warehouse(settings.warehouse_url)
    assert wh.scalar("SELECT COUNT(*) FROM pages WHERE partition_key = :k", {"k": name}) == 5


def test_a_link_out_of_the_landing_folder_is_quarantined_unread(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    secret = tmp_path / "outside" / "secret.jsonl"
    secret.parent.mkdir()
    secret.write_text(json.dumps({"url": "https://secret.example/", "text": "TOP-SECRET " * 10}) + "\n")
    (settings.landing_dir / "batch-link.jsonl").symlink_to(secret)
    with DagsterInstance.ephemeral() as instance:
        assert _ingest(settings, instance, "batch-link.jsonl").success
    wh = Warehouse(settings.warehouse_url)
    rows = wh.read("SELECT reason, raw, url, detail FROM quarantine")
    assert list(rows["reason"]) == ["unsafe_path"]
    assert not any("SECRET" in str(v) or "secret.example" in str(v) for v in rows.iloc[0])
    assert wh.scalar("SELECT COUNT(*) FROM pages") == 0


@pytest.mark.parametrize(
    ("mapping", "url_key", "named"),
    [("", "link", "'url'"), ("url=url,title=headline", "url", "'headline'")],
)
def test_a_batch_level_schema_error_fails_the_run_at_once_naming_the_columns(
    make_settings: Callable[..., Settings], tmp_path: Path, mapping: str, url_key: str, named: str
) -> None:
    import time

    settings = make_settings(column_mapping=mapping)
    (settings.landing_dir / "batch.jsonl").write_text(_pages(5, url_key))
    t0 = time.monotonic()
    with DagsterInstance.ephemeral() as instance:
        result = _ingest(settings, instance, "batch.jsonl", raise_on_error=False)
        assert not result.success
        failures = [e for e in result.all_events if e.is_step_failure]
        assert len(failures) == 1  # one attempt: a deterministic error is not retried
        description = failures[0].step_failure_data.user_failure_data.description
        assert "missing column" in description and named in description
        assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        from beambell_assets.cli import _failure_reason

        assert named in _failure_reason(result)  # what the demo prints
    assert time.monotonic() - t0 < 60  # generous; the point is no 2+4+8 s of retries (see above)


def test_demo_refuses_a_mapping_naming_a_column_the_file_lacks(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from beambell_assets.cli import _land_user_data

    settings = make_settings()
    data = tmp_path / "mine.csv"
    data.write_text("website_url,cleaned_website_text\nhttps://a.example/,some text\n")
    with pytest.raises(SystemExit, match="Category"):
        _land_user_data(settings, data, "url=website_url,text=cleaned_website_text,label=Category")
    assert not settings.mapping_file.exists() and not any(settings.landing_dir.iterdir())
    _land_user_data(settings, data, "url=website_url,text=cleaned_website_text")
    assert settings.mapping_file.exists()


def test_a_landing_file_deleted_before_its_run_fails_with_the_real_error(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    with DagsterInstance.ephemeral() as instance:
        result = _ingest(settings, instance, "gone.jsonl", raise_on_error=False)
        failures = [e for e in result.all_events if e.is_step_failure]
        assert len(failures) == 1
        description = failures[0].step_failure_data.user_failure_data.description
        assert "FileNotFoundError" in description and "gone.jsonl" in description


def test_gold_labels_outside_the_label_space_are_kept_and_counted(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    import pandas as pd

    from beambell_assets.cli import _gold_from_labeled_batches
    from beambell_assets.defs.assets.gold import gold_labels
    from beambell_assets.labeling.tasks.web_content import TASK

    settings = make_settings()
    known = TASK.label_names[0]
    raw = pd.DataFrame(
        {
            "url": [f"https://example.com/g{i}" for i in range(30)],
            "label": [known] * 10 + [f"Not-A-Category-{i}" for i in range(20)],
        }
    )
    ArtifactStore(settings.artifacts_dir).write_frame("raw_pages", "b1", raw)
    assert _gold_from_labeled_batches(settings, ["b1"]) == (10, 20)  # the demo's --map label= path
    Warehouse(settings.warehouse_url).migrate()
    with DagsterInstance.ephemeral() as instance:
        for _ in range(2):  # re-loading replaces, never duplicates
            result = materialize([gold_labels], resources=build_resources(settings), instance=instance)
            assert result.success
            mat = result.asset_materializations_for_node("gold_labels")[0]
            assert mat.metadata["rejected_rows"].value == 20
    wh = Warehouse(settings.warehouse_url)
    rejected = wh.read(
        "SELECT label, reason, source FROM rejected_gold_labels WHERE task = :t", {"t": TASK.name}
    )
    assert sorted(rejected["label"]) == sorted(raw["label"][10:])
    assert all("not in the label space" in r for r in rejected["reason"])
    assert wh.scalar("SELECT COUNT(*) FROM gold_labels") == 10


def test_a_window_of_empty_batches_fails_training_naming_the_cause(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """A header-only file is a valid, empty batch; training on a window of nothing but such batches
    stops at the label model with the reason, not with a pandas error two assets later."""
    from beambell_assets.cli import _failure_reason

    settings = make_settings()
    (settings.landing_dir / "empty.csv").write_text("url,text\n")
    result = _label_one_batch(settings, "empty.csv")
    assert not result.success
    reason = _failure_reason(result)
    assert reason.startswith("label_model: ") and "hold no pages" in reason and "empty.csv" in reason


def test_demo_refuses_a_task_file_that_does_not_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's task with a syntax error: the demo says so, naming the file and line, before it
    writes or runs anything (it used to fail as a wrapped step error of the first ingest run)."""
    from beambell_assets.cli import main

    task = tmp_path / "my_task.py"
    task.write_text('from beambell_assets.labeling.task import make_task\nTASK = make_task(name="x"\n')
    monkeypatch.setenv("BEAMBELL_TASK", str(task))
    home = tmp_path / "home"
    with pytest.raises(SystemExit, match=r"does not load: SyntaxError: .*my_task\.py, line 2"):
        main(["--home", str(home), "demo"])
    assert not home.exists()


def test_the_demo_reports_a_steps_own_exception_not_dagsters_wrapper() -> None:
    from dagster import asset

    from beambell_assets.cli import _failure_reason

    @asset
    def breaks() -> None:
        raise ValueError("the real cause")

    result = materialize([breaks], raise_on_error=False)
    assert _failure_reason(result) == "breaks: ValueError: the real cause"

    from beambell_assets.labeling.task import TaskPrepareError

    @asset
    def prepares() -> None:  # an exception class outside builtins: Dagster names it by module path
        raise TaskPrepareError("the task's cause")

    result = materialize([prepares], raise_on_error=False)
    assert _failure_reason(result) == "prepares: TaskPrepareError: the task's cause"


def test_an_lf_voting_a_label_the_task_lacks_counts_as_errors_not_a_failed_run(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """A user's LF returning 7 in a two-class task: those votes are stored as abstains and counted
    as that LF's errors, like an LF that raises (it used to fail the label model on the value)."""
    task = tmp_path / "two_class.py"
    task.write_text(
        "from snorkel.labeling import labeling_function\n"
        "from beambell_assets.labeling.lf_types import KeywordLF\n"
        "from beambell_assets.labeling.task import make_task\n"
        "@labeling_function()\n"
        "def lf_seven(x):\n"
        "    return 7 if 'trains' in x.text else -1\n"
        "TASK = make_task('two_class', ('a', 'b'), [lf_seven, KeywordLF('kw_trains', ('trains',), 0)])\n"
    )
    settings = make_settings(task_spec=str(task))
    (settings.landing_dir / "b.jsonl").write_text(_pages(5))
    assert _label_one_batch(settings, "b.jsonl").success
    votes = ArtifactStore(settings.artifacts_dir).read_frame("lf_votes", "b.jsonl")
    assert (votes["lf_seven"] == -1).all() and (votes["kw_trains"] == 0).all()
    errors = Warehouse(settings.warehouse_url).read("SELECT lf_name, n_errors FROM lf_stats")
    assert dict(zip(errors["lf_name"], errors["n_errors"], strict=True)) == {"lf_seven": 5, "kw_trains": 0}


def test_the_demo_tells_gates_that_kept_a_candidate_out_from_failures() -> None:
    """A rerun of the demo whose new candidate has too little gold is a decision, not a crash."""
    from dagster import AssetCheckResult, AssetCheckSpec, Output, asset

    from beambell_assets.cli import _gate_refusals

    @asset(check_specs=[AssetCheckSpec("gate", asset="candidate", blocking=True)])
    def candidate():
        yield Output(1)
        yield AssetCheckResult(check_name="gate", passed=False, description="only 0 gold labels")

    @asset(deps=[candidate])
    def deployed() -> None:
        return None

    @asset
    def breaks() -> None:
        raise ValueError("a real failure")

    refused = materialize([candidate, deployed], raise_on_error=False)
    assert not refused.success and _gate_refusals(refused) == ["gate: only 0 gold labels"]
    assert _gate_refusals(materialize([breaks], raise_on_error=False)) == []
    assert _gate_refusals(materialize([candidate, deployed, breaks], raise_on_error=False)) == []
