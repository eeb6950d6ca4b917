"""Deadlines, with a frozen clock: the holding acknowledgement at 2 hours, the first-response and
resolution breaches, escalation 24 hours after the first-response deadline, and closing a
proposed resolution the customer left unanswered for 14 days. Each happens once, however often
`check_sla` runs."""

import datetime as dt
import io
import threading

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection

from responses.models import ActorRole, EventKind, Ticket, TicketEvent, TicketStatus
from responses.services.tickets import (
    sla_check,
    ticket_assign,
    ticket_message,
    ticket_open,
    ticket_transition,
)
from tests.factories import MembershipFactory, ProviderFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

S = TicketStatus
OPENED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
AT = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC)
HOUR, DAY, SECOND = dt.timedelta(hours=1), dt.timedelta(days=1), dt.timedelta(seconds=1)
NOTHING = {
    "holding": 0,
    "reminders": 0,
    "first_response_breach": 0,
    "resolution_breach": 0,
    "escalated": 0,
    "closed": 0,
}


@pytest.fixture
def provider(db):
    return ProviderFactory(name="Green Lane Surgery")


@pytest.fixture
def owner(provider):
    return MembershipFactory(
        provider=provider, role="owner", user__email="owner@green.example"
    ).user


@pytest.fixture
def member(provider):
    return MembershipFactory(provider=provider, role="responder").user


@pytest.fixture
def ticket(provider, owner, customer):
    with time_machine.travel(OPENED, tick=False):
        return ticket_open(
            provider=provider,
            customer=customer,
            source="private",
            subject="Nobody rang me back",
            message="I was promised a call about my results and nobody rang.",
        )


def check_at(moment, capture=None) -> dict:
    """Run the deadline watch at `moment`; with `capture`, deliver its emails."""
    with time_machine.travel(moment, tick=False):
        if capture is None:
            return sla_check()
        with capture(execute=True):
            return sla_check()


def events(ticket, kind) -> list[TicketEvent]:
    return list(TicketEvent.objects.filter(ticket=ticket, kind=kind))


def only(**counts) -> dict:
    return {**NOTHING, **counts}


def refreshed(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# --- the holding acknowledgement -------------------------------------------------------------
def test_no_holding_acknowledgement_before_two_hours(ticket):
    assert check_at(OPENED + 2 * HOUR - SECOND) == NOTHING
    assert events(ticket, EventKind.HOLDING) == []


def test_holding_acknowledgement_at_two_hours_is_automatic_and_emailed_to_the_customer(
    ticket, customer, django_capture_on_commit_callbacks
):
    at = OPENED + 2 * HOUR
    assert check_at(at, django_capture_on_commit_callbacks) == only(holding=1)
    [holding] = events(ticket, EventKind.HOLDING)
    assert (holding.actor, holding.actor_role, holding.internal) == (None, ActorRole.SYSTEM, False)
    assert holding.body.startswith("This is an automatic message from Heard")
    assert refreshed(ticket).holding_sent_at == at
    assert [m.to for m in mail.outbox] == [[customer.email]]
    assert "automatic message" in mail.outbox[0].body
    assert check_at(at + HOUR) == NOTHING
    assert len(events(ticket, EventKind.HOLDING)) == 1


def test_a_members_first_message_stops_the_holding_and_the_escalation(ticket, member):
    with time_machine.travel(OPENED + HOUR, tick=False):
        ticket_message(ticket=ticket, actor=member, body="Sorry: we will ring you today.")
    assert refreshed(ticket).first_responded_at == OPENED + HOUR
    for moment in (OPENED + 3 * HOUR, ticket.first_response_due + DAY + SECOND):
        assert check_at(moment) == NOTHING
    ticket = refreshed(ticket)
    assert (ticket.status, ticket.holding_sent_at, ticket.first_response_breached_at) == (
        S.NEW,
        None,
        None,
    )


def test_an_internal_note_is_not_an_answer(ticket, member):
    with time_machine.travel(OPENED + HOUR, tick=False):
        ticket_message(ticket=ticket, actor=member, body="Who is on call?", internal=True)
    assert check_at(OPENED + 2 * HOUR) == only(holding=1)


def test_acknowledging_is_an_answer_too(ticket, member):
    with time_machine.travel(OPENED + HOUR, tick=False):
        ticket_transition(ticket=ticket, to=S.ACKNOWLEDGED, actor=member)
    assert check_at(ticket.first_response_due + DAY + SECOND) == NOTHING


# --- the first-response deadline and escalation ---------------------------------------------------
def test_first_response_breach_is_recorded_once_when_the_deadline_passes(
    ticket, owner, customer, django_capture_on_commit_callbacks
):
    due = ticket.first_response_due
    assert due == OPENED + 48 * HOUR
    check_at(OPENED + 2 * HOUR)  # the holding acknowledgement, out of the way
    # Not yet a breach ("due" means "by then"); the business gets its reminder instead.
    assert check_at(due) == only(reminders=1)
    mail.outbox.clear()
    assert check_at(due + SECOND, django_capture_on_commit_callbacks) == only(
        first_response_breach=1
    )
    [breach] = events(ticket, EventKind.BREACH)
    assert (breach.subject, breach.internal, breach.actor_role) == (
        "first_response",
        True,
        ActorRole.SYSTEM,
    )
    assert refreshed(ticket).first_response_breached_at == due + SECOND
    # The business is told; the customer is not sent the business's bookkeeping.
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert check_at(due + HOUR) == NOTHING
    assert len(events(ticket, EventKind.BREACH)) == 1


def test_escalation_to_staff_24_hours_after_the_first_response_deadline(
    ticket, owner, customer, django_capture_on_commit_callbacks
):
    due = ticket.first_response_due
    check_at(due + SECOND)
    assert check_at(due + DAY) == NOTHING
    assert refreshed(ticket).status == S.NEW
    mail.outbox.clear()
    assert check_at(due + DAY + SECOND, django_capture_on_commit_callbacks) == only(escalated=1)
    ticket = refreshed(ticket)
    assert (ticket.status, ticket.escalated_at) == (S.ESCALATED, due + DAY + SECOND)
    [escalation] = events(ticket, EventKind.STATUS)
    assert (escalation.from_status, escalation.to_status) == (S.NEW, S.ESCALATED)
    assert (escalation.actor, escalation.actor_role) == (None, ActorRole.SYSTEM)
    assert "24 hours" in escalation.body
    assert sorted(a for m in mail.outbox for a in m.to) == sorted([customer.email, owner.email])
    assert check_at(due + 2 * DAY) == NOTHING
    assert len(events(ticket, EventKind.STATUS)) == 1


def test_everything_at_once_when_the_watch_was_down(ticket):
    """A watch that was not running catches up in one run, in order, each thing once."""
    late = ticket.first_response_due + DAY + HOUR
    assert check_at(late) == only(holding=1, first_response_breach=1, escalated=1)
    assert check_at(late) == NOTHING


# --- the resolution deadline -------------------------------------------------------------------
def test_resolution_breach_is_recorded_once(ticket, member):
    with time_machine.travel(OPENED + HOUR, tick=False):
        ticket_transition(ticket=ticket, to=S.IN_PROGRESS, actor=member)
    due = ticket.resolution_due
    assert due == OPENED + 14 * DAY
    assert check_at(due) == NOTHING
    assert check_at(due + SECOND) == only(resolution_breach=1)
    assert check_at(due + DAY) == NOTHING
    [breach] = events(ticket, EventKind.BREACH)
    assert (breach.subject, breach.internal) == ("resolution", True)
    assert refreshed(ticket).status == S.IN_PROGRESS  # recorded, not escalated


# --- closing an unanswered resolution --------------------------------------------------------
def test_a_resolution_the_customer_leaves_unanswered_closes_after_14_days(
    ticket, member, owner, customer, django_capture_on_commit_callbacks
):
    proposed = OPENED + 5 * HOUR
    with time_machine.travel(proposed, tick=False):
        ticket_transition(
            ticket=ticket, to=S.RESOLVED, actor=member, note="We rang and apologised."
        )
    assert check_at(proposed + 14 * DAY - SECOND) == NOTHING
    mail.outbox.clear()
    assert check_at(proposed + 14 * DAY, django_capture_on_commit_callbacks) == only(closed=1)
    ticket = refreshed(ticket)
    assert (ticket.status, ticket.closed_at, ticket.confirmed_by_customer) == (
        S.CLOSED,
        proposed + 14 * DAY,
        False,
    )
    assert ticket.public_outcome == "The business says this is resolved"
    closing = TicketEvent.objects.get(ticket=ticket, to_status=S.CLOSED)
    assert (closing.from_status, closing.actor_role, closing.actor) == (
        S.RESOLVED,
        ActorRole.SYSTEM,
        None,
    )
    assert sorted(a for m in mail.outbox for a in m.to) == sorted([customer.email, owner.email])
    assert check_at(proposed + 15 * DAY) == NOTHING


def test_a_new_proposal_restarts_the_14_days(ticket, member, customer):
    first = OPENED + HOUR
    with time_machine.travel(first, tick=False):
        ticket_transition(ticket=ticket, to=S.RESOLVED, actor=member, note="Rang and apologised.")
    with time_machine.travel(first + DAY, tick=False):
        ticket_transition(ticket=ticket, to=S.IN_PROGRESS, actor=customer)
    second = first + 2 * DAY
    with time_machine.travel(second, tick=False):
        ticket_transition(ticket=ticket, to=S.RESOLVED, actor=member, note="Refunded the fee.")
    assert check_at(first + 14 * DAY)["closed"] == 0
    assert check_at(second + 14 * DAY)["closed"] == 1


# --- running twice at the same instant ----------------------------------------------------------
@pytest.fixture
def every_kind_due(provider, owner, member, customer):
    """At AT, one ticket of each kind is due for each step of the watch."""
    tickets = {}
    for name, opened in [
        ("holding", AT - 3 * HOUR),
        ("breach", AT - 49 * HOUR),
        ("escalate", AT - 73 * HOUR),
        ("resolution", AT - 15 * DAY),
        ("close", AT - 20 * DAY),
    ]:
        with time_machine.travel(opened, tick=False):
            tickets[name] = ticket_open(
                provider=provider,
                customer=customer,
                source="private",
                subject=name,
                message="Something went wrong and nobody put it right.",
            )
    with time_machine.travel(AT - 15 * DAY + HOUR, tick=False):
        ticket_transition(ticket=tickets["resolution"], to=S.IN_PROGRESS, actor=member)
    with time_machine.travel(AT - 20 * DAY + HOUR, tick=False):
        ticket_transition(ticket=tickets["close"], to=S.RESOLVED, actor=member, note="Refunded.")
    return tickets


EXPECTED_AT = {
    "holding": 3,  # the holding, breach and escalate tickets were never answered
    "reminders": 0,
    "first_response_breach": 2,
    "resolution_breach": 1,
    "escalated": 1,
    "closed": 1,
}


def test_sla_check_twice_at_the_same_instant_records_each_thing_once(every_kind_due):
    assert check_at(AT) == EXPECTED_AT
    counts = TicketEvent.objects.count()
    assert check_at(AT) == NOTHING
    assert TicketEvent.objects.count() == counts
    kinds = list(TicketEvent.objects.filter(kind__in=["holding", "breach"]).values_list("kind"))
    assert len(kinds) == 3 + 2 + 1


def test_the_command_twice_at_the_same_instant_records_each_thing_once(every_kind_due):
    outputs = []
    with time_machine.travel(AT, tick=False):
        for _run in range(2):
            out = io.StringIO()
            call_command("check_sla", stdout=out)
            outputs.append(out.getvalue().strip())
            if _run == 0:
                counts = TicketEvent.objects.count()
    assert outputs == [
        "holding 3, reminders 0, first-response breaches 2, resolution breaches 1, escalated 1, "
        "auto-closed 1",
        "holding 0, reminders 0, first-response breaches 0, resolution breaches 0, escalated 0, "
        "auto-closed 0",
    ]
    assert TicketEvent.objects.count() == counts
    statuses = dict(Ticket.objects.values_list("subject", "status"))
    assert (statuses["escalate"], statuses["close"]) == (S.ESCALATED, S.CLOSED)


def test_the_command_is_silent_with_quiet(every_kind_due):
    out = io.StringIO()
    with time_machine.travel(AT, tick=False):
        call_command("check_sla", "--quiet", stdout=out)
    assert out.getvalue() == ""
    assert Ticket.objects.get(subject="escalate").status == S.ESCALATED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_watches_running_at_once_record_each_thing_once():
    """Overlapping cron runs (a slow minute) both see the same due tickets; the row lock and the
    re-check inside each step let only one of them act."""
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL: SQLite has no row locks")
    provider = ProviderFactory()
    for _ in range(6):
        TicketFactory(provider=provider, customer=UserFactory(), created_at=AT - 73 * HOUR)
    barrier = threading.Barrier(2)
    results = []

    def watch():
        try:
            barrier.wait()
            results.append(sla_check(now=AT))
        finally:
            connection.close()

    threads = [threading.Thread(target=watch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    totals = {k: sum(r[k] for r in results) for k in NOTHING}
    assert totals == only(holding=6, first_response_breach=6, escalated=6)
    assert TicketEvent.objects.filter(kind=EventKind.HOLDING).count() == 6
    assert TicketEvent.objects.filter(kind=EventKind.BREACH).count() == 6
    assert TicketEvent.objects.filter(kind=EventKind.STATUS).count() == 6


# --- staff decisions and owners -----------------------------------------------------------------
def test_a_ticket_staff_returned_to_the_business_is_not_escalated_again(ticket, moderator):
    """Staff returning it is a decision; the watch must not undo it a minute later, even though
    the business has still not answered (the customer can still ask Heard again)."""
    escalate_at = ticket.first_response_due + DAY + SECOND
    assert check_at(escalate_at)["escalated"] == 1
    with time_machine.travel(escalate_at + HOUR, tick=False):
        ticket_transition(ticket=ticket, to=S.IN_PROGRESS, actor=moderator, note="Over to you.")
    assert check_at(escalate_at + HOUR + 60 * SECOND) == NOTHING
    assert refreshed(ticket).status == S.IN_PROGRESS


def test_a_breach_on_an_assigned_ticket_tells_the_assignee_and_the_owners(
    ticket, owner, member, django_capture_on_commit_callbacks
):
    """A missed deadline is the owners' business even when someone else was handling it."""
    with time_machine.travel(OPENED + HOUR, tick=False):
        ticket_assign(ticket=ticket, actor=owner, assignee=member)
    check_at(ticket.first_response_due + SECOND, django_capture_on_commit_callbacks)
    breach_mail = [m for m in mail.outbox if "deadline has passed" in m.body]
    assert sorted(a for m in breach_mail for a in m.to) == sorted([member.email, owner.email])


def test_the_business_is_reminded_once_four_hours_before_the_first_response_is_due(
    ticket, django_capture_on_commit_callbacks
):
    too_early = ticket.first_response_due - 4 * HOUR - SECOND
    assert check_at(too_early)["reminders"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert check_at(ticket.first_response_due - 3 * HOUR)["reminders"] == 1
    assert check_at(ticket.first_response_due - 2 * HOUR)["reminders"] == 0
    reminder = TicketEvent.objects.get(kind=EventKind.REMINDER)
    assert (reminder.internal, reminder.subject) == (True, "first_response")


def test_a_customer_who_answers_in_words_is_not_closed_automatically(ticket, owner, customer):
    with time_machine.travel(OPENED + HOUR, tick=False):
        ticket_transition(ticket=ticket, to=S.RESOLVED, actor=owner, note="Refund issued.")
    with time_machine.travel(OPENED + DAY, tick=False):
        ticket_message(ticket=ticket, actor=customer, body="No, it is not sorted at all.")
    assert check_at(OPENED + 15 * DAY)["closed"] == 0
    assert refreshed(ticket).status == S.RESOLVED
