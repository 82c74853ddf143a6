"""Quality of weak supervision on any labelled data set, side by side with a supervised bound.

    python benchmarks/quality_report.py                       # the dev websites, default task
    python benchmarks/quality_report.py --task examples/ag_news_task.py --data ag_news_train.csv \\
        --map url=url,title=title,text=text,label=label
    python benchmarks/quality_report.py ... --one-vs-rest Travel --positive-rate 0.1   # imbalanced

``--data`` is a CSV, JSONL or Parquet file read through beambell's own landing contract with the
``--map`` column mapping (as ``beambell demo --data FILE --map ...``); its ``label`` column is the
truth, used **only for scoring** except in the supervised rows. On the rows that have a label:

(a) every aggregator in :data:`AGGREGATORS` (majority vote, Snorkel's label model with the
    gold-free EM prior, the same with Snorkel's uniform prior; more are added there), on all rows;
(b) the weakly supervised end model, k-fold stratified: per fold, the label model is fitted on the
    training folds' votes only, the end model learns their probabilistic labels, and it is scored
    on the held-out fold's true labels:
    * ``auto``: the gold-free choice (``training/end_model.py``), made inside the fold;
    * every candidate of that choice, trained the same way (what a perfect choice would give);
    * the pre-#13 pipeline: uniform-prior label model + the fixed word TF-IDF model, soft and argmax;
(c) the supervised bound: the fixed model and the auto choice's configuration on the true labels;
(d) always the training folds' majority class.

It also prints the class prior estimated without gold next to the truth. ``--one-vs-rest LABEL``
turns the task into "LABEL vs the rest" (an LF vote for LABEL -> 1, any other vote -> 0) and
``--positive-rate`` subsamples the positives to that share: a constructed imbalanced task.
Markdown goes to ``benchmarks/results/quality_report*.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import tldextract
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from beambell_assets.ingest.contract import ColumnMapping  # noqa: E402
from beambell_assets.ingest.features import build_page_features  # noqa: E402
from beambell_assets.ingest.readers import read_landing_file  # noqa: E402
from beambell_assets.labeling.task import Task, load_task  # noqa: E402
from beambell_assets.settings import DEFAULT_TASK  # noqa: E402
from beambell_assets.training.calibration import LogitCalibration  # noqa: E402
from beambell_assets.training.class_prior import estimate_class_prior, label_shift_factors  # noqa: E402
from beambell_assets.training.encoder import encoder_available, resolve_encoder_path  # noqa: E402
from beambell_assets.training.end_model import (  # noqa: E402
    CRITERIA,
    DEFAULT_C_GRID,
    Candidate,
    candidate_estimator,
    candidates,
    fit_end_model,
    fold_matrices,
    searched_features,
)
from beambell_assets.training.evaluation import evaluate  # noqa: E402
from beambell_assets.training.label_model import fit_label_model  # noqa: E402
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier  # noqa: E402
from beambell_assets.training.training_set import build_training_set, prob_columns  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "website_classification_dev.csv"
DEFAULT_MAP = "url=website_url,text=cleaned_website_text,label=Category"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "quality_report.md"
ABSTAIN = -1
#: The row of auto's best single candidate when auto is an ensemble (what auto was before it).
SINGLE_BEST = "(b) auto's best single candidate (combine=best, pre-ensemble auto)"

# ----------------------------------------------------------------------------- aggregators

#: name -> fn(L, k, seed, n_epochs) -> (n, k) probabilities (uncovered rows: any row, ignored).
#: The hook for more aggregators (Dawid-Skene, triplet, ...): add an entry and it gets a row in (a)
#: and, if listed in ``END_MODEL_AGGREGATOR``'s place, can feed the end model.
Aggregator = Callable[[np.ndarray, int, int, int], np.ndarray]


def _majority(L: np.ndarray, k: int, seed: int, n_epochs: int) -> np.ndarray:
    return fit_label_model(L, k, seed=seed, n_epochs=1, class_balance="uniform").mv_probs


def _label_model(prior: str) -> Aggregator:
    def agg(L: np.ndarray, k: int, seed: int, n_epochs: int) -> np.ndarray:
        return fit_label_model(L, k, seed=seed, n_epochs=n_epochs, class_balance=prior).probs

    return agg


AGGREGATORS: dict[str, Aggregator] = {
    "majority_vote": _majority,
    "label_model (EM prior, gold-free)": _label_model("auto"),
    "label_model (uniform prior, pre-#13)": _label_model("uniform"),
}


# ----------------------------------------------------------------------------- data


def load_labelled(path: Path, task: Task, mapping: str) -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    """Page features and class indices of the rows whose label is one of the task's labels."""
    result = read_landing_file(path, "report", ColumnMapping.parse(mapping))
    features = build_page_features(result.accepted).reset_index(drop=True)
    labels = [task.label_for(c) for c in features["label"]]  # "sports" -> "Sports", as gold is read
    has = pd.Series([c is not None for c in labels], index=features.index)
    counts = {
        "rows_read": int(result.rows_read),
        "quarantined": len(result.quarantined),
        "unlabelled": int((~has).sum()),
    }
    y = np.array([task.label_index(c) for c in labels if c is not None], dtype=np.int64)
    return features[has].reset_index(drop=True), y, counts


# Kept for benchmarks/active_learning.py, which reads the dev CSV this way.
def load_dev_frame(path: Path, task: Task) -> tuple[pd.DataFrame, np.ndarray]:
    """Features for the dev rows that have a category, and their class indices in the task."""
    raw = pd.read_csv(path)
    expected = {"website_url", "cleaned_website_text", "Category"}
    if not expected <= set(raw.columns):
        raise ValueError(f"{path}: expected columns {sorted(expected)}, found {list(raw.columns)}")
    raw = raw[raw["Category"].notna()].reset_index(drop=True)
    unknown = sorted(set(raw["Category"]) - set(task.label_names))
    if unknown:
        raise ValueError(f"{path}: categories {unknown} are not labels of task {task.name!r}")
    y = np.array([task.label_index(c) for c in raw["Category"]], dtype=np.int64)
    return build_features(raw), y


def build_features(raw: pd.DataFrame) -> pd.DataFrame:
    """A minimal ``page_features`` frame: url parts and text; structure counts unknown (NaN)."""
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    urls = raw["website_url"].fillna("").astype(str).tolist()
    text = raw["cleaned_website_text"].fillna("").astype(str).str.split().str.join(" ").tolist()
    hosts, paths, registered, tlds = [], [], [], []
    for url in urls:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").rstrip(".").lower()
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        except ValueError:
            host, path = "", ""
        ext = extract(host) if host else None
        hosts.append(host)
        paths.append(path.lower())
        if ext is not None and ext.domain and ext.suffix:
            registered.append(f"{ext.domain}.{ext.suffix}")
        else:
            registered.append(host)
        tlds.append(ext.suffix if ext is not None else "")
    index = raw["Unnamed: 0"] if "Unnamed: 0" in raw.columns else raw.index
    n = len(raw)
    nan = np.full(n, np.nan)
    return pd.DataFrame(
        {
            "page_id": [f"dev-{i}" for i in index],
            "partition_key": "dev",
            "url": urls,
            "domain": hosts,
            "registered_domain": registered,
            "tld": tlds,
            "url_path": paths,
            "title": "",
            "description": "",
            "og_site_name": "",
            "text": text,
            "text_len": [len(t) for t in text],
            "n_tokens": [len(t.split()) for t in text],
            "n_links": nan,
            "n_images": nan,
            "n_forms": nan,
            "n_price_mentions": nan,
            "n_date_mentions": nan,
            "has_html": 0,
            "ascii_ratio": nan,
        }
    )


def apply_lfs(task: Task, features: pd.DataFrame, *, prepared: bool = False) -> tuple[np.ndarray, str]:
    """The label matrix, with beambell's ``FastLFApplier`` (``prepared``: ``task.prepare`` already
    ran on ``features``, as on the pipeline's ``page_features``)."""
    from beambell_assets.labeling.applier import FastLFApplier

    frame = features if prepared else task.prepared(features)
    L, _report = FastLFApplier(list(task.lfs), n_jobs=1).apply(frame)
    return L, "beambell FastLFApplier"


def labelled_votes(
    path: Path, task: Task, mapping: str | None
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A labelled file as the pipeline sees it: page features (prepared by the task, as
    ``page_features`` does), class indices and the task's label matrix. ``mapping`` None: the
    dev CSV's mapping for the default data, else the file's own column names."""
    if mapping is None:
        mapping = DEFAULT_MAP if path == DEFAULT_DATA else ""
    features, y, _counts = load_labelled(path, task, mapping)
    features = task.prepared(features)  # the text field may be prepared
    L, _applier = apply_lfs(task, features, prepared=True)
    return features, y, L


def weak_fold(
    features: pd.DataFrame, L: np.ndarray, tr: np.ndarray, k: int, text_field: str, seed: int, n_epochs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One outer fold's weak training set, gold never seen: the label model fitted on the fold's
    votes, its probabilities and texts on the rows some LF covers, and the class reweighting
    P(y) / P(y | covered) the end model trains with. Returns ``(probs, texts, shift)``."""
    fit = fit_label_model(L[tr], k, seed=seed, n_epochs=n_epochs)
    ts = build_training_set(features.iloc[tr].reset_index(drop=True), L[tr], fit.probs, text_field)
    P, Xw = ts.frame[prob_columns(k)].to_numpy(), ts.frame["text"].to_numpy(dtype=object)
    cp = fit.class_prior
    shift = label_shift_factors(cp.prior, cp.prior_covered) if cp is not None else None
    return P, Xw, shift


def held_out_probs(
    cands: Sequence[Candidate],
    train_texts: np.ndarray,
    P: np.ndarray,
    test_texts: np.ndarray,
    k: int,
    class_weight: np.ndarray | None,
    encoder_path: str | None,
    calibrations: dict[str, LogitCalibration],
) -> dict[str, np.ndarray]:
    """Every candidate fitted on one outer fold's weak labels ``P`` and its probabilities on the
    held-out texts. A calibrated candidate is its base's fit with the calibration the search
    fitted on its held-out predictions (``calibrations``, ``EndModelSelection.calibrations``)."""
    cache: dict[str, Any] = {}
    fitted: dict[tuple[str, float, str], Any] = {}
    out: dict[str, np.ndarray] = {}
    for cand in cands:
        Xtr, Xte = fold_matrices(cand.features, train_texts, test_texts, k, encoder_path, cache)
        base = (cand.features, cand.C, cand.targets)
        if base not in fitted:
            est = candidate_estimator(cand, k, class_weight=class_weight, encoder_path=encoder_path)
            fitted[base] = est.fit_features(Xtr, P if cand.targets == "soft" else P.argmax(axis=1))
        out[cand.name] = fitted[base].set_calibration(calibrations.get(cand.name)).predict_proba_features(Xte)
    return out


def write_markdown(md: str, out: Path | None) -> None:
    """Print a benchmark's Markdown and write it to ``out`` (its folder made), if there is one."""
    print(md)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(md, encoding="utf-8")
        print(f"written to {out}")


def data_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments every quality benchmark takes: the labelled file, its mapping, the task and
    the outer folds."""
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled CSV/JSONL/Parquet")
    parser.add_argument("--map", default=None, help="column mapping, e.g. url=u,text=t,label=y")
    parser.add_argument("--task", default=DEFAULT_TASK, help="task module or file (default: web content)")
    parser.add_argument("--folds", type=int, default=5)


def one_vs_rest(
    L: np.ndarray, y: np.ndarray, positive: int, rate: float | None, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary votes and truth for "positive vs the rest", positives subsampled to ``rate``;
    returns (L, y, kept row indices)."""
    Lb = np.where(L == ABSTAIN, ABSTAIN, (positive == L).astype(np.int64))
    yb = (y == positive).astype(np.int64)
    keep = np.arange(len(y))
    if rate is not None:
        rng = np.random.default_rng(seed)
        pos, neg = np.flatnonzero(yb == 1), np.flatnonzero(yb == 0)
        n_pos = min(len(pos), round(rate * len(neg) / (1 - rate)))
        keep = np.sort(np.concatenate([neg, rng.choice(pos, size=n_pos, replace=False)]))
    return Lb[keep], yb[keep], keep


# ----------------------------------------------------------------------------- experiment


def _score(y: np.ndarray, pred: np.ndarray, names: list[str]) -> dict[str, float]:
    ev = evaluate(y, pred, names)
    return {"accuracy": float(ev["accuracy"]), "macro_f1": float(ev["macro_f1"])}


def run(
    features: pd.DataFrame,
    y: np.ndarray,
    L: np.ndarray,
    names: list[str],
    text_field: str,
    *,
    folds: int = 5,
    seed: int = 0,
    n_epochs: int = 500,
    c_grid: tuple[float, ...] = DEFAULT_C_GRID,
    criterion: str = "cross_entropy",
    encoder_path: str | None = None,
    baseline_field: str | None = None,
) -> dict[str, Any]:
    """Everything the report shows, as numbers (``baseline_field``: also the pre-#13 fixed model
    reading that column, e.g. what the task's classifier read before)."""
    t0 = time.perf_counter()
    k = len(names)
    texts = features[text_field].fillna("").astype(str).to_numpy(dtype=object)
    feats = searched_features(encoder_path)
    cands = candidates(feats, c_grid)

    agg_rows = []
    for name, agg in AGGREGATORS.items():
        probs = agg(L, k, seed, n_epochs)
        covered = (L != ABSTAIN).any(axis=1)
        pred = np.where(covered, probs.argmax(axis=1), ABSTAIN)
        ev = evaluate(y, pred, names)
        agg_rows.append(
            {
                "method": f"(a) {name}",
                "accuracy": ev["accuracy"],
                "macro_f1": ev["macro_f1"],
                "coverage": ev["coverage"],
                "accuracy_on_covered": ev["accuracy_on_predicted"],
            }
        )

    est = estimate_class_prior(L, k)
    covered_all = (L != ABSTAIN).any(axis=1)
    truth = np.bincount(y, minlength=k) / len(y)
    truth_cov = np.bincount(y[covered_all], minlength=k) / max(int(covered_all.sum()), 1)
    prior_table = pd.DataFrame(
        {
            "class": names,
            "true_prior": truth,
            "em_prior": est.prior,
            "true_prior_covered": truth_cov,
            "em_prior_covered": est.prior_covered,
            "uniform": np.full(k, 1.0 / k),
        }
    )
    prior_table = prior_table[(prior_table["true_prior"] > 0) | (prior_table["em_prior"] > 0.01)]

    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    per_fold: list[dict[str, float]] = []
    chosen: list[str] = []
    search_seconds: list[float] = []
    search_cpu: list[float] = []
    search_repeats: list[int] = []
    for tr, te in skf.split(np.zeros(len(y)), y):
        row: dict[str, float] = {}

        def put(method: str, pred: np.ndarray, te: np.ndarray = te, row: dict[str, float] = row) -> None:
            for metric, value in _score(y[te], pred, names).items():
                row[f"{method}|{metric}"] = value

        P, Xw, shift = weak_fold(features, L, tr, k, text_field, seed, n_epochs)

        auto = fit_end_model(
            Xw.tolist(),
            P,
            k,
            "auto",
            class_weight=shift,
            encoder_path=encoder_path,
            c_grid=c_grid,
            criterion=criterion,
            seed=seed,
        )
        assert auto.selection is not None
        chosen.append(auto.selection.model_name)
        search_seconds.append(auto.selection.seconds)
        search_cpu.append(auto.selection.cpu_seconds)
        search_repeats.append(auto.selection.repeats)
        put("(b) auto end model (gold-free choice)", auto.model.predict(texts[te].tolist()))

        held_out = held_out_probs(
            cands, Xw, P, texts[te], k, shift, encoder_path, auto.selection.calibrations
        )
        for cand in cands:
            pred_c = held_out[cand.name].argmax(axis=1)
            put(f"(b) candidate {cand.name}", pred_c)
            if cand == auto.selection.chosen and auto.selection.members:
                put(SINGLE_BEST, pred_c)

        old = fit_label_model(L[tr], k, seed=seed, n_epochs=n_epochs, class_balance="uniform")
        ts_old = build_training_set(features.iloc[tr].reset_index(drop=True), L[tr], old.probs, text_field)
        P_old = ts_old.frame[prob_columns(k)].to_numpy()
        fixed = SoftLabelTextClassifier(n_classes=k, random_state=0).fit(ts_old.frame["text"].tolist(), P_old)
        put("(b) fixed model, pre-#13 (uniform prior, word, soft)", fixed.predict(texts[te].tolist()))
        fixed_hard = SoftLabelTextClassifier(n_classes=k, random_state=0).fit(
            ts_old.frame["text"].tolist(), P_old.argmax(axis=1)
        )
        put("(b) fixed model, pre-#13, argmax labels", fixed_hard.predict(texts[te].tolist()))
        if baseline_field is not None:
            base_texts = features[baseline_field].fillna("").astype(str).to_numpy(dtype=object)
            ts_base = build_training_set(
                features.iloc[tr].reset_index(drop=True), L[tr], old.probs, baseline_field
            )
            fixed_base = SoftLabelTextClassifier(n_classes=k, random_state=0).fit(
                ts_base.frame["text"].tolist(), ts_base.frame[prob_columns(k)].to_numpy()
            )
            name = f"(b) fixed model, pre-#13, reading `{baseline_field}`"
            put(name, fixed_base.predict(base_texts[te].tolist()))

        sup = SoftLabelTextClassifier(n_classes=k, random_state=0).fit(texts[tr].tolist(), y[tr])
        put("(c) supervised bound, fixed model", sup.predict(texts[te].tolist()))
        sup_auto = auto.selection.estimator(k, encoder_path=encoder_path).fit(texts[tr].tolist(), y[tr])
        put("(c) supervised bound, auto's configuration", sup_auto.predict(texts[te].tolist()))
        majority = np.bincount(y[tr], minlength=k).argmax()
        put("(d) always the majority class", np.full(len(te), majority))
        per_fold.append(row)

    folds_df = pd.DataFrame(per_fold)
    methods = list(dict.fromkeys(c.split("|")[0] for c in folds_df.columns))
    cv_rows = []
    for m in methods:
        acc, f1 = folds_df[f"{m}|accuracy"], folds_df[f"{m}|macro_f1"]
        cv_rows.append(
            {
                "method": m,
                "accuracy": float(acc.mean()),
                "macro_f1": float(f1.mean()),
                "accuracy_sd": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                "macro_f1_sd": float(f1.std(ddof=1)) if len(f1) > 1 else 0.0,
            }
        )
    cv = pd.DataFrame(cv_rows)
    get = cv.set_index("method")
    auto_row = get.loc["(b) auto end model (gold-free choice)"]
    cand_rows = get[get.index.str.startswith("(b) candidate ")]
    fixed_row = get.loc["(b) fixed model, pre-#13 (uniform prior, word, soft)"]
    best_name = str(cand_rows["accuracy"].idxmax())
    checks = {
        f"auto accuracy >= best single candidate ({best_name[14:]}) - 0.5 points": bool(
            auto_row["accuracy"] >= cand_rows["accuracy"].max() - 0.005
        ),
        "auto macro-F1 >= best single candidate's - 0.5 points": bool(
            auto_row["macro_f1"] >= cand_rows["macro_f1"].max() - 0.005
        ),
        "auto accuracy >= fixed pre-#13 model": bool(auto_row["accuracy"] >= fixed_row["accuracy"]),
        "auto macro-F1 >= fixed pre-#13 model": bool(auto_row["macro_f1"] >= fixed_row["macro_f1"]),
    }
    return {
        "n_rows": len(y),
        "n_lfs": L.shape[1],
        "coverage": float(covered_all.mean()),
        "aggregators": pd.DataFrame(agg_rows),
        "cv": cv,
        "folds": folds_df,
        "prior": prior_table,
        "prior_source": est.source,
        "chosen": chosen,
        "search_seconds": search_seconds,
        "search_cpu": search_cpu,
        "search_repeats": search_repeats,
        "checks": checks,
        "auto_minus_fixed_accuracy": float(auto_row["accuracy"] - fixed_row["accuracy"]),
        "auto_minus_fixed_macro_f1": float(auto_row["macro_f1"] - fixed_row["macro_f1"]),
        "seconds": time.perf_counter() - t0,
        "folds_n": folds,
        "candidates": [c.name for c in cands],
        "encoder": encoder_path,
    }


# ----------------------------------------------------------------------------- output


def _fmt_frame(df: pd.DataFrame) -> str:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype.kind == "f":
            out[col] = out[col].map(lambda x: "—" if not np.isfinite(x) else f"{x:.3f}")
    return out.to_markdown(index=False)


def to_markdown(res: dict[str, Any], command: str, title: str) -> str:
    checks = "\n".join(f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in res["checks"].items())
    chosen = ", ".join(res["chosen"])
    return f"""# Quality report: {title}

`{command}`

Generated on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (Python {platform.python_version()}) in
{res["seconds"]:.0f} s. {res["n_rows"]} labelled rows, {res["n_lfs"]} LFs, LF coverage
{res["coverage"]:.3f}. Gold labels score everything and fit only the supervised rows (c).
End-model candidates: {", ".join(res["candidates"])}.

## (a) Aggregators on all rows (a row no LF voted on counts as a miss)

{_fmt_frame(res["aggregators"])}

## (b)-(d) End models, {res["folds_n"]}-fold CV (fold means; label model fitted inside each fold)

{_fmt_frame(res["cv"])}

auto chose, per fold: {chosen} (search per fold: {np.mean(res["search_seconds"]):.1f} s wall,
{np.mean(res["search_cpu"]):.1f} s CPU, {res["search_repeats"][0]} repeat(s) of the k-fold split).
auto - fixed pre-#13: accuracy {100 * res["auto_minus_fixed_accuracy"]:+.1f} points, macro-F1
{100 * res["auto_minus_fixed_macro_f1"]:+.1f} points.

{checks}

## Class prior without gold vs the truth

{_fmt_frame(res["prior"])}

Source: {res["prior_source"]}. `em_prior` is P(y) over all rows, `em_prior_covered` over the rows
some LF voted on (what the label model uses); truth from the labels, for comparison only.
"""


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_arguments(parser)
    parser.add_argument("--out", type=Path, default=None, help="Markdown output")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-epochs", type=int, default=500, help="label model epochs")
    parser.add_argument("--c-grid", default=",".join(f"{c:g}" for c in DEFAULT_C_GRID))
    parser.add_argument(
        "--criterion",
        default="cross_entropy",
        choices=CRITERIA,
        help="the gold-free score auto chooses by (expected_accuracy: the default until 2026-12-06)",
    )
    parser.add_argument(
        "--encoder",
        default=os.environ.get("BEAMBELL_ENCODER_PATH", ""),
        help="encoder directory or 'bundled' (adds the encoder candidate)",
    )
    parser.add_argument("--one-vs-rest", default=None, metavar="LABEL")
    parser.add_argument("--positive-rate", type=float, default=None)
    parser.add_argument(
        "--baseline-field", default=None, help="also score the pre-#13 fixed model reading this column"
    )
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"data file not found: {args.data}")
    task = load_task(args.task)
    features, y, L = labelled_votes(args.data, task, args.map)
    if len(y) < 2 * args.folds:
        parser.error(f"only {len(y)} labelled rows: need at least {2 * args.folds}")
    names = list(task.label_names)
    title = f"task `{task.name}` on `{args.data.name}`"
    if args.one_vs_rest:
        pos = task.label_index(args.one_vs_rest)
        L, y, keep = one_vs_rest(L, y, pos, args.positive_rate, args.seed)
        features = features.iloc[keep].reset_index(drop=True)
        names = ["rest", args.one_vs_rest]
        title += f", {args.one_vs_rest} vs the rest ({y.mean():.1%} positive)"
    encoder = resolve_encoder_path(args.encoder)
    encoder = encoder if encoder_available(encoder) else None
    res = run(
        features,
        y,
        L,
        names,
        task.text_field,
        folds=args.folds,
        seed=args.seed,
        n_epochs=args.n_epochs,
        c_grid=tuple(float(c) for c in args.c_grid.split(",")),
        criterion=args.criterion,
        encoder_path=encoder,
        baseline_field=args.baseline_field,
    )
    command = "python benchmarks/quality_report.py " + " ".join(argv if argv is not None else sys.argv[1:])
    md = to_markdown(res, command.strip(), title)
    out = args.out or DEFAULT_OUT
    write_markdown(md, out)
    res["markdown"], res["out"], res["names"] = md, out, names
    return res


if __name__ == "__main__":
    main()
