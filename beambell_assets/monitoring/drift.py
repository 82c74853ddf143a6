"""Data and prediction drift of one batch against the champion's training data (Evidently 0.7).

What is compared, and how:

* page features (numeric: lengths, counts, ``ascii_ratio`` as the language proxy, the number of
  LFs that fired on the page; categorical: ``has_html``, the registered-domain mix bucketed to the
  reference's top-K domains plus ``"other"``) and the predicted class mix and confidence go through
  an Evidently ``DataDriftPreset``. The statistical test is chosen by sample size, not left to
  Evidently's reference-size rule: while the smaller frame has at most
  ``DriftThresholds.small_sample_rows`` rows, p-value tests (KS, chi-square) at ``p_value``; above
  that, distances (normed Wasserstein, Jensen-Shannon) at ``distance``. Measured on the project's
  sample scrape, Jensen-Shannon distance of the domain mix between two *same-distribution*
  141-row batches is 0.13-0.18 (above the usual 0.1 threshold), while p-values flag negligible
  shifts once both samples have thousands of rows.
* each labeling function's firing rate is compared with Fisher's exact test plus an effect-size
  floor (Cohen's h), not with Evidently: ~85 binary columns through Evidently cost ~3 s per batch
  (measured; ~0.7 s for the ~14 other columns), Fisher on 85 2x2 tables ~70 ms. The LF table is
  appended to Evidently's HTML report as its own section.

Severity combines group shares so the ~85 LF columns cannot drown the dozen feature columns
(see :meth:`DriftThresholds.severity`). Nothing here touches Dagster, the warehouse or the network.
"""

from __future__ import annotations

import html
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

SEVERITIES = ("none", "moderate", "severe")
#: Prefix of the per-LF 0/1 firing columns in drift frames (keeps LF names clear of feature names).
LF_PREFIX = "lf__"
PREDICTED_CLASS = "pred_label"
PREDICTED_CONFIDENCE = "pred_probability"
DOMAIN_BUCKET = "domain_bucket"
OTHER_DOMAIN = "other"

#: Page-feature columns compared by default (see ``ingest/features.py``).
NUMERIC_FEATURES: tuple[str, ...] = (
    "text_len",
    "n_tokens",
    "n_links",
    "n_images",
    "n_forms",
    "n_price_mentions",
    "n_date_mentions",
    "ascii_ratio",
    "lfs_fired",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("has_html", DOMAIN_BUCKET)


def evidently_modules() -> tuple[Any, Any, Any, Any]:
    """``(Report, Dataset, DataDefinition, DataDriftPreset)``, imported on first use.

    Lazy because importing Evidently takes ~3 s (it must not slow down loading the Dagster code
    location), and because Evidently 0.7.23 imports ``infer_dtype_from_object`` from
    ``pandas.core.dtypes.common``, which pandas 3 removed; it is only used by a legacy column-type
    test this module never runs, so an equivalent is put back before the import.
    """
    import pandas.core.dtypes.common as pd_common

    if not hasattr(pd_common, "infer_dtype_from_object"):
        pd_common.infer_dtype_from_object = lambda dtype: pd.api.types.pandas_dtype(dtype).type  # type: ignore[attr-defined]
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    return Report, Dataset, DataDefinition, DataDriftPreset


@dataclass(frozen=True)
class DriftThresholds:
    """Tests, thresholds and how per-column verdicts roll up into a severity.

    Column groups: ``feature`` (page features and domain mix), ``prediction`` (predicted class
    and confidence), ``lf`` (one column per labeling function).

    * severe: feature share >= ``severe_share``, or LF share >= ``lf_severe_share``, or the
      prediction drifted *and* another group is at least moderate (the model sees different
      inputs and answers differently: retraining is the remedy);
    * moderate: feature share >= ``moderate_share``, or LF share >= ``lf_moderate_share``, or the
      prediction drifted alone;
    * otherwise none. Retraining is recommended at ``retrain_on`` severity or worse.
    """

    moderate_share: float = 0.25
    severe_share: float = 0.5
    lf_moderate_share: float = 0.2
    lf_severe_share: float = 0.5
    min_rows: int = 30
    small_sample_rows: int = 1000
    p_value: float = 0.05
    distance: float = 0.1
    lf_p_value: float = 0.01
    lf_min_effect: float = 0.2
    retrain_on: str = "severe"

    def methods(self, n_current: int, n_reference: int) -> tuple[str, str, float]:
        """``(numeric method, categorical method, threshold)`` for these sample sizes."""
        if min(n_current, n_reference) <= self.small_sample_rows:
            return "ks", "chisquare", self.p_value
        return "wasserstein", "jensenshannon", self.distance

    def severity(self, feature_share: float, lf_share: float, prediction_drifted: bool) -> tuple[str, str]:
        """``(severity, reason)`` from the group shares (see the class docstring)."""
        parts = [f"feature share {feature_share:.2f}", f"LF share {lf_share:.2f}"]
        parts.append("prediction drifted" if prediction_drifted else "prediction stable")
        reason = ", ".join(parts)
        if feature_share >= self.severe_share or lf_share >= self.lf_severe_share:
            return "severe", reason
        others_moderate = feature_share >= self.moderate_share or lf_share >= self.lf_moderate_share
        if prediction_drifted and others_moderate:
            return "severe", reason
        if others_moderate or prediction_drifted:
            return "moderate", reason
        return "none", reason

    def recommends_retrain(self, severity: str) -> bool:
        return SEVERITIES.index(severity) >= SEVERITIES.index(self.retrain_on)


TABLE_COLUMNS = [
    "column",
    "kind",
    "stattest",
    "score",
    "threshold",
    "drifted",
    "current",
    "reference",
    "note",
]


@dataclass
class DriftResult:
    """The verdict on one batch, its per-column table and the Evidently snapshot behind it."""

    share_drifted: float
    n_drifted: int
    n_columns: int
    drifted_columns: list[str]
    table: pd.DataFrame
    severity: str
    retrain_recommended: bool
    n_current: int
    n_reference: int
    group_shares: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    snapshot: Any = None

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary (stored as ``drift_reports.summary_json``)."""
        return {
            "severity": self.severity,
            "retrain_recommended": self.retrain_recommended,
            "share_drifted": self.share_drifted,
            "n_drifted": self.n_drifted,
            "n_columns": self.n_columns,
            "drifted_columns": self.drifted_columns,
            "group_shares": self.group_shares,
            "n_current": self.n_current,
            "n_reference": self.n_reference,
            "notes": self.notes,
            "seconds": self.seconds,
        }

    def html(self) -> str:
        """Evidently's standalone HTML report, with the verdict on top and the LF firing table at the end.

        When Evidently did not run (too few rows), a plain page that says why.
        """
        lf_rows = self.table[self.table["kind"] == "lf"]
        section = _html_section(
            "Labeling-function firing rates (Fisher's exact test + Cohen's h)",
            lf_rows.sort_values(["drifted", "score"], ascending=[False, True]),
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        header = (
            f"<section style='font-family:sans-serif;margin:16px'><h2>beambell drift verdict: "
            f"{html.escape(self.severity)}</h2><p>{self.n_drifted} of {self.n_columns} columns drifted "
            f"(share {self.share_drifted:.3f}); current rows {self.n_current}, reference rows "
            f"{self.n_reference}; retrain recommended: {self.retrain_recommended}</p>"
            f"<ul>{notes}</ul></section>"
        )
        if self.snapshot is None:
            body = _html_section("All compared columns", self.table)
            return (
                f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{header}{body}</body></html>"
            )
        page = self.snapshot.get_html_str(as_iframe=False)
        # The verdict goes first (after <body>), the LF table last (before </body>).
        start = page.find("<body>")
        if start >= 0:
            page = page[: start + len("<body>")] + header + page[start + len("<body>") :]
        else:
            page = header + page
        cut = page.rfind("</body>")
        return page[:cut] + section + page[cut:] if cut >= 0 else page + section

    def save_html(self, path: str | Path) -> Path:
        """Write :meth:`html` to ``path`` (a local file; for the artifact store use ``html()``)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.html(), encoding="utf-8")
        return target


def _html_section(title: str, frame: pd.DataFrame) -> str:
    shown = frame.drop(
        columns=[c for c in ("current", "reference") if c in frame.columns and frame[c].isna().all()]
    )
    table = shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0)
    return (
        f"<section style='font-family:sans-serif;margin:16px'><h3>{html.escape(title)}</h3>"
        f"<div style='font-size:12px'>{table}</div></section>"
    )


# ---------------------------------------------------------------------------------- frames


def bucket_domains(current: pd.Series, reference: pd.Series, top_k: int = 20) -> tuple[pd.Series, pd.Series]:
    """Both domain columns mapped to the reference's ``top_k`` registered domains, else ``"other"``.

    Buckets come from the reference only, so a new dominant domain in the batch shows up as a
    jump in ``"other"`` (which is what it is: traffic the model was not trained on).
    """
    ref = reference.fillna("").astype(str)
    keep = set(ref[ref != ""].value_counts().head(top_k).index)

    def _map(values: pd.Series) -> pd.Series:
        v = values.fillna("").astype(str)
        return pd.Series(np.where(v.isin(keep), v, OTHER_DOMAIN), index=values.index, dtype=object)

    return _map(current), _map(reference)


def lf_columns_of(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith(LF_PREFIX)]


def prepare_frames(
    current: pd.DataFrame, reference: pd.DataFrame, *, top_k_domains: int = 20
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    """Drift frames (see ``monitoring/reference.py``) -> compared frames and their column roles.

    Adds the domain bucket, keeps the LF columns both frames have, and returns
    ``{"numeric": [...], "categorical": [...], "lf": [...]}`` for :func:`compute_drift`.
    """
    cur, ref = current.copy(), reference.copy()
    if "registered_domain" in cur.columns and "registered_domain" in ref.columns:
        cur[DOMAIN_BUCKET], ref[DOMAIN_BUCKET] = bucket_domains(
            cur["registered_domain"], ref["registered_domain"], top_k_domains
        )
    numeric = [c for c in (*NUMERIC_FEATURES, PREDICTED_CONFIDENCE) if c in cur.columns and c in ref.columns]
    categorical = [
        c for c in (*CATEGORICAL_FEATURES, PREDICTED_CLASS) if c in cur.columns and c in ref.columns
    ]
    lfs = [c for c in lf_columns_of(cur) if c in ref.columns]
    return cur, ref, {"numeric": numeric, "categorical": categorical, "lf": lfs}


# ---------------------------------------------------------------------------------- drift


def _kind(column: str, lf_columns: set[str]) -> str:
    if column in lf_columns:
        return "lf"
    if column in (PREDICTED_CLASS, PREDICTED_CONFIDENCE):
        return "prediction"
    return "feature"


def _summary(values: pd.Series, categorical: bool) -> str:
    v = values.dropna()
    if v.empty:
        return "empty"
    if categorical:
        top = v.astype(str).value_counts(normalize=True).head(3)
        return ", ".join(f"{k}: {p:.0%}" for k, p in top.items())
    return f"median {float(v.median()):.4g}"


def _row(
    column: str, kind: str, stattest: str, score: float, threshold: float, drifted: bool, **kw: Any
) -> dict:
    return {
        "column": column,
        "kind": kind,
        "stattest": stattest,
        "score": score,
        "threshold": threshold,
        "drifted": bool(drifted),
        "current": kw.get("current"),
        "reference": kw.get("reference"),
        "note": kw.get("note", ""),
    }


def _screen(
    cur: pd.Series, ref: pd.Series, categorical: bool, min_rows: int
) -> tuple[pd.Series, pd.Series, str | None]:
    """Cleaned columns, or a reason not to hand them to Evidently (empty or constant in both)."""
    if not categorical:
        cur = pd.to_numeric(cur, errors="coerce").astype(float)
        ref = pd.to_numeric(ref, errors="coerce").astype(float)
    nc, nr = int(cur.notna().sum()), int(ref.notna().sum())
    if categorical:  # once a column has values, "missing" is a category of its own
        cur = cur.astype(object).where(cur.notna(), "missing").astype(str)
        ref = ref.astype(object).where(ref.notna(), "missing").astype(str)
    if nc < min_rows or nr < min_rows:
        return cur, ref, f"too few non-missing values (current {nc}, reference {nr})"
    values = pd.concat([cur.dropna(), ref.dropna()])
    if values.nunique() <= 1:
        return cur, ref, "constant in both frames"
    return cur, ref, None


def _fisher_rows(
    current: pd.DataFrame, reference: pd.DataFrame, columns: Sequence[str], t: DriftThresholds
) -> list[dict]:
    """Per-LF firing rate: Fisher's exact test, and Cohen's h as the effect-size floor.

    Both must agree for a drift: the p-value guards small batches against noise, the effect
    size keeps huge batches from flagging a 30 % -> 31 % change.
    """
    rows = []
    n_cur, n_ref = len(current), len(reference)
    for col in columns:
        name = col[len(LF_PREFIX) :]
        fc = int((pd.to_numeric(current[col], errors="coerce").fillna(0) > 0).sum())
        fr = int((pd.to_numeric(reference[col], errors="coerce").fillna(0) > 0).sum())
        pc, pr = fc / n_cur, fr / n_ref
        h = abs(2 * math.asin(math.sqrt(pc)) - 2 * math.asin(math.sqrt(pr)))
        if fc == fr == 0:
            p, note = 1.0, "never fires in either frame"
        else:
            p = float(stats.fisher_exact([[fc, n_cur - fc], [fr, n_ref - fr]])[1])
            note = f"Cohen's h {h:.2f}"
        drifted = p < t.lf_p_value and h >= t.lf_min_effect
        rows.append(
            _row(
                name,
                "lf",
                "fisher_exact",
                p,
                t.lf_p_value,
                drifted,
                current=f"{pc:.1%}",
                reference=f"{pr:.1%}",
                note=note,
            )
        )
    return rows


def _evidently_rows(
    current: pd.DataFrame,
    reference: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    t: DriftThresholds,
) -> tuple[list[dict], Any]:
    Report, Dataset, DataDefinition, DataDriftPreset = evidently_modules()
    num_method, cat_method, threshold = t.methods(len(current), len(reference))
    preset = DataDriftPreset(
        columns=[*numeric, *categorical],
        num_method=num_method,
        cat_method=cat_method,
        threshold=threshold,
        drift_share=t.severe_share,
    )
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([preset], include_tests=True).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
    result = snapshot.dict()
    scores: dict[str, tuple[str, float, float]] = {}
    for metric in result["metrics"]:
        cfg = metric.get("config", {})
        if str(cfg.get("type", "")).endswith("ValueDrift"):
            scores[cfg["column"]] = (
                str(cfg.get("method")),
                float(metric["value"]),
                float(cfg.get("threshold")),
            )
    verdicts: dict[str, bool] = {}
    for test in result["tests"]:
        params = test.get("metric_config", {}).get("params", {})
        if str(params.get("type", "")).endswith("ValueDrift"):
            verdicts[params["column"]] = str(getattr(test["status"], "value", test["status"])) == "FAIL"
    rows = []
    for col in [*numeric, *categorical]:
        method, score, thr = scores.get(
            col, (num_method if col in numeric else cat_method, math.nan, threshold)
        )
        rows.append(
            _row(
                col,
                _kind(col, set()),
                method,
                score,
                thr,
                verdicts.get(col, False),
                current=_summary(current[col], col in categorical),
                reference=_summary(reference[col], col in categorical),
            )
        )
    return rows, snapshot


def _stattest_rows(
    current: pd.DataFrame,
    reference: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    t: DriftThresholds,
) -> list[dict]:
    """The rows :func:`_evidently_rows` gives, from the function Evidently's ``ValueDrift`` calls
    per column (``get_one_column_drift``: same tests, options and verdicts), without a ``Report``.

    ``Report.run`` builds every metric's plotly widgets as it calculates (~85 % of its CPU); a
    verdict that is never shown as HTML (the promotion gate's) does not need them.
    """
    evidently_modules()  # the pandas shim, before Evidently's legacy modules import
    from evidently.legacy.calculations.data_drift import get_one_column_drift
    from evidently.legacy.core import ColumnType
    from evidently.legacy.metric_results import DatasetColumns, DatasetUtilityColumns
    from evidently.legacy.options.data_drift import DataDriftOptions

    num_method, cat_method, threshold = t.methods(len(current), len(reference))
    rows = []
    for col in [*numeric, *categorical]:
        is_cat = col in categorical
        column_type = ColumnType.Categorical if is_cat else ColumnType.Numerical
        method = cat_method if is_cat else num_method
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            drift = get_one_column_drift(
                current_data=current[[col]],
                reference_data=reference[[col]],
                column_name=col,
                options=DataDriftOptions(all_features_stattest=method, all_features_threshold=threshold),
                dataset_columns=DatasetColumns(
                    utility_columns=DatasetUtilityColumns(date=None, id=None, target=None, prediction=None),
                    target_type=None,
                    task=None,
                    num_feature_names=[] if is_cat else [col],
                    cat_feature_names=[col] if is_cat else [],
                    text_feature_names=[],
                    datetime_feature_names=[],
                    target_names=None,
                ),
                column_type=column_type,
                agg_data=False,
            )
        rows.append(
            _row(
                col,
                _kind(col, set()),
                method,  # the Report's table names the method by its id too ("ks", not "K-S p_value")
                float(drift.drift_score),
                float(drift.stattest_threshold),
                bool(drift.drift_detected),
                current=_summary(current[col], is_cat),
                reference=_summary(reference[col], is_cat),
            )
        )
    return rows


def compute_drift(
    current: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    numeric: list[str],
    categorical: list[str],
    lf_columns: Sequence[str] = (),
    thresholds: DriftThresholds = DriftThresholds(),
    report: bool = True,
) -> DriftResult:
    """Compare ``current`` with ``reference`` column by column and give a severity.

    Never raises on small or degenerate input: too few rows gives severity ``"none"`` with a note;
    columns that are empty or constant in both frames are listed but not tested.
    ``report=False``: the same verdicts and table without Evidently's ``Report`` (no snapshot,
    so :meth:`DriftResult.html` shows the table only), for checks nobody reads as HTML.
    """
    t = thresholds
    lf_set = set(lf_columns)
    n_cur, n_ref = len(current), len(reference)
    notes: list[str] = []
    seconds: dict[str, float] = {}
    if n_cur < t.min_rows or n_ref < t.min_rows:
        notes.append(
            f"not compared: current has {n_cur} rows, reference {n_ref}; "
            f"at least {t.min_rows} each are needed"
        )
        table = pd.DataFrame(
            [
                _row(c, _kind(c, lf_set), "skipped", math.nan, math.nan, False, note="too few rows")
                for c in [*numeric, *categorical, *lf_columns]
            ],
            columns=TABLE_COLUMNS,
        )
        return DriftResult(0.0, 0, 0, [], table, "none", False, n_cur, n_ref, notes=notes)

    rows: list[dict] = []
    tested_num, tested_cat = [], []
    cur_frame, ref_frame = pd.DataFrame(index=current.index), pd.DataFrame(index=reference.index)
    for col in [*numeric, *categorical]:
        is_cat = col in categorical
        if col not in current.columns or col not in reference.columns:
            notes.append(
                f"column {col} missing from the {'current' if col not in current.columns else 'reference'}"
            )
            continue
        cur_col, ref_col, skip = _screen(current[col], reference[col], is_cat, t.min_rows)
        if skip:
            rows.append(
                _row(
                    col,
                    _kind(col, lf_set),
                    "skipped",
                    math.nan,
                    math.nan,
                    False,
                    current=_summary(cur_col, is_cat),
                    reference=_summary(ref_col, is_cat),
                    note=skip,
                )
            )
            continue
        cur_frame[col], ref_frame[col] = cur_col, ref_col
        (tested_cat if is_cat else tested_num).append(col)

    snapshot = None
    if tested_num or tested_cat:
        started = time.perf_counter()
        if report:
            ev_rows, snapshot = _evidently_rows(cur_frame, ref_frame, tested_num, tested_cat, t)
        else:
            ev_rows = _stattest_rows(cur_frame, ref_frame, tested_num, tested_cat, t)
        seconds["evidently"] = round(time.perf_counter() - started, 3)
        rows.extend(ev_rows)
    if lf_columns:
        started = time.perf_counter()
        rows.extend(_fisher_rows(current, reference, list(lf_columns), t))
        seconds["lf_fisher"] = round(time.perf_counter() - started, 3)

    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    tested = table[table["stattest"] != "skipped"]

    def share(kind: str) -> float:
        part = tested[tested["kind"] == kind]
        return float(part["drifted"].mean()) if len(part) else 0.0

    groups = {k: share(k) for k in ("feature", "prediction", "lf")}
    prediction_drifted = bool(tested.loc[tested["kind"] == "prediction", "drifted"].any())
    severity, reason = t.severity(groups["feature"], groups["lf"], prediction_drifted)
    notes.append(f"severity {severity}: {reason}")
    drifted = tested.loc[tested["drifted"], "column"].tolist()
    n_tested = len(tested)
    return DriftResult(
        share_drifted=len(drifted) / n_tested if n_tested else 0.0,
        n_drifted=len(drifted),
        n_columns=n_tested,
        drifted_columns=drifted,
        table=table,
        severity=severity,
        retrain_recommended=t.recommends_retrain(severity),
        n_current=n_cur,
        n_reference=n_ref,
        group_shares=groups,
        notes=notes,
        seconds=seconds,
        snapshot=snapshot,
    )
