"""The ``beambell`` command's own behaviour: set-up errors as one line, not tracebacks."""

from __future__ import annotations

import pytest


def test_commands_report_set_up_errors_in_one_line(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unreachable or malformed warehouse URL, a missing task file: what to fix, not a traceback
    (``BEAMBELL_DEBUG=1`` brings the traceback back)."""
    from sqlalchemy.exc import OperationalError

    from beambell_assets.cli import main

    monkeypatch.setenv("BEAMBELL_HOME", str(tmp_path / "home"))  # main sets it too; restored after
    monkeypatch.delenv("BEAMBELL_TASK", raising=False)
    home = ["--home", str(tmp_path / "home")]
    monkeypatch.setattr("beambell_assets.storage.warehouse.time.sleep", lambda s: None)  # no 15 s of retries
    monkeypatch.setenv("BEAMBELL_WAREHOUSE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert main([*home, "status"]) == 2
    assert "the warehouse is not reachable (connection failed" in capsys.readouterr().err
    monkeypatch.setenv("BEAMBELL_DEBUG", "1")
    with pytest.raises(OperationalError):
        main([*home, "status"])
    monkeypatch.delenv("BEAMBELL_DEBUG")
    monkeypatch.setenv("BEAMBELL_WAREHOUSE_URL", "not a url")
    assert main([*home, "promote", "v1"]) == 2
    assert "BEAMBELL_WAREHOUSE_URL is not a SQLAlchemy URL" in capsys.readouterr().err
    monkeypatch.delenv("BEAMBELL_WAREHOUSE_URL")
    monkeypatch.setenv("BEAMBELL_END_MODEL", "xgboost")
    assert main([*home, "status"]) == 2
    assert "error: BEAMBELL_END_MODEL='xgboost': expected one of auto," in capsys.readouterr().err
    monkeypatch.delenv("BEAMBELL_END_MODEL")
    monkeypatch.setenv("BEAMBELL_TASK", str(tmp_path / "missing_task.py"))
    assert main([*home, "status"]) == 2
    assert "task file not found" in capsys.readouterr().err


def test_label_studio_export_keeps_the_file_and_says_so_when_the_server_does_not_answer(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    from beambell_assets.cli import main
    from beambell_assets.settings import load_settings
    from beambell_assets.storage.artifacts import ArtifactStore

    monkeypatch.setenv("BEAMBELL_HOME", str(tmp_path / "home"))  # main sets it too; restored after
    monkeypatch.delenv("BEAMBELL_TASK", raising=False)
    monkeypatch.setenv("BEAMBELL_LABEL_STUDIO_URL", "http://127.0.0.1:1")  # nothing listens on port 1
    monkeypatch.setenv("BEAMBELL_LABEL_STUDIO_TOKEN", "unused")
    settings = load_settings(tmp_path / "home").ensure_dirs()
    picks = pd.DataFrame({"page_id": ["p1"], "url": ["https://a.example/"], "text": ["hi"], "score": [0.8]})
    ArtifactStore(settings.artifacts_dir).write_frame("annotation_queue", "batch-1", picks)
    assert main(["--home", str(tmp_path / "home"), "label-studio-export"]) == 2
    err = capsys.readouterr().err
    assert "Label Studio at http://127.0.0.1:1 refused or did not answer (ConnectError" in err
    assert (settings.home / "label_studio_tasks.json").is_file() and "for a manual import" in err


def test_status_counts_gold_and_predictions_per_task(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The organisation-type task writes predictions too: a single total (864 for 564 pages in the
    demo) read as if pages had been predicted twice."""
    from beambell_assets.cli import main
    from beambell_assets.settings import load_settings
    from beambell_assets.storage.warehouse import Warehouse, utcnow

    monkeypatch.setenv("BEAMBELL_HOME", str(tmp_path / "home"))  # main sets it too; restored after
    monkeypatch.delenv("BEAMBELL_TASK", raising=False)
    monkeypatch.delenv("BEAMBELL_WAREHOUSE_URL", raising=False)
    wh = Warehouse(load_settings(tmp_path / "home").ensure_dirs().warehouse_url)
    wh.migrate()
    row = {"partition_key": "b1", "url": "https://a.example/", "label": "x", "probability": 0.9}
    rows = [
        {**row, "page_id": f"p{i}", "task": t, "model_version": "v", "predicted_at": utcnow()}
        for t, n in (("web_content", 3), ("org_type", 2))
        for i in range(n)
    ]
    wh.insert("predictions", rows)
    wh.dispose()
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["--home", str(tmp_path / "home"), "status"]) == 0
    out = capsys.readouterr().out
    cells = [line.split("│") for line in out.splitlines() if line.count("│") == 3]
    lines = {c[1].strip(): c[2].strip() for c in cells}
    assert lines["predictions (web_content)"] == "3" and lines["predictions (org_type)"] == "2"
    assert lines["gold_labels (web_content)"] == "0" and lines["champion (web_content)"] == "none"
