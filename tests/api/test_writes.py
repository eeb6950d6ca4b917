"""Writes through the API: what the services record, what is refused, and how."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from responses.models import TicketEvent
from reviews.models import Review, ReviewRevision
from tests.factories import InvitationFactory, UserFactory, this_month

BODY = "The appointment ran on time and the dentist explained every step clearly."


def review_input(**changes):
    return {
        "provider": "hilltop",
        "rating": 4,
        "title": "On time",
        "body": BODY,
        "visit_date": this_month().isoformat(),
        **changes,
    }


@pytest.mark.django_db
def test_post_review_is_pending_and_opens_a_ticket_for_a_complaint(world, as_user):
    client = as_user(world["customer"])
    response = client.post("/api/v1/reviews/", review_input(rating=1), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    review = Review.objects.get(pk=body["id"])
    assert review.author == world["customer"] and review.ticket.status == "new"


@pytest.mark.django_db
def test_post_review_through_an_invitation_is_invited(world, as_user):
    invitation = InvitationFactory(provider=world["other_provider"])
    response = as_user(world["customer"]).post(
        "/api/v1/reviews/", review_input(invitation_token=invitation.token), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "invited"
    invitation.refresh_from_db()
    assert invitation.used_at is not None


@pytest.mark.django_db
def test_unusable_invitation_is_a_400_on_invitation_token(world, as_user):
    invitation = InvitationFactory(provider=world["provider"])  # for another provider
    response = as_user(world["customer"]).post(
        "/api/v1/reviews/", review_input(invitation_token=invitation.token), format="json"
    )
    assert response.status_code == 400
    assert response.json()["invitation_token"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rating": 9}, "rating"),
        ({"rating": "five"}, "rating"),
        ({"title": ""}, "title"),
        ({"body": "Too short."}, "body"),
        ({"visit_date": "yesterday"}, "visit_date"),
        ({"visit_date": (timezone.localdate() + dt.timedelta(days=62)).isoformat()}, "visit_date"),
        ({"visit_date": "2001-01-01"}, "visit_date"),
        ({"provider": "nobody"}, "provider"),
        ({"aspects": {"speed": "fast"}}, "aspects"),
        ({"aspects": {"unknown-question": 3}}, "aspects"),
        ({"status": "published"}, "status"),
        ({"author": 1}, "author"),
    ],
)
def test_bad_review_input_is_400_per_field(world, as_user, changes, field):
    response = as_user(world["customer"]).post(
        "/api/v1/reviews/", review_input(**changes), format="json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body[field] and isinstance(body["detail"], str)
    assert not Review.objects.filter(provider=world["other_provider"]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["provider", "rating", "title", "body", "visit_date"])
def test_missing_fields_are_400(world, as_user, field):
    data = review_input()
    del data[field]
    response = as_user(world["customer"]).post("/api/v1/reviews/", data, format="json")
    assert response.status_code == 400
    assert response.json()[field]


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', "null"])
def test_malformed_json_is_400(world, as_user, raw):
    client = as_user(world["customer"])
    response = client.generic("POST", "/api/v1/reviews/", raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"]


@pytest.mark.django_db
def test_patch_makes_a_pending_revision_and_keeps_the_published_text(world, as_user):
    review = world["review"]
    response = as_user(world["customer"]).patch(
        f"/api/v1/reviews/{review.pk}/", {"title": "A fairer title"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["pending_edit"]["title"] == "A fairer title"
    assert body["review"]["title"] == review.title and body["review"]["status"] == "published"
    assert ReviewRevision.objects.get(review=review).status == "pending"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        {"status": "published"},
        {"author": 999},
        {"provider": "hilltop"},
        {"helpful_count": 100},
        {"title": "Sneaky", "status": "removed"},
    ],
)
def test_patch_cannot_change_status_author_provider_or_counts(world, as_user, changes):
    review = world["review"]
    response = as_user(world["customer"]).patch(
        f"/api/v1/reviews/{review.pk}/", changes, format="json"
    )
    assert response.status_code == 400
    review.refresh_from_db()
    assert (review.status, review.author, review.provider, review.helpful_count) == (
        "published",
        world["customer"],
        world["provider"],
        0,
    )
    assert not ReviewRevision.objects.exists()


@pytest.mark.django_db
def test_delete_withdraws(world, as_user):
    review = world["review"]
    assert as_user(world["customer"]).delete(f"/api/v1/reviews/{review.pk}/").status_code == 204
    review.refresh_from_db()
    assert review.status == "withdrawn"
    world["provider"].refresh_from_db()
    assert world["provider"].review_count == 1


@pytest.mark.django_db
def test_vote_and_unvote(world, as_user):
    client = as_user(world["other_customer"])
    url = f"/api/v1/reviews/{world['review'].pk}/helpful/"
    assert client.post(url).json() == {"helpful_count": 1, "voted": True}
    assert client.post(url).json() == {"helpful_count": 1, "voted": True}
    assert client.delete(url).json() == {"helpful_count": 0, "voted": False}


@pytest.mark.django_db
def test_reply_then_edit_of_published_reply_is_a_revision(world, as_user):
    client = as_user(world["member"])
    first = client.post(
        f"/api/v1/reviews/{world['review'].pk}/reply/", {"body": "We are sorry."}, format="json"
    )
    assert first.status_code == 201 and first.json()["status"] == "pending"
    edit = client.post(
        f"/api/v1/reviews/{world['replied'].pk}/reply/", {"body": "Thanks again!"}, format="json"
    )
    assert edit.status_code == 201 and edit.json()["kind"] == "revision"


@pytest.mark.django_db
def test_transition_not_allowed_is_409_and_records_nothing(world, as_user):
    ticket = world["ticket"]
    events = TicketEvent.objects.count()
    response = as_user(world["member"]).post(
        f"/api/v1/tickets/{ticket.pk}/transition/", {"to": "closed"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["detail"]
    assert TicketEvent.objects.count() == events
    ticket.refresh_from_db()
    assert ticket.status == "new"


@pytest.mark.django_db
def test_transition_returns_the_ticket_and_its_moves(world, as_user):
    response = as_user(world["member"]).post(
        f"/api/v1/tickets/{world['ticket'].pk}/transition/",
        {"to": "resolved", "note": "Refunded."},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved"
    moves = as_user(world["customer"]).get(f"/api/v1/tickets/{world['ticket'].pk}/").json()["moves"]
    assert {m["to"] for m in moves} >= {"closed", "in_progress"}


@pytest.mark.django_db
def test_transition_to_an_unknown_status_is_400(world, as_user):
    response = as_user(world["member"]).post(
        f"/api/v1/tickets/{world['ticket'].pk}/transition/", {"to": "done"}, format="json"
    )
    assert response.status_code == 400 and response.json()["to"]


@pytest.mark.django_db
def test_internal_notes_never_reach_the_customer(world, as_user):
    url = f"/api/v1/tickets/{world['ticket'].pk}/"
    note = as_user(world["member"]).post(
        url + "messages/", {"body": "Check the rota", "internal": True}, format="json"
    )
    assert note.status_code == 201 and note.json()["internal"] is True
    assert "Check the rota" in str(as_user(world["member"]).get(url).json())
    assert "Check the rota" not in str(as_user(world["customer"]).get(url).json())
    refused = as_user(world["customer"]).post(
        url + "messages/", {"body": "Secret", "internal": True}, format="json"
    )
    assert refused.status_code == 403


@pytest.mark.django_db
def test_ticket_filters(world, as_user):
    client = as_user(world["member"])
    assert client.get("/api/v1/tickets/", {"status": "new"}).json()["count"] == 1
    assert client.get("/api/v1/tickets/", {"status": "closed"}).json()["count"] == 0
    assert client.get("/api/v1/tickets/", {"provider": "hilltop"}).json()["count"] == 0
    assert client.get("/api/v1/tickets/", {"overdue": "true"}).json()["count"] == 0
    world["ticket"].first_response_due = timezone.now() - dt.timedelta(hours=1)
    world["ticket"].save()
    assert client.get("/api/v1/tickets/", {"overdue": "true"}).json()["count"] == 1
    assert client.get("/api/v1/tickets/", {"status": "nope"}).status_code == 400


# --- throttles ---------------------------------------------------------------------------------
def _rates(**rates):
    from django.conf import settings

    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                **rates,
            },
        }
    )


@pytest.mark.django_db
def test_reports_are_throttled_with_retry_after(world, as_user):
    client = as_user(world["other_customer"])
    url = f"/api/v1/reviews/{world['review'].pk}/reports/"
    with _rates(reports="1/hour"):
        assert client.post(url, {"reason": "spam"}, format="json").status_code == 201
        response = client.post(url, {"reason": "other"}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["detail"]


@pytest.mark.django_db
def test_review_submission_is_throttled_per_ip_across_accounts(world, as_user):
    with _rates(review_submit_ip="1/hour"):
        assert (
            as_user(world["customer"])
            .post("/api/v1/reviews/", review_input(), format="json")
            .status_code
            == 201
        )
        second = as_user(world["other_customer"]).post(
            "/api/v1/reviews/", review_input(provider="riverside-dental"), format="json"
        )
    assert second.status_code == 429 and second["Retry-After"]


@pytest.mark.django_db
def test_anonymous_reads_are_throttled(world, api):
    with _rates(anon="2/minute"):
        assert api.get("/api/v1/categories/").status_code == 200
        assert api.get("/api/v1/categories/").status_code == 200
        assert api.get("/api/v1/categories/").status_code == 429


# --- tokens ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_token_for_a_verified_account_works_as_authentication(customer, password, api):
    response = api.post(
        "/api/v1/auth/token/", {"email": customer.email, "password": password}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=customer).key == token
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/tickets/").status_code == 200


@pytest.mark.django_db
def test_unverified_account_gets_a_clear_400(db, password, api):
    user = UserFactory(verified=False)
    response = api.post(
        "/api/v1/auth/token/", {"email": user.email, "password": password}, format="json"
    )
    assert response.status_code == 400
    assert "Confirm your email" in response.json()["detail"]
    assert not Token.objects.exists()


@pytest.mark.django_db
def test_wrong_password_and_unknown_account_get_the_same_answer(customer, api):
    wrong = api.post(
        "/api/v1/auth/token/", {"email": customer.email, "password": "nope"}, format="json"
    )
    unknown = api.post(
        "/api/v1/auth/token/", {"email": "nobody@example.com", "password": "nope"}, format="json"
    )
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json() == unknown.json()


@pytest.mark.django_db
def test_token_requests_are_limited_like_the_login_form(customer, password, api):
    """allauth's login_failed: 5 failures per address in 5 minutes, then even the right
    password is refused."""
    for _ in range(5):
        api.post("/api/v1/auth/token/", {"email": customer.email, "password": "x"}, format="json")
    response = api.post(
        "/api/v1/auth/token/", {"email": customer.email, "password": password}, format="json"
    )
    assert response.status_code == 429
    assert response["Retry-After"]
