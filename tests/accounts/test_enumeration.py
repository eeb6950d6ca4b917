"""Nobody can learn whether an address has an account: signup, sign-in, password reset,
sign-in by code and the API token endpoint answer the same for a known and an unknown one."""

import re

import pytest
from django.core import mail

from accounts.models import User
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

KNOWN, UNKNOWN = "known@example.com", "nobody@example.com"


def page(response, email: str) -> tuple:
    """What a caller sees, less what differs on every response or merely echoes the input."""
    body = response.content.decode()
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", body)
    body = re.sub(r'nonce="[^"]+"', "NONCE", body)
    body = body.replace(email, "EMAIL")
    return response.status_code, response.get("Location"), body


@pytest.fixture
def known(db):
    return UserFactory(email=KNOWN)


def _both(client_factory, known_request, unknown_request):
    return page(known_request(client_factory()), KNOWN), page(
        unknown_request(client_factory()), UNKNOWN
    )


def _post_and_follow(client, url, data):
    first = client.post(url, data)
    second = client.get(first["Location"]) if first.status_code == 302 else None
    return first, second


@pytest.mark.usefixtures("known")
def test_signup_with_a_taken_address_looks_like_any_signup(
    client_factory, django_capture_on_commit_callbacks
):
    def signup(email):
        client = client_factory()
        data = {
            "email": email,
            "display_name": "Sam",
            "password1": "a-long-unusual-password-42",
            "password2": "a-long-unusual-password-42",
        }
        with django_capture_on_commit_callbacks(execute=True):
            first, second = _post_and_follow(client, "/accounts/signup/", data)
        return page(first, email), page(second, email)

    assert signup(KNOWN) == signup(UNKNOWN)
    assert User.objects.filter(email=KNOWN).count() == 1
    # the owner of the taken address is told in their own mailbox, nobody else
    assert sorted(m.to[0] for m in mail.outbox) == [KNOWN, UNKNOWN]


SIGNUP = {
    "email": UNKNOWN,
    "display_name": "Sam",
    "password1": "a-long-unusual-password-42",
    "password2": "a-long-unusual-password-42",
}


def test_a_bot_that_fills_the_honeypot_is_told_it_signed_up_and_nothing_happens(
    client_factory, django_capture_on_commit_callbacks
):
    def signup(**extra):
        with django_capture_on_commit_callbacks(execute=True):
            first, second = _post_and_follow(
                client_factory(), "/accounts/signup/", {**SIGNUP, **extra}
            )
        return page(first, UNKNOWN), page(second, UNKNOWN)

    bot = signup(website="https://spam.example")
    assert not User.objects.exists()
    assert mail.outbox == []
    person = signup(website="")
    assert User.objects.filter(email=UNKNOWN).exists()
    assert len(mail.outbox) == 1
    assert bot == person


def test_the_honeypot_is_hidden_from_people_and_screen_readers_but_labelled(client):
    body = client.get("/accounts/signup/").content.decode()
    wrapper = re.search(r'<div class="visually-hidden" aria-hidden="true">(.*?)</div>', body, re.S)
    assert wrapper, "the honeypot is not in its hidden wrapper"
    field = wrapper.group(1)
    assert '<label for="id_website">Leave this field empty</label>' in field
    assert re.search(r'<input type="text" name="website" tabindex="-1" autocomplete="off"', field)
    assert body.count('name="website"') == 1
    assert "style=" not in body  # an inline style would be blocked by the CSP anyway


@pytest.mark.usefixtures("known")
def test_sign_in_with_a_wrong_password_says_the_same_for_both(client_factory):
    def login(email):
        response = client_factory().post(
            "/accounts/login/", {"login": email, "password": "wrong-password"}
        )
        return page(response, email)

    known, unknown = login(KNOWN), login(UNKNOWN)
    assert known == unknown
    assert known[0] == 200
    assert "The email address and/or password you specified are not correct" in known[2]


def test_an_unverified_account_with_a_wrong_password_says_the_same_too(client_factory):
    UserFactory(email=KNOWN, verified=False)
    responses = [
        page(client_factory().post("/accounts/login/", {"login": e, "password": "x"}), e)
        for e in (KNOWN, UNKNOWN)
    ]
    assert responses[0] == responses[1]


@pytest.mark.usefixtures("known")
def test_password_reset_answers_the_same_for_both(
    client_factory, django_capture_on_commit_callbacks
):
    def reset(email):
        with django_capture_on_commit_callbacks(execute=True):
            first, second = _post_and_follow(
                client_factory(), "/accounts/password/reset/", {"email": email}
            )
        return page(first, email), page(second, email)

    assert reset(KNOWN) == reset(UNKNOWN)


@pytest.mark.usefixtures("known")
def test_asking_for_a_sign_in_code_answers_the_same_for_both(
    client_factory, django_capture_on_commit_callbacks
):
    def request_code(email):
        with django_capture_on_commit_callbacks(execute=True):
            first, second = _post_and_follow(
                client_factory(), "/accounts/login/code/", {"email": email}
            )
        return page(first, email), page(second, email)

    known, unknown = request_code(KNOWN), request_code(UNKNOWN)
    assert known == unknown
    assert known[0][:2] == (302, "/accounts/login/code/confirm/")
    # the code goes to the account's mailbox; the unknown address learns, in its own, that
    # it has no account
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        (KNOWN, "[Heard] Sign-In Code"),
        (UNKNOWN, "[Heard] Unknown Account"),
    ]


@pytest.mark.parametrize("verified", [True, False])
def test_api_token_answers_the_same_without_the_right_password(api_client_factory, verified):
    UserFactory(email=KNOWN, verified=verified)
    answers = {
        email: api_client_factory().post(
            "/api/v1/auth/token/", {"email": email, "password": "wrong-password"}, format="json"
        )
        for email in (KNOWN, UNKNOWN)
    }
    assert answers[KNOWN].status_code == answers[UNKNOWN].status_code == 400
    assert answers[KNOWN].json() == answers[UNKNOWN].json()


def test_api_token_tells_an_unverified_account_only_with_the_right_password(api_client_factory):
    # Knowing the password proves the account is yours: then, and only then, it says why.
    UserFactory(email=KNOWN, verified=False)
    response = api_client_factory().post(
        "/api/v1/auth/token/", {"email": KNOWN, "password": TEST_PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert "Confirm your email address first" in response.json()["email"][0]


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client


@pytest.fixture
def api_client_factory():
    from rest_framework.test import APIClient

    return APIClient
