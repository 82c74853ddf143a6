"""Saving and loading the end model: packed vocabularies vs scikit-learn's dict, side by side.

    python benchmarks/model_io.py [--repeats 3] [--out benchmarks/results/model_io.md]

The ``classifier`` asset saves the model it trains (skops) and every process that scores a batch,
builds the drift reference, queues pages for annotation, serves predictions or runs the Beam
scoring pipeline loads it. **Ours**: the vectorizers are ``PackedTfidfVectorizer``
(``training/packed_vocabulary.py``: the vocabulary saved as one string plus an array of term
lengths). **Reference**: the same fitted model with scikit-learn's ``TfidfVectorizer`` (what was
saved until 2026-12-07: skops writes the vocabulary ``dict`` term by term). Same data as
``benchmarks/end_model_search.py`` (the ``auto`` ensemble fitted on real weak labels of the dev
websites and AG News, and on the project's own sample pages); wall and CPU seconds of
``save_model`` and ``load_model`` (which audits the file's types first), best of ``--repeats``, and
a check that both loaded models predict exactly what the fitted one does. The last column is what
a new process pays to load the file, imports included (best of ``--repeats``, CPU of the child
process): ours imports skops through ``model_store._skops`` (no torch, see there), the reference
imports skops plainly first, as before.
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from beambell_assets.serving.model_store import load_model, save_model  # noqa: E402
from beambell_assets.training.end_model import fit_end_model  # noqa: E402
from beambell_assets.training.packed_vocabulary import PackedTfidfVectorizer  # noqa: E402
from benchmarks.end_model_search import datasets, report  # noqa: E402
from benchmarks.lf_applier import cpu_seconds  # noqa: E402


def with_plain_vectorizers(model: Any) -> Any:
    """A copy of ``model`` whose packed vectorizers are scikit-learn's own class (plain-int
    vocabularies, as the model store saved them before)."""
    out = copy.deepcopy(model)
    seen: set[int] = set()

    def visit(obj: Any) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, PackedTfidfVectorizer):
            obj.__class__ = TfidfVectorizer
            obj.vocabulary_ = {t: int(i) for t, i in obj.vocabulary_.items()}
        if isinstance(obj, list | tuple):
            for item in obj:
                visit(item)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            for value in vars(obj).values():
                visit(value)

    visit(out)
    return out


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """(best wall s, best CPU s, last result) of ``repeats`` calls."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return wall, cpu, result


def fresh_process_load(path: Path, plain_import: bool, repeats: int) -> float:
    """Best CPU seconds of a new interpreter that loads ``path`` (interpreter and imports included);
    ``plain_import``: ``import skops.io`` before beambell's model store does (the reference)."""
    code = "import sys\n" + ("import skops.io\n" if plain_import else "")
    code += "from beambell_assets.serving.model_store import load_model\nload_model(sys.argv[1])\n"
    best = float("inf")
    for _ in range(repeats):
        before = cpu_seconds()  # the child's, once it has finished (the waiting parent adds ~nothing)
        subprocess.run([sys.executable, "-c", code, str(path)], check=True, cwd=ROOT)
        best = min(best, cpu_seconds() - before)
    return best


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="Markdown output")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = datasets(Path(tmp))
        save_model(np.zeros(1), Path(tmp) / "warm.skops")  # skops' own import, once
        load_model(Path(tmp) / "warm.skops")
        for name, (texts, probs, k) in data.items():
            model = fit_end_model(texts, probs, k).model
            queries = texts[:200]
            expected = model.predict_proba(queries)
            variants = (("reference (dict)", with_plain_vectorizers(model)), ("ours (packed)", model))
            for label, variant in variants:
                path = Path(tmp) / "model.skops"
                save_wall, save_cpu, _ = best_of(lambda v=variant, p=path: save_model(v, p), args.repeats)
                load_wall, load_cpu, loaded = best_of(lambda p=path: load_model(p), args.repeats)
                rows.append(
                    {
                        "data": name,
                        "vocabulary": label,
                        "terms": sum(len(p.vocabulary_) for p in getattr(model, "parts_", [])),
                        "file MB": round(path.stat().st_size / 1e6, 1),
                        "save s (wall / CPU)": f"{save_wall:.2f} / {save_cpu:.2f}",
                        "load s (wall / CPU)": f"{load_wall:.2f} / {load_cpu:.2f}",
                        "same predictions": bool(np.array_equal(loaded.predict_proba(queries), expected)),
                        "new process: imports + load, CPU s": round(
                            fresh_process_load(path, variant is not model, args.repeats), 2
                        ),
                    }
                )
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    report(
        "Saving and loading the end model: packed vocabularies vs scikit-learn's dict",
        "model_io.py",
        argv,
        "The `auto` ensemble of `fit_end_model(texts, probs, k)`; `save_model` / `load_model` "
        f"(skops, with the type audit), best of {args.repeats}; terms: all vectorizers' vocabularies.",
        table,
        args.out,
    )
    return table


if __name__ == "__main__":
    main()
