"""One configuration path: the environment is read into ``Settings``, and resources are built from it."""

from __future__ import annotations

import re

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


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BEAMBELL_LABEL_STUDIO_PROJECT_ID", "abc", "is not a number"),
        ("BEAMBELL_STREAM_CHECKPOINT_EVERY", "-1", "must be at least 1"),
        ("BEAMBELL_LANDING_SETTLE_TICKS", "1.5", "is not a whole number"),
        ("BEAMBELL_COMPUTE_ENGINE", "spark", "expected one of local, beam"),
        ("BEAMBELL_CLASSIFIER", "xgboost", "expected one of tfidf-lbfgs, hashed-sgd"),
        ("BEAMBELL_END_MODEL", "xgboost", "expected one of auto, fixed, word, char, both, encoder"),
        ("BEAMBELL_END_MODEL_COMBINE", "mean", "expected one of ensemble, best"),
        ("BEAMBELL_ENCODER_PRECISION", "int8", "expected one of auto, fp32, bf16"),
    ],
)
def test_every_setting_is_checked_when_it_is_read(
    monkeypatch, tmp_path, name: str, value: str, message: str
) -> None:
    """A typo fails at start-up naming the variable, not at the step that first uses it (a wrong
    BEAMBELL_END_MODEL used to fail the classifier after a whole ingest)."""
    from beambell_assets.settings import SettingsError

    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=f"{name}='{re.escape(value)}'.*{re.escape(message)}"):
        load_settings(tmp_path)


def test_choice_settings_are_the_values_the_code_accepts(monkeypatch, tmp_path) -> None:
    from beambell_assets.settings import END_MODEL_COMBINE, END_MODEL_SPECS
    from beambell_assets.training import end_model

    assert ("auto", "fixed", *end_model.FEATURISATIONS) == END_MODEL_SPECS
    assert END_MODEL_COMBINE == end_model.COMBINE
    monkeypatch.setenv("BEAMBELL_END_MODEL", " Fixed ")
    monkeypatch.setenv("BEAMBELL_ENCODER_PRECISION", "BF16")
    s = load_settings(tmp_path)
    assert (s.end_model.spec, s.end_model.encoder_precision) == ("fixed", "bf16")


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
