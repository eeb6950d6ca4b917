"""The owner's analytics in real Chromium: charts drawn on the server, readable as tables,
and the CSV download."""

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from responses.models import Reply
from tests.factories import (
    TEST_PASSWORD,
    MembershipFactory,
    ModeratorFactory,
    ProviderFactory,
    ReviewFactory,
    TicketFactory,
    UserFactory,
    publish,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _history(provider, moderator):
    """Reviews over the last six months, most of them answered, and a few complaints."""
    now = timezone.now()
    for months_ago in range(6):
        for n, rating in enumerate((5, 4, 2)):
            when = now - dt.timedelta(days=30 * months_ago + n + 1)
            review = publish(
                ReviewFactory(provider=provider, author=UserFactory(), rating=rating), moderator
            )
            review.__class__.objects.filter(pk=review.pk).update(published_at=when)
            if rating > 2:
                Reply.objects.create(
                    review=review,
                    provider=provider,
                    responder_name="Olive Owner",
                    body="Thank you for taking the time to tell us.",
                    status="published",
                    submitted_at=when + dt.timedelta(hours=3 + months_ago),
                    published_at=when + dt.timedelta(hours=4 + months_ago),
                )
    TicketFactory(provider=provider, subject='=HYPERLINK("http://evil.example")')
    TicketFactory(provider=provider, created_at=now - dt.timedelta(days=40))


def test_owner_reads_analytics_and_downloads_a_csv(live_server, page, axe):
    ARTIFACTS.mkdir(exist_ok=True)
    provider = ProviderFactory(name="Riverside Dental", slug="riverside-dental")
    owner = MembershipFactory(provider=provider, role="owner").user
    _history(provider, ModeratorFactory())

    page.goto(live_server.url + "/accounts/login/?next=/business/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("link", name="Analytics for Riverside Dental").click()

    expect(page.get_by_role("heading", name="Reviews published each month")).to_be_visible()
    charts = page.get_by_role("img")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 7  # every chart is an accessible picture named by its title
    expect(page.get_by_text("Responsiveness:")).to_be_visible()
    # the figures behind a chart, for anyone who would rather read them
    page.get_by_text("Reviews published each month: the figures as a table").click()
    table = page.locator("#chart-reviews table")
    expect(table).to_be_visible()
    expect(table.get_by_role("row")).to_have_count(25)  # a header and 24 months
    axe("analytics")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "analytics.png"), full_page=True)

    page.get_by_role("link", name="Exports").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Complaints (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("riverside-dental-tickets-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 3  # the header and two complaints
    subjects = {row[rows[0].index("subject")] for row in rows[1:]}
    assert '\'=HYPERLINK("http://evil.example")' in subjects  # a spreadsheet shows it as text
    axe("exports")
