"""Scratch evaluation of the ``web_content`` LFs on the website-classification dev CSV.

Measures only: coverage, conflicts and empirical accuracy per LF, then majority vote and Snorkel's
label model against the CSV's categories. The LFs are written from general knowledge; use this to
find LFs that are wrong in general (too broad, vetoes missing), never to copy terms from the data.

    python scripts/lf_dev_eval.py [--csv PATH] [--errors N] [--by-class]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "website_classification_dev.csv"


def to_features(raw: pd.DataFrame) -> pd.DataFrame:
    """A minimal ``page_features`` frame: url and text from the CSV, URL parts derived here."""
    import tldextract

    extract = tldextract.TLDExtract(suffix_list_urls=())  # bundled suffix list, no network
    rows = []
    for url, text in zip(raw["website_url"], raw["cleaned_website_text"], strict=True):
        url = url if isinstance(url, str) else ""
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host = (parts.hostname or "").lower()
        ext = extract(host)
        registered = ".".join(p for p in (ext.domain, ext.suffix) if p)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        rows.append(
            {
                "url": url,
                "domain": host,
                "registered_domain": registered,
                "tld": ext.suffix,
                "url_path": path.lower(),
                "title": np.nan,
                "description": np.nan,
                "og_site_name": np.nan,
                "text": text if isinstance(text, str) else np.nan,
            }
        )
    df = pd.DataFrame(rows)
    for col in ("text_len", "n_tokens", "n_links", "n_images", "n_forms", "n_price_mentions"):
        df[col] = np.nan
    df["n_date_mentions"] = np.nan
    df["has_html"] = 0
    df["ascii_ratio"] = np.nan
    return df


def print_wrong_terms(lfs: list, L: np.ndarray, y: np.ndarray, df: pd.DataFrame) -> None:
    """For each keyword LF: the terms most often present when it votes wrongly."""
    from collections import Counter

    from beambell_assets.labeling.lf_types import KeywordLF, field_text, ngrams, tokenize

    for j, lf in enumerate(lfs):
        if not isinstance(lf, KeywordLF):
            continue
        wrong = np.flatnonzero((L[:, j] != -1) & (L[:, j] != y))
        if len(wrong) == 0:
            continue
        counts: Counter[str] = Counter()
        for i in wrong:
            grams = ngrams(tokenize(field_text(df.iloc[i], lf.field)), lf.max_n)
            counts.update(k for k in lf.keywords if k in grams)
        top = ", ".join(f"{k}:{c}" for k, c in counts.most_common(25))
        print(f"{lf.name} wrong={len(wrong)}: {top}")


def cross_fitted_classifier(text: pd.Series, probs: np.ndarray, L: np.ndarray) -> np.ndarray:
    """Train on the label model's labels of 4/5 of the rows, predict the held-out 1/5 (x5).

    Rows where every LF abstained are not trained on (as in the pipeline's training set) but are
    predicted. Gold is never used for training.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    texts = text.fillna("").astype(str).to_numpy()
    covered = (L != -1).any(axis=1)
    weak = probs.argmax(axis=1)
    pred = np.full(len(texts), -1)
    for train, test in KFold(5, shuffle=True, random_state=0).split(texts):
        train = train[covered[train]]
        vec = TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2), max_features=100_000)
        clf = LogisticRegression(max_iter=2000, C=10.0)
        clf.fit(vec.fit_transform(texts[train]), weak[train])
        pred[test] = clf.predict(vec.transform(texts[test]))
    return pred


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--errors", type=int, default=0, help="print N label-model errors")
    ap.add_argument("--by-class", action="store_true", help="per-class report")
    ap.add_argument("--terms", action="store_true", help="which keywords make keyword LFs fire wrongly")
    ap.add_argument("--no-lm", action="store_true", help="skip the label model (slow)")
    ap.add_argument(
        "--clf", action="store_true", help="5-fold cross-fitted TF-IDF + logistic regression on LM labels"
    )
    args = ap.parse_args(argv)

    from sklearn.metrics import accuracy_score, classification_report, f1_score
    from snorkel.labeling import LFAnalysis, PandasLFApplier
    from snorkel.labeling.model import LabelModel, MajorityLabelVoter

    from beambell_assets.labeling.tasks.web_content import TASK

    raw = pd.read_csv(args.csv)
    raw = raw[raw["Category"].notna()].reset_index(drop=True)
    df = to_features(raw)
    names = list(TASK.label_names)
    y = np.array([names.index(c) for c in raw["Category"]])
    present = sorted(set(y.tolist()))

    lfs = list(TASK.lfs)
    L = PandasLFApplier(lfs).apply(df, progress_bar=False)
    pd.set_option("display.width", 200, "display.max_rows", 300)
    summary = LFAnalysis(L, lfs).lf_summary(y)
    print(summary.drop(columns=["j"]).to_string())

    covered = (L != -1).any(axis=1)
    print(f"\nLFs: {len(lfs)}   rows: {len(df)}   coverage: {covered.mean():.3f}")

    def report(tag: str, pred: np.ndarray) -> None:
        acc = accuracy_score(y, pred)
        f1 = f1_score(y, pred, average="macro", labels=present, zero_division=0)
        abst = (pred == -1).mean()
        print(f"{tag:<28} acc={acc:.3f}  macro-F1={f1:.3f}  abstain={abst:.3f}")

    mv = MajorityLabelVoter(cardinality=TASK.cardinality)
    report("majority (ties abstain)", mv.predict(L))
    report("majority (ties random)", mv.predict(L, tie_break_policy="random"))
    if args.terms:
        print_wrong_terms(lfs, L, y, df)
    if args.no_lm:
        return 0
    lm = LabelModel(cardinality=TASK.cardinality, verbose=False)
    lm.fit(L, n_epochs=500, seed=0, progress_bar=False)
    lm_pred = lm.predict(L, tie_break_policy="random")
    report("label model", lm_pred)
    if args.by_class:
        print(
            classification_report(
                y, lm_pred, labels=present, target_names=[names[i] for i in present], zero_division=0
            )
        )
    if args.clf:
        report("classifier (cross-fitted)", cross_fitted_classifier(df["text"], lm.predict_proba(L), L))
    if args.errors:
        wrong = np.flatnonzero(lm_pred != y)[: args.errors]
        for i in wrong:
            fired = [f"{lfs[j].name}" for j in np.flatnonzero(L[i] != -1)]
            got = names[lm_pred[i]] if lm_pred[i] >= 0 else "ABSTAIN"
            print(f"- {df.url[i]}  truth={names[y[i]]}  got={got}  fired={fired}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
