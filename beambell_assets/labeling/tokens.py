"""Tokens for the LFs' column forms: one tokeniser, token ids, and a chunk's fields read once.

The column forms that read words (keyword groups, model LFs, the hashed features) all start by
tokenising their fields, the dominant cost on long pages. Tokens are therefore turned into integer
ids once per field and chunk (:class:`ChunkColumns`, :func:`token_column`); each reader then maps
ids to what they mean to it through a lookup array (:meth:`TokenTable.lut`) and works on whole
chunks in numpy.

Nothing here is process-wide: a :class:`TokenTable` belongs to whoever tokenises into it (an
applier's :class:`~beambell_assets.labeling.applier_core.ChunkLabeler`, a model LF's per-row form,
a hasher), which keeps it in a :class:`TokenTableSlot` (a fresh table once full, in a forked child,
or after unpickling), and a chunk's columns are handed to the LFs that read them.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from beambell_assets.labeling.fields import column_strings, column_values, row_dtype

__all__ = [
    "TOKEN_PATTERN",
    "TOKEN_TABLE_MAX",
    "ChunkColumns",
    "OwnTokenTable",
    "TokenColumn",
    "TokenTable",
    "TokenTableSlot",
    "join_token_columns",
    "ngrams",
    "normalize_phrase",
    "token_column",
    "tokenize",
]

#: One token = a maximal run of word characters, after lowercasing. Shared with the column form.
TOKEN_PATTERN = r"(?u)\b\w+\b"
# The same tokens, found faster: scanning resumes after a maximal run of word characters, so the
# ``\b`` assertions can never fail (a test checks the two agree on random unicode text).
_TOKEN_RE = re.compile(r"\w+")

#: A slot's table that grew past this many tokens is replaced by a fresh one (bounds memory).
TOKEN_TABLE_MAX = 250_000


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
    """Every run of 1..``max_n`` consecutive tokens, space-joined."""
    out: set[str] = set()
    for n in range(1, max_n + 1):
        for i in range(len(tokens) - n + 1):
            out.add(" ".join(tokens[i : i + n]))
    return out


# --------------------------------------------------------------------------- token ids


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
    """Tokens numbered in order of first sight; ``token(i)`` is id ``i``'s token.

    ``latin1_ids`` looks tokens up by their Latin-1 bytes (what :func:`token_column` reads most
    texts as), ``ids`` by str (the rest); a token has one id either way, and is stored once.
    A table only grows, so ids never change meaning; its :class:`TokenTableSlot` swaps in a new
    one (it never clears one in place) once it passes its size limit, and ids are only compared
    within the table that issued them. Threads may share a table: ids are issued under a lock.
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


class TokenTableSlot:
    """The current :class:`TokenTable` of one owner, which tokenises into it again and again.

    :meth:`current` hands out the same table (so its ids and lookup arrays are reused) until it
    passes ``max_tokens`` tokens; then, and in a forked child (whose copy of a lock may be held by
    a thread that did not survive the fork) it starts a fresh one. A slot pickles empty.
    """

    def __init__(self, max_tokens: int = TOKEN_TABLE_MAX) -> None:
        self.max_tokens = int(max_tokens)
        self._state: tuple[TokenTable, int] | None = None  # (table, pid that made it)

    def current(self) -> TokenTable:
        state, pid = self._state, os.getpid()
        if state is None or state[1] != pid or len(state[0]) > self.max_tokens:
            state = self._state = (TokenTable(), pid)
        return state[0]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.max_tokens,))


class OwnTokenTable:
    """A class attribute giving each instance its own :class:`TokenTable` (``self.<name>``).

    The table lives in a :class:`TokenTableSlot` made on first use (objects pickled before this
    existed get one too).
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._key = f"_{name}_slot"

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        slot = obj.__dict__.get(self._key)
        if slot is None:
            slot = obj.__dict__[self._key] = TokenTableSlot()
        return slot.current()


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
    """:func:`tokenize` each text, as ids of ``table`` (default: a new table, for one-off use)."""
    table = TokenTable() if table is None else table
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


# --------------------------------------------------------------------------- a chunk's fields


class _Failed:
    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


class ChunkColumns:
    """The fields of one DataFrame, each read (and tokenised into ``table``) once for every reader.

    An applier makes one per chunk and hands it to the LFs that take shared columns
    (``votes_for_columns(columns)``); ``memo`` keeps any other per-chunk result the same way. A
    read that raised is remembered and raised again to every reader, so each falls back on its
    own, as if it had read the column itself. Without a ``table``, one is made for this chunk.
    """

    def __init__(self, df: pd.DataFrame, dtype: Any = None, table: TokenTable | None = None) -> None:
        self.df = df
        self._dtype = dtype
        self.table = TokenTable() if table is None else table  # one table for all token columns
        self._memo: dict[Any, Any] = {}

    def __len__(self) -> int:
        return len(self.df)

    @property
    def dtype(self) -> Any:
        """:func:`~beambell_assets.labeling.fields.row_dtype` of the frame (computed once)."""
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

    def values(self, field: str) -> pd.Series | None:
        """:func:`~beambell_assets.labeling.fields.column_values` of ``field`` (not kept)."""
        return column_values(self.df, field, self.dtype)

    def strings(self, field: str) -> list[str]:
        """:func:`~beambell_assets.labeling.fields.column_strings` of ``field`` (callers must not
        modify it)."""
        return self.memo(("strings", field), lambda: column_strings(self.df, field, self.dtype))

    def tokens(self, field: str) -> TokenColumn:
        """:func:`token_column` of the field's strings."""
        return self.memo(("tokens", field), lambda: token_column(self.strings(field), self.table))
