"""The ticket pages: what the customer and the business see and may do, the business's queue,
the private complaint form, and the complaint's public outcome on review and provider pages."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from responses.models import (
    ActorRole,
    EventKind,
    Membership,
    Role,
    Ticket,
    TicketEvent,
    TicketSource,
    TicketStatus,
)
from responses.services.tickets import (
    complaint_submit,
    ticket_assign,
    ticket_message,
    ticket_open,
    ticket_record_change,
    ticket_transition,
)
from responses.transitions import moves_for
from reviews.services import review_submit
from tests.factories import ProviderFactory, UserFactory, publish, this_month

pytestmark = pytest.mark.django_db

S = TicketStatus
SECRET_NOTE = "Internal: the receptionist on duty was a locum, check the rota"
BUSINESS_MESSAGE = "Sorry to hear this. Could you tell us which day you rang?"
CUSTOMER_MESSAGE = "It was Tuesday morning, around half past eight."
SUMMARY = "We have added a second phone line and call-backs from 8am."
CHANGE = "A second phone line at 8am and a call-back option"


@pytest.fixture
def provider():
    return ProviderFactory(name="Elms Medical Centre", slug="elms")


@pytest.fixture
def other_provider():
    return ProviderFactory(name="Other Practice", slug="other")


def member(provider, role=Role.RESPONDER, **kwargs):
    user = UserFactory(**kwargs)
    Membership.objects.create(provider=provider, user=user, role=role)
    return user


@pytest.fixture
def responder(provider):
    return member(provider, display_name="Rita Responder")


@pytest.fixture
def other_member(other_provider):
    return member(other_provider, display_name="Oscar Outsider")


def complaint_review(provider, author, moderator, *, rating=2, title="Phones never answered"):
    """A published review of `rating` stars whose ticket review_submit opened with it."""
    review = review_submit(
        author=author,
        provider=provider,
        rating=rating,
        title=title,
        body="I rang every morning for a week and nobody ever picked up the phone.",
        visit_month=this_month(),
        wants_resolution=True,
    )
    return publish(review, moderator)


@pytest.fixture
def review(provider, customer, moderator):
    return complaint_review(provider, customer, moderator)


@pytest.fixture
def ticket(review):
    return Ticket.objects.get(review=review)


def url(ticket):
    return f"/tickets/{ticket.pk}/"


def page(client, user, path):
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def buttons(html):
    """The moves the page offers: (to, label) of every `to` button."""
    return re.findall(r'<button type="submit" name="to" value="([a-z_]+)"[^>]*>([^<]+)<', html)


def fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def _resolved(ticket, responder):
    return ticket_transition(ticket=ticket, to=S.RESOLVED, actor=responder, note=SUMMARY)


# --- who sees what --------------------------------------------------------------------------
def test_customer_sees_the_conversation_but_never_an_internal_note(
    client, ticket, customer, responder
):
    ticket_message(ticket=ticket, actor=responder, body=BUSINESS_MESSAGE)
    ticket_message(ticket=ticket, actor=responder, body=SECRET_NOTE, internal=True)
    ticket_assign(ticket=ticket, actor=responder, assignee=responder)
    ticket_message(ticket=ticket, actor=customer, body=CUSTOMER_MESSAGE)

    html = page(client, customer, url(ticket))
    assert BUSINESS_MESSAGE in html and CUSTOMER_MESSAGE in html
    assert "nobody ever picked up the phone" in html  # the opening message
    assert SECRET_NOTE not in html
    assert "Internal note" not in html and "Rita Responder" not in html.split("Conversation")[0]
    # Who is speaking: the customer, and the business by its name.
    assert "<strong>Customer</strong>" in html
    assert "<strong>Elms Medical Centre</strong>" in html

    html = page(client, responder, url(ticket))
    assert SECRET_NOTE in html and BUSINESS_MESSAGE in html and CUSTOMER_MESSAGE in html
    assert "Internal: not shown to the customer" in html
    assert "Assigned to Rita Responder." in html


def test_automatic_messages_are_marked_as_automatic(client, provider, customer):
    ticket = ticket_open(
        provider=provider,
        customer=customer,
        source=TicketSource.PRIVATE,
        subject="Lost prescription",
        message="My prescription was lost twice this month, and nobody called back.",
        now=timezone.now() - dt.timedelta(hours=3),
    )
    from responses.services.tickets import sla_check

    sla_check()
    html = page(client, customer, url(ticket))
    assert "This is an automatic message from Heard" in html
    assert "<strong>Automatic</strong>" in html
    assert "Automatic message, not from a person" in html


def test_page_shows_status_deadlines_and_assignee(client, ticket, responder):
    html = page(client, responder, url(ticket))
    assert "Where things stand" in html and ">New<" in html
    assert "First response deadline" in html and "Resolution deadline" in html
    assert html.count("<strong>Due</strong>") == 2
    assert "calendar hours" in html
    assert "Nobody yet" in html

    ticket_message(ticket=ticket, actor=responder, body=BUSINESS_MESSAGE)
    ticket_assign(ticket=ticket, actor=responder, assignee=responder)
    html = page(client, responder, url(ticket))
    assert "<strong>Met.</strong>" in html
    assert "Rita Responder (you)" in html


def test_a_missed_deadline_is_said_in_plain_words(client, provider, customer):
    ticket = ticket_open(
        provider=provider,
        customer=customer,
        source=TicketSource.PRIVATE,
        subject="No reply",
        message="Nobody has replied to my letter about the bill for three weeks.",
        now=timezone.now() - dt.timedelta(days=3),
    )
    html = page(client, customer, url(ticket))
    assert "<strong>Missed.</strong>" in html and "late." in html


ACTIONS = {
    "message": {"message-body": "Let me in"},
    "note": {"note-body": "Let me in"},
    "move": {"to": "in_progress", "move-note": ""},
    "resolve": {"to": "resolved", "resolve-note": "Done"},
    "assign": {"assign-assignee": ""},
    "change": {"change-change_made": "Something"},
    "put_right": {"put_right-answer": "yes"},
}


@pytest.mark.parametrize("outsider", ["other_customer", "other_member", "staff", "moderator"])
def test_everyone_else_gets_404_on_the_page_and_every_action(client, ticket, request, outsider):
    user = request.getfixturevalue(outsider)
    client.force_login(user)
    before = (TicketEvent.objects.count(), fresh(ticket).status, fresh(ticket).assignee_id)
    assert client.get(url(ticket)).status_code == 404
    for action, data in ACTIONS.items():
        assert client.post(url(ticket), {"action": action, **data}).status_code == 404, action
    after = (TicketEvent.objects.count(), fresh(ticket).status, fresh(ticket).assignee_id)
    assert after == before


def test_anonymous_visitors_are_sent_to_sign_in(client, ticket):
    for path in (
        url(ticket),
        "/accounts/tickets/",
        "/business/elms/tickets/",
        "/providers/elms/complain/",
    ):
        for response in (client.get(path), client.post(path, {"action": "message"})):
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_member_of_another_provider_cannot_open_its_queue(client, ticket, other_member):
    client.force_login(other_member)
    assert client.get("/business/elms/tickets/").status_code == 404


# --- buttons come from the transition table ------------------------------------------------
def _expected(ticket, role):
    return sorted((to, str(move.label)) for to, move in moves_for(fresh(ticket), role))


def _shown(client, user, ticket):
    return sorted(buttons(page(client, user, url(ticket))))


def test_buttons_match_the_table_through_a_whole_life(client, ticket, customer, responder):
    def check():
        for user, role in ((customer, ActorRole.CUSTOMER), (responder, ActorRole.MEMBER)):
            assert _shown(client, user, ticket) == _expected(ticket, role), fresh(ticket).status

    check()  # new: the business's first moves; nothing yet for the customer
    assert _shown(client, customer, ticket) == []
    ticket_transition(ticket=ticket, to=S.AWAITING_CUSTOMER, actor=responder)
    check()
    ticket_transition(ticket=ticket, to=S.IN_PROGRESS, actor=customer)
    check()
    _resolved(ticket, responder)
    check()
    assert _shown(client, customer, ticket) == [
        ("closed", "Yes, this is resolved"),
        ("in_progress", "No, this is not resolved"),
    ]
    ticket_transition(ticket=ticket, to=S.IN_PROGRESS, actor=customer, note="Still no answer")
    check()  # after a rejected resolution the customer may ask Heard to step in
    assert ("escalated", "Ask Heard to step in") in _shown(client, customer, ticket)
    ticket_transition(ticket=ticket, to=S.ESCALATED, actor=customer)
    check()
    assert _shown(client, responder, ticket) == []


def test_customer_may_escalate_once_a_deadline_has_passed(client, provider, customer):
    ticket = ticket_open(
        provider=provider,
        customer=customer,
        source=TicketSource.PRIVATE,
        subject="No reply",
        message="Nobody has replied to my letter about the bill for three weeks.",
        now=timezone.now() - dt.timedelta(days=3),
    )
    assert _shown(client, customer, ticket) == [("escalated", "Ask Heard to step in")]
    assert _expected(ticket, ActorRole.CUSTOMER) == [("escalated", "Ask Heard to step in")]


# --- acting on the page -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "to"),
    [("customer", "closed"), ("customer", "resolved"), ("responder", "closed"), ("responder", "x")],
)
def test_a_move_not_allowed_now_is_refused_with_a_message_and_no_event(
    client, ticket, request, who, to
):
    client.force_login(request.getfixturevalue(who))
    before = TicketEvent.objects.count()
    response = client.post(url(ticket), {"action": "move", "to": to, "move-note": "by hand"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "That could not be done" in html
    assert "A ticket cannot go from “New”" in html
    assert "Nothing was changed" in html
    assert TicketEvent.objects.count() == before and fresh(ticket).status == S.NEW


def test_proposing_a_resolution_needs_a_summary(client, ticket, responder):
    client.force_login(responder)
    before = TicketEvent.objects.count()
    response = client.post(
        url(ticket), {"action": "resolve", "to": "resolved", "resolve-note": " "}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html and "Say what was done to resolve it." in html
    assert TicketEvent.objects.count() == before and fresh(ticket).status == S.NEW

    response = client.post(
        url(ticket), {"action": "resolve", "to": "resolved", "resolve-note": SUMMARY}
    )
    assert response.status_code == 302 and response["Location"] == url(ticket)
    ticket = fresh(ticket)
    assert (ticket.status, ticket.resolution_summary) == (S.RESOLVED, SUMMARY)
    assert ticket.first_responded_at is not None


def test_member_messages_notes_assigns_and_records_a_change(client, ticket, responder, provider):
    colleague = member(provider, display_name="Colin Colleague")
    client.force_login(responder)
    for data in (
        {"action": "message", "message-body": BUSINESS_MESSAGE},
        {"action": "note", "note-body": SECRET_NOTE},
        {"action": "assign", "assign-assignee": colleague.pk},
        {"action": "change", "change-change_made": CHANGE},
        {"action": "move", "to": "in_progress", "move-note": ""},
    ):
        response = client.post(url(ticket), data)
        assert response.status_code == 302, data
    ticket = fresh(ticket)
    assert (ticket.status, ticket.assignee, ticket.change_made) == (
        S.IN_PROGRESS,
        colleague,
        CHANGE,
    )
    kinds = list(ticket.events.values_list("kind", "internal"))
    assert kinds == [
        (EventKind.OPENED, False),
        (EventKind.MESSAGE, False),
        (EventKind.NOTE, True),
        (EventKind.ASSIGNMENT, True),
        (EventKind.CHANGE_MADE, False),
        (EventKind.STATUS, False),
    ]
    # Someone outside the business cannot be assigned: a form error, nothing written.
    response = client.post(url(ticket), {"action": "assign", "assign-assignee": UserFactory().pk})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert ticket.events.count() == 6


def test_an_empty_message_is_a_form_error(client, ticket, customer):
    client.force_login(customer)
    response = client.post(url(ticket), {"action": "message", "message-body": ""})
    assert response.status_code == 200 and "Write your message." in response.content.decode()
    assert ticket.events.count() == 1


@pytest.mark.parametrize(
    ("who", "data"),
    [
        ("customer", {"action": "note", "note-body": "I should not be able to"}),
        ("customer", {"action": "change", "change-change_made": "Nothing"}),
        ("customer", {"action": "assign", "assign-assignee": ""}),
        ("responder", {"action": "put_right", "put_right-answer": "yes"}),
    ],
)
def test_actions_not_for_your_role_are_forbidden(client, ticket, request, who, data):
    client.force_login(request.getfixturevalue(who))
    assert client.post(url(ticket), data).status_code == 403
    assert ticket.events.count() == 1


def test_an_unknown_action_is_a_bad_request(client, ticket, customer):
    client.force_login(customer)
    assert client.post(url(ticket), {"action": "delete"}).status_code == 400


def test_customer_confirms_then_answers_once_and_is_invited_to_update(
    client, ticket, customer, responder, review
):
    _resolved(ticket, responder)
    html = page(client, customer, url(ticket))
    assert "The resolution the business proposes" in html and SUMMARY in html

    response = client.post(url(ticket), {"action": "move", "to": "closed", "move-note": ""})
    assert response.status_code == 302
    ticket = fresh(ticket)
    assert (ticket.status, ticket.confirmed_by_customer) == (S.CLOSED, True)

    html = page(client, customer, url(ticket))
    assert "Was this put right?" in html and 'name="put_right-answer"' in html
    assert f'href="/accounts/reviews/{review.pk}/edit/"' in html
    assert 'name="message-body"' not in html  # a closed ticket takes no more messages
    assert buttons(html) == []

    response = client.post(url(ticket), {"action": "put_right", "put_right-answer": "partly"})
    assert response.status_code == 302 and fresh(ticket).put_right == "partly"
    html = page(client, customer, url(ticket))
    assert 'name="put_right-answer"' not in html
    assert "The customer answered: Partly" in html

    response = client.post(url(ticket), {"action": "put_right", "put_right-answer": "no"})
    assert response.status_code == 409 and "You have already answered." in response.content.decode()
    assert fresh(ticket).put_right == "partly"
    assert ticket.events.filter(kind=EventKind.PUT_RIGHT).count() == 1


def test_a_customer_rejects_a_resolution_with_a_note(client, ticket, customer, responder):
    _resolved(ticket, responder)
    client.force_login(customer)
    response = client.post(
        url(ticket), {"action": "move", "to": "in_progress", "move-note": "Still engaged at 8am"}
    )
    assert response.status_code == 302
    ticket = fresh(ticket)
    assert ticket.status == S.IN_PROGRESS and ticket.resolution_rejected_at is not None
    assert "Still engaged at 8am" in page(client, responder, url(ticket))


# --- the private complaint form -------------------------------------------------------------
def test_private_complaint_goes_to_the_business_only(client, provider, customer, responder):
    html = page(client, customer, provider.get_absolute_url())
    assert 'href="/providers/elms/complain/"' in html and "Contact the business privately" in html

    html = page(client, customer, "/providers/elms/complain/")
    assert "This is a private complaint" in html and "never published" in html
    response = client.post(
        "/providers/elms/complain/",
        {"subject": "Lost prescription", "message": "My prescription was lost twice this month."},
    )
    ticket = Ticket.objects.get(customer=customer, source=TicketSource.PRIVATE)
    assert response.status_code == 302 and response["Location"] == url(ticket)
    assert ticket.review is None and ticket.status == S.NEW
    html = page(client, customer, url(ticket))
    assert "sent privately to Elms Medical Centre" in html
    assert "My prescription was lost twice this month." in html
    assert "Lost prescription" in page(client, responder, "/business/elms/tickets/")
    assert "Lost prescription" not in page(client, UserFactory(), provider.get_absolute_url())


def test_complaint_form_errors_and_members_refused(client, provider, customer, responder):
    client.force_login(customer)
    response = client.post("/providers/elms/complain/", {"subject": "", "message": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Give your complaint a short title." in html and "Write your complaint." in html
    client.force_login(responder)
    response = client.post(
        "/providers/elms/complain/",
        {"subject": "Mine", "message": "A complaint about my own team."},
    )
    assert "You are a member of this business" in response.content.decode()
    assert not Ticket.objects.exists()


def test_the_review_form_still_says_a_complaint_never_delays_or_hides_it(
    client, provider, customer
):
    html = page(client, customer, "/providers/elms/review/")
    assert "I want the business to resolve this" in html
    assert "never delays or hides your review" in html


# --- lists ------------------------------------------------------------------------------------
def test_my_tickets_lists_own_newest_first(client, provider, other_provider, customer, ticket):
    later = complaint_submit(
        provider=other_provider, customer=customer, subject="Second", message="Second complaint."
    )
    complaint_submit(
        provider=provider, customer=UserFactory(), subject="Not mine", message="Someone else's."
    )
    html = page(client, customer, "/accounts/tickets/")
    assert "Not mine" not in html
    assert html.index("Second") < html.index("Phones never answered")
    assert "Other Practice" in html and "Elms Medical Centre" in html
    assert f'href="{url(later)}"' in html
    assert 'aria-current="page">Your complaints<' in html


def _aged(provider, subject, hours_ago, customer=None):
    return ticket_open(
        provider=provider,
        customer=customer or UserFactory(),
        source=TicketSource.PRIVATE,
        subject=subject,
        message=f"About {subject}, in some detail.",
        now=timezone.now() - dt.timedelta(hours=hours_ago),
    )


def _order(html, subjects):
    found = [s for s in subjects if f">{s}</a>" in html]
    return sorted(found, key=lambda s: html.index(f">{s}</a>"))


def test_queue_sorts_by_nearest_deadline_and_filters(client, provider, other_provider, responder):
    late = _aged(provider, "Late one", 72)  # first response 24 hours overdue
    due_soon = _aged(provider, "Due soon", 40)  # first response due in 8 hours
    fresh_one = _aged(provider, "Fresh one", 1)  # first response due in 47 hours
    answered = _aged(provider, "Answered", 2)  # next: resolution, in about 14 days
    ticket_message(ticket=answered, actor=responder, body=BUSINESS_MESSAGE)
    resolved = _aged(provider, "Resolved one", 80)
    _resolved(resolved, responder)  # waiting for the customer: no deadline running
    closed = _aged(provider, "Closed one", 5)
    _resolved(closed, responder)
    ticket_transition(ticket=closed, to=S.CLOSED, actor=closed.customer)
    _aged(other_provider, "Not ours", 100)
    ticket_assign(ticket=due_soon, actor=responder, assignee=responder)
    ticket_transition(ticket=fresh_one, to=S.ACKNOWLEDGED, actor=responder)
    everything = ["Late one", "Due soon", "Fresh one", "Answered", "Resolved one", "Closed one"]

    html = page(client, responder, "/business/elms/tickets/")
    assert _order(html, [*everything, "Not ours"]) == [
        "Late one",
        "Due soon",
        "Answered",  # acknowledging is a first response: both are on the resolution clock
        "Fresh one",
        "Resolved one",
    ]
    assert "overdue by" in html and "Waiting for the customer’s answer" in html
    assert 'aria-current="page">Complaints<' in html
    # No deadline running (waiting for the customer, or closed): last, newest first.
    assert _order(page(client, responder, "/business/elms/tickets/?status=all"), everything) == [
        "Late one",
        "Due soon",
        "Answered",
        "Fresh one",
        "Closed one",
        "Resolved one",
    ]
    assert _order(page(client, responder, "/business/elms/tickets/?overdue=on"), everything) == [
        "Late one"
    ]
    assert _order(page(client, responder, "/business/elms/tickets/?mine=on"), everything) == [
        "Due soon"
    ]
    assert _order(
        page(client, responder, "/business/elms/tickets/?status=acknowledged"), everything
    ) == ["Fresh one"]
    assert _order(page(client, responder, "/business/elms/tickets/?status=closed"), everything) == [
        "Closed one"
    ]
    assert late.pk and fresh_one.pk


def test_queue_counts_a_late_resolution_as_overdue(client, provider, responder):
    old = _aged(provider, "Old but answered", 24 * 15)
    ticket_message(ticket=old, actor=responder, body=BUSINESS_MESSAGE)
    html = page(client, responder, "/business/elms/tickets/?overdue=on")
    assert _order(html, ["Old but answered"]) == ["Old but answered"]
    assert "Resolution:" in html


def test_queue_is_paginated(client, provider, responder):
    for i in range(21):
        _aged(provider, f"Ticket {i:02}", 30 - i)
    html = page(client, responder, "/business/elms/tickets/")
    assert "Page 1 of 2" in html and html.count('href="/tickets/') == 20
    html = page(client, responder, "/business/elms/tickets/?page=2")
    assert html.count('href="/tickets/') == 1


# --- public outcome -----------------------------------------------------------------------------
def _in_progress(ticket, customer, responder):
    ticket_message(ticket=ticket, actor=responder, body=BUSINESS_MESSAGE)


def _business_says(ticket, customer, responder):
    _resolved(ticket, responder)


def _confirmed(ticket, customer, responder):
    _resolved(ticket, responder)
    ticket_transition(ticket=ticket, to=S.CLOSED, actor=customer)


def _not_resolved(ticket, customer, responder):
    _resolved(ticket, responder)
    ticket_transition(ticket=ticket, to=S.IN_PROGRESS, actor=customer, note=CUSTOMER_MESSAGE)


@pytest.mark.parametrize(
    ("steps", "label"),
    [
        (_in_progress, "Complaint in progress"),
        (_business_says, "The business says this is resolved"),
        (_confirmed, "Resolved — confirmed by the reviewer"),
        (_not_resolved, "Not resolved"),
    ],
)
def test_public_outcome_on_provider_and_review_pages(
    client, ticket, review, customer, responder, provider, steps, label
):
    ticket_message(ticket=ticket, actor=responder, body=SECRET_NOTE, internal=True)
    ticket_message(ticket=ticket, actor=customer, body=CUSTOMER_MESSAGE)
    steps(ticket, customer, responder)
    ticket_record_change(ticket=ticket, actor=responder, text=CHANGE)
    for path in (provider.get_absolute_url(), review.get_absolute_url()):
        html = client.get(path).content.decode()
        card = html[html.index(f'id="review-{review.pk}"') :]
        assert f"<strong>Complaint:</strong> {label}</p>" in card
        assert f"<strong>Change made:</strong> {CHANGE}</p>" in card
        for private in (SECRET_NOTE, BUSINESS_MESSAGE, CUSTOMER_MESSAGE, SUMMARY):
            assert private not in html, (path, private)


def test_reviews_without_a_ticket_show_no_outcome(client, provider, customer, moderator):
    complaint_review(provider, customer, moderator, rating=5)  # wants_resolution: a ticket
    happy = publish(
        review_submit(
            author=UserFactory(),
            provider=provider,
            rating=5,
            title="Lovely",
            body="Kind staff, quick appointment and a clear explanation of everything.",
            visit_month=this_month(),
        ),
        moderator,
    )
    html = client.get(happy.get_absolute_url()).content.decode()
    assert "Complaint:" not in html
    assert client.get(provider.get_absolute_url()).content.decode().count("Complaint:") == 1


def test_you_said_we_did_lists_changes_newest_first(
    client, provider, other_provider, customer, responder, moderator
):
    first = _aged(provider, "First", 10)
    second = _aged(provider, "Second", 5)
    _aged(provider, "No change", 5)
    elsewhere = _aged(other_provider, "Elsewhere", 5)
    ticket_record_change(ticket=first, actor=responder, text="Longer opening hours on Saturdays")
    ticket_message(ticket=second, actor=responder, body=BUSINESS_MESSAGE)
    ticket_record_change(ticket=second, actor=responder, text="Online booking for blood tests")
    outsider = member(other_provider)
    ticket_record_change(ticket=elsewhere, actor=outsider, text="Something at the other place")

    html = client.get(provider.get_absolute_url()).content.decode()
    section = html[html.index("You said, we did") :]
    assert section.index("Online booking") < section.index("Longer opening hours")
    assert timezone.localtime().strftime("%B %Y") in section
    assert "Something at the other place" not in html
    assert BUSINESS_MESSAGE not in html and "About First" not in html


def test_no_you_said_we_did_without_changes(client, provider, ticket):
    assert "You said, we did" not in client.get(provider.get_absolute_url()).content.decode()


# --- queries ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 20])
def test_ticket_page_runs_a_constant_number_of_queries(
    client, ticket, customer, responder, n, django_assert_max_num_queries
):
    for i in range(n):
        ticket_message(ticket=ticket, actor=customer, body=f"Customer message {i}")
        ticket_message(ticket=ticket, actor=responder, body=f"Note {i}", internal=True)
    ticket_assign(ticket=ticket, actor=responder, assignee=responder)
    for user in (customer, responder):
        client.force_login(user)
        with django_assert_max_num_queries(7):
            assert client.get(url(ticket)).status_code == 200


@pytest.mark.parametrize("n", [2, 20])
def test_lists_run_a_constant_number_of_queries(
    client, provider, customer, responder, n, django_assert_max_num_queries
):
    for i in range(n):
        ticket = _aged(provider, f"Ticket {i}", i, customer=customer)
        if i % 2:
            ticket_assign(ticket=ticket, actor=responder, assignee=responder)
    client.force_login(responder)
    with django_assert_max_num_queries(6):
        assert client.get("/business/elms/tickets/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get("/business/elms/tickets/?overdue=on&mine=on").status_code == 200
    client.force_login(customer)
    with django_assert_max_num_queries(5):
        assert client.get("/accounts/tickets/").status_code == 200


@pytest.mark.parametrize("n", [2, 20])
def test_provider_page_with_complaints_runs_a_constant_number_of_queries(
    client, provider, responder, moderator, n, django_assert_max_num_queries
):
    for i in range(n):
        review = complaint_review(provider, UserFactory(), moderator, title=f"Complaint {i}")
        ticket_record_change(ticket=review.ticket, actor=responder, text=f"Change {i}")
    with django_assert_max_num_queries(12):
        assert client.get(provider.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get(review.get_absolute_url()).status_code == 200
