"""Great Expectations suite for the pages a landed batch accepted (the ``page_quality`` asset check).

The reader (:mod:`beambell_assets.ingest.readers`) enforces the landing contract record by record.
This suite states the promises the rest of the pipeline relies on as declarative GX 1.x
expectations, so that their results, not ad-hoc code, are what the blocking check reports:

- ``columns_present`` (batch level): the columns downstream code and the quarantine table need;
- ``<column>_not_null``: ``page_id``, ``url``, ``text``, ``content_hash``;
- ``url_format``: ``http(s)://`` and a plausible host;
- ``text_length`` / ``title_length``: bounds from :class:`QualityPolicy`;
- ``bad_chars``, ``mojibake``, ``letter_share``, ``latin_share``: encoding and language sanity,
  measured on helper columns computed here (no downloads, no language model);
- ``page_id_unique``: within the batch; the first clean occurrence is kept.

Rows failing any row-level expectation leave ``passed`` and appear exactly once in ``failed``
(quarantine schema), with every expectation they failed in ``detail``, so
``len(passed) + len(failed) == len(pages)`` always holds. The batch verdict (``batch_ok``) fails on
a schema mismatch, an expectation that could not be evaluated, or a failed share above policy.

GX is imported lazily and its ephemeral context is built once per process: importing GX costs
seconds, which every Dagster step process would otherwise pay when loading the definitions.
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from beambell_assets.ingest.contract import Limits
from beambell_assets.ingest.readers import QUARANTINE_SCHEMA

if TYPE_CHECKING:
    import great_expectations as gx
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult
    from great_expectations.expectations.expectation import Expectation

_LIMITS = Limits()

#: Columns the suite, the quarantine table and the row identity need.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "page_id",
    "url",
    "text",
    "content_hash",
    "source_file",
    "source_row",
    "partition_key",
)
#: Written so Python ``re`` and RE2 (pyarrow-backed ``str`` columns) agree: no ``\Z``/lookaround.
URL_PATTERN = (
    r"^https?://"
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9_-]{0,62}(?:\.[A-Za-z0-9_-]{1,63})*)"
    r"(?::[0-9]{1,5})?"
    r"(?:[/?#][^\x00-\x20\x7f]*)?$"
)
SUITE_NAME = "beambell_raw_pages"
#: Reason prefix in the quarantine table, so suite rejections stay apart from reader rejections.
REASON_PREFIX = "quality:"

_META_KEY = "beambell_check"
_ROW_KEY = "_q_row"
_LETTER_SHARE = "_q_letter_share"
_LATIN_SHARE = "_q_latin_share"
_BAD_CHAR_SHARE = "_q_bad_char_share"
_MOJIBAKE_SHARE = "_q_mojibake_share"
_HELPER_COLUMNS = (_ROW_KEY, _LETTER_SHARE, _LATIN_SHARE, _BAD_CHAR_SHARE, _MOJIBAKE_SHARE)
_STRING_COLUMNS = ("page_id", "url", "title", "text", "content_hash")
_NOT_NULL = ("page_id", "url", "text", "content_hash")
#: The same markers as the reader's check (UTF-8 decoded as Latin-1 / cp1252: ``Ã©``, ``â€™``).
_MOJIBAKE_RE = re.compile("[ÃÂ][\u0080-\u00bf]|â€[\u0080-\u00bf\u2018-\u201e\u2020-\u2122\u0152\u0153\u0161]")
_SAMPLE_ROWS = 3
_SAMPLE_CHARS = 160
_RAW_FIELD_CHARS = 500
_RAW_SKIP = ("html",)


@dataclass(frozen=True)
class QualityPolicy:
    """Bounds of the suite; defaults follow :class:`~beambell_assets.ingest.contract.Limits`."""

    min_text_chars: int = _LIMITS.min_text_chars
    max_text_chars: int = _LIMITS.max_text_chars
    #: A <title> longer than this is scraped body text or a template bug, not a title.
    max_title_chars: int = 2_000
    #: More than this share of rows failing means the batch itself is bad (scraper or mapping
    #: broke), not a few bad pages: the blocking check fails.
    max_failed_share: float = 0.2
    #: Letters (and combining marks) among non-space characters. Prose in any alphabet is 75-85 %
    #: letters and "cleaned" lowercased text more; of 10,000 sample pages (prices, dates, menus
    #: and all) none is below 70 % and 99 % are above 80 %. Number tables, minified JS/CSS,
    #: binary junk read as text and most mis-decoded bytes fall below 50 %.
    min_alpha_ratio: float = 0.5
    #: Latin-script letters among all letters. The label space and the keyword LFs target
    #: Latin-script languages, and mostly non-Latin text in a Latin-script crawl is more often
    #: mis-decoded bytes (ASCII read as UTF-16 turns into CJK ideographs) than a page the LFs
    #: could label. Set 0 to accept every script.
    min_latin_ratio: float = 0.5
    #: U+FFFD, control characters (other than whitespace) and lone surrogates per character: the
    #: same budget the reader gives replacement characters.
    max_bad_char_ratio: float = _LIMITS.max_replacement_ratio
    #: Mojibake sequences per character once at least ``min_mojibake_hits`` are found (as the reader).
    max_mojibake_ratio: float = _LIMITS.max_mojibake_ratio
    min_mojibake_hits: int = _LIMITS.min_mojibake_hits
    #: Quarantine keeps this many characters of ``detail`` and of the ``raw`` row preview.
    raw_preview_chars: int = _LIMITS.raw_preview_chars

    def __post_init__(self) -> None:
        if self.min_text_chars < 0 or self.max_text_chars <= self.min_text_chars:
            raise ValueError("QualityPolicy: need 0 <= min_text_chars < max_text_chars")
        if self.max_title_chars <= 0 or self.raw_preview_chars <= 0 or self.min_mojibake_hits < 1:
            raise ValueError("QualityPolicy: max_title_chars, raw_preview_chars, min_mojibake_hits >= 1")
        shares = (
            self.max_failed_share,
            self.min_alpha_ratio,
            self.min_latin_ratio,
            self.max_bad_char_ratio,
            self.max_mojibake_ratio,
        )
        if not all(0.0 <= s <= 1.0 for s in shares):
            raise ValueError("QualityPolicy: shares and ratios must be within [0, 1]")


@dataclass
class QualityOutcome:
    """What the suite made of one batch; ``passed`` and ``failed`` partition the input rows."""

    #: Rows that met every row-level expectation: the input's columns, a fresh RangeIndex.
    passed: pd.DataFrame
    #: ``QUARANTINE_SCHEMA`` columns; ``reason`` is ``quality:<first failed expectation>``.
    failed: pd.DataFrame
    #: One row per expectation: expectation, type, column, condition, success, evaluated,
    #: unexpected_count, unexpected_percent (GX's numbers), rows_failed (rows quarantined for it:
    #: GX counts every copy of a duplicate page_id, the kept first copy is not failed), sample.
    expectations: pd.DataFrame
    batch_ok: bool
    batch_problems: list[str] = field(default_factory=list)
    statistics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Check:
    """One expectation plus what beambell needs to explain its failures."""

    name: str
    expectation: Expectation
    #: Input column the expectation is about (``None``: batch level).
    column: str | None
    #: Column GX looks at (a helper column for the character checks).
    gx_column: str | None
    condition: str
    #: Offending value -> human-readable reason.
    why: Callable[[Any], str]


# ----------------------------------------------------------------------------------- public API


def build_page_suite(policy: QualityPolicy = QualityPolicy()) -> gx.ExpectationSuite:
    """A fresh suite of the page expectations (not registered with any context)."""
    return _suite(_checks(policy))


def validate_pages(pages: pd.DataFrame, policy: QualityPolicy = QualityPolicy()) -> QualityOutcome:
    """Run the suite on ``pages`` (a reader's accepted frame) and split it into passed / failed."""
    started = time.perf_counter()
    suite, checks = _compiled(policy)
    frame, index_column = _validation_frame(pages, policy)
    gx_started = time.perf_counter()
    result = _run_suite(frame, suite, index_column)
    gx_seconds = time.perf_counter() - gx_started

    by_name = {(r.expectation_config.meta or {}).get(_META_KEY): r for r in result.results}
    identity = _RowIdentity.of(pages, frame, index_column)
    missing = [c for c in REQUIRED_COLUMNS if c not in pages.columns]
    failures: dict[int, list[tuple[str, str]]] = {}
    summaries: list[dict[str, Any]] = []
    problems: list[str] = [f"schema: missing required column(s) {', '.join(missing)}"] if missing else []
    for check in checks:
        res = by_name.get(check.name)
        if res is None or _raised(res):
            if check.column is None or check.column in pages.columns:  # else: the schema problem says why
                problems.append(f"{check.name} could not be evaluated: {_exception_message(res)}")
            summaries.append(_summary(check, res, evaluated=False))
            continue
        hits = _unexpected_positions(res, check, identity) if check.gx_column else []
        if check.name == "page_id_unique":
            hits = _later_duplicates(hits, failures, identity)
        for pos, why in hits:
            failures.setdefault(pos, []).append((check.name, why))
        sample = "; ".join(
            _cut(f"row {identity.source_row(pos)}: {why}", _SAMPLE_CHARS) for pos, why in hits[:_SAMPLE_ROWS]
        )
        summaries.append(_summary(check, res, evaluated=True, rows_failed=len(hits), sample=sample))
    skipped = [s["expectation"] for s in summaries if not s["evaluated"]]
    if missing and skipped:
        problems.insert(1, f"not evaluated for lack of columns: {', '.join(skipped)}")

    rows_in, rows_failed = len(pages), len(failures)
    failed_share = rows_failed / rows_in if rows_in else 0.0
    if failed_share > policy.max_failed_share:
        problems.append(
            f"{rows_failed} of {rows_in} rows ({failed_share:.1%}) failed the suite, "
            f"above the policy's {policy.max_failed_share:.0%}"
        )
    keep = np.ones(rows_in, dtype=bool)
    keep[list(failures)] = False
    passed = pages.iloc[np.flatnonzero(keep)].reset_index(drop=True)
    failed = _failed_frame(pages, failures, identity, policy)
    statistics: dict[str, Any] = {
        "evaluated_expectations": len(checks) - len(skipped),
        "successful_expectations": sum(1 for s in summaries if s["evaluated"] and s["success"]),
        "rows_in": rows_in,
        "rows_passed": len(passed),
        "rows_failed": rows_failed,
        "failed_share": round(failed_share, 4),
        "gx_seconds": round(gx_seconds, 3),
        "seconds": round(time.perf_counter() - started, 3),
        "failed_by_reason": _reason_counts(failures),
    }
    return QualityOutcome(
        passed=passed,
        failed=failed,
        expectations=pd.DataFrame(summaries, columns=list(_SUMMARY_COLUMNS)),
        batch_ok=not problems,
        batch_problems=problems,
        statistics=statistics,
    )


# ------------------------------------------------------------------------------------ the suite


def _checks(policy: QualityPolicy) -> tuple[_Check, ...]:
    """Every expectation in priority order: a failing row's ``reason`` names the first it failed."""
    import great_expectations as gx

    e = gx.expectations
    p = policy

    def check(
        name: str,
        expectation: type[Expectation],
        kwargs: dict[str, Any],
        columns: tuple[str | None, str | None],
        condition: str,
        why: Callable[[Any], str],
    ) -> _Check:
        exp = expectation(**kwargs, meta={_META_KEY: name}, description=condition)
        return _Check(name, exp, columns[0], columns[1], condition, why)

    return (
        check(
            "columns_present",
            e.ExpectTableColumnsToMatchSet,
            {"column_set": list(REQUIRED_COLUMNS), "exact_match": False},
            (None, None),
            f"columns include {', '.join(REQUIRED_COLUMNS)}",
            str,
        ),
        *(
            check(
                f"{c}_not_null",
                e.ExpectColumnValuesToNotBeNull,
                {"column": c},
                (c, c),
                f"{c} not null",
                _null_why(c),
            )
            for c in _NOT_NULL
        ),
        check(
            "url_format",
            e.ExpectColumnValuesToMatchRegex,
            {"column": "url", "regex": URL_PATTERN},
            ("url", "url"),
            "url is http(s):// with a host",
            lambda v: f"not an http(s) url with a host: {_cut(repr(v), 120)}",
        ),
        check(
            "text_length",
            e.ExpectColumnValueLengthsToBeBetween,
            {"column": "text", "min_value": p.min_text_chars, "max_value": p.max_text_chars},
            ("text", "text"),
            f"{p.min_text_chars:,} <= len(text) <= {p.max_text_chars:,}",
            lambda v: f"text has {len(str(v)):,} chars, outside [{p.min_text_chars:,}, {p.max_text_chars:,}]",
        ),
        check(
            "title_length",
            e.ExpectColumnValueLengthsToBeBetween,
            {"column": "title", "max_value": p.max_title_chars},
            ("title", "title"),
            f"len(title) <= {p.max_title_chars:,} when present",
            lambda v: f"title has {len(str(v)):,} chars > {p.max_title_chars:,}",
        ),
        check(
            "bad_chars",
            e.ExpectColumnValuesToBeBetween,
            {"column": _BAD_CHAR_SHARE, "max_value": p.max_bad_char_ratio},
            ("text", _BAD_CHAR_SHARE),
            f"U+FFFD/control chars <= {_pct(p.max_bad_char_ratio)} of text",
            lambda v: (
                f"{_pct(v)} of the text is U+FFFD or control characters (max {_pct(p.max_bad_char_ratio)})"
            ),
        ),
        check(
            "mojibake",
            e.ExpectColumnValuesToBeBetween,
            {"column": _MOJIBAKE_SHARE, "max_value": p.max_mojibake_ratio},
            ("text", _MOJIBAKE_SHARE),
            f"mojibake <= {_pct(p.max_mojibake_ratio, 2)} of text (counted from {p.min_mojibake_hits} hits)",
            lambda v: (
                f"mojibake ('Ã©', 'â€™'): {_pct(v, 2)} of the text (max {_pct(p.max_mojibake_ratio, 2)})"
            ),
        ),
        check(
            "letter_share",
            e.ExpectColumnValuesToBeBetween,
            {"column": _LETTER_SHARE, "min_value": p.min_alpha_ratio},
            ("text", _LETTER_SHARE),
            f"letters >= {_pct(p.min_alpha_ratio, 0)} of non-space chars",
            lambda v: (
                f"only {_pct(v)} of non-space characters are letters (min {_pct(p.min_alpha_ratio, 0)})"
            ),
        ),
        check(
            "latin_share",
            e.ExpectColumnValuesToBeBetween,
            {"column": _LATIN_SHARE, "min_value": p.min_latin_ratio},
            ("text", _LATIN_SHARE),
            f"Latin-script letters >= {_pct(p.min_latin_ratio, 0)} of letters",
            lambda v: f"only {_pct(v)} of letters are Latin script (min {_pct(p.min_latin_ratio, 0)})",
        ),
        check(
            "page_id_unique",
            e.ExpectColumnValuesToBeUnique,
            {"column": "page_id"},
            ("page_id", "page_id"),
            "page_id unique in the batch (first clean occurrence kept)",
            lambda v: f"page_id {v} repeats",
        ),
    )


@functools.lru_cache(maxsize=8)
def _compiled(policy: QualityPolicy) -> tuple[gx.ExpectationSuite, tuple[_Check, ...]]:
    """Suite and checks per policy, built once: pydantic expectation objects are not free."""
    checks = _checks(policy)
    return _suite(checks), checks


def _suite(checks: tuple[_Check, ...]) -> gx.ExpectationSuite:
    """Expectations passed to the constructor: ``add_expectation`` wants a registered context."""
    import great_expectations as gx

    return gx.ExpectationSuite(name=SUITE_NAME, expectations=[c.expectation for c in checks])


def _null_why(column: str) -> Callable[[Any], str]:
    return lambda _v: f"{column} is missing"


# ------------------------------------------------------------------------------- running GX

_GX_LOCK = threading.RLock()
_GX_STATE: dict[str, BatchDefinition] = {}


def _batch_definition() -> BatchDefinition:
    """The whole-dataframe batch definition of a process-wide ephemeral context, built once."""
    with _GX_LOCK:
        if "bd" not in _GX_STATE:
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            config = DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(),  # no data docs site
                # tqdm bars on stderr are noise in Dagster's compute logs.
                progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            )
            context = gx.get_context(mode="ephemeral", project_config=config)
            asset = context.data_sources.add_pandas("beambell").add_dataframe_asset("raw_pages")
            _GX_STATE["bd"] = asset.add_batch_definition_whole_dataframe("whole_batch")
        return _GX_STATE["bd"]


def _run_suite(frame: pd.DataFrame, suite: gx.ExpectationSuite, index_column: str) -> Any:
    """Validate under the lock: one shared context, and GX makes no thread-safety promise."""
    result_format = {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": [index_column],
        "return_unexpected_index_query": False,
    }
    with _GX_LOCK:
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(suite, result_format=result_format)


def _validation_frame(pages: pd.DataFrame, policy: QualityPolicy) -> tuple[pd.DataFrame, str]:
    """A copy with the helper columns, uniform string dtypes and a usable row-identity column.

    ``source_row`` identifies rows when it is complete and unique (one landing file); otherwise a
    positional helper column does, so a mixed or hand-made frame cannot mis-map failures.
    """
    frame = pages.reset_index(drop=True).drop(columns=[c for c in _HELPER_COLUMNS if c in pages.columns])
    for column in _STRING_COLUMNS:
        if column in frame.columns and not isinstance(frame[column].dtype, pd.StringDtype):
            frame[column] = frame[column].astype("str")
    if "title" not in frame.columns:
        frame["title"] = pd.Series([None] * len(frame), dtype="str")
    if "text" in frame.columns:
        frame = frame.assign(**_text_helpers(frame["text"], policy))
    rows = frame["source_row"] if "source_row" in frame.columns else None
    if rows is not None and rows.notna().all() and rows.is_unique:
        return frame, "source_row"
    frame[_ROW_KEY] = np.arange(len(frame), dtype=np.int64)
    return frame, _ROW_KEY


# ----------------------------------------------------------------------- character statistics

_SPACE, _LATIN, _LETTER, _MARK, _DIGIT, _OTHER, _BAD = range(7)
_N_CLASSES = 7


@functools.cache
def _char_class_table() -> np.ndarray:
    """Class of every BMP code point (about 30 ms once); astral planes are handled in bulk."""
    table = np.empty(0x10000, dtype=np.uint8)
    for cp in range(0x10000):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if ch.isspace():
            cls = _SPACE
        elif cat[0] == "L":
            cls = _LATIN if unicodedata.name(ch, "").startswith("LATIN ") else _LETTER
        elif cat[0] == "M":
            cls = _MARK
        elif cat[0] == "N":
            cls = _DIGIT
        elif cat in ("Cc", "Cs") or cp == 0xFFFD:
            cls = _BAD
        else:
            cls = _OTHER
        table[cp] = cls
    return table


def _class_counts(text: str, table: np.ndarray) -> np.ndarray:
    """Characters per class, one vectorised pass (ASCII text is read as bytes)."""
    if text.isascii():
        return np.bincount(table[np.frombuffer(text.encode("ascii"), dtype=np.uint8)], minlength=_N_CLASSES)
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    classes = table[np.minimum(codes, 0xFFFF)]
    astral = codes > 0xFFFF
    if astral.any():
        # Supplementary ideographs (planes 2-3) are letters; the rest is mostly emoji and symbols.
        ideograph = (codes >= 0x20000) & (codes < 0x40000)
        classes[astral] = np.where(ideograph[astral], _LETTER, _OTHER)
    return np.bincount(classes, minlength=_N_CLASSES)


def _text_helpers(texts: pd.Series, policy: QualityPolicy) -> dict[str, np.ndarray]:
    """Per-row character shares (NaN where the share is undefined, which GX skips)."""
    n = len(texts)
    out = {
        name: np.full(n, np.nan) for name in (_LETTER_SHARE, _LATIN_SHARE, _BAD_CHAR_SHARE, _MOJIBAKE_SHARE)
    }
    table = _char_class_table()
    for i, text in enumerate(texts.to_numpy(dtype=object)):
        if not isinstance(text, str):
            continue
        counts = _class_counts(text, table)
        total = len(text)
        nonspace = total - counts[_SPACE]
        letters = counts[_LATIN] + counts[_LETTER]
        if nonspace:
            out[_LETTER_SHARE][i] = (letters + counts[_MARK]) / nonspace
        if letters:
            out[_LATIN_SHARE][i] = counts[_LATIN] / letters
        if total:
            out[_BAD_CHAR_SHARE][i] = counts[_BAD] / total
            hits = 0 if text.isascii() else len(_MOJIBAKE_RE.findall(text))
            out[_MOJIBAKE_SHARE][i] = hits / total if hits >= policy.min_mojibake_hits else 0.0
    return out


# --------------------------------------------------------------------------- reading results


@dataclass(frozen=True)
class _RowIdentity:
    """Maps GX's unexpected-index values back to positions, and positions to source rows."""

    column: str
    position_of: dict[Any, int]
    source_rows: np.ndarray
    page_ids: np.ndarray

    @classmethod
    def of(cls, pages: pd.DataFrame, frame: pd.DataFrame, column: str) -> _RowIdentity:
        keys = frame[column].to_numpy()
        if "source_row" in pages.columns and column == "source_row":
            source_rows = pages["source_row"].to_numpy()
        else:
            # No usable source_row: fall back to the 1-based position in the frame.
            source_rows = np.arange(1, len(pages) + 1, dtype=np.int64)
            if "source_row" in pages.columns:
                given = pd.to_numeric(pages["source_row"], errors="coerce").to_numpy()
                source_rows = np.where(np.isnan(given), source_rows, given).astype(np.int64)
        page_ids = frame["page_id"].to_numpy(dtype=object) if "page_id" in frame.columns else np.array([])
        return cls(column, {k: i for i, k in enumerate(keys.tolist())}, source_rows, page_ids)

    def source_row(self, position: int) -> int:
        return int(self.source_rows[position])


def _unexpected_positions(
    res: ExpectationValidationResult, check: _Check, identity: _RowIdentity
) -> list[tuple[int, str]]:
    out = []
    for entry in res.result.get("unexpected_index_list") or []:
        key = entry[identity.column]
        out.append(
            (
                identity.position_of[key.item() if hasattr(key, "item") else key],
                check.why(entry.get(check.gx_column)),
            )
        )
    return sorted(out)


def _later_duplicates(
    hits: list[tuple[int, str]], failures: dict[int, list[tuple[str, str]]], identity: _RowIdentity
) -> list[tuple[int, str]]:
    """GX flags every row of a duplicate group; keep the first one that failed nothing else."""
    groups: dict[Any, list[int]] = {}
    for pos, _why in hits:
        groups.setdefault(identity.page_ids[pos], []).append(pos)
    out = []
    for page_id, positions in groups.items():
        clean = [p for p in positions if p not in failures]
        kept = clean[0] if clean else positions[0]
        kept_row = identity.source_row(kept)
        out.extend(
            (p, f"page_id {page_id} duplicates row {kept_row}, which is kept") for p in positions if p != kept
        )
    return sorted(out)


def _raised(res: ExpectationValidationResult) -> bool:
    """Whether GX hit an exception (its info is flat, or keyed by metric when a metric failed)."""
    info = res.exception_info or {}
    nested = (v for v in info.values() if isinstance(v, dict))
    return bool(info.get("raised_exception")) or any(v.get("raised_exception") for v in nested)


def _exception_message(res: ExpectationValidationResult | None) -> str:
    if res is None:
        return "no result returned"
    info = res.exception_info or {}
    message = info.get("exception_message")
    if message is None:  # GX keys exception info by metric when a metric fails
        message = next((v.get("exception_message") for v in info.values() if isinstance(v, dict)), None)
    return _cut(str(message or "unknown error"), 300)


_SUMMARY_COLUMNS = (
    "expectation",
    "type",
    "column",
    "condition",
    "success",
    "evaluated",
    "unexpected_count",
    "unexpected_percent",
    "rows_failed",
    "sample",
)


def _summary(
    check: _Check,
    res: ExpectationValidationResult | None,
    *,
    evaluated: bool,
    rows_failed: int = 0,
    sample: str = "",
) -> dict[str, Any]:
    result = res.result if res is not None and evaluated else {}
    count = result.get("unexpected_count")
    percent = result.get("unexpected_percent")
    if count is not None and percent is None:
        percent = 0.0  # an empty batch: nothing unexpected
    return {
        "expectation": check.name,
        "type": check.expectation.expectation_type,
        "column": check.column or "(table)",
        "condition": check.condition,
        "success": bool(res.success) if res is not None and evaluated else False,
        "evaluated": evaluated,
        "unexpected_count": int(count) if count is not None else (0 if evaluated else None),
        "unexpected_percent": float(percent) if percent is not None else (0.0 if evaluated else None),
        "rows_failed": rows_failed,
        "sample": sample,
    }


def _reason_counts(failures: dict[int, list[tuple[str, str]]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reasons in failures.values():
        key = REASON_PREFIX + reasons[0][0]
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def _failed_frame(
    pages: pd.DataFrame,
    failures: dict[int, list[tuple[str, str]]],
    identity: _RowIdentity,
    policy: QualityPolicy,
) -> pd.DataFrame:
    """Failing rows in quarantine form (one row each, whatever number of expectations it failed)."""
    positions = sorted(failures)
    records = pages.iloc[positions].to_dict("records") if positions else []

    def value(record: dict[str, Any], column: str) -> Any:
        v = record.get(column)
        return None if _missing(v) else v

    limit = policy.raw_preview_chars
    data = {
        "partition_key": [value(r, "partition_key") for r in records],
        "source_file": [value(r, "source_file") for r in records],
        "source_row": [identity.source_row(p) for p in positions],
        "reason": [REASON_PREFIX + failures[p][0][0] for p in positions],
        "detail": [_storable(_cut("; ".join(f"{n}: {w}" for n, w in failures[p]), limit)) for p in positions],
        "url": [
            _storable(_cut(str(u), limit)) if (u := value(r, "url")) is not None else None for r in records
        ],
        "raw": [_raw_preview(r, limit) for r in records],
    }
    return pd.DataFrame(
        {c: pd.Series(data[c], dtype=object).astype(dtype) for c, dtype in QUARANTINE_SCHEMA.items()}
    )


def _raw_preview(record: dict[str, Any], limit: int) -> str:
    """The row as JSON, long strings cut and ``html`` left out (it is stored with the page)."""
    short = {
        k: (_cut(v, _RAW_FIELD_CHARS) if isinstance(v, str) else v)
        for k, v in record.items()
        if k not in _RAW_SKIP and not _missing(v)
    }
    return _storable(_cut(json.dumps(short, ensure_ascii=False, default=str), limit))


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _storable(text: str) -> str:
    """Lone surrogates become visible ``\\udcxx`` escapes, as in the reader's quarantine rows."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pct(value: Any, digits: int = 1) -> str:
    return f"{float(value):.{digits}%}"
