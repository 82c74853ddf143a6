"""The stream's online model with and without its gold-free calibration, on real labelled data.

    python benchmarks/online_calibration.py [--task T --data FILE --map url=…,text=…,label=…]
        [--one-vs-rest LABEL --positive-rate 0.1] [--features word] [--targets soft]
        [--folds 5] [--seeds 2] [--out FILE]

Per seed and outer fold (gold never used for training): the label model is fitted on the fold's
votes (``fit_label_model``, as the batch path does); the fold's covered pages are streamed **once**,
in a random order, through the stream's own ``OnlineSoftClassifier`` with a calibrated spec, one
update per ``LearnerConfig().online_update_every`` pages, replay relabelled with that label model;
every page is predicted before it is learned (the model's held-out window). The held-out fold is
then scored three ways from the *same* weights: raw (no calibration), calibrated as the stream does
it (offsets shrunk by a prior of ``calibration_prior_rows`` pages), and calibrated without that
prior (the batch path's fit). Accuracy and macro-F1 against gold, means over seeds x folds, and the
number of folds each calibration wins / loses against raw.

Simplifications, said here so the numbers are read for what they are: the label model is fixed
per fold (the stream refits it as statistics accumulate) and the streams are short (each fold's
~400-500 covered pages, so the window never reaches its 2,000 pages).

``--long-pages N`` (default task and dev CSV only) removes both: a pool of N pages resampled from
the dev rows with perturbed texts (the streaming benchmark's generator) is prepared once as the
stream prepares messages; per fold, the pool pages made from the fold's *training* rows go through
the whole ``StreamLearner`` (statistics, triplet and Snorkel refits, the online model following a
champion whose choice is ``--features``/``--targets``, calibrated), and the held-out rows'
*original* pages are scored (one seed, ``--folds`` folds). Markdown to
``benchmarks/results/online_calibration.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from lf_applier import cpu_model, publish  # noqa: E402
from quality_report import DEFAULT_DATA, DEFAULT_TASK, labelled_votes, one_vs_rest  # noqa: E402

from beambell_assets.labeling.task import load_task  # noqa: E402
from beambell_assets.labeling.votes import ABSTAIN  # noqa: E402
from beambell_assets.streaming.learner import LearnerConfig  # noqa: E402
from beambell_assets.streaming.online_features import FEATURES, TARGETS, OnlineSpec  # noqa: E402
from beambell_assets.streaming.online_model import OnlineSoftClassifier  # noqa: E402
from beambell_assets.training.calibration import fit_calibration  # noqa: E402
from beambell_assets.training.label_model import fit_label_model  # noqa: E402

METHODS = ("raw", "calibrated (stream)", "calibrated, no offset prior")


def stream_fold(
    texts: np.ndarray, L: np.ndarray, k: int, spec: OnlineSpec, seed: int, n_epochs: int
) -> tuple[OnlineSoftClassifier, int]:
    """The online model after streaming the covered rows of (texts, L) once; and how many."""
    fit = fit_label_model(L, k, seed=0, n_epochs=n_epochs)
    covered = np.flatnonzero(fit.covered)
    by_row = {L[i].tobytes(): fit.probs[i] for i in covered}

    def relabel(rows: np.ndarray) -> np.ndarray:
        return np.vstack([by_row.get(r.astype(L.dtype).tobytes(), np.zeros(k)) for r in rows])

    config = LearnerConfig(seed=seed)
    model = config.online_model(k, L.shape[1], spec)
    order = np.random.default_rng(seed).permutation(covered)
    step = config.online_update_every
    for s in range(0, len(order), step):
        rows = order[s : s + step]
        model.learn(model.counts(list(texts[rows])), fit.probs[rows], L[rows], relabel=relabel)
    return model, len(covered)


def _results() -> dict[str, Any]:
    return {"scores": {m: [] for m in METHODS}, "scales": [], "windows": [], "pages_learned": []}


def _score(model: OnlineSoftClassifier, texts: np.ndarray, truth: np.ndarray, res: dict[str, Any]) -> None:
    """Score ``texts`` raw, calibrated as the stream does and calibrated unshrunk, from the same
    weights; append to ``res``."""
    counts = model.counts(list(texts))
    raw = model._raw_proba(counts)
    probs = {
        "raw": raw,
        "calibrated (stream)": model.predict_proba_counts(counts),
        "calibrated, no offset prior": fit_calibration(model.held_q, model.held_p).apply(raw),
    }
    for name, q in probs.items():
        pred = q.argmax(axis=1)
        res["scores"][name].append((accuracy_score(truth, pred), f1_score(truth, pred, average="macro")))
    res["scales"].append(model.calibration.scale if model.calibration is not None else np.nan)
    res["windows"].append(len(model.held_q))
    res["pages_learned"].append(model.pages_learned)


def run(
    texts: np.ndarray,
    y: np.ndarray,
    L: np.ndarray,
    k: int,
    spec: OnlineSpec,
    folds: int,
    seeds: int,
    n_epochs: int,
) -> dict[str, Any]:
    res = _results()
    for seed in range(seeds):
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y)
        for f, (tr, te) in enumerate(splits):
            model, _n = stream_fold(texts[tr], L[tr], k, spec, seed * 100 + f, n_epochs)
            _score(model, texts[te], y[te], res)
    return res


class _Uniform:
    """A champion that predicts nothing in particular (the benchmark scores the online model)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.full((len(texts), self.k), 1.0 / self.k)


def run_long(data: Path, n_pages: int, spec: OnlineSpec, folds: int, seed: int) -> dict[str, Any]:
    """See ``--long-pages`` in the module docstring."""
    import json

    import pandas as pd
    from lf_applier import synthetic_pages

    from beambell_assets.labeling.tasks.web_content import TASK
    from beambell_assets.streaming.learner import Champion, StreamLearner
    from beambell_assets.streaming.prepare import PagePreparer
    from beambell_assets.streaming.source import StreamMessage

    raw = pd.read_csv(data)
    raw = raw[raw["cleaned_website_text"].notna() & raw["website_url"].notna() & raw["Category"].notna()]
    raw = raw[raw["Category"].isin(TASK.label_names)].reset_index(drop=True)
    base = pd.DataFrame(
        {"url": raw["website_url"], "text": raw["cleaned_website_text"], "source_label": raw.index}
    )
    y = np.array([TASK.label_index(c) for c in raw["Category"]])

    def prepare(urls: list[str], texts: list[str], start: int) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
        msgs = [
            StreamMessage("s", f"{start + i}-0", json.dumps({"url": u, "text": t}).encode(), {})
            for i, (u, t) in enumerate(zip(urls, texts, strict=True))
        ]
        prepared = PagePreparer(TASK).prepare("s", msgs)
        return prepared.features.reset_index(drop=True), prepared.L_task, prepared.message_ids

    pool = synthetic_pages(base, n_pages, seed=seed)
    urls = [f"{u}{'&' if '?' in str(u) else '?'}bb={i}" for i, u in enumerate(pool["url"])]
    feats, L_task, ids = prepare(urls, pool["text"].tolist(), 1_000_000)
    source = pool["source_label"].to_numpy()[[int(m.split("-")[0]) - 1_000_000 for m in ids]]
    originals, _L, orig_ids = prepare(base["url"].tolist(), base["text"].tolist(), 1)
    orig_rows = np.array([int(m.split("-")[0]) - 1 for m in orig_ids])
    res = _results()
    end_model = {"features": spec.features, "targets": spec.targets, "C": 10.0, "calibrated": True}
    champion = Champion("benchmark", _Uniform(TASK.cardinality), end_model)
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        learner = StreamLearner(TASK, LearnerConfig(seed=seed))
        rows = np.flatnonzero(np.isin(source, tr))
        for s in range(0, len(rows), 256):
            chunk = rows[s : s + 256]
            learner.process_pages([ids[i] for i in chunk], feats.iloc[chunk], L_task[chunk], champion)
        learner.flush_online()
        keep = np.isin(orig_rows, te)
        texts = originals[TASK.text_field].fillna("").astype(str).to_numpy(dtype=object)[keep]
        _score(learner.online, texts, y[orig_rows[keep]], res)
    return res


def to_markdown(res: dict[str, Any], title: str, command: str, seconds: float) -> str:
    scores = res["scores"]
    raw = np.array(scores["raw"])
    lines = [
        f"# Online model calibration: {title}",
        "",
        f"`{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cpu_model()}, {seconds:.0f} s.",
        f"Held-out window per fold: {int(np.mean(res['windows']))} pages on average; "
        f"calibration scale (stream) median {np.nanmedian(res['scales']):.2f}."
        + (
            f" Pages learned per fold: {int(np.mean(res['pages_learned'])):,}."
            if "pages_learned" in res
            else ""
        ),
        "",
        "| online model | accuracy | macro-F1 | folds better / worse than raw (accuracy) |",
        "|:--|--:|--:|--:|",
    ]
    for name in METHODS:
        a = np.array(scores[name])
        wins = int((a[:, 0] > raw[:, 0] + 1e-12).sum())
        losses = int((a[:, 0] < raw[:, 0] - 1e-12).sum())
        vs = "" if name == "raw" else f"{wins} / {losses} of {len(a)}"
        lines.append(f"| {name} | {a[:, 0].mean():.3f} | {a[:, 1].mean():.3f} | {vs} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--map", default=None)
    parser.add_argument("--task", default=DEFAULT_TASK)
    parser.add_argument("--one-vs-rest", default=None, metavar="LABEL")
    parser.add_argument("--positive-rate", type=float, default=None)
    parser.add_argument("--features", default="word", choices=FEATURES)
    parser.add_argument("--targets", default="soft", choices=TARGETS)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--n-epochs", type=int, default=500, help="label model epochs")
    parser.add_argument("--long-pages", type=int, default=0, help="N: the long-stream mode (see above)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "online_calibration.md")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"data file not found: {args.data} (the dev data lives in ../shared/data)")
    spec = OnlineSpec(args.features, args.targets, calibrated=True)
    start = time.perf_counter()
    if args.long_pages:
        if args.task != DEFAULT_TASK or args.map or args.one_vs_rest:
            parser.error("--long-pages runs the default task on the dev CSV only")
        res = run_long(args.data, args.long_pages, spec, args.folds, seed=0)
        title = f"long streams of the dev websites ({args.long_pages:,}-page pool)"
    else:
        task = load_task(args.task)
        features, y, L = labelled_votes(args.data, task, args.map)
        k, title = task.cardinality, f"task `{task.name}` on `{args.data.name}`"
        if args.one_vs_rest:
            L, y, keep = one_vs_rest(L, y, task.label_index(args.one_vs_rest), args.positive_rate, 0)
            features, k = features.iloc[keep].reset_index(drop=True), 2
            title += f", {args.one_vs_rest} vs the rest ({y.mean():.1%} positive)"
        title += f" ({len(y)} rows, coverage {(L != ABSTAIN).any(axis=1).mean():.3f})"
        texts = features[task.text_field].fillna("").astype(str).to_numpy(dtype=object)
        res = run(texts, y, L, k, spec, args.folds, args.seeds, args.n_epochs)
    command = "python benchmarks/online_calibration.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    md = to_markdown(res, f"{title}, online spec {spec.tag}", command.strip(), time.perf_counter() - start)
    publish(md, args.out)
    return res


if __name__ == "__main__":
    main()
