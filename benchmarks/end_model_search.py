"""CPU of the end-model search and final fit: n-grams counted once vs fitted per fold.

    python benchmarks/end_model_search.py [--repeats 2] [--out benchmarks/results/end_model_search.md]

``fit_end_model`` (the ``classifier`` asset's call: the gold-free search over the word / char /
both candidates, then the ensemble fitted on every row) on real weak labels: the default task's LFs
and label model on the dev websites (long pages) and the AG News example task on its train split
(short texts), and the project's own sample pages with their true labels as near-one-hot targets.
**Ours**: ``count_once=True`` (``training/corpus_counts.py``: one counting pass, every fold's and the
final model's TF-IDF derived from it). **Reference**: ``count_once=False`` (a ``TfidfVectorizer``
fitted on each fold and again on all rows, as before). Both in one run on the same data, best of
``--repeats`` by process CPU time; the tables the two searches produce are compared (max difference
of the held-out cross-entropy, same chosen model). Needs ``../shared/data`` for the first two rows.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from beambell_assets.devtools.prediction_service import sample_pages  # noqa: E402
from beambell_assets.labeling.task import load_task  # noqa: E402
from beambell_assets.settings import DEFAULT_TASK  # noqa: E402
from beambell_assets.training.end_model import fit_end_model  # noqa: E402
from beambell_assets.training.label_model import fit_label_model  # noqa: E402
from beambell_assets.training.training_set import build_training_set, prob_columns  # noqa: E402
from benchmarks.lf_applier import cpu_model, publish  # noqa: E402
from benchmarks.quality_report import DEFAULT_DATA, labelled_votes  # noqa: E402

AG_TASK = ROOT / "examples" / "ag_news_task.py"
AG_RAW = ROOT.parent / "shared" / "data" / "ag_news_small" / "train.csv"


def _weak(task_ref: str, data: Path, mapping: str | None) -> tuple[list[str], np.ndarray, int]:
    task = load_task(task_ref)
    features, _y, L = labelled_votes(data, task, mapping)
    k = task.cardinality
    fit = fit_label_model(L, k, seed=0, n_epochs=500)
    ts = build_training_set(features, L, fit.probs, task.text_field)
    return ts.frame["text"].astype(str).tolist(), ts.frame[prob_columns(k)].to_numpy(), k


def datasets(tmp: Path) -> dict[str, tuple[list[str], np.ndarray, int]]:
    out: dict[str, tuple[list[str], np.ndarray, int]] = {}
    if DEFAULT_DATA.is_file():
        out["dev websites (LFs + label model)"] = _weak(DEFAULT_TASK, DEFAULT_DATA, None)
    if AG_RAW.is_file():
        spec = importlib.util.spec_from_file_location("beambell_ag_news_example", AG_TASK)
        assert spec is not None and spec.loader is not None
        example = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(example)
        path = tmp / "ag_news_train.csv"
        example.to_landing_csv(str(AG_RAW), str(path))
        mapping = "url=url,title=title,text=text,label=label"
        out["AG News (LFs + label model)"] = _weak(str(AG_TASK), path, mapping)
    pages = sample_pages(4, 150, seed=0)
    labels = sorted({label for _, label in pages})
    y = np.array([labels.index(label) for _, label in pages])
    k = len(labels)
    probs = np.full((len(y), k), 0.05 / (k - 1))
    probs[np.arange(len(y)), y] = 0.95
    out["sample pages (true labels, 0.95)"] = ([str(p.get("text") or "") for p, _ in pages], probs, k)
    return out


def measure(
    texts: list[str], probs: np.ndarray, k: int, count_once: bool, repeats: int
) -> tuple[float, object]:
    best, fitted = float("inf"), None
    for _ in range(repeats):
        cpu = time.process_time()
        fitted = fit_end_model(texts, probs, k, count_once=count_once)
        best = min(best, time.process_time() - cpu)
    return best, fitted


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="Markdown output")
    args = parser.parse_args(argv)
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = datasets(Path(tmp))
    for name, (texts, probs, k) in data.items():
        ref_cpu, ref = measure(texts, probs, k, False, args.repeats)
        our_cpu, ours = measure(texts, probs, k, True, args.repeats)
        a, b = ours.selection.table, ref.selection.table  # type: ignore[attr-defined]
        rows.append(
            {
                "data": name,
                "rows": len(texts),
                "mean chars": int(np.mean([len(t) for t in texts])),
                "reference CPU s (fit per fold)": round(ref_cpu, 2),
                "ours CPU s (count once)": round(our_cpu, 2),
                "speed-up": round(ref_cpu / our_cpu, 2),
                "max |Δ cross-entropy|": float((a["cross_entropy"] - b["cross_entropy"]).abs().max()),
                "same choice": ours.selection.model_name == ref.selection.model_name,  # type: ignore[attr-defined]
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    report(
        "End-model search + final fit: n-grams counted once vs fitted per fold",
        "end_model_search.py",
        argv,
        "`fit_end_model(texts, probs, k)` with the defaults (auto: word/char/both x C 1, 10 x "
        f"soft/hard x calibrated, 3 folds, ensemble); process CPU seconds, best of {args.repeats}.",
        table,
        args.out,
    )
    return table


def report(
    title: str, script: str, argv: list[str] | None, note: str, table: pd.DataFrame, out: Path | None
) -> str:
    """Print (and with ``out``, save) a CPU benchmark's Markdown: the title, the command, the
    machine (CPU family and model included), ``note`` and the table."""
    md = (
        f"# {title}\n\n"
        f"`python benchmarks/{script} {' '.join(sys.argv[1:] if argv is None else argv)}`\n\n"
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, {cpu_model()}, "
        f"{os.cpu_count()} CPUs, load average at end {os.getloadavg()[0]:.1f}. {note}\n\n"
        f"{table.to_markdown(index=False)}\n"
    )
    if out is None:
        print(md)
    else:
        publish(md, out)
    return md


if __name__ == "__main__":
    main()
