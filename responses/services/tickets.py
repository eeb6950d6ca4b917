"""Complaint tickets: opened with the review or private complaint in one transaction, moved
only through the transition table, every step an append-only TicketEvent in the same
transaction, notifications queued after commit, deadlines watched by `sla_check`."""

import datetime as dt
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.models import User
from portal.emails import email_send
from portal.logs import audit
from responses.checks import ReplyFlag, reply_flags
from responses.models import (
    CAN_REPLY,
    DEFAULT_REPLY_TARGET_HOURS,
    DEFAULT_RESOLUTION_TARGET_DAYS,
    ActorRole,
    EventKind,
    Membership,
    PutRight,
    ResponseSettings,
    Role,
    Ticket,
    TicketEvent,
    TicketSource,
    TicketStatus,
)
from responses.transitions import OPEN_FOR_WORK, TRANSITIONS, guard_allows
from reviews.checks import Flag
from reviews.models import Provider, Review
from reviews.pagecache import provider_page_changed

logger = logging.getLogger("heard.tickets")

MESSAGE_MAX = 5000
MAX_OPEN_PRIVATE_COMPLAINTS = 3
HOLDING_AFTER = dt.timedelta(hours=2)
ESCALATE_AFTER_FIRST_RESPONSE_DUE = dt.timedelta(hours=24)
AUTO_CLOSE_AFTER = dt.timedelta(days=14)
REMIND_BEFORE = dt.timedelta(hours=4)
MODERATE_PERMISSION = "reviews.moderate_content"


class TransitionNotAllowed(Exception):
    """The move is not in the table for this status, actor or moment (HTML message, API 409)."""

    def __init__(self, frm: str, to: str, reason: str = ""):
        self.frm, self.to = frm, to
        super().__init__(
            reason
            or _("A ticket cannot go from “%(frm)s” to “%(to)s” now.")
            % {
                "frm": TicketStatus(frm).label,
                "to": TicketStatus(to).label if to in TicketStatus.values else to,
            }
        )


def ticket_role_for(user: User | None, ticket: Ticket) -> str | None:
    """How `user` takes part in this ticket; None means not at all (None user = the system)."""
    if user is None:
        return ActorRole.SYSTEM
    if not user.is_authenticated or not user.is_active:
        return None
    if ticket.customer_id == user.pk:
        return ActorRole.CUSTOMER
    if Membership.objects.filter(
        provider_id=ticket.provider_id, user=user, role__in=CAN_REPLY
    ).exists():
        return ActorRole.MEMBER
    if user.is_staff and user.has_perm(MODERATE_PERMISSION):
        return ActorRole.STAFF
    return None


def _require_role(user, ticket, allowed) -> str:
    role = ticket_role_for(user, ticket)
    if role is None or role not in allowed:
        raise PermissionDenied(_("You are not taking part in this ticket."))
    return role


def _targets(provider: Provider) -> tuple[int, int]:
    settings = ResponseSettings.objects.filter(provider=provider).first()
    if settings is None:
        return DEFAULT_REPLY_TARGET_HOURS, DEFAULT_RESOLUTION_TARGET_DAYS
    return settings.reply_target_hours, settings.resolution_target_days


def _clean_text(text: str, field: str = "body") -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: [_("Write your message.")]})
    if len(text) > MESSAGE_MAX:
        raise ValidationError({field: [_("Keep it to 5,000 characters or fewer.")]})
    return text


# --- notifications --------------------------------------------------------------------------
def _business_addresses(ticket: Ticket, *, owners_too: bool = False) -> list[str]:
    """The assignee, or failing that the owners and managers; both when `owners_too`
    (a missed deadline is the owners' business even on an assigned ticket)."""
    addresses = []
    if ticket.assignee_id and ticket.assignee.email:
        addresses.append(ticket.assignee.email)
    if owners_too or not addresses:
        addresses += Membership.objects.filter(
            provider_id=ticket.provider_id, role__in=[Role.OWNER, Role.MANAGER]
        ).values_list("user__email", flat=True)
    return list(dict.fromkeys(a for a in addresses if a))


def _notify(
    ticket: Ticket,
    event: TicketEvent,
    *,
    to_customer: bool,
    to_business: bool,
    owners_too: bool = False,
):
    context = {"ticket": ticket, "event": event}
    if to_customer and ticket.customer_id and ticket.customer.email:
        email_send(template="ticket_update_customer", to=[ticket.customer.email], context=context)
    if to_business:
        addresses = _business_addresses(ticket, owners_too=owners_too)
        if addresses:
            email_send(template="ticket_update_business", to=addresses, context=context)


def _event(ticket, *, actor, role, kind, body="", internal=False, frm="", to="", subject=""):
    return TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        actor_role=role,
        kind=kind,
        body=body,
        internal=internal,
        from_status=frm,
        to_status=to,
        subject=subject,
    )


# --- opening --------------------------------------------------------------------------------
def ticket_source_for_review(review: Review) -> str | None:
    """Which reviews are complaints: 1–2 stars, or the author asked for a resolution."""
    if review.rating <= 2:
        return TicketSource.LOW_RATING
    if review.wants_resolution:
        return TicketSource.RESOLUTION_REQUESTED
    return None


@transaction.atomic
def ticket_open(
    *,
    provider: Provider,
    customer: User,
    source: str,
    subject: str,
    message: str,
    review: Review | None = None,
    now=None,
) -> Ticket:
    """Open a ticket. The opening message (the customer's own text) is shown privately to the
    business at once; it never holds back or hides a review."""
    now = now or timezone.now()
    message = _clean_text(message, "message")
    subject = (subject or "").strip()[:160] or _("Complaint")
    reply_hours, resolution_days = _targets(provider)
    ticket = Ticket.objects.create(
        provider=provider,
        customer=customer,
        review=review,
        source=source,
        subject=subject,
        status=TicketStatus.NEW,
        created_at=now,
        first_response_due=now + dt.timedelta(hours=reply_hours),
        resolution_due=now + dt.timedelta(days=resolution_days),
    )
    event = _event(
        ticket,
        actor=customer,
        role=ActorRole.CUSTOMER,
        kind=EventKind.OPENED,
        body=message,
        to=TicketStatus.NEW,
    )
    _notify(ticket, event, to_customer=False, to_business=True)
    audit(
        "ticket_opened",
        actor=customer,
        ticket_id=ticket.pk,
        provider_id=ticket.provider_id,
        review_id=ticket.review_id,
        source=source,
        to_status=ticket.status,
        event_id=event.pk,
    )
    return ticket


@transaction.atomic
def complaint_submit(*, provider: Provider, customer: User, subject: str, message: str) -> Ticket:
    """A private complaint from the provider page: never public, always a ticket."""
    if not provider.is_active:
        raise ValidationError(_("This provider is no longer listed."))
    if provider.memberships.filter(user=customer).exists():
        raise ValidationError(_("You are a member of this business's team."))
    subject = (subject or "").strip()
    if not subject:
        raise ValidationError({"subject": [_("Give your complaint a short title.")]})
    still_open = Ticket.objects.filter(
        provider=provider, customer=customer, source=TicketSource.PRIVATE
    ).exclude(status=TicketStatus.CLOSED)
    if still_open.count() >= MAX_OPEN_PRIVATE_COMPLAINTS:
        raise ValidationError(
            _("You already have open complaints with this business; add to one of those.")
        )
    return ticket_open(
        provider=provider,
        customer=customer,
        source=TicketSource.PRIVATE,
        subject=subject,
        message=message,
    )


# --- the lifecycle ----------------------------------------------------------------------------
@transaction.atomic
def ticket_transition(
    *, ticket: Ticket, to: str, actor: User | None, note: str = "", now=None
) -> Ticket:
    """Apply one move of the transition table, or refuse it and change nothing."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    role = ticket_role_for(actor, ticket)
    if role is None:
        raise PermissionDenied(_("You are not taking part in this ticket."))
    move = TRANSITIONS.get((ticket.status, to))
    if move is None or role not in move.roles:
        raise TransitionNotAllowed(ticket.status, to)
    if not guard_allows(move.guard, ticket, role, now):
        raise TransitionNotAllowed(
            ticket.status,
            to,
            _(
                "You can ask Heard to step in once a deadline has passed or after you have said a "
                "resolution did not resolve things."
            ),
        )
    note = (note or "").strip()
    if move.needs_note and not note:
        raise ValidationError({"note": [_("Say what was done to resolve it.")]})
    if len(note) > MESSAGE_MAX:
        raise ValidationError({"note": [_("Keep it to 5,000 characters or fewer.")]})
    frm = ticket.status
    if "first_response" in move.sets and role == ActorRole.MEMBER and not ticket.first_responded_at:
        ticket.first_responded_at = now
    if "resolved" in move.sets:
        ticket.resolved_at = now
        ticket.resolution_summary = note
    if "closed" in move.sets:
        ticket.closed_at = now
        ticket.confirmed_by_customer = role == ActorRole.CUSTOMER
    if "resolution_rejected" in move.sets:
        ticket.resolution_rejected_at = now
    if "escalated" in move.sets:
        ticket.escalated_at = now
    ticket.status = to
    ticket.save()
    event = _event(ticket, actor=actor, role=role, kind=EventKind.STATUS, body=note, frm=frm, to=to)
    _notify(
        ticket,
        event,
        to_customer=role != ActorRole.CUSTOMER,
        to_business=role != ActorRole.MEMBER,
    )
    provider_page_changed(ticket.provider_id)
    audit(
        "ticket_transitioned",
        actor=actor,
        ticket_id=ticket.pk,
        provider_id=ticket.provider_id,
        role=role,
        from_status=frm,
        to_status=to,
        event_id=event.pk,
    )
    return ticket


@transaction.atomic
def ticket_message(
    *, ticket: Ticket, actor: User, body: str, internal: bool = False
) -> TicketEvent:
    """A message between customer and business, or an internal note (business and staff)."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    role = _require_role(actor, ticket, {ActorRole.CUSTOMER, ActorRole.MEMBER, ActorRole.STAFF})
    body = _clean_text(body)
    if internal and role == ActorRole.CUSTOMER:
        raise PermissionDenied(_("Customers cannot write internal notes."))
    if ticket.status == TicketStatus.CLOSED:
        raise ValidationError(_("This ticket is closed."))
    if role == ActorRole.MEMBER and not internal and not ticket.first_responded_at:
        ticket.first_responded_at = timezone.now()
        ticket.save(update_fields=["first_responded_at", "updated_at"])
    event = _event(
        ticket,
        actor=actor,
        role=role,
        kind=EventKind.NOTE if internal else EventKind.MESSAGE,
        body=body,
        internal=internal,
    )
    if not internal:
        _notify(
            ticket,
            event,
            to_customer=role != ActorRole.CUSTOMER,
            to_business=role != ActorRole.MEMBER,
        )
    audit(
        "ticket_message",
        actor=actor,
        ticket_id=ticket.pk,
        provider_id=ticket.provider_id,
        role=role,
        kind=event.kind,
        internal=internal,
        event_id=event.pk,
    )
    return event


@transaction.atomic
def ticket_assign(*, ticket: Ticket, actor: User, assignee: User | None) -> Ticket:
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    role = _require_role(actor, ticket, {ActorRole.MEMBER, ActorRole.STAFF})
    if (
        assignee is not None
        and not Membership.objects.filter(provider_id=ticket.provider_id, user=assignee).exists()
    ):
        raise ValidationError({"assignee": [_("Assign it to a member of this business.")]})
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    _event(
        ticket,
        actor=actor,
        role=role,
        kind=EventKind.ASSIGNMENT,
        body=assignee.display_name if assignee else _("Unassigned"),
        internal=True,
    )
    audit(
        "ticket_assigned",
        actor=actor,
        ticket_id=ticket.pk,
        provider_id=ticket.provider_id,
        role=role,
        assignee_id=assignee.pk if assignee else None,
    )
    return ticket


@transaction.atomic
def ticket_record_change(*, ticket: Ticket, actor: User, text: str) -> Ticket:
    """A public statement of what the business changed because of this complaint."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    _require_role(actor, ticket, {ActorRole.MEMBER})
    text = _clean_text(text, "change_made")
    # It is published at once, so it must not carry what a public reply may not: personal
    # details, links, names. Say so rather than publish it.
    reviewer = ticket.customer.display_name if ticket.customer_id else ""
    flags = reply_flags(body=text, reviewer_name=reviewer)
    if flags:
        labels = {**Flag.LABELS, **ReplyFlag.LABELS}
        raise ValidationError(
            {
                "change_made": [
                    _("This is shown publicly, so please remove: %(what)s.")
                    % {"what": ", ".join(labels.get(f, f).lower() for f in flags)}
                ]
            }
        )
    ticket.change_made = text
    ticket.change_made_at = timezone.now()
    ticket.save(update_fields=["change_made", "change_made_at", "updated_at"])
    event = _event(
        ticket, actor=actor, role=ActorRole.MEMBER, kind=EventKind.CHANGE_MADE, body=text
    )
    _notify(ticket, event, to_customer=True, to_business=False)
    provider_page_changed(ticket.provider_id)
    audit(
        "ticket_change_recorded",
        actor=actor,
        ticket_id=ticket.pk,
        provider_id=ticket.provider_id,
        event_id=event.pk,
    )
    return ticket


@transaction.atomic
def ticket_answer_put_right(*, ticket: Ticket, actor: User, answer: str) -> Ticket:
    """After closing, the customer's one-question verdict: was this put right?"""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    _require_role(actor, ticket, {ActorRole.CUSTOMER})
    if answer not in PutRight.values:
        raise ValidationError({"answer": [_("Answer yes, partly or no.")]})
    if ticket.status != TicketStatus.CLOSED:
        raise ValidationError(_("You can answer once the ticket is closed."))
    if ticket.put_right:
        raise ValidationError(_("You have already answered."))
    ticket.put_right = answer
    ticket.save(update_fields=["put_right", "updated_at"])
    _event(ticket, actor=actor, role=ActorRole.CUSTOMER, kind=EventKind.PUT_RIGHT, body=answer)
    provider_page_changed(ticket.provider_id)
    audit(
        "ticket_put_right_answered",
        actor=actor,
        ticket_id=ticket.pk,
        provider_id=ticket.provider_id,
        answer=answer,
    )
    return ticket


# --- deadlines -----------------------------------------------------------------------------
def sla_check(*, now=None) -> dict[str, int]:
    """Record missed deadlines, send holding acknowledgements and reminders, escalate late
    first responses and close resolutions the customer left unanswered.

    Idempotent: each step sets a marker (or changes the status) in the same transaction as its
    event, so running it twice at the same instant records nothing twice. Safe every minute.
    """
    now = now or timezone.now()
    done = {
        "holding": 0,
        "reminders": 0,
        "first_response_breach": 0,
        "resolution_breach": 0,
        "escalated": 0,
        "closed": 0,
    }
    waiting = Ticket.objects.filter(status__in=OPEN_FOR_WORK, first_responded_at__isnull=True)

    for pk in waiting.filter(
        status=TicketStatus.NEW, holding_sent_at__isnull=True, created_at__lte=now - HOLDING_AFTER
    ).values_list("pk", flat=True):
        done["holding"] += _sla_step(pk, now, _send_holding)
    for pk in (
        waiting.filter(first_response_due__gte=now, first_response_due__lte=now + REMIND_BEFORE)
        .exclude(events__kind=EventKind.REMINDER)
        .values_list("pk", flat=True)
    ):
        done["reminders"] += _sla_step(pk, now, _remind)
    for pk in waiting.filter(
        first_response_breached_at__isnull=True, first_response_due__lt=now
    ).values_list("pk", flat=True):
        done["first_response_breach"] += _sla_step(pk, now, _breach_first_response)
    for pk in Ticket.objects.filter(
        status__in=OPEN_FOR_WORK, resolution_breached_at__isnull=True, resolution_due__lt=now
    ).values_list("pk", flat=True):
        done["resolution_breach"] += _sla_step(pk, now, _breach_resolution)
    for pk in waiting.filter(
        escalated_at__isnull=True, first_response_due__lt=now - ESCALATE_AFTER_FIRST_RESPONSE_DUE
    ).values_list("pk", flat=True):
        done["escalated"] += _sla_step(pk, now, _escalate)
    for pk in Ticket.objects.filter(
        status=TicketStatus.RESOLVED, resolved_at__lte=now - AUTO_CLOSE_AFTER
    ).values_list("pk", flat=True):
        done["closed"] += _sla_step(pk, now, _auto_close)
    return done


def _sla_step(pk: int, now, step) -> int:
    """One step for one ticket in its own transaction; a failure is logged and the run goes
    on, so one broken ticket cannot stop every other deadline being watched."""
    try:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            return 1 if step(ticket, now) else 0
    except Exception:
        logger.exception("check_sla: %s failed for ticket %s", step.__name__, pk)
        return 0


def _remind(ticket: Ticket, now) -> bool:
    """Tell the business, once, that a first response is due within REMIND_BEFORE."""
    if ticket.first_responded_at or ticket.status not in OPEN_FOR_WORK:
        return False
    if ticket.events.filter(kind=EventKind.REMINDER, subject="first_response").exists():
        return False
    event = _event(
        ticket,
        actor=None,
        role=ActorRole.SYSTEM,
        kind=EventKind.REMINDER,
        subject="first_response",
        internal=True,
        body=_("Reminder: the first response to this complaint is due by %(due)s.")
        % {
            "due": formats.date_format(
                timezone.localtime(ticket.first_response_due), "DATETIME_FORMAT"
            )
        },
    )
    _notify(ticket, event, to_customer=False, to_business=True, owners_too=True)
    return True


def _send_holding(ticket: Ticket, now) -> bool:
    if ticket.holding_sent_at or ticket.first_responded_at or ticket.status != TicketStatus.NEW:
        return False
    ticket.holding_sent_at = now
    ticket.save(update_fields=["holding_sent_at", "updated_at"])
    event = _event(
        ticket,
        actor=None,
        role=ActorRole.SYSTEM,
        kind=EventKind.HOLDING,
        body=_(
            "This is an automatic message from Heard: %(business)s has your complaint and must "
            "reply by %(due)s. Nobody has answered yet; we will keep track."
        )
        % {
            "business": ticket.provider.name,
            "due": formats.date_format(
                timezone.localtime(ticket.first_response_due), "DATETIME_FORMAT"
            ),
        },
    )
    _notify(ticket, event, to_customer=True, to_business=False)
    return True


def _breach(ticket: Ticket, now, *, field: str, subject: str) -> bool:
    if getattr(ticket, field):
        return False
    setattr(ticket, field, now)
    ticket.save(update_fields=[field, "updated_at"])
    event = _event(
        ticket,
        actor=None,
        role=ActorRole.SYSTEM,
        kind=EventKind.BREACH,
        subject=subject,
        internal=True,
        body=_("The %(deadline)s deadline has passed.")
        % {"deadline": _("first response") if subject == "first_response" else _("resolution")},
    )
    _notify(ticket, event, to_customer=False, to_business=True, owners_too=True)
    return True


def _breach_first_response(ticket: Ticket, now) -> bool:
    if ticket.first_responded_at or ticket.status not in OPEN_FOR_WORK:
        return False
    return _breach(ticket, now, field="first_response_breached_at", subject="first_response")


def _breach_resolution(ticket: Ticket, now) -> bool:
    if ticket.status not in OPEN_FOR_WORK:
        return False
    return _breach(ticket, now, field="resolution_breached_at", subject="resolution")


def _escalate(ticket: Ticket, now) -> bool:
    # Once staff have had it (and perhaps returned it to the business), it is not escalated
    # again automatically; the customer can still ask.
    if ticket.first_responded_at or ticket.escalated_at or ticket.status not in OPEN_FOR_WORK:
        return False
    ticket_transition(
        ticket=ticket,
        to=TicketStatus.ESCALATED,
        actor=None,
        note=_("No reply from the business 24 hours after its first-response deadline."),
        now=now,
    )
    return True


def _auto_close(ticket: Ticket, now) -> bool:
    if ticket.status != TicketStatus.RESOLVED or ticket.resolved_at > now - AUTO_CLOSE_AFTER:
        return False
    # A customer who answered in words rather than with the button has not gone quiet.
    if ticket.events.filter(
        actor_role=ActorRole.CUSTOMER, kind=EventKind.MESSAGE, created_at__gt=ticket.resolved_at
    ).exists():
        return False
    ticket_transition(
        ticket=ticket,
        to=TicketStatus.CLOSED,
        actor=None,
        note=_(
            "Closed automatically: the customer did not answer the proposed resolution "
            "within 14 days."
        ),
        now=now,
    )
    return True
