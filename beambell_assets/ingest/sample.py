"""beambell's own synthetic scrape: noisy pages of 16 content categories, with known truth.

Everything here is generated from vocabulary written for this module (no external dataset), so
demos and tests run anywhere. A batch looks like what a real scraper lands: mostly HTML pages
with navigation, cookie banners, footers and JSON-LD; some text-only rows; some short or
ambiguous pages; some mixing two categories or partly in German, French or Spanish; and a few
percent of deliberately bad rows (empty text, bad or missing urls, duplicates, invalid bytes or
mojibake, a page too large to keep, a too-short page, a broken JSON line in the first JSON-lines
file, and from the second batch on an unchanged re-scrape of a page landed before).

``sample_truth`` gives each record's label and the quarantine reason it should get when the
batches are read in order, carrying accepted content hashes forward; ``write_sample_gold``
writes hand labels for a random ~10 % of the good pages. Same seed, same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from beambell_assets.labeling.tasks.web_content import LABELS

#: The default task's label space: the sample must speak exactly its labels.
CATEGORIES: tuple[str, ...] = LABELS
FORMATS: tuple[str, ...] = ("jsonl", "csv", "parquet")
DEFAULT_START = datetime(2026, 11, 1, tzinfo=UTC)
HUGE_TEXT_CHARS = 2_100_000


def _words(spec: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in spec.split("|") if w.strip())


@dataclass(frozen=True)
class _Category:
    """Vocabulary and page shapes of one category (slots in ``{braces}`` are filled at random)."""

    name: str
    brand: tuple[str, ...]
    brand_tail: tuple[str, ...]
    tlds: tuple[str, ...]
    subdomains: tuple[str, ...]
    org_form: tuple[str, ...]
    schema_type: str
    paths: tuple[str, ...]
    titles: tuple[str, ...]
    noun: tuple[str, ...]
    adj: tuple[str, ...]
    verb: tuple[str, ...]
    sentences: tuple[str, ...]
    menu: tuple[str, ...]
    widget: str
    foreign: dict[str, tuple[str, ...]] = field(default_factory=dict)


_PLACES = _words(
    "Lisbon|Kyoto|Edinburgh|Cape Town|Vancouver|Oaxaca|Tallinn|Hobart|Bruges|Marrakesh|Reykjavik|"
    "Porto|Seville|Krakow|Bergen|Galway|Hanoi|Valparaiso|Leeds|Bristol|Munich|Lyon|Denver|Austin"
)
_PEOPLE = _words(
    "Amara Okafor|Lukas Brandt|Sofia Marquez|Priya Raman|Tom Whitaker|Mei Lin|Jonas Berg|Chloe Dubois|"
    "Daniel Kowalski|Aisha Bello|Oliver Grant|Hana Sato|Mateo Rossi|Grace Mensah|Ethan Clarke|Nadia Haddad"
)
_USERS = _words("pixelpanda|nightowl42|trailrunner|coffee_addict|m_kowalski|sunnyside|quietstorm|bytebard")
_CURRENCY = (("${}", "."), ("£{}", "."), ("{} €", ","), ("USD {}", "."), ("€{}", "."))
_GENERIC = _words(
    "Read more|Share this page|Sign up for our newsletter|Last updated {date}|Back to top|"
    "See all {noun} and {noun}|Contact us if you have questions about {noun}|"
    "More on {noun} coming soon|Was this page helpful? Yes / No"
)
_SHORT = _words(
    "Page not found. Try searching for {noun} instead.|This page has moved. Continue to {noun}.|"
    "Loading {noun} and {noun}, please wait a moment.|Coming soon: {adj} {noun}. Stay tuned.|"
    "Sign in to continue to your {noun} account.|Welcome! Choose your region to see {noun}."
)
_FOREIGN_GENERIC = {
    "de": _words(
        "Willkommen auf unserer Seite über {kw}.|Hier finden Sie alles rund um {kw} und {kw}.|"
        "Jetzt {kw} entdecken und mehr erfahren.|Unsere Empfehlung für {kw} in diesem Monat."
    ),
    "fr": _words(
        "Bienvenue sur notre site consacré à {kw}.|Découvrez nos conseils sur {kw} et {kw}.|"
        "Inscrivez-vous pour suivre l'actualité de {kw}.|Notre sélection de {kw} pour cette semaine."
    ),
    "es": _words(
        "Bienvenido a nuestra página sobre {kw}.|Descubre todo sobre {kw} y {kw}.|"
        "Suscríbete para recibir novedades de {kw}.|Nuestra selección de {kw} para este mes."
    ),
}

_C = _Category
_CATEGORY_SPECS: tuple[_Category, ...] = (
    _C(
        name="Travel",
        brand=_words("Horizon|Wander|Atlas|Roam|Compass|Nomad|Passport|Voyager|Sunseeker|Northstar"),
        brand_tail=_words("Escapes|Travel|Holidays|Journeys|Trips|Getaways"),
        tlds=_words("com|co.uk|de|travel|com.au|es"),
        subdomains=_words("www|www|blog|book"),
        org_form=_words("Ltd|GmbH|Travel Group|S.L."),
        schema_type="TravelAgency",
        paths=_words("/hotels/{slug}|/destinations/{slug}|/flights/{slug}-deals|/guides/{slug}|/tours/{n}"),
        titles=_words(
            "{adj} hotels in {place}|Cheap flights to {place}|"
            "{place} travel guide|Top 10 things to do in {place}"
        ),
        noun=_words(
            "hotel|boutique hotel|flight|return flight|beach resort|city break|itinerary|travel insurance|"
            "car hire|hostel|guided tour|day trip|layover|boarding pass|check-in|sea view room|all-inclusive "
            "package|backpacking route|travel visa|airport transfer|cruise|ski chalet"
        ),
        adj=_words("cheap|luxury|family-friendly|last-minute|scenic|all-inclusive|off-season|romantic"),
        verb=_words(
            "book your stay|compare flights|plan your itinerary|"
            "pack light|explore the old town|cancel for free"
        ),
        sentences=_words(
            "Book a {adj} {noun} in {place} from {price} per night.|"
            "Our {place} itinerary covers three days of {noun}, museums and street food.|"
            "Flights from {place} to {place} start at {price} return, taxes included.|"
            "Travellers rate this {noun} 4.{n} out of 5 for location and breakfast.|"
            "Free cancellation up to 48 hours before check-in on most {noun} bookings.|"
            "The best time to visit {place} is late spring, before the summer crowds arrive.|"
            "Remember to {verb} and check passport validity before you travel.|"
            "Our guide to {place} lists the {adj} neighbourhoods to stay in and how to get around."
        ),
        menu=_words("Hotels|Flights|Holidays|Car hire|Deals|Destinations"),
        widget=(
            '<form class="search" action="/search"><input name="destination" placeholder="Where to?">'
            '<input type="date" name="checkin"><button>Search hotels</button></form>'
            '<ul class="deals"><li>{place}: 3 nights from {price}'
            "</li><li>{place}: flights from {price}</li></ul>"
        ),
        foreign={
            "de": _words("Hotels|Flüge|Urlaub|Reiseziele"),
            "fr": _words("hôtels|vols|vacances"),
            "es": _words("hoteles|vuelos|vacaciones"),
        },
    ),
    _C(
        name="Social Networking and Messaging",
        brand=_words("Chirp|Huddle|Loop|Mingle|Echo|Kindred|Tribe|Ping|Circle|Buzz"),
        brand_tail=_words("Chat|Social|Messenger|Connect|Space|Hub"),
        tlds=_words("com|io|app|social|me|net"),
        subdomains=_words("www|www|web|m"),
        org_form=_words("Inc.|Technologies Inc.|Ltd|Labs"),
        schema_type="Organization",
        paths=_words("/{user}|/{user}/status/{n}|/groups/{slug}|/messages|/explore|/signup"),
        titles=_words("{name} on {site}|{site} - connect with friends|Messages | {site}|Join {site} today"),
        noun=_words(
            "followers|friend request|direct message|group chat|profile|news feed|story|status update|"
            "notifications|voice note|emoji reaction|hashtag|mentions|private group|video call|inbox|"
            "end-to-end encryption|contacts|timeline|community"
        ),
        adj=_words("private|encrypted|trending|public|verified|unread|shared"),
        verb=_words(
            "follow your friends|send a message|share a photo|join the conversation|create a group|log in"
        ),
        sentences=_words(
            "{name} shared a {noun} with 1,{n}00 followers.|"
            "Sign up to {verb} and see what your friends are posting.|"
            "You have {n} unread messages and {n} new friend requests.|"
            "Create a {adj} group chat with up to 200 members.|"
            "Your {noun} and {noun} are protected by end-to-end encryption.|"
            "Trending now: #{slugword} with {n}k posts in the last hour.|"
            "Turn on notifications so you never miss a {noun} from people you follow.|"
            "{name} replied to your story: see the conversation in your inbox."
        ),
        menu=_words("Home|Explore|Notifications|Messages|Profile|Settings"),
        widget=(
            '<form class="login"><input name="email" placeholder="Email or phone"><input type="password" '
            'name="pw"><button>Log in</button><a href="/signup">Create new account</a></form>'
            '<div class="post"><b>@{user}</b> {noun} <span>{n} likes · {n} comments</span></div>'
        ),
        foreign={
            "de": _words("Nachrichten|Freunde|Follower"),
            "fr": _words("messages|amis|abonnés"),
            "es": _words("mensajes|amigos|seguidores"),
        },
    ),
    _C(
        name="News",
        brand=_words("Daily|Morning|Evening|Metro|National|Courier|Herald|Observer|Chronicle|Gazette"),
        brand_tail=_words("News|Times|Post|Herald|Report|Tribune"),
        tlds=_words("com|co.uk|de|net|org|com.au"),
        subdomains=_words("www|www|news|live"),
        org_form=_words("Media Ltd|Media Group|Publishing Inc.|News Corp"),
        schema_type="NewsMediaOrganization",
        paths=_words("/news/{slug}-{n}|/world/{slug}|/politics/{slug}|/{yyyy}/{mm}/{dd}/{slug}|/live/{slug}"),
        titles=_words(
            "{place} {noun}: what we know so far|Breaking: {noun} in {place}|Opinion: the {noun} debate"
        ),
        noun=_words(
            "election|parliament vote|budget|strike|flood warning|inflation figures|court ruling|summit|"
            "protest|ceasefire|investigation|press conference|interest rate decision|wildfire|by-election|"
            "trade deal|scandal|heatwave|policy announcement|report"
        ),
        adj=_words("breaking|exclusive|developing|latest|local|international|official"),
        verb=_words(
            "follow live updates|read the full report|sign up for breaking news alerts|watch the briefing"
        ),
        sentences=_words(
            "{place} ({org}) - Officials confirmed on {date} that the {noun} would go ahead.|"
            "{name}, a spokesperson for the ministry, told reporters the {noun} was 'under review'.|"
            "The {adj} figures, published on Tuesday, show a rise of {n}.{n} per cent.|"
            "Opposition leaders called the {noun} a mistake and demanded a {noun}.|"
            "Reporting by {name}; editing by {name}.|"
            "This is a {adj} story and will be updated as more information becomes available.|"
            "Analysts expect the {noun} to dominate the headlines in {place} this week.|"
            "Residents in {place} said the {noun} had left many families uncertain about the winter."
        ),
        menu=_words("Home|World|Politics|Business|Opinion|Sport|Culture|Live"),
        widget=(
            '<p class="byline">By <a href="/authors/{slug}" rel="author">{name}</a> · '
            '<time datetime="{yyyy}-{mm}-{dd}">{date}</time></p>'
            '<aside class="related"><h3>Related stories</h3><a href="/news/{slug}">{noun} latest</a></aside>'
        ),
        foreign={
            "de": _words("Nachrichten|Wahl|Regierung"),
            "fr": _words("actualités|élection|gouvernement"),
            "es": _words("noticias|elecciones|gobierno"),
        },
    ),
    _C(
        name="Streaming Services",
        brand=_words("Flix|Reel|Stream|Vista|Cinema|Binge|Prime|Tune|Wave|Orbit"),
        brand_tail=_words("Play|TV|Plus|Max|Stream|Now"),
        tlds=_words("com|tv|io|co.uk|net"),
        subdomains=_words("www|www|watch|play"),
        org_form=_words("Inc.|Entertainment Ltd|Media LLC|Studios"),
        schema_type="Organization",
        paths=_words("/watch/{slug}|/title/{n}|/series/{slug}/season-{n}|/browse/{slug}|/plans"),
        titles=_words("Watch {show} | {site}|{show} - Season {n}|Stream {adj} movies online"),
        noun=_words(
            "episode|season finale|documentary|subscription|streaming plan|original series|playlist|"
            "podcast|watchlist|4K HDR|live TV|free trial|box set|soundtrack|new release|anime|"
            "offline downloads|ad-free plan|profiles|recommendations"
        ),
        adj=_words("award-winning|binge-worthy|exclusive|ad-free|new|original|critically acclaimed"),
        verb=_words(
            "start your free trial|stream on any device|"
            "download episodes|cancel anytime|add to your watchlist"
        ),
        sentences=_words(
            "Season {n} of {show} is now streaming, with all episodes available at once.|"
            "Plans start at {price} a month; {verb} with no commitment.|"
            "Watch {adj} films and series in 4K HDR on up to four screens.|"
            "Episode {n}: the crew returns for a {adj} {noun} that fans have waited two years for.|"
            "Because you watched {show}, we think you will enjoy this {noun}.|"
            "Listen to the {noun} and create your own playlist of {adj} tracks.|"
            "New this week: a {adj} {noun} about {place} and the return of {show}."
        ),
        menu=_words("Home|Series|Films|New & Popular|My List|Plans"),
        widget=(
            '<div class="player" data-video-id="{n}"><video poster="/img/{slug}.jpg"></video>'
            '<button class="play">▶ Play</button></div><ol class="episodes"><li>Episode 1 · {show}</li>'
            "<li>Episode 2 · {show}</li></ol>"
            '<div class="plans">Standard {price}/month · Premium {price}/month</div>'
        ),
        foreign={
            "de": _words("Serien|Filme|Folgen"),
            "fr": _words("séries|films|épisodes"),
            "es": _words("series|películas|episodios"),
        },
    ),
    _C(
        name="Sports",
        brand=_words("Goal|Touchline|Scoreline|Pitchside|Match|Podium|Fullback|Racket|Sprint|Arena"),
        brand_tail=_words("Sport|Sports|Live|FC|Zone|Daily"),
        tlds=_words("com|co.uk|de|net|com.au|fr"),
        subdomains=_words("www|www|live|scores"),
        org_form=_words("Ltd|Media GmbH|Sports Inc.|Football Club"),
        schema_type="SportsOrganization",
        paths=_words("/football/{slug}|/results/{n}|/tennis/{slug}|/teams/{slug}|/live/{slug}-vs-{slug}"),
        titles=_words("{team} {n}-{n} {team}: match report|Transfer news: {team}|{adj} results and fixtures"),
        noun=_words(
            "match|fixture|league table|transfer window|penalty|hat-trick|semi-final|championship|"
            "grand prix|marathon|goalkeeper|striker|coach|injury update|kick-off|half-time|extra time|"
            "relegation battle|world record|tournament|squad"
        ),
        adj=_words("dramatic|late|crucial|unbeaten|record-breaking|injury-hit|away"),
        verb=_words("follow the live score|check the fixtures|watch the highlights|see the league table"),
        sentences=_words(
            "{team} beat {team} {n}-{n} thanks to a {adj} goal in the 89th minute.|"
            "The {noun} kicks off at 3pm on {date} at the city stadium.|"
            "{name} scored a hat-trick as the home side stayed top of the league table.|"
            "The coach confirmed the {noun} ahead of Saturday's derby.|"
            "Tickets for the {noun} go on sale on {date}.|"
            "After extra time and penalties, the {adj} favourites went through to the semi-final.|"
            "She set a new world record in the 400 metres at the championship in {place}."
        ),
        menu=_words("Football|Cricket|Tennis|F1|Rugby|Results|Fixtures"),
        widget=(
            '<table class="scoreboard"><tr><th>Team</th><th>P</th><th>Pts</th></tr>'
            "<tr><td>{team}</td><td>{n}</td><td>{n}{n}</td></tr><tr><td>{team}</td><td>{n}</td>"
            "<td>{n}{n}</td></tr></table>"
        ),
        foreign={
            "de": _words("Fußball|Tore|Bundesliga"),
            "fr": _words("football|match|championnat"),
            "es": _words("fútbol|partido|liga"),
        },
    ),
    _C(
        name="Photography",
        brand=_words("Aperture|Shutter|Lens|Focal|Exposure|Frame|Prism|Lumen|Darkroom|Bokeh"),
        brand_tail=_words("Photo|Photography|Studio|Images|Lab|Pictures"),
        tlds=_words("com|co.uk|photography|net|de|io"),
        subdomains=_words("www|www|gallery|blog"),
        org_form=_words("Studio|Photography Ltd|Images LLC"),
        schema_type="Organization",
        paths=_words("/gallery/{slug}|/portfolio/{slug}|/reviews/{slug}-lens|/tutorials/{slug}|/prints/{n}"),
        titles=_words(
            "{adj} portrait photography|Review: {n}mm f/1.{n} lens|Gallery: {place} at golden hour"
        ),
        noun=_words(
            "aperture|shutter speed|ISO|prime lens|telephoto lens|tripod|mirrorless camera|RAW file|"
            "golden hour|long exposure|portfolio|photo shoot|depth of field|bokeh|lightroom preset|"
            "wedding photography|street photography|film camera|light meter|prints"
        ),
        adj=_words("candid|moody|high-contrast|black-and-white|sharp|wide-angle|cinematic"),
        verb=_words("book a photo shoot|order prints|download the preset|view the full gallery"),
        sentences=_words(
            "Shot at f/2.8, 1/250s and ISO 400 on a {noun}.|"
            "This {adj} series was photographed in {place} during the golden hour.|"
            "Our review of the {noun}: sharp corners, fast autofocus and beautiful bokeh.|"
            "Learn how {noun} and {noun} work together to control exposure.|"
            "{name} is a {adj} photographer based in {place}, available for weddings and portraits.|"
            "Fine art prints are available in three sizes from {price}.|"
            "Use a tripod and a remote shutter for a long exposure of the harbour at night."
        ),
        menu=_words("Portfolio|Galleries|Reviews|Tutorials|Prints|Book"),
        widget=(
            '<div class="gallery"><img src="/p/{slug}-1.jpg" alt="{place}"><img src="/p/{slug}-2.jpg">'
            '<img src="/p/{slug}-3.jpg"><img src="/p/{slug}-4.jpg"><img src="/p/{slug}-5.jpg"></div>'
            '<p class="exif">Camera: mirrorless · Lens: {n}mm · f/{n}.8</p>'
        ),
        foreign={
            "de": _words("Fotografie|Objektiv|Blende"),
            "fr": _words("photographie|objectif|exposition"),
            "es": _words("fotografía|objetivo|exposición"),
        },
    ),
    _C(
        name="Law and Government",
        brand=_words(
            "Revenue|Justice|Planning|Transport|Environment|Licensing|Courts|Benefits|Housing|Council"
        ),
        brand_tail=_words("Service|Agency|Department|Office|Authority|Council"),
        tlds=_words("gov|gov.uk|gov.uk|gov.au|gc.ca|bund.de|europa.eu"),
        subdomains=_words("www|www|services|apply"),
        org_form=_words("Agency|Department|Council|Ministry"),
        schema_type="GovernmentOrganization",
        paths=_words("/apply/{slug}|/guidance/{slug}|/council-tax|/legislation/{yyyy}/{n}|/services/{slug}"),
        titles=_words(
            "Apply for a {noun} - GOV|{noun}: guidance|{adj} regulations {yyyy}|{place} Council: {noun}"
        ),
        noun=_words(
            "passport|driving licence|council tax|planning permission|tax return|visa application|"
            "regulation|statutory instrument|court hearing|tribunal|legal aid|public consultation|"
            "freedom of information request|benefit claim|parking permit|birth certificate|by-law|"
            "legislation|solicitor|appeal"
        ),
        adj=_words("statutory|official|mandatory|public|legal|national|local"),
        verb=_words(
            "apply online|pay your council tax|report a problem|check eligibility|respond to the consultation"
        ),
        sentences=_words(
            "You can {verb} if you are a resident aged 18 or over.|"
            "The {noun} must be submitted within 28 days of the decision.|"
            "Under section {n} of the Act, the authority may issue a {noun}.|"
            "This guidance explains how the {adj} {noun} applies to businesses in {place}.|"
            "The public consultation on the {noun} closes on {date}.|"
            "If you disagree with the decision you can appeal to a tribunal.|"
            "Fees: a standard {noun} costs {price}; concessions are available.|"
            "Contact the council if you need help to {verb}."
        ),
        menu=_words("Services|Benefits|Tax|Legislation|Consultations|Contact"),
        widget=(
            '<nav class="breadcrumbs"><a href="/">Home</a> › <a href="/services">Services</a> › {noun}</nav>'
            '<form class="apply" action="/apply"><label>National Insurance number<input name="nino"></label>'
            "<button>Start now</button></form>"
        ),
        foreign={
            "de": _words("Antrag|Behörde|Verordnung"),
            "fr": _words("démarches|préfecture|règlement"),
            "es": _words("trámites|ayuntamiento|reglamento"),
        },
    ),
    _C(
        name="Health and Fitness",
        brand=_words("Vital|Pulse|Thrive|Fit|Core|Strong|Balance|Active|Wellness|Peak"),
        brand_tail=_words("Health|Fitness|Gym|Life|Clinic|Coach"),
        tlds=_words("com|co.uk|org|health|de|nhs.uk"),
        subdomains=_words("www|www|blog|app"),
        org_form=_words("Ltd|Health Inc.|Fitness GmbH|Clinic"),
        schema_type="MedicalOrganization",
        paths=_words("/workouts/{slug}|/nutrition/{slug}|/conditions/{slug}|/classes/{slug}|/plans/{n}-week"),
        titles=_words("{n}-week {adj} workout plan|Symptoms of {noun}|How much {noun} do you need?"),
        noun=_words(
            "workout|strength training|cardio|protein|calorie deficit|resting heart rate|blood pressure|"
            "yoga class|personal trainer|stretching routine|sleep|hydration|symptoms|physiotherapy|"
            "HIIT session|meal plan|vitamin D|mental health|gym membership|recovery day"
        ),
        adj=_words("beginner|high-intensity|low-impact|healthy|evidence-based|full-body|balanced"),
        verb=_words("book a class|track your steps|build muscle|lose weight safely|talk to your GP"),
        sentences=_words(
            "This {adj} {noun} takes 30 minutes and needs no equipment.|"
            "Aim for 150 minutes of moderate {noun} a week, plus two days of strength training.|"
            "Speak to a doctor if your {noun} stays high for more than a few days.|"
            "A {adj} meal plan with enough protein helps you {verb}.|"
            "Join our {noun} in {place}: first session free, then {price} per month.|"
            "Warm up for ten minutes, then do 3 sets of 12 squats, lunges and push-ups.|"
            "Good sleep and hydration matter as much as the {noun} itself."
        ),
        menu=_words("Workouts|Nutrition|Classes|Conditions|Membership|App"),
        widget=(
            '<form class="bmi"><label>Height (cm)<input name="h"></label><label>Weight (kg)<input name="w">'
            '</label><button>Calculate BMI</button></form><ul class="classes"><li>Yoga · 7am</li>'
            "<li>HIIT · 6pm</li></ul>"
        ),
        foreign={
            "de": _words("Training|Gesundheit|Ernährung"),
            "fr": _words("santé|entraînement|nutrition"),
            "es": _words("salud|entrenamiento|nutrición"),
        },
    ),
    _C(
        name="Games",
        brand=_words("Pixel|Quest|Loot|Respawn|Arcade|Dragon|Nova|Rogue|Level|Boss"),
        brand_tail=_words("Games|Gaming|Play|Studios|Arcade|Guild"),
        tlds=_words("com|gg|io|games|net|de"),
        subdomains=_words("www|www|play|wiki"),
        org_form=_words("Games Ltd|Studios Inc.|Interactive GmbH|Entertainment"),
        schema_type="Organization",
        paths=_words("/play/{slug}|/guides/{slug}-walkthrough|/games/{n}|/leaderboard|/patch-notes/{n}"),
        titles=_words("{game} walkthrough: all bosses|Play {game} free online|{game} patch {n}.{n} notes"),
        noun=_words(
            "boss fight|walkthrough|multiplayer|leaderboard|patch notes|loot box|skill tree|speedrun|"
            "co-op mode|achievement|respawn|level editor|battle pass|console|controller|open world|"
            "side quest|esports tournament|game save|character class"
        ),
        adj=_words("free-to-play|competitive|open-world|retro|indie|multiplayer|casual"),
        verb=_words("play now|join a server|unlock the next level|download the game|climb the leaderboard"),
        sentences=_words(
            "Defeat the {noun} in chapter {n} by dodging left and using your fire spells.|"
            "{game} is a {adj} RPG with a huge open world and dozens of side quests.|"
            "Patch {n}.{n} rebalances the {noun} and fixes the {noun} crash on console.|"
            "Top players on the leaderboard finished the speedrun in under {n} minutes.|"
            "Grab a controller and {verb}: no download needed.|"
            "The new season of the battle pass adds {n} skins and a co-op mode.|"
            "Our walkthrough covers every achievement, collectible and secret {noun}."
        ),
        menu=_words("Games|Guides|News|Esports|Leaderboards|Forums"),
        widget=(
            '<div id="game-canvas" data-game="{slug}"><canvas width="800" height="600"></canvas>'
            '<button class="play">Play now</button></div>'
            '<ol class="leaderboard"><li>{user} · {n}{n}{n}0 pts</li>'
            "<li>{user} · {n}{n}{n}0 pts</li></ol>"
        ),
        foreign={
            "de": _words("Spiele|Level|Spieler"),
            "fr": _words("jeux|niveau|joueurs"),
            "es": _words("juegos|nivel|jugadores"),
        },
    ),
    _C(
        name="E-Commerce",
        brand=_words("Basket|Cart|Bargain|Market|Outlet|Emporium|Trolley|Deal|Shop|Store"),
        brand_tail=_words("Shop|Store|Direct|Outlet|Market|Online"),
        tlds=_words("com|co.uk|de|shop|store|fr|nl"),
        subdomains=_words("www|www|shop|store"),
        org_form=_words("Retail Ltd|GmbH|Commerce Inc.|plc"),
        schema_type="OnlineStore",
        paths=_words("/product/{slug}-{n}|/p/{n}|/category/{slug}|/cart|/sale/{slug}|/checkout"),
        titles=_words("Buy {product} online|{product} - {price} | {site}|{adj} {product} sale"),
        noun=_words(
            "free delivery|next-day delivery|returns policy|basket|checkout|discount code|size guide|"
            "customer reviews|in stock|add to cart|wishlist|order tracking|gift card|bundle offer|"
            "secure payment|click and collect|warranty|price match|product details|clearance"
        ),
        adj=_words("bestselling|discounted|limited-edition|refurbished|organic|handmade|wireless"),
        verb=_words("add to basket|checkout securely|track your order|save 20% today|return within 30 days"),
        sentences=_words(
            "{product} now {price}, was {price}. Only {n} left in stock.|"
            "Free delivery on orders over {price}; {verb} for next-day delivery.|"
            "Rated 4.{n}/5 from {n}{n}{n} customer reviews.|"
            "Use discount code SAVE{n}0 at checkout for an extra 10% off {adj} items.|"
            "Customers who bought this {product} also bought a {product}.|"
            "Pay securely by card or PayPal; easy returns within 30 days.|"
            "This {adj} {product} comes with a two-year warranty."
        ),
        menu=_words("Women|Men|Home|Electronics|Sale|Basket"),
        widget=(
            '<div class="product" itemscope><h2 itemprop="name">{product}'
            '</h2><span class="price">{price}</span>'
            '<s class="was">{price}</s><form action="/cart/add" method="post"><select name="size"><option>S'
            "</option><option>M</option></select><button>Add to basket</button></form></div>"
        ),
        foreign={
            "de": _words("Warenkorb|Versand|Angebote"),
            "fr": _words("panier|livraison|promotions"),
            "es": _words("carrito|envío|ofertas"),
        },
    ),
    _C(
        name="Forums",
        brand=_words("Talk|Board|Thread|Community|Hangout|Lounge|Exchange|Soapbox|Banter|Campfire"),
        brand_tail=_words("Forum|Forums|Board|Talk|Community|Boards"),
        tlds=_words("com|org|net|co.uk|de|io"),
        subdomains=_words("forum|forums|community|www|boards"),
        org_form=_words("Community|Forums Ltd|Network"),
        schema_type="Organization",
        paths=_words("/t/{slug}/{n}|/threads/{slug}.{n}|/forum/{slug}|/viewtopic.php?t={n}|/members/{user}"),
        titles=_words("Re: {topic}|{topic} - Page {n}|[Solved] {topic}|{site} - Index"),
        noun=_words(
            "thread|reply|original poster|moderator|subforum|sticky post|private message|signature|"
            "quote|upvote|rules|member|topic|post count|off-topic section|FAQ|newbie|bump|edit|solution"
        ),
        adj=_words("helpful|off-topic|locked|pinned|solved|heated|long-running"),
        verb=_words(
            "reply to this thread|start a new topic|read the forum rules|search the forums|quote the post"
        ),
        sentences=_words(
            "Posted by {user} » {date}: has anyone else had this problem with the {topic}?|"
            "Re: {topic} - I had the same issue, fixed it by resetting everything.|"
            "Thanks, that worked! Marking this thread as solved.|"
            "Please {verb} before posting; duplicate threads will be locked by a moderator.|"
            "Quote from {user}: 'I doubt that is the real cause.'|"
            "{user} joined {yyyy} · {n}{n}{n} posts · {n} likes received.|"
            "Bumping this because I still have not found a solution.|"
            "This {adj} thread has {n}{n} replies and {n}{n}{n} views."
        ),
        menu=_words("Forums|New posts|Members|Search|Rules|Log in"),
        widget=(
            '<table class="threads"><tr><td><a href="/t/{slug}">{topic}</a></td><td>{n} replies</td>'
            '<td>{user}</td></tr><tr><td><a href="/t/{slug}">{topic}</a></td><td>{n}{n} replies</td>'
            '<td>{user}</td></tr></table><form class="reply">'
            '<textarea name="msg"></textarea><button>Post reply'
            "</button></form>"
        ),
        foreign={
            "de": _words("Beitrag|Antworten|Thema"),
            "fr": _words("sujet|réponses|forum"),
            "es": _words("tema|respuestas|foro"),
        },
    ),
    _C(
        name="Food",
        brand=_words("Saffron|Basil|Crumb|Skillet|Pantry|Ladle|Honey|Olive|Fig|Pepper"),
        brand_tail=_words("Kitchen|Recipes|Eats|Table|Bakery|Cooks"),
        tlds=_words("com|co.uk|de|recipes|it|fr"),
        subdomains=_words("www|www|recipes|blog"),
        org_form=_words("Kitchen Ltd|Foods GmbH|Media|Restaurant Group"),
        schema_type="Restaurant",
        paths=_words("/recipes/{slug}|/recipe/{n}-{slug}|/menu|/baking/{slug}|/reservations"),
        titles=_words("Easy {dish} recipe|{adj} {dish} in 30 minutes|Best {dish} in {place}"),
        noun=_words(
            "recipe|ingredients|tablespoon|olive oil|garlic|oven|dough|sourdough starter|stir-fry|"
            "slow cooker|seasoning|dessert|vegetarian option|prep time|serving|marinade|table reservation|"
            "tasting menu|brunch|spice blend"
        ),
        adj=_words("easy|vegan|gluten-free|crispy|creamy|homemade|spicy"),
        verb=_words("preheat the oven to 200°C|book a table|save this recipe|simmer for 20 minutes"),
        sentences=_words(
            "Preheat the oven to 180°C and line a baking tray with parchment.|"
            "Ingredients: 2 tbsp olive oil, 3 cloves garlic, 400g chopped tomatoes and a pinch of salt.|"
            "This {adj} {dish} serves four and takes 35 minutes from start to finish.|"
            "Simmer gently, stirring often, until the sauce thickens.|"
            "Our {place} restaurant serves a {adj} tasting menu for {price} per person.|"
            "Swap the butter for oil to make the {dish} vegan.|"
            "Leave the dough to rise for an hour, then knead and shape it.|"
            "Readers rate this {noun} 4.{n} stars: 'my family asks for it every week!'"
        ),
        menu=_words("Recipes|Dinner|Baking|Vegetarian|Menu|Book a table"),
        widget=(
            '<div class="recipe-card"><ul class="ingredients">'
            "<li>200g flour</li><li>2 eggs</li><li>1 tsp {noun}"
            "</li></ul><p>Prep: 15 min · Cook: {n}0 min · Serves {n}</p></div>"
        ),
        foreign={
            "de": _words("Rezepte|Zutaten|Backen"),
            "fr": _words("recettes|ingrédients|cuisine"),
            "es": _words("recetas|ingredientes|cocina"),
        },
    ),
    _C(
        name="Education",
        brand=_words("Oakridge|Northfield|Westbrook|Learn|Scholar|Campus|Academy|Brightpath|Mentor|Quill"),
        brand_tail=_words("University|College|Academy|School|Learning|Institute"),
        tlds=_words("edu|ac.uk|ac.uk|edu.au|org|de"),
        subdomains=_words("www|www|courses|admissions|library"),
        org_form=_words("University|College|Academy|Trust"),
        schema_type="EducationalOrganization",
        paths=_words("/courses/{slug}|/admissions|/study/{slug}-bsc|/research/{slug}|/students/{slug}"),
        titles=_words("{subject} BSc (Hons)|Apply to study {subject}|Online {subject} course for beginners"),
        noun=_words(
            "undergraduate degree|postgraduate course|admissions|tuition fees|scholarship|lecture|"
            "syllabus|semester|campus tour|open day|student accommodation|assignment|exam timetable|"
            "online course|certificate|professor|module|library|graduation|curriculum"
        ),
        adj=_words("accredited|full-time|part-time|online|research-led|introductory|advanced"),
        verb=_words(
            "apply now|book an open day|enrol on the course|download the prospectus|submit your assignment"
        ),
        sentences=_words(
            "Our {adj} {subject} degree combines lectures, seminars and a final-year project.|"
            "Tuition fees for the {yyyy}/{n}{n} academic year are {price} for home students.|"
            "{verb}: applications close on {date}.|"
            "Students take six modules per semester, including {subject} and research methods.|"
            "Professor {name} leads the {subject} research group at the {place} campus.|"
            "Scholarships of up to {price} are available for international students.|"
            "The online course has {n} units, weekly quizzes and a certificate on completion."
        ),
        menu=_words("Study|Courses|Admissions|Research|Student life|Library"),
        widget=(
            '<table class="course-facts"><tr><th>Duration</th><td>3 years full-time</td></tr><tr><th>Entry '
            'requirements</th><td>AAB</td></tr></table><a class="button" href="/apply">Apply now</a>'
        ),
        foreign={
            "de": _words("Studium|Universität|Vorlesung"),
            "fr": _words("études|université|cours"),
            "es": _words("estudios|universidad|curso"),
        },
    ),
    _C(
        name="Computers and Technology",
        brand=_words("Byte|Kernel|Stack|Cloud|Silicon|Logic|Vector|Quantum|Circuit|Pixel"),
        brand_tail=_words("Tech|Labs|Systems|Dev|Software|Computing"),
        tlds=_words("io|com|dev|tech|ai|de"),
        subdomains=_words("www|docs|blog|developer|www"),
        org_form=_words("Inc.|Technologies Ltd|Software GmbH|Labs"),
        schema_type="Corporation",
        paths=_words("/docs/{slug}|/blog/{slug}|/reviews/{slug}-laptop|/download|/api/v{n}/reference"),
        titles=_words(
            "{gadget} review|How to {techverb}|{site} API reference v{n}|Release notes {n}.{n}.{n}"
        ),
        noun=_words(
            "laptop|graphics card|SSD|operating system|API|open-source library|cloud server|database|"
            "firmware update|processor|RAM|Kubernetes cluster|programming language|compiler|router|"
            "cybersecurity|machine learning model|browser extension|command line|smartphone"
        ),
        adj=_words("open-source|64-bit|cloud-native|lightweight|fast|secure|cross-platform"),
        verb=_words(
            "install the SDK|update the firmware|deploy to the cloud|run the benchmark|read the docs"
        ),
        sentences=_words(
            "Install it with pip install {slugword} and import the client in two lines of Python.|"
            "The new {noun} has 16GB of RAM, a 1TB SSD and an {adj} processor.|"
            "Version {n}.{n} fixes a security vulnerability in the {noun}; update now.|"
            "In our benchmark, the {gadget} scored {n}{n}% higher than last year's model.|"
            "The REST API returns JSON; authenticate with a bearer token in the header.|"
            "Our {adj} {noun} runs on Linux, macOS and Windows.|"
            "Learn how to {techverb} with this step-by-step tutorial.|"
            "Developers can {verb} and start building in minutes."
        ),
        menu=_words("Products|Docs|Pricing|Blog|Download|Support"),
        widget=(
            '<pre><code class="language-bash">$ curl -H "Authorization: Bearer $TOKEN" '
            "https://api.{slugword}.io/v{n}/items</code></pre>"
            '<table class="specs"><tr><td>CPU</td><td>{n} cores'
            "</td></tr><tr><td>Storage</td><td>{n}TB SSD</td></tr></table>"
        ),
        foreign={
            "de": _words("Software|Rechner|Datenschutz"),
            "fr": _words("logiciel|ordinateur|réseau"),
            "es": _words("software|ordenador|red"),
        },
    ),
    _C(
        name="Business/Corporate",
        brand=_words("Apex|Meridian|Summit|Keystone|Sterling|Pinnacle|Vantage|Harbor|Crest|Beacon"),
        brand_tail=_words("Group|Partners|Holdings|Consulting|Industries|Capital"),
        tlds=_words("com|co.uk|de|biz|ch|com"),
        subdomains=_words("www|www|investors|careers"),
        org_form=_words("plc|Ltd|AG|Inc.|LLP|Holdings S.A."),
        schema_type="Corporation",
        paths=_words("/about-us|/services/{slug}|/investors/{slug}|/careers|/case-studies/{slug}|/contact"),
        titles=_words("{site} | {adj} {service}|About us - {site}|Investor relations|Careers at {site}"),
        noun=_words(
            "consulting services|supply chain|annual report|shareholders|board of directors|case study|"
            "B2B solutions|stakeholders|strategy|sustainability report|careers|headquarters|clients|"
            "revenue|partnership|logistics|compliance|outsourcing|procurement|press release"
        ),
        adj=_words("global|award-winning|integrated|sustainable|trusted|end-to-end|strategic"),
        verb=_words("contact our sales team|request a quote|download the annual report|join our team"),
        sentences=_words(
            "{org} delivers {adj} {service} to clients in over {n}0 countries.|"
            "Our {noun} helps manufacturers reduce costs and improve {noun}.|"
            "Revenue grew {n}.{n}% year on year, the board reported to shareholders on {date}.|"
            "Founded in 19{n}{n}, the company is headquartered in {place}.|"
            "Read the case study: how a retailer cut {noun} costs by a third.|"
            "{verb} to find out how we can support your business.|"
            "We are committed to sustainability, diversity and responsible {noun}."
        ),
        menu=_words("About|Services|Industries|Investors|Careers|Contact"),
        widget=(
            '<div class="clients"><img src="/logos/a.svg" alt="client"><img src="/logos/b.svg" alt="client">'
            '<img src="/logos/c.svg" alt="client"></div><form class="contact-sales"><input name="company" '
            'placeholder="Company"><input name="email"><button>Request a quote</button></form>'
        ),
        foreign={
            "de": _words("Unternehmen|Dienstleistungen|Karriere"),
            "fr": _words("entreprise|services|carrières"),
            "es": _words("empresa|servicios|empleo"),
        },
    ),
    _C(
        name="Adult",
        brand=_words("Velvet|Midnight|After Dark|Scarlet|Private|Lush|Desire|Crimson|Boudoir|Satin"),
        brand_tail=_words("Club|Lounge|Nights|Room|Society|Place"),
        tlds=_words("com|xxx|adult|net|club"),
        subdomains=_words("www|www|members|enter"),
        org_form=_words("Media Ltd|Entertainment LLC|Holdings"),
        schema_type="Organization",
        paths=_words("/enter|/age-verification|/members/{slug}|/terms|/"),
        titles=_words("{site} - 18+ only|Age verification required | {site}|Adults only: enter {site}"),
        noun=_words(
            "age verification|adults only|18+ content|mature content|members area|explicit content warning|"
            "age gate|parental controls|consent|discretion|VIP membership|adult entertainment|"
            "content warning|legal age|private browsing|billing discretion"
        ),
        adj=_words("age-restricted|adults-only|mature|discreet|members-only|uncensored"),
        verb=_words("confirm you are 18 or older|leave this site|verify your age|enter the members area"),
        sentences=_words(
            "This website contains {adj} material intended for adults only.|"
            "You must be at least 18 years old, or the legal age in your country, to enter.|"
            "By clicking Enter you confirm that you are 18+ and consent to viewing {noun}.|"
            "If you are under 18, please {verb} now.|"
            "Parents: use parental controls to block {adj} sites on shared devices.|"
            "{noun} is required in your region before you can continue.|"
            "VIP membership costs {price} per month, billed discreetly."
        ),
        menu=_words("Enter|Members|Terms|Privacy|2257|Help"),
        widget=(
            '<div class="age-gate" role="dialog"><h2>18+ only</h2><p>You must be 18 or older to enter.</p>'
            '<a class="enter" href="/enter">I am 18 or older - Enter</a> <a class="leave" '
            'href="https://www.google.com">Leave</a></div>'
        ),
        foreign={
            "de": _words("ab 18|Altersprüfung|nur für Erwachsene"),
            "fr": _words("réservé aux adultes|vérification de l'âge|18 ans"),
            "es": _words("solo adultos|verificación de edad|mayores de 18"),
        },
    ),
)
_BY_NAME = {c.name: c for c in _CATEGORY_SPECS}
assert tuple(_BY_NAME) == CATEGORIES

#: Slot vocabularies shared by all categories.
_SLOT_WORDS: dict[str, tuple[str, ...]] = {
    "place": _PLACES,
    "name": _PEOPLE,
    "user": _USERS,
    "show": _words("The Long Winter|Harbour Lights|Signal Lost|Kings of Nowhere|The Glasshouse|Night Shift"),
    "team": _words(
        "Riverside United|Northgate City|Harbour Rovers|Eastfield Athletic|Kingsbridge FC|Lakeside Town"
    ),
    "game": _words("Ember Saga|Starfall Tactics|Dungeon Drift|Neon Racer|Kingdom Forge|Hollow Depths"),
    "product": _words(
        "wireless headphones|running shoes|linen shirt|"
        "espresso machine|smart watch|yoga mat|desk lamp|backpack"
    ),
    "topic": _words(
        "engine light stays on|best budget tent?|help with sourdough starter|wifi keeps dropping|"
        "which lens for portraits?|moving to Lisbon - advice|noisy neighbours, what are my rights"
    ),
    "dish": _words("lasagne|chicken curry|banana bread|shakshuka|mushroom risotto|pad thai|lentil soup"),
    "subject": _words("Computer Science|Economics|History|Nursing|Mechanical Engineering|Psychology|Law"),
    "gadget": _words("UltraBook 14|Pixel Phone X|QuietKeys keyboard|Nimbus router|Vortex GPU"),
    "techverb": _words(
        "set up a Python virtual environment|configure SSH keys|back up your laptop|deploy a container"
    ),
    "service": _words("consulting|logistics solutions|financial advisory|engineering services|managed IT"),
    "slugword": _words("fastapi|quickstart|nimbus|vectorly|stackhub|pyroute"),
}
_COOKIE = _words(
    "We use cookies to improve your experience and to show you relevant ads.|"
    "This site uses cookies. By continuing to browse you agree to our use of cookies.|"
    "We and our partners store and access information on your device."
)
_SLOT_RE = re.compile(r"\{(\w+)\}")


@dataclass
class SampleRecord:
    """One landed record and what should become of it."""

    fields: dict[str, Any]
    label: str
    expected_reason: str | None = None
    #: For a deliberately broken JSON line: the bytes written instead of the record.
    raw_line: bytes | None = None


@dataclass
class SampleBatch:
    file_name: str
    fmt: str
    landed_at: datetime
    records: list[SampleRecord]


@dataclass(frozen=True)
class _Site:
    host: str
    org: str
    site_name: str
    category: str


class _Writer:
    """Random text for one sample run; all randomness flows from one seeded generator."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.serial = 0
        self.used_urls: set[str] = set()
        self.used_hosts: set[str] = set()
        self.sites = {c.name: [self._site(c) for _ in range(6)] for c in _CATEGORY_SPECS}
        self._computed: dict[str, Callable[[_Category, _Site | None], str]] = {
            "n": lambda cat, site: str(rnd.randint(1, 9)),
            "price": lambda cat, site: self.price(),
            "date": lambda cat, site: self.date_text(),
            "yyyy": lambda cat, site: str(rnd.randint(2019, 2026)),
            "mm": lambda cat, site: f"{rnd.randint(1, 12):02d}",
            "dd": lambda cat, site: f"{rnd.randint(1, 28):02d}",
            "slug": lambda cat, site: self.slug(cat),
            "org": lambda cat, site: site.org if site else rnd.choice(cat.brand),
            "site": lambda cat, site: site.site_name if site else rnd.choice(cat.brand),
        }

    # ------------------------------------------------------------------ slots and sentences
    def fill(self, template: str, cat: _Category, site: _Site | None = None) -> str:
        return _SLOT_RE.sub(lambda m: self._slot(m.group(1), cat, site), template)

    def _slot(self, name: str, cat: _Category, site: _Site | None) -> str:
        if name in self._computed:
            return self._computed[name](cat, site)
        pool = {"noun": cat.noun, "adj": cat.adj, "verb": cat.verb}.get(name) or _SLOT_WORDS[name]
        return self.rnd.choice(pool)

    def next_id(self) -> str:
        """The scraper's own record id (bad rows get ordinary ids too: nothing gives them away)."""
        self.serial += 1
        return f"s{self.serial:06d}"

    def price(self) -> str:
        fmt, decimal = self.rnd.choice(_CURRENCY)
        amount = f"{self.rnd.randint(3, 899)}{decimal}{self.rnd.choice(['00', '99', '50', '49'])}"
        return fmt.format(amount if self.rnd.random() < 0.8 else amount.split(decimal)[0])

    def date_text(self) -> str:
        d = datetime(2025, 1, 1) + timedelta(days=self.rnd.randint(0, 700))
        return self.rnd.choice([d.strftime("%d %B %Y"), d.strftime("%B %d, %Y"), d.strftime("%Y-%m-%d")])

    def slug(self, cat: _Category) -> str:
        words = re.findall(r"[a-z0-9]+", f"{self.rnd.choice(cat.noun)} {self.rnd.choice(cat.adj)}".lower())
        return "-".join(words[:4])

    def sentence(self, cat: _Category, site: _Site) -> str:
        roll = self.rnd.random()
        template = self.rnd.choice(_GENERIC if roll < 0.08 else cat.sentences)
        text = self.fill(template, cat, site)
        return text[0].upper() + text[1:]

    def foreign_sentence(self, cat: _Category, lang: str) -> str:
        template = self.rnd.choice(_FOREIGN_GENERIC[lang])
        keywords = cat.foreign.get(lang) or cat.noun
        return _SLOT_RE.sub(lambda _: self.rnd.choice(keywords), template)

    # ------------------------------------------------------------------ sites
    def _site(self, cat: _Category) -> _Site:
        """A site of ``cat`` whose host no other site has (one host, one organisation)."""
        while (site := self._draw_site(cat)).host in self.used_hosts:
            pass
        self.used_hosts.add(site.host)
        return site

    def _draw_site(self, cat: _Category) -> _Site:
        rnd = self.rnd
        brand, tail = rnd.choice(cat.brand), rnd.choice(cat.brand_tail)
        if cat.name == "Education" and tail == "University" and rnd.random() < 0.5:
            site_name = f"University of {rnd.choice(_PLACES)}"
        elif cat.name == "Law and Government":
            site_name = f"{rnd.choice(_PLACES)} {brand} {tail}"
        else:
            site_name = f"{brand} {tail}"
        label = re.sub(r"[^a-z0-9]+", "", site_name.lower().replace("university of ", "uni"))
        host = f"{rnd.choice(cat.subdomains)}.{label}.{rnd.choice(cat.tlds)}"
        return _Site(
            host=host, org=f"{site_name} {rnd.choice(cat.org_form)}", site_name=site_name, category=cat.name
        )

    def url(self, site: _Site, cat: _Category) -> str:
        self.serial += 1
        path = self.fill(self.rnd.choice(cat.paths), cat, site)
        if path == "/" or self.rnd.random() < 0.3:
            path = f"{path.rstrip('/')}/{self.serial}" if "?" not in path else f"{path}&i={self.serial}"
        if f"{site.host}{path}" in self.used_urls:  # fixed paths like /cart repeat: keep urls unique
            path = f"{path}?ref={self.serial}" if "?" not in path else f"{path}&ref={self.serial}"
        self.used_urls.add(f"{site.host}{path}")
        scheme = "http" if self.rnd.random() < 0.1 else "https"
        return f"{scheme}://{site.host}{path}"


# ---------------------------------------------------------------------------- page content


@dataclass
class _Page:
    url: str
    label: str
    title: str
    description: str
    paragraphs: list[str]
    site: _Site
    lang: str = "en"


def _make_page(w: _Writer, cat: _Category) -> _Page:
    rnd = w.rnd
    site = rnd.choice(w.sites[cat.name])
    url = w.url(site, cat)
    title = w.fill(rnd.choice(cat.titles), cat, site)
    title = title[0].upper() + title[1:]
    description = " ".join(w.sentence(cat, site) for _ in range(rnd.randint(1, 2)))
    kind = rnd.random()
    if kind < 0.08:
        # short pages carry a request id, as real error pages do, so they are not duplicates
        paragraphs = [f"{w.fill(rnd.choice(_SHORT), cat, site)} (ref {rnd.getrandbits(32):08x})"]
        return _Page(url, cat.name, title, description, paragraphs, site)
    n_words = _draw_length(rnd)
    other = _BY_NAME[rnd.choice([c for c in CATEGORIES if c != cat.name])] if kind > 0.85 else None
    lang = rnd.choice(("de", "fr", "es")) if 0.08 <= kind < 0.15 else "en"
    paragraphs = _paragraphs(w, cat, site, n_words, other, lang)
    return _Page(url, cat.name, title, description, paragraphs, site, lang)


def _draw_length(rnd: random.Random) -> int:
    """50-1,500 words, most pages a few hundred (log-uniform)."""
    return int(math.exp(rnd.uniform(math.log(50), math.log(1500))))


def _paragraphs(
    w: _Writer, cat: _Category, site: _Site, n_words: int, other: _Category | None, lang: str
) -> list[str]:
    rnd, paragraphs, words = w.rnd, [], 0
    while words < n_words:
        sentences = []
        for _ in range(rnd.randint(2, 6)):
            if lang != "en" and rnd.random() < 0.4:
                sentences.append(w.foreign_sentence(cat, lang))
            elif other is not None and rnd.random() < 0.3:
                sentences.append(w.sentence(other, site))
            else:
                sentences.append(w.sentence(cat, site))
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        words += paragraph.count(" ") + 1
    return paragraphs


def _page_text(w: _Writer, page: _Page, cat: _Category) -> str:
    """What a scraper's own text extraction gives: the body, sometimes with menu and cookie noise."""
    parts = list(page.paragraphs)
    if w.rnd.random() < 0.3:
        parts.insert(0, " ".join(cat.menu))
    if w.rnd.random() < 0.2:
        parts.append(w.rnd.choice(_COOKIE))
    return "\n\n".join(parts)


def _page_html(w: _Writer, page: _Page, cat: _Category, year: int) -> str:
    rnd, site = w.rnd, page.site
    head = [
        f"<title>{escape(page.title)}</title>",
        f'<meta name="description" content="{escape(page.description)}">',
    ]
    if rnd.random() < 0.7:
        head.append(f'<meta property="og:site_name" content="{escape(site.site_name)}">')
    if rnd.random() < 0.5:
        head.append(f'<script type="application/ld+json">{_json_ld(page, cat, rnd)}</script>')
    tracker = f"dataLayer.push({{'page':'{rnd.randint(1, 999)}'}});"
    head.append(f"<script>window.dataLayer=window.dataLayer||[];{tracker}</script>")
    menu = "".join(f'<li><a href="/{_slugify(m)}">{m}</a></li>' for m in cat.menu)
    body = [
        f'<div class="cookie-banner"><p>{rnd.choice(_COOKIE)}</p><button>Accept all</button>'
        "<button>Manage preferences</button></div>"
        if rnd.random() < 0.4
        else "",
        f'<header><a class="logo" href="/"><img src="/logo.svg" alt="{escape(site.site_name)}"></a>'
        f"<nav><ul>{menu}</ul></nav></header>",
        f"<main><article><h1>{escape(page.title)}</h1>",
        w.fill(cat.widget, cat, site) if rnd.random() < 0.8 else "",
        *(f"<p>{escape(p)}" + ("" if rnd.random() < 0.1 else "</p>") for p in page.paragraphs),
        "</article></main>",
        f'<footer><p>© {year} {escape(site.org)}. All rights reserved.</p><a href="/privacy">Privacy</a> '
        '<a href="/terms">Terms</a> <a href="/contact">Contact</a></footer>',
    ]
    doc = (
        f'<!DOCTYPE html><html lang="{page.lang}"><head><meta charset="utf-8">{"".join(head)}</head>'
        f'<body class="page-{rnd.randint(1, 99)}">{"".join(body)}'
        f'<script src="/static/app.{rnd.getrandbits(32):08x}.js"></script></body></html>'
    )
    if rnd.random() < 0.05:  # a truncated download: the markup simply stops
        doc = doc[: int(len(doc) * rnd.uniform(0.7, 0.95))]
    return doc


def _json_ld(page: _Page, cat: _Category, rnd: random.Random) -> str:
    org = {"@type": cat.schema_type, "name": page.site.org, "url": f"https://{page.site.host}/"}
    if rnd.random() < 0.5:
        org["logo"] = f"https://{page.site.host}/logo.png"
    if rnd.random() < 0.5:
        doc = {"@context": "https://schema.org", "@type": "WebPage", "name": page.title, "publisher": org}
    else:
        doc = {"@context": "https://schema.org", **org}
    return json.dumps(doc, ensure_ascii=False)


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# ------------------------------------------------------------------------------ records


def _good_record(w: _Writer, page: _Page, cat: _Category, landed_at: datetime) -> SampleRecord:
    rnd = w.rnd
    fields: dict[str, Any] = {
        "id": w.next_id(),
        "url": page.url,
        "scraped_at": landed_at - timedelta(minutes=rnd.randint(1, 600)),
        "http_status": 200,
        "lang": page.lang,
    }
    shape = rnd.random()
    if shape < 0.55:
        fields["html"] = _page_html(w, page, cat, landed_at.year)
    elif shape < 0.8:
        fields["text"], fields["title"] = _page_text(w, page, cat), page.title
    else:
        fields["html"] = _page_html(w, page, cat, landed_at.year)
        fields["text"] = _page_text(w, page, cat)
    return SampleRecord(fields=fields, label=page.label)


def _bad_records(
    w: _Writer,
    good: list[SampleRecord],
    fmt: str,
    landed_at: datetime,
    previous: list[SampleRecord],
    broken: bool,
) -> list[SampleRecord]:
    """The deliberately bad rows of one batch, each tagged with the reason it must get."""
    rnd = w.rnd
    donor = rnd.choice(good)
    when = landed_at - timedelta(minutes=5)

    def row(url: str | None, text: str, reason: str) -> SampleRecord:
        fields = {"id": w.next_id(), "url": url, "text": text, "scraped_at": when}
        return SampleRecord(fields, donor.label, reason)

    bad = [
        row(_fresh_url(w, "/empty"), "", "missing_text"),
        row("htp:/broken-link", _filler(w, donor), "bad_url"),
        row(None, _filler(w, donor), "missing_url"),
        SampleRecord(dict(donor.fields), donor.label, "duplicate"),
        SampleRecord({**donor.fields, "url": donor.fields["url"] + "-mirror"}, donor.label, "duplicate"),
        row(_fresh_url(w), _garbled_text(w, donor, fmt), "bad_encoding"),
        row(_fresh_url(w), "Loading...", "text_too_short"),
        row(_fresh_url(w), _huge_text(), "text_too_large"),
    ]
    if broken and fmt == "jsonl":
        bad.append(_broken_json_record(donor))
    if previous:
        again = rnd.choice([r for r in previous if r.expected_reason is None])
        bad.append(SampleRecord(dict(again.fields), again.label, "duplicate"))
    return bad


def _fresh_url(w: _Writer, path: str = "/item") -> str:
    w.serial += 1
    return f"https://www.{_slugify(w.rnd.choice(_PLACES))}-pages.com{path}/{w.serial}"


def _filler(w: _Writer, donor: SampleRecord) -> str:
    cat = _BY_NAME[donor.label]
    site = w.rnd.choice(w.sites[cat.name])
    return " ".join(w.sentence(cat, site) for _ in range(4))


def _garbled_text(w: _Writer, donor: SampleRecord, fmt: str) -> str:
    """Invalid bytes (kept as surrogate escapes until written) or, for Parquet, mojibake."""
    text = _filler(w, donor) + " Café, crème brûlée – “quoted” and naïve façade, déjà vu."
    if fmt == "parquet":
        return text.encode("utf-8").decode("cp1252", "replace")
    return text.encode("cp1252").decode("utf-8", "surrogateescape")


def _huge_text() -> str:
    block = "Lorem ipsum dolor sit amet, scraped infinite scroll page. " * 50
    return (block * (HUGE_TEXT_CHARS // len(block) + 1))[:HUGE_TEXT_CHARS]


def _broken_json_record(donor: SampleRecord) -> SampleRecord:
    line = json.dumps({"url": donor.fields["url"] + "-cut", "text": "A record the scraper cut off mid"})
    return SampleRecord({}, donor.label, "malformed_line", raw_line=line[: len(line) - 8].encode())


def generate_sample(
    n_batches: int = 4, pages_per_batch: int = 150, seed: int = 0, start: datetime = DEFAULT_START
) -> list[SampleBatch]:
    """Every batch's records, in memory (``pages_per_batch`` records per batch, bad ones included)."""
    w = _Writer(random.Random(seed))
    batches: list[SampleBatch] = []
    previous: list[SampleRecord] = []
    for b in range(n_batches):
        fmt = FORMATS[b % len(FORMATS)]
        landed_at = start + timedelta(days=b)
        records = _batch_records(w, pages_per_batch, fmt, landed_at, previous, broken=b == 0)
        name = f"batch-{landed_at:%Y-%m-%dT%H-%M-%S}.{fmt}"
        batches.append(SampleBatch(name, fmt, landed_at, records))
        previous = previous + records
    return batches


def _batch_records(
    w: _Writer,
    size: int,
    fmt: str,
    landed_at: datetime,
    previous: list[SampleRecord],
    broken: bool,
) -> list[SampleRecord]:
    """``size`` records: good pages of every category in turn, then up to ``size // 15`` bad rows."""
    n_bad = min(size // 15, 8 + int(broken and fmt == "jsonl") + int(bool(previous)))
    cats = [CATEGORIES[i % len(CATEGORIES)] for i in range(size - n_bad)]
    w.rnd.shuffle(cats)
    good = [_good_record(w, _make_page(w, _BY_NAME[c]), _BY_NAME[c], landed_at) for c in cats]
    if not n_bad:
        return good
    bad = _bad_records(w, good, fmt, landed_at, previous, broken)
    w.rnd.shuffle(bad)
    records = good + bad[:n_bad]
    w.rnd.shuffle(records)
    return _duplicates_after_originals(records)


def _duplicates_after_originals(records: list[SampleRecord]) -> list[SampleRecord]:
    """An in-batch duplicate must come after the row it copies, or the original is the 'duplicate'."""
    dupes = [r for r in records if r.expected_reason == "duplicate"]
    others = [r for r in records if r.expected_reason != "duplicate"]
    return others + dupes


# ------------------------------------------------------------------------------ writing


def write_sample_scrape(
    landing_dir: str | Path, n_batches: int = 4, pages_per_batch: int = 150, seed: int = 0
) -> list[Path]:
    """Write the sample batches (JSON lines, CSV, Parquet in turn); returns their paths in time order."""
    folder = Path(landing_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for batch in generate_sample(n_batches, pages_per_batch, seed):
        path = folder / batch.file_name
        tmp = path.with_name(f".{path.name}.tmp")
        _WRITERS[batch.fmt](tmp, batch.records)
        tmp.replace(path)
        paths.append(path)
    return paths


def write_sample_batch(
    landing_dir: str | Path, pages: int, seed: int, start: datetime, fmt: str | None = None
) -> Path:
    """One more batch landed at ``start`` (its file name carries that time), written then renamed.

    What a scraper does continuously; used by the freshness benchmark and the daemon test.
    """
    batch = generate_sample(1, pages, seed, start=start)[0]
    fmt = fmt or batch.fmt
    folder = Path(landing_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{Path(batch.file_name).stem}.{fmt}"
    tmp = path.with_name(f".{path.name}.tmp")
    _WRITERS[fmt](tmp, batch.records)
    tmp.replace(path)
    return path


def sample_truth(n_batches: int = 4, pages_per_batch: int = 150, seed: int = 0) -> pd.DataFrame:
    """One row per written record: ``file, url, label, expected_reason`` (None for good pages)."""
    rows = [
        {
            "file": batch.file_name,
            "url": r.fields.get("url"),
            "label": r.label,
            "expected_reason": r.expected_reason,
        }
        for batch in generate_sample(n_batches, pages_per_batch, seed)
        for r in batch.records
    ]
    return pd.DataFrame(rows, columns=["file", "url", "label", "expected_reason"])


def write_sample_gold(
    gold_dir: str | Path,
    n_batches: int = 4,
    pages_per_batch: int = 150,
    seed: int = 0,
    fraction: float = 0.1,
) -> Path:
    """Simulated hand labels (``url,label,labeler,labeled_at``) for a random share of good pages."""
    truth = sample_truth(n_batches, pages_per_batch, seed)
    good = truth[truth["expected_reason"].isna()].drop_duplicates("url")
    rnd = random.Random(seed + 1)
    chosen = sorted(rnd.sample(range(len(good)), k=max(1, round(len(good) * fraction))))
    picked = good.iloc[chosen]
    labelers = ("alice", "bo", "chidi", "dana")
    gold = pd.DataFrame(
        {
            "url": picked["url"].to_numpy(),
            "label": picked["label"].to_numpy(),
            "labeler": [rnd.choice(labelers) for _ in chosen],
            "labeled_at": [
                (DEFAULT_START + timedelta(days=n_batches, minutes=rnd.randint(0, 2000))).isoformat()
                for _ in chosen
            ],
        }
    )
    folder = Path(gold_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sample-gold-seed{seed}.csv"
    gold.to_csv(path, index=False)
    return path


def _iso(value: Any) -> Any:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime) else value


def _write_jsonl(path: Path, records: list[SampleRecord]) -> None:
    with open(path, "wb") as fh:
        for r in records:
            if r.raw_line is not None:
                fh.write(r.raw_line + b"\n")
                continue
            data = {k: _iso(v) for k, v in r.fields.items()}
            fh.write(json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogateescape") + b"\n")


_CSV_COLUMNS = ("id", "url", "title", "text", "html", "scraped_at", "http_status", "lang")


def _write_csv(path: Path, records: list[SampleRecord]) -> None:
    with open(path, "wb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
        out = csv.writer(text)
        out.writerow(_CSV_COLUMNS)
        for r in records:
            out.writerow(["" if r.fields.get(c) is None else _csv_value(r.fields[c]) for c in _CSV_COLUMNS])
        text.flush()
        text.detach()


def _csv_value(value: Any) -> Any:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value


def _write_parquet(path: Path, records: list[SampleRecord]) -> None:
    columns = {c: [r.fields.get(c) for r in records] for c in _CSV_COLUMNS}
    schema = pa.schema(
        [
            (
                c,
                pa.timestamp("s", tz="UTC")
                if c == "scraped_at"
                else pa.int64()
                if c == "http_status"
                else pa.string(),
            )
            for c in _CSV_COLUMNS
        ]
    )
    pq.write_table(pa.table(columns, schema=schema), path)


_WRITERS: dict[str, Callable[[Path, list[SampleRecord]], None]] = {
    "jsonl": _write_jsonl,
    "csv": _write_csv,
    "parquet": _write_parquet,
}
