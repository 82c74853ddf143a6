"""The ``beambell`` command: run the demo, inspect status, promote or roll back models.

``beambell demo`` is the main job on embedded defaults: it lands the project's own sample scrape
(or your file with ``--data``), materializes the whole asset graph for every landed batch on a
local Dagster instance (SQLite under ``$DAGSTER_HOME``), and prints what happened.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from beambell_assets.settings import Settings, load_settings

console = Console()
REPO_ROOT = Path(__file__).resolve().parents[1]


#: Exit code of a command refused for a reason the user can fix (argparse uses 2 for usage errors).
USAGE_EXIT = 2


def _refuse(message: str) -> int:
    """Print ``error: <message>`` on stderr; the exit code of a command that cannot do its work."""
    print(f"error: {message}", file=sys.stderr)
    return USAGE_EXIT


def _positive(kind: type) -> Any:
    """An argparse type: a number of ``kind`` above zero (``--pages -5`` is a usage error)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value

    return parse


# --------------------------------------------------------------------------- set-up
def _prepare_environment(settings: Settings) -> None:
    """Point Dagster at the project's home, with the repo's dagster.yaml as its config."""
    os.environ["BEAMBELL_HOME"] = str(settings.home)
    dagster_home = settings.dagster_home
    dagster_home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    config = dagster_home / "dagster.yaml"
    template = REPO_ROOT / "dagster.yaml"
    if not config.exists() and template.exists():
        shutil.copyfile(template, config)


def _land_user_data(settings: Settings, data: Path, mapping: str) -> list[Path]:
    """Copy the user's file into the landing folder as one batch (the reader quarantines bad rows).

    A symbolic link leading out of its own folder is refused, as in the landing folder: name the
    file itself.
    """
    from beambell_assets.ingest.readers import unsafe_path_reason

    if data.is_symlink() and unsafe_path_reason(data, data.parent):
        raise SystemExit(f"--data: {data} is a symbolic link to a file outside its folder; name the file")
    data = data.resolve()
    if not data.is_file():
        raise SystemExit(f"--data: no such file: {data}")
    _check_mapping(data, mapping)
    target = settings.landing_dir / data.name
    if not target.exists():
        tmp = target.with_name(f".{target.name}.part")
        shutil.copyfile(data, tmp)
        os.replace(tmp, target)  # atomic: a half-copied file is never a batch
    settings.mapping_file.write_text(mapping, encoding="utf-8")
    return [target]


def _check_mapping(data: Path, spec: str) -> None:
    """Refuse a ``--map`` that cannot work on ``data`` before it is remembered or anything runs."""
    from beambell_assets.ingest.contract import ColumnMapping
    from beambell_assets.ingest.readers import peek_columns

    try:
        mapping = ColumnMapping.parse(spec)
        columns = peek_columns(data)
    except ValueError as exc:
        raise SystemExit(f"--map: {exc}") from exc
    missing = mapping.missing_columns(columns) if columns else []
    if missing:
        shown = ", ".join(repr(c) for c in columns[:20])
        raise SystemExit(f"--map: {data.name} has no column {', '.join(missing)} (it has {shown})")


def _land_sample(settings: Settings, batches: int, pages_per_batch: int, seed: int) -> list[Path]:
    from beambell_assets.demo.sample import write_sample_gold, write_sample_scrape

    existing = sorted(p for p in settings.landing_dir.iterdir() if p.is_file())
    if existing:
        return existing
    paths = write_sample_scrape(
        settings.landing_dir, n_batches=batches, pages_per_batch=pages_per_batch, seed=seed
    )
    write_sample_gold(settings.gold_dir, n_batches=batches, pages_per_batch=pages_per_batch, seed=seed)
    return paths


def _gold_from_labeled_batches(settings: Settings, keys: list[str]) -> tuple[int, int]:
    """Labels that came with the data (``--map label=…``) become a gold CSV, for evaluation only.

    Every label is written, known or not: the ``gold_labels`` asset keeps the ones outside the
    label space in ``rejected_gold_labels`` with the reason. Returns (in the label space, outside).
    """
    import pandas as pd

    from beambell_assets.labeling.task import load_task
    from beambell_assets.storage.artifacts import ArtifactStore

    store = ArtifactStore(settings.artifacts_dir)
    task = load_task(settings.task_spec)
    frames = []
    for key in keys:
        raw = store.read_frame("raw_pages", key, columns=["url", "label"])
        frames.append(raw[raw["label"].notna() & (raw["label"].astype(str).str.strip() != "")])
    gold = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["url", "label"])
    if gold.empty:
        return 0, 0
    gold = gold.assign(labeler="dataset", labeled_at="")
    gold.to_csv(settings.gold_dir / "from_data.csv", index=False)
    known = sum(task.label_for(str(label)) is not None for label in gold["label"])
    return known, len(gold) - known


# --------------------------------------------------------------------------- running
def _run(
    job: Any, instance: Any, partition_key: str | None = None, optional: bool = False, gated: bool = False
) -> bool:
    """Run a job here; a failure stops the demo unless ``optional`` (then it is reported).

    ``gated``: the job trains a candidate behind the promotion gates. Gates that keep it out are a
    decision, not a failure: reported with their reasons (Dagster's own ERROR log of the blocked
    step is silenced), the champion keeps serving and the demo goes on.
    """
    level = "CRITICAL" if gated else "WARNING"
    quiet = {"loggers": {"console": {"config": {"log_level": level}}}}
    result = job.execute_in_process(
        run_config=quiet, instance=instance, partition_key=partition_key, raise_on_error=False
    )
    refusals = _gate_refusals(result) if gated and not result.success else []
    if refusals:
        kept = "; ".join(refusals)
        console.print(f"  [yellow]candidate not promoted[/], the champion keeps serving: {kept}")
        return True
    if not result.success:
        detail = _failure_reason(result)
        message = f"run {result.run_id} of {job.name} ({partition_key or 'unpartitioned'}) failed: {detail}"
        if not optional:
            raise SystemExit(message)
        console.print(f"  [yellow]skipped:[/] {message.splitlines()[0][:300]}")
    return bool(result.success)


def _gate_refusals(result: Any) -> list[str]:
    """``"check: reason"`` of each failed blocking check, when those checks are all that failed."""
    failures = [e for e in result.all_events if e.is_step_failure]
    errors = [e.step_failure_data.error for e in failures]
    if not failures or any(err is None or err.cls_name != "DagsterAssetCheckFailedError" for err in errors):
        return []
    evaluations = [
        e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    return [f"{ev.check_name}: {ev.description or 'failed'}" for ev in evaluations if not ev.passed]


def _failure_reason(result: Any) -> str:
    """The first failed step's own error (a ``Failure``'s description, or the exception's message)."""
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return f"{event.step_key}: {data.user_failure_data.description}"
        error = data.error
        # Dagster's wrappers (a retry request, "error occurred while executing op") hide the cause
        while error is not None and error.cause is not None and (
            "RetryRequested" in error.cls_name or error.cls_name == "DagsterExecutionStepExecutionError"
        ):
            error = error.cause
        if error is not None:
            message = error.message.strip()  # usually "ValueError: ..." already
            head, sep, rest = message.partition(f"{error.cls_name}: ")
            if sep and (not head or head.endswith(".")) and " " not in head:  # "pkg.mod.Error: ..."
                message = f"{error.cls_name}: {rest}"
            if not message.startswith(f"{error.cls_name}:"):
                message = f"{error.cls_name}: {message}"
            return f"{event.step_key}: {message}"
    failures = [e for e in result.all_events if e.is_failure]
    return failures[0].message if failures else "see the run in the Dagster UI"


def _metadata(instance: Any, asset: str, partition: str | None = None) -> dict[str, Any]:
    from dagster import AssetKey

    if partition is None:
        event = instance.get_latest_materialization_event(AssetKey(asset))
        mat = event.asset_materialization if event else None
    else:
        records = instance.fetch_materializations(AssetKey(asset), limit=50).records
        mat = next(
            (r.asset_materialization for r in records if r.asset_materialization.partition == partition), None
        )
    if mat is None:
        return {}
    return {k: getattr(v, "value", v) for k, v in mat.metadata.items()}


def _check_task(spec: str) -> None:
    """Refuse a task that does not load (a user's task file with a syntax error, a missing name)
    before anything runs, with its own error, rather than as a failed step of the first run."""
    from beambell_assets.labeling.task import load_task

    try:
        load_task(spec)
    except Exception as exc:  # any error of the user's module is the message
        raise SystemExit(f"task {spec!r} does not load: {type(exc).__name__}: {exc}") from exc


def cmd_demo(args: argparse.Namespace) -> int:
    settings = load_settings(args.home)
    _check_task(settings.task_spec)
    if args.fresh and settings.home.exists():
        shutil.rmtree(settings.home)
    if args.map and not args.data:
        raise SystemExit("--map goes with --data")
    settings.ensure_dirs()
    if args.data:
        _land_user_data(settings, Path(args.data).expanduser().absolute(), args.map or "")
    else:
        if settings.mapping_file.exists():
            settings.mapping_file.unlink()
        _land_sample(settings, args.batches, args.pages_per_batch, args.seed)
    settings = load_settings(settings.home)  # picks up the remembered column mapping
    _prepare_environment(settings)

    from dagster import DagsterInstance

    from beambell_assets.definitions import INGEST_JOB, PREDICT_JOB, TRAIN_JOB, build_definitions
    from beambell_assets.defs.assets.domains import DOMAINS_JOB, ORG_PREDICT_JOB, ORG_TRAIN_JOB
    from beambell_assets.defs.assets.partitions import landing_partitions
    from beambell_assets.ingest.contract import landing_files

    defs = build_definitions(settings)
    keys = sorted(landing_files(settings.landing_dir))
    if not keys:
        raise SystemExit(f"no batch files in {settings.landing_dir}")
    with DagsterInstance.get() as instance:
        known = set(instance.get_dynamic_partitions(landing_partitions.name))
        instance.add_dynamic_partitions(landing_partitions.name, [k for k in keys if k not in known])
        console.print(
            f"[bold]beambell demo[/] home={settings.home}  batches={len(keys)}  task={settings.task_spec}"
        )
        for key in keys:
            console.print(f"  ingest + label  {key}")
            _run(defs.resolve_job_def(INGEST_JOB), instance, key)
        if args.data and "label=" in (args.map or ""):
            n, unknown = _gold_from_labeled_batches(settings, keys)
            console.print(f"  {n} labels that came with the data -> gold (evaluation only)")
            if unknown:
                console.print(
                    f"  [yellow]{unknown} labels outside the task's label space[/]: kept, with the "
                    "reason, in the warehouse table rejected_gold_labels (not used)"
                )
        console.print("  train + promote")
        _run(defs.resolve_job_def(TRAIN_JOB), instance, gated=True)
        for key in keys:
            console.print(f"  predict         {key}")
            _run(defs.resolve_job_def(PREDICT_JOB), instance, key)
        for key in keys:
            console.print(f"  domains + orgs  {key}")
            _run(defs.resolve_job_def(DOMAINS_JOB), instance, key)
        # The organisation-type task needs pages whose organisation an LF recognises; data without
        # real sites (e.g. synthetic urls) has none, and the page results above still stand.
        console.print("  train + promote organisation type")
        if _run(defs.resolve_job_def(ORG_TRAIN_JOB), instance, optional=True, gated=True):
            for key in keys:
                _run(defs.resolve_job_def(ORG_PREDICT_JOB), instance, key, optional=True)
        _print_summary(instance, settings, keys)
    return 0


def _print_summary(instance: Any, settings: Settings, keys: list[str]) -> None:
    from beambell_assets.storage.warehouse import Warehouse

    wh = Warehouse(settings.warehouse_url)
    ingest = Table(title="Pages per batch")
    for col in ("batch", "rows read", "accepted", "quarantined"):
        ingest.add_column(col, justify="right" if col != "batch" else "left")
    for key in keys:
        m = _metadata(instance, "raw_pages", key)
        ingest.add_row(key, str(m.get("rows_read")), str(m.get("accepted")), str(m.get("quarantined")))
    console.print(ingest)
    reasons = wh.read("SELECT reason, COUNT(*) AS n FROM quarantine GROUP BY reason ORDER BY n DESC")
    if len(reasons):
        console.print("Quarantine by reason: " + ", ".join(f"{r.reason}={r.n}" for r in reasons.itertuples()))

    _print_lf_summary(instance, wh, settings, keys)

    lm = _metadata(instance, "label_model")
    console.print(
        f"\n[bold]Label model vs majority vote[/] (gold rows: {lm.get('gold_rows')}, "
        f"coverage {_fmt(lm.get('coverage'))}):"
    )
    console.print(str(lm.get("label_model_vs_majority_vote", "")), markup=False, highlight=False)

    clf = _metadata(instance, "classifier")
    dep = _metadata(instance, "deployed_model")
    console.print(
        f"\n[bold]Classifier[/] {clf.get('model_version')}: trained on {clf.get('n_train')} weak labels; "
        f"on {clf.get('n_gold_eval')} held-out gold pages accuracy={_fmt(clf.get('accuracy_on_gold'))} "
        f"macro-F1={_fmt(clf.get('macro_f1_on_gold'))}"
    )
    console.print(f"[bold]Deployed model[/]: {dep.get('champion')} ({dep.get('decision')})")
    from beambell_assets.labeling.task import load_task

    n_pred = wh.scalar(
        "SELECT COUNT(*) FROM predictions WHERE task = :t", {"t": load_task(settings.task_spec).name}
    )
    console.print(f"[bold]Predictions[/]: {n_pred} page rows in the warehouse ({settings.warehouse_url})")
    n_sites = wh.scalar("SELECT COUNT(*) FROM domain_profiles")
    n_orgs = wh.scalar("SELECT COUNT(*) FROM organisations")
    console.print(
        f"[bold]Domains and organisations[/]: {n_sites} site profiles, {n_orgs} organisations "
        "(query the site_directory view)"
    )
    console.print(
        "\nOpen the UI:  ./dev.sh ui   (then http://127.0.0.1:3000 — same home, same runs)\n"
        f"  or: BEAMBELL_HOME={settings.home} DAGSTER_HOME={settings.dagster_home} "
        "dagster dev -w workspace.yaml"
    )
    wh.dispose()


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _print_lf_summary(instance: Any, wh: Any, settings: Settings, keys: list[str], top: int = 12) -> None:
    """The busiest LFs over all batches; the full table (with conflicts, gold accuracy) is in the UI."""
    from beambell_assets.labeling.task import load_task

    task = load_task(settings.task_spec)
    stats = wh.read(
        "SELECT lf_name, SUM(n_votes) AS votes, SUM(n_rows) AS rows_, SUM(n_errors) AS errors "
        "FROM lf_stats WHERE task = :t GROUP BY lf_name",
        {"t": task.name},
    )
    if stats.empty:
        return
    stats["coverage"] = stats["votes"] / stats["rows_"].clip(lower=1)
    label_of = {lf.name: getattr(lf, "label", None) for lf in task.lfs}
    stats = stats.sort_values("coverage", ascending=False)
    meta = _metadata(instance, "lf_votes", keys[-1])
    table = Table(
        title=f"LF summary: {len(stats)} LFs over {len(keys)} batches "  # the stateful LFs included
        f"(last batch: coverage {_fmt(meta.get('coverage'))}, {meta.get('rows_per_second')} rows/s)"
    )
    for col in ("LF", "votes for", "coverage", "errors"):
        table.add_column(col, justify="left" if col in ("LF", "votes for") else "right")
    for row in stats.head(top).itertuples():
        label = label_of.get(row.lf_name)
        table.add_row(
            row.lf_name,
            task.label_names[label] if label is not None else "(several)",
            f"{row.coverage:.3f}",
            str(int(row.errors)),
        )
    console.print(table)
    silent = int((stats["votes"] == 0).sum())
    more = f"… {len(stats) - top} more LFs, " if len(stats) > top else ""
    console.print(f"{more}{silent} of {len(stats)} silent on this data: see lf_votes in the UI")


def cmd_status(args: argparse.Namespace) -> int:
    registry = _registry(args)
    wh = registry.wh
    table = Table(title=f"beambell status — {load_settings(args.home).home}")
    table.add_column("what")
    table.add_column("value", justify="right")
    for name in ("pages", "quarantine"):
        table.add_row(name, str(wh.count(name)))
    for name in ("gold_labels", "predictions"):  # per task: the organisation-type task writes here too
        per_task = wh.read(f"SELECT task, COUNT(*) AS n FROM {name} GROUP BY task ORDER BY task")
        counts = dict(zip(per_task["task"], per_task["n"], strict=True))
        table.add_row(f"{name} ({registry.task})", str(int(counts.pop(registry.task, 0))))
        for other, n in counts.items():
            table.add_row(f"{name} ({other})", str(int(n)))
    champion = registry.champion()
    table.add_row(f"champion ({registry.task})", champion.version if champion else "none")
    if champion:
        f1 = champion.metrics.get("macro_f1")
        table.add_row("champion macro-F1 on gold", f"{f1:.3f}" if isinstance(f1, int | float) else "n/a")
    console.print(table)
    wh.dispose()
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    """Re-materialize landed history, through the daemon (default) or in this process."""
    settings = load_settings(args.home)
    _prepare_environment(settings)

    from dagster import DagsterInstance

    from beambell_assets.definitions import BACKFILL_SELECTIONS, build_definitions
    from beambell_assets.defs.automation.backfill import (
        check_partitions,
        run_backfill_in_process,
        submit_backfill,
        wait_for_backfill,
    )

    defs = build_definitions(settings)
    partitions = [p.strip() for p in args.partitions.split(",") if p.strip()] if args.partitions else None
    with DagsterInstance.get() as instance:
        try:
            check_partitions(instance, partitions)
        except ValueError as exc:
            return _refuse(str(exc))
        if args.in_process:
            results = run_backfill_in_process(defs, instance, args.job, partitions)
            failed = [r.run_id for r in results if not r.success]
            console.print(f"{len(results)} run(s), {len(failed)} failed {' '.join(failed)}")
            return 1 if failed else 0
        backfill_id = submit_backfill(defs, instance, BACKFILL_SELECTIONS[args.job], partitions)
        console.print(
            f"backfill {backfill_id} submitted ({len(partitions) if partitions else 'all'} partition(s) of "
            f"{args.job}); the daemon runs it — see Overview → Backfills in the UI"
        )
        if args.wait:
            done = wait_for_backfill(instance, backfill_id, args.timeout)
            console.print(f"backfill {backfill_id}: {done.status.value}")
            return 0 if done.status.value == "COMPLETED_SUCCESS" else 1
    return 0


def _registry(args: argparse.Namespace) -> Any:
    from beambell_assets.labeling.task import load_task
    from beambell_assets.serving.registry import ModelRegistry
    from beambell_assets.storage.warehouse import Warehouse

    settings = load_settings(args.home)
    wh = Warehouse(settings.warehouse_url)
    wh.migrate()
    return ModelRegistry(wh, load_task(settings.task_spec).name)


def cmd_promote(args: argparse.Namespace) -> int:
    from beambell_assets.serving.registry import RegistryError

    try:
        record = _registry(args).promote(
            args.version, actor=f"cli:{os.environ.get('USER', 'unknown')}", reason=args.reason
        )
    except RegistryError as exc:
        return _refuse(str(exc))
    console.print(f"champion is now {record.version}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from beambell_assets.serving.registry import RegistryError

    try:
        actor = f"cli:{os.environ.get('USER', 'unknown')}"
        record = _registry(args).rollback(actor=actor, reason=args.reason)
    except RegistryError as exc:
        return _refuse(str(exc))
    console.print(f"rolled back: champion is now {record.version}")
    return 0


# --------------------------------------------------------------------------- the stream
def cmd_stream(args: argparse.Namespace) -> int:
    """Run the streaming pipeline here until ``beambell stream stop`` (or Ctrl-C / SIGTERM)."""
    import logging
    import signal
    import time

    from beambell_assets.streaming.pipeline import job_from_settings, request_stop, run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(args.home).ensure_dirs()
    job = job_from_settings(settings, consumer=args.consumer)

    def _stop(signum: int, _frame: Any) -> None:
        console.print(f"stream: signal {signum}, stopping after the current bundle")
        request_stop(job)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    console.print(
        f"stream: task {job.task_name}, reading {job.names.pages} + {job.names.feedback} "
        f"on {settings.stream.redis_url} as {job.consumer} ({settings.stream.runner})"
    )
    failures = 0
    while True:
        try:
            run(job)
            console.print("stream: stopped")
            return 0
        except Exception as exc:  # a crashed pipeline restarts from its checkpoint; Ctrl-C twice exits
            failures += 1
            delay = min(60.0, 2.0**failures)
            console.print(
                f"stream: pipeline failed ({type(exc).__name__}: {exc}); restarting in {delay:.0f} s"
            )
            time.sleep(delay)


def cmd_stream_send(args: argparse.Namespace) -> int:
    import time

    import redis

    from beambell_assets.streaming.messages import file_payloads, sample_payloads, send
    from beambell_assets.streaming.pipeline import job_from_settings

    job = job_from_settings(load_settings(args.home))
    if args.file:
        try:  # read it whole first: a file that cannot be read sends nothing
            payloads = list(file_payloads(args.file))
        except (OSError, EOFError, ValueError, csv.Error) as exc:  # missing, unsupported, corrupt
            return _refuse(f"{args.file}: {type(exc).__name__}: {exc}")
        what = args.file
    else:
        seed = args.seed if args.seed is not None else int(time.time())
        payloads = sample_payloads(args.pages, seed=seed)
        what = f"{len(payloads)} sample pages (seed {seed})"
    client = redis.Redis.from_url(job.stream.redis_url)
    sent = 0
    rate = args.rate
    t0 = time.perf_counter()
    try:
        for start in range(0, len(payloads), 100 if rate else 1000):
            part = payloads[start : start + (100 if rate else 1000)]
            sent += len(send(client, job.names.pages, part))
            if rate:  # paced: sleep until this many pages are due
                time.sleep(max(0.0, sent / rate - (time.perf_counter() - t0)))
    except redis.exceptions.ConnectionError as exc:
        return _refuse(
            f"Redis at {job.stream.redis_url} is not reachable ({exc}); sent {sent} of "
            f"{len(payloads)} messages before that"
        )
    console.print(f"sent {sent} messages ({what}) to {job.names.pages}")
    return 0


def cmd_stream_status(args: argparse.Namespace) -> int:
    import json

    from beambell_assets.labeling.task import load_task
    from beambell_assets.streaming.status import stream_status

    settings = load_settings(args.home)
    status = stream_status(settings.stream, load_task(settings.task_spec).name)
    if args.json:
        console.print_json(json.dumps(status.as_dict(), default=str))
        return 0
    s = status.summary
    table = Table(title=f"beambell stream — {status.names.pages}")
    table.add_column("what")
    table.add_column("value", justify="right")
    running = status.running(settings.stream.down_after_s)
    rows = [
        ("running", "yes" if running else "no"),
        ("heartbeat age (s)", "-" if status.heartbeat_age_s is None else f"{status.heartbeat_age_s:.1f}"),
        ("lag (not yet read)", str(status.pages_lag.get("lag"))),
        ("pending (read, not committed)", str(status.pages_lag.get("pending"))),
        ("feedback lag", str(status.feedback_lag.get("lag"))),
        ("pages/s (last 10 s)", str(status.fields.get("pages_per_s_10s", "-"))),
        (
            "latency p50 / p95 / p99 (s)",
            " / ".join(str(status.fields.get(f"latency_{q}_s", "-")) for q in ("p50", "p95", "p99")),
        ),
        ("pages predicted", str(s.get("pages", 0))),
        ("predictions by predictor", json.dumps(s.get("predictors", {}))),
        ("champion", str(s.get("champion"))),
        (
            "label model",
            f"{s.get('label_model', {}).get('method')} {s.get('label_model', {}).get('version')}",
        ),
        ("refits (triplet / Snorkel)", f"{s.get('triplet_fits', 0)} / {s.get('snorkel_fits', 0)}"),
        ("last refit", json.dumps(s.get("last_refit", {}))),
        ("last Snorkel fit", json.dumps(s.get("last_snorkel", {}))),
        ("Snorkel fit running", json.dumps(s.get("snorkel_pending"))),
        ("online model", json.dumps(s.get("online_model", {}))),
        ("stateful-LF version", str(s.get("lf_state_version"))),
        ("gold seen (train / eval)", f"{s.get('gold_train', 0)} / {s.get('gold_eval', 0)}"),
        ("quality on eval gold", json.dumps(s.get("prequential", {}))),
        ("checkpoint", f"v{s.get('checkpoint_version', 0)} at {s.get('checkpoint_pages', 0)} pages"),
    ]
    for what, value in rows:
        table.add_row(what, value)
    console.print(table)
    for problem in status.problems(settings.stream.down_after_s, settings.stream.max_lag):
        console.print(f"[red]problem:[/red] {problem}")
    return 0


def cmd_stream_stop(args: argparse.Namespace) -> int:
    from beambell_assets.streaming.pipeline import job_from_settings, request_stop

    job = job_from_settings(load_settings(args.home))
    request_stop(job)
    console.print(f"asked the stream on {job.names.pages} to stop")
    return 0


def cmd_stream_requeue(args: argparse.Namespace) -> int:
    import redis

    from beambell_assets.storage.warehouse import Warehouse
    from beambell_assets.streaming.pipeline import job_from_settings
    from beambell_assets.streaming.requeue import requeue_quarantined

    job = job_from_settings(load_settings(args.home))
    wh = Warehouse(job.warehouse_url)
    wh.migrate()
    try:
        client = redis.Redis.from_url(job.stream.redis_url)
        result = requeue_quarantined(client, wh, job.names.pages, args.reason)
    except redis.exceptions.ConnectionError as exc:
        return _refuse(f"Redis at {job.stream.redis_url} is not reachable ({exc})")
    finally:
        wh.dispose()
    console.print(
        f"requeued {len(result.requeued)} '{args.reason}' page(s) on {job.names.pages}"
        + (f"; {len(result.missing)} no longer in the stream (kept in quarantine)" if result.missing else "")
    )
    return 0


def add_stream_commands(sub: Any) -> None:
    stream = sub.add_parser(
        "stream", help="the real-time path: run the streaming pipeline (default), send, status"
    )
    stream.add_argument("--consumer", help="consumer name in the group (default: host-pid)")
    stream.set_defaults(func=cmd_stream)
    commands = stream.add_subparsers(dest="stream_command")
    run = commands.add_parser("run", help="run the streaming pipeline (the default)")
    run.add_argument("--consumer", help="consumer name in the group (default: host-pid)")
    run.set_defaults(func=cmd_stream)
    send = commands.add_parser("send", help="send a landing-format FILE, or the project's sample pages")
    send.add_argument("file", nargs="?", help="CSV / JSONL / Parquet (default: sample pages)")
    send.add_argument("--pages", type=_positive(int), default=150, help="sample pages to send (default 150)")
    send.add_argument("--seed", type=int, help="sample seed (default: the time, so pages are new)")
    send.add_argument("--rate", type=_positive(float), help="pages per second (default: as fast as possible)")
    send.set_defaults(func=cmd_stream_send)
    status = commands.add_parser("status", help="lag, pages/s, latency, model versions, last refit")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_stream_status)
    stop = commands.add_parser("stop", help="ask the running pipeline to stop")
    stop.set_defaults(func=cmd_stream_stop)
    requeue = commands.add_parser(
        "requeue", help="send quarantined stream pages again (after fixing the task), then drop their rows"
    )
    requeue.add_argument(
        "--reason", default="processing_failed", help="quarantine reason (default: %(default)s)"
    )
    requeue.set_defaults(func=cmd_stream_requeue)


# --------------------------------------------------------------------------- Label Studio


def add_label_studio_commands(sub: argparse._SubParsersAction) -> None:
    """``beambell label-studio-export`` and ``beambell label-studio-import``."""
    exp = sub.add_parser(
        "label-studio-export", help="queued pages as Label Studio tasks: a JSON file, and the server if set"
    )
    exp.add_argument("--partition", action="append", help="partition key(s); default: every queued one")
    exp.add_argument(
        "--out", type=Path, default=None, help="JSON file (default <home>/label_studio_tasks.json)"
    )
    exp.add_argument("--no-server", action="store_true", help="only write the file")
    exp.set_defaults(func=cmd_label_studio_export)
    imp = sub.add_parser("label-studio-import", help="load a Label Studio JSON export file into gold_labels")
    imp.add_argument("path", type=Path, help="the file from Label Studio's Export -> JSON")
    imp.set_defaults(func=cmd_label_studio_import)


def cmd_label_studio_export(args: argparse.Namespace) -> int:
    import pandas as pd

    from beambell_assets.defs.resources import LabelStudioResource
    from beambell_assets.feedback.label_studio import build_tasks, export_to_label_studio, write_tasks_json
    from beambell_assets.labeling.task import load_task
    from beambell_assets.storage.artifacts import ArtifactStore

    settings = load_settings()
    task = load_task(settings.task_spec)
    store = ArtifactStore(settings.artifacts_dir)
    keys = args.partition or store.frame_keys("annotation_queue")
    if not keys:
        print("nothing queued yet: materialize annotation_queue first")
        return 1
    picks = pd.concat([store.read_frame("annotation_queue", k) for k in keys], ignore_index=True)
    tasks = build_tasks(picks.sort_values("score", ascending=False))
    out = write_tasks_json(tasks, args.out or settings.home / "label_studio_tasks.json")
    print(f"{len(tasks)} tasks from {len(keys)} partition(s) -> {out}")
    resource = LabelStudioResource.from_settings(settings.label_studio)
    if not args.no_server and resource.configured:
        import httpx
        from label_studio_sdk.core.api_error import ApiError

        try:
            client = resource.client()
            result = export_to_label_studio(client, resource.project(client, task), tasks)
        except (httpx.HTTPError, ApiError) as exc:  # unreachable server, bad token, refused request
            return _refuse(
                f"Label Studio at {settings.label_studio.url} refused or did not answer "
                f"({type(exc).__name__}: {str(exc)[:300]}); the tasks are in {out} for a manual import"
            )
        print(
            f"Label Studio project {result.project_id}: {result.imported} imported, "
            f"{result.skipped_existing} already there"
        )
    return 0


def cmd_label_studio_import(args: argparse.Namespace) -> int:
    from beambell_assets.feedback.gold_sync import import_label_studio_export_file
    from beambell_assets.feedback.label_studio import LabelStudioExportError
    from beambell_assets.labeling.task import load_task
    from beambell_assets.storage.warehouse import Warehouse

    settings = load_settings()
    wh = Warehouse(settings.warehouse_url)
    wh.migrate()
    try:
        counts, rejected = import_label_studio_export_file(args.path, load_task(settings.task_spec), wh)
    except (LabelStudioExportError, FileNotFoundError, IsADirectoryError) as exc:
        return _refuse(str(exc))
    print(", ".join(f"{k} {v}" for k, v in counts.items()))
    for reason, n in rejected["reason"].value_counts().items():
        print(f"  rejected {n}: {reason}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="beambell", description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="beambell home folder (default: $BEAMBELL_HOME or ./.beambell)")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="land sample (or --data) batches and materialize the whole graph")
    demo.add_argument("--data", help="your own CSV / JSONL / Parquet file instead of the sample scrape")
    demo.add_argument(
        "--map",
        help="column mapping for --data, e.g. url=website_url,text=cleaned_website_text,"
        "label=Category (label -> gold, used for evaluation only)",
    )
    demo.add_argument("--batches", type=int, default=4, help="sample batches to generate (default 4)")
    demo.add_argument("--pages-per-batch", type=int, default=150)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--fresh", action="store_true", help="delete the home folder first")
    demo.set_defaults(func=cmd_demo)

    backfill = sub.add_parser("backfill", help="re-materialize landed partitions (history) in chunks")
    backfill.add_argument("--partitions", help="comma-separated partition keys (default: all landed)")
    backfill.add_argument(
        "--job",
        default="ingest_and_label",
        choices=["ingest_and_label", "process_batch", "predict"],
        help="which part of the graph to re-run (default ingest_and_label)",
    )
    backfill.add_argument(
        "--in-process", action="store_true", help="run here instead of submitting to the daemon"
    )
    backfill.add_argument("--wait", action="store_true", help="wait for the daemon to finish the backfill")
    backfill.add_argument("--timeout", type=float, default=1800.0, help="seconds to --wait (default 1800)")
    backfill.set_defaults(func=cmd_backfill)

    add_label_studio_commands(sub)

    status = sub.add_parser("status", help="counts in the warehouse and the current champion")
    status.set_defaults(func=cmd_status)

    promote = sub.add_parser("promote", help="make a registered model version the champion")
    promote.add_argument("version")
    promote.add_argument("--reason", default="manual promotion")
    promote.set_defaults(func=cmd_promote)

    rollback = sub.add_parser("rollback", help="restore the previous champion")
    rollback.add_argument("--reason", default="manual rollback")
    rollback.set_defaults(func=cmd_rollback)

    add_stream_commands(sub)

    from beambell_assets.serving.server import add_serve_parser

    add_serve_parser(sub)
    return parser


def _setup_error(exc: BaseException) -> str | None:
    """A one-line message for an error of the set-up rather than of beambell (an unreachable or
    malformed warehouse URL, a missing file), else ``None``."""
    import sqlalchemy.exc

    from beambell_assets.settings import SettingsError

    if isinstance(exc, SettingsError):
        return str(exc)
    if isinstance(exc, sqlalchemy.exc.OperationalError):
        first = str(exc.orig or exc).strip().splitlines()[0]
        return f"the warehouse is not reachable ({first}); check BEAMBELL_WAREHOUSE_URL"
    if isinstance(exc, sqlalchemy.exc.ArgumentError):
        return f"BEAMBELL_WAREHOUSE_URL is not a SQLAlchemy URL, e.g. sqlite:////path/warehouse.db ({exc})"
    if isinstance(exc, FileNotFoundError):
        return str(exc)
    return None


def _not_about_bigquery(record: Any) -> bool:
    """Apache Beam warns on import that its Google Cloud BigQuery client is missing: beambell never
    uses it, and the warning on every ``stream`` command read like a broken install."""
    return "bigquery client libraries are not available" not in record.getMessage()


def main(argv: list[str] | None = None) -> int:
    import logging

    logging.getLogger().addFilter(_not_about_bigquery)
    args = build_parser().parse_args(argv)
    if args.home:
        os.environ["BEAMBELL_HOME"] = str(Path(args.home).expanduser().resolve())
    try:
        return int(args.func(args) or 0)
    except Exception as exc:
        message = None if os.environ.get("BEAMBELL_DEBUG") else _setup_error(exc)
        if message is None:
            raise
        return _refuse(f"{message} (BEAMBELL_DEBUG=1 shows the traceback)")


if __name__ == "__main__":
    sys.exit(main())
