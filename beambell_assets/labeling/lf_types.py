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

import contextvars
import math
import operator
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
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


# --------------------------------------------------------------------------- token ids
#
# The column forms that read words (keyword groups, model LFs) all start by tokenising their
# fields, the dominant cost on long pages. Tokens are therefore turned into integer ids once per
# field and chunk (:class:`ChunkColumns`, :func:`token_column`); each reader then maps ids to what
# they mean to it through a lookup array (:meth:`TokenTable.lut`) and works on whole chunks in numpy.

#: A table that grew past this many tokens is replaced by a fresh one (bounds memory per process).
_TOKEN_TABLE_MAX = 250_000


class _IdDict(dict):
    """token -> id; looking up a new token adds it, known tokens are found in C."""

    __slots__ = ("_add",)

    def __init__(self, add: Callable[[Any], int]) -> None:
        super().__init__()
        self._add = add

    def __missing__(self, token: Any) -> int:
        return self._add(token)


def _as_str(token: str | bytes) -> str:
    return token if isinstance(token, str) else token.decode("latin-1")


class TokenTable:
    """Tokens numbered in order of first sight, in one process; ``token(i)`` is id ``i``'s token.

    ``latin1_ids`` looks tokens up by their Latin-1 bytes (what :func:`token_column` reads most
    texts as), ``ids`` by str (the rest); a token has one id either way, and is stored once.
    A table only grows, so ids never change meaning; :func:`token_table` swaps in a new one (it
    never clears one in place) once it passes ``_TOKEN_TABLE_MAX`` tokens, and ids are only
    compared within the table that issued them. Threads may share a table: ids are issued under
    a lock.
    """

    def __init__(self) -> None:
        self._tokens: list[str | bytes] = []  # Latin-1 tokens as bytes: about half the memory
        self.ids: dict[str, int] = _IdDict(self._add_str)
        self.latin1_ids: dict[bytes, int] = _IdDict(self._add_latin1)
        self._lock = threading.Lock()
        self._luts: weakref.WeakKeyDictionary[Any, np.ndarray] = weakref.WeakKeyDictionary()

    def __len__(self) -> int:
        return len(self._tokens)

    def token(self, i: int) -> str:
        return _as_str(self._tokens[i])

    def _new_id(self, ids: dict[Any, int], token: str | bytes) -> int:
        with self._lock:
            got = dict.get(ids, token)
            if got is None:
                got = len(self._tokens)
                self._tokens.append(token)
                dict.__setitem__(ids, token, got)
        return got

    def _add_latin1(self, token: bytes) -> int:
        return self._new_id(self.latin1_ids, token)

    def _add_str(self, token: str) -> int:
        try:
            raw = token.encode("latin-1")
        except UnicodeEncodeError:
            return self._new_id(self.ids, token)
        got = self.latin1_ids[raw]
        dict.__setitem__(self.ids, token, got)  # a shortcut for the next lookup by str
        return got

    def lut(self, owner: Any, code: Callable[[str], int]) -> np.ndarray:
        """``code(token)`` for every id issued so far (int64, indexed by id).

        Kept per ``owner`` (weakly: it goes with the owner) and extended as the table grows, so
        ``code`` runs once per distinct token; ``code`` must depend on the token only.
        """
        n = len(self._tokens)
        lut = self._luts.get(owner)
        if lut is None or len(lut) < n:
            old = 0 if lut is None else len(lut)
            new = np.fromiter(map(code, map(_as_str, self._tokens[old:n])), dtype=np.int64, count=n - old)
            lut = new if lut is None else np.concatenate([lut, new])
            self._luts[owner] = lut  # replaced, never grown in place: readers keep a whole one
        return lut


_TOKEN_TABLE = TokenTable()


def token_table() -> TokenTable:
    """This process's current :class:`TokenTable` (a fresh one once the current one is full)."""
    global _TOKEN_TABLE
    table = _TOKEN_TABLE
    if len(table) > _TOKEN_TABLE_MAX:
        table = _TOKEN_TABLE = TokenTable()
    return table


def _fresh_lock_after_fork() -> None:  # a forked child gets no other threads to release a lock
    _TOKEN_TABLE._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_lock_after_fork)


class TokenColumn:
    """The :func:`tokenize` tokens of ``n`` texts as ids of ``table``.

    Text ``i`` is ``ids[offsets[i]:offsets[i + 1]]``; ``doc_index`` gives each token its text.
    """

    def __init__(self, table: TokenTable, ids: np.ndarray, offsets: np.ndarray) -> None:
        self.table = table
        self.ids = ids
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @cached_property
    def doc_index(self) -> np.ndarray:
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)


def _latin1_word_bytes() -> bytes:
    """Byte -> its character lowercased if that is a word character (``\\w``), else a space."""
    table = bytearray(b" " * 256)
    for c in range(256):
        low = chr(c).lower()  # one Latin-1 character again, for every Latin-1 character
        if _TOKEN_RE.fullmatch(low):
            table[c] = ord(low)
    return bytes(table)


# lower() maps each Latin-1 character on its own to one Latin-1 character, so for a text that
# encodes to Latin-1 (most pages), translating its bytes with this table and splitting on spaces
# gives :func:`tokenize`'s tokens, about twice as fast as the regex.
_LATIN1_WORDS = _latin1_word_bytes()


def token_column(texts: Sequence[str], table: TokenTable | None = None) -> TokenColumn:
    """:func:`tokenize` each text, as ids of ``table`` (default: :func:`token_table`)."""
    table = token_table() if table is None else table
    lookup = table.ids.__getitem__
    latin1_lookup = table.latin1_ids.__getitem__
    findall = _TOKEN_RE.findall
    words = _LATIN1_WORDS
    flat: list[int] = []
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    for i, text in enumerate(texts, 1):
        try:
            raw = text.encode("latin-1")
        except UnicodeEncodeError:
            flat.extend(map(lookup, findall(text.lower())))
        else:
            flat.extend(map(latin1_lookup, raw.translate(words).split()))
        offsets[i] = len(flat)
    return TokenColumn(table, np.array(flat, dtype=np.int32), offsets)


def join_token_columns(parts: Sequence[TokenColumn]) -> TokenColumn:
    """Row ``i``: the tokens of row ``i`` of each part in turn, i.e. those of the texts joined with
    a space (``\\w+`` never spans a space, and ``lower()`` is per character apart from a final
    sigma, whose context a space ends). The parts must come from one table."""
    table = parts[0].table
    if any(p.table is not table for p in parts) or len({len(p) for p in parts}) != 1:
        raise ValueError("token columns of different tables or lengths")
    with_tokens = [p for p in parts if len(p.ids)]
    if len(with_tokens) <= 1:  # e.g. only the text field is there
        return with_tokens[0] if with_tokens else parts[0]
    parts = with_tokens
    lengths = [p.lengths for p in parts]
    offsets = np.zeros(len(parts[0]) + 1, dtype=np.int64)
    np.cumsum(sum(lengths), out=offsets[1:])
    ids = np.empty(int(offsets[-1]), dtype=np.int32)
    start = offsets[:-1].copy()  # where each row's next part goes
    for part, n_tok in zip(parts, lengths, strict=True):
        dest = np.repeat(start - part.offsets[:-1], n_tok) + np.arange(len(part.ids))
        ids[dest] = part.ids
        start += n_tok
    return TokenColumn(table, ids, offsets)


class _Failed:
    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


class ChunkColumns:
    """The fields of one DataFrame, each read (and tokenised) once for every LF that reads it.

    ``FastLFApplier`` makes one per chunk and shares it (:func:`sharing_columns`) while the
    chunk's column forms run; they get it from :func:`chunk_columns`. ``memo`` keeps any other
    per-chunk result the same way. A read that raised is remembered and raised again to every
    reader, so each falls back on its own, as if it had read the column itself.
    """

    def __init__(self, df: pd.DataFrame, dtype: Any = None) -> None:
        self.df = df
        self._dtype = dtype
        self.table = token_table()  # one table for all of the chunk's token columns
        self._memo: dict[Any, Any] = {}

    @property
    def dtype(self) -> Any:
        if self._dtype is None:
            self._dtype = row_dtype(self.df)
        return self._dtype

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        try:
            got = self._memo[key]
        except KeyError:
            try:
                got = compute()
            except Exception as exc:
                got = _Failed(exc)
            self._memo[key] = got
        if isinstance(got, _Failed):
            raise got.exc
        return got

    def strings(self, field: str) -> list[str]:
        """:func:`column_strings` of ``field`` (callers must not modify it)."""
        return self.memo(("strings", field), lambda: column_strings(self.df, field, self.dtype))

    def tokens(self, field: str) -> TokenColumn:
        """:func:`token_column` of the field's strings."""
        return self.memo(("tokens", field), lambda: token_column(self.strings(field), self.table))


_SHARED_COLUMNS: contextvars.ContextVar[ChunkColumns | None] = contextvars.ContextVar(
    "beambell_shared_columns", default=None
)


@contextmanager
def sharing_columns(columns: ChunkColumns) -> Iterator[ChunkColumns]:
    """Within the block, :func:`chunk_columns` of ``columns.df`` returns ``columns``."""
    token = _SHARED_COLUMNS.set(columns)
    try:
        yield columns
    finally:
        _SHARED_COLUMNS.reset(token)


def chunk_columns(df: pd.DataFrame) -> ChunkColumns:
    """The shared :class:`ChunkColumns` of this very frame if an applier is evaluating it, else a
    new one (so nothing outlives a call, and a frame changed between calls is read afresh)."""
    shared = _SHARED_COLUMNS.get()
    if shared is not None and shared.df is df:
        return shared
    return ChunkColumns(df)


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
        texts = _strings(col, n)
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
