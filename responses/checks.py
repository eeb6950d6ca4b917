"""Automatic checks on replies, for the moderator: the same personal-data checks as reviews,
plus what a business must not disclose in public about a customer (the reviewer's name,
dates of birth, record numbers, other people's names). They flag; they never decide."""

import re

from django.utils.translation import gettext_lazy as _

from reviews.checks import text_flags

DOB_RE = re.compile(
    r"\b(?:d\.?o\.?b\.?|date of birth|born on)\b|\b\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)\d{2}\b",
    re.IGNORECASE,
)
RECORD_RE = re.compile(
    r"\b(?:nhs (?:no|number)|patient (?:no|number|id)|record (?:no|number)|account (?:no|number)"
    r"|mrn|hospital number|booking (?:ref|reference))\b"
    r"|\b\d{3}[ -]?\d{3}[ -]?\d{4}\b",  # NHS numbers are ten digits, often 3-3-4
    re.IGNORECASE,
)
NAMED_PERSON_RE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.? [A-Z][a-z'-]+")


class ReplyFlag:
    NAMES_REVIEWER = "names_reviewer"
    DATE_OF_BIRTH = "date_of_birth"
    RECORD_NUMBER = "record_number"
    NAMES_PERSON = "names_person"

    LABELS = {
        NAMES_REVIEWER: _("Names the reviewer"),
        DATE_OF_BIRTH: _("Mentions a date of birth"),
        RECORD_NUMBER: _("Mentions a record or reference number"),
        NAMES_PERSON: _("Names a person"),
    }


def reply_flags(*, body: str, reviewer_name: str = "") -> list[str]:
    flags = text_flags(body)
    name = (reviewer_name or "").strip()
    if len(name) >= 3 and re.search(rf"\b{re.escape(name)}\b", body, re.IGNORECASE):
        flags.append(ReplyFlag.NAMES_REVIEWER)
    if DOB_RE.search(body):
        flags.append(ReplyFlag.DATE_OF_BIRTH)
    if RECORD_RE.search(body):
        flags.append(ReplyFlag.RECORD_NUMBER)
    if NAMED_PERSON_RE.search(body):
        flags.append(ReplyFlag.NAMES_PERSON)
    return flags


HIGHLIGHT_RE = re.compile(
    "|".join([DOB_RE.pattern, RECORD_RE.pattern, NAMED_PERSON_RE.pattern]), re.IGNORECASE
)
