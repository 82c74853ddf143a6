"""The speed-ups behind the column forms change no vote.

* tokens as ids (:func:`token_column`, with its Latin-1 byte path) are :func:`tokenize`'s tokens,
  and the tokens of fields joined per row are those of the joined text;
* a token table is consistent under threads; a slot renews a full table, and a forked child's;
* keyword phrases never match across rows;
* a ``RegexLF``'s declared literals (``requires``) are in every text the pattern matches, so
  skipping the other texts is exact.
"""

from __future__ import annotations

import os
import pickle
import random
import re
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from beambell_assets.labeling.lf_types import (
    ABSTAIN,
    KeywordLF,
    KeywordMatcher,
    RegexLF,
    fold_for_literals,
    tokenize,
)
from beambell_assets.labeling.tasks.web_content import TASK
from beambell_assets.labeling.tokens import (
    ChunkColumns,
    TokenTable,
    TokenTableSlot,
    join_token_columns,
    token_column,
)

DEV_CSV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "website_classification_dev.csv"

# Latin-1 (incl. NBSP, NEL, soft hyphen, ª º µ ² ½ ß ÿ), wider characters, case oddities.
ALPHABET = [
    *(chr(c) for c in range(32, 127)),
    *"\t\n\r\x85\xa0\xad\xaa\xba\xb5\xb2\xbd\xd7\xdf\xff\xc9\xe9\xd0\xf0",
    *"\u0130\u0131\u017f\u212a\u0307\u0301\u03a3\u03c3\u03c2\u0345\u1e9e\u0663\u6771\U0001f3e8",
]


def _ids_as_tokens(col) -> list[list[str]]:
    token = col.table.token
    return [[token(i) for i in col.ids[a:b]] for a, b in zip(col.offsets[:-1], col.offsets[1:], strict=True)]


def _random_texts(seed: int, n: int, alphabet: list[str] = ALPHABET, max_len: int = 40) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_len))) for _ in range(n)]


# --------------------------------------------------------------------------- tokens as ids


def test_latin1_table_lowercases_within_latin1() -> None:
    for c in range(256):
        low = chr(c).lower()
        assert len(low) == 1 and ord(low) < 256, hex(c)


def test_token_column_is_tokenize() -> None:
    texts = _random_texts(1, 1500)
    texts += _random_texts(2, 500, alphabet=[chr(c) for c in range(256)])  # every Latin-1 byte
    texts += ["", " ", "Straße STRASSE", "ÀÉÎÕÜ àéîõü", "İstanbul ıstanbul", "ΣΑΣ σας", "東京 ホテル"]
    col = token_column(texts, TokenTable())
    assert len(col) == len(texts)
    assert _ids_as_tokens(col) == [tokenize(t) for t in texts]


def test_joined_fields_have_the_tokens_of_the_joined_text() -> None:
    """What lets the model LFs' column form reuse each field's tokens (per-row form: joined text).
    Final sigma (lower() looks at neighbours) and characters lower() expands sit at the joins."""
    parts = [_random_texts(seed, 600, max_len=12) for seed in (3, 4, 5)]
    parts[0][:4] = ["AΣ", "Σ", "ΣA", "İ"]
    parts[1][:4] = ["Σ", "AΣ", "a", "Σ"]
    table = TokenTable()
    joined = join_token_columns([token_column(p, table) for p in parts])
    texts = [" ".join(row) for row in zip(*parts, strict=True)]
    assert _ids_as_tokens(joined) == [tokenize(t) for t in texts]
    assert np.array_equal(joined.ids, token_column(texts, table).ids)
    empty = token_column([""] * len(texts), table)
    alone = join_token_columns([empty, token_column(parts[0], table), empty])
    assert _ids_as_tokens(alone) == [tokenize(t) for t in parts[0]]
    assert len(join_token_columns([empty, empty])) == len(texts)


def test_token_table_is_consistent_under_threads() -> None:
    table = TokenTable()
    texts = [_random_texts(seed, 200) for seed in range(6)]
    got: dict[int, list[list[str]]] = {}

    def work(k: int) -> None:
        got[k] = _ids_as_tokens(token_column(texts[k], table))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, batch in enumerate(texts):
        assert got[k] == [tokenize(t) for t in batch]
    tokens = [table.token(i) for i in range(len(table))]
    assert len(set(tokens)) == len(tokens), "one id per token"
    assert all(table.ids[tok] == i for i, tok in enumerate(tokens))
    assert all(table.latin1_ids[t.encode("latin-1")] == i for i, t in enumerate(tokens) if max(t) < "\u0100")


def test_keyword_phrases_do_not_span_rows() -> None:
    lfs = [
        KeywordLF("ny", ["new york"], 0),
        KeywordLF("nyt", ["new york times", "a b c d"], 1),
        KeywordLF("both", ["new", "york times"], 2, min_hits=2, exclude=["b c"]),
    ]
    texts = ["xx new", "york", "times new york", "new york times", "a b c", "d a b c d", "new york times b c"]
    L = KeywordMatcher(lfs).votes(texts)
    rows = [[lf(pd.Series({"text": t})) for lf in lfs] for t in texts]
    np.testing.assert_array_equal(L, np.array(rows))
    assert L[:2].tolist() == [[ABSTAIN] * 3] * 2
    assert L[3].tolist() == [0, 1, 2] and L[6].tolist() == [0, 1, ABSTAIN]


def test_keyword_matcher_on_many_overlapping_phrases() -> None:
    rng = random.Random(13)
    words = ["a", "b", "c", "d", "A", "B-c", "x"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(500)]
    terms = ["a", "a b", "a b c", "a b c d", "b c", "b c d", "c d a", "x x", "x x x", "d d d d", "b"]
    lfs = []
    for k in range(30):
        kws = rng.sample(terms, rng.randint(1, 4))
        excl = rng.sample(terms, rng.randint(0, 1))
        lfs.append(KeywordLF(f"lf{k}", kws, k % 3, min_hits=rng.randint(1, 2), exclude=excl))
    L = KeywordMatcher(lfs).votes(texts)
    for j, lf in enumerate(lfs):
        assert L[:, j].tolist() == [lf(pd.Series({"text": t})) for t in texts], lf.name
    assert (L != ABSTAIN).mean() > 0.1


# --------------------------------------------------------------------------- regex prefilter


def test_fold_keeps_every_ascii_character_that_ignorecase_matches() -> None:
    """Per character: any character a case-insensitive ASCII pattern character matches folds to
    that character (lowercased). Folding maps characters one by one, so literals follow."""
    any_ascii = re.compile(r"[\x00-\x7f]", re.IGNORECASE)
    non_ascii = set()
    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if cp > 0x7F and not any_ascii.fullmatch(c):
            continue
        for p in map(chr, range(0x80)):
            if re.fullmatch(re.escape(p), c, re.IGNORECASE):
                assert fold_for_literals(c) == p.lower(), (hex(cp), p)
                assert p.isalpha() or c == p, "a non-letter only matches itself (no fold needed)"
                if cp > 0x7F:
                    non_ascii.add(c)
    assert {"\u0130", "\u0131", "\u017f", "\u212a"} <= non_ascii  # dotted I, dotless i, long s, Kelvin
    for a, b in zip(_random_texts(6, 300), _random_texts(7, 300), strict=True):
        assert fold_for_literals(a + b) == fold_for_literals(a) + fold_for_literals(b)


def _prefilter_passes(lf: RegexLF, text: str) -> bool:
    if lf.requires_also and not any(lit in text for lit in lf.requires_also):
        return False
    folded = fold_for_literals(text) if lf._fold else text
    return not lf._required or any(lit in folded for lit in lf._required)


REQUIRES_LFS = [lf for lf in TASK.lfs if isinstance(lf, RegexLF) and lf.requires]

CRAFTED = [
    "Arsenal BEAT Chelsea 2-1 on Sunday",
    "they Won 104\u201398 at home",
    "DEFEATED the visitors 3 - 0",
    "a VICTORY OVER rivals, 21-14",
    "w\u0130n over Leeds 2-0",  # dotted capital I matches "i"
    "w\u0131n over Leeds 2-0",  # dotless i matches "i"
    "VICTORY \u0130N 2-0, v\u0131ctory over them 1-0",
    "drew 1-1",
    "Lost 0-3",
    "add 2 Cups of flour, 1 TBSP sugar and 3 tſp salt",  # long s matches "s"
    "1/2 Teaspoon salt, 8 OZ butter, 200 Gramſ rice, 4 OUNCES cheese, 2 tablespoons oil",
    "YOU MUST BE 18 or older to enter",
    "Are you AT LEAST 21? Please confirm you are an ADULT",
    "over 18 - ENTER",
    "nothing to see here",
]


@pytest.mark.parametrize("lf", REQUIRES_LFS, ids=lambda lf: lf.name)
def test_regex_prefilter_never_drops_a_match_on_crafted_text(lf: RegexLF) -> None:
    texts = [*CRAFTED, *(t.upper() for t in CRAFTED), *(t.swapcase() for t in CRAFTED)]
    matched = [t for t in texts if lf.pattern.search(t)]
    assert matched, f"{lf.name}: the crafted texts should exercise the pattern"
    for t in matched:
        assert _prefilter_passes(lf, t), (lf.name, t)
    per_row = [lf(pd.Series({lf.field: t})) for t in texts]
    assert lf.votes_from_text(texts).tolist() == per_row


@pytest.mark.shared_data
@pytest.mark.parametrize("lf", REQUIRES_LFS, ids=lambda lf: lf.name)
def test_regex_prefilter_never_drops_a_match_on_dev_data(lf: RegexLF) -> None:
    if not DEV_CSV.exists():
        pytest.skip(f"needs the shared dev data at {DEV_CSV} (absent outside the project workspace)")
    raw = pd.read_csv(DEV_CSV)
    texts = [t for t in raw["cleaned_website_text"].tolist() if isinstance(t, str)]
    texts += [t.upper() for t in texts[:100]]
    dropped = [t[:80] for t in texts if lf.pattern.search(t) and not _prefilter_passes(lf, t)]
    assert not dropped
    per_row = [lf(pd.Series({lf.field: t})) for t in texts]
    assert lf.votes_from_text(texts).tolist() == per_row


def test_default_task_declares_the_prefilters() -> None:
    names = {lf.name for lf in REQUIRES_LFS}
    assert {"re_sports_scoreline", "re_adult_age_gate", "re_food_quantities"} <= names
    lf = next(lf for lf in REQUIRES_LFS if lf.name == "re_adult_age_gate")
    assert "requires one of 18, 21" in lf.describe()


def test_requires_validation_and_pickling() -> None:
    with pytest.raises(ValueError):
        RegexLF("r", "caf\u00e9", 0, requires=("caf\u00e9",))  # only ASCII literals are covered
    with pytest.raises(ValueError):
        RegexLF("r", "x", 0, requires=("",))
    lf = RegexLF("r", r"\bwon\b \d+", 1, requires=("WON",))
    texts = ["We WON 3 times", "won", "wonder 3", "", "ıs won 2"]
    clone = pickle.loads(pickle.dumps(lf))
    assert clone.votes_from_text(texts).tolist() == lf.votes_from_text(texts).tolist() == [1, -1, -1, -1, 1]
    cloudpickle = pytest.importorskip("cloudpickle")
    assert cloudpickle.loads(cloudpickle.dumps(lf)).votes_from_text(texts).tolist() == [1, -1, -1, -1, 1]


def test_requires_also_skips_texts_without_the_caseless_characters() -> None:
    with pytest.raises(ValueError, match="caseless"):
        RegexLF("r", "x-", 0, requires_also=("x-",))
    lf = RegexLF("r", r"\bwon\b \d+\s*[-\u2013]\s*\d+", 1, requires=("won",), requires_also=("-", "\u2013"))
    texts = ["WON 2-1", "won 3\u20131", "won 3 1", "Won 2 - 0", "lost 2-1", ""]
    want = [lf(pd.Series({"text": t})) for t in texts]
    assert want == [1, 1, -1, 1, -1, -1]
    assert lf.votes_from_text(texts).tolist() == want
    assert "and one of - \u2013" in lf.describe()
    only_also = RegexLF("r", r"\d-\d", 1, requires_also=("-",))
    assert only_also.votes_from_text(["1-2", "12", "a-b"]).tolist() == [1, -1, -1]


def test_chunk_columns_read_each_field_once_into_the_given_table() -> None:
    df = pd.DataFrame({"text": ["a b", "c"]})
    table = TokenTable()
    columns = ChunkColumns(df, table=table)
    assert columns.strings("text") is columns.strings("text")
    assert columns.tokens("text") is columns.tokens("text")
    assert columns.tokens("text").table is table
    assert _ids_as_tokens(columns.tokens("text")) == [["a", "b"], ["c"]]
    assert ChunkColumns(df).table is not ChunkColumns(df).table  # no table given: nothing shared


def test_token_table_slot_renews_a_full_table_and_a_forked_childs() -> None:
    slot = TokenTableSlot(max_tokens=3)
    first = slot.current()
    assert slot.current() is first
    token_column(["a b c"], first)
    assert slot.current() is first  # at the limit, not past it
    token_column(["d"], first)
    second = slot.current()
    assert second is not first and len(second) == 0
    assert pickle.loads(pickle.dumps(slot)).max_tokens == 3
    if not hasattr(os, "fork"):  # pragma: no cover - not POSIX
        return
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a fresh table, not the parent's
        os.write(write, b"1" if slot.current() is not second else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert slot.current() is second  # the parent keeps its own
