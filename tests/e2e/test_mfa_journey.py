"""An owner whose role needs a second factor sets up an authenticator app in real Chromium,
keeps the recovery codes, reaches the dashboard, and is asked for a code at the next sign-in."""

import re

import pytest
from playwright.sync_api import expect

from tests.accounts.test_mfa import totp_code
from tests.factories import TEST_PASSWORD, MembershipFactory, ProviderFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in(page, url, user):
    page.goto(url)
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def test_owner_sets_up_two_factor_authentication_and_reaches_the_dashboard(
    live_server, page, axe, settings
):
    settings.MFA_REQUIRED = True
    settings.MFA_TOTP_TOLERANCE = 1  # a code typed as the 30 seconds turn over still counts
    owner = UserFactory(display_name="Olivia Owner")
    MembershipFactory(user=owner, provider=ProviderFactory(name="Elms Dental"), role="owner")
    base = live_server.url

    _sign_in(page, base + "/accounts/login/?next=/business/", owner)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    expect(page.get_by_text("Your role needs two-factor authentication.")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    axe("authenticator setup")

    # The app would scan the QR code; the setup key beside it is the same secret.
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Turn on two-factor authentication").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Recovery codes")
    expect(
        page.get_by_role("list", name="Unused recovery codes").get_by_role("listitem")
    ).to_have_count(10)
    axe("recovery codes")
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page).to_have_url(base + "/business/")
    expect(page.get_by_text("Elms Dental").first).to_be_visible()

    page.get_by_role("link", name="Security").click()
    expect(page.get_by_text("Authentication using an authenticator app is active.")).to_be_visible()
    axe("security")
    page.get_by_role("link", name="Sessions").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sessions")
    axe("sessions")

    # Next time, the password is not enough.
    page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out").click()
    _sign_in(page, base + "/accounts/login/?next=/business/", owner)
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
    axe("second factor at sign-in")
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(base + "/business/")
