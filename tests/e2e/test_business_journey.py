"""The business side in real Chromium: claim, approval, a team, a moderated public reply."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.factories import (
    TEST_PASSWORD,
    ModeratorFactory,
    ProviderFactory,
    ReviewFactory,
    UserFactory,
    publish,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in(page, url, user):
    page.goto(url)
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def _admin_action(page, row_text, action):
    page.get_by_role("row").filter(has_text=row_text).get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option(label=action)
    page.get_by_role("button", name="Run").click()


def _link_in_last_mail(to):
    body = [m for m in mail.outbox if m.to == [to]][-1].body
    return re.search(r"https?://\S+?(/business/join/\S+?/)", body).group(1)


def test_claim_team_reply_and_publish(live_server, browser, browser_context_args, page, axe):
    base = live_server.url
    new_page = lambda: browser.new_context(**browser_context_args).new_page()  # noqa: E731
    moderator = ModeratorFactory()
    provider = ProviderFactory(
        name="Elms Medical Centre", slug="elms", website="https://elms.example"
    )
    reviewer = UserFactory(display_name="Casey Reviewer")
    review = publish(
        ReviewFactory(provider=provider, author=reviewer, rating=2, title="Phones never answered"),
        moderator,
    )

    # A business user claims the listing.
    owner = UserFactory(display_name="Olivia Owner", email="olivia@elms.example")
    _sign_in(page, base + "/accounts/login/?next=" + provider.get_absolute_url(), owner)
    page.get_by_role("link", name=re.compile("Claim this page")).click()
    page.get_by_label("Your role at the business").fill("Practice manager")
    page.get_by_label("Your work email address").fill("olivia@elms.example")
    page.get_by_label("How can we check that you speak for this business?").fill(
        "I am the practice manager; call reception on the number listed and ask for me."
    )
    axe("claim form")
    page.get_by_role("button", name="Send my claim").click()

    # Staff approve it in the admin.
    staff_page = new_page()
    _sign_in(staff_page, base + "/admin/login/?next=/admin/", moderator)
    staff_page.get_by_role("link", name="Provider claims waiting", exact=True).click()
    _admin_action(
        staff_page,
        "Elms Medical Centre",
        "Approve selected claims (each claimant becomes an owner)",
    )
    expect(staff_page.get_by_text("1 decided (approve).")).to_be_visible()

    # The owner invites a responder.
    page.goto(base + "/business/")
    page.get_by_role("link", name="Elms Medical Centre", exact=True).click()
    axe("dashboard inbox")
    page.get_by_role("link", name="Team").click()
    axe("team page")
    page.get_by_role("link", name="Invite a team member").click()
    page.get_by_label("Their email address").fill("rita@elms.example")
    page.get_by_role("radio", name=re.compile("Responder")).check()
    page.get_by_label("Job title").fill("Patient liaison")
    page.get_by_role("button", name="Send invitation").click()
    join_path = _link_in_last_mail("rita@elms.example")
    for tab in ("Reply templates", "Invite customers", "Settings"):
        page.get_by_role("link", name=tab, exact=True).click()
        axe(f"dashboard: {tab}")

    # The responder joins, opens the inbox, drafts from a template and sees a hint.
    responder = UserFactory(display_name="Rita Responder", email="rita@elms.example")
    rita = new_page()
    _sign_in(rita, base + join_path, responder)
    rita.get_by_role("button", name="Accept and join the team").click()
    rita.goto(base + "/business/elms/")
    rita.get_by_role("link", name=re.compile("^Reply to")).click()
    rita.get_by_role("link", name="Apology with action").click()
    expect(rita.get_by_label("Your public reply")).to_contain_text("not the standard we aim for")
    rita.get_by_label("Your public reply").fill(
        "I'm sorry the phones went unanswered. Please get in touch with the practice."
    )
    rita.get_by_role("button", name="Check my reply").click()
    expect(rita.locator(".hints")).to_contain_text("puts the work back on the reviewer")
    axe("reply composer with hints")
    rita.get_by_label("Your public reply").fill(
        "I'm sorry the phones went unanswered. We have added a second line at 8am and a "
        "call-back option, and I will check the queue times every week this month."
    )
    rita.get_by_role("button", name="Send for publication").click()
    expect(rita.get_by_text("Sent for checking")).to_be_visible()

    # Staff publish the reply.
    staff_page.goto(base + "/admin/responses/pendingreply/")
    _admin_action(staff_page, "Elms Medical Centre", "Approve selected")
    expect(staff_page.get_by_text("1 decided (approve).")).to_be_visible()

    # It appears under the review, signed; the reviewer was told; the rate changed.
    public = new_page()
    public.goto(base + provider.get_absolute_url())
    card = public.locator(f"#review-{review.pk}")
    expect(card.locator(".reply")).to_contain_text(
        "Reply from Rita Responder, Patient liaison, Elms Medical Centre"
    )
    expect(card.locator(".reply")).to_contain_text("second line at 8am")
    expect(public.locator(".response-figure")).to_contain_text("Replies to 100% of reviews")
    to_reviewer = [m for m in mail.outbox if m.to == [reviewer.email]]
    assert any("replied to your review" in m.subject for m in to_reviewer)
