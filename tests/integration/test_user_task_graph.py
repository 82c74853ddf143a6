"""A user's own task, in a file outside the package, run through the real graph by the CLI."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.shared_data]
REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "ag_news_task.py"


def test_ag_news_task_end_to_end(tmp_path: Path, shared_data: Path) -> None:
    spec = importlib.util.spec_from_file_location("ag_news_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    landing_csv = tmp_path / "ag_news_train.csv"
    n_rows = module.to_landing_csv(str(shared_data / "ag_news_small" / "train.csv"), str(landing_csv))
    assert n_rows > 500

    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BEAMBELL_", "DAGSTER_"))}
    env["BEAMBELL_TASK"] = str(EXAMPLE)
    beambell = Path(sys.executable).parent / "beambell"
    out = subprocess.run(
        [
            str(beambell),
            "--home",
            str(home),
            "demo",
            "--data",
            str(landing_csv),
            "--map",
            "url=url,title=title,text=text,label=label",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]

    con = sqlite3.connect(home / "warehouse.db")
    pages = con.execute("SELECT COUNT(*) FROM pages").fetchone()[0]
    quarantined = con.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
    labels = {r[0] for r in con.execute("SELECT DISTINCT label FROM predictions WHERE task='ag_news'")}
    gold = con.execute("SELECT COUNT(*) FROM gold_labels WHERE task='ag_news'").fetchone()[0]
    champion = con.execute(
        "SELECT metrics_json FROM model_registry WHERE task='ag_news' AND status='champion'"
    ).fetchone()
    con.close()
    assert pages + quarantined == n_rows
    assert labels and labels <= {"World", "Sports", "Business", "Sci/Tech"}
    assert gold == pages  # every accepted article came with its label
    assert champion is not None
