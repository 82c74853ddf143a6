"""Declarative labeling functions: Snorkel ``LabelingFunction``s that also have a column form.

Each class here is a real ``snorkel.labeling.LabelingFunction``: ``lf(row)`` labels one data point
(a pandas row, a namespace, a mapping, anything with attributes), so ``PandasLFApplier`` runs them
unchanged. They also declare *what* they test (keywords, a regex, a threshold, a set), which lets
``FastLFApplier`` evaluate a whole column at once. The per-row ``__call__`` is the specification;
the column form (``column_votes(df)``) must give the identical vote on every row (tested against
Snorkel's ``PandasLFApplier``).

Missing values (None, NaN, pd.NA) read as the empty string for text fields, and never satisfy a
numeric threshold. A field missing from the data point reads as missing.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from snorkel.labeling import LabelingFunction

ABSTAIN = -1

#: One token = a maximal run of word characters, after lowercasing. Shared with the column form.
TOKEN_PATTERN = r"(?u)\b\w+\b"
# The same tokens, found faster: scanning resumes after a maximal run of word characters, so the
# ``\b`` assertions can never fail (a test checks the two agree on random unicode text).
_TOKEN_RE = re.compile(r"\w+")


# --------------------------------------------------------------------------- reading fields


def field_value(x: Any, field: str) -> Any:
    """The raw value of ``field`` on a data point, or None when the data point has no such field.

    A pandas row is read by item (``x[field]``), not attribute: ``getattr(row, "name")`` or
    ``getattr(row, "size")`` would return the Series' own attributes, not the columns.
    """
    if isinstance(x, pd.Series):
        return x[field] if field in x.index else None
    if isinstance(x, Mapping):
        return x.get(field)
    return getattr(x, field, None)


def field_text_value(value: Any) -> str:
    """A raw value as text; missing values (None, NaN, pd.NA) are the empty string."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


def field_text(x: Any, field: str) -> str:
    """The text of ``field`` on a data point; missing values are the empty string."""
    return field_text_value(field_value(x, field))


def row_dtype(df: pd.DataFrame) -> Any:
    """The dtype of the row Series that ``df.apply(f, axis=1)`` (Snorkel's applier) hands an LF.

    Usually ``object`` (mixed columns). When every column shares a dtype family, pandas upcasts
    the row (an int column reads as float next to a float column).
    """
    if len(df) == 0 or df.shape[1] == 0:
        return np.dtype(object)
    return df.iloc[:1].apply(lambda r: r.dtype, axis=1).iloc[0]


def column_values(df: pd.DataFrame, field: str, dtype: Any = None) -> pd.Series | None:
    """Column ``field`` as the rows of ``df`` see it (cast to :func:`row_dtype`), None if absent.

    Raises ValueError for duplicated column names (a row would hold a Series there).
    """
    if field not in df.columns:
        return None
    if int(np.sum(df.columns == field)) > 1:
        raise ValueError(f"duplicated column {field!r}")
    col = df[field]
    dtype = row_dtype(df) if dtype is None else dtype
    if dtype != np.dtype(object) and col.dtype != dtype:
        col = col.astype(dtype)
    return col


def column_strings(df: pd.DataFrame, field: str, dtype: Any = None) -> list[str]:
    """Column form of :func:`field_text` as a list: one string per row of ``df``."""
    return _strings(column_values(df, field, dtype), len(df))


def column_text(df: pd.DataFrame, field: str, dtype: Any = None) -> pd.Series:
    """Column form of :func:`field_text`: an object Series of strings aligned with ``df``."""
    return pd.Series(column_strings(df, field, dtype), index=df.index, dtype=object)


def _strings(col: pd.Series | None, n: int) -> list[str]:
    if col is None:
        return [""] * n
    return [field_text_value(v) for v in col.to_numpy(dtype=object)]


# --------------------------------------------------------------------------- tokens


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens, exactly as the column form sees them."""
    return _TOKEN_RE.findall(text.lower())


def normalize_phrase(phrase: str) -> str:
    """A keyword as the space-joined tokens it must match (``"Check-in"`` -> ``"check in"``)."""
    toks = tokenize(phrase)
    if not toks:
        raise ValueError(f"keyword {phrase!r} has no word characters")
    return " ".join(toks)


def ngrams(tokens: Sequence[str], max_n: int) -> set[str]:
    out: set[str] = set()
    for n in range(1, max_n + 1):
        for i in range(len(tokens) - n + 1):
            out.add(" ".join(tokens[i : i + n]))
    return out


def _defining_class(cls: type, attr: str) -> type | None:
    for klass in cls.__mro__:
        if attr in klass.__dict__:
            return klass
    return None


# --------------------------------------------------------------------------- LF classes


class DeclarativeLF(LabelingFunction):
    """Base for LFs with a column form. ``label`` is the class index voted when the LF fires."""

    kind: str = "declarative"

    def __init__(self, name: str, label: int, f: Callable[..., int]) -> None:
        super().__init__(name=name, f=f)
        self.label = int(label)

    def describe(self) -> str:
        """One line for LF summaries."""
        return self.kind

    def _vote(self, x: Any) -> int:  # pragma: no cover - every concrete kind overrides it
        raise NotImplementedError

    def column_votes(self, df: pd.DataFrame) -> np.ndarray:
        """Votes for every row of ``df`` at once (int64, -1 = abstain); identical to ``lf(row)``."""
        return self.votes_from_values(column_values(df, self.field), len(df))  # type: ignore[attr-defined]

    def votes_from_values(self, col: pd.Series | None, n: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def column_form_is_exact(self) -> bool:
        """Whether :meth:`column_votes` is known to equal ``lf(row)`` on every row.

        False when the LF has preprocessors or resources, or a subclass changed the per-row vote
        (``_vote`` / ``__call__``) without also giving a matching ``column_votes``.
        """
        if self._pre or self._resources:
            return False
        cls = type(self)
        if cls.__call__ is not LabelingFunction.__call__:
            return False
        if getattr(self._f, "__self__", None) is not self:
            return False
        if getattr(self._f, "__func__", None) is not cls._vote:
            return False
        vote_cls = _defining_class(cls, "_vote")
        col_cls = _defining_class(cls, "column_votes")
        vals_cls = _defining_class(cls, "votes_from_values")
        if vote_cls is None or col_cls is None or vals_cls is None:
            return False
        # the column form must be defined at least as deep in the hierarchy as the row form
        return issubclass(col_cls, vote_cls) or issubclass(vals_cls, vote_cls)


class KeywordLF(DeclarativeLF):
    """Votes ``label`` when at least ``min_hits`` distinct keywords occur in ``field``.

    A keyword is a word or phrase matched on whole tokens (``"hotel"`` does not match
    ``"hotels"``: list the forms you want). ``exclude`` keywords veto the vote.
    """

    kind = "keyword"

    def __init__(
        self,
        name: str,
        keywords: Iterable[str],
        label: int,
        field: str = "text",
        min_hits: int = 1,
        exclude: Iterable[str] = (),
    ) -> None:
        self.keywords: tuple[str, ...] = tuple(sorted({normalize_phrase(k) for k in keywords}))
        self.exclude: tuple[str, ...] = tuple(sorted({normalize_phrase(k) for k in exclude}))
        if not self.keywords:
            raise ValueError(f"{name}: no keywords")
        if min_hits < 1:
            raise ValueError(f"{name}: min_hits must be >= 1")
        self.field = field
        self.min_hits = int(min_hits)
        self.max_n = max(len(k.split(" ")) for k in (*self.keywords, *self.exclude))
        super().__init__(name=name, label=label, f=self._vote)

    def _vote(self, x: Any) -> int:
        grams = ngrams(tokenize(field_text(x, self.field)), self.max_n)
        if self.exclude and any(k in grams for k in self.exclude):
            return ABSTAIN
        hits = sum(1 for k in self.keywords if k in grams)
        return self.label if hits >= self.min_hits else ABSTAIN

    def votes_from_values(self, col: pd.Series | None, n: int) -> np.ndarray:
        texts = _strings(col, n)
        return KeywordMatcher([self]).votes(texts)[:, 0]

    def describe(self) -> str:
        extra = f", min_hits={self.min_hits}" if self.min_hits > 1 else ""
        excl = f", {len(self.exclude)} vetoes" if self.exclude else ""
        return f"keyword({self.field}: {len(self.keywords)} terms{extra}{excl})"


class KeywordMatcher:
    """The column form of many :class:`KeywordLF`\\ s that read the same field.

    One pass over each text builds a binary document-term matrix over the union of the LFs'
    keywords and vetoes (single tokens by set intersection, phrases by a boundary-delimited
    substring test on the space-joined tokens, only when their first token occurs); each LF's
    hits and vetoes are then one sparse product. Tokens come from :func:`tokenize`, the same
    function the per-row form uses, so the two agree by construction.
    """

    def __init__(self, lfs: Sequence[KeywordLF]) -> None:
        if not lfs:
            raise ValueError("KeywordMatcher needs at least one KeywordLF")
        self.lfs = tuple(lfs)
        vocab: dict[str, int] = {}
        for lf in self.lfs:
            for term in (*lf.keywords, *lf.exclude):
                vocab.setdefault(term, len(vocab))
        self.vocab = vocab
        self.unigrams: dict[str, int] = {t: i for t, i in vocab.items() if " " not in t}
        # phrase -> (its other tokens, " padded phrase ", id), listed under its first token
        phrases_by_first: dict[str, list[tuple[tuple[str, ...], str, int]]] = {}
        phrase_tokens: set[str] = set()
        for t, i in vocab.items():
            if " " in t:
                first, *rest = t.split(" ")
                phrases_by_first.setdefault(first, []).append((tuple(rest), f" {t} ", i))
                phrase_tokens.update((first, *rest))
        self.phrases_by_first = phrases_by_first
        # every token worth looking at: a single-word term or any word of a phrase
        self._interesting = frozenset(self.unigrams) | frozenset(phrase_tokens)
        k = len(self.lfs)
        kw_rows, kw_cols, ex_rows, ex_cols = [], [], [], []
        for j, lf in enumerate(self.lfs):
            for term in lf.keywords:
                kw_rows.append(vocab[term])
                kw_cols.append(j)
            for term in lf.exclude:
                ex_rows.append(vocab[term])
                ex_cols.append(j)
        shape = (len(vocab), k)
        self._kw = sparse.csr_matrix((np.ones(len(kw_rows), dtype=np.int32), (kw_rows, kw_cols)), shape=shape)
        self._ex = sparse.csr_matrix((np.ones(len(ex_rows), dtype=np.int32), (ex_rows, ex_cols)), shape=shape)
        self._min_hits = np.array([lf.min_hits for lf in self.lfs], dtype=np.int64)
        self._labels = np.array([lf.label for lf in self.lfs], dtype=np.int64)

    def term_ids(self, text: str) -> list[int]:
        """Vocabulary ids of the terms (words and phrases) occurring in ``text``."""
        toks = tokenize(text)
        found = self._interesting.intersection(toks)
        if not found:
            return []
        uni = self.unigrams
        ids = [uni[t] for t in found if t in uni]
        phrases = self.phrases_by_first
        joined = None
        for first in found:
            for rest, padded, i in phrases.get(first, ()):
                # a phrase can only occur if all its words do; then test adjacency
                if found.issuperset(rest):
                    if joined is None:
                        joined = " " + " ".join(toks) + " "
                    if padded in joined:
                        ids.append(i)
        return ids

    def doc_term_matrix(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Binary (len(texts), len(vocab)) matrix: does text i contain term t."""
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        indices: list[int] = []
        for r, text in enumerate(texts):
            indices.extend(self.term_ids(text))
            indptr[r + 1] = len(indices)
        data = np.ones(len(indices), dtype=np.int32)
        return sparse.csr_matrix(
            (data, np.asarray(indices, dtype=np.int64), indptr), shape=(len(texts), len(self.vocab))
        )

    def votes_from_matrix(self, X: sparse.csr_matrix) -> np.ndarray:
        """Votes (n, n_lfs) from a doc-term matrix made by :meth:`doc_term_matrix`."""
        hits = np.asarray((X @ self._kw).toarray(), dtype=np.int64)
        fired = hits >= self._min_hits[None, :]
        if self._ex.nnz:
            fired &= np.asarray((X @ self._ex).toarray()) == 0
        return np.where(fired, self._labels[None, :], ABSTAIN).astype(np.int64)

    def votes(self, texts: Sequence[str]) -> np.ndarray:
        """Votes (len(texts), n_lfs), int64, -1 = abstain, in the order of ``lfs``."""
        return self.votes_from_matrix(self.doc_term_matrix(texts))


class RegexLF(DeclarativeLF):
    """Votes ``label`` when ``pattern`` is found (``re.search``) in ``field``; case-insensitive by default."""

    kind = "regex"

    def __init__(
        self, name: str, pattern: str, label: int, field: str = "text", flags: int = re.IGNORECASE
    ) -> None:
        self.pattern = re.compile(pattern, flags)
        self.field = field
        super().__init__(name=name, label=label, f=self._vote)

    def _vote(self, x: Any) -> int:
        return self.label if self.pattern.search(field_text(x, self.field)) else ABSTAIN

    def votes_from_text(self, texts: Sequence[str]) -> np.ndarray:
        search = self.pattern.search
        fired = np.fromiter((search(t) is not None for t in texts), dtype=bool, count=len(texts))
        return np.where(fired, self.label, ABSTAIN).astype(np.int64)

    def votes_from_values(self, col: pd.Series | None, n: int) -> np.ndarray:
        texts = _strings(col, n)
        return self.votes_from_text(texts)

    def describe(self) -> str:
        return f"regex({self.field}: /{self.pattern.pattern}/)"


class MembershipLF(DeclarativeLF):
    """Votes ``label`` when ``field`` (e.g. the registered domain or TLD) is one of ``values``."""

    kind = "membership"

    def __init__(self, name: str, field: str, values: Iterable[str], label: int) -> None:
        self.field = field
        self.values: frozenset[str] = frozenset(v.lower() for v in values)
        super().__init__(name=name, label=label, f=self._vote)

    def _vote(self, x: Any) -> int:
        return self.label if field_text(x, self.field).lower() in self.values else ABSTAIN

    def votes_from_text(self, texts: Sequence[str]) -> np.ndarray:
        values = self.values
        fired = np.fromiter((t.lower() in values for t in texts), dtype=bool, count=len(texts))
        return np.where(fired, self.label, ABSTAIN).astype(np.int64)

    def votes_from_values(self, col: pd.Series | None, n: int) -> np.ndarray:
        texts = _strings(col, n)
        return self.votes_from_text(texts)

    def describe(self) -> str:
        return f"membership({self.field}: {len(self.values)} values)"


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class ThresholdLF(DeclarativeLF):
    """Votes ``label`` when the numeric ``field`` compares true to ``value`` (page-structure rules)."""

    kind = "threshold"

    def __init__(self, name: str, field: str, op: str, value: float, label: int) -> None:
        if op not in _OPS:
            raise ValueError(f"{name}: op must be one of {sorted(_OPS)}")
        self.field, self.op, self.value = field, op, float(value)
        super().__init__(name=name, label=label, f=self._vote)

    def _vote(self, x: Any) -> int:
        return self._vote_value(field_value(x, self.field))

    def _vote_value(self, v: Any) -> int:
        try:
            v = float(v)
        except (TypeError, ValueError):
            return ABSTAIN
        if math.isnan(v):
            return ABSTAIN
        return self.label if _OPS[self.op](v, self.value) else ABSTAIN

    def votes_from_values(self, col: pd.Series | None, n: int) -> np.ndarray:
        if col is None:
            return np.full(n, ABSTAIN, dtype=np.int64)
        dtype = col.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            v = col.to_numpy(dtype=float)
        elif isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "biuf":
            # nullable Int64/Float64/boolean: pd.NA fails float() per row, i.e. abstains
            v = col.to_numpy(dtype=float, na_value=np.nan)
        else:  # object, strings, dates, ...: the per-row rule, value by value
            return np.fromiter(
                (self._vote_value(x) for x in col.to_numpy(dtype=object)), dtype=np.int64, count=n
            )
        with np.errstate(invalid="ignore"):
            fired = _OPS[self.op](v, self.value) & ~np.isnan(v)
        return np.where(fired, self.label, ABSTAIN).astype(np.int64)

    def describe(self) -> str:
        return f"threshold({self.field} {self.op} {self.value:g})"
