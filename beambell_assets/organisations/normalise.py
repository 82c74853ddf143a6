"""Organisation names made comparable: ``"The Horizon Escapes, Ltd."`` -> ``"horizon escapes"``.

Legal forms (Ltd, Inc., GmbH, S.L., ...) and a leading "the" are dropped because one organisation
writes its name with and without them across its pages; the display name keeps them.
"""

from __future__ import annotations

import html
import re
import unicodedata

#: Legal-form tokens dropped from the end of a normalised name (after punctuation is removed,
#: so ``S.L.`` is ``s l`` and ``Pty. Ltd.`` is ``pty ltd``).
LEGAL_FORMS: tuple[str, ...] = (
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "llp",
    "lp",
    "plc",
    "gmbh",
    "ag",
    "kg",
    "se",
    "sa",
    "s a",
    "sl",
    "s l",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "pty",
    "pvt",
    "co",
    "corp",
    "corporation",
    "oy",
    "ab",
    "as",
    "kk",
    "ug",
    "e v",
    "ev",
    "private limited",
    "pte",
    "and co",
)
_LEGAL_TAIL = re.compile(r"(?:\s+(?:" + "|".join(re.escape(f) for f in LEGAL_FORMS) + r"))+$")
_NON_WORD = re.compile(r"[^\w]+")
_SPACES = re.compile(r"\s+")
_EDGE_JUNK = re.compile(r"^[\s\"'“”‘’«»|:;,\-–—·•*]+|[\s\"'“”‘’«»|:;,\-–—·•*]+$")


def clean_display(name: str) -> str:
    """A name as shown to people: entities decoded, whitespace collapsed, stray edge punctuation off."""
    text = unicodedata.normalize("NFKC", html.unescape(name or ""))
    text = _SPACES.sub(" ", text).strip()
    previous = None
    while text != previous:
        previous = text
        text = _EDGE_JUNK.sub("", text)
        if text.endswith("..") or (text.endswith(".") and not _ends_with_abbreviation(text)):
            text = text[:-1].rstrip()
    return text


def _ends_with_abbreviation(text: str) -> bool:
    """``Inc.``, ``S.L.``, ``Co.`` keep their dot; a sentence's full stop does not."""
    last = text.rsplit(" ", 1)[-1].lower()
    return last.count(".") > 1 or last.rstrip(".") in LEGAL_FORMS or len(last.rstrip(".")) == 1


def normalise_name(name: str) -> str:
    """Lowercase words without punctuation, legal forms or a leading "the" ("" when nothing is left)."""
    text = unicodedata.normalize("NFKC", html.unescape(name or "")).casefold().replace("&", " and ")
    text = _SPACES.sub(" ", _NON_WORD.sub(" ", text).replace("_", " ")).strip()
    if text.startswith("the "):
        text = text[4:]
    stripped = _LEGAL_TAIL.sub("", text).strip()
    return stripped or text


def squash(normalised: str) -> str:
    """A normalised name without spaces: ``"horizon escapes"`` matches the domain ``horizonescapes``."""
    return normalised.replace(" ", "")


def same_organisation(short: str, long: str) -> bool:
    """Whether normalised ``short`` names the same organisation as ``long`` (its leading words).

    ``"horizon escapes"`` / ``"horizon escapes travel group"`` and the squashed domain label
    ``"horizonescapes"`` all match; ``"escapes"`` does not match ``"horizon escapes"``.
    """
    if not short or not long:
        return False
    if short == long:
        return True
    a, b = short.split(), long.split()
    if len(a) <= len(b) and b[: len(a)] == a:
        return True
    sa, sb = squash(short), squash(long)
    return len(sa) >= 4 and sb.startswith(sa)
