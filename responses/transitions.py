"""The ticket lifecycle as data: which moves exist, who may make each, what each records, and
when the guarded ones are allowed. The service (`ticket_transition`), the templates (which
buttons to show), the API and the tests all read this one table."""

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from responses.models import ActorRole, TicketStatus

S = TicketStatus
CUSTOMER, MEMBER, STAFF, SYSTEM = (
    ActorRole.CUSTOMER,
    ActorRole.MEMBER,
    ActorRole.STAFF,
    ActorRole.SYSTEM,
)


@dataclass(frozen=True)
class Move:
    roles: frozenset
    label: str  # the button the allowed actor sees
    sets: tuple = ()  # what the move records on the ticket (see ticket_transition)
    guard: str = ""  # a condition name checked by `guard_allows`; "" = always
    needs_note: bool = False  # e.g. proposing a resolution needs its summary


def _move(roles, label, sets=(), guard="", needs_note=False):
    return Move(frozenset(roles), label, tuple(sets), guard, needs_note)


OPEN_FOR_WORK = (S.NEW, S.ACKNOWLEDGED, S.IN_PROGRESS, S.AWAITING_CUSTOMER)

TRANSITIONS: dict[tuple[str, str], Move] = {
    # The business picks it up. Any member action out of "new" is its first response.
    (S.NEW, S.ACKNOWLEDGED): _move({MEMBER}, _("Acknowledge"), ["first_response"]),
    (S.NEW, S.IN_PROGRESS): _move({MEMBER, STAFF}, _("Start work"), ["first_response"]),
    (S.ACKNOWLEDGED, S.IN_PROGRESS): _move({MEMBER, STAFF}, _("Start work")),
    (S.AWAITING_CUSTOMER, S.IN_PROGRESS): _move({MEMBER, CUSTOMER}, _("Back to work")),
    # Asking the customer something.
    (S.NEW, S.AWAITING_CUSTOMER): _move({MEMBER}, _("Ask the customer"), ["first_response"]),
    (S.ACKNOWLEDGED, S.AWAITING_CUSTOMER): _move({MEMBER}, _("Ask the customer")),
    (S.IN_PROGRESS, S.AWAITING_CUSTOMER): _move({MEMBER}, _("Ask the customer")),
    # The business proposes a resolution; the customer confirms or rejects it.
    **{
        (frm, S.RESOLVED): _move(
            {MEMBER},
            _("Propose a resolution"),
            ["first_response", "resolved"],
            needs_note=True,
        )
        for frm in OPEN_FOR_WORK
    },
    (S.RESOLVED, S.CLOSED): _move(
        {CUSTOMER, SYSTEM, STAFF}, _("Yes, this is resolved"), ["closed"]
    ),
    (S.RESOLVED, S.IN_PROGRESS): _move(
        {CUSTOMER}, _("No, this is not resolved"), ["resolution_rejected"]
    ),
    # Escalation to Heard staff: by the customer when a deadline passed or a resolution was
    # rejected; by the system when the first response is 24 hours late.
    **{
        (frm, S.ESCALATED): _move(
            {CUSTOMER, SYSTEM}, _("Ask Heard to step in"), ["escalated"], guard="may_escalate"
        )
        for frm in (*OPEN_FOR_WORK, S.RESOLVED)
    },
    # Staff return it to the business, or close it.
    (S.ESCALATED, S.IN_PROGRESS): _move({STAFF}, _("Return to the business")),
    (S.ESCALATED, S.CLOSED): _move({STAFF}, _("Close the ticket"), ["closed"], needs_note=True),
}

ALL_STATUSES = tuple(S.values)
ALL_PAIRS = {(a, b) for a in ALL_STATUSES for b in ALL_STATUSES if a != b}


def guard_allows(guard: str, ticket, actor_role: str, now=None) -> bool:
    """Conditions that depend on the ticket's history, not only on its status."""
    if not guard:
        return True
    now = now or timezone.now()
    if guard == "may_escalate":
        if actor_role == SYSTEM:
            return True  # check_sla decides when (first response 24 hours late)
        first_response_late = ticket.first_responded_at is None and now > ticket.first_response_due
        resolution_late = ticket.status != S.RESOLVED and now > ticket.resolution_due
        return bool(first_response_late or resolution_late or ticket.resolution_rejected_at)
    raise ValueError(f"unknown guard {guard!r}")


def moves_for(ticket, actor_role: str, now=None) -> list[tuple[str, Move]]:
    """The moves this actor may make now, for buttons and the API."""
    return [
        (to, move)
        for (frm, to), move in TRANSITIONS.items()
        if frm == ticket.status
        and actor_role in move.roles
        and guard_allows(move.guard, ticket, actor_role, now)
    ]
