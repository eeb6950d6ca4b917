"""Words for the demo site: categories and their aspect questions, invented UK-style provider
names, and our own phrase banks, which `seed_demo` assembles into reviews that read like real
experiences. No real brands, and no staff named in anything that gets published."""

import random

# (town, postcode area); earlier towns are picked more often, so some towns have many listings.
TOWNS = [
    ("Leeds", "LS"),
    ("Manchester", "M"),
    ("Bristol", "BS"),
    ("Birmingham", "B"),
    ("Sheffield", "S"),
    ("Nottingham", "NG"),
    ("Glasgow", "G"),
    ("Edinburgh", "EH"),
    ("Cardiff", "CF"),
    ("Newcastle upon Tyne", "NE"),
    ("York", "YO"),
    ("Harrogate", "HG"),
    ("Brighton", "BN"),
    ("Norwich", "NR"),
    ("Exeter", "EX"),
    ("Oxford", "OX"),
    ("Cambridge", "CB"),
    ("Reading", "RG"),
    ("Leicester", "LE"),
    ("Coventry", "CV"),
    ("Derby", "DE"),
    ("Stockport", "SK"),
    ("Bolton", "BL"),
    ("Preston", "PR"),
    ("Lancaster", "LA"),
    ("Carlisle", "CA"),
    ("Durham", "DH"),
    ("Sunderland", "SR"),
    ("Hull", "HU"),
    ("Lincoln", "LN"),
    ("Worcester", "WR"),
    ("Gloucester", "GL"),
    ("Bath", "BA"),
    ("Plymouth", "PL"),
    ("Truro", "TR"),
    ("Taunton", "TA"),
    ("Bournemouth", "BH"),
    ("Southampton", "SO"),
    ("Portsmouth", "PO"),
    ("Canterbury", "CT"),
    ("Maidstone", "ME"),
    ("Guildford", "GU"),
    ("Swindon", "SN"),
    ("Milton Keynes", "MK"),
    ("Northampton", "NN"),
    ("Ipswich", "IP"),
    ("Colchester", "CO"),
    ("Chelmsford", "CM"),
    ("St Albans", "AL"),
    ("Swansea", "SA"),
    ("Wrexham", "LL"),
    ("Aberdeen", "AB"),
    ("Dundee", "DD"),
    ("Inverness", "IV"),
    ("Belfast", "BT"),
    ("Stoke-on-Trent", "ST"),
    ("Shrewsbury", "SY"),
    ("Chester", "CH"),
    ("Warrington", "WA"),
    ("Huddersfield", "HD"),
    ("Halifax", "HX"),
    ("Wakefield", "WF"),
    ("Doncaster", "DN"),
    ("Kendal", "LA"),
]
STREETS = [
    "High Street",
    "Station Road",
    "Church Street",
    "Church Lane",
    "Victoria Road",
    "Mill Lane",
    "Park Road",
    "London Road",
    "Queen Street",
    "King Street",
    "Market Place",
    "Bridge Street",
    "Manor Road",
    "The Green",
    "Chapel Street",
    "Albert Road",
    "Castle Street",
    "New Road",
    "Springfield Road",
    "West Street",
    "School Lane",
    "Green Lane",
    "Grange Road",
    "Windsor Road",
    "Alexandra Road",
    "Broad Street",
]
PLACES = [
    "Riverside",
    "Parkview",
    "Meadowbank",
    "Hillside",
    "Abbey",
    "Castle",
    "Kingsway",
    "Oakwood",
    "Westgate",
    "Northgate",
    "Brookfield",
    "Greenbank",
    "Millbrook",
    "Beacon",
    "Albion",
    "Priory",
    "Fairfield",
    "Highfield",
    "Ashgrove",
    "Harbour",
    "Moorside",
    "Orchard",
    "Eastfield",
    "Elmwood",
    "Springbank",
]
TREES = ["Elms", "Oaks", "Limes", "Willows", "Beeches", "Cedars", "Laurels", "Hollies", "Rowans"]
PUB_WORDS = (
    ["Red", "Black", "White", "Golden", "Royal", "Old", "Crooked", "Green", "Blue"],
    ["Lion", "Swan", "Hart", "Bell", "Plough", "Anchor", "Fox", "Crown", "Stag", "Boar"],
)
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXY"
WHEN = [
    "on a Monday morning",
    "on a busy Saturday",
    "just before Christmas",
    "during the school holidays",
    "late on a Friday afternoon",
    "first thing in the morning",
    "midweek",
    "on a wet Tuesday",
]
RELATIVES = ["mum", "dad", "partner", "son", "daughter", "husband", "wife", "nan", "neighbour"]

# Each category: the questions asked of its reviews, how its providers are named, and what its
# customers say. Placeholders: {place} {tree} {street} {surname} {first} {town} {pub} in names;
# {staff} {thing} {when} {relative} {years} in sentences.
CATEGORIES = [
    {
        "slug": "gp-practices",
        "name": "GP practices",
        "description": "Family doctors' surgeries and health centres.",
        "aspects": [
            ("dignity", "Treated with dignity and respect"),
            ("appointments", "Ease of getting an appointment"),
            ("involved", "Involved in decisions about care"),
        ],
        "names": [
            "{place} Medical Centre",
            "The {tree} Surgery",
            "{street} Surgery",
            "{place} Health Centre",
            "{place} Family Practice",
            "The {tree} Medical Practice",
        ],
        "about": "An NHS GP practice in {town} offering appointments, repeat prescriptions, "
        "clinics for long-term conditions and online consultations.",
        "staff": ["the receptionist", "the GP", "the practice nurse", "the duty doctor"],
        "things": ["my blood test results", "a repeat prescription", "a referral", "my review"],
        "good": [
            "I got a same-day appointment after ringing at eight.",
            "{staff} listened properly and never made me feel rushed.",
            "They explained my options and let me decide what to do next.",
            "Sorting out {thing} was quick and nobody made a fuss.",
            "The online booking actually works, which is more than I can say for most.",
            "I was treated with real kindness when I was at a low point.",
            "The nurse clinic runs on time and the nurses are brilliant with nervous patients.",
            "They called me back the same afternoon, exactly when they said they would.",
        ],
        "bad": [
            "I rang at eight on the dot and was number 34 in the queue.",
            "By the time I got through every appointment for the day had gone.",
            "{staff} was dismissive and talked over me.",
            "Chasing {thing} took three phone calls and a visit in person.",
            "I waited 50 minutes past my appointment time with no explanation.",
            "Nobody told me my referral had never been sent.",
            "I felt like I was being a nuisance just for asking a question.",
            "The phone line cuts you off after twenty minutes on hold.",
        ],
    },
    {
        "slug": "dentists",
        "name": "Dentists",
        "description": "NHS and private dental practices.",
        "aspects": [
            ("explained", "Treatment explained clearly"),
            ("appointments", "Ease of getting an appointment"),
            ("comfort", "Put at ease during treatment"),
            ("costs", "Clear about costs"),
        ],
        "names": [
            "{place} Dental Practice",
            "{street} Dental Care",
            "{surname} Dental",
            "The {tree} Dental Surgery",
            "{town} Smile Clinic",
        ],
        "about": "A family dental practice in {town} providing check-ups, hygiene appointments, "
        "fillings, crowns and emergency care for NHS and private patients.",
        "staff": ["the dentist", "the hygienist", "the dental nurse", "the receptionist"],
        "things": ["a filling", "a crown", "a check-up", "a scale and polish", "an extraction"],
        "good": [
            "I am terrified of dentists and {staff} was incredibly patient with me.",
            "{thing} was done quickly and I honestly did not feel a thing.",
            "They showed me the X-ray and explained exactly what needed doing.",
            "The costs were written down before anything started, no surprises.",
            "They fitted me in the same day when I cracked a tooth.",
            "My children actually look forward to going, which says it all.",
            "The hygienist gave me useful tips rather than a telling-off.",
        ],
        "bad": [
            "I was charged for {thing} that nobody had mentioned beforehand.",
            "They told me there were no NHS places left after I had been a patient for years.",
            "{staff} seemed in a hurry and did not explain anything.",
            "The filling fell out within a fortnight and they wanted to charge again.",
            "My appointment was cancelled twice by text the evening before.",
            "I was left in pain over a weekend with no emergency number that worked.",
        ],
    },
    {
        "slug": "pharmacies",
        "name": "Pharmacies",
        "description": "Community pharmacies and chemists.",
        "aspects": [
            ("ready", "Prescription ready on time"),
            ("advice", "Helpful advice from the pharmacist"),
            ("waiting", "Waiting time"),
        ],
        "names": [
            "{place} Pharmacy",
            "{surname}'s Chemist",
            "{town} Pharmacy",
            "{street} Pharmacy",
            "{place} Community Pharmacy",
        ],
        "about": "A community pharmacy in {town}: NHS prescriptions, free delivery for "
        "housebound patients, flu jabs, blood pressure checks and advice on minor ailments.",
        "staff": ["the pharmacist", "the counter assistant", "the delivery driver"],
        "things": [
            "my prescription",
            "my repeat medication",
            "my inhaler",
            "my blood pressure tablets",
        ],
        "good": [
            "{thing} is always ready when the app says it will be.",
            "{staff} took the time to go through my new tablets with me.",
            "They noticed an interaction between two of my medicines that nobody else had.",
            "They rang the surgery for me when my prescription had not come through.",
            "I walked in with a rash and got sensible advice without needing the GP.",
            "The home delivery has been a lifeline for my {relative}.",
        ],
        "bad": [
            "{thing} was not ready despite being ordered a week ago.",
            "The queue went out of the door and only one person was serving.",
            "They were out of stock and could not tell me when it would come in.",
            "{staff} discussed my medication loudly in front of everyone.",
            "I was sent home with the wrong strength and had to go back.",
            "Nobody answers the phone, so you have to turn up to find out anything.",
        ],
    },
    {
        "slug": "opticians",
        "name": "Opticians",
        "description": "Eye tests, glasses and contact lenses.",
        "aspects": [
            ("eye_test", "Thoroughness of the eye test"),
            ("choice", "Help choosing glasses"),
            ("value", "Value for money"),
        ],
        "names": ["{surname} Opticians", "{place} Eyecare", "{town} Eye Centre", "{surname} & Co"],
        "about": "Independent opticians in {town} offering NHS and private eye tests, "
        "glasses, contact lenses and retinal photography.",
        "staff": ["the optometrist", "the dispensing optician", "the assistant"],
        "things": ["my new glasses", "my varifocals", "my contact lenses", "my reading glasses"],
        "good": [
            "The eye test was the most thorough I have ever had.",
            "{staff} spotted an early problem and referred me straight away.",
            "They helped me pick frames that suit me and did not push the expensive ones.",
            "{thing} were ready in under a week and fit perfectly.",
            "They adjusted my frames for free even though I had bought them elsewhere.",
        ],
        "bad": [
            "{thing} were wrong twice and I got headaches for weeks.",
            "The price doubled once all the coatings were added on.",
            "{staff} rushed the test and I came out none the wiser.",
            "I waited a month for glasses I was promised in ten days.",
            "They would not take my lenses back even though they were the wrong prescription.",
        ],
    },
    {
        "slug": "care-homes",
        "name": "Care homes",
        "description": "Residential and nursing homes.",
        "aspects": [
            ("dignity", "Residents treated with dignity"),
            ("communication", "Keeping families informed"),
            ("environment", "Clean and homely surroundings"),
            ("activities", "Activities and stimulation"),
        ],
        "names": [
            "{place} House Care Home",
            "The {tree} Residential Home",
            "{place} Lodge",
            "{place} Court Nursing Home",
        ],
        "about": "A residential and nursing home in {town} for older people, including "
        "dementia care, respite stays and end-of-life care.",
        "staff": ["the carers", "the nurses", "the night staff", "the activities team"],
        "things": ["the care plan", "her medication", "his meals", "visiting times"],
        "good": [
            "My {relative} has settled in far better than we dared hope.",
            "{staff} know every resident by name and treat them like family.",
            "They ring us straight away if anything changes, day or night.",
            "The home is spotless and never smells, which tells you a lot.",
            "There is always something going on, from music afternoons to the garden club.",
            "They made the last weeks of my {relative}'s life peaceful and dignified.",
        ],
        "bad": [
            "My {relative} was often left in the same clothes for days.",
            "We had to find out about a fall from another visitor.",
            "Staff turnover is so high that nobody knows the residents.",
            "{staff} would not discuss {thing} with us despite repeated requests.",
            "The fees went up by a large amount with one month's notice.",
            "Call bells went unanswered for a long time while we were visiting.",
        ],
    },
    {
        "slug": "vets",
        "name": "Vets",
        "description": "Veterinary surgeries and animal hospitals.",
        "aspects": [
            ("care", "Care of the animal"),
            ("explained", "Treatment and costs explained"),
            ("appointments", "Ease of getting an appointment"),
        ],
        "names": [
            "{place} Veterinary Surgery",
            "{surname} & Partners Vets",
            "{town} Animal Hospital",
            "The {tree} Veterinary Centre",
        ],
        "about": "A small-animal veterinary practice in {town} with consultations, "
        "vaccinations, surgery, dentistry and a 24-hour emergency service.",
        "staff": ["the vet", "the veterinary nurse", "the receptionist", "the out-of-hours vet"],
        "things": ["our cat", "our old Labrador", "the rabbit", "our rescue dog", "my spaniel"],
        "good": [
            "{staff} was so gentle with {thing}, who is usually a nightmare at the vet.",
            "They gave us an estimate before every step, so there were no shocks.",
            "They saw us within the hour when {thing} was poorly.",
            "When it was time to say goodbye they were kind and never hurried us.",
            "The follow-up phone call a few days later was a lovely touch.",
        ],
        "bad": [
            "The bill was nearly twice the estimate with no phone call in between.",
            "{staff} barely looked at {thing} before prescribing antibiotics.",
            "We waited two days for an appointment with a clearly unwell animal.",
            "They pushed a pricey food and a health plan at every visit.",
            "Nobody rang with the test results, we had to chase them.",
        ],
    },
    {
        "slug": "restaurants",
        "name": "Restaurants",
        "description": "Restaurants, cafés and pubs serving food.",
        "aspects": [
            ("food", "Food"),
            ("service", "Service"),
            ("value", "Value for money"),
            ("atmosphere", "Atmosphere"),
        ],
        "names": [
            "The {pub}",
            "{surname}'s Kitchen",
            "{place} Café",
            "{place} Fish Bar",
            "{street} Bistro",
            "The {place} Tandoori",
        ],
        "about": "A relaxed place to eat in {town}, open for lunch and dinner, with "
        "vegetarian and gluten-free options and a small garden.",
        "staff": ["our waiter", "the waitress", "the manager", "the chef", "the bar staff"],
        "things": ["the Sunday roast", "the fish and chips", "the curry", "the burger", "the lamb"],
        "good": [
            "{thing} was cooked perfectly and the portions were generous.",
            "{staff} could not have been more welcoming.",
            "They handled my {relative}'s allergy carefully without making a big deal of it.",
            "Lovely cosy atmosphere and not too loud to talk.",
            "We booked for a birthday and they brought out a candle without being asked.",
            "Fair prices for the quality, we will definitely be back.",
        ],
        "bad": [
            "{thing} arrived lukewarm and we waited over an hour for it.",
            "{staff} seemed annoyed that we had asked for anything at all.",
            "They added a service charge without telling us and would not remove it.",
            "The table was sticky and the toilets were not clean.",
            "Half the menu was unavailable by seven o'clock.",
            "We had to ask three times for the bill.",
        ],
    },
    {
        "slug": "shops",
        "name": "Shops",
        "description": "Independent shops and local retailers.",
        "aspects": [
            ("service", "Customer service"),
            ("range", "Range of products"),
            ("value", "Value for money"),
        ],
        "names": [
            "{surname} & Sons Hardware",
            "{place} Bookshop",
            "The {town} Deli",
            "{place} Garden Centre",
            "{surname}'s Bakery",
            "{place} Cycles",
        ],
        "about": "An independent shop in {town}, family run, with friendly advice and a "
        "click-and-collect service.",
        "staff": ["the owner", "the shop assistant", "the young lad on the till", "the manager"],
        "things": ["a refund", "a replacement", "my order", "a special order"],
        "good": [
            "{staff} went out of their way to find exactly what I needed.",
            "They ordered in a part for me and rang the day it arrived.",
            "Prices are fair and you get proper advice rather than a sales pitch.",
            "A proper local shop, it would be a real loss to the high street without it.",
            "They sorted {thing} on the spot without any quibbling.",
        ],
        "bad": [
            "Getting {thing} was like getting blood out of a stone.",
            "{staff} was on the phone the whole time I was waiting to pay.",
            "{thing} was promised for Friday and still had not arrived a fortnight later.",
            "The shelves were half empty and the prices have shot up.",
            "I was followed round the shop as if I was going to steal something.",
        ],
    },
    {
        "slug": "hairdressers",
        "name": "Hairdressers",
        "description": "Hair salons and barbers.",
        "aspects": [
            ("result", "Happy with the result"),
            ("listened", "Listened to what I wanted"),
            ("value", "Value for money"),
        ],
        "names": [
            "{first}'s Hair Studio",
            "The {place} Barbers",
            "{first} & Co Hair",
            "Salon {first}",
            "{street} Hair Company",
        ],
        "about": "A friendly hair salon in {town} for cuts, colour and styling, with late "
        "opening on Thursdays and walk-ins welcome.",
        "staff": ["my stylist", "the barber", "the junior", "the colourist"],
        "things": ["the colour", "the cut", "my fringe", "the balayage"],
        "good": [
            "{staff} actually listened and gave me exactly the cut I asked for.",
            "{thing} has grown out beautifully, which is the real test.",
            "Relaxed, friendly and no pressure to buy products.",
            "They fitted me in on a Saturday morning at short notice.",
            "Best haircut I have had in years and a fair price too.",
        ],
        "bad": [
            "{thing} came out nothing like the picture I showed them.",
            "{staff} spent the whole appointment on their phone.",
            "I was kept waiting forty minutes past my booking.",
            "They charged extra for long hair without mentioning it first.",
            "{thing} was uneven and I had to have it fixed somewhere else.",
        ],
    },
    {
        "slug": "garages",
        "name": "Garages",
        "description": "Car repairs, servicing and MOT testing.",
        "aspects": [
            ("work", "Quality of the work"),
            ("honesty", "Honest about what was needed"),
            ("on_time", "Ready when promised"),
            ("value", "Value for money"),
        ],
        "names": [
            "{town} Motors",
            "{surname} Autos",
            "{place} Garage",
            "{street} Service Centre",
            "{surname} & Son Vehicle Repairs",
            "{place} Tyres & MOT",
        ],
        "about": "A family-run garage in {town} for servicing, MOT testing, tyres, brakes and "
        "diagnostics on all makes, with a free local collection service.",
        "staff": ["the mechanic", "the service manager", "the lad on the front desk"],
        "things": ["my little hatchback", "our estate car", "the van", "my old runaround"],
        "good": [
            "They rang before doing any extra work and explained why it was needed.",
            "{thing} passed its MOT and they even showed me the old brake pads.",
            "Honest garage, they told me a repair could wait rather than charge me now.",
            "Collected and returned {thing} the same day, very convenient.",
            "The price was exactly what they quoted on the phone.",
        ],
        "bad": [
            "The final bill was far higher than the quote and nobody rang first.",
            "{thing} came back with the same fault it went in with.",
            "They kept {thing} for a week for what should have been a day's job.",
            "{staff} talked down to me as if I knew nothing about cars.",
            "There was a scratch on the door that was not there when I dropped it off.",
        ],
    },
]
CATEGORY_WEIGHTS = {
    "gp-practices": 12,
    "dentists": 12,
    "pharmacies": 10,
    "opticians": 7,
    "care-homes": 7,
    "vets": 8,
    "restaurants": 16,
    "shops": 12,
    "hairdressers": 9,
    "garages": 7,
}

GENERIC = {
    "good": [
        "Couldn't fault them.",
        "Everyone was friendly from start to finish.",
        "Genuinely impressed with the whole experience.",
        "It is reassuring to find somewhere that still takes pride in what they do.",
        "Communication was clear and I always knew what was happening.",
        "I have already recommended them to friends.",
        "I have been coming here for {years} years and it has always been this good.",
    ],
    "bad": [
        "Really disappointed.",
        "I expected a lot better.",
        "Nobody seemed to take responsibility for anything.",
        "When I complained I was told that is just how it is.",
        "I have been coming here for {years} years and it has gone downhill.",
        "I won't be going back if I can help it.",
    ],
    "mixed": [
        "A bit of a mixed bag, to be honest.",
        "Good in parts but it could easily be better.",
        "The people are lovely but the organisation lets them down.",
        "Not bad, not brilliant.",
        "Some of it was excellent and some of it was frustrating.",
    ],
    "context": [
        "I went {when} with my {relative}.",
        "This was my first visit.",
        "I have used them for about {years} years now.",
        "We moved to the area last year and were recommended them by a neighbour.",
        "I was there {when}, so I expected it to be busy.",
    ],
}
# For the few who write at length: what happened, in their own words.
STORIES = {
    "good": [
        "My {relative} has not been well for a while and we have had our fill of places that "
        "make you feel like a number. From the moment we walked in, this felt different. "
        "Everyone we dealt with was patient, explained things in plain English and checked we "
        "were happy before moving on. Small things, like being offered a seat and a glass of "
        "water while we waited, made a real difference on what was a stressful day.",
        "I put off going for months because of a bad experience somewhere else, and I only "
        "booked in the end because a friend would not stop going on about how good they were. "
        "I am so glad I listened. Nothing was too much trouble, nobody made me feel silly for "
        "asking questions, and I left knowing exactly what happens next and when.",
    ],
    "bad": [
        "I have tried to raise this properly before writing here. I put in a complaint, waited "
        "the three weeks they asked for, and then chased it twice. The reply, when it finally "
        "came, did not answer a single one of the points I had made and simply said that "
        "procedures had been followed. I am not after compensation, I just want them to admit "
        "that things went wrong so that it does not happen to the next person.",
        "I want to be fair, because I know everybody is under pressure at the moment. But this "
        "was not a one-off. Over the last few months it has been one thing after another: "
        "messages not passed on, promises to ring back that never happen, and the same story "
        "to repeat to someone new every time. It wears you down when you are already worried.",
    ],
    "mixed": [
        "To be fair to them, I can see they are stretched, and the people I actually dealt with "
        "were kind and did their best. The problem is everything around them: the phones, the "
        "booking, the waiting and the not knowing. If the organisation was as good as the "
        "people, this would be an easy five stars.",
        "I have been going back and forth about what to write. Parts of the visit were "
        "excellent and I would not hesitate to say so. Other parts were frustrating enough that "
        "I nearly walked out. I have given three stars because both of those things are true.",
    ],
}
TITLES = {
    "good": [
        "Excellent from start to finish",
        "Could not have asked for more",
        "Kind, helpful and efficient",
        "Really impressed",
        "Highly recommend",
        "A real credit to the area",
        "Brilliant, as always",
        "Above and beyond",
    ],
    "mixed": [
        "Mixed experience",
        "Good people, poor organisation",
        "OK but room for improvement",
        "Some good, some not so good",
        "Fine in the end",
    ],
    "bad": [
        "Very disappointing",
        "Not good enough",
        "Poor communication throughout",
        "Would not recommend",
        "Really let down",
        "Frustrating from start to finish",
        "Needs to improve",
    ],
}
ABOUT_EXTRAS = [
    "Step-free access and a hearing loop.",
    "Free parking at the rear.",
    "Open late on Thursdays.",
    "A short walk from the station.",
    "Bus stop outside.",
    "",
]
DISTRICTS = ["Town Centre", "Old Town", "West End", "Northside", "Southside", "Eastgate"]

# Sentences that trip the automatic checks but are fine to publish: flags inform moderators,
# they do not decide.
FLAGGED_BUT_FINE = [
    "The car park is crap at busy times, but that is hardly their fault.",
    "Their opening times on nhs.uk were up to date, which helped.",
]
# Why a review was rejected, with the sort of text that got it rejected.
REJECTIONS = {
    "personal_information": "If anyone wants to compare notes my number is 07700 900461.",
    "names_individual": "Dr Hughes in particular was rude and should be struck off.",
    "offensive": "The manager is an absolute idiot and the place is a dump.",
    "advertising": "Much better deals at www.bargain-health-example.co.uk, look there instead.",
    "not_genuine": "I have never been myself but my neighbour says it is awful, so avoid.",
}


def sentiment_of(rating: int) -> str:
    return "good" if rating >= 4 else "bad" if rating <= 2 else "mixed"


def provider_name(
    rng: random.Random, category: dict, *, town: str, street: str, surname: str, first: str
) -> str:
    return rng.choice(category["names"]).format(
        place=rng.choice(PLACES),
        tree=rng.choice(TREES),
        street=street,
        pub=" ".join(rng.choice(words) for words in PUB_WORDS),
        surname=surname,
        first=first,
        town=town,
    )


def postcode(rng: random.Random, area: str) -> str:
    letters = "".join(rng.choice(POSTCODE_LETTERS) for _ in range(2))
    return f"{area}{rng.randint(1, 28)} {rng.randint(1, 9)}{letters}"


def _fill(rng: random.Random, category: dict, sentence: str, same: dict) -> str:
    # One pet, car, relative and so on per review; only the staff met may differ.
    return sentence.format(staff=rng.choice(category["staff"]), **same)


def _capitalise(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def review_text(rng: random.Random, category: dict, rating: int) -> tuple[str, str]:
    """A title and body in the voice of someone who gave `rating` stars: mostly short, some
    long, a few very long, longer ones split into paragraphs.

    Built the way people write: what happened (context, sometimes a story), the specifics,
    a "that said" for a four- or two-star review, and a verdict at the end.
    """
    mood = sentiment_of(rating)
    own = category[mood] if mood != "mixed" else category["good"] + category["bad"]
    length = rng.choices(["short", "medium", "long", "very long"], [30, 45, 20, 5])[0]
    n_own = {"short": 1, "medium": rng.randint(1, 3), "long": rng.randint(3, 5)}.get(length, 6)
    if mood == "mixed":  # both sides, in a random order
        specifics = rng.sample(category["good"], 1) + rng.sample(category["bad"], 1)
        specifics += rng.sample([x for x in own if x not in specifics], max(0, n_own - 2))
        rng.shuffle(specifics)
    else:
        specifics = rng.sample(own, min(n_own, len(own)))
    if rating in (2, 4) and length != "short" and rng.random() < 0.6:
        other = rng.choice(category["good" if rating == 2 else "bad"])
        specifics.append(f"{'To be fair' if rating == 2 else 'That said'}, {_lower(other)}")
    verdicts = {"short": rng.randint(0, 1), "medium": 1, "long": 2}.get(length, 3)
    parts = []
    if length != "short" and rng.random() < 0.5:
        parts.append(rng.choice(GENERIC["context"]))
    if length == "very long":
        parts.append(rng.choice(STORIES[mood]))
    parts += specifics
    if rng.random() < 0.03:
        parts.append(rng.choice(FLAGGED_BUT_FINE))
    parts += rng.sample(GENERIC[mood], min(verdicts, len(GENERIC[mood])))
    same = {
        "thing": rng.choice(category["things"]),
        "when": rng.choice(WHEN),
        "relative": rng.choice(RELATIVES),
        "years": rng.randint(2, 25),
    }
    sentences = [_capitalise(_fill(rng, category, x, same)) for x in parts]
    body = _paragraphs(rng, sentences)
    while len(body) < 30:
        body += " " + _fill(rng, category, rng.choice(GENERIC[mood]), same)
    title = rng.choice(TITLES[mood])
    first = _capitalise(_fill(rng, category, specifics[0], same)).rstrip(".")
    if rng.random() < 0.25 and len(first) <= 70:  # some people title a review with its gist
        title = first
    return title, body[:5000]


def _lower(sentence: str) -> str:
    return sentence if sentence.startswith(("I ", "I'")) else sentence[:1].lower() + sentence[1:]


def _paragraphs(rng: random.Random, sentences: list[str]) -> str:
    if len(sentences) < 4 or rng.random() < 0.3:
        return " ".join(sentences)
    breaks = sorted(rng.sample(range(1, len(sentences)), k=min(3, len(sentences) // 3)))
    parts = [sentences[a:b] for a, b in zip([0, *breaks], [*breaks, len(sentences)], strict=True)]
    glue = "\n\n" if rng.random() < 0.8 else "\n"
    return glue.join(" ".join(p) for p in parts)
