"""The declarative LF kinds: per-row rule (the spec) against each column form."""

from __future__ import annotations

import random
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from snorkel.preprocess import preprocessor

from beambell_assets.labeling.lf_types import (
    ABSTAIN,
    TOKEN_PATTERN,
    KeywordLF,
    KeywordMatcher,
    MembershipLF,
    RegexLF,
    ThresholdLF,
    column_strings,
    column_text,
    field_text,
    normalize_phrase,
    row_dtype,
    tokenize,
)

NASTY = [
    None,
    float("nan"),
    pd.NA,
    "",
    "   ",
    "Hotel-Booking: CHECK-IN at 3pm!!",
    "İstanbul ıstanbul ISTANBUL istanbul",  # Turkish dotted/dotless i
    "Straße STRASSE strasse ß ẞ",
    "Café cafe\u0301 naïve RÉSUMÉ",
    "東京 ホテル 予約 北京饭店",
    "emoji 🏨 hotel🏨hotel ✈️flight",
    "snake_case_word under_score __init__",
    "tabs\tand\nnewlines\r\nhotel\u00a0booking",
    "numbers 2024 ٣ ½ ² 1st 3-1",
    "hotel hotel hotel",
    "news, breaking-news; BREAKING news.",
]


def _random_text(rng: random.Random) -> str:
    pieces = [
        "hotel",
        "Hotel",
        "HOTELS",
        "check",
        "in",
        "check-in",
        "new",
        "york",
        "New York",
        "times",
        "news",
        "breaking",
        "ß",
        "straße",
        "İ",
        "ı",
        "é",
        "e\u0301",
        "東京",
        "🏨",
        "_",
        "-",
        ",",
        ".",
        "  ",
        "\n",
        "3",
        "٣",
        "½",
        "x",
    ]
    return "".join(
        rng.choice(pieces) + rng.choice(["", " ", " ", "-", "/"]) for _ in range(rng.randint(0, 30))
    )


def test_fast_token_regex_matches_token_pattern_on_random_unicode() -> None:
    rng = random.Random(7)
    spec = re.compile(TOKEN_PATTERN)
    alphabet = [
        chr(c) for c in (*range(32, 127), 0xA0, 0x130, 0x131, 0xDF, 0x301, 0x663, 0xBD, 0x6771, 0x1F3E8)
    ]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert tokenize(text) == spec.findall(text.lower())


def test_tokenize_agrees_with_countvectorizer_analyzer() -> None:
    """The doc-term matrix could equally be built with sklearn; both see the same tokens."""
    analyzer = CountVectorizer(token_pattern=TOKEN_PATTERN, lowercase=True).build_analyzer()
    rng = random.Random(3)
    texts = [t for t in NASTY if isinstance(t, str)] + [_random_text(rng) for _ in range(300)]
    for text in texts:
        assert tokenize(text) == analyzer(text)


def test_normalize_phrase() -> None:
    assert normalize_phrase("Check-in") == "check in"
    assert normalize_phrase("  New   YORK ") == "new york"
    with pytest.raises(ValueError):
        normalize_phrase("--")


@pytest.mark.parametrize("value", [None, float("nan"), np.float64("nan"), pd.NA])
def test_missing_values_read_as_empty_text(value: object) -> None:
    assert field_text(SimpleNamespace(text=value), "text") == ""
    assert field_text(pd.Series({"text": value}, dtype=object), "text") == ""
    assert field_text({"text": value}, "text") == ""


def test_absent_field_reads_as_empty() -> None:
    assert field_text(SimpleNamespace(), "text") == ""
    assert field_text(pd.Series({"url": "x"}), "text") == ""


def test_pandas_row_fields_are_read_by_item_not_attribute() -> None:
    """``getattr(row, "name")`` is the row label and ``row.size`` its length: use the columns."""
    row = pd.Series({"name": "Hotel Alpha", "size": "12"}, name=99)
    assert field_text(row, "name") == "Hotel Alpha"
    lf = ThresholdLF("big", "size", ">", 10, 1)
    assert lf(row) == 1
    assert KeywordLF("kw", ["hotel"], 2, field="name")(row) == 2


def _per_row(lf, df: pd.DataFrame) -> np.ndarray:
    """Votes as Snorkel's PandasLFApplier would compute them (same row objects)."""
    return np.array(df.apply(lf, axis=1).tolist(), dtype=np.int64) if len(df) else np.empty(0, np.int64)


def test_keyword_lf_column_form_matches_rows_on_nasty_values() -> None:
    df = pd.DataFrame({"text": pd.Series(NASTY, dtype=object), "n": range(len(NASTY))})
    lfs = [
        KeywordLF("hotel", ["hotel"], 0),
        KeywordLF("checkin", ["check-in", "check in now"], 1, exclude=["breaking news"]),
        KeywordLF("two", ["hotel", "booking", "flight", "news"], 2, min_hits=2),
        KeywordLF("turkish", ["İstanbul", "ıstanbul"], 3),
        KeywordLF("german", ["straße", "strasse"], 4),
        KeywordLF("accents", ["café", "résumé", "naïve"], 5),
        KeywordLF("cjk", ["東京", "北京饭店"], 6),
        KeywordLF("snake", ["under_score", "__init__"], 7),
        KeywordLF("numbers", ["2024", "٣", "3 1"], 8),
    ]
    for lf in lfs:
        assert lf.column_form_is_exact()
        np.testing.assert_array_equal(lf.column_votes(df), _per_row(lf, df), err_msg=lf.name)
    matcher = KeywordMatcher(lfs)
    L = matcher.votes(column_strings(df, "text"))
    for j, lf in enumerate(lfs):
        np.testing.assert_array_equal(L[:, j], _per_row(lf, df), err_msg=lf.name)
    assert L[5, 1] == 1  # "CHECK-IN"
    assert L[14, 2] == ABSTAIN  # one distinct keyword, repeated, is one hit


def test_keyword_matcher_matches_rows_on_random_texts_and_vocabularies() -> None:
    rng = random.Random(11)
    words = ["hotel", "check in", "check", "in", "new", "new york", "new york times", "york times", "news"]
    words += ["breaking news", "straße", "i", "ı", "東京", "e", "3", "x x", "hotel hotel", "_"]
    texts = [_random_text(rng) for _ in range(400)] + [None, float("nan")]
    df = pd.DataFrame({"text": pd.Series(texts, dtype=object)})
    lfs = []
    for k in range(25):
        kws = rng.sample(words, rng.randint(1, 5))
        excl = rng.sample(words, rng.randint(0, 2))
        lfs.append(KeywordLF(f"lf{k}", kws, k % 4, min_hits=rng.randint(1, 3), exclude=excl))
    L = KeywordMatcher(lfs).votes(column_strings(df, "text"))
    for j, lf in enumerate(lfs):
        np.testing.assert_array_equal(L[:, j], _per_row(lf, df), err_msg=lf.name)
    assert (L != ABSTAIN).any()


def test_regex_and_membership_column_forms_match_rows() -> None:
    df = pd.DataFrame(
        {
            "text": pd.Series(NASTY, dtype=object),
            "tld": pd.Series(["com", "GOV", None, "gov.uk", "edu", np.nan, "Gov", *[""] * (len(NASTY) - 7)]),
        }
    )
    lfs = [
        RegexLF("re", r"\bhotel\b", 0),
        RegexLF("re_cs", r"Hotel", 1, flags=0),
        RegexLF("re_empty", r"^$", 2),
        MembershipLF("gov", "tld", ["gov", "gov.uk"], 3),
        MembershipLF("missing_col", "nope", ["", "x"], 4),
    ]
    for lf in lfs:
        np.testing.assert_array_equal(lf.column_votes(df), _per_row(lf, df), err_msg=lf.name)
    assert lfs[4].column_votes(df).tolist() == [4] * len(df)  # absent field reads as ""


def test_threshold_column_form_matches_rows_on_odd_values() -> None:
    odd = ["5", " 7 ", "1e3", "1_000", "inf", "-inf", "nan", None, pd.NA, True, False, 12, 3.5, "abc", ""]
    frames = {
        "object": pd.DataFrame({"v": pd.Series(odd, dtype=object), "t": "x"}),
        "int": pd.DataFrame({"v": [1, 10, 11, 200], "t": "x"}),
        "float": pd.DataFrame({"v": [1.0, np.nan, 10.5, np.inf], "t": "x"}),
        "Int64": pd.DataFrame({"v": pd.array([1, None, 50], dtype="Int64"), "t": "x"}),
        "boolean": pd.DataFrame({"v": pd.array([True, None, False], dtype="boolean"), "t": "x"}),
        "bool": pd.DataFrame({"v": [True, False], "t": "x"}),
        "dates": pd.DataFrame({"v": pd.to_datetime(["2024-01-01", None]), "t": "x"}),
        "all numeric (rows upcast to float)": pd.DataFrame({"v": [5, 20], "w": [0.5, 1.5]}),
        "all nullable": pd.DataFrame({"v": pd.array([5, None], dtype="Int64"), "w": [0.5, 1.5]}),
    }
    for label, df in frames.items():
        for op in (">", ">=", "<", "<="):
            lf = ThresholdLF(f"thr{op}", "v", op, 10, 1)
            np.testing.assert_array_equal(lf.column_votes(df), _per_row(lf, df), err_msg=f"{label} {op}")
        assert ThresholdLF("absent", "zzz", ">", 0, 1).column_votes(df).tolist() == [ABSTAIN] * len(df)


def test_threshold_overflow_raises_in_both_forms() -> None:
    df = pd.DataFrame({"v": pd.Series([1, 10**400], dtype=object), "t": "x"})
    lf = ThresholdLF("thr", "v", ">", 0, 1)
    with pytest.raises(OverflowError):
        lf(df.iloc[1])
    with pytest.raises(OverflowError):
        lf.column_votes(df)


def test_row_dtype_and_column_text_follow_pandas_rows() -> None:
    mixed = pd.DataFrame({"text": ["a", None], "n": [1, 2]})
    assert row_dtype(mixed) == np.dtype(object)
    numeric = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    assert row_dtype(numeric) == np.dtype(float)
    # an int column reads as "1.0" in a row of an all-numeric frame; the column form agrees
    assert column_text(numeric, "a").tolist() == ["1.0", "2.0"]
    assert KeywordLF("one", ["1 0"], 0, field="a").column_votes(numeric).tolist() == [0, ABSTAIN]
    with pytest.raises(ValueError, match="duplicated"):
        column_text(pd.DataFrame([[1, 2]], columns=["a", "a"]), "a")


def test_column_form_is_exact_only_for_the_declared_rule() -> None:
    class Shouty(KeywordLF):
        def _vote(self, x):  # changes the per-row rule but not the column form
            return 0 if field_text(x, self.field).isupper() else ABSTAIN

    class Consistent(RegexLF):
        def _vote(self, x):
            return super()._vote(x)

        def votes_from_values(self, col, n):
            return super().votes_from_values(col, n)

    @preprocessor()
    def upper(x):
        x.text = str(x.text).upper()
        return x

    pre = KeywordLF("pre", ["hotel"], 0)
    pre._pre = [upper]
    assert KeywordLF("kw", ["hotel"], 0).column_form_is_exact()
    assert not Shouty("s", ["hotel"], 0).column_form_is_exact()
    assert Consistent("c", "x", 0).column_form_is_exact()
    assert not pre.column_form_is_exact()


def test_describe_and_validation() -> None:
    assert KeywordLF("k", ["a", "b"], 0, min_hits=2, exclude=["c"]).describe() == (
        "keyword(text: 2 terms, min_hits=2, 1 vetoes)"
    )
    assert ThresholdLF("t", "n", ">=", 3, 1).describe() == "threshold(n >= 3)"
    with pytest.raises(ValueError):
        KeywordLF("k", [], 0)
    with pytest.raises(ValueError):
        KeywordLF("k", ["a"], 0, min_hits=0)
    with pytest.raises(ValueError):
        ThresholdLF("t", "n", "==", 3, 1)
