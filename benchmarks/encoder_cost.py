"""Cost per page of the offline sentence encoder (all-MiniLM-L6-v2), truncated to its window.

    python benchmarks/encoder_cost.py [--encoder bundled|DIR] [--pages 300] [--windows 128,256]

Pages are the dev websites' texts (long pages: every one fills the window) and AG News
descriptions (short texts). Each configuration is timed cold (nothing cached, model already
loaded; best of ``--repeats``) and warm (the per-process embedding cache: what a second use of the
same page costs, e.g. the classifier after the LF). Target: <= 10 ms per page on this 2-core
machine. Also prints the one-off model load time. Markdown to ``benchmarks/results/encoder_cost.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from beambell_assets.training.encoder import (  # noqa: E402
    embed,
    embed_uncached,
    load_encoder,
    resolve_encoder_path,
)

DATA = ROOT.parent / "shared" / "data"
TARGET_MS = 10.0


def _texts(n: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    web = DATA / "website_classification_dev.csv"
    if web.is_file():
        col = pd.read_csv(web)["cleaned_website_text"].dropna().astype(str)
        out["dev websites (long pages)"] = col.head(n).tolist()
    ag = DATA / "ag_news_small" / "train.csv"
    if ag.is_file():
        col = pd.read_csv(ag, header=None, names=["c", "title", "text"])["text"].astype(str)
        out["AG News descriptions (short)"] = col.head(n).tolist()
    if not out:
        sys.exit(f"no data under {DATA}")
    return out


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default=os.environ.get("BEAMBELL_ENCODER_PATH") or "bundled")
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--windows", default="128,256", help="max_seq_length values (tokens)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "encoder_cost.md")
    args = parser.parse_args(argv)
    path = resolve_encoder_path(args.encoder)
    if path is None:
        parser.error("no encoder configured")
    rows = []
    for window in (int(w) for w in args.windows.split(",")):
        t = time.perf_counter()
        load_encoder(path, window)
        load_s = time.perf_counter() - t
        for name, texts in _texts(args.pages).items():
            cold = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                embed_uncached(texts, path, max_seq_length=window)
                cold.append(time.perf_counter() - t)
            embed(texts, path, max_seq_length=window)  # fill the cache
            t = time.perf_counter()
            embed(texts, path, max_seq_length=window)
            warm = time.perf_counter() - t
            ms = 1000 * min(cold) / len(texts)
            rows.append(
                {
                    "data": name,
                    "window_tokens": window,
                    "pages": len(texts),
                    "ms_per_page_cold": round(ms, 2),
                    "ms_per_page_cached": round(1000 * warm / len(texts), 3),
                    "model_load_s": round(load_s, 2),
                    f"<= {TARGET_MS:g} ms": "PASS" if ms <= TARGET_MS else "FAIL",
                }
            )
    table = pd.DataFrame(rows)
    md = (
        "# Encoder cost per page\n\n"
        f"`python benchmarks/encoder_cost.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n\n"
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs (shared), model `{Path(path).name}` at {path}.\n\n"
        f"{table.to_markdown(index=False)}\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(md, encoding="utf-8")
    print(md)
    return table


if __name__ == "__main__":
    main()
