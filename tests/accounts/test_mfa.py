"""Second factors: who must set one up before the admin, the dashboard and the API (when
MFA_REQUIRED), the guided setup, recovery codes, and the code asked for at sign-in."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)

from accounts.middleware import SETUP_NEXT_SESSION_KEY
from tests.factories import TEST_PASSWORD, MembershipFactory, StaffFactory, UserFactory
from tests.portal.test_settings import _run

pytestmark = pytest.mark.django_db

SETUP = "/accounts/2fa/totp/activate/"
EXPLANATION = "Your role needs two-factor authentication."


def totp_code(secret: str) -> str:
    """The code an authenticator app shows now (what allauth's own tests compute)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def sign_in(client, user):
    """Through the sign-in form, so that the session records how and when (as in real use)."""
    response = client.post("/accounts/login/", {"login": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def with_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def _staff():
    return StaffFactory()


def _member(role):
    return lambda: MembershipFactory(role=role).user


NEEDS_MFA = {"staff": _staff, "owner": _member("owner"), "manager": _member("manager")}
NEEDS_NO_MFA = {"responder": _member("responder"), "customer": UserFactory}


@pytest.fixture(autouse=True)
def _codes_survive_a_period_boundary(settings):
    """A code computed just before a 30-second boundary is still good just after it."""
    settings.MFA_TOTP_TOLERANCE = 1


@pytest.fixture
def mfa_required(settings):
    settings.MFA_REQUIRED = True


@pytest.mark.usefixtures("mfa_required")
@pytest.mark.parametrize("role", sorted(NEEDS_MFA))
@pytest.mark.parametrize("path", ["/admin/", "/business/"])
def test_roles_that_need_a_second_factor_are_taken_to_its_setup_first(client, role, path):
    user = NEEDS_MFA[role]()
    sign_in(client, user)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == SETUP
    assert client.session[SETUP_NEXT_SESSION_KEY] == path

    page = client.get(SETUP)  # no password prompt: they have only just signed in
    body = page.content.decode()
    assert page.status_code == 200
    assert EXPLANATION in body
    assert re.search(r'<code class="totp-secret" id="totp-secret">[A-Z2-7]{32}</code>', body)


@pytest.mark.usefixtures("mfa_required")
def test_api_calls_with_the_session_are_refused_with_json_until_set_up(client):
    owner = MembershipFactory(role="owner").user
    sign_in(client, owner)
    response = client.get("/api/v1/tickets/")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Set up two-factor authentication to use this account here."
    }


@pytest.mark.usefixtures("mfa_required")
@pytest.mark.parametrize("role", sorted(NEEDS_NO_MFA))
@pytest.mark.parametrize("path", ["/admin/", "/business/"])
def test_responders_and_customers_are_not_asked_to_set_one_up(client, role, path):
    sign_in(client, NEEDS_NO_MFA[role]())
    response = client.get(path)
    assert "2fa" not in response.get("Location", "")
    assert SETUP_NEXT_SESSION_KEY not in client.session


@pytest.mark.usefixtures("mfa_required")
def test_public_and_account_pages_stay_reachable_without_a_second_factor(client):
    sign_in(client, _staff())
    for path in ("/", "/providers/", "/accounts/email/", "/accounts/2fa/", "/accounts/sessions/"):
        assert client.get(path).status_code == 200, path


@pytest.mark.usefixtures("mfa_required")
def test_staff_with_a_second_factor_reach_the_admin(client):
    staff = _staff()
    with_totp(staff)
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_the_demo_forces_nothing(client, settings):
    settings.MFA_REQUIRED = False
    owner = MembershipFactory(role="owner").user
    sign_in(client, owner)
    assert client.get("/business/").status_code == 200
    client.logout()
    sign_in(client, _staff())
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("environment", "required"),
    [
        ({}, "False"),  # the demo
        ({"DEBUG": "False", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "heard.example"}, "True"),
        (
            {"DEBUG": "False", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "h", "MFA_REQUIRED": "0"},
            "False",
        ),
    ],
)
def test_mfa_is_required_by_default_exactly_when_debug_is_off(environment, required):
    # In a fresh process: the test run itself always has DEBUG off.
    result = _run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.MFA_REQUIRED)",
        ],
        {"DJANGO_SETTINGS_MODULE": "portal.settings", **environment},
    )
    assert result.stdout.strip() == required, result.stderr


@pytest.mark.usefixtures("mfa_required")
def test_owner_sets_up_the_app_sees_recovery_codes_and_continues_to_the_dashboard(client):
    owner = MembershipFactory(role="owner").user
    sign_in(client, owner)
    assert client.get("/business/")["Location"] == SETUP
    page = client.get(SETUP).content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)

    wrong = client.post(SETUP, {"code": "000000" if totp_code(secret) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "Incorrect code" in wrong.content.decode()
    assert not Authenticator.objects.filter(user=owner).exists()

    response = client.post(SETUP, {"code": totp_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    assert set(Authenticator.objects.filter(user=owner).values_list("type", flat=True)) == {
        "totp",
        "recovery_codes",
    }

    codes_page = client.get("/accounts/2fa/recovery-codes/").content.decode()
    shown = re.findall(r"<li><code>([^<]+)</code></li>", codes_page)
    rc = RecoveryCodes(Authenticator.objects.get(user=owner, type="recovery_codes"))
    assert shown == rc.get_unused_codes()
    assert len(shown) == 10
    assert 'href="/business/"' in codes_page  # the way back to where they were going

    assert client.get("/business/").status_code == 200
    assert SETUP_NEXT_SESSION_KEY not in client.session


@pytest.mark.usefixtures("mfa_required")
def test_new_recovery_codes_replace_the_old_ones(client):
    user = _staff()
    with_totp(user)
    old = RecoveryCodes(Authenticator.objects.get(user=user, type="recovery_codes"))
    old_codes = old.get_unused_codes()
    sign_in(client, user)
    client.post("/accounts/2fa/authenticate/", {"code": old_codes[0]})
    assert client.get("/accounts/2fa/").status_code == 200

    response = client.post("/accounts/2fa/recovery-codes/generate/")
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    new = RecoveryCodes(Authenticator.objects.get(user=user, type="recovery_codes"))
    assert not set(new.get_unused_codes()) & set(old_codes)
    page = client.get("/accounts/2fa/recovery-codes/").content.decode()
    assert all(code in page for code in new.get_unused_codes())


@pytest.mark.parametrize("required", [True, False])
def test_sign_in_asks_for_the_code_once_a_second_factor_is_set_up(client, settings, required):
    settings.MFA_REQUIRED = required  # asked for whenever set up, required or not
    user = UserFactory()
    secret = with_totp(user)
    response = sign_in(client, user)
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in client.session
    page = client.get("/accounts/2fa/authenticate/")
    assert "Two-Factor Authentication" in page.content.decode()

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "12345"})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in client.session

    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_recovery_code_signs_in_once(client):
    user = UserFactory()
    with_totp(user)
    code = RecoveryCodes(Authenticator.objects.get(user=user, type="recovery_codes"))
    first = code.get_unused_codes()[0]
    sign_in(client, user)
    client.post("/accounts/2fa/authenticate/", {"code": first})
    assert client.session["_auth_user_id"] == str(user.pk)

    client.logout()
    sign_in(client, user)
    client.post("/accounts/2fa/authenticate/", {"code": first})
    assert "_auth_user_id" not in client.session


@pytest.mark.usefixtures("mfa_required")
def test_admin_login_goes_through_the_site_login_and_the_second_factor(client):
    staff = _staff()
    secret = with_totp(staff)
    to_admin_login = client.get("/admin/")
    assert to_admin_login["Location"] == "/admin/login/?next=/admin/"
    to_site_login = client.get(to_admin_login["Location"])
    assert to_site_login.status_code == 302
    assert to_site_login["Location"] == "/accounts/login/?next=%2Fadmin%2F"

    response = client.post(
        to_site_login["Location"], {"login": staff.email, "password": TEST_PASSWORD}
    )
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")  # not in yet

    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.usefixtures("mfa_required")
def test_staff_without_a_second_factor_signing_in_for_the_admin_go_to_setup(client):
    staff = _staff()
    response = client.post(
        "/accounts/login/?next=%2Fadmin%2F", {"login": staff.email, "password": TEST_PASSWORD}
    )
    assert response["Location"] == "/admin/"
    assert client.get("/admin/")["Location"] == SETUP
    assert client.get("/admin/login/")["Location"] == SETUP
