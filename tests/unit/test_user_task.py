"""A user's own task, outside the package, loads and labels (``examples/ag_news_task.py`` and tmp modules)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from snorkel.labeling import LabelingFunction, PandasLFApplier
from snorkel.labeling.model import MajorityLabelVoter

from beambell_assets.labeling.lf_types import DeclarativeLF
from beambell_assets.labeling.task import Task, load_task

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ag_news_task.py"
AG_NEWS = ROOT.parent / "shared" / "data" / "ag_news_small"

HEADLINES = [
    ("World", "Iraq car bomb kills 12", "Militants attacked troops near Baghdad, officials said."),
    ("World", "Peace talks resume", "The prime minister met rebels for ceasefire talks in Sudan."),
    ("Sports", "Yankees beat Red Sox 5-3", "The Yankees won the game in the ninth inning."),
    ("Sports", "Olympics: US wins gold", "The team won the final and took the gold medal."),
    ("Business", "Oil prices lift stocks", "Shares rose as investors bet on quarterly earnings."),
    ("Business", "Merger talks (NYSE: XYZ)", "The company agreed a $2 billion acquisition deal."),
    ("Sci/Tech", "Microsoft patches Windows", "The software update fixes a browser security flaw."),
    ("Sci/Tech", "NASA probe reaches Mars", "Scientists say the satellite will study the planet."),
]


def _frame() -> tuple[pd.DataFrame, np.ndarray, Task]:
    task = load_task(str(EXAMPLE))
    df = pd.DataFrame(
        {
            "url": [f"https://ag-news.example/t/{i}" for i in range(len(HEADLINES))],
            "title": [h[1] for h in HEADLINES],
            "text": [h[2] for h in HEADLINES],
        }
    )
    return df, np.array([task.label_index(h[0]) for h in HEADLINES]), task


def test_example_task_loads_from_an_absolute_file_path() -> None:
    task = load_task(str(EXAMPLE.resolve()))
    assert isinstance(task, Task)
    assert task.name == "ag_news"
    assert task.label_names == ("World", "Sports", "Business", "Sci/Tech")
    assert task.text_field == "title_text"  # the classifier reads the headline and the description
    frame = task.prepare(_frame()[0])
    assert frame["title_text"].iloc[0] == f"{HEADLINES[0][1]}. {HEADLINES[0][2]}"
    assert task.prepare(pd.DataFrame({"text": ["body only"]}))["title_text"].tolist() == ["body only"]
    assert 8 <= len(task.lfs) <= 15
    assert all(isinstance(lf, LabelingFunction) for lf in task.lfs)
    # At least one plain Snorkel @labeling_function, not one of beambell's declarative kinds.
    assert any(not isinstance(lf, DeclarativeLF) for lf in task.lfs)
    # ... and with a ``file:ATTR`` spec.
    assert load_task(f"{EXAMPLE}:TASK").lf_names == task.lf_names


def test_example_task_labels_headlines() -> None:
    df, y, task = _frame()
    L = PandasLFApplier(list(task.lfs)).apply(df, progress_bar=False)
    pred = MajorityLabelVoter(cardinality=4).predict(L, tie_break_policy="abstain")
    assert (pred == y).mean() >= 0.75, pred


def test_example_task_runs_on_the_fast_applier() -> None:
    applier_mod = pytest.importorskip("beambell_assets.labeling.applier")
    df, _, task = _frame()
    out = applier_mod.FastLFApplier(list(task.lfs), n_jobs=1).apply(df)
    L = out[0] if isinstance(out, tuple) else out
    np.testing.assert_array_equal(L, PandasLFApplier(list(task.lfs)).apply(df, progress_bar=False))


@pytest.mark.shared_data
def test_example_converts_ag_news_and_labels_it(tmp_path: Path) -> None:
    src = AG_NEWS / "train.csv"
    if not src.is_file():
        pytest.skip(f"shared data not found at {src}")
    dst = tmp_path / "ag_news_train.csv"
    env_path = str(ROOT)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), str(src), str(dst)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": env_path, "PATH": ""},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(dst)
    assert list(df.columns) == ["url", "title", "text", "label"]
    assert df["url"].is_unique and df["url"].str.startswith("https://").all()
    task = load_task(str(EXAMPLE))
    assert set(df["label"]) <= set(task.label_names)
    L = PandasLFApplier(list(task.lfs)).apply(df, progress_bar=False)
    y = np.array([task.label_index(v) for v in df["label"]])
    pred = MajorityLabelVoter(cardinality=4).predict(L, tie_break_policy="abstain")
    assert (L != -1).any(axis=1).mean() >= 0.7
    assert (pred == y).mean() >= 0.6


TMP_TASK = textwrap.dedent(
    """
    from snorkel.labeling import labeling_function

    from beambell_assets.labeling.lf_types import KeywordLF
    from beambell_assets.labeling.task import make_task

    @labeling_function()
    def lf_question(x):
        return 1 if str(getattr(x, "text", "") or "").rstrip().endswith("?") else -1

    def build_task():
        return make_task(
            "spam_or_question",
            ["spam", "question"],
            [KeywordLF("kw_spam_offer", ["free money", "click here", "winner"], 0), lf_question],
        )
    """
)


def test_task_module_written_by_a_user_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = tmp_path / "my_tasks" / "inbox_task.py"
    module.parent.mkdir()
    module.write_text(TMP_TASK, encoding="utf-8")
    df = pd.DataFrame({"text": ["Click here, winner of free money", "Where is the station?", "hello"]})

    # As a file path (build_task() is called) ...
    task = load_task(str(module))
    assert task.name == "spam_or_question" and task.cardinality == 2
    L = PandasLFApplier(list(task.lfs)).apply(df, progress_bar=False)
    assert L.tolist() == [[0, -1], [-1, 1], [-1, -1]]

    # ... and as an importable module path.
    (module.parent / "__init__.py").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    by_module = load_task("my_tasks.inbox_task")
    assert by_module.lf_names == task.lf_names
    assert by_module.fingerprint() == task.fingerprint()


def test_bad_task_files_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_task(str(tmp_path / "missing_task.py"))
    empty = tmp_path / "empty_task.py"
    empty.write_text("X = 1\n", encoding="utf-8")
    with pytest.raises(AttributeError):
        load_task(str(empty))


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda f: f.iloc[1:], "returned 7 rows for 8 pages"),
        (lambda f: pd.concat([f, f.iloc[:1]]), "returned 9 rows for 8 pages"),
        (lambda f: f.iloc[::-1], "reordered page_id"),
        (lambda f: f.drop(columns=["page_id"]), "reordered page_id"),
        (lambda f: f.drop(columns=["text"]), "its text_field 'text' is not a column (prepare returned url"),
        (lambda f: f["text"], "returned Series, not a DataFrame"),
    ],
    ids=["drops-a-row", "adds-a-row", "reorders", "drops-page_id", "drops-text", "not-a-frame"],
)
def test_a_prepare_hook_that_breaks_the_page_table_is_refused(prepare, message: str) -> None:
    from beambell_assets.labeling.task import TaskPrepareError, make_task

    features, _, example = _frame()
    features = features.assign(page_id=[f"p{i}" for i in range(len(features))])
    task = make_task("t", example.label_names, example.lfs, prepare=prepare)
    with pytest.raises(TaskPrepareError, match=re.escape(message)):
        task.prepared(features)
    kept = make_task("t", example.label_names, example.lfs, prepare=lambda f: f.assign(n=len(f)))
    assert kept.prepared(features)["n"].tolist() == [8] * 8
    no_body = make_task("t", example.label_names, example.lfs, text_field="body")
    with pytest.raises(TaskPrepareError, match=r"text_field 'body' is not a column \(the page features"):
        no_body.prepared(features)
