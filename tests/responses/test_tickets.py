"""The ticket lifecycle, generated from the transition table: every allowed move by every allowed
role writes exactly one event and sets what the table says; every other (status, target, role)
is refused and changes nothing. Plus: a complaint review and its ticket are one transaction,
who takes part in a ticket, what the customer sees, and an audit log that cannot be rewritten."""

import datetime as dt
import re
import threading
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from portal.models import AppendOnlyError
from responses.models import (
    ActorRole,
    EventKind,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from responses.selectors import ticket_events_for, ticket_list_visible_to
from responses.services import tickets as ticket_services
from responses.services.tickets import (
    TransitionNotAllowed,
    sla_check,
    ticket_answer_put_right,
    ticket_assign,
    ticket_message,
    ticket_record_change,
    ticket_role_for,
    ticket_transition,
)
from responses.transitions import ALL_PAIRS, OPEN_FOR_WORK, TRANSITIONS, guard_allows
from reviews.models import Review
from reviews.services import review_moderate, review_submit
from tests.factories import (
    MembershipFactory,
    ModeratorFactory,
    ProviderFactory,
    StaffFactory,
    TicketFactory,
    UserFactory,
    this_month,
)

pytestmark = pytest.mark.django_db

S = TicketStatus
CUSTOMER, MEMBER, STAFF, SYSTEM = (
    ActorRole.CUSTOMER,
    ActorRole.MEMBER,
    ActorRole.STAFF,
    ActorRole.SYSTEM,
)
ROLES = (CUSTOMER, MEMBER, STAFF, SYSTEM)
MOMENT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
CREATED = MOMENT - dt.timedelta(days=3)  # first response (48 h) is late; resolution is not
NOTE = "We refunded the charge and retrained the team on the booking system."

ALLOWED = sorted(
    (frm, to, role) for (frm, to), move in TRANSITIONS.items() for role in sorted(move.roles)
)
REFUSED = sorted(
    (frm, to, role)
    for (frm, to) in ALL_PAIRS
    for role in ROLES
    if (frm, to) not in TRANSITIONS or role not in TRANSITIONS[(frm, to)].roles
)
GUARDED_FOR_CUSTOMER = sorted(
    (frm, to) for (frm, to), move in TRANSITIONS.items() if move.guard and CUSTOMER in move.roles
)


def _ids(case):
    return "{}->{}-by-{}".format(*case)


# --- set-up ----------------------------------------------------------------------------------
@pytest.fixture
def provider(db):
    return ProviderFactory(name="Green Lane Surgery")


@pytest.fixture
def member(provider):
    return MembershipFactory(provider=provider, role="responder").user


@pytest.fixture
def owner(provider):
    # Owners get the business's emails when nobody is assigned.
    return MembershipFactory(
        provider=provider, role="owner", user__email="owner@green.example"
    ).user


@pytest.fixture
def people(provider, customer, member, owner, moderator):
    return {CUSTOMER: customer, MEMBER: member, STAFF: moderator, SYSTEM: None}


def ticket_in(status, *, provider, customer, **fields):
    """A ticket in `status`, written directly (test set-up, not a service path), with what that
    status implies already recorded. By default its first response is late, so the customer's
    guarded escalation is allowed; pass fields to change that."""
    implied = {
        S.RESOLVED: {"resolved_at": CREATED + dt.timedelta(hours=30), "resolution_summary": "x"},
        S.ESCALATED: {"escalated_at": CREATED + dt.timedelta(hours=80)},
        S.CLOSED: {"closed_at": CREATED + dt.timedelta(days=2)},
    }.get(status, {})
    return TicketFactory(
        provider=provider,
        customer=customer,
        status=status,
        **{"created_at": CREATED, **implied, **fields},
    )


def snapshot(ticket) -> dict:
    ticket = Ticket.objects.get(pk=ticket.pk)
    return {f.name: getattr(ticket, f.name) for f in Ticket._meta.fields}


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


# What each `sets` name of the table records: field -> expected value, given who moved it.
# A new name in the table fails `test_every_sets_name_is_checked` until it is described here.
def expected_sets(sets, role) -> dict:
    expected = {}
    for name in sets:
        if name == "first_response":
            # Only the business's own action is its first response (staff or the customer
            # moving a ticket does not stop the business's clock).
            if role == MEMBER:
                expected["first_responded_at"] = MOMENT
        elif name == "resolved":
            expected |= {"resolved_at": MOMENT, "resolution_summary": NOTE}
        elif name == "closed":
            expected |= {"closed_at": MOMENT, "confirmed_by_customer": role == CUSTOMER}
        elif name == "resolution_rejected":
            expected["resolution_rejected_at"] = MOMENT
        elif name == "escalated":
            expected["escalated_at"] = MOMENT
        else:
            raise AssertionError(f"the table sets {name!r}, which this test does not know")
    return expected


def test_every_sets_name_is_checked():
    for move in TRANSITIONS.values():
        for role in move.roles:
            expected_sets(move.sets, role)


def test_the_generated_cases_cover_every_combination():
    assert len(ALLOWED) + len(REFUSED) == len(ALL_PAIRS) * len(ROLES)
    assert len(ALLOWED) == sum(len(m.roles) for m in TRANSITIONS.values())
    assert GUARDED_FOR_CUSTOMER  # the guard is exercised below


# --- every allowed move -------------------------------------------------------------------------
@pytest.mark.parametrize(("frm", "to", "role"), ALLOWED, ids=[_ids(c) for c in ALLOWED])
def test_each_allowed_move_records_one_event_and_sets_what_the_table_says(
    frm, to, role, provider, customer, owner, people, django_capture_on_commit_callbacks
):
    ticket = ticket_in(frm, provider=provider, customer=customer)
    before = snapshot(ticket)
    move = TRANSITIONS[(frm, to)]

    with (
        time_machine.travel(MOMENT, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ticket_transition(ticket=ticket, to=to, actor=people[role], note=NOTE)

    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.kind, event.from_status, event.to_status) == (EventKind.STATUS, frm, to)
    assert (event.actor, event.actor_role, event.body) == (people[role], role, NOTE)
    assert not event.internal
    after = snapshot(ticket)
    expected = {"status": to, **expected_sets(move.sets, role)}
    assert {k: after[k] for k in expected} == expected
    untouched = set(after) - set(expected) - {"updated_at"}
    assert {k: after[k] for k in untouched} == {k: before[k] for k in untouched}
    # Each side hears of the other's move (after commit); staff and system moves reach both.
    wanted = []
    if role != CUSTOMER:
        wanted.append(customer.email)
    if role != MEMBER:
        wanted.append(owner.email)
    assert recipients() == sorted(wanted)


@pytest.mark.parametrize(
    ("frm", "to"),
    sorted((f, t) for f, t in TRANSITIONS if "first_response" in TRANSITIONS[f, t].sets),
)
def test_a_later_move_never_rewrites_the_first_response_time(frm, to, provider, customer, member):
    earlier = CREATED + dt.timedelta(hours=1)
    ticket = ticket_in(frm, provider=provider, customer=customer, first_responded_at=earlier)
    with time_machine.travel(MOMENT, tick=False):
        ticket_transition(ticket=ticket, to=to, actor=member, note=NOTE)
    ticket.refresh_from_db()
    assert ticket.first_responded_at == earlier


# --- every other move ------------------------------------------------------------------------
@pytest.mark.parametrize(("frm", "to", "role"), REFUSED, ids=[_ids(c) for c in REFUSED])
def test_every_other_move_is_refused_and_changes_nothing(
    frm, to, role, provider, customer, people, django_capture_on_commit_callbacks
):
    # Every guard would allow it: only the table refuses.
    ticket = ticket_in(frm, provider=provider, customer=customer, resolution_rejected_at=CREATED)
    before = snapshot(ticket)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(TransitionNotAllowed):
            ticket_transition(ticket=ticket, to=to, actor=people[role], note=NOTE)
    assert snapshot(ticket) == before
    assert not TicketEvent.objects.exists()
    assert callbacks == []
    assert mail.outbox == []


@pytest.mark.parametrize(("frm", "to"), GUARDED_FOR_CUSTOMER)
def test_the_customer_cannot_escalate_before_a_deadline_passes_or_a_rejection(
    frm, to, provider, customer
):
    ticket = ticket_in(
        frm,
        provider=provider,
        customer=customer,
        created_at=MOMENT - dt.timedelta(hours=1),
        first_response_due=MOMENT + dt.timedelta(hours=47),
        resolution_due=MOMENT + dt.timedelta(days=13),
    )
    before = snapshot(ticket)
    with time_machine.travel(MOMENT, tick=False), pytest.raises(TransitionNotAllowed) as refusal:
        ticket_transition(ticket=ticket, to=to, actor=customer)
    assert "once a deadline has passed" in str(refusal.value)
    assert snapshot(ticket) == before
    assert not TicketEvent.objects.exists()


ESCALATION_REASONS = {
    "first response late": {"first_response_due": MOMENT - dt.timedelta(seconds=1)},
    "resolution late": {
        "first_responded_at": CREATED,
        "first_response_due": MOMENT + dt.timedelta(hours=1),
        "resolution_due": MOMENT - dt.timedelta(seconds=1),
    },
    "resolution rejected": {
        "first_responded_at": CREATED,
        "first_response_due": MOMENT + dt.timedelta(hours=1),
        "resolution_rejected_at": CREATED,
    },
}


@pytest.mark.parametrize("reason", sorted(ESCALATION_REASONS))
@pytest.mark.parametrize(("frm", "to"), GUARDED_FOR_CUSTOMER)
def test_each_condition_lets_the_customer_escalate(frm, to, reason, provider, customer):
    fields = {"resolution_due": MOMENT + dt.timedelta(days=1), **ESCALATION_REASONS[reason]}
    ticket = ticket_in(frm, provider=provider, customer=customer, **fields)
    allowed = guard_allows(TRANSITIONS[frm, to].guard, ticket, CUSTOMER, MOMENT)
    # A proposed resolution is not "late": the business has answered and waits for the customer.
    if frm == S.RESOLVED and reason == "resolution late":
        assert not allowed
        return
    assert allowed
    with time_machine.travel(MOMENT, tick=False):
        ticket_transition(ticket=ticket, to=to, actor=customer)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.escalated_at) == (S.ESCALATED, MOMENT)


def test_an_unknown_status_is_refused(provider, customer, member):
    ticket = ticket_in(S.NEW, provider=provider, customer=customer)
    with pytest.raises(TransitionNotAllowed):
        ticket_transition(ticket=ticket, to="vanished", actor=member)
    assert not TicketEvent.objects.exists()


def test_proposing_a_resolution_needs_its_summary(provider, customer, member):
    ticket = ticket_in(S.IN_PROGRESS, provider=provider, customer=customer)
    with pytest.raises(ValidationError, match="Say what was done"):
        ticket_transition(ticket=ticket, to=S.RESOLVED, actor=member, note="  ")
    ticket.refresh_from_db()
    assert ticket.status == S.IN_PROGRESS
    assert not TicketEvent.objects.exists()


# --- who takes part ------------------------------------------------------------------------------
@pytest.fixture
def outsiders(db, provider):
    other_provider = ProviderFactory()
    return {
        "member of another provider": MembershipFactory(provider=other_provider, role="owner").user,
        "another customer": UserFactory(),
        "staff outside the moderators": StaffFactory(),
        "a deactivated member": MembershipFactory(provider=provider, user__is_active=False).user,
    }


def test_outsiders_have_no_role_and_every_service_refuses_them(
    outsiders, provider, customer, member
):
    ticket = ticket_in(S.IN_PROGRESS, provider=provider, customer=customer)
    closed = ticket_in(S.CLOSED, provider=provider, customer=customer)
    before = snapshot(ticket)
    calls = {
        "transition": lambda u: ticket_transition(ticket=ticket, to=S.AWAITING_CUSTOMER, actor=u),
        "message": lambda u: ticket_message(ticket=ticket, actor=u, body="Hello"),
        "note": lambda u: ticket_message(ticket=ticket, actor=u, body="Hm", internal=True),
        "assign": lambda u: ticket_assign(ticket=ticket, actor=u, assignee=member),
        "change made": lambda u: ticket_record_change(ticket=ticket, actor=u, text="New rota"),
        "put right": lambda u: ticket_answer_put_right(ticket=closed, actor=u, answer="yes"),
    }
    for who, user in outsiders.items():
        assert ticket_role_for(user, ticket) is None, who
        if user.is_active:  # a deactivated account cannot sign in to list anything
            assert not ticket_list_visible_to(user=user).filter(pk=ticket.pk).exists(), who
        for name, call in calls.items():
            with pytest.raises(PermissionDenied):
                call(user)
                pytest.fail(f"{name} allowed for {who}")
    assert snapshot(ticket) == before
    assert not TicketEvent.objects.exists()


def test_the_roles_of_those_who_do_take_part(provider, customer, member, moderator):
    ticket = ticket_in(S.NEW, provider=provider, customer=customer)
    assert ticket_role_for(customer, ticket) == CUSTOMER
    assert ticket_role_for(member, ticket) == MEMBER
    assert ticket_role_for(moderator, ticket) == STAFF
    assert ticket_role_for(None, ticket) == SYSTEM


def test_a_customer_cannot_write_internal_notes(provider, customer):
    ticket = ticket_in(S.NEW, provider=provider, customer=customer)
    with pytest.raises(PermissionDenied):
        ticket_message(ticket=ticket, actor=customer, body="Psst", internal=True)
    assert not TicketEvent.objects.exists()


def test_an_assignment_by_staff_is_recorded_as_staff(provider, customer, member, moderator):
    ticket = ticket_in(S.ESCALATED, provider=provider, customer=customer)
    ticket_assign(ticket=ticket, actor=moderator, assignee=member)
    event = TicketEvent.objects.get(kind=EventKind.ASSIGNMENT)
    assert (event.actor, event.actor_role) == (moderator, STAFF)


# --- a complaint review and its ticket: one transaction ----------------------------------------
def _submit(author, provider, rating, **extra):
    return review_submit(
        author=author,
        provider=provider,
        rating=rating,
        title="Nobody called me back",
        body="I was promised a call back about my results and it never came, twice.",
        visit_month=this_month(),
        **extra,
    )


def test_a_complaint_review_opens_its_ticket_and_tells_the_business(
    provider, customer, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        review = _submit(customer, provider, 2)
    ticket = Ticket.objects.get()
    assert (ticket.review, ticket.customer, ticket.status, ticket.source) == (
        review,
        customer,
        S.NEW,
        "low_rating",
    )
    opened = TicketEvent.objects.get()
    assert (opened.kind, opened.actor_role, opened.body) == (
        EventKind.OPENED,
        CUSTOMER,
        review.body,
    )
    assert recipients() == [owner.email]


def _fail_after_notify(real):
    def notify_then_fail(*args, **kwargs):
        real(*args, **kwargs)  # the business's email is queued for after commit …
        raise RuntimeError("the database went away")  # … and then the transaction fails

    return notify_then_fail


def _fail_to_open(**kwargs):
    raise RuntimeError("the database went away")


@pytest.mark.parametrize(
    "failure",
    ["ticket_open raises", "fails after the ticket, its event and its email"],
)
def test_the_review_and_its_ticket_are_created_together_or_not_at_all(
    failure, provider, customer, owner, monkeypatch, django_capture_on_commit_callbacks
):
    if failure == "ticket_open raises":
        # review_submit imports ticket_open when it runs, so the module attribute is the one used.
        monkeypatch.setattr(ticket_services, "ticket_open", _fail_to_open)
    else:
        monkeypatch.setattr(ticket_services, "_notify", _fail_after_notify(ticket_services._notify))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            _submit(customer, provider, 1)
    assert not Review.objects.exists()
    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()
    assert callbacks == []
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("rating", "wants_resolution", "source"),
    [
        (1, False, "low_rating"),
        (2, False, "low_rating"),
        (3, False, None),
        (4, False, None),
        (5, False, None),
        (4, True, "resolution_requested"),
        (2, True, "low_rating"),
    ],
)
def test_which_reviews_are_complaints(rating, wants_resolution, source, provider, customer):
    _submit(customer, provider, rating, wants_resolution=wants_resolution)
    assert list(Ticket.objects.values_list("source", flat=True)) == ([source] if source else [])


def test_a_rejected_review_leaves_its_ticket_open(provider, customer, member, moderator):
    review = _submit(customer, provider, 1)
    review_moderate(review=review, moderator=moderator, decision="reject", reason="other")
    review.refresh_from_db()
    ticket = Ticket.objects.get()
    assert review.status == "rejected"
    assert (ticket.status, ticket.is_open, ticket.review) == (S.NEW, True, review)
    assert ticket_list_visible_to(user=member).filter(pk=ticket.pk).exists()
    ticket_message(ticket=ticket, actor=member, body="We are sorry; can we call you?")
    assert TicketEvent.objects.filter(kind=EventKind.MESSAGE).count() == 1


# --- what the customer sees ------------------------------------------------------------------
def test_the_customer_never_sees_internal_events(provider, customer, member, moderator):
    review = _submit(customer, provider, 2)
    ticket = review.ticket
    ticket_message(ticket=ticket, actor=member, body="Sorry to hear this. Can you call us?")
    ticket_message(ticket=ticket, actor=member, body="She has complained before.", internal=True)
    ticket_assign(ticket=ticket, actor=member, assignee=member)
    ticket_message(ticket=ticket, actor=moderator, body="Heard here: we are keeping an eye.")
    ticket_record_change(ticket=ticket, actor=member, text="Call-backs are now logged.")
    sla_check(now=ticket.resolution_due + dt.timedelta(seconds=1))  # an internal breach event

    customer_view = list(ticket_events_for(ticket=ticket, role=CUSTOMER))
    member_view = list(ticket_events_for(ticket=ticket, role=MEMBER))

    assert [e.kind for e in customer_view] == ["opened", "message", "message", "change_made"]
    assert not any(e.internal for e in customer_view)
    assert "She has complained before." not in [e.body for e in customer_view]
    assert [e.kind for e in member_view] == [
        "opened",
        "message",
        "note",
        "assignment",
        "message",
        "change_made",
        "breach",
    ]


# --- the audit log cannot be rewritten -----------------------------------------------------------
def test_ticket_events_are_append_only(provider, customer, member):
    ticket = ticket_in(S.NEW, provider=provider, customer=customer)
    event = ticket_message(ticket=ticket, actor=member, body="Original words.")
    event.body = "Rewritten words."
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        TicketEvent.objects.filter(pk=event.pk).update(body="Rewritten words.")
    with pytest.raises(AppendOnlyError):
        TicketEvent.objects.filter(pk=event.pk).delete()
    assert list(TicketEvent.objects.values_list("body", flat=True)) == ["Original words."]


# --- two members at once (PostgreSQL) ----------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_members_moving_the_same_ticket_at_once_one_wins():
    """Both read "new" and ask for "acknowledged"; the row lock makes the second wait, read
    the first one's result and be refused, so the history has one status change."""
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL: SQLite has no row locks")
    for _attempt in range(5):
        provider = ProviderFactory()
        members = [MembershipFactory(provider=provider).user for _ in range(2)]
        ticket = TicketFactory(provider=provider)
        barrier = threading.Barrier(2)
        outcomes = []

        def move(actor, ticket=ticket, barrier=barrier, outcomes=outcomes):
            try:
                barrier.wait()
                ticket_transition(ticket=ticket, to=S.ACKNOWLEDGED, actor=actor)
                outcomes.append("moved")
            except TransitionNotAllowed:
                outcomes.append("refused")
            finally:
                connection.close()

        threads = [threading.Thread(target=move, args=(m,)) for m in members]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["moved", "refused"]
        ticket.refresh_from_db()
        assert ticket.status == S.ACKNOWLEDGED
        events = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.STATUS)
        assert list(events.values_list("from_status", "to_status")) == [(S.NEW, S.ACKNOWLEDGED)]


def test_open_for_work_statuses_are_the_ones_the_table_lets_the_business_resolve_from():
    # The escalation and resolution rows above are generated from OPEN_FOR_WORK; keep it honest.
    assert {frm for frm, to in TRANSITIONS if to == S.RESOLVED} == set(OPEN_FOR_WORK)


def test_staff_need_the_moderation_permission_not_just_the_staff_flag(provider, customer):
    ticket = ticket_in(S.ESCALATED, provider=provider, customer=customer)
    assert ticket_role_for(StaffFactory(), ticket) is None
    assert ticket_role_for(ModeratorFactory(), ticket) == STAFF


# --- the documented table is the real one -------------------------------------------------------
DOC_ROLES = {"customer": CUSTOMER, "business": MEMBER, "staff": STAFF, "system": SYSTEM}
DOC_SETS = {
    "first response": "first_response",
    "resolution": "resolved",
    "closed": "closed",
    "resolution rejected": "resolution_rejected",
    "escalation": "escalated",
}


def documented_transitions() -> dict:
    text = (Path(settings.BASE_DIR) / "docs" / "tickets.md").read_text()
    rows = {}
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        frm, to, who, button, records, condition = (c.strip() for c in line.strip("|").split("|"))
        rows[(frm.strip("`"), to.strip("`"))] = {
            "roles": {DOC_ROLES[r.strip()] for r in who.split(",")},
            "label": button,
            "sets": {
                DOC_SETS[re.sub(r"\s*\(.*\)", "", r).strip()] for r in records.split(",") if r
            },
            "guarded": condition == "see below",
            "needs_note": condition.startswith("needs"),
        }
    return rows


def test_the_lifecycle_table_in_the_docs_is_the_transition_table():
    documented = documented_transitions()
    actual = {
        pair: {
            "roles": set(move.roles),
            "label": str(move.label),
            "sets": set(move.sets),
            "guarded": bool(move.guard),
            "needs_note": move.needs_note,
        }
        for pair, move in TRANSITIONS.items()
    }
    assert documented == actual


def test_a_change_made_statement_with_personal_details_is_refused(provider, customer, member):
    from responses.services.tickets import ticket_record_change

    ticket = ticket_in(S.IN_PROGRESS, provider=provider, customer=customer)
    with pytest.raises(ValidationError) as error:
        ticket_record_change(ticket=ticket, actor=member, text="Call Dr Smith on 07700 900123.")
    assert "shown publicly" in str(error.value)
    ticket.refresh_from_db()
    assert ticket.change_made == ""
    assert not TicketEvent.objects.filter(kind=EventKind.CHANGE_MADE).exists()
