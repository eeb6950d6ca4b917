"""A newcomer signs up in a real browser, verifies their email and signs in."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_new_user_signs_up_verifies_and_signs_in(live_server, page, axe):
    page.goto(live_server.url + "/")
    axe("home")
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Up")
    axe("signup")

    page.get_by_label("Email").fill("robin@example.com")
    page.get_by_label("Display name").fill("Robin R.")
    page.get_by_label("Password", exact=True).fill("a-long-unusual-password-42")
    page.get_by_label("Password (again)").fill("a-long-unusual-password-42")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")

    assert len(mail.outbox) == 1, "the verification email was not sent"
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    page.goto(live_server.url + link[link.index("/accounts/") :])
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Sign In")
    axe("login")
    page.get_by_label("Email").fill("robin@example.com")
    page.get_by_label("Password").fill("a-long-unusual-password-42")
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator(".site-nav__user")).to_have_text("Robin R.")


def test_form_errors_are_summarised_and_linked_to_the_fields(live_server, page, axe):
    page.goto(live_server.url + "/accounts/signup/")
    page.get_by_role("button", name="Sign Up").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("Email")).to_be_focused()
    axe("signup with errors")
