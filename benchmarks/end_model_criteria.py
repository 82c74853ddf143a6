"""Which gold-free criterion picks the end model best? Weak-label scores vs held-out LF agreement.

    python benchmarks/end_model_criteria.py [--task T --data FILE --map ...] [--folds 5] [--groups 3] \
        [--encoder bundled] [--calibrated] [--features word,char,...]

An experiment, not the product's choice: ``training/end_model.py`` scores every candidate against
the label model's held-out weak labels (cross-entropy since 2026-12-06, expected accuracy before).
Those scores reward a featurisation for *reproducing the LFs*, errors included (on AG News expected
accuracy prefers char n-grams, the candidate worst against gold). This script scores the same
candidates (the uncalibrated ones of word, char and both by default; ``--encoder`` adds the
featurisations that read it, ``--calibrated`` every calibrated candidate), in each outer fold of a
k-fold split (gold is used only to score the picks, never to make them), by:

* ``expected_accuracy`` and ``cross_entropy`` — the search's two scores (``select_end_model``);
* ``heldout_lf_agreement`` — the LFs are dealt into ``groups`` groups; for each group the label
  model is refitted on the *other* LFs, each candidate is trained (3 inner folds) on the rows those
  cover, and scored by how often its prediction on held-out rows equals a hidden LF's vote (every
  hidden vote counts once). The aggregator choice's gold-free idea (``training/aggregators.py``)
  applied to the end model: a candidate that only copies the visible LFs' surface cues gains
  nothing on LFs it never saw;
* ``heldout_lf_agreement_uncovered`` — the same, only on rows no visible LF covers (pure
  generalisation beyond the visible LFs).

It prints, per criterion, the candidates picked in each outer fold and their mean gold accuracy,
next to the best single candidate (chosen with gold). Cost: about ``groups`` times the product's
search. Results: ``benchmarks/results/end_model_criteria*.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from beambell_assets.labeling.task import load_task  # noqa: E402
from beambell_assets.training.calibration import cross_fitted  # noqa: E402
from beambell_assets.training.encoder import encoder_available, resolve_encoder_path  # noqa: E402
from beambell_assets.training.end_model import (  # noqa: E402
    DEFAULT_C_GRID,
    Candidate,
    candidate_estimator,
    candidates,
    fold_matrices,
    searched_features,
    select_end_model,
)
from beambell_assets.training.label_model import ABSTAIN, fit_label_model  # noqa: E402
from benchmarks.quality_report import (  # noqa: E402
    data_arguments,
    held_out_probs,
    labelled_votes,
    weak_fold,
    write_markdown,
)

CRITERIA = {  # name -> (column, higher is better)
    "expected_accuracy": ("expected_accuracy", True),
    "cross_entropy": ("cross_entropy", False),
    "heldout_lf_agreement": ("hidden_agree", True),
    "heldout_lf_agreement_uncovered": ("hidden_agree_uncovered", True),
}


def heldout_lf_scores(
    L: np.ndarray,
    texts: np.ndarray,
    k: int,
    cands: list,
    *,
    groups: int,
    class_weight: np.ndarray | None,
    seed: int,
    n_epochs: int,
    encoder_path: str | None = None,
) -> dict[str, tuple[float, float]]:
    """Per candidate: agreement with hidden LFs' votes on held-out rows (all rows / rows the
    visible LFs leave uncovered). A calibrated candidate's held-out predictions in one inner fold
    are calibrated by a fit on the other inner folds' covered held-out rows against the visible
    LFs' label model, as the product's search calibrates (``_calibrated_held_out``)."""
    m = L.shape[1]
    hits = {c.name: np.zeros(4) for c in cands}  # agree, votes, agree uncovered, votes uncovered
    inner = list(KFold(3, shuffle=True, random_state=seed).split(texts))
    caches: list[dict] = [{} for _ in inner]  # vectorisers see texts only: shared by the groups
    bases = list(dict.fromkeys(Candidate(c.features, c.C, c.targets) for c in cands))
    for hidden in np.array_split(np.random.default_rng(seed).permutation(m), groups):
        visible = np.setdiff1d(np.arange(m), hidden)
        P = fit_label_model(L[:, visible], k, seed=seed, n_epochs=n_epochs).probs
        covered = (L[:, visible] != ABSTAIN).any(axis=1)
        held: dict[Candidate, list[np.ndarray]] = {b: [] for b in bases}
        for (tr, te), cache in zip(inner, caches, strict=True):
            rows = np.flatnonzero(covered[tr])
            for b in bases:
                Xtr, Xte = fold_matrices(b.features, texts[tr], texts[te], k, encoder_path, cache)
                est = candidate_estimator(b, k, class_weight=class_weight, encoder_path=encoder_path)
                target = P[tr][rows]
                est.fit_features(Xtr[rows], target if b.targets == "soft" else target.argmax(axis=1))
                held[b].append(est.predict_proba_features(Xte))
        tes = [te for _, te in inner]
        groups = np.repeat(np.arange(len(tes)), [len(te) for te in tes])
        stacked = np.concatenate(tes)
        for c in cands:
            qs = held[Candidate(c.features, c.C, c.targets)]
            if c.calibrated:
                q_all = cross_fitted(np.vstack(qs), P[stacked], groups, fit_rows=covered[stacked])
                qs = np.split(q_all, np.cumsum([len(te) for te in tes])[:-1])
            for q, te in zip(qs, tes, strict=True):
                H = L[te][:, hidden]
                votes = H != ABSTAIN
                unc = ~covered[te]
                agree = (q.argmax(axis=1)[:, None] == H) & votes
                hits[c.name] += [agree.sum(), votes.sum(), agree[unc].sum(), votes[unc].sum()]
    return {n: (h[0] / max(h[1], 1), h[2] / max(h[3], 1)) for n, h in hits.items()}


def run(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame]:
    task = load_task(args.task)
    features, y, L = labelled_votes(args.data, task, args.map)
    k, tf = task.cardinality, task.text_field
    texts = features[tf].fillna("").astype(str).to_numpy(dtype=object)
    encoder = resolve_encoder_path(args.encoder)
    encoder = encoder if encoder_available(encoder) else None
    if args.encoder and encoder is None:
        raise SystemExit(f"no encoder at {args.encoder!r}")
    c_grid = tuple(float(c) for c in args.c_grid.split(","))
    # the first comparison (2026-12-06) predates the calibrated candidates: --calibrated adds them
    feats = tuple(args.features.split(",")) if args.features else searched_features(encoder)
    cands = candidates(feats, c_grid, calibration=(False, True) if args.calibrated else (False,))
    rows = []
    outer = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)
    for fold, (tr, te) in enumerate(outer.split(np.zeros(len(y)), y)):
        t0 = time.perf_counter()
        P, Xw, shift = weak_fold(features, L, tr, k, tf, args.seed, args.n_epochs)
        selection = select_end_model(
            Xw.tolist(),
            P,
            k,
            features=feats,
            c_grid=c_grid,
            class_weight=shift,
            encoder_path=encoder,
            seed=args.seed,
        )
        table = selection.table.set_index("candidate")
        hidden = heldout_lf_scores(
            L[tr],
            texts[tr],
            k,
            cands,
            groups=args.groups,
            class_weight=shift,
            seed=args.seed,
            n_epochs=args.n_epochs,
            encoder_path=encoder,
        )
        # gold accuracy of every candidate, for scoring the picks only
        q = held_out_probs(cands, Xw, P, texts[te], k, shift, encoder, selection.calibrations)
        for c in cands:
            rows.append(
                {
                    "fold": fold,
                    "candidate": c.name,
                    "gold_accuracy": float((q[c.name].argmax(axis=1) == y[te]).mean()),
                    "expected_accuracy": float(table.loc[c.name, "expected_accuracy"]),
                    "cross_entropy": float(table.loc[c.name, "cross_entropy"]),
                    "hidden_agree": hidden[c.name][0],
                    "hidden_agree_uncovered": hidden[c.name][1],
                }
            )
        print(f"fold {fold}: {time.perf_counter() - t0:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    picks = []
    for crit, (col, higher) in CRITERIA.items():
        # ties: the earlier (simpler) candidate, as the product breaks them
        by_fold = df.assign(key=-df[col] if higher else df[col]).sort_values(["fold", "key"], kind="stable")
        chosen = by_fold.groupby("fold").head(1)
        picks.append(
            {
                "criterion": crit,
                "gold_accuracy_of_picks": float(chosen["gold_accuracy"].mean()),
                "picks": ", ".join(chosen["candidate"]),
            }
        )
    means = df.groupby("candidate")["gold_accuracy"].mean()
    picks.append(
        {
            "criterion": "best single candidate (chosen with gold)",
            "gold_accuracy_of_picks": float(means.max()),
            "picks": str(means.idxmax()),
        }
    )
    return df, pd.DataFrame(picks)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_arguments(parser)
    parser.add_argument("--groups", type=int, default=3, help="LF groups hidden in turn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-epochs", type=int, default=500)
    parser.add_argument("--c-grid", default=",".join(f"{c:g}" for c in DEFAULT_C_GRID))
    parser.add_argument(
        "--encoder", default=None, help="encoder directory or 'bundled' (adds its candidates)"
    )
    parser.add_argument("--features", default=None, help="comma-separated featurisations (default: auto's)")
    parser.add_argument("--calibrated", action="store_true", help="also the calibrated candidates")
    parser.add_argument("--out", type=Path, default=None, help="Markdown output")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"skipped: no data at {args.data} (the default lives in ../shared/data)")
        return
    t0 = time.perf_counter()
    per_candidate, picks = run(args)
    summary = per_candidate.groupby("candidate")[list(per_candidate.columns[2:])].mean()
    md = (
        "# Gold-free end-model criteria\n\n"
        f"`python benchmarks/end_model_criteria.py {' '.join(sys.argv[1:] if argv is None else argv)}`"
        f" — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {time.perf_counter() - t0:.0f} s, "
        f"task `{args.task}`, data `{args.data.name}`, {args.folds} outer folds.\n\n"
        "## Gold accuracy of each criterion's picks (mean over outer folds)\n\n"
        f"{picks.to_markdown(index=False, floatfmt='.4f')}\n\n"
        "## Every candidate (means over outer folds)\n\n"
        f"{summary.to_markdown(floatfmt='.4f')}\n"
    )
    write_markdown(md, args.out)


if __name__ == "__main__":
    main()
