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
can vote for. ``lf(row)`` and ``column_votes(df)`` go through the same batch function
(``votes_for_texts``), the per-row form with a one-row list, so they agree exactly.

Both are picklable (module-level analyzer, fitted sklearn objects) for multiprocess and Beam workers.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.preprocessing import normalize

from beambell_assets.labeling.lf_types import (
    ABSTAIN,
    TOKEN_PATTERN,
    DeclarativeLF,
    column_text,
    field_text,
)

__all__ = ["ModelLF", "PrototypeLF", "SeedNaiveBayesLF", "analyze"]

_TOKEN_RE = re.compile(TOKEN_PATTERN)

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


def _kept_stem(token: str) -> str:
    """``_light_stem(token)``, or "" for a token :func:`analyze` drops (stop word, number, 1 char)."""
    if token in STOP_WORDS or token.isdigit() or len(token) <= 1:
        return ""
    return _light_stem(token)


# Speed-ups for the model LFs (pure caches: every result equals the uncached computation).
# * ``_STEMS``: lowercased raw token -> ``_kept_stem(token)``; a page repeats most of its words, and
#   pages share most of theirs. Bounded: replaced by a fresh dict when it would grow past the cap.
# * ``_UNIGRAMS``: text -> its kept, stemmed tokens, so LFs that read the same fields of the same
#   rows (e.g. the prototype and naive Bayes LFs, one after the other on an applier chunk) analyze
#   each text once. Bounded by the characters of the texts it keeps (about one applier chunk).
# Each process has its own; replacing a dict (never clearing it in place) keeps concurrent threads
# that still hold the old one correct.
_STEM_CACHE_MAX = 200_000
_UNIGRAM_CACHE_MAX_CHARS = 8_000_000
_STEMS: dict[str, str] = {}
_UNIGRAMS: dict[str, list[str]] = {}
_unigram_chars = 0


def _stems_of(raw: list[str]) -> list[str]:
    """``[_kept_stem(t) for t in raw]`` with the dropped tokens left out."""
    global _STEMS
    stems = _STEMS
    new = set(raw).difference(stems)
    if new:
        if len(stems) + len(new) > _STEM_CACHE_MAX:
            stems = _STEMS = {}
        for t in new:
            stems[t] = _kept_stem(t)
    return list(filter(None, map(stems.__getitem__, raw)))


def _unigrams(text: str) -> list[str]:
    """The unigram part of :func:`analyze` (shared, cached: callers must not modify it)."""
    global _UNIGRAMS, _unigram_chars
    cache = _UNIGRAMS
    got = cache.get(text)
    if got is not None:
        return got
    toks = _stems_of(_TOKEN_RE.findall(text.lower()))
    if _unigram_chars + len(text) > _UNIGRAM_CACHE_MAX_CHARS:
        cache = _UNIGRAMS = {}
        _unigram_chars = 0
    if len(text) <= _UNIGRAM_CACHE_MAX_CHARS:
        cache[text] = toks
        _unigram_chars += len(text)
    return toks


def analyze(text: str) -> list[str]:
    """Tokens for the model LFs: lowercased words, stop words and numbers dropped, plurals folded,
    plus adjacent-word bigrams. Module-level so fitted vectorizers pickle."""
    toks = _stems_of(_TOKEN_RE.findall(text.lower()))
    return toks + [f"{a} {b}" for a, b in itertools.pairwise(toks)]


def _align_sparse(x: Any) -> Any:
    try:  # what sklearn's own ``transform`` returns (csr_matrix or csr_array, per sklearn config)
        from sklearn.utils._sparse import _align_api_if_sparse
    except ImportError:  # pragma: no cover - older sklearn: always csr_matrix
        return sp.csr_matrix(x)
    return _align_api_if_sparse(x)


def _vocab_tables(vectorizer: CountVectorizer) -> tuple[dict[str, int], np.ndarray, np.ndarray] | None:
    """(unigram -> index, sorted bigram keys ``a_index * n + b_index``, their indices), cached on
    the vectorizer; None when some bigram has a word that is not itself in the vocabulary (never
    for a vocabulary fitted with :func:`analyze`, which keeps every word of its bigrams)."""
    tables = vectorizer.__dict__.get("_beambell_vocab_tables", False)
    if tables is not False:
        return tables
    vocab = vectorizer.vocabulary_
    n = len(vocab)
    uni = {term: int(idx) for term, idx in vocab.items() if " " not in term}
    keys, feats = [], []
    tables = None
    for term, idx in vocab.items():
        if " " in term:
            first, _, second = term.partition(" ")
            if first not in uni or second not in uni:
                break
            keys.append(uni[first] * n + uni[second])
            feats.append(int(idx))
    else:
        order = np.argsort(np.asarray(keys, dtype=np.int64), kind="stable")
        tables = (
            uni,
            np.asarray(keys, dtype=np.int64)[order],
            np.asarray(feats, dtype=np.int64)[order],
        )
    vectorizer.__dict__["_beambell_vocab_tables"] = tables
    return tables


def count_matrix(vectorizer: CountVectorizer, texts: Sequence[str]) -> Any:
    """``CountVectorizer.transform(texts)`` for a vectorizer fitted with ``analyzer=analyze``, faster.

    The same sparse matrix (values, sorted indices, dtypes, type): each text's tokens come from the
    shared :func:`_unigrams` cache, are mapped to vocabulary indices once, and the in-vocabulary
    unigrams and bigrams of the whole batch are counted with numpy.
    """
    tables = _vocab_tables(vectorizer)
    if tables is None:  # pragma: no cover - not a vocabulary fitted with ``analyze``
        return vectorizer.transform(list(texts))
    uni, bkeys, bfeats = tables
    n_vocab = len(vectorizer.vocabulary_)
    n_docs = len(texts)
    parts = []
    for text in texts:
        toks = _unigrams(text)
        parts.append(np.fromiter(map(uni.get, toks, itertools.repeat(-1)), dtype=np.int64, count=len(toks)))
    lens = np.fromiter(map(len, parts), dtype=np.int64, count=n_docs)
    ids = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), lens)
    known = ids >= 0
    feat_doc = [doc[known]]
    feat_ids = [ids[known]]
    if len(bkeys) and len(ids) > 1:
        both = known[:-1] & known[1:] & (doc[:-1] == doc[1:])
        pair_keys = ids[:-1][both] * n_vocab + ids[1:][both]
        pos = np.minimum(np.searchsorted(bkeys, pair_keys), len(bkeys) - 1)
        hit = bkeys[pos] == pair_keys
        feat_doc.append(doc[:-1][both][hit])
        feat_ids.append(bfeats[pos[hit]])
    codes, counts = np.unique(
        np.concatenate(feat_doc) * n_vocab + np.concatenate(feat_ids), return_counts=True
    )
    rows = codes // n_vocab
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
    idx_dtype = np.int64 if len(codes) > np.iinfo(np.int32).max else np.int32
    x = sp.csr_array(
        (
            counts.astype(np.intc),
            (codes % n_vocab).astype(idx_dtype),
            indptr.astype(idx_dtype),
        ),
        shape=(n_docs, n_vocab),
        dtype=vectorizer.dtype,
    )
    x.sort_indices()
    if vectorizer.binary:
        x.data.fill(1)
    return _align_sparse(x)


class ModelLF(DeclarativeLF):
    """Base for multi-class model LFs that read one or more text fields of a page.

    Subclasses implement :meth:`votes_for_texts`. ``fields`` are joined with a space (missing values
    are empty), exactly as :func:`~beambell_assets.labeling.lf_types.field_text` reads them.
    """

    kind = "model"

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
        if len(df) == 0:
            return np.empty(0, dtype=np.int64)
        cols = [column_text(df, f) for f in self.fields]
        texts = [" ".join(parts) for parts in zip(*(c.tolist() for c in cols), strict=True)]
        return np.asarray(self.votes_for_texts(texts), dtype=np.int64)

    def describe(self) -> str:
        return f"{self.kind}({'+'.join(self.fields)}: {len(self.labels)} classes)"


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


class PrototypeLF(ModelLF):
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
        # = ``self.vectorizer.transform(texts)``, computed faster (see :func:`count_matrix`).
        x = self.vectorizer._tfidf.transform(count_matrix(self.vectorizer, texts), copy=False)
        # Each row is handled on its own (row-wise sparse ops), so a text scores the same alone or
        # in a batch: that is what makes ``lf(row)`` equal ``column_votes(df)``.
        n_tokens = np.asarray((x > 0).sum(axis=1)).ravel()
        sims = np.asarray((normalize(x) @ self.prototype_matrix).todense())
        return sims, n_tokens

    def votes_for_texts(self, texts: Sequence[str]) -> np.ndarray:
        sims, n_tokens = self.similarities(texts)
        labels = np.asarray(self.labels, dtype=np.int64)
        order = np.argsort(-sims, axis=1, kind="stable")
        rows = np.arange(len(texts))
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


class SeedNaiveBayesLF(ModelLF):
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

    def votes_for_texts(self, texts: Sequence[str]) -> np.ndarray:
        x = count_matrix(self.vectorizer, texts)  # = self.vectorizer.transform(texts), faster
        # Count each vocabulary term once per page: navigation menus repeat words many times.
        x.data = np.minimum(x.data, 1)
        n_tokens = np.asarray(x.sum(axis=1)).ravel()
        jll = np.asarray(x @ self.model.feature_log_prob_.T)
        order = np.argsort(-jll, axis=1, kind="stable")
        rows = np.arange(len(texts))
        margin = jll[rows, order[:, 0]] - jll[rows, order[:, 1]]
        per_token = margin / np.maximum(n_tokens, 1)
        fire = (n_tokens >= self.min_tokens) & (per_token >= self.min_margin_per_token)
        labels = np.asarray(self.labels, dtype=np.int64)
        return np.where(fire, labels[order[:, 0]], ABSTAIN).astype(np.int64)
