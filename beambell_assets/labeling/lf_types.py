"""Declarative labeling functions: Snorkel ``LabelingFunction``s that also have a column form.

Each class here is a real ``snorkel.labeling.LabelingFunction``: ``lf(row)`` labels one data point
(a pandas row, a namespace, a mapping, anything with attributes), so ``PandasLFApplier`` runs them
unchanged. They also declare *what* they test (keywords, a regex, a threshold, a set), which lets
``FastLFApplier`` evaluate a whole column at once. The per-row ``__call__`` is the specification;
the column form (``column_votes(df)``) must give the identical vote on every row (tested against
Snorkel's ``PandasLFApplier``).

Missing values (None, NaN, pd.NA) read as the empty string for text fields, and never satisfy a
numeric threshold. A field missing from the data point reads as missing.

This module is also the public face task authors import from: the field readers
(:mod:`~beambell_assets.labeling.fields`) and the tokeniser
(:mod:`~beambell_assets.labeling.tokens`) are re-exported here.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from snorkel.labeling import LabelingFunction

from beambell_assets.labeling.fields import (
    column_strings,
    column_text,
    column_values,
    field_text,
    field_text_value,
    field_value,
    row_dtype,
    value_strings,
)
from beambell_assets.labeling.tokens import (
    TOKEN_PATTERN,
    TokenColumn,
    ngrams,
    normalize_phrase,
    token_column,
    tokenize,
)

__all__ = [
    "ABSTAIN",
    "TOKEN_PATTERN",
    "DeclarativeLF",
    "KeywordLF",
    "KeywordMatcher",
    "MembershipLF",
    "RegexLF",
    "ThresholdLF",
    "column_strings",
    "column_text",
    "column_values",
    "defining_class",
    "field_text",
    "field_text_value",
    "field_value",
    "fold_for_literals",
    "ngrams",
    "normalize_phrase",
    "row_dtype",
    "tokenize",
]

ABSTAIN = -1


def defining_class(cls: type, attr: str) -> type | None:
    """The first class in ``cls``'s MRO that defines ``attr`` itself (None if none does)."""
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
        vote_cls = defining_class(cls, "_vote")
        col_cls = defining_class(cls, "column_votes")
        vals_cls = defining_class(cls, "votes_from_values")
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
        texts = value_strings(col, n)
        return self._matcher.votes(texts)[:, 0]

    @cached_property
    def _matcher(self) -> KeywordMatcher:
        return KeywordMatcher([self])

    def describe(self) -> str:
        extra = f", min_hits={self.min_hits}" if self.min_hits > 1 else ""
        excl = f", {len(self.exclude)} vetoes" if self.exclude else ""
        return f"keyword({self.field}: {len(self.keywords)} terms{extra}{excl})"


class KeywordMatcher:
    """The column form of many :class:`KeywordLF`\\ s that read the same field.

    The texts' tokens (:func:`token_column`: those of :func:`tokenize`, which the per-row form
    uses) are matched as ids, with numpy, against the union of the LFs' keywords and vetoes: a
    term is found where its words follow one another in a text, i.e. where the per-row form's
    n-grams contain it. That gives a binary document-term matrix; each LF's hits and vetoes are
    then one sparse product.
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
        # Every word of a term gets an index; terms are paths in a trie whose first level is the
        # word indices themselves, and whose edges (node, next word) -> child are sorted codes.
        words: dict[str, int] = {}
        for term in vocab:
            for word in term.split(" "):
                words.setdefault(word, len(words))
        k = len(words)
        node_term = [-1] * k
        edges: dict[tuple[int, int], int] = {}
        for term, i in vocab.items():
            first, *rest = term.split(" ")
            node = words[first]
            for word in rest:
                edge = (node, words[word])
                if edge not in edges:
                    edges[edge] = len(node_term)
                    node_term.append(-1)
                node = edges[edge]
            node_term[node] = i
        self._words = words
        self._node_term = np.asarray(node_term, dtype=np.int64)  # node -> term id, or -1
        codes = np.asarray([a * k + b for a, b in edges], dtype=np.int64)
        order = np.argsort(codes, kind="stable")
        self._edge_codes = codes[order]
        self._edge_child = np.asarray(list(edges.values()), dtype=np.int64)[order]
        self._has_child = np.zeros(len(node_term), dtype=bool)
        self._has_child[[a for a, _ in edges]] = True
        self._max_len = max(len(t.split(" ")) for t in vocab)
        n_lfs = len(self.lfs)
        kw_rows, kw_cols, ex_rows, ex_cols = [], [], [], []
        for j, lf in enumerate(self.lfs):
            for term in lf.keywords:
                kw_rows.append(vocab[term])
                kw_cols.append(j)
            for term in lf.exclude:
                ex_rows.append(vocab[term])
                ex_cols.append(j)
        shape = (len(vocab), n_lfs)
        self._kw = sparse.csr_matrix((np.ones(len(kw_rows), dtype=np.int32), (kw_rows, kw_cols)), shape=shape)
        self._ex = sparse.csr_matrix((np.ones(len(ex_rows), dtype=np.int32), (ex_rows, ex_cols)), shape=shape)
        self._min_hits = np.array([lf.min_hits for lf in self.lfs], dtype=np.int64)
        self._labels = np.array([lf.label for lf in self.lfs], dtype=np.int64)

    def _word_index(self, token: str) -> int:
        return self._words.get(token, -1)

    def term_ids(self, text: str) -> list[int]:
        """Vocabulary ids of the terms (words and phrases) occurring in ``text``, ascending."""
        return [int(i) for i in self.doc_term_matrix([text]).indices]

    def doc_term_matrix(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Binary (len(texts), len(vocab)) matrix: does text i contain term t."""
        return self.doc_term_matrix_for_tokens(token_column(texts))

    def doc_term_matrix_for_tokens(self, col: TokenColumn) -> sparse.csr_matrix:
        """:meth:`doc_term_matrix` of already tokenised texts."""
        n, n_terms, k = len(col), len(self.vocab), len(self._words)
        word = col.table.lut(self, self._word_index)[col.ids]  # per token: word index, or -1
        doc = col.doc_index
        # Walk the trie from every token that is a term's word: ``node`` is the path of the
        # tokens pos..pos+step so far; a path that leaves the trie or the text is dropped.
        pos = np.flatnonzero(word >= 0)
        node = word[pos]
        found_docs, found_nodes = [doc[pos]], [node]
        for step in range(1, self._max_len):
            nxt = pos + step
            keep = self._has_child[node] & (nxt < len(word))
            if not keep.any():
                break
            pos, node, nxt = pos[keep], node[keep], nxt[keep]
            keep = (word[nxt] >= 0) & (doc[nxt] == doc[pos])
            pos, node, nxt = pos[keep], node[keep], nxt[keep]
            code = node * k + word[nxt]
            at = np.minimum(np.searchsorted(self._edge_codes, code), len(self._edge_codes) - 1)
            keep = self._edge_codes[at] == code
            pos, node = pos[keep], self._edge_child[at[keep]]
            found_docs.append(doc[pos])
            found_nodes.append(node)
        terms = self._node_term[np.concatenate(found_nodes)]
        is_term = terms >= 0
        codes = np.unique(np.concatenate(found_docs)[is_term] * n_terms + terms[is_term])
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(codes // n_terms, minlength=n), out=indptr[1:])
        return sparse.csr_matrix(
            (np.ones(len(codes), dtype=np.int32), codes % n_terms, indptr), shape=(n, n_terms)
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

    def votes_for_tokens(self, col: TokenColumn) -> np.ndarray:
        """:meth:`votes` of already tokenised texts."""
        return self.votes_from_matrix(self.doc_term_matrix_for_tokens(col))


def fold_for_literals(text: str) -> str:
    """``text.casefold()``, adjusted so that it contains every ASCII string that
    ``re.IGNORECASE`` (or a case-sensitive pattern) finds in ``text``, lowercased.

    Case-insensitive ``re`` compares a pattern character with one text character at a time, and
    casefold() maps each character on its own; for ASCII pattern characters the two agree except
    that "i" also matches U+0130 (casefolds to "i" + U+0307) and U+0131 (casefolds to itself).
    Mapping U+0131 to "i" and deleting U+0307 (which no ASCII string contains) covers those. A
    test checks every code point.
    """
    folded = text.casefold()
    if not folded.isascii():
        folded = folded.replace("\u0131", "i").replace("\u0307", "")
    return folded


class RegexLF(DeclarativeLF):
    """Votes ``label`` when ``pattern`` is found (``re.search``) in ``field``; case-insensitive by default.

    ``requires``: optional ASCII literals, one of which every match contains (in any letter case),
    e.g. ``("won", "beat")`` for a pattern starting ``(won|beat)``. The column form then runs the
    pattern only on texts whose :func:`fold_for_literals` (the text itself if no literal has a
    letter) contains one: a case-insensitive pattern is tried at every position of a long page, a
    substring test is much cheaper. ``requires_also``: characters without case (e.g. ``("-",
    "\u2013")``), one of which every match also contains, tested as they are. The per-row form
    always runs the full pattern, so a wrong declaration shows up as a column/row mismatch.
    """

    kind = "regex"

    def __init__(
        self,
        name: str,
        pattern: str,
        label: int,
        field: str = "text",
        flags: int = re.IGNORECASE,
        requires: Iterable[str] = (),
        requires_also: Iterable[str] = (),
    ) -> None:
        self.pattern = re.compile(pattern, flags)
        self.field = field
        self.requires: tuple[str, ...] = tuple(requires)
        if any(not lit or not lit.isascii() for lit in self.requires):
            raise ValueError(f"{name}: requires must be non-empty ASCII strings")
        self.requires_also: tuple[str, ...] = tuple(requires_also)
        if any(not lit or any(c.lower() != c.upper() for c in lit) for lit in self.requires_also):
            raise ValueError(f"{name}: requires_also must be non-empty strings of caseless characters")
        self._required = tuple(sorted({lit.lower() for lit in self.requires}))
        # only letters have case variants: literals without any are searched for as they are
        self._fold = any(c.isalpha() for lit in self._required for c in lit)
        super().__init__(name=name, label=label, f=self._vote)

    def _vote(self, x: Any) -> int:
        return self.label if self.pattern.search(field_text(x, self.field)) else ABSTAIN

    def votes_from_text(self, texts: Sequence[str]) -> np.ndarray:
        search = self.pattern.search
        if self._required or self.requires_also:
            required, fold, also = self._required, self._fold, self.requires_also
            fired = np.zeros(len(texts), dtype=bool)
            for i, text in enumerate(texts):
                if also and not any(lit in text for lit in also):
                    continue
                if not required:
                    fired[i] = search(text) is not None
                    continue
                folded = fold_for_literals(text) if fold else text
                if any(lit in folded for lit in required):
                    fired[i] = search(text) is not None
        else:
            fired = np.fromiter((search(t) is not None for t in texts), dtype=bool, count=len(texts))
        return np.where(fired, self.label, ABSTAIN).astype(np.int64)

    def votes_from_values(self, col: pd.Series | None, n: int) -> np.ndarray:
        texts = value_strings(col, n)
        return self.votes_from_text(texts)

    def describe(self) -> str:
        extra = f"; requires one of {', '.join(self.requires)}" if self.requires else ""
        if self.requires_also:
            extra += f"; and one of {' '.join(self.requires_also)}"
        return f"regex({self.field}: /{self.pattern.pattern}/{extra})"


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
        texts = value_strings(col, n)
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
