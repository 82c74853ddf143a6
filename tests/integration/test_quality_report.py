"""The quality report runs end to end on the dev data and writes a table of finite numbers."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.shared_data, pytest.mark.slow]

REPORT = Path(__file__).resolve().parents[2] / "benchmarks" / "quality_report.py"


def _load_report_module():
    spec = importlib.util.spec_from_file_location("beambell_quality_report", REPORT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quality_report_main(dev_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _load_report_module()
    out = tmp_path / "quality_report.md"
    # fewer folds and epochs than the published run, to keep the test short; same code path
    res = report.main(["--data", str(dev_csv), "--out", str(out), "--folds", "3", "--n-epochs", "200"])

    table = res["table"]
    assert list(table["method"].str[:4]) == ["(a) ", "(b) ", "(c) ", "(c')", "(d) "]
    for col in ("accuracy", "macro_f1", "coverage", "accuracy_on_covered"):
        values = table[col].tolist()
        assert all(isinstance(v, float) and math.isfinite(v) and 0.0 <= v <= 1.0 for v in values), col
    assert res["n_rows"] > 500 and res["n_lfs"] > 0
    assert len(res["folds"]) == 3
    assert res["folds"]["n_weak_train"].gt(0).all()
    assert math.isfinite(res["share_of_upper_bound"])
    assert set(res["checks"]) and all(isinstance(v, bool) for v in res["checks"].values())
    assert len(res["per_class"]) == 7  # the seven categories of the dev data

    text = out.read_text(encoding="utf-8")
    assert "| method" in text and "(d) supervised upper bound" in text
    assert ("PASS" in text) or ("FAIL" in text)
    assert "(d) supervised upper bound" in capsys.readouterr().out


def test_quality_report_rejects_missing_data(tmp_path: Path) -> None:
    report = _load_report_module()
    with pytest.raises(SystemExit):
        report.main(["--data", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "x.md")])
