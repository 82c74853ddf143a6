"""Model-based labeling functions: small text models built from seed descriptions, no downloads.

Keyword LFs fire on absolute evidence ("at least three travel words"); on long pages that mention
many topics several of them fire at once. The LFs here compare the classes *against each other*: each
class gets a prototype document (a prose description plus its seed vocabulary, written by the task
author), and a page votes for the class whose prototype it resembles most, only when that class wins
clearly. They abstain otherwise, so they stay labeling functions rather than classifiers.

* :class:`PrototypeLF`: TF-IDF fitted on the prototypes, cosine similarity of the page to each
  prototype; votes the top class when its similarity and its margin over the runner-up pass thresholds.
* :class:`SeedNaiveBayesLF`: multinomial naive Bayes with one "document" per class (its prototype);
  votes when the per-token log-likelihood margin of the best class over the runner-up is large enough.

Both are :class:`~beambell_assets.labeling.lf_types.DeclarativeLF` subclasses. One LF votes for
many classes, so ``label`` is ``None`` (the task validator skips it); ``labels`` lists the classes it
can vote for. ``lf(row)`` and ``column_votes(df)`` score the same count matrix rows with the same
function, so they agree exactly (see :class:`_CountModelLF`).

Both are picklable (module-level analyzer, fitted sklearn objects) for multiprocess and Beam workers;
the vocabulary lookups that speed them up are per process and kept outside the LFs, and an LF's own
token table (its per-row form's) pickles empty.
"""

from __future__ import annotations

import functools
import itertools
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.preprocessing import normalize

from beambell_assets.labeling.fields import field_text
from beambell_assets.labeling.lf_types import ABSTAIN, DeclarativeLF
from beambell_assets.labeling.tokens import (
    ChunkColumns,
    OwnTokenTable,
    TokenColumn,
    TokenTable,
    join_token_columns,
    token_column,
    tokenize,
)

__all__ = ["ModelLF", "PrototypeLF", "SeedNaiveBayesLF", "analyze"]

#: Function words that carry no topic (prose pages keep them; "cleaned" scraped text has none).
_STOP_WORDS_TEXT = """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves us get got may might must shall one two new"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())


def _light_stem(token: str) -> str:
    """A deliberately crude plural folding so "hotels"/"hotel", "recipes"/"recipe" meet.

    Real scraped text is often lemmatised and seed lists are written by hand; both sides go through
    this, so it only has to be consistent, not linguistically right.
    """
    if len(token) <= 3 or not token.isalpha():
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("ss", "us", "is")):
        return token
    if token.endswith("s"):
        return token[:-1]
    return token


@functools.lru_cache(maxsize=1 << 18)
def _kept_stem(token: str) -> str:
    """``_light_stem(token)``, or "" for a token :func:`analyze` drops (stop word, number, 1 char).

    Memoised (a pure function of the token; web text repeats a small vocabulary): it was called
    once per token of every page, 3.1 M calls and ~5 s of a stateful-LF fit on the 591 dev pages."""
    if token in STOP_WORDS or token.isdigit() or len(token) <= 1:
        return ""
    return _light_stem(token)


def analyze(text: str) -> list[str]:
    """Tokens for the model LFs: lowercased words, stop words and numbers dropped, plurals folded,
    plus adjacent-word bigrams. Module-level so fitted vectorizers pickle."""
    toks = [stem for stem in map(_kept_stem, tokenize(text)) if stem]
    return toks + [f"{a} {b}" for a, b in itertools.pairwise(toks)]


def _align_sparse(x: Any) -> Any:
    try:  # what sklearn's own ``transform`` returns (csr_matrix or csr_array, per sklearn config)
        from sklearn.utils._sparse import _align_api_if_sparse
    except ImportError:  # pragma: no cover - older sklearn: always csr_matrix
        return sp.csr_matrix(x)
    return _align_api_if_sparse(x)


# Codes of a raw token for a vocabulary (besides its unigram's feature index >= 0).
_OOV = -1  # kept by ``analyze`` but not in the vocabulary: it still separates its neighbours
_DROPPED = -2  # dropped by ``analyze`` (stop word, number, 1 char): its neighbours become adjacent


class _VocabTables:
    """A fitted ``analyze`` vocabulary as lookups: unigram -> feature index, and the bigrams as
    sorted keys ``first_index * n + second_index`` with their feature indices."""

    def __init__(self, uni: dict[str, int], bkeys: np.ndarray, bfeats: np.ndarray, n: int) -> None:
        self.uni, self.bkeys, self.bfeats, self.n = uni, bkeys, bfeats, n

    def token_code(self, token: str) -> int:
        """What a raw lowercase token is to this vocabulary (a feature index, _OOV or _DROPPED)."""
        stem = _kept_stem(token)
        return self.uni.get(stem, _OOV) if stem else _DROPPED


# Per process, weakly: vectorizer -> its tables (None: not a vocabulary ``count_matrix`` handles),
# and vocabulary -> tables, so LFs fitted on the same documents share tables and token lookups.
_TABLES: weakref.WeakKeyDictionary[CountVectorizer, _VocabTables | None] = weakref.WeakKeyDictionary()
_TABLES_BY_VOCAB: weakref.WeakValueDictionary[tuple, _VocabTables] = weakref.WeakValueDictionary()


def _vocab_tables(vectorizer: CountVectorizer) -> _VocabTables | None:
    """The vectorizer's :class:`_VocabTables`; None when some bigram has a word that is not itself
    in the vocabulary (never for a vocabulary fitted with :func:`analyze`, which keeps every word
    of its bigrams)."""
    if vectorizer in _TABLES:
        return _TABLES[vectorizer]
    vocab = vectorizer.vocabulary_
    key = tuple(sorted((term, int(idx)) for term, idx in vocab.items()))
    tables = _TABLES_BY_VOCAB.get(key)
    if tables is None:
        n = len(vocab)
        uni = {term: int(idx) for term, idx in vocab.items() if " " not in term}
        keys, feats = [], []
        for term, idx in vocab.items():
            if " " in term:
                first, _, second = term.partition(" ")
                if first not in uni or second not in uni:
                    _TABLES[vectorizer] = None
                    return None
                keys.append(uni[first] * n + uni[second])
                feats.append(int(idx))
        order = np.argsort(np.asarray(keys, dtype=np.int64), kind="stable")
        tables = _VocabTables(
            uni, np.asarray(keys, dtype=np.int64)[order], np.asarray(feats, dtype=np.int64)[order], n
        )
        _TABLES_BY_VOCAB[key] = tables
    _TABLES[vectorizer] = tables
    return tables


def _counts(tables: _VocabTables, col: TokenColumn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data, indices, indptr) of the count matrix of tokenised texts (sorted indices)."""
    n_vocab, n_docs = tables.n, len(col)
    codes = col.table.lut(tables, tables.token_code)[col.ids]
    kept = codes != _DROPPED  # ``analyze`` forms its bigrams after dropping these
    ids = codes[kept]
    doc = col.doc_index[kept]
    known = ids >= 0
    feat_doc = [doc[known]]
    feat_ids = [ids[known]]
    bkeys = tables.bkeys
    if len(bkeys) and len(ids) > 1:
        both = known[:-1] & known[1:] & (doc[:-1] == doc[1:])
        pair_keys = ids[:-1][both] * n_vocab + ids[1:][both]
        pos = np.minimum(np.searchsorted(bkeys, pair_keys), len(bkeys) - 1)
        hit = bkeys[pos] == pair_keys
        feat_doc.append(doc[:-1][both][hit])
        feat_ids.append(tables.bfeats[pos[hit]])
    codes, counts = np.unique(
        np.concatenate(feat_doc) * n_vocab + np.concatenate(feat_ids), return_counts=True
    )
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(codes // n_vocab, minlength=n_docs), out=indptr[1:])
    return counts, codes % n_vocab, indptr


def _count_matrix(vectorizer: CountVectorizer, parts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Any:
    """The vectorizer's ``transform`` matrix (dtype, index dtype, type) from :func:`_counts`; new
    arrays, so the caller may change it."""
    counts, indices, indptr = parts
    n_docs = len(indptr) - 1
    idx_dtype = np.int64 if len(counts) > np.iinfo(np.int32).max else np.int32
    x = sp.csr_array(
        (counts.astype(np.intc), indices.astype(idx_dtype), indptr.astype(idx_dtype)),
        shape=(n_docs, len(vectorizer.vocabulary_)),
        dtype=vectorizer.dtype,
    )
    x.sort_indices()
    if vectorizer.binary:
        x.data.fill(1)
    return _align_sparse(x)


def count_matrix(vectorizer: CountVectorizer, texts: Sequence[str], table: TokenTable | None = None) -> Any:
    """``CountVectorizer.transform(texts)`` for a vectorizer fitted with ``analyzer=analyze``, faster.

    The same sparse matrix (values, sorted indices, dtypes, type): the texts' tokens
    (:func:`~beambell_assets.labeling.tokens.token_column` into ``table``, the tokens ``analyze``
    starts from) are mapped to what they are to the vocabulary once per distinct token of the
    table, and the in-vocabulary unigrams and bigrams of the whole batch are counted with numpy.
    """
    tables = _vocab_tables(vectorizer)
    if tables is None:  # pragma: no cover - not a vocabulary fitted with ``analyze``
        return CountVectorizer.transform(vectorizer, list(texts))
    return _count_matrix(vectorizer, _counts(tables, token_column(texts, table)))


class ModelLF(DeclarativeLF):
    """Base for multi-class model LFs that read one or more text fields of a page.

    Subclasses implement :meth:`votes_for_texts`, the one batch function both forms use (the
    per-row form with a one-row list). A page's text is its ``fields`` joined with a space
    (missing values are empty), exactly as :func:`~beambell_assets.labeling.fields.field_text`
    reads them.

    An applier hands the column form a chunk's :class:`~beambell_assets.labeling.tokens.ChunkColumns`
    (:meth:`votes_for_columns`), so the LFs reading the same fields read and tokenise them once;
    ``column_votes(df)`` reads ``df`` on its own. Outside an applier, the LF tokenises into its own
    :attr:`token_table` (kept between calls, not shared).
    """

    kind = "model"
    token_table = OwnTokenTable()

    def __init__(self, name: str, labels: Sequence[int], fields: Sequence[str]) -> None:
        if not fields:
            raise ValueError(f"{name}: no fields")
        self.fields: tuple[str, ...] = tuple(fields)
        self.labels: tuple[int, ...] = tuple(int(label) for label in labels)
        super().__init__(name=name, label=self.labels[0], f=self._vote)
        # One LF, many classes: there is no single ``label`` (Task validation skips ``None``).
        self.label = None  # type: ignore[assignment]

    # -- the one batch function both forms use -------------------------------------------------
    def votes_for_texts(self, texts: Sequence[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _vote(self, x: Any) -> int:
        text = " ".join(field_text(x, f) for f in self.fields)
        return int(self.votes_for_texts([text])[0])

    def column_votes(self, df: pd.DataFrame) -> np.ndarray:
        return self.votes_for_columns(ChunkColumns(df, table=self.token_table))

    def votes_for_columns(self, columns: ChunkColumns) -> np.ndarray:
        """:meth:`column_votes` of ``columns.df``, reading its fields through ``columns``."""
        if len(columns) == 0:
            return np.empty(0, dtype=np.int64)
        texts = [" ".join(p) for p in zip(*(columns.strings(f) for f in self.fields), strict=True)]
        return np.asarray(self.votes_for_texts(texts), dtype=np.int64)

    def describe(self) -> str:
        return f"{self.kind}({'+'.join(self.fields)}: {len(self.labels)} classes)"


class _CountModelLF(ModelLF):
    """A :class:`ModelLF` whose votes depend only on the texts' count matrix over
    ``self.vectorizer``'s vocabulary (an :func:`analyze` one): :meth:`votes_from_counts`, which
    scores each row on its own.

    The per-row form counts the joined text (:func:`count_matrix`). The column form counts each
    field's tokens joined per row, the same tokens, and shares the matrix with the other such LFs
    of the same vocabulary and fields on an applier chunk (the default task's prototype and naive
    Bayes LFs are fitted on the same documents).
    """

    vectorizer: CountVectorizer

    def votes_from_counts(self, x: Any) -> np.ndarray:  # pragma: no cover - abstract
        """Votes (int64, -1 = abstain) from a count matrix that the caller no longer needs."""
        raise NotImplementedError

    def votes_for_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.votes_from_counts(count_matrix(self.vectorizer, texts, self.token_table))

    def votes_for_columns(self, columns: ChunkColumns) -> np.ndarray:
        tables = _vocab_tables(self.vectorizer)
        own_batch_function = type(self).votes_for_texts is not _CountModelLF.votes_for_texts
        if len(columns) == 0 or tables is None or own_batch_function:  # the generic column form
            return super().votes_for_columns(columns)
        parts = columns.memo(
            ("model counts", self.fields, tables),
            lambda: _counts(tables, join_token_columns([columns.tokens(f) for f in self.fields])),
        )
        return np.asarray(self.votes_from_counts(_count_matrix(self.vectorizer, parts)), dtype=np.int64)


def _prototype_items(prototypes: Mapping[int, str | Sequence[str]]) -> tuple[list[int], list[str]]:
    labels, docs = [], []
    for label, proto in sorted(prototypes.items()):
        doc = proto if isinstance(proto, str) else " ".join(proto)
        if not analyze(doc):
            raise ValueError(f"prototype for class {label} has no usable tokens")
        labels.append(int(label))
        docs.append(doc)
    if len(labels) < 2:
        raise ValueError("a model LF needs prototypes for at least two classes")
    return labels, docs


class PrototypeLF(_CountModelLF):
    """Nearest-prototype vote with TF-IDF + cosine similarity.

    ``prototypes`` maps a class index to its prototype text (or a list of phrases). A page votes the
    most similar class when

    * at least ``min_tokens`` of its tokens are in the prototypes' vocabulary (one stray word is not
      evidence),
    * the best cosine similarity is at least ``min_similarity``, and
    * it beats the runner-up by ``min_margin`` (absolute) **and** by the ratio ``min_ratio``.

    Otherwise it abstains. The page vector only counts vocabulary terms, so long pages full of
    boilerplate are judged by the topical words they do contain.
    """

    kind = "prototype"

    def __init__(
        self,
        name: str,
        prototypes: Mapping[int, str | Sequence[str]],
        fields: Sequence[str] = ("title", "description", "text"),
        min_similarity: float = 0.12,
        min_margin: float = 0.03,
        min_ratio: float = 1.25,
        min_tokens: int = 4,
    ) -> None:
        labels, docs = _prototype_items(prototypes)
        self.vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, norm=None)
        proto = self.vectorizer.fit_transform(docs)
        self.prototype_matrix = normalize(proto).T.tocsc()  # (vocab, classes), unit columns
        self.min_similarity = float(min_similarity)
        self.min_margin = float(min_margin)
        self.min_ratio = float(min_ratio)
        self.min_tokens = int(min_tokens)
        super().__init__(name=name, labels=labels, fields=fields)

    def similarities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(cosine similarity to each prototype, in-vocabulary token count) per text."""
        return self._similarities(count_matrix(self.vectorizer, texts, self.token_table))

    def _similarities(self, counts: Any) -> tuple[np.ndarray, np.ndarray]:
        # = ``self.vectorizer.transform(texts)`` (``counts`` is the caller's to change)
        x = self.vectorizer._tfidf.transform(counts, copy=False)
        # Each row is handled on its own (row-wise sparse ops), so a text scores the same alone or
        # in a batch: that is what makes ``lf(row)`` equal ``column_votes(df)``.
        n_tokens = np.asarray((x > 0).sum(axis=1)).ravel()
        sims = np.asarray((normalize(x) @ self.prototype_matrix).todense())
        return sims, n_tokens

    def votes_from_counts(self, x: Any) -> np.ndarray:
        sims, n_tokens = self._similarities(x)
        labels = np.asarray(self.labels, dtype=np.int64)
        order = np.argsort(-sims, axis=1, kind="stable")
        rows = np.arange(len(sims))
        best = sims[rows, order[:, 0]]
        second = sims[rows, order[:, 1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(second > 0, best / np.where(second > 0, second, 1.0), np.inf)
        fire = (
            (n_tokens >= self.min_tokens)
            & (best >= self.min_similarity)
            & (best - second >= self.min_margin)
            & (ratio >= self.min_ratio)
        )
        return np.where(fire, labels[order[:, 0]], ABSTAIN).astype(np.int64)


class SeedNaiveBayesLF(_CountModelLF):
    """Multinomial naive Bayes trained on one prototype document per class.

    A page votes the class with the highest joint log-likelihood when it has at least ``min_tokens``
    vocabulary tokens and the best class beats the runner-up by ``min_margin_per_token`` nats per
    vocabulary token (long pages would otherwise always look certain).
    """

    kind = "seed_nb"

    def __init__(
        self,
        name: str,
        prototypes: Mapping[int, str | Sequence[str]],
        fields: Sequence[str] = ("title", "description", "text"),
        alpha: float = 0.1,
        min_margin_per_token: float = 0.5,
        min_tokens: int = 4,
    ) -> None:
        labels, docs = _prototype_items(prototypes)
        self.vectorizer = CountVectorizer(analyzer=analyze)
        counts = self.vectorizer.fit_transform(docs)
        self.model = MultinomialNB(alpha=alpha, fit_prior=False).fit(counts, np.arange(len(labels)))
        self.min_margin_per_token = float(min_margin_per_token)
        self.min_tokens = int(min_tokens)
        super().__init__(name=name, labels=labels, fields=fields)

    def votes_from_counts(self, x: Any) -> np.ndarray:
        # Count each vocabulary term once per page: navigation menus repeat words many times.
        x.data = np.minimum(x.data, 1)
        n_tokens = np.asarray(x.sum(axis=1)).ravel()
        jll = np.asarray(x @ self.model.feature_log_prob_.T)
        order = np.argsort(-jll, axis=1, kind="stable")
        rows = np.arange(len(jll))
        margin = jll[rows, order[:, 0]] - jll[rows, order[:, 1]]
        per_token = margin / np.maximum(n_tokens, 1)
        fire = (n_tokens >= self.min_tokens) & (per_token >= self.min_margin_per_token)
        labels = np.asarray(self.labels, dtype=np.int64)
        return np.where(fire, labels[order[:, 0]], ABSTAIN).astype(np.int64)
