"""Customers invited to review: a business sends every customer the same neutral message with a
single-use link that expires, and a review written through it is labelled Invited.

Businesses choose only whom to invite, never what the message says, and the guidance asks
them to invite everyone: incentives and choosing whom to ask by expected sentiment ("review
gating") are what make invited ratings unfair, and what consumer-review rules (UK DMCC Act
2024, FTC 16 CFR 465) target.
"""

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from portal.emails import email_send
from responses.access import require_role
from responses.models import CAN_INVITE_CUSTOMERS, BusinessEvent, BusinessEventKind
from reviews.models import Invitation, Provider
from reviews.services.content import invitation_get_usable

INVITATION_VALID_DAYS = 30
MAX_PER_BATCH = 500
MAX_PER_DAY = 2000  # per provider, over the last 24 hours: a ceiling on spam, not on fairness
MAX_UPLOAD_BYTES = 1024 * 1024
MAX_LINE_ERRORS = 100  # beyond this a list is plainly the wrong file; say so, not 40,000 times
EMAIL_TEMPLATE = "review_invitation"
EMAIL_HEADERS = frozenset({"email", "e-mail", "email address", "e-mail address"})
PREVIEW_PLACEHOLDER = "a-link-unique-to-each-customer"
TOO_LARGE_MESSAGE = _lazy("The file is too large: upload at most 1 MB (about 20,000 addresses).")

_SEPARATORS = re.compile(r"[,;]")
_validate_email = EmailValidator()

Entry = tuple[int, str]  # (line number in what the business pasted or uploaded, raw value)


# --- reading what the business pasted or uploaded -----------------------------------------
def parse_invitation_upload(file_or_text) -> list[Entry]:
    """(line number, raw value) for every address in pasted text or an uploaded CSV file.

    Text: one address per line, or several separated by commas or semicolons. A file: a CSV
    whose column headed "email" is used, or its first column when no header says so. Blank
    entries are skipped but still counted, so that line numbers match what the business sees.
    """
    if isinstance(file_or_text, str):
        return _parse_text(file_or_text)
    return _parse_csv(_decode(file_or_text))


def _parse_text(text: str) -> list[Entry]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        entries.extend((number, part.strip()) for part in _SEPARATORS.split(line) if part.strip())
    return entries


def _decode(upload) -> str:
    if isinstance(upload, bytes):
        data = upload
    else:
        if getattr(upload, "size", None) and upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(TOO_LARGE_MESSAGE, code="too_large")
        if hasattr(upload, "seek"):
            upload.seek(0)
        data = upload.read(MAX_UPLOAD_BYTES + 1)
        if isinstance(data, str):
            return data
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(TOO_LARGE_MESSAGE, code="too_large")
    # utf-8-sig drops the byte-order mark that Excel writes; older Excel saves "CSV" as
    # cp1252, and latin-1 decodes any byte, so no file is refused for its encoding alone.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _parse_csv(text: str) -> list[Entry]:
    reader = csv.reader(io.StringIO(text, newline=""))
    entries: list[Entry] = []
    column, header_checked = 0, False
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if not header_checked:
                # A header names the email column; without one the first column is used and
                # the first row is an address like the rest.
                header_checked = True
                names = [cell.strip().lower() for cell in row]
                match = next((i for i, name in enumerate(names) if name in EMAIL_HEADERS), None)
                if match is not None:
                    column = match
                    continue
            value = row[column].strip() if column < len(row) else ""
            # A row without a value in that column is reported, not skipped: it is likely a
            # customer whose address is missing.
            entries.append((reader.line_num, value))
    except csv.Error as error:
        raise ValidationError(
            _("Line %(line)s: this file could not be read as CSV (%(problem)s).")
            % {"line": reader.line_num, "problem": error},
            code="bad_csv",
        ) from error
    return entries


# --- validation: everything is checked before anything is created ----------------------------
def _shown(raw: str) -> str:
    return raw if len(raw) <= 60 else raw[:57] + "…"


def invitations_sent_recently(*, provider: Provider, now: dt.datetime | None = None) -> int:
    """How many invitations the provider created in the last 24 hours (the daily limit)."""
    since = (now or timezone.now()) - dt.timedelta(days=1)
    return Invitation.objects.filter(provider=provider, created_at__gte=since).count()


def _numbered(emails: Iterable[str | Entry]) -> list[Entry]:
    """Plain strings (from the API) are numbered 1, 2, 3… as the business listed them."""
    return [
        item if isinstance(item, tuple) else (number, item)
        for number, item in enumerate(emails, start=1)
    ]


def invitations_validate(*, provider: Provider, entries: list[Entry]) -> list[str]:
    """The normalised addresses, or a ValidationError listing every problem line by line."""
    problems: list[str] = []
    line_problems: list[str] = []
    first_seen: dict[str, int] = {}
    addresses: list[str] = []
    for number, raw in entries:
        value = (raw or "").strip()
        if not value:
            line_problems.append(
                _("Line %(line)s: the email address is missing.") % {"line": number}
            )
            continue
        try:
            _validate_email(value)
        except ValidationError:
            line_problems.append(
                _("Line %(line)s: “%(value)s” is not a valid email address.")
                % {"line": number, "value": _shown(value)}
            )
            continue
        # Mailboxes differ in case only in theory; people type the same address both ways.
        key = value.lower()
        if key in first_seen:
            line_problems.append(
                _("Line %(line)s: “%(value)s” is a duplicate of line %(first)s.")
                % {"line": number, "value": _shown(value), "first": first_seen[key]}
            )
            continue
        first_seen[key] = number
        addresses.append(value)
    if not entries:
        problems.append(_("Enter at least one email address."))
    if len(entries) > MAX_PER_BATCH:
        problems.append(
            _(
                "You can invite up to %(max)s customers at a time; this list has %(n)s. "
                "Split it into smaller lists."
            )
            % {"max": intcomma(MAX_PER_BATCH), "n": intcomma(len(entries))}
        )
    else:
        recent = invitations_sent_recently(provider=provider)
        if recent + len(entries) > MAX_PER_DAY:
            problems.append(
                _(
                    "You can invite up to %(max)s customers a day. %(recent)s have been invited "
                    "in the last 24 hours, so you can invite %(left)s more now."
                )
                % {
                    "max": intcomma(MAX_PER_DAY),
                    "recent": intcomma(recent),
                    "left": intcomma(max(0, MAX_PER_DAY - recent)),
                }
            )
    if len(line_problems) > MAX_LINE_ERRORS:
        hidden = len(line_problems) - MAX_LINE_ERRORS
        line_problems = line_problems[:MAX_LINE_ERRORS]
        line_problems.append(
            ngettext(
                "…and %(n)s more line with a problem.",
                "…and %(n)s more lines with problems.",
                hidden,
            )
            % {"n": intcomma(hidden)}
        )
    problems.extend(line_problems)
    if problems:
        raise ValidationError(problems)
    return addresses


# --- sending -------------------------------------------------------------------------------
def _email_context(*, provider: Provider, invitation: Invitation) -> dict:
    return {"provider": provider, "invitation": invitation}


def invitation_email_preview(*, provider: Provider) -> dict[str, str]:
    """The exact message customers get (subject and text), with a placeholder link, so that
    the business sees it before sending."""
    invitation = Invitation(
        provider=provider,
        token=PREVIEW_PLACEHOLDER,
        expires_at=timezone.now() + dt.timedelta(days=INVITATION_VALID_DAYS),
    )
    context = {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_URL": settings.SITE_URL,
        **_email_context(provider=provider, invitation=invitation),
    }
    subject = render_to_string(f"emails/{EMAIL_TEMPLATE}_subject.txt", context)
    return {
        "subject": " ".join(subject.split()),
        "body": render_to_string(f"emails/{EMAIL_TEMPLATE}.txt", context).strip(),
    }


def _lock_provider(provider: Provider) -> None:
    """Serialise one provider's batches so that two at once cannot both pass the daily limit."""
    Provider.objects.select_for_update().filter(pk=provider.pk).values_list("pk").first()


@transaction.atomic
def invitations_send(
    *, provider: Provider, actor, emails: Iterable[str | Entry]
) -> list[Invitation]:
    """Invite each address to review the provider, with Heard's fixed wording.

    All or nothing: if any line is wrong, nothing is created or sent, and the error lists
    every problem by line. The emails leave after the transaction commits.
    """
    require_role(
        user=actor,
        provider=provider,
        roles=CAN_INVITE_CUSTOMERS,
        action=_("Only owners and managers can invite customers."),
    )
    entries = _numbered(emails)
    _lock_provider(provider)
    addresses = invitations_validate(provider=provider, entries=entries)
    expires_at = timezone.now() + dt.timedelta(days=INVITATION_VALID_DAYS)
    invitations = Invitation.objects.bulk_create(
        [
            Invitation(provider=provider, email=address, created_by=actor, expires_at=expires_at)
            for address in addresses
        ]
    )
    for invitation in invitations:
        email_send(
            template=EMAIL_TEMPLATE,
            to=[invitation.email],
            context=_email_context(provider=provider, invitation=invitation),
        )
    BusinessEvent.objects.create(
        provider=provider,
        actor=actor,
        kind=BusinessEventKind.CUSTOMERS_INVITED,
        detail={"count": len(invitations), "method": "email"},
    )
    return invitations


@transaction.atomic
def invitation_link_create(*, provider: Provider, actor) -> Invitation:
    """One single-use link and no email, for handing to a customer in person."""
    require_role(
        user=actor,
        provider=provider,
        roles=CAN_INVITE_CUSTOMERS,
        action=_("Only owners and managers can invite customers."),
    )
    _lock_provider(provider)
    if invitations_sent_recently(provider=provider) + 1 > MAX_PER_DAY:
        raise ValidationError(
            _("You can invite up to %(max)s customers a day. Try again tomorrow.")
            % {"max": intcomma(MAX_PER_DAY)}
        )
    invitation = Invitation.objects.create(
        provider=provider,
        created_by=actor,
        expires_at=timezone.now() + dt.timedelta(days=INVITATION_VALID_DAYS),
    )
    BusinessEvent.objects.create(
        provider=provider,
        actor=actor,
        kind=BusinessEventKind.CUSTOMERS_INVITED,
        detail={"count": 1, "method": "link"},
    )
    return invitation


# --- the customer's side ---------------------------------------------------------------------
def invitation_redeem_check(*, token: str, provider: Provider | None = None) -> Invitation:
    """The invitation with this token if a review of `provider` (by default the invitation's
    own) may be written through it: it exists, is for that provider, unused and unexpired.
    Otherwise a ValidationError saying why. The rule itself lives in reviews, which applies it
    again, under a lock, when the review is submitted."""
    return invitation_get_usable(token=token, provider=provider)
