"""FastLFApplier gives exactly Snorkel's PandasLFApplier(fault_tolerant=True) label matrix.

No timing here: speed is measured by ``benchmarks/lf_applier.py``.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
from snorkel.labeling import LabelingFunction, PandasLFApplier, labeling_function
from snorkel.preprocess import preprocessor

from beambell_assets.labeling.applier import (
    PATH_COLUMN,
    PATH_FALLBACK,
    PATH_KEYWORD,
    PATH_ROW,
    FastLFApplier,
    apply_lfs,
)
from beambell_assets.labeling.lf_types import (
    ABSTAIN,
    DeclarativeLF,
    KeywordLF,
    MembershipLF,
    RegexLF,
    ThresholdLF,
    field_text,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DEV_CSV = SHARED_DATA / "website_classification_dev.csv"


def snorkel_apply(lfs, df: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
    L, meta = PandasLFApplier(lfs).apply(df, progress_bar=False, fault_tolerant=True, return_meta=True)
    return L, dict(meta.faults)


def assert_same_as_snorkel(lfs, df: pd.DataFrame, **kwargs) -> tuple[np.ndarray, object]:
    expected, expected_faults = snorkel_apply(lfs, df)
    L, report = FastLFApplier(lfs, **kwargs).apply(df)
    assert L.dtype == np.int64
    assert L.shape == (len(df), len(lfs))
    for j, lf in enumerate(lfs):
        np.testing.assert_array_equal(L[:, j], expected[:, j], err_msg=f"LF {lf.name} ({kwargs})")
    assert report.faults == expected_faults
    return L, report


# --------------------------------------------------------------------------- LFs used below
# module level, so they also pickle for a spawn-started pool


@preprocessor(memoize=True)
def add_n_tokens(x):
    x.n_tokens = len(field_text(x, "text").split())
    return x


@preprocessor()
def none_for_empty(x):
    return x if field_text(x, "text") else None  # Snorkel raises on None: a fault


@labeling_function(pre=[add_n_tokens])
def plain_long_page(x):
    return 3 if x.n_tokens >= 4 else ABSTAIN


@labeling_function(pre=[none_for_empty])
def plain_needs_text(x):
    return 2 if "hotel" in x.text.lower() else ABSTAIN


@labeling_function()
def plain_boom(x):
    if isinstance(x.text, str) and "boom" in x.text:
        raise RuntimeError("boom")
    return ABSTAIN


@labeling_function()
def plain_row_label(x):
    return 1 if str(x.name).endswith("7") else ABSTAIN  # the row's index label


@labeling_function()
def plain_float_vote(x):
    return 1.0 if x.n == 2 else -3  # Snorkel: any y >= 0 is a vote (cast to int), y < 0 abstains


class Unprintable:
    def __str__(self) -> str:
        raise ValueError("no text for you")


class ShoutyKeywordLF(KeywordLF):
    """Changes the per-row rule only: must go per row."""

    def _vote(self, x):
        return self.label if field_text(x, self.field).isupper() else ABSTAIN


class ParityLF(DeclarativeLF):
    """A user LF with its own column form."""

    kind = "parity"

    def __init__(self, name: str, field: str = "n", fail: bool = False) -> None:
        self.field, self.fail = field, fail
        super().__init__(name=name, label=0, f=self._vote)

    def _vote(self, x):
        v = x[self.field]
        return ABSTAIN if pd.isna(v) else int(v) % 2

    def votes_from_values(self, col, n):
        if self.fail:
            raise RuntimeError("column form broken")
        v = pd.to_numeric(col)
        return np.where(v.isna(), ABSTAIN, v.fillna(0).astype(int) % 2)


class WrongShapeLF(LabelingFunction):
    """A plain LF whose ``column_votes`` is wrong: the applier must notice and go per row."""

    def __init__(self) -> None:
        super().__init__(name="wrong_shape", f=lambda x: 1 if x.n > 3 else ABSTAIN)

    def column_votes(self, df):
        return np.zeros(len(df) + 1)


def nasty_lfs() -> list[LabelingFunction]:
    return [
        KeywordLF("kw_hotel", ["hotel", "check-in", "room service"], 0),
        KeywordLF("kw_news", ["news", "breaking news"], 1, exclude=["fake news"]),
        KeywordLF("kw_two", ["hotel", "flight", "booking", "news"], 2, min_hits=2),
        KeywordLF("kw_unicode", ["İstanbul", "straße", "café", "東京", "naïve"], 3),
        KeywordLF("kw_url", ["news", "hotel"], 1, field="url"),
        KeywordLF("kw_title", ["home"], 4, field="title"),  # the column is absent
        KeywordLF("kw_odd", ["no"], 4, field="odd"),  # a value whose str() raises
        RegexLF("re_price", r"\$\s?\d+", 2),
        RegexLF("re_odd", r"text", 2, field="odd"),
        MembershipLF("mem_tld", "tld", ["gov", "gov.uk"], 1),
        ThresholdLF("thr_n", "n", ">=", 5, 3),
        ThresholdLF("thr_size", "size", ">", 100, 0),  # a column named like a Series attribute
        KeywordLF("kw_name", ["acme"], 4, field="name"),  # ditto
        ShoutyKeywordLF("shouty", ["x"], 4),
        ParityLF("parity"),
        ParityLF("parity_broken", fail=True),
        WrongShapeLF(),
        plain_long_page,
        plain_needs_text,
        plain_boom,
        plain_row_label,
        plain_float_vote,
    ]


TEXTS = [
    "Hotel check-in from 3pm, room service all night",
    None,
    float("nan"),
    pd.NA,
    "",
    "BREAKING NEWS: fake news about news",
    "İstanbul'da otel; Straße in Köln; Café crème; 東京ホテル; naïve",
    "ISTANBUL ıstanbul STRASSE cafe\u0301",
    "emoji 🏨🏨 hotel🏨 ✈️ flight booking",
    "Rooms from $ 120 and $99!",
    "boom goes the page",
    "CHECK IN, check---in and check_in",
    "numbers 2024 ٣ ½ 1st 3-1",
    "hotel hotel hotel",
    "tabs\tand\nnewlines\r\nroom\u00a0service",
    "boom again with a hotel",
    "ALL CAPS SHOUTING X",
    "news; flight: booking",
]


def nasty_frame(n_copies: int = 1) -> pd.DataFrame:
    k = len(TEXTS)
    odd = ["plain text", Unprintable(), None, *["no text"] * (k - 3)]
    base = pd.DataFrame(
        {
            "text": pd.Series(TEXTS, dtype=object),
            "url": [f"https://site{i}.example/{'news' if i % 3 else 'hotel-deals'}" for i in range(k)],
            "tld": ["com", "gov", "GOV.UK", None, "org", *["com"] * (k - 5)],
            "n": [float(i) if i % 4 else np.nan for i in range(k)],
            "size": [i * 30 for i in range(k)],
            "name": ["Acme hotels", None, *[f"site {i}" for i in range(2, k)]],
            "odd": odd,
        }
    )
    df = pd.concat([base] * n_copies, ignore_index=True)
    df.index = [f"row-{i}" for i in range(len(df))]  # a non-default index: LFs may read x.name
    return df


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_nasty_rows_identical_to_snorkel(n_jobs: int) -> None:
    df = nasty_frame(n_copies=6)
    lfs = nasty_lfs()
    L, report = assert_same_as_snorkel(lfs, df, n_jobs=n_jobs, chunk_size=16, min_chunk_size=8)
    if n_jobs == 2:
        assert report.mode.startswith("process pool (2 workers")
        assert report.n_jobs == 2
    else:
        assert report.mode == "in-process"
    assert report.n_chunks > 1
    paths = report.lf_paths
    assert paths["kw_hotel"] == PATH_KEYWORD
    assert paths["parity"] == PATH_COLUMN
    assert paths["shouty"] == PATH_ROW
    assert paths["plain_long_page"] == PATH_ROW
    # column forms that raised went per row for their chunks
    for name in ("kw_odd", "re_odd", "parity_broken", "wrong_shape"):
        assert paths[name] == PATH_FALLBACK, name
        assert name in report.fallbacks
    assert (L != ABSTAIN).sum() > 0


def test_fault_counts() -> None:
    df = nasty_frame(n_copies=3)
    lfs = nasty_lfs()
    _, report = assert_same_as_snorkel(lfs, df, n_jobs=1, chunk_size=7)
    per_copy_boom = sum(isinstance(t, str) and "boom" in t for t in TEXTS)
    per_copy_empty = sum(not isinstance(t, str) or t == "" for t in TEXTS)
    assert report.fault_counts["plain_boom"] == 3 * per_copy_boom
    assert report.fault_counts["plain_needs_text"] == 3 * per_copy_empty  # preprocessor gave None
    assert report.fault_counts["kw_odd"] == 3  # one unprintable value per copy, only that row
    assert report.fault_counts["re_odd"] == 3
    assert report.fault_counts["kw_hotel"] == 0
    assert set(report.fault_counts) == {lf.name for lf in lfs}
    assert report.total_faults == sum(report.faults.values())
    meta = report.as_metadata()
    assert meta["faults"] == report.faults
    assert meta["rows"] == len(df)


def test_randomised_texts_identical_to_snorkel() -> None:
    rng = random.Random(2024)
    pieces = ["hotel", "Hotel", "check", "in", "check-in", "new", "york", "New York", "news", "NEWS", "times"]
    pieces += ["ß", "straße", "İ", "ı", "é", "東京", "🏨", "_", "-", ",", ".", "3", "$5", "\n", "  "]
    texts = [
        "".join(rng.choice(pieces) + rng.choice(["", " ", " ", "-"]) for _ in range(rng.randint(0, 25)))
        for _ in range(300)
    ]
    df = pd.DataFrame({"text": texts, "n": [rng.choice([np.nan, 1, 7, 12]) for _ in texts]})
    vocab = ["hotel", "check in", "new york", "new york times", "york", "news", "ß", "i", "ı", "東京", "3"]
    lfs: list[LabelingFunction] = []
    for k in range(20):
        kws = rng.sample(vocab, rng.randint(1, 4))
        excl = rng.sample(vocab, rng.randint(0, 1))
        lfs.append(KeywordLF(f"kw{k}", kws, k % 5, min_hits=rng.randint(1, 2), exclude=excl))
    lfs.append(RegexLF("re_dollar", r"\$\d", 1))
    lfs.append(ThresholdLF("thr", "n", ">", 5, 2))
    for n_jobs in (1, 2):
        assert_same_as_snorkel(lfs, df, n_jobs=n_jobs, chunk_size=64, min_chunk_size=32)


def test_unpicklable_lfs_under_spawn_run_in_process() -> None:
    def f(x, lock):
        with lock:
            return 1 if x.n == 2 else ABSTAIN

    locked = LabelingFunction("locked", f=f, resources={"lock": threading.Lock()})  # cannot pickle
    df = nasty_frame(n_copies=4)
    lfs = [KeywordLF("kw_hotel", ["hotel"], 0), locked]
    _, report = assert_same_as_snorkel(
        lfs, df, n_jobs=2, chunk_size=16, min_chunk_size=8, start_method="spawn"
    )
    assert report.mode.startswith("in-process (LFs do not pickle")


@pytest.mark.slow
def test_spawned_pool_identical_to_snorkel() -> None:
    """A spawn-started pool (the default off Linux): the plan and LFs are (cloud)pickled to the
    workers, ``@labeling_function``s and lambdas included."""
    df = nasty_frame(n_copies=4)
    lambda_lf = LabelingFunction("lambda_lf", f=lambda x: 1 if x.n == 2 else ABSTAIN)
    lfs = [*nasty_lfs(), lambda_lf]
    _, report = assert_same_as_snorkel(
        lfs, df, n_jobs=2, chunk_size=16, min_chunk_size=8, start_method="spawn"
    )
    assert report.mode == "process pool (2 workers, spawn)"


@pytest.mark.slow
@pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="no forkserver on this platform"
)
def test_multithreaded_caller_gets_forkserver_not_fork() -> None:
    """Forking a process that runs other threads (a Dagster step does) can deadlock."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        df = nasty_frame(n_copies=4)
        _, report = assert_same_as_snorkel(nasty_lfs(), df, n_jobs=2, chunk_size=16, min_chunk_size=8)
    finally:
        stop.set()
        thread.join()
    assert report.mode == "process pool (2 workers, forkserver)"


def test_empty_frame_and_small_frames() -> None:
    lfs = nasty_lfs()
    L, report = FastLFApplier(lfs, n_jobs=2).apply(nasty_frame().iloc[:0])
    assert L.shape == (0, len(lfs))
    assert L.dtype == np.int64
    assert report.n_rows == 0
    assert report.total_faults == 0
    one = nasty_frame().iloc[:1]
    assert_same_as_snorkel(lfs, one, n_jobs=2)


def test_apply_lfs_and_validation() -> None:
    df = nasty_frame()
    L, _ = apply_lfs(df, [KeywordLF("kw_hotel", ["hotel"], 0)], n_jobs=1)
    assert L[:, 0].tolist() == snorkel_apply([KeywordLF("kw_hotel", ["hotel"], 0)], df)[0][:, 0].tolist()
    with pytest.raises(ValueError, match="unique"):
        FastLFApplier([KeywordLF("a", ["x"], 0), KeywordLF("a", ["y"], 1)])
    with pytest.raises(ValueError):
        FastLFApplier([KeywordLF("a", ["x"], 0)], n_jobs=0)


def test_progress_callback_reaches_total() -> None:
    df = nasty_frame(n_copies=5)
    seen: list[tuple[int, int]] = []
    FastLFApplier([KeywordLF("k", ["hotel"], 0)], n_jobs=1, chunk_size=20).apply(
        df, progress=lambda done, total: seen.append((done, total))
    )
    assert seen[-1] == (len(df), len(df))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


# --------------------------------------------------------------------------- the real dev data


def dev_features(csv: Path) -> pd.DataFrame:
    """A minimal page_features frame from the dev CSV (what the default task's LFs read)."""
    import tldextract

    extract = tldextract.TLDExtract(suffix_list_urls=())
    raw = pd.read_csv(csv)
    rows = []
    for url in raw["website_url"].tolist():
        if not isinstance(url, str):
            rows.append({"domain": "", "registered_domain": "", "tld": "", "url_path": ""})
            continue
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        r = extract(host)
        registered = getattr(r, "top_domain_under_public_suffix", None) or r.registered_domain
        rows.append(
            {"domain": host, "registered_domain": registered, "tld": r.suffix, "url_path": parts.path}
        )
    df = pd.concat(
        [pd.DataFrame({"url": raw["website_url"], "text": raw["cleaned_website_text"]}), pd.DataFrame(rows)],
        axis=1,
    )
    df["n_price_mentions"] = np.nan
    df["n_date_mentions"] = np.nan
    return df


def default_task_lfs() -> list[LabelingFunction] | None:
    try:
        from beambell_assets.labeling.tasks.web_content import TASK
    except ImportError:
        return None
    return list(TASK.lfs)


@pytest.fixture(scope="module")
def dev_case() -> tuple[pd.DataFrame, list[LabelingFunction], np.ndarray, dict[str, int]]:
    """The dev pages, the default task's LFs and Snorkel's L on them (computed once: ~40 s)."""
    if not DEV_CSV.exists():
        pytest.skip(f"needs the shared dev data at {DEV_CSV} (absent outside the project workspace)")
    df = dev_features(DEV_CSV)
    lfs = default_task_lfs()
    if lfs is None:  # the default task is not importable: a stand-in set of each kind
        lfs = [*nasty_lfs()[:4], MembershipLF("mem_tld", "tld", ["gov"], 1), plain_long_page]
    expected, faults = snorkel_apply(lfs, df)
    return df, lfs, expected, faults


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_dev_data_identical_to_snorkel(dev_case, n_jobs: int) -> None:
    df, lfs, expected, expected_faults = dev_case
    L, report = FastLFApplier(lfs, n_jobs=n_jobs, chunk_size=200, min_chunk_size=100).apply(df)
    for j, lf in enumerate(lfs):
        np.testing.assert_array_equal(L[:, j], expected[:, j], err_msg=f"LF {lf.name}")
    assert report.faults == expected_faults
    assert report.n_rows == len(df) == 611
    assert report.n_jobs == n_jobs
    assert (L != ABSTAIN).any(axis=1).mean() > 0.5  # the LFs do cover the real pages


def test_apply_chunk_shares_the_callers_columns() -> None:
    from beambell_assets.labeling.applier_core import ChunkLabeler
    from beambell_assets.labeling.tokens import ChunkColumns

    lfs = nasty_lfs()
    df = nasty_frame(3)
    applier = FastLFApplier(lfs, n_jobs=1)
    want, _ = applier.apply(df)
    columns = ChunkColumns(df)
    got, report = applier.apply_chunk(columns)
    np.testing.assert_array_equal(got, want)
    assert report.n_rows == len(df) and report.n_chunks == 1
    assert ("tokens", "text") in columns._memo  # read through the caller's columns, kept for it
    with pytest.raises(ValueError, match="ChunkColumns of the frame"):
        ChunkLabeler(applier.plan).label(df, 0, ChunkColumns(df.copy()))
    own = applier.columns(df)  # tokenised into the applier's table, kept across chunks
    assert own.table is applier.columns(df.iloc[:1]).table is not columns.table
    got_own, _ = applier.apply_chunk(own)
    np.testing.assert_array_equal(got_own, want)


def test_a_vote_that_is_not_a_number_is_that_lfs_fault_not_a_crash() -> None:
    """An LF that forgets ``return ABSTAIN`` returns None on the rows it does not vote on: Snorkel
    stops with ``TypeError: '>=' not supported``, naming no LF; here those rows are its faults."""
    from snorkel.labeling import PandasLFApplier, labeling_function

    @labeling_function()
    def lf_forgot_abstain(x):
        if "hotel" in str(x.text):
            return 1

    @labeling_function()
    def lf_label_name(x):
        return "Travel" if "beach" in str(x.text) else -1

    df = pd.DataFrame({"text": ["a hotel", "a beach", "nothing", "hotel beach"]})
    with pytest.raises(TypeError, match="not supported"):
        PandasLFApplier([lf_forgot_abstain]).apply(df, fault_tolerant=True, progress_bar=False)
    L, report = FastLFApplier([lf_forgot_abstain, lf_label_name], n_jobs=1).apply(df)
    assert L.tolist() == [[1, -1], [-1, -1], [-1, -1], [1, -1]]
    assert report.faults == {"lf_forgot_abstain": 2, "lf_label_name": 2}


def test_with_the_tasks_cardinality_a_vote_for_a_label_it_lacks_is_a_fault() -> None:
    """The applier core checks votes against the task's labels for every engine and caller (the
    lf_votes asset, the stream, the service, the streaming retrain); without a cardinality it does
    not, as Snorkel does not."""
    from snorkel.labeling import labeling_function

    @labeling_function()
    def lf_seven(x):
        return 7 if "hotel" in str(x.text) else -1

    df = pd.DataFrame({"text": ["a hotel", "a beach", "hotel again"]})
    L, report = FastLFApplier([lf_seven], n_jobs=1, cardinality=2).apply(df)
    assert L.ravel().tolist() == [-1, -1, -1]
    assert report.faults == report.invalid_counts == {"lf_seven": 2}
    L, report = FastLFApplier([lf_seven], n_jobs=1).apply(df)
    assert L.ravel().tolist() == [7, -1, 7] and report.faults == {} and report.invalid_counts == {}
