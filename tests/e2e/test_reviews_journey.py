"""The customer's journey in a real browser: find a dentist, read, write, vote, report."""

import pytest
from django.db import connection
from playwright.sync_api import expect

from reviews.models import Report, Review
from tests.factories import (
    TEST_PASSWORD,
    AspectQuestionFactory,
    CategoryFactory,
    ModeratorFactory,
    ProviderFactory,
    ReviewFactory,
    UserFactory,
    publish,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site():
    dentists = CategoryFactory(name="Dentists", slug="dentists")
    AspectQuestionFactory(
        category=dentists, code="dignity", text="Treated with dignity and respect"
    )
    gps = CategoryFactory(name="GP practices", slug="gp-practices")
    smile = ProviderFactory(name="Smile Dental Practice", slug="smile-dental", category=dentists)
    ProviderFactory(name="Elms Medical Centre", slug="elms", category=gps)
    moderator = ModeratorFactory()
    for rating, title in [(5, "Gentle and thorough"), (4, "Good check-up"), (1, "Cancelled twice")]:
        publish(ReviewFactory(provider=smile, rating=rating, title=title), moderator)
    return {"smile": smile, "moderator": moderator}


def _sign_in(page, base, user):
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator(".site-nav__user")).to_have_text(user.display_name)


def test_find_read_write_vote_and_report(live_server, page, axe, site):
    base = live_server.url
    smile = site["smile"]
    query = "dentsit" if connection.vendor == "postgresql" else "dent"

    page.goto(base + "/")
    page.get_by_label("Search for a provider by name, type or town").fill(query)
    page.get_by_role("button", name="Search").last.click()
    results = page.locator(".provider-list")
    expect(results.get_by_role("link", name="Smile Dental Practice")).to_be_visible()
    expect(results.get_by_role("link", name="Elms Medical Centre")).to_have_count(0)
    axe("directory")

    results.get_by_role("link", name="Smile Dental Practice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Smile Dental Practice")
    axe("provider page")
    page.get_by_label("Sort by").select_option(label="Lowest rating")
    page.get_by_role("button", name="Update").click()
    expect(page.locator("article.review").first).to_contain_text("Cancelled twice")
    page.get_by_label("Show").select_option(label="1 star")
    page.get_by_role("button", name="Update").click()
    expect(page.locator("article.review")).to_have_count(1)

    customer = UserFactory(display_name="Jo Patient")
    _sign_in(page, base, customer)
    page.goto(base + smile.get_absolute_url())
    page.get_by_role("link", name="Write a review").click()
    axe("review form")
    # The star rating is a native radio group: arrow keys move the choice.
    page.get_by_label("5 stars – Excellent").focus()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("4 stars – Good")).to_be_checked()
    page.get_by_label("Treated with dignity and respect").select_option("5")
    page.get_by_label("Title").fill("Fixed my tooth the same day")
    page.get_by_label("Your review").fill(
        "I rang at 9am in pain and was seen by lunchtime. Clear explanation of the options."
    )
    page.get_by_label("When did you visit?").select_option(index=1)
    page.get_by_role("button", name="Submit review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your review")
    expect(page.get_by_text("will be checked by a moderator before it appears")).to_be_visible()

    review = Review.objects.get(author=customer)
    assert (review.status, review.rating) == ("pending", 4)
    publish(review, site["moderator"])

    page.goto(base + smile.get_absolute_url())
    expect(page.locator(".score-panel")).to_contain_text("Average 3.5 from 4 checked reviews")
    card = page.locator(f"#review-{review.pk}")
    expect(card).to_contain_text("Fixed my tooth the same day")
    expect(card).to_contain_text("4 out of 5 stars")

    # Another customer finds it helpful and reports a different review.
    page.get_by_role("button", name="Sign out").click()
    voter = UserFactory(display_name="Ali Voter")
    _sign_in(page, base, voter)
    page.goto(base + smile.get_absolute_url())
    card = page.locator(f"#review-{review.pk}")
    card.get_by_role("button", name="Helpful").click()
    expect(page.locator(f"#review-{review.pk}")).to_contain_text("1 person found this helpful")
    page.locator(f"#review-{review.pk}").get_by_role("link", name="Report").click()
    page.get_by_label("It is spam or advertising").check()
    page.get_by_label("Tell the moderators more").fill("Reads like an advert")
    axe("report form")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("A moderator will look at your report")).to_be_visible()
    assert Report.objects.filter(review=review, reporter=voter, reason="spam").count() == 1


def test_policy_page_is_accessible(live_server, page, axe):
    page.goto(live_server.url + "/reviews-policy/")
    expect(page.get_by_role("heading", name="How ratings are scored")).to_be_visible()
    axe("reviews policy")
