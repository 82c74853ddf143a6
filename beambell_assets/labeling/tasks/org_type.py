"""The ``org_type`` task: what kind of organisation runs a site.

A record is one *organisation* (a row of the ``org_features`` frame, ``page_id`` = ``org_id``),
not a page. Its fields (``organisations/records.py``): ``name`` (display name, legal form kept),
``schema_types`` (schema.org types seen in its sites' JSON-LD, lowercase), ``suffixes`` (public
suffixes of its sites), ``platform_tenant`` (1 when a site is a tenant of a hosting platform such
as ``github.io``), ``domain_categories`` (its sites' page-content categories, slugged:
``news``, ``law_and_government``, ...), ``name_sources`` and ``text`` (the name plus copyright,
"about" lines and descriptions). LFs are written from general knowledge of how each kind of
organisation names and presents itself; the classifier reads ``text``.
"""

from __future__ import annotations

from beambell_assets.labeling.lf_types import KeywordLF, RegexLF, ThresholdLF
from beambell_assets.labeling.model_lfs import PrototypeLF
from beambell_assets.labeling.task import Task, make_task

LABELS: tuple[str, ...] = (
    "Company",
    "News publisher",
    "Government body",
    "Education",
    "Non-profit",
    "Individual/blog",
)
COMPANY, NEWS, GOVERNMENT, EDUCATION, NONPROFIT, INDIVIDUAL = range(len(LABELS))

_GOV_SUFFIX = r"(?:^|\s|\.)(?:gov|mil|gouv|gob|govt|go|gc|gv)\.[a-z]{2}(?:\s|$)|(?:^|\s)(?:gov|mil)(?:\s|$)"
_EDU_SUFFIX = r"(?:^|\s|\.)(?:edu|ac|sch)\.[a-z]{2}(?:\s|$)|(?:^|\s)edu(?:\s|$)"
_BLOG_PLATFORMS = (
    r"(?:^|\s)(?:blogspot\.[a-z.]+|wordpress\.com|github\.io|gitlab\.io|tumblr\.com|neocities\.org|"
    r"netlify\.app|wixsite\.com|weebly\.com|substack\.com|medium\.com|carrd\.co|pages\.dev)(?:\s|$)"
)
_SHOP_PLATFORMS = r"(?:^|\s)(?:myshopify\.com|bigcartel\.com|square\.site|ecwid\.com|storenvy\.com)(?:\s|$)"

LFS = [
    # schema.org types in the sites' JSON-LD: the site says what it is
    KeywordLF("schema_news", ["newsmediaorganization"], NEWS, field="schema_types"),
    KeywordLF("schema_government", ["governmentorganization"], GOVERNMENT, field="schema_types"),
    KeywordLF(
        "schema_education",
        [
            "educationalorganization",
            "collegeoruniversity",
            "school",
            "highschool",
            "middleschool",
            "elementaryschool",
            "preschool",
        ],
        EDUCATION,
        field="schema_types",
    ),
    KeywordLF(
        "schema_nonprofit", ["ngo", "nonprofitorganization", "fundingscheme"], NONPROFIT, field="schema_types"
    ),
    KeywordLF(
        "schema_company",
        [
            "corporation",
            "localbusiness",
            "onlinestore",
            "onlinebusiness",
            "store",
            "restaurant",
            "travelagency",
            "airline",
            "medicalorganization",
        ],
        COMPANY,
        field="schema_types",
    ),
    KeywordLF("schema_person", ["person"], INDIVIDUAL, field="schema_types"),
    # the name: legal forms and the words institutions put in their names
    KeywordLF(
        "name_legal_form",
        [
            "ltd",
            "limited",
            "inc",
            "llc",
            "llp",
            "gmbh",
            "plc",
            "corp",
            "corporation",
            "pty",
            "s l",
            "sarl",
            "s a",
            "bv",
            "ag",
            "holdings",
            "studios",
            "labs",
            "technologies",
        ],
        COMPANY,
        field="name",
        exclude=[
            "university",
            "college",
            "ministry",
            "department",
            "council",
            "foundation",
            "charity",
            "news",
            "times",
            "herald",
            "gazette",
            "chronicle",
            "tribune",
        ],
    ),
    KeywordLF(
        "name_news",
        [
            "news",
            "times",
            "herald",
            "gazette",
            "chronicle",
            "tribune",
            "courier",
            "observer",
            "post",
            "daily",
            "journal",
            "press",
            "publishing",
            "newspaper",
            "newspapers",
            "broadcasting",
            "magazine",
        ],
        NEWS,
        field="name",
    ),
    KeywordLF(
        "name_government",
        [
            "ministry",
            "department",
            "council",
            "agency",
            "government",
            "municipality",
            "city of",
            "county",
            "federal",
            "parliament",
            "senate",
            "commission",
            "authority",
            "bureau",
            "embassy",
            "police",
            "borough",
            "state of",
            "directorate",
            "office of",
        ],
        GOVERNMENT,
        field="name",
    ),
    KeywordLF(
        "name_education",
        [
            "university",
            "college",
            "school",
            "academy",
            "polytechnic",
            "kindergarten",
            "universität",
            "université",
            "universidad",
            "institute of technology",
            "conservatory",
        ],
        EDUCATION,
        field="name",
    ),
    KeywordLF(
        "name_nonprofit",
        [
            "foundation",
            "charity",
            "association",
            "society",
            "ngo",
            "federation",
            "alliance",
            "coalition",
            "initiative",
            "fund",
            "club",
            "volunteers",
            "community",
        ],
        NONPROFIT,
        field="name",
        exclude=["ltd", "inc", "llc", "gmbh", "plc", "football club", "media"],
    ),
    # where the sites are registered
    RegexLF("suffix_government", _GOV_SUFFIX, GOVERNMENT, field="suffixes"),
    RegexLF("suffix_education", _EDU_SUFFIX, EDUCATION, field="suffixes"),
    RegexLF("suffix_blog_platform", _BLOG_PLATFORMS, INDIVIDUAL, field="suffixes"),
    RegexLF("suffix_shop_platform", _SHOP_PLATFORMS, COMPANY, field="suffixes"),
    ThresholdLF("platform_tenant", "platform_tenant", ">=", 1, INDIVIDUAL),
    # what the sites are about (domain profiles, page task)
    KeywordLF("sites_news", ["news"], NEWS, field="domain_categories"),
    KeywordLF("sites_government", ["law_and_government"], GOVERNMENT, field="domain_categories"),
    KeywordLF("sites_education", ["education"], EDUCATION, field="domain_categories"),
    KeywordLF(
        "sites_commercial",
        [
            "e_commerce",
            "business_corporate",
            "computers_and_technology",
            "travel",
            "streaming_services",
            "games",
        ],
        COMPANY,
        field="domain_categories",
        exclude=["news", "law_and_government", "education"],
    ),
    # what the sites say about themselves
    KeywordLF(
        "text_nonprofit",
        [
            "registered charity",
            "charity number",
            "non profit",
            "nonprofit",
            "501 c 3",
            "donate",
            "donation",
            "donations",
            "volunteer",
            "volunteers",
            "our mission",
            "charitable",
        ],
        NONPROFIT,
        min_hits=2,
    ),
    KeywordLF(
        "text_individual",
        ["my blog", "about me", "personal blog", "my name is", "i am a", "i m a", "my photos", "my travels"],
        INDIVIDUAL,
    ),
    KeywordLF(
        "text_news",
        [
            "breaking news",
            "newsroom",
            "editor",
            "editors",
            "journalist",
            "journalists",
            "reporters",
            "correspondent",
            "headlines",
            "editorial",
            "latest news",
        ],
        NEWS,
        min_hits=2,
    ),
    KeywordLF(
        "text_government",
        [
            "official website",
            "public services",
            "council tax",
            "government",
            "ministry",
            "citizens",
            "residents",
            "apply for",
            "eligibility",
            "benefits",
            "regulations",
            "public sector",
        ],
        GOVERNMENT,
        min_hits=2,
    ),
    KeywordLF(
        "text_education",
        [
            "students",
            "admissions",
            "courses",
            "campus",
            "faculty",
            "undergraduate",
            "postgraduate",
            "tuition",
            "enrol",
            "enroll",
            "scholarships",
            "alumni",
        ],
        EDUCATION,
        min_hits=2,
    ),
    KeywordLF(
        "text_company",
        [
            "customers",
            "products",
            "pricing",
            "free shipping",
            "add to cart",
            "our clients",
            "book now",
            "buy",
            "subscription",
            "free trial",
            "investors",
            "shareholders",
            "careers",
        ],
        COMPANY,
        min_hits=2,
    ),
    PrototypeLF(
        "model_org_prototype",
        {
            COMPANY: """company business ltd inc limited llc gmbh plc corporation customers products services
                shop store buy order pricing subscription free trial clients retail careers investors""",
            NEWS: """news publisher newspaper media group press publishing journalism journalists editors
                reporters newsroom headlines breaking news editorial latest stories times herald gazette""",
            GOVERNMENT: """government ministry department council agency authority official public services
                citizens residents apply benefits regulations law policy federal state municipality gov""",
            EDUCATION: """university college school academy education students teachers faculty courses
                admissions campus degrees undergraduate postgraduate tuition research alumni learning""",
            NONPROFIT: """charity foundation nonprofit non-profit association society trust ngo donate
                donations volunteers mission community fundraising members campaign support""",
            INDIVIDUAL: """blog personal my me i about me my name diary thoughts notes portfolio hobby
                journal posts writer photographer freelancer independent author""",
        },
        fields=("name", "text"),
        min_tokens=3,
    ),
]

TASK: Task = make_task("org_type", LABELS, LFS, text_field="text")
