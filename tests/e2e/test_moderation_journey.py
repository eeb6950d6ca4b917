"""A moderator at the desk in real Chromium: reject with a reason, the author fixes it, approve."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from reviews.models import Review
from tests.factories import (
    TEST_PASSWORD,
    ModeratorFactory,
    ProviderFactory,
    ReviewFactory,
    UserFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in(page, url, user):
    page.goto(url)
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def _decide(page, title, action):
    page.get_by_role("row").filter(has_text=title).get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option(label=action)
    page.get_by_role("button", name="Run").click()


def test_reject_edit_and_approve(live_server, page, browser, browser_context_args, axe):
    base = live_server.url
    provider = ProviderFactory(name="Elms Medical Centre")
    author = UserFactory(display_name="Pat Author")
    ReviewFactory(
        provider=provider,
        author=author,
        rating=2,
        title="Reception never answers",
        body="I rang 40 times. Call my mobile 07700 900123 if you want the details of it.",
        flags=["contains_phone"],
    )
    moderator = ModeratorFactory(display_name="Mo Moderator")

    # The admin login is the protected site login.
    _sign_in(page, base + "/admin/login/?next=/admin/", moderator)
    expect(page.get_by_role("heading", name="Moderation queues")).to_be_visible()
    page.get_by_role("link", name="Reviews waiting", exact=True).click()
    flagged = page.locator("mark.flagged")
    expect(flagged).to_have_text("07700 900123")
    axe("pending reviews queue")

    _decide(page, "Reception never answers", "Reject selected (asks for the reason)")
    page.get_by_label("Reason (shown to the author)").select_option(
        label="Contains personal information"
    )
    page.get_by_label("Note to the author (optional)").fill("Please leave out your number.")
    page.get_by_role("button", name="Reject selected").click()
    expect(page.get_by_text("1 decided (reject).")).to_be_visible()

    assert [m.to for m in mail.outbox] == [[author.email]]
    assert "Contains personal information" in mail.outbox[0].body
    assert "Please leave out your number." in mail.outbox[0].body

    # The author edits and resubmits, in their own browser.
    author_page = browser.new_context(**browser_context_args).new_page()
    _sign_in(author_page, base + "/accounts/login/?next=/accounts/reviews/", author)
    expect(author_page.get_by_text("Not published", exact=True)).to_be_visible()
    author_page.get_by_role("link", name=re.compile("^Edit")).click()
    author_page.get_by_label("Your review").fill(
        "I rang 40 times over two days and nobody answered the phone at reception."
    )
    author_page.get_by_role("button", name="Send my changes").click()
    expect(author_page.get_by_text("sent for checking again")).to_be_visible()

    page.goto(base + "/admin/reviews/pendingreview/")
    expect(page.locator("mark.flagged")).to_have_count(0)
    _decide(page, "Reception never answers", "Approve selected")
    expect(page.get_by_text("1 decided (approve).")).to_be_visible()

    review = Review.objects.get(author=author)
    assert review.status == "published"
    author_page.goto(base + provider.get_absolute_url())
    expect(author_page.locator(f"#review-{review.pk}")).to_contain_text("nobody answered")
    expect(author_page.locator(".score-panel")).to_contain_text("Average 2.0 from 1 checked review")
