"""Importing the code location reads nothing and creates nothing; Dagster builds it when it loads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_import_creates_nothing_and_loading_builds_the_location(tmp_path) -> None:
    home = tmp_path / "home"
    code = (
        "import os, sys\n"
        "import beambell_assets.definitions as d\n"
        f"assert not os.path.exists({str(home)!r}), 'importing created the home'\n"
        "built = d.defs()\n"
        # torch (~2 s of CPU per process here) loads only where a label model or encoder is fitted,
        # not in every code server, run worker and CLI command that loads the location
        "assert 'torch' not in sys.modules, 'loading the code location imported torch'\n"
        "import json; print(json.dumps(sorted(j.name for j in built.jobs)))\n"
        f"assert os.path.isdir({str(home)!r})\n"
    )
    env = {**os.environ, "BEAMBELL_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert {"ingest_and_label", "process_batch", "train_and_promote"} <= jobs
