"""Every endpoint × every kind of caller: the expected status, and nothing written when the
answer is a refusal."""

import pytest

from responses.models import Reply, ReplyRevision, Ticket, TicketEvent
from reviews.models import HelpfulVote, Invitation, Report, Review, ReviewRevision
from tests.factories import this_month

ROLES = ["anonymous", "customer", "other_customer", "member", "other_member", "moderator"]
MODELS = [
    Review,
    ReviewRevision,
    HelpfulVote,
    Report,
    Reply,
    ReplyRevision,
    Ticket,
    TicketEvent,
    Invitation,
]
REVIEW_BODY = "The appointment ran on time and the dentist explained every step clearly."


def _new_review():
    return {
        "provider": "riverside-dental",
        "rating": 4,
        "title": "On time",
        "body": REVIEW_BODY,
        "visit_date": this_month().isoformat(),
    }


# (name, method, url template, body, {role: status}); "*" is every signed-in role.
MATRIX = [
    ("categories", "get", "/api/v1/categories/", None, {"*": 200, "anonymous": 200}),
    ("providers", "get", "/api/v1/providers/", None, {"*": 200, "anonymous": 200}),
    ("provider", "get", "/api/v1/providers/riverside-dental/", None, {"*": 200, "anonymous": 200}),
    (
        "provider reviews",
        "get",
        "/api/v1/providers/riverside-dental/reviews/",
        None,
        {"*": 200, "anonymous": 200},
    ),
    ("review", "get", "/api/v1/reviews/{review}/", None, {"*": 200, "anonymous": 200}),
    (
        "review create",
        "post",
        "/api/v1/reviews/",
        _new_review,
        # The author already has a live review here; a member may not rate their business.
        {"anonymous": 401, "customer": 400, "member": 400, "*": 201},
    ),
    (
        "review edit",
        "patch",
        "/api/v1/reviews/{review}/",
        {"title": "Edited title"},
        {"anonymous": 401, "customer": 200, "*": 403},
    ),
    (
        "review withdraw",
        "delete",
        "/api/v1/reviews/{review}/",
        None,
        {"anonymous": 401, "customer": 204, "*": 403},
    ),
    (
        "vote",
        "post",
        "/api/v1/reviews/{review}/helpful/",
        None,
        {"anonymous": 401, "customer": 400, "*": 200},
    ),
    ("unvote", "delete", "/api/v1/reviews/{review}/helpful/", None, {"anonymous": 401, "*": 200}),
    (
        "report",
        "post",
        "/api/v1/reviews/{review}/reports/",
        {"reason": "spam", "detail": "Looks copied."},
        {"anonymous": 401, "*": 201},
    ),
    (
        "reply",
        "post",
        "/api/v1/reviews/{review}/reply/",
        {"body": "We are sorry and would like to put this right."},
        {"anonymous": 401, "member": 201, "*": 403},
    ),
    ("tickets", "get", "/api/v1/tickets/", None, {"anonymous": 401, "*": 200}),
    (
        "ticket",
        "get",
        "/api/v1/tickets/{ticket}/",
        None,
        {"anonymous": 401, "customer": 200, "member": 200, "*": 404},
    ),
    (
        "message",
        "post",
        "/api/v1/tickets/{ticket}/messages/",
        {"body": "Any news?"},
        {"anonymous": 401, "customer": 201, "member": 201, "*": 404},
    ),
    (
        "transition",
        "post",
        "/api/v1/tickets/{ticket}/transition/",
        {"to": "acknowledged"},
        # The customer takes part but may not acknowledge: not allowed (409), not hidden.
        {"anonymous": 401, "customer": 409, "member": 200, "*": 404},
    ),
    (
        "invitations",
        "post",
        "/api/v1/business/providers/riverside-dental/invitations/",
        {"emails": ["new.customer@example.com"]},
        # A responder is on the team but may not invite: 403; outsiders do not see it: 404.
        {"anonymous": 401, "member": 403, "*": 404},
    ),
]


def _counts():
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", MATRIX, ids=[c[0] for c in MATRIX])
def test_authorisation_matrix(world, as_user, case, role):
    _name, method, url, body, expected = case
    user = None if role == "anonymous" else world[role]
    url = url.format(review=world["review"].pk, ticket=world["ticket"].pk)
    body = body() if callable(body) else body
    want = expected.get(role, expected.get("*"))
    before = _counts()
    status_before = Review.objects.get(pk=world["review"].pk).status
    response = getattr(as_user(user), method)(url, body, format="json")
    assert response.status_code == want, response.content
    if want >= 400:
        assert "detail" in response.json()
        assert _counts() == before
        assert Review.objects.get(pk=world["review"].pk).status == status_before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["member", "other_member", "customer", "other_customer"])
def test_ticket_lists_never_include_another_providers_tickets(world, as_user, role):
    body = as_user(world[role]).get("/api/v1/tickets/").json()
    ids = {t["id"] for t in body["results"]}
    expected = {
        "member": {world["ticket"].pk},
        "customer": {world["ticket"].pk},
        "other_member": {world["other_ticket"].pk},
        "other_customer": {world["other_ticket"].pk},
    }[role]
    assert ids == expected
    assert "@" not in str(body)


@pytest.mark.django_db
def test_owner_sends_invitations(world, as_user, mailoutbox):
    response = as_user(world["owner"]).post(
        "/api/v1/business/providers/riverside-dental/invitations/",
        {"emails": ["a@example.com", "b@example.com"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["sent"] == 2
    assert Invitation.objects.filter(provider=world["provider"]).count() == 2


@pytest.mark.django_db
def test_bad_invitation_list_is_400_under_emails(world, as_user):
    response = as_user(world["owner"]).post(
        "/api/v1/business/providers/riverside-dental/invitations/",
        {"emails": ["not-an-address", "a@example.com"]},
        format="json",
    )
    assert response.status_code == 400
    assert "Line 1" in response.json()["emails"][0]
    assert Invitation.objects.count() == 0
