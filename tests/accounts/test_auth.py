"""Sign-up, verification, login and its rate limits (allauth, with Heard's settings)."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import User

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "new.person@example.com",
    "display_name": "  Pat   Newcomer ",
    "password1": "a-long-unusual-password-42",
    "password2": "a-long-unusual-password-42",
}


def _signup(client, django_capture_on_commit_callbacks, **changes):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/accounts/signup/", {**SIGNUP, **changes})


def test_signup_creates_an_unverified_user_and_queues_the_verification_email(
    client, django_capture_on_commit_callbacks
):
    response = _signup(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.display_name == "Pat Newcomer"  # white space folded
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.com"]
    assert re.search(r"/accounts/confirm-email/[^/\s]+/", mail.outbox[0].body)


def test_signup_requires_a_display_name_and_says_so(client, django_capture_on_commit_callbacks):
    response = _signup(client, django_capture_on_commit_callbacks, display_name="   ")
    body = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in body
    assert 'href="#id_display_name"' in body
    assert not User.objects.filter(email="new.person@example.com").exists()
    assert mail.outbox == []


def test_unverified_user_cannot_sign_in_until_the_email_is_confirmed(
    client, password, django_capture_on_commit_callbacks
):
    from tests.factories import UserFactory

    user = UserFactory(verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/login/", {"login": user.email, "password": password})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session
    assert len(mail.outbox) == 1  # a fresh verification link is sent


def test_first_sign_in_of_a_superuser_sends_a_confirmation_naming_the_site(
    client, settings, django_capture_on_commit_callbacks
):
    # createsuperuser makes no allauth EmailAddress, so the first sign-in on a fresh
    # database sends a confirmation. allauth's templates greet with current_site.name, which
    # was empty ("Hello from !") while Heard's adapter left current_site out of the context.
    settings.SITE_URL = "https://heard.example.org"
    user = User.objects.create_superuser(
        email="admin@example.org", password="a-long-unusual-password-42", display_name="Ada"
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/accounts/login/",
            {"login": user.email, "password": "a-long-unusual-password-42"},
        )
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert body.startswith("Hello from Heard!")
    assert "Thank you for using Heard!\nheard.example.org" in body
    assert "Hello from !" not in body and "using !" not in body


def test_verified_user_signs_in_and_sees_their_display_name(client, customer, password):
    response = client.post(
        "/accounts/login/", {"login": customer.email, "password": password}, follow=True
    )
    assert response.status_code == 200
    assert customer.display_name in response.content.decode()


def test_repeated_failed_logins_for_one_account_are_refused(client, customer):
    for _ in range(5):
        response = client.post("/accounts/login/", {"login": customer.email, "password": "wrong"})
        assert response.status_code == 200
        assert "The email address and/or password you specified are not correct" in (
            response.content.decode()
        )
    response = client.post("/accounts/login/", {"login": customer.email, "password": "wrong"})
    assert "Too many failed login attempts" in response.content.decode()


def test_login_answers_429_after_repeated_attempts_from_one_address(client, customer):
    statuses = [
        client.post(
            "/accounts/login/", {"login": f"nobody{i}@example.com", "password": "wrong"}
        ).status_code
        for i in range(31)
    ]
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429


def test_admin_login_is_rate_limited_too(client, staff):
    # The admin's own password form is never used: a POST there is sent to the protected login.
    direct = client.post("/admin/login/", {"username": staff.email, "password": "x"})
    assert direct.status_code == 302
    login_url = direct["Location"]
    assert login_url.startswith("/accounts/login/?next=")
    statuses = [
        client.post(login_url, {"login": staff.email, "password": f"guess{i}"}).status_code
        for i in range(31)
    ]
    assert statuses[-1] == 429
    assert "_auth_user_id" not in client.session


def test_password_reset_does_not_reveal_whether_an_account_exists(
    client, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/accounts/password/reset/", {"email": customer.email})
        unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    # allauth tells the unknown address that it has no account, in its own mailbox only
    assert sorted(m.to[0] for m in mail.outbox) == sorted([customer.email, "nobody@example.com"])


def test_login_by_code_is_offered(client):
    assert "/accounts/login/code/" in client.get("/accounts/login/").content.decode()


def test_account_pages_use_the_site_layout(client_logged_in):
    for url in ("/accounts/email/", "/accounts/password/change/"):
        body = client_logged_in.get(url).content.decode()
        assert 'class="account-layout"' in body
        assert 'aria-current="page"' in body
