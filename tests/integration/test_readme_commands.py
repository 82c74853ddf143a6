"""The README's demo command, run exactly as written, on a fresh home folder."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO_ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", text, flags=re.S)
    return [ln.strip() for b in blocks for ln in b.splitlines() if ln.strip().startswith("./dev.sh")]


def test_readme_names_the_two_commands() -> None:
    cmds = readme_commands()
    assert "./dev.sh demo" in cmds
    assert "./dev.sh test" in cmds
    assert "./dev.sh test" in (REPO_ROOT / ".ci" / "run").read_text()


def test_readme_demo_command_runs_the_main_job(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BEAMBELL_", "DAGSTER_"))}
    env["BEAMBELL_HOME"] = str(home)
    out = subprocess.run(
        ["bash", "-c", "./dev.sh demo"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    for expected in (
        "Pages per batch",
        "LF summary",
        "Label model vs majority vote",
        "Classifier",
        "Deployed model",
        "Predictions",
        "Domains and organisations",
        "dagster dev",
    ):
        assert expected in log, f"{expected!r} missing from the demo output:\n{log[-3000:]}"
    # the LF summary's counts add up (the hand-written and the stateful LFs; 12 rows shown)
    title = re.search(r"LF summary: (\d+) LFs", log)
    tail = re.search(r"… (\d+) more LFs, (\d+) of\s+(\d+)\s+silent", log)
    assert title and tail, log[-3000:]
    n_lfs, (more, silent, total) = int(title.group(1)), map(int, tail.groups())
    assert total == n_lfs > 12 and more == n_lfs - 12 and 0 <= silent < n_lfs
    con = sqlite3.connect(home / "warehouse.db")
    pages = con.execute("SELECT COUNT(*) FROM pages").fetchone()[0]
    predictions = con.execute("SELECT COUNT(*) FROM predictions WHERE task = 'web_content'").fetchone()[0]
    champions = dict(
        con.execute("SELECT task, COUNT(*) FROM model_registry WHERE status='champion' GROUP BY task")
    )
    sites = con.execute("SELECT COUNT(*) FROM domain_profiles").fetchone()[0]
    orgs = con.execute("SELECT COUNT(*) FROM organisation_profiles WHERE org_type IS NOT NULL").fetchone()[0]
    con.close()
    assert pages > 0 and predictions == pages
    assert champions == {"web_content": 1, "org_type": 1}  # the page task and the organisation-type task
    assert sites > 0 and orgs > 0
    # The runs live in the instance the UI reads.
    assert (home / "dagster_home" / "dagster.yaml").exists()
    assert any((home / "dagster_home").rglob("*.db"))
