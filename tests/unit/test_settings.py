"""One configuration path: the environment is read into ``Settings``, and resources are built from it."""

from __future__ import annotations

import pytest

from beambell_assets.defs.resources import ComputeResource, LabelStudioResource
from beambell_assets.settings import load_settings


def test_label_studio_and_compute_come_from_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("BEAMBELL_LABEL_STUDIO_URL", "http://ls.example:8080")
    monkeypatch.setenv("BEAMBELL_LABEL_STUDIO_TOKEN", "tok")
    monkeypatch.setenv("BEAMBELL_LABEL_STUDIO_PROJECT_ID", "7")
    monkeypatch.setenv("BEAMBELL_LABEL_STUDIO_INTERVAL_S", "15")
    monkeypatch.setenv("BEAMBELL_COMPUTE_ENGINE", "beam")
    monkeypatch.setenv("BEAMBELL_BEAM_OPTIONS", "--direct_num_workers=1 --foo=bar")
    monkeypatch.setenv("BEAMBELL_CLASSIFIER", "hashed-sgd")
    s = load_settings(tmp_path)
    assert (s.label_studio.url, s.label_studio.project_id, s.label_studio.interval_s) == (
        "http://ls.example:8080",
        7,
        15,
    )
    ls = LabelStudioResource.from_settings(s.label_studio)
    assert ls.configured and ls.api_key == "tok" and ls.project_id == 7
    compute = ComputeResource.from_settings(s.compute)
    assert compute.engine == "beam" and compute.classifier == "hashed-sgd"
    assert compute.beam_options == ["--direct_num_workers=1", "--foo=bar"]


def test_defaults_without_environment(monkeypatch, tmp_path) -> None:
    for name in ("URL", "TOKEN", "PROJECT_ID", "PROJECT_TITLE", "INTERVAL_S"):
        monkeypatch.delenv(f"BEAMBELL_LABEL_STUDIO_{name}", raising=False)
    for name in ("COMPUTE_ENGINE", "BEAM_OPTIONS", "CLASSIFIER", "BEAM_RUNNER"):
        monkeypatch.delenv(f"BEAMBELL_{name}", raising=False)
    s = load_settings(tmp_path)
    assert not LabelStudioResource.from_settings(s.label_studio).configured
    assert s.label_studio.interval_s == 60
    compute = ComputeResource.from_settings(s.compute)
    assert compute.engine == "local" and compute.classifier == "tfidf-lbfgs"
    assert compute.beam_runner == "DirectRunner"


def test_a_bad_number_in_the_environment_is_a_clear_error(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("BEAMBELL_LABEL_STUDIO_INTERVAL_S", "soon")
    with pytest.raises(ValueError, match="BEAMBELL_LABEL_STUDIO_INTERVAL_S='soon' is not a number"):
        load_settings(tmp_path)


def test_the_executor_and_celerys_urls_come_from_settings(monkeypatch, tmp_path) -> None:
    from beambell_assets.defs.executors import executor_for

    monkeypatch.setenv("BEAMBELL_EXECUTOR", " MultiProcess ")
    monkeypatch.setenv("BEAMBELL_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
    monkeypatch.delenv("BEAMBELL_CELERY_BACKEND", raising=False)
    s = load_settings(tmp_path)
    assert s.executor.name == "multiprocess" and executor_for(s.executor).name == "multiprocess"
    assert s.executor.result_backend == "rpc://"  # AMQP has no result store: celery's RPC backend
    monkeypatch.setenv("BEAMBELL_EXECUTOR", "threads")
    with pytest.raises(ValueError, match="BEAMBELL_EXECUTOR='threads': expected one of"):
        load_settings(tmp_path)


def test_the_end_model_comes_from_settings_through_the_compute_resource(monkeypatch, tmp_path) -> None:
    """``Settings.end_model`` reaches the classifier asset through the compute resource (visible in
    the launchpad), and the resource wins over whatever the environment says when the asset runs."""
    import dataclasses

    from beambell_assets.defs.resources import build_resources
    from beambell_assets.settings import EndModelSettings

    monkeypatch.setenv("BEAMBELL_END_MODEL", "char")
    monkeypatch.setenv("BEAMBELL_END_MODEL_COMBINE", "best")
    monkeypatch.setenv("BEAMBELL_END_MODEL_FOLDS", "4")
    s = load_settings(tmp_path)
    assert s.end_model == EndModelSettings(spec="char", combine="best", cv_folds=4)
    em = build_resources(s)["compute"].end_model_settings()
    assert (em.spec, em.combine, em.cv_folds, em.cv_max_rows) == ("char", "best", 4, 2000)

    fixed = dataclasses.replace(s, end_model=EndModelSettings(spec="fixed"))
    assert build_resources(fixed)["compute"].end_model_settings().spec == "fixed"
    assert ComputeResource().end_model_settings().spec == ""  # the task's own end_model
