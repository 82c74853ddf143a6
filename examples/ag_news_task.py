"""A user's own beambell task, outside the package: AG News topics (World, Sports, Business, Sci/Tech).

Point beambell at this file (no change to the package, no install step)::

    BEAMBELL_TASK=examples/ag_news_task.py ./dev.sh demo --fresh --data ag_news_train.csv \\
        --map url=url,title=title,text=text,label=label

A task module exposes ``TASK`` (or ``build_task()``): a label space, labeling functions and the
field the classifier reads. The LFs below mix beambell's declarative kinds (fast, vectorised) with
plain Snorkel ``@labeling_function``\\ s (any Snorkel LF works; they are applied row by row).
Each LF reads ``x.<field>`` of a ``page_features`` row: here ``text`` (AG's description) and
``title``. The classifier reads ``title_text``, the headline and the description together (a
column ``prepare`` adds): a headline is the densest summary of a news item, and on texts this
short the end model needs every word it can get.

AG's CSV has no header and no url, and beambell's landing contract wants a header row and a url per
page. Running this file converts it::

    python examples/ag_news_task.py ../shared/data/ag_news_small/train.csv ag_news_train.csv

which writes ``url,title,text,label`` with a synthetic, unique url per article
(``https://ag-news.example/<file>/<row>``) and the class *name* as the label (gold labels must be
names from ``LABELS``; ``--map label=label`` makes them gold, used for evaluation only).
"""

from __future__ import annotations

import re
import sys

import pandas as pd
from snorkel.labeling import labeling_function

from beambell_assets.labeling.lf_types import ABSTAIN, KeywordLF, RegexLF
from beambell_assets.labeling.model_lfs import PrototypeLF
from beambell_assets.labeling.task import Task, make_task

LABELS = ("World", "Sports", "Business", "Sci/Tech")
WORLD, SPORTS, BUSINESS, SCITECH = range(4)

# -- keyword lists: written from what each section of a newspaper is about -----------------------


def _terms(block: str) -> list[str]:
    """Comma-separated terms; a term may be a phrase ("prime minister")."""
    return [t.strip() for t in block.replace("\n", " ").split(",") if t.strip()]


WORLD_PLACES = _terms(
    """iraq, iraqi, baghdad, iran, iranian, israel, israeli, palestinian, palestinians, gaza,
    afghanistan, afghan, kabul, pakistan, india, china, chinese, russia, russian, moscow, ukraine,
    north korea, south korea, japan, tokyo, european union, sudan, darfur, syria, lebanon, egypt, saudi,
    nigeria, congo, haiti, kashmir, venezuela, colombia, indonesia, philippines, nato, united nations"""
)
WORLD_AFFAIRS = _terms(
    """troops, soldiers, militants, rebels, insurgents, killed, bomb, bombing, attack, attacks,
    hostage, hostages, ceasefire, peace talks, prime minister, president, minister, government,
    parliament, election, elections, opposition, protest, protesters, refugees, nuclear, diplomats,
    embassy, foreign ministry, war"""
)
SPORTS_TERMS = _terms(
    """game, games, season, coach, team, teams, win, won, victory, defeat, beat, league, cup,
    championship, match, final, finals, olympic, medal, score, scored, points, inning, innings,
    quarterback, touchdown, playoff, playoffs, tournament, race, player, players, champion, title"""
)
SPORTS_STRONG = _terms(
    """nfl, nba, mlb, nhl, ncaa, yankees, red sox, olympics, touchdown, quarterback, inning,
    innings, wimbledon, grand slam, pga, nascar, formula one, world cup, premier league"""
)
BUSINESS_TERMS = _terms(
    """shares, stock, stocks, profit, profits, earnings, quarter, quarterly, revenue, sales,
    percent, economy, economic, market, markets, investors, oil prices, dollar, inflation,
    interest rates, bank, banks, merger, acquisition, deal, billion, ceo, company, companies,
    analysts, retailer, bankruptcy, wall street"""
)
SCITECH_TERMS = _terms(
    """software, microsoft, google, apple, ibm, intel, linux, internet, web, online, computer,
    computers, pc, chip, chips, wireless, broadband, space, nasa, scientists, researchers, study,
    species, genome, spam, hackers, security, windows, browser, search engine, mobile phone, phones,
    technology, satellite, telescope, planet, mars, virus, spyware"""
)


# -- plain Snorkel LFs: any Python, row by row ---------------------------------------------------

_TECH_SOURCES = re.compile(r"\b(PC World|Ziff Davis|Space\.com|NewsFactor|TechWeb|eWeek|CNET|InfoWorld)\b")
_TICKER = re.compile(r"\((NYSE|NASDAQ|Nasdaq|AMEX|LSE)\s*:\s*[A-Z.]{1,6}\)")


@labeling_function()
def lf_scitech_tech_press(x) -> int:
    """Technology trade press and wire services credit themselves in the title or the text."""
    text = f"{getattr(x, 'title', '') or ''} {getattr(x, 'text', '') or ''}"
    return SCITECH if _TECH_SOURCES.search(text) else ABSTAIN


@labeling_function()
def lf_business_ticker(x) -> int:
    """A stock ticker in parentheses, e.g. "(NYSE: IBM)", marks a company/markets story."""
    text = f"{getattr(x, 'title', '') or ''} {getattr(x, 'text', '') or ''}"
    return BUSINESS if _TICKER.search(text) else ABSTAIN


# -- declarative LFs (vectorised by beambell's applier) -------------------------------------------

PROTOTYPES = {
    WORLD: "world news: international politics, wars and conflict, governments, elections, "
    "diplomacy, terrorism and peace talks in countries abroad. " + " ".join(WORLD_PLACES + WORLD_AFFAIRS),
    SPORTS: "sports: games, matches, teams, players, coaches, leagues, scores, championships, "
    "the Olympics. " + " ".join(SPORTS_TERMS + SPORTS_STRONG),
    BUSINESS: "business: companies, markets, stocks, earnings, the economy, oil prices, banks, "
    "mergers and deals. " + " ".join(BUSINESS_TERMS),
    SCITECH: "science and technology: computers, software, the internet, gadgets, space, "
    "research and scientists. " + " ".join(SCITECH_TERMS),
}

LFS = [
    KeywordLF("kw_world_places", WORLD_PLACES, WORLD, min_hits=1, exclude=["oil prices", "shares"]),
    KeywordLF("kw_world_affairs", WORLD_AFFAIRS, WORLD, min_hits=2),
    KeywordLF("kw_sports_strong", SPORTS_STRONG, SPORTS, min_hits=1),
    KeywordLF("kw_sports_terms", SPORTS_TERMS, SPORTS, min_hits=3),
    KeywordLF("kw_business_terms", BUSINESS_TERMS, BUSINESS, min_hits=2),
    KeywordLF("kw_scitech_terms", SCITECH_TERMS, SCITECH, min_hits=2),
    RegexLF("re_sports_scoreline", r"\b\d{1,3}-\d{1,3}\b", SPORTS),
    RegexLF("re_business_money", r"\$\s?\d+(\.\d+)?\s?(million|billion|bn|mln)\b", BUSINESS),
    lf_scitech_tech_press,
    lf_business_ticker,
    # One model LF for all four classes: nearest class description by TF-IDF cosine similarity.
    # News snippets are short, so one known word can count and the thresholds are lower than the
    # defaults (which are tuned for whole web pages).
    PrototypeLF(
        "model_all_prototype",
        PROTOTYPES,
        fields=("title", "text"),
        min_tokens=1,
        min_similarity=0.05,
        min_margin=0.02,
        min_ratio=1.2,
    ),
]


def add_title_text(features: pd.DataFrame) -> pd.DataFrame:
    """``title_text``: the headline, then the description (what the classifier reads)."""
    out = features.copy()
    titles = out["title"] if "title" in out else pd.Series("", index=out.index)
    out["title_text"] = [
        ". ".join(part for part in (str(t or "").strip(), str(d or "").strip()) if part)
        for t, d in zip(titles.fillna(""), out["text"].fillna(""), strict=True)
    ]
    return out


def build_task() -> Task:
    return make_task("ag_news", LABELS, LFS, text_field="title_text", prepare=add_title_text)


TASK = build_task()


def to_landing_csv(src: str, dst: str) -> int:
    """AG's headerless ``class,title,description`` CSV -> a landing CSV ``url,title,text,label``."""
    raw = pd.read_csv(src, header=None, names=["cls", "title", "text"], dtype={"cls": int})
    stem = re.sub(r"[^a-z0-9]+", "-", src.rsplit("/", 1)[-1].lower()).strip("-")
    out = pd.DataFrame(
        {
            "url": [f"https://ag-news.example/{stem}/{i}" for i in range(len(raw))],
            "title": raw["title"],
            "text": raw["text"].str.replace("\\", " ", regex=False),
            "label": [LABELS[c - 1] for c in raw["cls"]],
        }
    )
    out.to_csv(dst, index=False)
    return len(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python examples/ag_news_task.py AG_CSV LANDING_CSV")
    print(f"wrote {to_landing_csv(sys.argv[1], sys.argv[2])} rows to {sys.argv[2]}")
