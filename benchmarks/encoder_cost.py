"""Cost per page of the offline sentence encoder (all-MiniLM-L6-v2), ours vs the plain fp32 encode.

    python benchmarks/encoder_cost.py [--encoder bundled|DIR] [--pages 600] [--windows 128] [--threads 1]

Pages are the dev websites' texts (long pages: nearly every one fills the window) and AG News
descriptions (short texts), truncated to the window. For each, in one run and on the same loaded
model: the **reference** (``SentenceTransformer.encode``, fp32, as sentence-transformers ships it)
and **ours** (``training.encoder.embed_uncached``: inference mode, bf16 weights where the CPU has
bf16 natively). Timed cold (model loaded, nothing cached), best of ``--repeats``, as CPU time per page
(``time.process_time``: what a page costs whatever else runs on the shared machine) and wall time,
with the load average. Faithfulness: cosine of ours to the reference vectors, and a downstream
check: 5-fold logistic regression on the gold labels, macro-F1 on each set of vectors. Target: <= 10
ms per page, judged both ways: CPU time, and wall time (with ``--threads 2`` on a 2-core machine:
what a page costs the machine when the encoder has both cores, the product's default). Markdown to
``benchmarks/results/encoder_cost.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from beambell_assets.training.encoder import (  # noqa: E402
    _cut,
    embed_uncached,
    load_encoder,
    resolve_encoder_path,
    resolve_precision,
)

DATA = ROOT.parent / "shared" / "data"
TARGET_MS = 10.0


def _data(n: int) -> dict[str, tuple[list[str], np.ndarray]]:
    out: dict[str, tuple[list[str], np.ndarray]] = {}
    web = DATA / "website_classification_dev.csv"
    if web.is_file():
        df = pd.read_csv(web).dropna(subset=["cleaned_website_text", "Category"]).head(n)
        texts = df["cleaned_website_text"].astype(str).tolist()
        out["dev websites (long pages)"] = (texts, df["Category"].to_numpy())
    ag = DATA / "ag_news_small" / "train.csv"
    if ag.is_file():
        df = pd.read_csv(ag, header=None, names=["c", "title", "text"]).head(n)
        out["AG News descriptions (short)"] = (df["text"].astype(str).tolist(), df["c"].to_numpy())
    if not out:
        sys.exit(f"no data under {DATA}")
    return out


def _timed(fn: Callable[[], np.ndarray], repeats: int) -> tuple[np.ndarray, float, float]:
    """The result and the best CPU and wall seconds over ``repeats`` runs."""
    cpu, wall, out = [], [], None
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return out, min(cpu), min(wall)


def _downstream_f1(X: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    """Macro-F1 of a 5-fold logistic regression on the gold labels (the same folds for any X;
    classes with fewer than 5 pages are left out)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    classes, counts = np.unique(y, return_counts=True)
    keep = np.isin(y, classes[counts >= 5])
    X, y = X[keep], y[keep]
    if len(np.unique(y)) < 2:
        return float("nan")
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    pred = cross_val_predict(LogisticRegression(C=10.0, max_iter=3000), X, y, cv=folds)
    return float(f1_score(y, pred, average="macro"))


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default=os.environ.get("BEAMBELL_ENCODER_PATH") or "bundled")
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--windows", default="128", help="max_seq_length values (tokens)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--precision", default=None, help="ours: auto|fp32|bf16 (default: the settings')")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "encoder_cost.md")
    args = parser.parse_args(argv)
    path = resolve_encoder_path(args.encoder)
    if path is None:
        parser.error("no encoder configured")
    import torch

    torch.set_num_threads(args.threads)
    precision = resolve_precision(args.precision)
    load_start = os.getloadavg()
    rows = []
    for window in (int(w) for w in args.windows.split(",")):
        t = time.perf_counter()
        model = load_encoder(path, window)  # the reference: fp32, as shipped
        load_s = time.perf_counter() - t
        load_encoder(path, window, precision)
        for name, (texts, y) in _data(args.pages).items():
            cut = [_cut(x, window) for x in texts]
            model.encode(cut[:16], show_progress_bar=False)  # warm-up (first-call allocations)

            def reference(cut: list[str] = cut, model: Any = model) -> np.ndarray:
                return model.encode(cut, normalize_embeddings=True, show_progress_bar=False)  # its defaults

            def ours(texts: list[str] = texts, window: int = window) -> np.ndarray:
                return embed_uncached(texts, path, max_seq_length=window, precision=precision)

            ours(texts[:16])
            ref, ref_cpu, ref_wall = _timed(reference, args.repeats)
            vec, our_cpu, our_wall = _timed(ours, args.repeats)
            cos = (vec.astype(np.float64) * ref.astype(np.float64)).sum(axis=1)
            n = len(texts)
            ms = 1000 * our_cpu / n
            rows.append(
                {
                    "data": name,
                    "window": window,
                    "pages": n,
                    "reference CPU ms/page": round(1000 * ref_cpu / n, 2),
                    f"ours ({precision}) CPU ms/page": round(ms, 2),
                    "speed-up": round(ref_cpu / our_cpu, 2),
                    "reference wall ms/page": round(1000 * ref_wall / n, 2),
                    "ours wall ms/page": round(1000 * our_wall / n, 2),
                    "cosine min": round(float(cos.min()), 5),
                    "cosine mean": round(float(cos.mean()), 5),
                    "LR macro-F1 reference": round(_downstream_f1(ref, y), 4),
                    "LR macro-F1 ours": round(_downstream_f1(vec, y), 4),
                    "load avg (1 min)": round(os.getloadavg()[0], 1),
                    "model load s": round(load_s, 2),
                    f"<= {TARGET_MS:g} CPU ms": "PASS" if ms <= TARGET_MS else "FAIL",
                    # with --threads N the machine's cost per page is the wall time on its N cores
                    f"<= {TARGET_MS:g} wall ms": "PASS" if 1000 * our_wall / n <= TARGET_MS else "FAIL",
                }
            )
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    md = (
        "# Encoder cost per page: ours vs the plain fp32 encode\n\n"
        f"`python benchmarks/encoder_cost.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n\n"
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"torch {torch.__version__}, {os.cpu_count()} CPUs (shared), torch threads {args.threads}, "
        f"load average at start {load_start[0]:.1f} / {load_start[1]:.1f} / {load_start[2]:.1f}; "
        f"model `{Path(path).name}` at {path}. "
        "CPU ms/page = process CPU time / pages (best of "
        f"{args.repeats}); wall is inflated by whatever else runs.\n\n"
        f"{table.to_markdown(index=False)}\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(md, encoding="utf-8")
    print(md)
    return table


if __name__ == "__main__":
    main()
