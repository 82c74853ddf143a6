"""Beam pipeline options built from resource config, and the compute resource's validation."""

from __future__ import annotations

import pandas as pd
import pytest

from beambell_assets.beam.options import beam_args, describe, pipeline_options
from beambell_assets.defs.resources import ComputeResource
from beambell_assets.labeling.applier import FastLFApplier
from beambell_assets.labeling.tasks.web_content import TASK


def test_direct_runner_defaults_to_two_worker_processes() -> None:
    args = beam_args()
    assert args == [
        "--runner=DirectRunner",
        "--direct_num_workers=2",
        "--direct_running_mode=multi_processing",
    ]
    opts = pipeline_options().get_all_options()
    assert opts["runner"] == "DirectRunner"
    assert opts["direct_num_workers"] == 2
    assert opts["direct_running_mode"] == "multi_processing"


def test_extra_args_pass_through_and_win() -> None:
    args = beam_args(
        "DirectRunner", 2, "multi_processing", ["--direct_num_workers=4", "--pickle_library=cloudpickle"]
    )
    assert "--direct_num_workers=2" not in args
    opts = pipeline_options(extra_args=["--direct_num_workers=4", "--pickle_library=cloudpickle"])
    assert opts.get_all_options()["direct_num_workers"] == 4
    assert describe(opts)["pickle_library"] == "cloudpickle"


@pytest.mark.parametrize(
    ("runner", "extra", "expected"),
    [
        (
            "FlinkRunner",
            ["--flink_master=flink:8081", "--parallelism=8", "--environment_type=LOOPBACK"],
            {"flink_master": "flink:8081", "parallelism": 8, "environment_type": "LOOPBACK"},
        ),
        (
            "SparkRunner",
            ["--spark_master_url=spark://spark:7077", "--environment_type=PROCESS"],
            {"spark_master_url": "spark://spark:7077", "environment_type": "PROCESS"},
        ),
        (
            "DataflowRunner",
            ["--project=p", "--region=europe-west1", "--temp_location=gs://b/tmp", "--max_num_workers=20"],
            {"project": "p", "region": "europe-west1", "temp_location": "gs://b/tmp", "max_num_workers": 20},
        ),
    ],
)
def test_cluster_runner_options_parse(runner: str, extra: list[str], expected: dict) -> None:
    opts = pipeline_options(runner, extra_args=extra, job_name="beambell-lf-votes").get_all_options()
    assert opts["runner"] == runner
    assert "direct_num_workers=" not in " ".join(beam_args(runner, extra_args=extra))
    for k, v in expected.items():
        assert opts[k] == v
    assert opts["job_name"] == "beambell-lf-votes"


def test_bad_configs_fail_early() -> None:
    with pytest.raises(ValueError, match="unknown Beam runner"):
        beam_args("FlinkRuner")
    with pytest.raises(ValueError, match="direct_running_mode"):
        beam_args(direct_running_mode="multi_process")
    with pytest.raises(ValueError, match="direct_num_workers"):
        beam_args(direct_num_workers=0)
    with pytest.raises(ValueError, match="beam_runner, not --runner"):
        beam_args(extra_args=["--runner=FlinkRunner"])
    with pytest.raises(ValueError, match="--project, --region, --temp_location"):
        beam_args("DataflowRunner")
    with pytest.raises(ValueError, match="compute engine 'spark'"):
        ComputeResource(engine="spark").apply_lfs(TASK.lfs, pd.DataFrame({"text": ["x"]}))


def test_compute_resource_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEAMBELL_COMPUTE_ENGINE", raising=False)
    assert ComputeResource.from_env().engine == "local"
    monkeypatch.setenv("BEAMBELL_COMPUTE_ENGINE", "beam")
    monkeypatch.setenv("BEAMBELL_BEAM_OPTIONS", "--direct_num_workers=3 --pickle_library=cloudpickle")
    res = ComputeResource.from_env()
    assert res.engine == "beam" and res.beam_options == [
        "--direct_num_workers=3",
        "--pickle_library=cloudpickle",
    ]
    assert res.pipeline_options().get_all_options()["direct_num_workers"] == 3


def test_local_engine_is_the_fast_applier() -> None:
    df = pd.DataFrame(
        {"text": ["cheap hotel rooms and flights", "a recipe with flour", ""], "url": ["", "", ""]}
    )
    L, report = ComputeResource(engine="local").apply_lfs(TASK.lfs, df)
    L0, _ = FastLFApplier(TASK.lfs).apply(df)
    assert (L == L0).all() and report.n_rows == 3
