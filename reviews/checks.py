"""Automatic checks on submitted text. They only flag, for the moderator to see: they never
publish or reject anything by themselves, and positive and negative reviews get the same ones."""

import datetime as dt
import difflib
import re
import unicodedata

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# UK numbers in their usual spellings (07700 900123, 020 7946 0000, +44 7700 900123, (0161)…)
PHONE_RE = re.compile(
    r"(?<!\w)(?:\+44\s?(?:\(0\)\s?)?|\(?0)\d{2,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\w)"
)
# Scheme or "www." in any case; a bare domain only with a lower-case ending, so that a missing
# space after a full stop ("lovely.Info about parking") is not taken for a link.
LINK_RE = re.compile(
    r"(?i:https?://|www\.)\S+"
    r"|\b(?i:bit\.ly|tinyurl\.com|t\.co|goo\.gl|ow\.ly)/\S+"
    r"|\b[A-Za-z0-9-]+\.(?:co\.uk|org\.uk|com|org|net|uk|io|info|biz|co|me|app|dev|shop"
    r"|online|site|store|xyz|london|scot|wales)\b(?:/\S*)?"
)
# Our own short list of abuse; matched on whole words after folding case and accents.
FLAGGED_WORDS = frozenset(
    [
        "arse",
        "arsehole",
        "asshole",
        "bastard",
        "bitch",
        "bollocks",
        "bullshit",
        "crap",
        "cunt",
        "dickhead",
        "fuck",
        "fucked",
        "fucking",
        "fucker",
        "idiot",
        "moron",
        "motherfucker",
        "piss",
        "pissed",
        "retard",
        "scum",
        "shit",
        "shite",
        "slag",
        "slut",
        "twat",
        "wanker",
        "whore",
    ]
)
WORD_RE = re.compile(r"[a-z']+")
# Everything a moderator should see marked in the text.
HIGHLIGHT_RE = re.compile(
    "|".join(
        [
            EMAIL_RE.pattern,
            PHONE_RE.pattern,
            LINK_RE.pattern,
            r"\b(?:" + "|".join(sorted(FLAGGED_WORDS)) + r")\b",
        ]
    ),
    re.IGNORECASE,
)

NEAR_DUPLICATE_RATIO = 0.9
BURST_PROVIDER_WINDOW = dt.timedelta(hours=1)
BURST_PROVIDER_COUNT = 10  # more than this many reviews of one provider within the hour
BURST_AUTHOR_WINDOW = dt.timedelta(days=1)
BURST_AUTHOR_PROVIDERS = 5  # one account reviewing more than this many providers in a day


class Flag:
    EMAIL = "contains_email"
    PHONE = "contains_phone"
    LINK = "contains_link"
    PROFANITY = "profanity"
    DUPLICATE = "duplicate"
    BURST_PROVIDER = "burst_provider"
    BURST_AUTHOR = "burst_author"

    # Reviews store the codes; these labels are for people, in their language.
    LABELS = {
        EMAIL: _("Contains an email address"),
        PHONE: _("Contains a phone number"),
        LINK: _("Contains a link"),
        PROFANITY: _("Contains flagged words"),
        DUPLICATE: _("Same or nearly the same as another review"),
        BURST_PROVIDER: _("Many reviews of this provider in a short time"),
        BURST_AUTHOR: _("This account reviewed many providers today"),
    }


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower()).replace("’", "'")
    return "".join(c for c in text if not unicodedata.combining(c))


def _normalise(text: str) -> str:
    return " ".join(WORD_RE.findall(_fold(text)))


def flagged_words(text: str) -> list[str]:
    words = (w.strip("'").removesuffix("'s") for w in WORD_RE.findall(_fold(text)))
    return sorted({w for w in words if w in FLAGGED_WORDS})


def text_flags(text: str) -> list[str]:
    """Flags that depend on the text alone."""
    flags = []
    if EMAIL_RE.search(text):
        flags.append(Flag.EMAIL)
    if PHONE_RE.search(text):
        flags.append(Flag.PHONE)
    if LINK_RE.search(EMAIL_RE.sub(" ", text)):
        flags.append(Flag.LINK)
    if flagged_words(text):
        flags.append(Flag.PROFANITY)
    return flags


def is_near_duplicate(a: str, b: str) -> bool:
    a, b = _normalise(a), _normalise(b)
    if not a or not b:
        return False
    if a == b:
        return True
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.real_quick_ratio() >= NEAR_DUPLICATE_RATIO and (
        matcher.quick_ratio() >= NEAR_DUPLICATE_RATIO and matcher.ratio() >= NEAR_DUPLICATE_RATIO
    )


def review_flags(*, author, provider, title: str, body: str, exclude_review=None) -> list[str]:
    """All flags for a review being submitted or revised (a few indexed queries)."""
    from reviews.models import Review

    flags = text_flags(f"{title}\n{body}")
    now = timezone.now()
    # Compare with the author's own recent reviews and this provider's recent ones: the places
    # copy-paste campaigns and repeated posts show up.
    candidates = (
        Review.objects.filter(provider=provider)
        .order_by("-submitted_at")[:200]
        .values_list("pk", "body")
    )
    own = (
        Review.objects.filter(author=author)
        .order_by("-submitted_at")[:50]
        .values_list("pk", "body")
    )
    if any(
        pk != exclude_review and is_near_duplicate(body, other) for pk, other in [*candidates, *own]
    ):
        flags.append(Flag.DUPLICATE)
    recent_for_provider = Review.objects.filter(
        provider=provider, submitted_at__gte=now - BURST_PROVIDER_WINDOW
    ).count()
    if recent_for_provider >= BURST_PROVIDER_COUNT:
        flags.append(Flag.BURST_PROVIDER)
    providers_today = (
        Review.objects.filter(author=author, submitted_at__gte=now - BURST_AUTHOR_WINDOW)
        .exclude(provider=provider)
        .aggregate(n=Count("provider", distinct=True))["n"]
    )
    if providers_today >= BURST_AUTHOR_PROVIDERS:
        flags.append(Flag.BURST_AUTHOR)
    return flags
