"""Build Beam ``PipelineOptions`` from beambell's resource config.

One place turns the few fields a user sets in Dagster (runner, DirectRunner workers and mode, free
extra arguments) into Beam's command-line style options, so the same pipeline code runs on the
DirectRunner in tests and on Flink, Spark or Dataflow in production without code changes.

Runner cheat sheet (all are ordinary Beam flags, passed through ``extra_args`` / ``beam_options``):

* ``DirectRunner`` (default): ``direct_num_workers`` processes/threads, ``direct_running_mode`` in
  ``in_memory`` | ``multi_threading`` | ``multi_processing`` (separate SDK worker processes: real
  parallelism for CPU-bound LFs, and the same serialization a cluster needs).
* ``FlinkRunner``: ``--flink_master=HOST:8081`` (``[local]`` starts an embedded cluster),
  ``--parallelism=N``, ``--environment_type=DOCKER|PROCESS|LOOPBACK`` (+ ``--environment_config``),
  ``--flink_submit_uber_jar``.
* ``SparkRunner``: ``--spark_master_url=spark://HOST:7077`` (or ``local[4]``),
  ``--environment_type=...``; ``--spark_submit_uber_jar --spark_rest_url=http://HOST:6066``.
* ``DataflowRunner``: ``--project``, ``--region``, ``--temp_location=gs://...``,
  ``--staging_location``, ``--setup_file=./setup.py`` or ``--sdk_container_image`` (workers need
  beambell installed), ``--max_num_workers``; the pipelines' staging directory must then be on
  shared storage too (``gs://...``).

See ``docs/scale-out.md`` for worked command lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

RUNNERS: tuple[str, ...] = ("DirectRunner", "FlinkRunner", "SparkRunner", "DataflowRunner", "PrismRunner")
DIRECT_MODES: tuple[str, ...] = ("in_memory", "multi_threading", "multi_processing")

#: Options each remote runner cannot do without (checked early: a typo fails before a job is built).
REQUIRED_BY_RUNNER: dict[str, tuple[str, ...]] = {
    "DataflowRunner": ("project", "region", "temp_location"),
}


def _flag_names(args: Sequence[str]) -> set[str]:
    names = set()
    for a in args:
        if a.startswith("--"):
            names.add(a[2:].split("=", 1)[0])
    return names


def beam_args(
    runner: str = "DirectRunner",
    direct_num_workers: int = 2,
    direct_running_mode: str = "multi_processing",
    extra_args: Sequence[str] = (),
    job_name: str | None = None,
) -> list[str]:
    """The Beam command-line arguments for a run (explicit ``extra_args`` win over our defaults)."""
    if runner not in RUNNERS:
        raise ValueError(f"unknown Beam runner {runner!r}: expected one of {', '.join(RUNNERS)}")
    extra = [str(a) for a in extra_args]
    given = _flag_names(extra)
    if "runner" in given:
        raise ValueError("set the runner with beam_runner, not --runner in the extra options")
    args = [f"--runner={runner}"]
    if runner == "DirectRunner":
        if direct_running_mode not in DIRECT_MODES:
            raise ValueError(
                f"direct_running_mode {direct_running_mode!r}: expected one of {', '.join(DIRECT_MODES)}"
            )
        if direct_num_workers < 1:
            raise ValueError("direct_num_workers must be >= 1")
        if "direct_num_workers" not in given:
            args.append(f"--direct_num_workers={int(direct_num_workers)}")
        if "direct_running_mode" not in given:
            args.append(f"--direct_running_mode={direct_running_mode}")
    missing = [o for o in REQUIRED_BY_RUNNER.get(runner, ()) if o not in given]
    if missing:
        raise ValueError(f"{runner} needs {', '.join('--' + m for m in missing)} in the Beam options")
    if job_name and "job_name" not in given and runner != "DirectRunner":
        args.append(f"--job_name={job_name}")
    return [*args, *extra]


def pipeline_options(
    runner: str = "DirectRunner",
    direct_num_workers: int = 2,
    direct_running_mode: str = "multi_processing",
    extra_args: Sequence[str] = (),
    job_name: str | None = None,
) -> Any:
    """``apache_beam.options.pipeline_options.PipelineOptions`` for :func:`beam_args`.

    Imported lazily: apache-beam is an optional extra (``pip install beambell[beam]``).
    """
    from apache_beam.options.pipeline_options import PipelineOptions

    return PipelineOptions(beam_args(runner, direct_num_workers, direct_running_mode, extra_args, job_name))


def describe(options: Any) -> Mapping[str, Any]:
    """The options actually set (for run metadata and logs)."""
    return {k: v for k, v in options.get_all_options(drop_default=True).items() if v is not None}
