"""A complaint in real Chromium: a 2★ review asking for a resolution becomes a ticket; the
business answers it in private, proposes a resolution and records a change; the customer
confirms; the public sees the outcome and the change."""

import pytest
from playwright.sync_api import expect

from responses.models import Membership, Role, Ticket
from reviews.models import Review
from tests.factories import TEST_PASSWORD, ModeratorFactory, ProviderFactory, UserFactory, publish

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOTE = "Check the phone rota for the week of the complaint before we answer."
SUMMARY = "We have added a second phone line and call-backs from 8am."
CHANGE = "A second phone line at 8am and a call-back option"


def _sign_in(page, base, user):
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator(".site-nav__user")).to_have_text(user.display_name)


def test_complaint_from_review_to_public_outcome(
    live_server, browser, browser_context_args, page, axe
):
    base = live_server.url
    provider = ProviderFactory(name="Elms Medical Centre", slug="elms")
    customer = UserFactory(display_name="Casey Reviewer")
    responder = UserFactory(display_name="Rita Responder")
    Membership.objects.create(provider=provider, user=responder, role=Role.RESPONDER)

    # The customer (in a browser context of their own) posts a 2-star review and asks the
    # business to resolve it.
    them = browser.new_context(**browser_context_args).new_page()
    _sign_in(them, base, customer)
    them.goto(base + provider.get_absolute_url())
    them.get_by_role("link", name="Write a review").first.click()
    expect(them.get_by_text("never delays or hides your review").first).to_be_visible()
    them.get_by_label("2 stars – Poor").check()
    them.get_by_label("Title").fill("Phones never answered")
    them.get_by_label("Your review").fill(
        "I rang every morning for a week at 8am and nobody ever picked up the phone."
    )
    them.get_by_label("When did you visit?").select_option(index=1)
    them.get_by_label("I want the business to resolve this").check()
    them.get_by_role("button", name="Submit review").click()
    expect(them.get_by_role("heading", level=1)).to_have_text("Thank you for your review")
    review = Review.objects.get(author=customer)
    ticket = Ticket.objects.get(review=review)
    ticket_url = f"{base}/tickets/{ticket.pk}/"
    publish(review, ModeratorFactory())

    # The responder finds it in the dashboard's Complaints tab, with its deadline.
    _sign_in(page, base, responder)
    page.goto(base + "/business/")
    page.get_by_role("link", name="Elms Medical Centre", exact=True).click()
    page.get_by_role("link", name="Complaints", exact=True).click()
    row = page.get_by_role("row").filter(has_text="Phones never answered")
    expect(row).to_contain_text("First response:")
    expect(row).to_contain_text("New")
    axe("ticket queue")
    row.get_by_role("link", name="Phones never answered").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Phones never answered")
    expect(page.locator(".ticket-events")).to_contain_text("nobody ever picked up the phone")
    axe("business's ticket page")

    # It answers the customer, notes something for the team, proposes a resolution (which
    # needs a summary) and records the change it made.
    page.get_by_label("Your message to the customer").fill(
        "I am sorry about this. Which days did you ring?"
    )
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_text("Message sent.")).to_be_visible()
    page.get_by_label("Internal note", exact=True).fill(NOTE)
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".ticket-event--internal")).to_contain_text(NOTE)
    page.get_by_role("button", name="Propose a resolution").click()
    expect(page.locator(".error-message")).to_contain_text("Say what was done to resolve it.")
    axe("business's ticket page with a form error")
    page.get_by_label("Summary of the resolution").fill(SUMMARY)
    page.get_by_role("button", name="Propose a resolution").click()
    expect(page.locator(".ticket-summary")).to_contain_text("Resolution proposed")
    page.get_by_label("What did you change because of this complaint?").fill(CHANGE)
    page.get_by_role("button", name="Record the change").click()
    expect(page.get_by_text("Change recorded.")).to_be_visible()
    axe("business's ticket page, resolution proposed")

    # The customer sees the conversation and the proposal, never the internal note.
    them.goto(ticket_url)
    expect(them.locator(".ticket-events")).to_contain_text("Which days did you ring?")
    expect(them.locator(".ticket-summary")).to_contain_text(SUMMARY)
    expect(them.get_by_text(NOTE)).to_have_count(0)
    # (axe runs in the fixture's page: sign that in as the customer to check their view.)
    page.context.clear_cookies()
    _sign_in(page, base, customer)
    page.goto(ticket_url)
    expect(page.get_by_role("button", name="Yes, this is resolved")).to_be_visible()
    axe("customer's ticket page")

    # The customer confirms, then answers the one question.
    them.get_by_role("button", name="Yes, this is resolved").click()
    expect(them.get_by_role("group", name="Was this put right?")).to_be_visible()
    page.reload()
    axe("customer's ticket page: was this put right?")
    them.get_by_label("Yes", exact=True).check()
    them.get_by_role("button", name="Send my answer").click()
    expect(them.get_by_text("The customer answered: Yes")).to_be_visible()
    expect(them.get_by_role("link", name="Update your review")).to_have_attribute(
        "href", f"/accounts/reviews/{review.pk}/edit/"
    )
    them.goto(base + "/accounts/tickets/")
    expect(them.get_by_role("row").filter(has_text="Phones never answered")).to_contain_text(
        "Closed"
    )

    # The public sees the outcome on the review and the change in "You said, we did", and
    # nothing of the private conversation.
    public = browser.new_context(**browser_context_args).new_page()
    public.goto(base + provider.get_absolute_url())
    card = public.locator(f"#review-{review.pk}")
    expect(card).to_contain_text("Complaint: Resolved — confirmed by the reviewer")
    expect(card).to_contain_text(f"Change made: {CHANGE}")
    expect(public.get_by_role("region", name="You said, we did")).to_contain_text(CHANGE)
    for private in (NOTE, SUMMARY, "Which days did you ring?"):
        expect(public.get_by_text(private)).to_have_count(0)
