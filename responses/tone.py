"""Tone of voice for public replies: the house templates every business starts with, and the
hints the composer shows while a reply is drafted. Hints never block a reply; they help a
business say something better than "please get in touch"."""

import difflib
import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class HouseTemplate:
    key: str
    name: str
    body: str


HOUSE_TEMPLATES = [
    HouseTemplate(
        "thanks",
        _("Thank you"),
        _(
            "Thank you for taking the time to tell us about your visit. I'm glad that "
            "[what went well]. I've shared your kind words with [the team or role], who will "
            "be pleased to hear it."
        ),
    ),
    HouseTemplate(
        "apology_action",
        _("Apology with action"),
        _(
            "I'm sorry that [what went wrong]. That is not the standard we aim for. We have "
            "[what you have changed or will change, and by when]. If you would like to talk "
            "it through, I'm [name, role] and you can reach me directly on [direct contact]."
        ),
    ),
    HouseTemplate(
        "factual_correction",
        _("Factual correction"),
        _(
            "Thank you for your review. I'd like to clear up one point so that others have the "
            "full picture: [the fact, stated plainly and without personal details]. We're sorry "
            "this wasn't clear at the time, and we have [what you have done so it is clearer]."
        ),
    ),
    HouseTemplate(
        "resolve_privately",
        _("Invitation to resolve privately"),
        _(
            "I'm sorry to read about your experience. I'd like to put this right. I'm "
            "[name, role]; I've opened your case and will contact you through Heard within "
            "[time]. In the meantime we have [first step you have taken]."
        ),
    ),
]

# Stock phrases that readers find dismissive, each with what to do instead (Care Opinion's
# guidance on responses).
STOCK_PHRASES = [
    (
        re.compile(r"\bplease (?:get|be) in touch\b|\bcontact us\b", re.IGNORECASE),
        _(
            "“Please get in touch” puts the work back on the reviewer. Say who will contact "
            "them, how, and by when — or what you have already done."
        ),
    ),
    (
        re.compile(r"\bsorry (?:that )?you feel\b|\bsorry you (?:were|are) (?:un)?happy\b", re.I),
        _("Apologise for what happened, not for how they feel about it."),
    ),
    (
        re.compile(
            r"\bwe take (?:all )?(?:feedback|complaints|comments) (?:very )?seriously\b", re.I
        ),
        _("Show it instead of saying it: what will you change because of this review?"),
    ),
    (
        re.compile(r"\b(?:sorry|apologi[sz]e) for any inconvenience\b", re.IGNORECASE),
        _("Name the actual problem; “any inconvenience” sounds like a form letter."),
    ),
    (
        re.compile(r"\bvalued (?:customer|patient)s?\b", re.IGNORECASE),
        _("Write to the person, not to a “valued customer”."),
    ),
]

SHORT_REPLY_WORDS = 6
NEAR_DUPLICATE_RATIO = 0.8
PLACEHOLDER_RE = re.compile(r"\[[^\]]{2,80}\]")


@dataclass(frozen=True)
class Hint:
    code: str
    message: str


def reply_hints(body: str, *, previous: list[str] = ()) -> list[Hint]:
    """Suggestions for a draft reply, given the business's recent replies."""
    text = " ".join((body or "").split())
    hints = []
    if len(text.split()) < SHORT_REPLY_WORDS:
        hints.append(
            Hint(
                "too_short",
                str(
                    _(
                        "This is shorter than a sentence. Say what happened next, or what you "
                        "will do."
                    )
                ),
            )
        )
    if PLACEHOLDER_RE.search(text):
        hints.append(
            Hint(
                "placeholder",
                str(_("Fill in or delete the [square-bracket] parts of the template.")),
            )
        )
    for pattern, advice in STOCK_PHRASES:
        match = pattern.search(text)
        if match:
            hints.append(Hint("stock_phrase", f"“{match.group(0)}”: {advice}"))
    normalised = text.lower()
    for earlier in previous:
        other = " ".join(earlier.split()).lower()
        if (
            other
            and difflib.SequenceMatcher(None, normalised, other).ratio() >= NEAR_DUPLICATE_RATIO
        ):
            hints.append(
                Hint(
                    "repeated",
                    str(
                        _(
                            "This is nearly the same as one of your recent replies. Readers "
                            "notice copy-and-paste answers; say something about this review."
                        )
                    ),
                )
            )
            break
    return hints
