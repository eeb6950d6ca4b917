"""Your sessions (list, sign out the others), and the password asked again before changing
email, password or second factors once the last sign-in is older than
ACCOUNT_REAUTHENTICATION_TIMEOUT."""

import time

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.test import Client

from tests.accounts.test_mfa import sign_in, totp_code, with_totp
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REAUTH = "/accounts/reauthenticate/"
MFA_REAUTH = "/accounts/2fa/reauthenticate/"


@pytest.fixture(autouse=True)
def _codes_survive_a_period_boundary(settings):
    settings.MFA_TOTP_TOLERANCE = 1


def later():
    """Just past the re-authentication window after now."""
    return time_machine.travel(time.time() + settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 1)


# --- Sessions ---------------------------------------------------------------------------------


def test_sessions_page_lists_each_signed_in_browser_and_marks_this_one(customer):
    laptop, phone = Client(HTTP_USER_AGENT="Laptop browser"), Client(HTTP_USER_AGENT="Phone app")
    sign_in(laptop, customer)
    sign_in(phone, customer)
    body = laptop.get("/accounts/sessions/").content.decode()
    assert body.count("<tr>") == 3  # the header row and two sessions
    assert "Laptop browser" in body and "Phone app" in body
    assert body.count("This one</span>") == 1
    assert "Sign out all other sessions" in body


def test_signing_out_the_other_sessions_signs_out_the_other_browser(customer, other_customer):
    laptop, phone = Client(), Client()
    sign_in(laptop, customer)
    sign_in(phone, customer)
    stranger = Client()
    sign_in(stranger, other_customer)
    assert phone.get("/accounts/reviews/").status_code == 200

    response = laptop.post("/accounts/sessions/")
    assert response.status_code == 302

    assert phone.get("/accounts/reviews/").status_code == 302  # sent to sign in
    assert "_auth_user_id" not in phone.session
    assert laptop.get("/accounts/reviews/").status_code == 200
    assert stranger.get("/accounts/reviews/").status_code == 200  # other people untouched
    assert UserSession.objects.filter(user=customer).count() == 1


# --- Re-authentication ------------------------------------------------------------------------


def _add_email(client, email="second@example.com"):
    return client.post("/accounts/email/", {"action_add": "", "email": email})


def test_a_fresh_sign_in_counts_as_recent(client, customer):
    sign_in(client, customer)
    response = _add_email(client)
    assert response["Location"] == "/accounts/email/"
    assert EmailAddress.objects.filter(user=customer, email="second@example.com").exists()


def test_changing_email_needs_the_password_again_after_the_timeout(client, customer):
    sign_in(client, customer)
    with later():
        response = _add_email(client)
        assert response.status_code == 302
        assert response["Location"] == f"{REAUTH}?next=%2Faccounts%2Femail%2F"
        assert not EmailAddress.objects.filter(email="second@example.com").exists()

        wrong = client.post(response["Location"], {"password": "not-it"})
        assert wrong.status_code == 200
        assert not EmailAddress.objects.filter(email="second@example.com").exists()

        # the right password resumes the change that was asked for
        client.post(response["Location"], {"password": TEST_PASSWORD})
        assert EmailAddress.objects.filter(user=customer, email="second@example.com").exists()


def test_a_session_without_a_sign_in_record_must_re_authenticate(client, customer):
    client.force_login(customer)  # as if the record were lost: never treated as recent
    assert _add_email(client)["Location"].startswith(REAUTH)


@pytest.mark.parametrize("minutes_later", [0, 10])
def test_changing_the_password_always_needs_the_current_one(client, customer, minutes_later):
    sign_in(client, customer)
    new = "a-brand-new-passphrase-77"
    with time_machine.travel(time.time() + minutes_later * 60):
        wrong = client.post(
            "/accounts/password/change/",
            {"oldpassword": "not-it", "password1": new, "password2": new},
        )
        assert wrong.status_code == 200
        customer.refresh_from_db()
        assert customer.check_password(TEST_PASSWORD)

        client.post(
            "/accounts/password/change/",
            {"oldpassword": TEST_PASSWORD, "password1": new, "password2": new},
        )
        customer.refresh_from_db()
        assert customer.check_password(new)


def test_setting_up_a_second_factor_needs_the_password_again_after_the_timeout(client, customer):
    sign_in(client, customer)
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    with later():
        response = client.get("/accounts/2fa/totp/activate/")
        assert response["Location"] == f"{REAUTH}?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F"
        response = client.post(response["Location"], {"password": TEST_PASSWORD})
        assert response["Location"] == "/accounts/2fa/totp/activate/"
        assert client.get("/accounts/2fa/totp/activate/").status_code == 200


@pytest.mark.parametrize(
    ("url", "gone"),
    [
        ("/accounts/2fa/totp/deactivate/", "totp"),
        ("/accounts/2fa/recovery-codes/generate/", None),
    ],
)
def test_removing_or_renewing_second_factors_needs_re_authentication(client, url, gone):
    user = UserFactory()
    secret = with_totp(user)
    sign_in(client, user)
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    before = {a.pk: a.data for a in Authenticator.objects.filter(user=user)}
    with later():
        response = client.post(url)
        assert response["Location"].startswith(REAUTH)
        assert {a.pk: a.data for a in Authenticator.objects.filter(user=user)} == before
        # with a second factor set up, its code is offered instead of the password
        page = client.get(response["Location"]).content.decode()
        assert MFA_REAUTH in page

        reauth = client.post(
            response["Location"].replace(REAUTH, MFA_REAUTH), {"code": totp_code(secret)}
        )
        assert reauth.status_code == 302
        client.post(url)
    after = {a.pk: a.data for a in Authenticator.objects.filter(user=user)}
    if gone:
        assert not Authenticator.objects.filter(user=user, type=gone).exists()
    else:
        assert after != before  # new recovery codes
