"""The sample scrape's vocabulary: per-category word lists and page shapes, nothing else.

Written for beambell (no external dataset), so demos and tests run anywhere. It is data, kept
apart from the code that draws from it (:mod:`beambell_assets.demo.pages`): the order of entries
is part of the output, since the seeded generator picks by position - reordering a list changes
every sample byte after the first pick from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from beambell_assets.labeling.tasks.web_content import LABELS

#: The default task's label space: the sample must speak exactly its labels.
CATEGORIES: tuple[str, ...] = LABELS


def _words(spec: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in spec.split("|") if w.strip())


@dataclass(frozen=True)
class Category:
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


PLACES = _words(
    "Lisbon|Kyoto|Edinburgh|Cape Town|Vancouver|Oaxaca|Tallinn|Hobart|Bruges|Marrakesh|Reykjavik|"
    "Porto|Seville|Krakow|Bergen|Galway|Hanoi|Valparaiso|Leeds|Bristol|Munich|Lyon|Denver|Austin"
)
PEOPLE = _words(
    "Amara Okafor|Lukas Brandt|Sofia Marquez|Priya Raman|Tom Whitaker|Mei Lin|Jonas Berg|Chloe Dubois|"
    "Daniel Kowalski|Aisha Bello|Oliver Grant|Hana Sato|Mateo Rossi|Grace Mensah|Ethan Clarke|Nadia Haddad"
)
USERS = _words("pixelpanda|nightowl42|trailrunner|coffee_addict|m_kowalski|sunnyside|quietstorm|bytebard")
CURRENCY = (("${}", "."), ("£{}", "."), ("{} €", ","), ("USD {}", "."), ("€{}", "."))
GENERIC = _words(
    "Read more|Share this page|Sign up for our newsletter|Last updated {date}|Back to top|"
    "See all {noun} and {noun}|Contact us if you have questions about {noun}|"
    "More on {noun} coming soon|Was this page helpful? Yes / No"
)
SHORT = _words(
    "Page not found. Try searching for {noun} instead.|This page has moved. Continue to {noun}.|"
    "Loading {noun} and {noun}, please wait a moment.|Coming soon: {adj} {noun}. Stay tuned.|"
    "Sign in to continue to your {noun} account.|Welcome! Choose your region to see {noun}."
)
FOREIGN_GENERIC = {
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

_C = Category
CATEGORY_SPECS: tuple[Category, ...] = (
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
BY_NAME = {c.name: c for c in CATEGORY_SPECS}
assert tuple(BY_NAME) == CATEGORIES

#: Slot vocabularies shared by all categories.
SLOT_WORDS: dict[str, tuple[str, ...]] = {
    "place": PLACES,
    "name": PEOPLE,
    "user": USERS,
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
COOKIE = _words(
    "We use cookies to improve your experience and to show you relevant ads.|"
    "This site uses cookies. By continuing to browse you agree to our use of cookies.|"
    "We and our partners store and access information on your device."
)
