"""An API token is as good as a signed-in session: it asks for the authenticator code when
the account has one, and refuses roles that must have a second factor but have none."""

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import TEST_PASSWORD, MembershipFactory, UserFactory

URL = "/api/v1/auth/token/"


def _code(secret: str) -> str:
    counter = next(iter(yield_hotp_counters_from_time()))
    return f"{hotp_value(secret, counter):06d}"


@pytest.fixture
def with_totp(db):
    user = UserFactory()
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def _ask(user, **extra):
    return APIClient().post(
        URL, {"email": user.email, "password": TEST_PASSWORD, **extra}, format="json"
    )


@pytest.mark.django_db
def test_an_account_with_an_authenticator_needs_its_code(with_totp, settings):
    settings.MFA_TOTP_TOLERANCE = 1
    user, secret = with_totp
    missing = _ask(user)
    assert missing.status_code == 400 and "code" in missing.json()
    wrong = _ask(user, code="000000" if _code(secret) != "000000" else "111111")
    assert wrong.status_code == 400 and "code" in wrong.json()
    assert not Token.objects.filter(user=user).exists()
    right = _ask(user, code=_code(secret))
    assert right.status_code == 200
    assert right.json()["token"] == Token.objects.get(user=user).key


@pytest.mark.django_db
def test_a_role_that_needs_a_second_factor_gets_no_token_without_one(settings):
    settings.MFA_REQUIRED = True
    owner = MembershipFactory(role="owner").user
    response = _ask(owner)
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]
    assert not Token.objects.filter(user=owner).exists()
    customer = UserFactory()
    assert _ask(customer).status_code == 200  # customers are not required to have one


@pytest.mark.django_db
def test_without_the_requirement_an_owner_without_a_second_factor_gets_a_token(settings):
    settings.MFA_REQUIRED = False
    owner = MembershipFactory(role="owner").user
    assert _ask(owner).status_code == 200
