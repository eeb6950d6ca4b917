"""The staff side of tickets in the admin: the escalated queue on the moderation desk, staff
actions that go through the ticket service (one event each, both sides told), the full history
with internal notes marked, and an event log nobody can change."""

import datetime as dt
import html
import re

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from responses.models import ActorRole, EventKind, Ticket, TicketEvent, TicketStatus
from responses.services.tickets import ticket_message, ticket_open, ticket_transition
from tests.factories import (
    MembershipFactory,
    ProviderFactory,
    StaffFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

S = TicketStatus
QUEUE = "/admin/responses/escalatedticket/"
TICKETS = "/admin/responses/ticket/"
EVENTS = "/admin/responses/ticketevent/"
FORM_ACTION = "CHANGE_FORM-action"


@pytest.fixture
def mod_client(client, moderator):
    client.force_login(moderator)
    return client


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


def escalated(provider, customer, member, *, hours_ago=5, subject="Nobody rang me back"):
    """A ticket the customer escalated after rejecting a resolution, through the services."""
    ticket = ticket_open(
        provider=provider,
        customer=customer,
        source="private",
        subject=subject,
        message="I was promised a call about my results and nobody rang.",
    )
    ticket_transition(ticket=ticket, to=S.RESOLVED, actor=member, note="We rang you.")
    ticket_transition(ticket=ticket, to=S.IN_PROGRESS, actor=customer)
    ticket_message(ticket=ticket, actor=member, body="Difficult one; see the notes.", internal=True)
    ticket_transition(
        ticket=ticket, to=S.ESCALATED, actor=customer, note="They never actually rang me."
    )
    # When it was escalated is set-up (the queue is oldest first), not a service path.
    Ticket.objects.filter(pk=ticket.pk).update(
        escalated_at=timezone.now() - dt.timedelta(hours=hours_ago)
    )
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def ticket(provider, customer, member, owner):
    return escalated(provider, customer, member)


def act(client, action, tickets, url=QUEUE, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [t.pk for t in tickets], **extra}
    return client.post(url, data)


def status_events(ticket):
    return TicketEvent.objects.filter(ticket=ticket, kind=EventKind.STATUS).order_by("pk")


def recipients():
    return sorted(a for m in mail.outbox for a in m.to)


# --- the queue -------------------------------------------------------------------------------
def test_the_admin_index_shows_the_escalated_queue_with_its_count(
    mod_client, provider, customer, member, owner
):
    escalated(provider, customer, member)
    escalated(provider, UserFactory(), member)
    TicketFactory(provider=provider)  # a new ticket is not in the staff queue
    body = mod_client.get("/admin/").content.decode()
    assert f'href="{QUEUE}">Escalated tickets</a></th><td>2</td>' in body


def test_the_queue_lists_escalated_tickets_oldest_escalation_first_with_why(
    mod_client, provider, customer, member, owner
):
    newer = escalated(provider, customer, member, hours_ago=1, subject="The newer one")
    older = escalated(provider, UserFactory(), member, hours_ago=30, subject="The older one")
    TicketFactory(provider=provider, subject="Still new")
    body = mod_client.get(QUEUE).content.decode()
    assert body.index("The older one") < body.index("The newer one")
    assert "Still new" not in body
    assert "Green Lane Surgery" in body
    assert customer.display_name in body
    assert "They never actually rang me." in body  # the customer's note with the escalation
    assert "By the customer" in body
    assert "1\xa0day" in body  # waiting since the escalation
    assert f"/admin/responses/escalatedticket/{older.pk}/change/" in body
    assert f"/admin/responses/escalatedticket/{newer.pk}/change/" in body


def test_an_automatic_escalation_says_so(mod_client, provider, customer, owner):
    ticket = TicketFactory(provider=provider, customer=customer)
    ticket_transition(ticket=ticket, to=S.ESCALATED, actor=None, note="No reply in 24 hours.")
    body = mod_client.get(QUEUE).content.decode()
    assert "Automatic (deadline watch)" in body and "No reply in 24 hours." in body


# --- staff actions through the service ----------------------------------------------------------
def test_return_to_the_business_asks_for_an_optional_note_then_moves_it_through_the_service(
    mod_client, moderator, ticket, customer, owner, django_capture_on_commit_callbacks
):
    before = status_events(ticket).count()
    page = act(mod_client, "return_selected", [ticket])
    assert page.status_code == 200
    assert "Note to the customer and the business (optional)" in page.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == S.ESCALATED

    with django_capture_on_commit_callbacks(execute=True):
        response = act(mod_client, "return_selected", [ticket], confirm="yes", text="")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == S.IN_PROGRESS
    assert status_events(ticket).count() == before + 1
    event = status_events(ticket).last()
    assert (event.from_status, event.to_status, event.actor, event.actor_role) == (
        S.ESCALATED,
        S.IN_PROGRESS,
        moderator,
        ActorRole.STAFF,
    )
    assert recipients() == sorted([customer.email, owner.email])


def test_close_needs_a_note_and_then_closes_through_the_service(
    mod_client, moderator, ticket, customer, owner, django_capture_on_commit_callbacks
):
    before = TicketEvent.objects.count()
    missing = act(mod_client, "close_selected", [ticket], confirm="yes", text="  ")
    assert missing.status_code == 200
    assert "Write the text before you go on." in missing.content.decode()
    assert TicketEvent.objects.count() == before

    with django_capture_on_commit_callbacks(execute=True):
        act(
            mod_client,
            "close_selected",
            [ticket],
            confirm="yes",
            text="The practice has refunded the fee; nothing more we can do.",
        )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.confirmed_by_customer) == (S.CLOSED, False)
    assert ticket.closed_at is not None
    assert TicketEvent.objects.count() == before + 1
    event = status_events(ticket).last()
    assert (event.to_status, event.actor, event.actor_role, event.body) == (
        S.CLOSED,
        moderator,
        ActorRole.STAFF,
        "The practice has refunded the fee; nothing more we can do.",
    )
    assert recipients() == sorted([customer.email, owner.email])
    assert "refunded the fee" in mail.outbox[0].body


def test_a_staff_message_reaches_both_sides_after_commit(
    mod_client, moderator, ticket, customer, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        act(
            mod_client,
            "message_selected",
            [ticket],
            confirm="yes",
            text="Heard here: could the practice ring Casey this week?",
        )
        assert mail.outbox == []  # nothing is sent before the change is committed
    for callback in callbacks:
        callback()
    message = TicketEvent.objects.get(kind=EventKind.MESSAGE, actor=moderator)
    assert (message.actor_role, message.internal) == (ActorRole.STAFF, False)
    ticket.refresh_from_db()
    assert ticket.status == S.ESCALATED
    assert recipients() == sorted([customer.email, owner.email])
    assert all("could the practice ring Casey" in m.body for m in mail.outbox)


def test_staff_act_from_the_tickets_own_page(mod_client, ticket):
    change_url = f"{QUEUE}{ticket.pk}/change/"
    page = mod_client.get(change_url).content.decode()
    assert 'name="CHANGE_FORM-action"' in page and "Return to the business" in page
    ask = mod_client.post(
        change_url, {FORM_ACTION: "close_selected", ACTION_CHECKBOX_NAME: ticket.pk}
    )
    assert ask.status_code == 200
    assert 'name="CHANGE_FORM-action" value="close_selected"' in ask.content.decode()
    done = mod_client.post(
        change_url,
        {
            FORM_ACTION: "close_selected",
            ACTION_CHECKBOX_NAME: ticket.pk,
            "confirm": "yes",
            "text": "Closed after speaking to both sides.",
        },
    )
    assert done.status_code == 302
    assert done["Location"] == QUEUE  # it has left the queue
    ticket.refresh_from_db()
    assert ticket.status == S.CLOSED


def test_a_ticket_someone_else_already_handled_is_left_alone(mod_client, moderator, ticket):
    other_moderator_page = act(mod_client, "return_selected", [ticket])  # the page is open …
    assert other_moderator_page.status_code == 200
    ticket_transition(ticket=ticket, to=S.CLOSED, actor=moderator, note="Closed by a colleague.")
    before = TicketEvent.objects.count()
    act(mod_client, "return_selected", [ticket], confirm="yes", text="")  # … and sent late
    ticket.refresh_from_db()
    assert ticket.status == S.CLOSED
    assert TicketEvent.objects.count() == before


# --- the full history ---------------------------------------------------------------------------
@pytest.mark.parametrize("base", [QUEUE, TICKETS])
def test_the_ticket_page_shows_the_full_history_with_internal_notes_marked(
    mod_client, ticket, base
):
    body = mod_client.get(f"{base}{ticket.pk}/change/").content.decode()
    assert "I was promised a call about my results and nobody rang." in body
    assert "Difficult one; see the notes." in body
    assert '<strong class="ticket-internal">Internal</strong>' in body
    assert "Resolution proposed → In progress" in body
    assert 'name="_save"' not in body


def test_user_text_in_the_history_stays_text(mod_client, provider, customer, owner):
    ticket = ticket_open(
        provider=provider,
        customer=customer,
        source="private",
        subject="Script",
        message="<script>alert('x')</script>",
    )
    body = mod_client.get(f"{TICKETS}{ticket.pk}/change/").content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
    assert "<script>alert(" not in body


def test_every_ticket_can_be_searched_and_filtered(mod_client, provider, customer, member, owner):
    escalated(provider, customer, member, subject="Escalated one")
    TicketFactory(provider=provider, subject="A fresh complaint")
    TicketFactory(
        subject="An overdue one",
        created_at=timezone.now() - dt.timedelta(days=3),
    )
    assert "A fresh complaint" in mod_client.get(TICKETS, {"q": "fresh"}).content.decode()
    only_escalated = mod_client.get(TICKETS, {"status__exact": "escalated"}).content.decode()
    assert "Escalated one" in only_escalated and "A fresh complaint" not in only_escalated
    late = mod_client.get(TICKETS, {"late": "first_response"}).content.decode()
    assert "An overdue one" in late and "A fresh complaint" not in late


@pytest.mark.parametrize("url", [TICKETS, EVENTS])
def test_tickets_and_events_are_newest_first_with_a_period_filter_not_a_year_list(
    mod_client, provider, url
):
    TicketFactory(
        provider=provider,
        subject="Complaint from last year",
        created_at=timezone.now() - dt.timedelta(days=400),
    )
    TicketFactory(provider=provider, subject="Complaint from today")
    for ticket in Ticket.objects.all():
        TicketEvent.objects.create(
            ticket=ticket, actor_role=ActorRole.SYSTEM, kind=EventKind.MESSAGE, body=ticket.subject
        )
    if url == EVENTS:  # events are stamped when written: date one of them back
        with time_machine.travel(timezone.now() - dt.timedelta(days=400)):
            TicketEvent.objects.create(
                ticket=Ticket.objects.get(subject="Complaint from last year"),
                actor_role=ActorRole.SYSTEM,
                kind=EventKind.MESSAGE,
                body="Written last year",
            )
    old = "Written last year" if url == EVENTS else "Complaint from last year"

    with CaptureQueriesContext(connection) as queries:
        body = mod_client.get(url).content.decode()
    assert body.index("Complaint from today") < body.index(old)
    # No date hierarchy (its list of years sorts every row), but fixed periods to filter by.
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"]]
    link = re.search(r'<a href="([^"]*)">Past 7 days</a>', body)
    week = mod_client.get(url + html.unescape(link[1])).content.decode()
    assert "Complaint from today" in week and old not in week


# --- nothing is changed by hand -------------------------------------------------------------------
@pytest.fixture(params=["moderator", "superuser"])
def anyone_on_staff(request, client, moderator):
    user = moderator if request.param == "moderator" else StaffFactory(is_superuser=True)
    client.force_login(user)
    return client


def test_nobody_adds_changes_or_deletes_ticket_events(anyone_on_staff, ticket):
    event = TicketEvent.objects.filter(ticket=ticket).first()
    before = list(TicketEvent.objects.values_list("pk", "body"))
    page = anyone_on_staff.get(f"{EVENTS}{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert anyone_on_staff.get(f"{EVENTS}add/").status_code == 403
    assert anyone_on_staff.post(f"{EVENTS}add/", {"body": "Forged"}).status_code == 403
    assert anyone_on_staff.post(f"{EVENTS}{event.pk}/change/", {"body": "x"}).status_code == 403
    assert anyone_on_staff.post(f"{EVENTS}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = anyone_on_staff.post(
        EVENTS, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [event.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    assert list(TicketEvent.objects.values_list("pk", "body")) == before


@pytest.mark.parametrize("base", [TICKETS, QUEUE])
def test_a_tickets_status_cannot_be_changed_through_a_form(anyone_on_staff, ticket, base):
    response = anyone_on_staff.post(f"{base}{ticket.pk}/change/", {"status": "closed"})
    assert response.status_code == 403
    assert anyone_on_staff.post(f"{base}{ticket.pk}/delete/", {"post": "yes"}).status_code == 403
    assert anyone_on_staff.get(f"{base}add/").status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == S.ESCALATED


ADMIN_URLS = [QUEUE, TICKETS, EVENTS]


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_non_staff_get_no_access(client, customer, ticket, url):
    client.force_login(customer)
    response = client.get(url)
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "/login/" in response["Location"]
    assert client.get(f"{url}{ticket.pk}/change/").status_code in (302, 403)


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_a_member_of_the_business_gets_no_admin_access_either(client, member, ticket, url):
    client.force_login(member)
    assert client.get(url).status_code in (302, 403)
    act(client, "close_selected", [ticket], confirm="yes", text="Closed by the business")
    ticket.refresh_from_db()
    assert ticket.status == S.ESCALATED


def test_staff_outside_the_moderators_group_cannot_act(client, ticket):
    client.force_login(StaffFactory())
    assert client.get(QUEUE).status_code == 403
    act(client, "close_selected", [ticket], confirm="yes", text="Closed")
    ticket.refresh_from_db()
    assert ticket.status == S.ESCALATED
    assert "Escalated tickets" not in client.get("/admin/").content.decode()


# --- queries ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [QUEUE, TICKETS, EVENTS, "/admin/", f"{TICKETS}?late=first_response"],
)
def test_changelists_run_a_constant_number_of_queries(
    mod_client, provider, member, owner, url, django_assert_max_num_queries
):
    # Tickets of several providers and customers: a per-row query would show.
    def escalated_elsewhere(n):
        for _ in range(n):
            other = ProviderFactory()
            escalated(other, UserFactory(), MembershipFactory(provider=other).user)

    escalated_elsewhere(2)
    with django_assert_max_num_queries(20) as small:
        assert mod_client.get(url).status_code == 200
    escalated_elsewhere(10)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert mod_client.get(url).status_code == 200


def test_the_ticket_page_runs_a_constant_number_of_queries(
    mod_client, ticket, member, django_assert_max_num_queries
):
    url = f"{TICKETS}{ticket.pk}/change/"
    with django_assert_max_num_queries(30) as small:
        mod_client.get(url)
    for n in range(15):
        ticket_message(ticket=ticket, actor=member, body=f"Note {n}", internal=n % 2 == 0)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert mod_client.get(url).status_code == 200
