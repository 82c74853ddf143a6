"""Labeling functions that vote on a whole site (one row per domain), not on one page.

They read a *domain row* (:func:`beambell_assets.domains.profiles.domain_row`): ``registered_domain``,
``public_suffix``, ``hosts`` (space-joined), ``paths`` (newline-joined url paths seen on the site)
and ``n_pages``. Kinds:

* top-level domains that only one kind of body may register (``.gov``, ``.gov.uk``, ``.mil``,
  ``.edu``, ``.ac.uk``, ...);
* hosting-platform patterns: a tenant of a shop or photo platform (``*.myshopify.com``,
  ``*.smugmug.com``), a forum host name (``forum.``, ``community.``);
* URL paths: a site most of whose sampled pages sit under ``/recipes/`` is a food site, etc.

Labels are *names* of the page task's label space (the default web-content task); an LF whose
label the current page task does not have is left out, so a user's own page task still works.
All are ordinary Snorkel ``LabelingFunction``\\ s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from snorkel.labeling import LabelingFunction

from beambell_assets.labeling.lf_types import ABSTAIN, MembershipLF, RegexLF, field_text


class PathShareLF(LabelingFunction):
    """Votes ``label`` when at least ``min_share`` of a site's sampled paths (and ``min_count`` of
    them) match ``pattern``: one ``/forum/`` link does not make a forum, most pages there do."""

    def __init__(
        self, name: str, pattern: str, label: int, min_share: float = 0.5, min_count: int = 1
    ) -> None:
        self.pattern = re.compile(pattern, re.IGNORECASE)
        self.label, self.min_share, self.min_count = int(label), float(min_share), int(min_count)
        super().__init__(name=name, f=self._vote)

    def _vote(self, x: Any) -> int:
        paths = [p for p in field_text(x, "paths").split("\n") if p]
        if not paths:
            return ABSTAIN
        hits = sum(1 for p in paths if self.pattern.search(p))
        return self.label if hits >= self.min_count and hits / len(paths) >= self.min_share else ABSTAIN


_GOV_SUFFIX = r"(?:^|\.)(?:gov|mil|gouv|gob|govt|go|gc|gv)\.[a-z]{2}$|^(?:gov|mil)$"
_GOV_DOMAIN = r"(?:^|\.)(?:europa\.eu|bund\.de|admin\.ch|gv\.at|service\.gov\.uk|nhs\.uk|police\.uk)$"
_EDU_SUFFIX = r"(?:^|\.)(?:edu|ac|sch)\.[a-z]{2}$|^edu$"

#: (name, kind, field or pattern, target label name, options)
_SPECS: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
    ("dom_suffix_gov", "regex", _GOV_SUFFIX, "Law and Government", {"field": "public_suffix"}),
    ("dom_domain_gov", "regex", _GOV_DOMAIN, "Law and Government", {"field": "registered_domain"}),
    ("dom_suffix_edu", "regex", _EDU_SUFFIX, "Education", {"field": "public_suffix"}),
    (
        "dom_platform_shop",
        "membership",
        "myshopify.com bigcartel.com square.site ecwid.com storenvy.com",
        "E-Commerce",
        {"field": "public_suffix"},
    ),
    (
        "dom_platform_photo",
        "regex",
        r"(?:^|\.)(?:smugmug|zenfolio|format|pixieset|photoshelter|500px|pixpa)\.com$",
        "Photography",
        {"field": "hosts"},
    ),
    (
        "dom_host_forum",
        "regex",
        r"(?:^|\s)(?:forums?|boards?|community|discuss|bbs)\.",
        "Forums",
        {"field": "hosts"},
    ),
    ("dom_host_news", "regex", r"(?:^|\s)news\.", "News", {"field": "hosts"}),
    (
        "dom_paths_forum",
        "paths",
        r"/(?:forums?|threads?|topics?|viewtopic|showthread|t)/|\.php\?t=",
        "Forums",
        {},
    ),
    ("dom_paths_shop", "paths", r"/(?:products?|cart|checkout|collections|shop|dp)(?:/|$)", "E-Commerce", {}),
    ("dom_paths_recipe", "paths", r"/recipes?/", "Food", {}),
    ("dom_paths_news", "paths", r"/(?:news|politics|world|opinion)/|/20\d\d/[01]\d/", "News", {}),
    ("dom_paths_travel", "paths", r"/(?:hotels?|flights?|destinations?|tours?)/", "Travel", {}),
    (
        "dom_paths_streaming",
        "paths",
        r"/(?:watch|episodes?|series|movies?|browse|playlists?)/",
        "Streaming Services",
        {},
    ),
    (
        "dom_paths_sports",
        "paths",
        r"/(?:scores|fixtures|results|teams?|match(?:es)?|standings)/",
        "Sports",
        {},
    ),
    ("dom_paths_photo", "paths", r"/(?:gallery|galleries|portfolio|photos?)/", "Photography", {}),
    (
        "dom_paths_education",
        "paths",
        r"/(?:courses?|admissions?|faculty|programmes?|programs?)/",
        "Education",
        {},
    ),
    ("dom_paths_games", "paths", r"/(?:games?|play|walkthroughs?|patch-notes)/", "Games", {}),
)


def build_domain_lfs(label_names: Sequence[str]) -> list[LabelingFunction]:
    """The domain LFs whose label is in ``label_names``, voting that label's index."""
    index = {name: i for i, name in enumerate(label_names)}
    lfs: list[LabelingFunction] = []
    for name, kind, spec, label, opts in _SPECS:
        if label not in index:
            continue
        if kind == "regex":
            lfs.append(RegexLF(name, spec, index[label], field=opts["field"]))
        elif kind == "membership":
            lfs.append(MembershipLF(name, opts["field"], spec.split(), index[label]))
        else:
            lfs.append(PathShareLF(name, spec, index[label]))
    return lfs
