"""The default task, ``web_content``: what kind of site a scraped page belongs to (16 categories).

The LFs are written from general knowledge of each kind of site, not mined from any labelled set,
because they are meant for pages from sources nobody here has seen. They read the ``page_features``
columns (``text``, ``title``, ``url``, ``domain``, ``registered_domain``, ``tld``, ``url_path`` and the
numeric structure counts). Text may be normal prose or "cleaned" scraped text (lowercased,
lemmatised, no stop words, no punctuation), so keyword lists carry singular *and* plural forms and
avoid relying on punctuation.

Per class (``CLASSES`` below, one :class:`ClassRules` each) a small factory builds:

* ``kw_<class>_strong``: distinctive terms; ``strong_min_hits`` distinct ones vote (1-4: a term
  that also shows up in other kinds of sites needs company);
* ``kw_<class>_vocab``: the class's broader vocabulary; ``vocab_min_hits`` distinct terms vote;
* ``site_<class>_known``: well-known platforms of the class by registered domain;
* ``url_<class>_host`` / ``url_<class>_path``: words in the host name / URL path.

Hand-written extras follow: top-level domains (``.gov``, ``.edu``, adult TLDs), page structure
(price and date counts), a few regexes, and three model LFs
(:mod:`~beambell_assets.labeling.model_lfs`) built from the class descriptions and vocabularies here,
which vote for whichever class a page (or its title/description) resembles most, when it clearly does.

Measured on the website-classification dev CSV (7 of the 16 classes) with
``scripts/lf_dev_eval.py``: that run was used only to find LFs that fire on the wrong kind of site
(the thresholds were raised and generic words such as "privacy", "world" or "free" were dropped
from the vocabularies); no term or domain was taken from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from snorkel.labeling import LabelingFunction

from beambell_assets.labeling.lf_types import KeywordLF, MembershipLF, RegexLF, ThresholdLF
from beambell_assets.labeling.model_lfs import PrototypeLF, SeedNaiveBayesLF
from beambell_assets.labeling.task import Task, make_task

LABELS: tuple[str, ...] = (
    "Travel",
    "Social Networking and Messaging",
    "News",
    "Streaming Services",
    "Sports",
    "Photography",
    "Law and Government",
    "Health and Fitness",
    "Games",
    "E-Commerce",
    "Forums",
    "Food",
    "Education",
    "Computers and Technology",
    "Business/Corporate",
    "Adult",
)
(
    TRAVEL,
    SOCIAL,
    NEWS,
    STREAMING,
    SPORTS,
    PHOTOGRAPHY,
    LAW_GOV,
    HEALTH,
    GAMES,
    ECOMMERCE,
    FORUMS,
    FOOD,
    EDUCATION,
    TECH,
    BUSINESS,
    ADULT,
) = range(len(LABELS))


def _words(block: str) -> tuple[str, ...]:
    """Comma-separated terms (phrases allowed) from a readable multi-line block."""
    return tuple(t.strip() for t in block.replace("\n", " ").split(",") if t.strip())


@dataclass(frozen=True)
class ClassRules:
    """Everything the factory needs to build one class's LFs."""

    slug: str
    description: str  # prose, used by the model LFs' prototypes
    strong: tuple[str, ...]  # distinctive terms
    vocab: tuple[str, ...]  # broader vocabulary
    strong_min_hits: int = 1
    vocab_min_hits: int = 4
    exclude: tuple[str, ...] = ()  # veto terms for the keyword LFs
    domains: tuple[str, ...] = ()  # well-known registered domains
    host_pattern: str | None = None  # regex searched in the host name
    path_pattern: str | None = None  # regex searched in the URL path


# --------------------------------------------------------------------------------------------------
# The rules per class. Terms match whole tokens after lowercasing; phrases match adjacent tokens.
# --------------------------------------------------------------------------------------------------

CLASSES: dict[int, ClassRules] = {
    TRAVEL: ClassRules(
        slug="travel",
        description="""Travel sites: book hotels, flights, holiday packages and vacation rentals; compare
        airfares; read travel guides about destinations, things to do, sightseeing and tours; plan a
        trip itinerary; airlines, airports, cruises, resorts, hostels, car hire and travel insurance.""",
        strong=_words("""airfare, airfares, cheap flights, cheap flight, flight deals, hotel deals,
            hostel, hostels, itinerary, itineraries, sightseeing, guesthouse, guesthouses,
            bed and breakfast, car rental, car rentals, car hire, travel insurance, holiday packages,
            holiday package, vacation rental, vacation rentals, vacation packages, travel guide,
            travel guides, travel agency, travel agent, tour operator, tour operators, round trip,
            one way flight, all inclusive, city break, city breaks, beach resort, resorts, backpacking,
            layover, check in date, places to visit, things to do, travel deals, book your stay,
            best price guarantee, holiday rentals, tourist attractions"""),
        vocab=_words("""travel, travels, traveller, travellers, traveler, travelers, travelling,
            traveling, trip, trips, hotel, hotels, flight, flights, destination, destinations,
            vacation, vacations, holiday, holidays, tour, tours, tourism, tourist, tourists, resort,
            booking, bookings, accommodation, accommodations, lodging, airline, airlines, airport,
            airports, cruise, cruises, getaway, getaways, luggage, baggage, villa, villas, motel,
            motels, check in, excursion, excursions, attractions, sightseeing, guided tours,
            departure, arrival, round trip"""),
        domains=_words("""booking.com, expedia.com, tripadvisor.com, airbnb.com, hotels.com, kayak.com,
            skyscanner.net, trivago.com, agoda.com, priceline.com, orbitz.com, travelocity.com,
            hostelworld.com, lonelyplanet.com, makemytrip.com, goibibo.com, cleartrip.com, trip.com,
            vrbo.com, marriott.com, hilton.com, hyatt.com, ihg.com, accor.com, delta.com, united.com,
            aa.com, southwest.com, britishairways.com, emirates.com, ryanair.com, easyjet.com,
            lufthansa.com, qatarairways.com, singaporeair.com, amtrak.com, eurail.com, viator.com,
            getyourguide.com, hopper.com, momondo.com, cheapflights.com, lastminute.com, travelzoo.com,
            fodors.com, frommers.com, roughguides.com, rome2rio.com, yatra.com, ixigo.com, hotwire.com,
            tui.co.uk, thomascook.com, kiwi.com, skyscanner.com, tripadvisor.co.uk"""),
        host_pattern=r"travel|hotel|hostel|flight|airfare|vacation|holiday|resort|cruise|touris|"
        r"airways|airlines?\b|visit[a-z]{3,}|(?<!s)trip(?!e)",
        path_pattern=r"/(hotels?|flights?|travel|destinations?|tours|vacations?|holidays|cruises?)\b",
    ),
    SOCIAL: ClassRules(
        slug="social",
        description="""Social networking and messaging: connect with friends and family, follow people,
        share photos, videos and posts on your profile and feed, like and comment, send private messages
        and group chats, make free voice and video calls, end-to-end encrypted messaging app, meet new
        people and communities.""",
        strong=_words("""social network, social networking, social media platform, messaging app,
            messenger, end to end encryption, end to end encrypted, group chat, group chats,
            video call, video calls, voice call, voice calls, direct message, direct messages,
            private message, private messages, instant messaging, followers, news feed, hashtag,
            hashtags, meet new people, make new friends, connect with friends, stay in touch,
            chat room, chat rooms, chatroom, chatrooms, reels,
            friend request, friend requests, send messages, share photos and videos"""),
        vocab=_words("""friend, friends, follower, followers, profile, profiles, message, messages,
            messaging, chat, chats, chatting, feed, timeline, likes, emoji, emojis, stickers,
            encrypted, encryption, contacts, dating, singles, networking, mentions, connections,
            friend request, followed, unfollow, groups, video chat, voice messages, status updates"""),
        exclude=("porn", "xxx"),
        domains=_words("""facebook.com, twitter.com, x.com, instagram.com, linkedin.com, tiktok.com,
            snapchat.com, pinterest.com, tumblr.com, whatsapp.com, telegram.org, signal.org,
            discord.com, messenger.com, vk.com, weibo.com, wechat.com, line.me, viber.com, skype.com,
            meetup.com, nextdoor.com, mastodon.social, threads.net, kik.com, badoo.com, tinder.com,
            bumble.com, hinge.co, myspace.com, ok.ru, qq.com, sharechat.com, clubhouse.com,
            hi5.com, tagged.com, zoom.us, slack.com, wire.com, threema.ch, bsky.app,
            truthsocial.com, gab.com, minds.com, mewe.com, periscope.tv, yubo.live, wattpad.com"""),
        host_pattern=r"social|chat|messeng|friend|dating|meetup|\bmeet",
    ),
    NEWS: ClassRules(
        slug="news",
        description="""News: breaking news, latest headlines and top stories from around the world;
        politics, business, economy, world, opinion, editorials and analysis; journalists and reporters
        cover elections, government, crime, weather; live updates, newsletters, subscribe to the paper.""",
        strong=_words("""breaking news, latest news, top stories, top story, headlines, headline,
            world news, local news, national news, business news, news updates, live updates,
            live update, editorial, editorials, op ed, newsroom, journalist, journalists, journalism,
            correspondent, correspondents, news agency, newspaper, newspapers, editor's picks,
            editors picks, latest headlines, most read, news in brief, press freedom"""),
        strong_min_hits=2,
        vocab=_words("""politics, political, world, opinion, analysis, business, economy, markets, science,
            health, entertainment, sport, sports, culture, weather, technology, lifestyle, arts,
            environment, climate, crime, elections, election, obituaries, columnists, columnist,
            said, told, according, reported, reporter, reporters, officials, interview,
            investigation, headlines, breaking, editorial, journalism, newsletter"""),
        vocab_min_hits=10,
        domains=_words("""bbc.co.uk, bbc.com, cnn.com, nytimes.com, theguardian.com, washingtonpost.com,
            reuters.com, apnews.com, foxnews.com, nbcnews.com, cbsnews.com, npr.org, usatoday.com,
            wsj.com, bloomberg.com, ft.com, aljazeera.com, independent.co.uk, telegraph.co.uk,
            dailymail.co.uk, huffpost.com, latimes.com, thehindu.com, indiatimes.com,
            hindustantimes.com, ndtv.com, economist.com, politico.com, axios.com, vox.com,
            theatlantic.com, time.com, newsweek.com, cnbc.com, abc.net.au, smh.com.au, cbc.ca,
            globalnews.ca, lemonde.fr, spiegel.de, elpais.com, scmp.com, straitstimes.com, rt.com,
            dw.com, france24.com, euronews.com, news.com.au, thesun.co.uk, mirror.co.uk,
            nypost.com, chicagotribune.com, bostonglobe.com, sfchronicle.com, news18.com,
            indianexpress.com, thetimes.co.uk, standard.co.uk, msnbc.com,
            japantimes.co.jp, dawn.com, thestar.com, irishtimes.com"""),
        host_pattern=r"news|times|herald|gazette|tribune|chronicle|dispatch|journal\b|post\.|"
        r"(?<!s)daily(?!motion)|observer|courier|telegraph|inquirer",
        path_pattern=r"/(news|article|articles|story|politics|world|opinion)/|/20\d\d/[01]\d/",
    ),
    STREAMING: ClassRules(
        slug="streaming",
        description="""Streaming services: watch movies, TV shows, series, documentaries and live TV on
        demand in HD and 4K on any device, smart TV or phone; listen to music, songs, albums, playlists,
        podcasts and radio; start your free trial, choose a plan, cancel anytime, ad-free, download to
        watch offline, new episodes and originals.""",
        strong=_words("""streaming service, streaming services, watch online, tv shows, tv show,
            tv series, cancel anytime, cancel at any time, ad free, watchlist, playlist, live tv,
            on demand, binge, watch now, start watching, listen now, smart tv,
            originals, stream live, watch free, free movies, hd movies, music streaming,
            unlimited music, unlimited movies, new episodes, watch anywhere,
            streaming platform"""),
        strong_min_hits=2,
        vocab=_words("""watch, movie, movies, film, films, series, episode, episodes, seasons, tv,
            television, documentary, documentaries, anime, music, song, songs, album, albums,
            radio, listen, listening, hd, 4k, ultra hd, subscription, free trial, offline,
            channel, channels, trailer, trailers, drama, comedy, thriller, horror, romance, genres,
            roku, chromecast, fire tv, apple tv, podcast, podcasts, streaming, stream, playlists"""),
        vocab_min_hits=7,
        exclude=("porn", "xxx", "sex videos"),
        domains=_words("""netflix.com, hulu.com, disneyplus.com, hbomax.com, max.com, primevideo.com,
            spotify.com, pandora.com, soundcloud.com, twitch.tv, youtube.com, vimeo.com,
            dailymotion.com, crunchyroll.com, deezer.com, tidal.com, peacocktv.com, paramountplus.com,
            sling.com, fubo.tv, pluto.tv, tubitv.com, roku.com, iheart.com, iheartradio.com,
            hotstar.com, jiocinema.com, zee5.com, sonyliv.com, mxplayer.in, voot.com, gaana.com,
            jiosaavn.com, wynk.in, mubi.com, curiositystream.com,
            britbox.com, starz.com, showtime.com, philo.com, discoveryplus.com, funimation.com,
            napster.com, audiomack.com, bandcamp.com, mixcloud.com, tunein.com, kanopy.com,
            hoopladigital.com, plex.tv, stan.com.au, now.com, nowtv.com, itv.com, channel4.com,
            rakuten.tv, viki.com, iq.com, vudu.com, crackle.com, shahid.net, hayu.com, sunnxt.com,
            aha.video, erosnow.com"""),
        host_pattern=r"^(?!.*(porn|xxx|sex|tube8)).*(stream|movie|film|cinema|music|radio|podcast|"
        r"flix|anime|\btv\b|\.tv$|video(?!game))",
        path_pattern=r"/(watch|movies?|tv-shows?|series|episodes?|listen|playlists?|podcasts?|live-tv)\b",
    ),
    SPORTS: ClassRules(
        slug="sports",
        description="""Sports: football, soccer, basketball, baseball, cricket, tennis, golf, rugby,
        hockey, motorsport, boxing and athletics; live scores, fixtures, results, league tables and
        standings; teams, players, coaches, transfers, matches, tournaments, championships and the
        Olympics; match reports and highlights.""",
        strong=_words("""live score, live scores, livescore, premier league, champions league, nba,
            nfl, mlb, nhl, touchdown, touchdowns, quarterback, wicket, wickets, innings, goalkeeper,
            midfielder, striker, la liga, serie a, bundesliga, playoffs, playoff, ipl, t20, odi,
            standings, fixtures, league table, transfer news, match report, match reports,
            grand slam, world cup, super bowl, formula 1, formula one, motogp, ufc, wwe, nascar,
            olympics, olympic games, scoreboard, box score, box scores, home run, halftime,
            full time, kick off, kickoff, fantasy football"""),
        strong_min_hits=3,
        vocab=_words("""sport, sports, football, soccer, basketball, baseball, cricket, tennis, golf,
            rugby, hockey, boxing, wrestling, athletics, cycling, motorsport, f1, mma, league,
            leagues, match, matches, score, scores, team, teams, player, players, coach, coaches,
            tournament, tournaments, championship, championships, stadium, fans, goal, goals,
            defeat, transfer, transfers, squad, captain, referee, highlights, rankings, fixture,
            fixtures, medal, medals, athlete, athletes, ncaa"""),
        vocab_min_hits=6,
        domains=_words("""espn.com, bleacherreport.com, si.com, cbssports.com, nba.com, nfl.com,
            mlb.com, nhl.com, fifa.com, uefa.com, premierleague.com, skysports.com, goal.com,
            marca.com, cricbuzz.com, espncricinfo.com, olympics.com, foxsports.com, theathletic.com,
            sportingnews.com, eurosport.com, formula1.com, atptour.com, wtatennis.com, pgatour.com,
            ufc.com, wwe.com, livescore.com, flashscore.com, sofascore.com, transfermarkt.com,
            nbcsports.com, sportskeeda.com, as.com, gazzetta.it, lequipe.fr, kicker.de,
            icc-cricket.com, bcci.tv, nascar.com, motogp.com, worldrugby.org, espn.co.uk, espn.in,
            talksport.com, 90min.com, fotmob.com, whoscored.com, rotowire.com, yardbarker.com,
            deadspin.com, sbnation.com, mlssoccer.com, wnba.com, ncaa.com, tennis.com, golf.com,
            cyclingnews.com, boxingscene.com, mmafighting.com, sherdog.com"""),
        host_pattern=r"sport|football|soccer|basketball|baseball|cricket|tennis|golf|rugby|hockey|"
        r"\bnba|\bnfl|\bmlb|\bnhl|espn|fifa|uefa|olympic|athletic|livescore|racing",
        path_pattern=r"/(sports?|football|soccer|nba|nfl|cricket|live-?scores?|fixtures|standings)\b",
    ),
    PHOTOGRAPHY: ClassRules(
        slug="photo",
        description="""Photography: photographers share portfolios and galleries of portrait, wedding,
        landscape and street photos; cameras, lenses, DSLR and mirrorless gear reviews; aperture,
        shutter speed, ISO and exposure tutorials; photo editing with Lightroom and presets; stock
        photos and royalty-free images; prints and photo books.""",
        strong=_words("""photography, photographer, photographers, photographic, dslr, dslrs,
            mirrorless, aperture, shutter speed, lightroom, tripod, tripods, bokeh, megapixel,
            megapixels, focal length, telephoto, stock photo, stock photos, stock photography,
            stock image, stock images, royalty free images, photoshoot, photoshoots, photo shoot,
            headshot, headshots, portrait photography, wedding photography, wedding photographer,
            landscape photography, street photography, photo editing, photo editor, presets, raw
            files, camera gear, lens review, camera review, prime lens, zoom lens, wide angle lens,
            photo prints, photo book, photo books, film photography"""),
        strong_min_hits=2,
        vocab=_words("""photo, photos, photograph, photographs, picture, pictures, image, images,
            camera, cameras, lens, lenses, shoot, shooting, portrait, portraits, landscape,
            landscapes, wedding, weddings, gallery, galleries, portfolio, prints, studio,
            lighting, exposure, iso, shutter, flash, sensor, zoom, canon, nikon, sony, fujifilm,
            leica, olympus, pentax, hasselblad, photoshop, lightroom, photographer, photography"""),
        vocab_min_hits=5,
        domains=_words("""flickr.com, 500px.com, shutterstock.com, gettyimages.com, istockphoto.com,
            unsplash.com, pexels.com, pixabay.com, smugmug.com, dpreview.com, petapixel.com,
            fstoppers.com, photobucket.com, alamy.com, depositphotos.com, dreamstime.com, 123rf.com,
            shutterfly.com, snapfish.com, vsco.co, digital-photography-school.com,
            photographylife.com, kenrockwell.com, lensrentals.com, zenfolio.com, pixieset.com,
            format.com, eyeem.com, picfair.com, photocrowd.com, lomography.com, adorama.com,
            bhphotovideo.com, magnumphotos.com, imagesource.com,
            stocksy.com, freepik.com, agefotostock.com, photoshelter.com, cameralabs.com,
            imaging-resource.com, diyphotography.net, phototraces.com, expertphotography.com,
            photographyblog.com, slrlounge.com, lensculture.com, worldpressphoto.org"""),
        host_pattern=r"photo|foto|camera|\blens(es)?\b|shutter|(?<!e)pics\b|picture|portrait|imag(e|ing)|"
        r"snapshot",
    ),
    LAW_GOV: ClassRules(
        slug="lawgov",
        description="""Law and government: official government websites, ministries, departments and
        agencies; public services for citizens and residents; taxes, licences, permits, benefits and
        public records; legislation, statutes, regulations and courts; attorneys, lawyers and law firms
        offering legal advice on litigation, criminal defense, family law and personal injury.""",
        strong=_words("""attorney, attorneys, lawyer, lawyers, law firm, law firms, legal advice,
            legal services, personal injury, criminal defense, criminal defence, family law,
            court of appeals, district court, legislation, statute,
            statutes, ordinance, ordinances, public records, freedom of information, foia,
            ministry of, department of, government of, official website of, city council,
            county government, municipality, municipal, government services, public services,
            solicitor, solicitors, barrister, barristers, litigation, local government, public notice,
            public notices, tenders, rti, right to information, gazette notification, e governance"""),
        strong_min_hits=2,
        vocab=_words("""residents, citizens, permits, permit, licence, licences, license, licenses,
            taxes, benefits, department, departments, council, county, ordinance, ordinances,
            regulations, regulation, compliance, enforcement, notification, notifications,
            schemes, eligibility, grievance, grievances, tender, tenders, public notices,
            apply online, government, municipal, legislation, statutes, court, courts, judge,
            judges, attorney, attorneys, lawyer, lawyers, legal, litigation, law firm, clients,
            consultation, case results, practice areas, immigration"""),
        vocab_min_hits=6,
        domains=_words("""europa.eu, un.org, nato.int, findlaw.com, justia.com, nolo.com, avvo.com,
            lawyers.com, martindale.com, law.com, oyez.org, scotusblog.com, canada.ca, usa.gov,
            govt.nz, legislation.gov.uk, courtlistener.com, lexisnexis.com,
            westlaw.com, americanbar.org, lawsociety.org.uk, aclu.org,
            legalzoom.com, rocketlawyer.com, casetext.com, govinfo.gov, judiciary.uk,
            interpol.int, worldbank.org, imf.org, oecd.org, wto.org, icc-cpi.int, echr.coe.int,
            coe.int, lawinsider.com, uscourts.gov, supremecourt.gov, ballotpedia.org,
            nic.in"""),
        host_pattern=r"(^|\.)gov(t)?\.|\.gov$|court|legal|attorney|lawyer|lawfirm|\blaw\b|justice|"
        r"police|parliament|senate|congress|ministry|county|legislat|government|municipal|council\.",
    ),
    HEALTH: ClassRules(
        slug="health",
        description="""Health and fitness: medical information about symptoms, conditions, diseases,
        diagnosis and treatment; doctors, clinics, hospitals and patient care; mental health and
        wellness; nutrition, diet and healthy eating; workouts, exercise, gym training, yoga and weight
        loss; vitamins, supplements, sleep and stress.""",
        strong=_words("""workout, workouts, weight loss, lose weight, personal trainer, personal
            training, symptoms, symptom, diagnosis, treatment options, healthcare, health care,
            physician, physicians, clinic, clinics, nutrition, cardio,
            pilates, yoga, strength training, bmi, body mass index, calories, mental health,
            vitamins, supplements, fitness, gym, gyms,
            find a doctor, book an appointment, our doctors, blood pressure, cholesterol,
            therapist, dental, dentist, pharmacy, prescription,
            prescriptions, medication, medications, healthy eating, healthy lifestyle, exercises"""),
        strong_min_hits=3,
        vocab=_words("""health, healthy, exercise, exercises, training, trainer, diet, diets, muscle,
            muscles, weight, fat, protein, calories, sleep, stress, anxiety, depression, pain,
            treatment, treatments, condition, conditions, medicine, medicines, medication,
            symptoms, doctor, doctors, clinic, patients, nurse, nurses, appointment,
            appointments, surgery, injury, injuries, mindfulness, meditation, strength,
            endurance, workout, workouts, fitness, gym, yoga, nutrition, wellness, vitamins,
            supplements, specialist, specialists, screening, therapy, physiotherapy"""),
        vocab_min_hits=6,
        domains=_words("""webmd.com, mayoclinic.org, healthline.com, medicalnewstoday.com, nih.gov,
            clevelandclinic.org, myfitnesspal.com, fitbit.com, strava.com, bodybuilding.com,
            menshealth.com, womenshealthmag.com, self.com, prevention.com, everydayhealth.com,
            verywellhealth.com, verywellfit.com, verywellmind.com, drugs.com, medlineplus.gov,
            nhs.uk, who.int, psychologytoday.com, health.com, shape.com, onepeloton.com,
            livestrong.com, hopkinsmedicine.org, cdc.gov, kidshealth.org,
            rxlist.com, medscape.com, patient.info, practo.com, 1mg.com, netmeds.com,
            pharmeasy.in, goodrx.com, zocdoc.com, headspace.com, calm.com, nerdfitness.com,
            muscleandfitness.com, dailyburn.com, beachbody.com, planetfitness.com, 24hourfitness.com,
            anytimefitness.com, crossfit.com, runnersworld.com, healthgrades.com"""),
        host_pattern=r"health|fitness|medic|clinic|hospital|doctor|pharma|wellness|\bgym|yoga|"
        r"nutrition|dental|dentist|physio|therapy|cardio|diet",
    ),
    GAMES: ClassRules(
        slug="games",
        description="""Games: play free online games in your browser, video games for PC, PlayStation,
        Xbox and Nintendo Switch; multiplayer, RPG, MMO, shooter, puzzle, strategy and arcade games;
        gameplay, walkthroughs, cheats, mods, patch notes, DLC, esports tournaments and gaming news
        and reviews for gamers.""",
        strong=_words("""video game, video games, videogame, videogames, gameplay, multiplayer,
            mmorpg, mmo, rpg, rpgs, esports, e sports, walkthrough, walkthroughs, playstation, ps4,
            ps5, xbox, nintendo, nintendo switch, dlc, patch notes, free online games, online games,
            browser games, html5 games, pc games, play free, play now, gamer, gamers, gaming,
            game reviews, game developer, game developers, indie games, puzzle games, arcade games,
            action games, strategy games, racing games, shooter, shooters, cheats, mods, steam,
            leaderboard, leaderboards, minecraft, fortnite, roblox, battle royale, console, consoles,
            co op, single player, open world, speedrun"""),
        strong_min_hits=3,
        vocab=_words("""game, games, gameplay, quest, quests, boss, bosses, achievements, unlock, loot,
            weapons, skins, arcade, puzzle, puzzles, simulator, sandbox, controller,
            multiplayer, high score, card games, board games, chess, solitaire, mahjong, levels,
            characters, players, gamer, gamers, gaming, console, consoles, rpg, mmo, pvp,
            co op, respawn, xp, dungeon, dungeons, guild, guilds, mods, cheats, playthrough"""),
        vocab_min_hits=5,
        domains=_words("""steampowered.com, epicgames.com, ign.com, gamespot.com, polygon.com,
            kotaku.com, pcgamer.com, roblox.com, minecraft.net, ea.com, ubisoft.com, blizzard.com,
            nintendo.com, playstation.com, xbox.com, itch.io, miniclip.com, poki.com,
            kongregate.com, chess.com, lichess.org, pogo.com, gog.com, riotgames.com,
            leagueoflegends.com, rockstargames.com, bethesda.net, humblebundle.com, eurogamer.net,
            rockpapershotgun.com, armorgames.com, addictinggames.com, y8.com, crazygames.com,
            friv.com, coolmathgames.com, gamesradar.com, destructoid.com, gameinformer.com,
            vg247.com, pushsquare.com, nintendolife.com, purexbox.com, gamerant.com,
            thegamer.com, ign.in, supercell.com, activision.com, square-enix.com, bandainamcoent.com,
            sega.com, capcom.com, konami.com, zynga.com, king.com, garena.com, battle.net,
            callofduty.com, fortnite.com, valvesoftware.com, steamcommunity.com, speedrun.com,
            igdb.com, chess24.com, agar.io,
            slither.io, krunker.io, shellshock.io"""),
        host_pattern=r"game|gaming|arcade|esport|playstation|xbox|nintendo",
        path_pattern=r"/(games?|play|gaming)\b",
    ),
    ECOMMERCE: ClassRules(
        slug="ecommerce",
        description="""E-commerce: online shopping store; buy products, add to cart, checkout, free
        shipping and delivery, easy returns; deals, discounts, coupons, sale and clearance; new
        arrivals and best sellers in fashion, clothing, shoes, electronics, home, beauty and
        accessories; customer reviews, wishlist, track your order, secure payment.""",
        strong=_words("""add to cart, add to bag, add to basket, shopping cart, shopping bag,
            checkout, free shipping, free delivery, new arrivals, best sellers, bestsellers,
            wishlist, wish list, promo code, coupon code, coupons, in stock, out of stock,
            track order, track your order, cash on delivery, size guide, shop now, buy now,
            easy returns, free returns, return policy, online shopping, shop online, shop by
            category, shop by brand, customer reviews, sold out, clearance, flash sale,
            daily deals, order now, secure checkout, gift cards, gift card, marketplace,
            sellers, sell on, lowest price, lowest prices, exchange policy, emi"""),
        strong_min_hits=3,
        vocab=_words("""shop, shopping, buy, order, orders, shipping, delivery, returns, sale,
            discount, discounts, product, products, store, cart, payment, clothing, clothes,
            shoes, accessories, jewelry, jewellery, electronics, appliances, furniture, toys,
            grocery, groceries, bags, watches, size, sizes, quantity, seller, sellers, cod,
            warranty, apparel, checkout, wishlist, in stock, coupon, coupons, refund, refunds"""),
        vocab_min_hits=6,
        domains=_words("""amazon.com, amazon.co.uk, amazon.in, amazon.de, amazon.ca, amazon.fr,
            amazon.co.jp, amazon.com.au, ebay.com, ebay.co.uk, etsy.com, walmart.com, target.com,
            bestbuy.com, aliexpress.com, alibaba.com, flipkart.com, wish.com, temu.com, shein.com,
            zalando.com, asos.com, overstock.com, wayfair.com, homedepot.com, lowes.com,
            costco.com, newegg.com, rakuten.com, mercadolibre.com, jd.com, taobao.com, myntra.com,
            snapdeal.com, ikea.com, macys.com, kohls.com, nordstrom.com, zappos.com, chewy.com,
            argos.co.uk, currys.co.uk, johnlewis.com, otto.de, bol.com, allegro.pl, craigslist.org,
            gumtree.com, ajio.com, nykaa.com, meesho.com, tatacliq.com, jabong.com, shopclues.com,
            lazada.com, shopee.com, tokopedia.com, jumia.com, noon.com, souq.com, groupon.com,
            sephora.com, ulta.com, hm.com, zara.com, uniqlo.com, gap.com, nike.com, adidas.com,
            poshmark.com, depop.com, vinted.com, mercari.com, bigbasket.com, instacart.com,
            tesco.com, sainsburys.co.uk, ocado.com, very.co.uk, boohoo.com, next.co.uk,
            marksandspencer.com, kmart.com, sears.com"""),
        host_pattern=r"shop|store|(?<!s)mart\b|\bbuy|outlet|bazaa?r|boutique|deals?\b|cart\b|"
        r"market(?!ing)",
        path_pattern=r"/(products?|shop|store|cart|checkout|collections|catalog|dp|item|p)/|"
        r"/(cart|checkout)\b",
    ),
    FORUMS: ClassRules(
        slug="forums",
        description="""Forums: online discussion forums and message boards where members post threads
        and replies on topics; subforums, moderators, registered users and guests; latest posts,
        new threads, who's online; ask questions and get answers from the community; upvotes and
        karma.""",
        strong=_words("""forum, forums, message board, message boards, messageboard, subforum,
            subforums, last post, latest posts, new posts, new threads, unread posts, who s online,
            whos online, members online, users online, moderator, moderators, posted by, replies,
            threads, thread starter, started by, upvote, upvotes, downvote, subreddit, subreddits,
            discussion forum, discussion board, bulletin board, join the discussion, view topic,
            topics, posts, reply, quote, joined, registered users, guests, forum rules, sticky,
            ask a question, answers, answered, best answer, karma"""),
        strong_min_hits=3,
        vocab=_words("""thread, threads, discussion, discussions, discuss, member, members, post,
            posts, posted, posting, topic, topics, question, questions, answer, answers, reply,
            replies, board, boards, guest, guests, moderator, moderators, admin, off topic,
            announcements, introductions, views, last post, joined, forum, forums, subforum,
            sticky, quote, upvote, upvotes"""),
        vocab_min_hits=6,
        domains=_words("""reddit.com, quora.com, stackexchange.com, stackoverflow.com, 4chan.org,
            boards.ie, xda-developers.com, somethingawful.com, resetera.com, neogaf.com,
            city-data.com, physicsforums.com, tapatalk.com, proboards.com, mumsnet.com,
            gamefaqs.com, answers.com, superuser.com, serverfault.com,
            askubuntu.com, mathoverflow.net,
            forumotion.com, whirlpool.net.au,
            team-bhp.com, bogleheads.org, avsforum.com, head-fi.org, overclock.net,
            warriorforum.com, blackhatworld.com,
            lemmy.world, kbin.social, voat.co, 8kun.top,
            zhihu.com, 2ch.net, 5ch.net, gaiaonline.com, fark.com,
            metafilter.com"""),
        host_pattern=r"forum|discuss|(^|\.)community\.|(^|\.)boards?\.|(^|\.)talk\.|(^|\.)answers\.|"
        r"stackexchange|(^|\.)bbs\.",
        path_pattern=r"/(forums?|threads?|topics?|viewtopic|showthread|discussions?|board|boards|"
        r"community|questions|r|t)/|viewtopic\.php|showthread\.php|/forum\b",
    ),
    FOOD: ClassRules(
        slug="food",
        description="""Food: recipes with ingredients, cups, tablespoons and teaspoons, prep and cook
        time, preheat the oven; easy dinner, lunch, breakfast, dessert, baking, vegetarian, vegan and
        gluten-free meals; restaurants with menus, reservations, takeaway and food delivery; chefs,
        cuisine, wine, coffee, cooking tips and kitchen.""",
        strong=_words("""recipe, recipes, tablespoon, tablespoons, teaspoon, teaspoons, tbsp,
            tsp, preheat, preheat oven, ingredients, ingredient, cuisine, cuisines, appetizer,
            appetizers, appetiser, appetisers, entree, entrees, dessert, desserts, baking,
            gluten free, prep time, cook time, cooking time, servings, dinner recipes, easy recipes,
            reserve a table, book a table, food delivery, order food, menu items, our menu,
            cookbook,
            cookbooks, meal prep, bake, baked, roasted, stir fry, simmer, saute, whisk, chopped,
            minced, grated"""),
        strong_min_hits=3,
        vocab=_words("""food, foods, cook, cooking, cooked, kitchen, meal, meals, dinner, lunch,
            breakfast, snack, snacks, cake, cakes, cookies, bread, chicken, beef, pork, fish,
            seafood, pasta, rice, salad, salads, soup, soups, sauce, sauces, cheese, butter,
            sugar, flour, egg, eggs, garlic, onion, onions, vegetables, vegetarian, vegan, spicy,
            delicious, tasty, flavor, flavour, flavors, flavours, grill, grilled, fried, pizza,
            burger, burgers, sandwich, sandwiches, dining, dine, homemade, cup, cups, oven,
            restaurant, restaurants, reservations, takeaway, chef, chefs, brunch, menu, menus"""),
        vocab_min_hits=8,
        domains=_words("""allrecipes.com, foodnetwork.com, epicurious.com, seriouseats.com,
            bonappetit.com, tasty.co, delish.com, simplyrecipes.com, food.com, bbcgoodfood.com,
            jamieoliver.com, yummly.com, thekitchn.com, tasteofhome.com, budgetbytes.com,
            myrecipes.com, eater.com, zomato.com, doordash.com, ubereats.com, grubhub.com,
            opentable.com, swiggy.com, deliveroo.co.uk, just-eat.co.uk, dominos.com,
            mcdonalds.com, starbucks.com, kfc.com, pizzahut.com, subway.com, chipotle.com,
            hellofresh.com, blueapron.com, kingarthurbaking.com, sallysbakingaddiction.com,
            minimalistbaker.com, cookieandkate.com, pinchofyum.com, loveandlemons.com,
            tarladalal.com, hebbarskitchen.com, vegrecipesofindia.com, nytcooking.com,
            foodandwine.com, saveur.com, thespruceeats.com, bettycrocker.com,
            pillsbury.com, smittenkitchen.com, halfbakedharvest.com,
            recipetineats.com, taste.com.au, delicious.com.au, olivemagazine.com, chowhound.com,
            yelp.com, wine.com, vivino.com"""),
        host_pattern=r"food|recipe|cook(?!ie)|kitchen|bak(e|ing|ery)|\bchef|pizza|burger|grill|\bcafe|"
        r"restaurant|bistro|cuisine|tasty|yummy|delish|dine\b|dining",
        path_pattern=r"/(recipes?|menu|menus|restaurants?|cuisine)\b",
    ),
    EDUCATION: ClassRules(
        slug="education",
        description="""Education: schools, colleges and universities; students, teachers, faculty and
        alumni; admissions, courses, programs, degrees, curriculum and syllabus; online courses,
        e-learning, lessons, tutoring, homework help, exams, test prep and study materials;
        scholarships, tuition, campus life and research.""",
        strong=_words("""university, universities, undergraduate, undergraduates, postgraduate,
            admission, admissions, scholarship, scholarships, curriculum, syllabus, tuition,
            campus, faculty, alumni, semester, semesters, online courses, online course,
            e learning, elearning, tutoring, tutor, tutors, homework, kindergarten, k 12,
            enroll, enrol, enrollment, enrolment, coursework, lecture, lectures, professor,
            professors, phd, bachelor, bachelors, masters degree, master s, degree programs,
            degree programmes, students, teachers, classroom, classrooms, school, schools,
            college, colleges, academic, academics, learners, lesson plans, study material,
            exam preparation, entrance exam, mock test, certificate courses, mooc"""),
        strong_min_hits=4,
        vocab=_words("""education, educational, student, students, teacher, teachers, teaching,
            learning, course, courses, lesson, lessons, exam, exams, degree, degrees, diploma,
            certificate, certification, graduate, graduation, quiz, quizzes, subjects, math,
            maths, physics, chemistry, biology, grade, grades, parents, institute, academy,
            instructors, instructor, school, schools, college, colleges, university,
            universities, campus, admission, admissions, curriculum, syllabus, tuition"""),
        vocab_min_hits=6,
        domains=_words("""coursera.org, edx.org, khanacademy.org, udemy.com, udacity.com,
            duolingo.com, britannica.com, quizlet.com, chegg.com, byjus.com, codecademy.com,
            skillshare.com, brilliant.org, study.com, futurelearn.com, openstax.org,
            scholastic.com, collegeboard.org, ets.org, shiksha.com, toppr.com, vedantu.com,
            unacademy.com, pearson.com, mheducation.com, blackboard.com, instructure.com,
            classdojo.com, edmodo.com, babbel.com, rosettastone.com, memrise.com, wikipedia.org,
            mit.edu, harvard.edu, stanford.edu, ox.ac.uk, cam.ac.uk,
            masterclass.com, pluralsight.com, datacamp.com,
            teachable.com, thinkific.com, kahoot.com, sparknotes.com, cliffsnotes.com,
            coursehero.com, brainly.com, commonapp.org, niche.com, topuniversities.com,
            timeshighereducation.com, greatschools.org, ixl.com,
            abcmouse.com, education.com, teacherspayteachers.com"""),
        host_pattern=r"\bedu|school|academy|academic|universit|college|\blearn|study|studies|tutor|"
        r"campus|teach|\bk12|student|scholar|\.ac\.",
    ),
    TECH: ClassRules(
        slug="tech",
        description="""Computers and technology: software, hardware and apps; laptops, PCs,
        smartphones, processors, GPUs and gadgets reviews; programming, developers, code, APIs, SDKs,
        open source and documentation; cloud computing, servers, web hosting, databases,
        cybersecurity, VPN and antivirus; artificial intelligence and machine learning; IT services.""",
        strong=_words("""software, open source, programming, programmer, programmers, javascript,
            python, java, api, apis, sdk, sdks, developer, developers, cloud computing,
            web hosting, cybersecurity, cyber security, malware, antivirus, vpn, operating system,
            linux, windows 10, windows 11, macos, cpu, cpus, gpu, gpus, ssd, processor,
            processors, laptop, laptops, smartphone, smartphones, artificial intelligence,
            machine learning, devops, kubernetes, saas, source code, github, database,
            databases, server, servers, data center, data centre, it services, tech news,
            gadgets, gadget, semiconductor, semiconductors, computing, computer, computers,
            hardware, firmware, networking, router, routers, encryption, algorithm, algorithms"""),
        strong_min_hits=4,
        vocab=_words("""tech, technology, technologies, software, hardware, code, coding, data, cloud,
            computer, computers, laptop, laptops, desktop, tablet, tablets, chip, chips,
            processor, memory, storage, ram, display, battery, install, windows, mac, linux,
            android, developer, developers, programming, api, server, servers, database,
            automation, analytics, ai, machine learning, robotics, gadgets, specs, usb, wifi,
            bluetooth, documentation, docs, open source, github, cybersecurity, it services"""),
        vocab_min_hits=8,
        domains=_words("""github.com, gitlab.com, microsoft.com, apple.com, intel.com, amd.com,
            nvidia.com, dell.com, hp.com, lenovo.com, cnet.com, techcrunch.com, theverge.com,
            wired.com, arstechnica.com, engadget.com, zdnet.com, tomshardware.com, anandtech.com,
            gizmodo.com, slashdot.org, mozilla.org, ubuntu.com, python.org, oracle.com, ibm.com,
            cisco.com, digitalocean.com, cloudflare.com, sourceforge.net, w3schools.com,
            geeksforgeeks.org, techradar.com, pcmag.com, howtogeek.com, makeuseof.com, linux.org,
            kernel.org, adobe.com, autodesk.com, vmware.com, atlassian.com, jetbrains.com,
            docker.com, npmjs.com, pypi.org, asus.com, acer.com, samsung.com,
            logitech.com, qualcomm.com, arm.com, redhat.com, debian.org, apache.org, php.net,
            java.com, android.com, openai.com, huggingface.co, kaggle.com,
            heroku.com, netlify.com, vercel.com, godaddy.com, namecheap.com, bluehost.com,
            hostgator.com, norton.com, mcafee.com, kaspersky.com, avast.com, nordvpn.com,
            expressvpn.com, gsmarena.com, androidauthority.com, 9to5mac.com, macrumors.com,
            bleepingcomputer.com, techspot.com, digitaltrends.com,
            venturebeat.com, thenextweb.com, tutorialspoint.com, javatpoint.com"""),
        host_pattern=r"tech|software|computer|cloud|coding|(?<!a)code\b|cyber|linux|hosting|"
        r"developer|\bdev\b|\.dev$|\.ai$|gadget|programm|\bapps?\b|\bsoft|\bdata",
    ),
    BUSINESS: ClassRules(
        slug="business",
        description="""Business and corporate sites: a company's about us, our mission and values,
        leadership team and board of directors; investor relations, annual reports and shareholders;
        careers and jobs; industries served, consulting, B2B solutions and services for clients and
        partners; sustainability and ESG; manufacturing, logistics, finance, banking and insurance;
        request a demo, contact sales, case studies and press releases.""",
        strong=_words("""investor relations, annual report, annual reports, shareholders,
            shareholder, board of directors, corporate governance, esg, subsidiaries, subsidiary,
            consulting, consultancy, b2b, our clients, contact sales, request a demo, request demo,
            book a demo, case studies, case study, white paper, white papers, whitepaper,
            industries we serve, business solutions, enterprise solutions, fortune 500,
            headquartered, headquarters, our company, corporation, leadership team,
            our leadership, management team, our mission, mission and values, our values,
            join our team, csr, corporate social responsibility,
            press releases, press release, stock price, financial results, quarterly results,
            earnings, global leader, manufacturer, manufacturers, supply chain, logistics,
            procurement, wealth management, asset management, private equity, investment banking,
            financial services, small business, enterprises, stakeholders, our services, clients"""),
        strong_min_hits=3,
        vocab=_words("""company, companies, enterprise, enterprises, solutions, client, clients,
            industry, industries, investor, investors, partner, partners, partnership,
            partnerships, global, worldwide, leadership, mission, vision, values, strategy,
            strategic, management, consulting, manufacturing, innovation, expertise,
            professional, professionals, growth, finance, financial, banking, insurance,
            investment, investments, capital, revenue, operations, employees, offices,
            locations, sustainability, projects, accounting, audit, advisory, human resources,
            payroll, real estate, construction, engineering, stakeholders, corporate"""),
        vocab_min_hits=10,
        domains=_words("""deloitte.com, pwc.com, ey.com, kpmg.com, mckinsey.com, bcg.com,
            bain.com, accenture.com, ge.com, siemens.com, 3m.com, pg.com, unilever.com,
            nestle.com, jnj.com, exxonmobil.com, shell.com, bp.com, chevron.com, boeing.com,
            lockheedmartin.com, goldmansachs.com, jpmorgan.com, jpmorganchase.com,
            morganstanley.com, blackrock.com, berkshirehathaway.com, hsbc.com, barclays.com,
            citigroup.com, wellsfargo.com, bankofamerica.com, tata.com, ril.com,
            infosys.com, wipro.com, tcs.com, hcltech.com, capgemini.com, cognizant.com,
            honeywell.com, caterpillar.com, dupont.com, basf.com, bayer.com, abb.com,
            schneider-electric.com, mitsubishi.com, hitachi.com, maersk.com,
            dhl.com, fedex.com, ups.com, zoominfo.com, crunchbase.com, dnb.com, hubspot.com,
            salesforce.com, sap.com, kpmg.us, grantthornton.com, bdo.com, rolandberger.com,
            oliverwyman.com, gartner.com, forrester.com, aon.com, marsh.com, allianz.com,
            axa.com, prudential.com, metlife.com, statefarm.com, adityabirla.com, mahindra.com,
            larsentoubro.com, adani.com, vedantalimited.com"""),
        host_pattern=r"consult|capital|partners|group\b|holdings?|industries|\bcorp|invest|"
        r"\bbank|financ|insurance|enterprise|solutions|logistics|ventures|advisors|associates|"
        r"\binc\b|\bllc\b|\bltd\b|limited",
    ),
    ADULT: ClassRules(
        slug="adult",
        description="""Adult content: porn, xxx sex videos, nude and naked pictures, erotic stories,
        hardcore and fetish, live sex cams and webcam models, escorts, adults only, you must be 18
        years old to enter, explicit content.""",
        strong=_words("""porn, porno, pornography, pornographic, xxx, nsfw, hentai, milf, milfs,
            blowjob, blowjobs, cumshot, creampie, gangbang, threesome, bdsm, fetish, fetishes,
            sex videos, sex video, sex cams, live sex, sex chat, nude, nudes, naked, erotic,
            erotica, hardcore, camgirl, camgirls, cam girls, cam models, webcam models, escort,
            escorts, horny, pussy, boobs, tits, anal, dildo, dildos, orgasm, stripper, strippers,
            striptease, adult videos, adult content, adults only, explicit content,
            must be 18, 18 years or older, sexy girls, hot girls, amateur sex, xvideos, onlyfans"""),
        strong_min_hits=2,
        vocab=_words("""sex, sexy, babes, amateur, cam, cams, webcam, pornstar, pornstars, tube,
            uncensored, kink, kinky, lingerie, hookup, hookups, xxx, porn, nude, naked, fetish,
            busty, horny, erotic, escorts, milf, hardcore, nsfw, adults only"""),
        exclude=("sex education", "sexual health", "sexual harassment", "breast cancer"),
        domains=_words("""pornhub.com, xvideos.com, xhamster.com, xnxx.com, redtube.com,
            youporn.com, onlyfans.com, chaturbate.com, livejasmin.com, brazzers.com,
            spankbang.com, tube8.com, stripchat.com, bongacams.com, adultfriendfinder.com,
            playboy.com, eporner.com, motherless.com, literotica.com, fetlife.com, cam4.com,
            myfreecams.com, camsoda.com, xvideos2.com, youjizz.com, beeg.com, hclips.com,
            txxx.com, porntrex.com, fansly.com, manyvids.com, clips4sale.com, hentaihaven.xxx,
            nhentai.net, rule34.xxx, e-hentai.org, xxxbunker.com, tnaflix.com, drtuber.com,
            sunporno.com, porn.com, sex.com, imlive.com, flirt4free.com"""),
        host_pattern=r"porn|xxx|(?<!s)(?<!middle)sex(?!ton)|nude|erotic|escort|fetish|milf|hentai|xvideo|"
        r"xhamster|xnxx|onlyfans|nsfw|(live|sex|free|nude)cams?|camgirl|\btube8",
    ),
}


def _rules_lfs(label: int, rules: ClassRules) -> list[LabelingFunction]:
    """The LFs one :class:`ClassRules` entry stands for."""
    s = rules.slug
    lfs: list[LabelingFunction] = [
        KeywordLF(
            f"kw_{s}_strong", rules.strong, label, min_hits=rules.strong_min_hits, exclude=rules.exclude
        ),
        KeywordLF(f"kw_{s}_vocab", rules.vocab, label, min_hits=rules.vocab_min_hits, exclude=rules.exclude),
    ]
    if rules.domains:
        lfs.append(MembershipLF(f"site_{s}_known", "registered_domain", rules.domains, label))
    if rules.host_pattern:
        lfs.append(RegexLF(f"url_{s}_host", rules.host_pattern, label, field="domain"))
    if rules.path_pattern:
        lfs.append(RegexLF(f"url_{s}_path", rules.path_pattern, label, field="url_path"))
    return lfs


# --------------------------------------------------------------------------------------------------
# Hand-written LFs that don't fit the per-class pattern.
# --------------------------------------------------------------------------------------------------

GOV_SUFFIXES = _words("""gov, mil, gov.uk, gov.au, gov.in, nic.in, gov.ca, gc.ca, govt.nz, gov.nz,
    gov.za, gov.sg, gov.my, gov.ph, gov.pk, gov.bd, gov.ng, gov.ie, gouv.fr, gob.mx, gob.es, gov.br,
    gov.cn, go.jp, go.kr, go.id, go.th, gov.it, gv.at, admin.ch, gov.il, gov.tr, gov.sa, gov.ae,
    gov.eg, gov.gr, gov.pl, int""")
EDU_SUFFIXES = _words("""edu, ac.uk, edu.au, ac.in, edu.in, ac.nz, ac.jp, ac.kr, edu.cn, ac.za,
    edu.sg, edu.my, ac.id, ac.th, edu.pk, ac.il, edu.tr, edu.br, edu.mx, edu.ar, edu.co, ac.at,
    edu.pl, edu.hk, edu.tw, ac.ir, edu.ng, ac.ke, edu.ph, edu.vn, sch.uk, school.nz, k12.ca.us""")
ADULT_SUFFIXES = ("xxx", "adult", "porn", "sex")

EXTRA_LFS: list[LabelingFunction] = [
    MembershipLF("url_lawgov_tld", "tld", GOV_SUFFIXES, LAW_GOV),
    MembershipLF("url_education_tld", "tld", EDU_SUFFIXES, EDUCATION),
    MembershipLF("url_adult_tld", "tld", ADULT_SUFFIXES, ADULT),
    # A US state or city government site: www.<something>.<state>.us or ci.<city>.<state>.us.
    RegexLF(
        "url_lawgov_state_us", r"(^|\.)(state|ci|co|city|county)\.[a-z]{2}\.us$", LAW_GOV, field="domain"
    ),
    # Page structure: many prices is a shop; many dates is a news front page.
    ThresholdLF("struct_ecommerce_prices", "n_price_mentions", ">=", 10, ECOMMERCE),
    ThresholdLF("struct_news_dates", "n_date_mentions", ">=", 15, NEWS),
    # Recipe quantities ("2 cups", "1 tbsp"), also in cleaned text where the digits survive.
    RegexLF(
        "re_food_quantities",
        r"\b\d+(\s*/\s*\d+)?\s+(cups?|tbsp|tsp|tablespoons?|teaspoons?|grams|oz|ounces)\b",
        FOOD,
        requires=("cup", "tbsp", "tsp", "tablespoon", "teaspoon", "grams", "oz", "ounces"),
    ),
    # A match report: a result verb shortly before a scoreline ("beat Chelsea 2-1", "won 104-98").
    RegexLF(
        "re_sports_scoreline",
        r"\b(beat|beats|won|lost|drew|defeated|defeats|victory over|win over)\b[^.\n]{0,40}?"
        r"\b\d{1,3}\s*[-–]\s*\d{1,3}\b",
        SPORTS,
        requires=("beat", "won", "lost", "drew", "defeat", "victory over", "win over"),
        requires_also=("-", "\u2013"),  # the scoreline's dash (a hyphen or an en dash)
    ),
    # Age gate of adult sites.
    RegexLF(
        "re_adult_age_gate",
        r"\b(you must be|are you|over) (at least )?(18|21)\b.{0,60}\b(enter|older|adult)",
        ADULT,
        requires=("18", "21"),
    ),
    # A legal company suffix in the title ("Acme Ltd", "Globex Corporation"): a corporate home page.
    RegexLF("re_business_title_company", r"\b(inc|ltd|llc|plc|gmbh|corporation)\b", BUSINESS, field="title"),
]


def _prototypes() -> dict[int, str]:
    """One prototype document per class: its description plus its seed vocabularies."""
    return {
        label: " ".join([r.description, ", ".join(r.strong), ", ".join(r.vocab)])
        for label, r in CLASSES.items()
    }


MODEL_LFS: list[LabelingFunction] = [
    PrototypeLF("model_all_prototype", _prototypes()),
    SeedNaiveBayesLF("model_all_seed_nb", _prototypes()),
    # The page's own headline fields (title, meta description, site name) say most in fewest words;
    # text-only data has none of them, and this LF then abstains. Short texts match few prototype
    # terms, so the similarity floor is lower; two vocabulary terms and the margins still apply.
    PrototypeLF(
        "model_all_header_prototype",
        _prototypes(),
        fields=("title", "description", "og_site_name"),
        min_tokens=2,
        min_similarity=0.08,
    ),
]


def build_lfs() -> list[LabelingFunction]:
    lfs: list[LabelingFunction] = []
    for label, rules in CLASSES.items():
        lfs.extend(_rules_lfs(label, rules))
    return [*lfs, *EXTRA_LFS, *MODEL_LFS]


def build_task() -> Task:
    return make_task("web_content", LABELS, build_lfs(), text_field="text")


TASK: Task = build_task()
