"""Domain-level accuracy and organisation extraction, measured with the pipeline's own code.

    python benchmarks/domain_report.py [--data ../shared/data/website_classification_dev.csv]

Part 1, the dev CSV (one category per *site*): pages -> page features -> the page task's LFs ->
label model -> soft-label classifier -> domain profiles (``domains/profiles.py`` + the domain
LFs). Page predictions are cross-fitted (5 folds grouped by site: a page is scored by a model that
never saw its site; no gold label is used anywhere in training). Site-level accuracy and macro-F1
are compared with the baseline "majority page label per site, from majority-vote LFs" and with
the same aggregation without domain LFs. The dev CSV is text only (no HTML), and mostly one page
per site, so aggregation has little to add there beyond the domain LFs.

Part 2, the project's own sample scrape (4 batches; many pages per site; HTML with metadata):
the same comparison where a site has many pages, and the organisation extraction against the
organisation each sample site was generated for.

Prints the tables and writes them to ``benchmarks/results/domain_report.md``.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from beambell_assets.demo.sample import sample_truth, write_sample_scrape  # noqa: E402
from beambell_assets.domains.domain_lfs import build_domain_lfs  # noqa: E402
from beambell_assets.domains.profiles import combine, domain_partials  # noqa: E402
from beambell_assets.domains.suffix import parse_url  # noqa: E402
from beambell_assets.ingest.features import build_page_features  # noqa: E402
from beambell_assets.ingest.readers import read_landing_file  # noqa: E402
from beambell_assets.labeling.applier import FastLFApplier  # noqa: E402
from beambell_assets.labeling.task import Task, load_task  # noqa: E402
from beambell_assets.organisations.normalise import normalise_name  # noqa: E402
from beambell_assets.organisations.records import page_evidence, resolve_site, site_evidence  # noqa: E402
from beambell_assets.training.evaluation import evaluate  # noqa: E402
from beambell_assets.training.label_model import fit_label_model  # noqa: E402
from beambell_assets.training.soft_classifier import SoftLabelTextClassifier  # noqa: E402
from beambell_assets.training.training_set import build_training_set  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "website_classification_dev.csv"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "domain_report.md"
PAGE_TASK = "beambell_assets.labeling.tasks.web_content"


# ----------------------------------------------------------------------------- page pipeline


def crossfit_predictions(
    task: Task, features: pd.DataFrame, L: np.ndarray, groups: np.ndarray, folds: int = 5, seed: int = 0
) -> pd.DataFrame:
    """Every page's top label and probability from a model trained on the other sites' weak labels."""
    k, names = task.cardinality, list(task.label_names)
    labels = np.empty(len(features), dtype=object)
    probs = np.zeros(len(features))
    for tr, te in GroupKFold(n_splits=folds).split(features, groups=groups):
        fit = fit_label_model(L[tr], k, seed=seed, n_epochs=500, class_balance="uniform", label_names=names)
        ts = build_training_set(features.iloc[tr].reset_index(drop=True), L[tr], fit.probs, task.text_field)
        y = ts.frame[[f"prob_{c}" for c in range(k)]].to_numpy()
        model = SoftLabelTextClassifier(n_classes=k, random_state=seed).fit(ts.frame["text"].tolist(), y)
        proba = np.asarray(model.predict_proba(features[task.text_field].iloc[te].tolist()))
        labels[te] = [names[i] for i in proba.argmax(axis=1)]
        probs[te] = proba.max(axis=1)
    return pd.DataFrame({"page_id": features["page_id"], "label": labels, "probability": probs})


def site_decisions(task: Task, features: pd.DataFrame, L: np.ndarray, preds: pd.DataFrame) -> pd.DataFrame:
    """Per site: the domain profile's category (with and without domain LFs) and the baseline."""
    partials = domain_partials(features, task.label_names, preds, L).assign(partition_key="p")
    lfs = build_domain_lfs(task.label_names)
    rows = []
    for r in partials.to_dict("records"):
        full = combine(r["registered_domain"], [r], lfs, task.label_names)
        bare = combine(r["registered_domain"], [r], [], task.label_names)
        rows.append(
            {
                "site": r["registered_domain"],
                "n_pages": r["n_pages"],
                "profile": full["category"],
                "profile_no_domain_lfs": bare["category"],
                "baseline_mv": full["baseline_category"],
                "confidence": full["confidence"],
            }
        )
    return pd.DataFrame(rows)


def score(truth: pd.Series, decided: pd.Series, names: list[str]) -> dict[str, float]:
    index = {n: i for i, n in enumerate(names)}
    y = np.array([index[t] for t in truth])
    p = np.array([index.get(d, -1) if isinstance(d, str) else -1 for d in decided])
    ev = evaluate(y, p, names)
    return {
        "accuracy": float((p == y).mean()),
        "macro_f1": float(ev["macro_f1"]),
        "coverage": float((p >= 0).mean()),
    }


def compare(task: Task, features: pd.DataFrame, page_truth: pd.Series, title: str) -> dict[str, Any]:
    """Run LFs, cross-fitted classifier and domain aggregation; score pages and sites."""
    t0 = time.perf_counter()
    L, _ = FastLFApplier(list(task.lfs), n_jobs=1).apply(features)
    sites = np.array([parse_url(u).registered_domain for u in features["url"]])
    preds = crossfit_predictions(task, features, L, sites)
    decisions = site_decisions(task, features, L, preds)
    per_site = pd.DataFrame({"site": sites, "truth": page_truth.to_numpy()})
    votes = per_site.groupby("site")["truth"].agg(lambda s: Counter(s).most_common(1)[0][0])
    mixed = int(per_site.groupby("site")["truth"].nunique().gt(1).sum())
    decisions = decisions.merge(votes.rename("truth"), left_on="site", right_index=True)
    names = list(task.label_names)
    present = sorted(set(decisions["truth"]), key=names.index)
    table = pd.DataFrame(
        [
            {
                "level": "page",
                "method": "weakly supervised classifier (cross-fitted)",
                **score(page_truth, preds["label"], names),
            },
            {
                "level": "site",
                "method": "baseline: majority page label per site, majority-vote LFs",
                **score(decisions["truth"], decisions["baseline_mv"], names),
            },
            {
                "level": "site",
                "method": "domain profile without domain LFs",
                **score(decisions["truth"], decisions["profile_no_domain_lfs"], names),
            },
            {
                "level": "site",
                "method": "**domain profile** (pages + LF votes + domain LFs)",
                **score(decisions["truth"], decisions["profile"], names),
            },
        ]
    )
    return {
        "title": title,
        "pages": len(features),
        "sites": len(decisions),
        "multi_page_sites": int((decisions["n_pages"] > 1).sum()),
        "sites_with_mixed_truth": mixed,
        "classes_present": present,
        "table": table,
        "seconds": time.perf_counter() - t0,
    }


# ----------------------------------------------------------------------------- data


def dev_features(path: Path, task: Task) -> tuple[pd.DataFrame, pd.Series]:
    raw = pd.read_csv(path)
    raw = raw[raw["Category"].notna() & raw["website_url"].notna()].reset_index(drop=True)
    raw = raw[[bool(parse_url(u).registered_domain) for u in raw["website_url"]]].reset_index(drop=True)
    pages = pd.DataFrame(
        {
            "page_id": [f"dev-{i}" for i in raw.index],
            "partition_key": "dev",
            "url": raw["website_url"].astype(str),
            "text": raw["cleaned_website_text"].fillna("").astype(str),
        }
    )
    features = build_page_features(pages)
    return task.prepared(features), raw["Category"]


def sample_pages(workdir: Path, n_batches: int = 4, per_batch: int = 150, seed: int = 0) -> pd.DataFrame:
    """The sample scrape as the ingest step accepts it (landing contract, quarantine applied)."""
    paths = write_sample_scrape(workdir, n_batches=n_batches, pages_per_batch=per_batch, seed=seed)
    hashes: frozenset[str] = frozenset()
    frames = []
    for p in paths:
        res = read_landing_file(p, p.stem, known_content_hashes=hashes)
        hashes = hashes | frozenset(res.accepted["content_hash"])
        frames.append(res.accepted)
    return pd.concat(frames, ignore_index=True)


def sample_sites(seed: int = 0) -> dict[str, tuple[str, str]]:
    """Site -> (organisation, category) the sample generated it for.

    Rebuilds the sites with ``demo/pages.py``'s writer: the sample has no accessor for its sites
    (a ``sample_sites(seed)`` there would be the clean way).
    """
    from beambell_assets.demo.pages import Writer

    writer = Writer(random.Random(seed))
    return {
        parse_url(f"https://{s.host}/").registered_domain: (s.org, s.category)
        for sites in writer.sites.values()
        for s in sites
    }


def org_report(raw: pd.DataFrame, seed: int) -> dict[str, Any]:
    truth = sample_sites(seed)
    pages = raw[["url", "html", "text", "title"]]
    t0 = time.perf_counter()
    evidence = page_evidence(pages)
    per_site = site_evidence(pages["url"].tolist(), evidence)
    resolved = [resolve_site(r["registered_domain"], [r]) for r in per_site.to_dict("records")]
    seconds = time.perf_counter() - t0
    rows = []
    for s in resolved:
        org, category = truth.get(s.registered_domain, ("?", "?"))
        winner = max((k for k in s.sources if k != "domain"), key=lambda k: s.sources[k], default="domain")
        rows.append(
            {
                "site": s.registered_domain,
                "category": category,
                "extracted": s.org_name,
                "truth": org,
                "correct": normalise_name(s.org_name) == normalise_name(org),
                "main_source": winner,
                "text_only": s.text_only,
                "confidence": s.confidence,
                "pages": s.n_pages,
            }
        )
    df = pd.DataFrame(rows)
    html_sites = df[~df["text_only"]]
    # The same sites as a text-only scrape would see them: HTML dropped, only text and title left.
    stripped = pages.assign(html=None)
    text_sites = site_evidence(stripped["url"].tolist(), page_evidence(stripped))
    text_correct = [
        normalise_name(resolve_site(r["registered_domain"], [r]).org_name)
        == normalise_name(truth.get(r["registered_domain"], ("?", "?"))[0])
        for r in text_sites.to_dict("records")
    ]
    summary = pd.DataFrame(
        [
            {"sites": "all", "n": len(df), "exact_name": df["correct"].mean()},
            {"sites": "with HTML", "n": len(html_sites), "exact_name": html_sites["correct"].mean()},
            {
                "sites": "same sites, HTML dropped (text and title only)",
                "n": len(text_correct),
                "exact_name": float(np.mean(text_correct)) if text_correct else float("nan"),
            },
        ]
    )
    return {
        "summary": summary,
        "by_source": df.groupby("main_source")
        .agg(sites=("site", "size"), exact_name=("correct", "mean"))
        .reset_index(),
        "pages_with_html": int(sum(e.from_html for e in evidence)),
        "pages": len(pages),
        "examples": df.sort_values("pages", ascending=False).head(12)[
            ["site", "extracted", "truth", "main_source"]
        ],
        "errors": df[~df["correct"]].head(10)[["site", "extracted", "truth", "main_source", "text_only"]],
        "ms_per_page": 1000 * seconds / max(1, len(pages)),
    }


# ----------------------------------------------------------------------------- output


def to_markdown(parts: list[dict[str, Any]], orgs: dict[str, Any], argv: list[str]) -> str:
    out = [
        "# Domain profiles and organisations",
        "",
        f"`python benchmarks/domain_report.py {' '.join(argv)}`".replace(" `", "`"),
        f"— {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python {platform.python_version()}, "
        f"{platform.machine()}.",
        "",
    ]
    for p in parts:
        out += [
            f"## {p['title']}",
            "",
            f"{p['pages']} pages, {p['sites']} sites ({p['multi_page_sites']} with more than one page; "
            f"{p['sites_with_mixed_truth']} whose pages carry different true categories, scored against "
            f"their majority), {len(p['classes_present'])} classes present; {p['seconds']:.0f} s. Macro-F1 "
            "over the classes present; coverage = share of sites (pages) given any category.",
            "",
            p["table"].to_markdown(index=False, floatfmt=".3f"),
            "",
        ]
    out += [
        "## Organisations extracted from the sample scrape",
        "",
        f"{orgs['pages']} accepted pages ({orgs['pages_with_html']} with HTML), "
        f"{orgs['ms_per_page']:.1f} ms per page. A site's extracted organisation is correct when its "
        "normalised name equals the one the sample generated the site for (legal forms and case ignored).",
        "",
        orgs["summary"].to_markdown(index=False, floatfmt=".3f"),
        "",
        "By the strongest source behind the chosen name:",
        "",
        orgs["by_source"].to_markdown(index=False, floatfmt=".3f"),
        "",
        "Largest sites:",
        "",
        orgs["examples"].to_markdown(index=False),
        "",
        "Misses:",
        "",
        orgs["errors"].to_markdown(index=False),
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    task = load_task(PAGE_TASK)
    parts = []
    if args.data.exists():
        features, truth = dev_features(args.data, task)
        parts.append(compare(task, features, truth, f"Dev CSV (`{args.data.name}`), text only"))
    else:
        print(f"skipping the dev CSV: {args.data} not found")
    with tempfile.TemporaryDirectory() as tmp:
        raw = sample_pages(Path(tmp), seed=args.seed)
    truth = sample_truth(seed=args.seed).drop_duplicates("url").set_index("url")["label"]
    raw = raw[raw["url"].isin(truth.index)].reset_index(drop=True)
    features = build_page_features(raw)
    parts.append(
        compare(task, features, truth.loc[raw["url"]].reset_index(drop=True), "Sample scrape, 4 batches")
    )
    orgs = org_report(raw, args.seed)
    text = to_markdown(parts, orgs, argv)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
