"""The business analytics pages and the responsiveness score on public pages: who may see the
analytics (members of every role; everyone else 404), the charts and their tables with the
right figures, the period switch, the combined page for several businesses, a constant number
of queries however much data there is, and user text escaped."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from responses.models import Reply, Role
from reviews.checks import Flag
from reviews.models import Report, Review
from tests.factories import (
    MembershipFactory,
    ProviderFactory,
    ReviewFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# Mid-April 2026 (British Summer Time): the 24 months shown run from May 2024 to April 2026.
NOW = dt.datetime(2026, 4, 15, 11, 0, tzinfo=UTC)
CHART_TITLES = [
    "Reviews published each month",
    "Average rating each month",
    "Ratings each month, by stars",
    "Share of reviews answered, by month of the review",
    "Median time to reply, in hours",
    "Complaints each month",
    "Complaints handled within the deadlines, by month opened",
]


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def provider():
    return ProviderFactory(name="Riverside Dental", slug="riverside-dental")


@pytest.fixture
def other_provider():
    return ProviderFactory(name="Hillside Dental", slug="hillside-dental")


def _member(provider, role=Role.OWNER, user=None):
    kwargs = {"user": user} if user else {}
    return MembershipFactory(provider=provider, role=role, **kwargs).user


def _as(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _url(provider, **query):
    url = reverse("responses:analytics", kwargs={"slug": provider.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _at(*args):
    return dt.datetime(*args, tzinfo=UTC)


def _review(provider, published_at, *, rating, reply_after=None, reply_status="published", **kw):
    review = ReviewFactory(
        provider=provider, status="published", published_at=published_at, rating=rating, **kw
    )
    if reply_after is not None:
        Reply.objects.create(
            review=review,
            provider=provider,
            responder_name="Olive Owner",
            body="Thank you for your review.",
            status=reply_status,
            submitted_at=published_at + reply_after,
        )
    return review


def _history(provider):
    """March 2026: three reviews (5 invited, 4 and 2), two answered after 2 and 4 hours; a
    complaint opened, answered, resolved and confirmed. April: a 1-star review whose reply
    waits for moderation, and a complaint nobody has answered."""
    hour = dt.timedelta(hours=1)
    _review(provider, _at(2026, 3, 10, 10), rating=5, reply_after=2 * hour, source="invited")
    _review(provider, _at(2026, 3, 12, 10), rating=4, reply_after=4 * hour)
    flagged = _review(provider, _at(2026, 3, 20, 10), rating=2, flags=[Flag.PHONE])
    _review(provider, _at(2026, 4, 2, 10), rating=1, reply_after=hour, reply_status="pending")
    report = Report.objects.create(review=flagged, reason="offensive")
    Report.objects.filter(pk=report.pk).update(created_at=_at(2026, 3, 21))
    TicketFactory(
        provider=provider,
        created_at=_at(2026, 3, 3, 9),
        first_responded_at=_at(2026, 3, 3, 12),
        resolved_at=_at(2026, 3, 5, 9),
        closed_at=_at(2026, 3, 8, 9),
        status="closed",
        confirmed_by_customer=True,
        put_right="yes",
    )
    TicketFactory(provider=provider, created_at=_at(2026, 4, 2, 9))


def _figure(page: str, slug: str) -> str:
    match = re.search(rf'<figure class="chart" id="{slug}">(.*?)</figure>', page, re.S)
    assert match, f"no chart {slug}"
    return match.group(1)


def _table(page: str, slug: str) -> dict:
    """{row label: [cells]} of a chart's table equivalent, in order, plus its columns."""
    figure = _figure(page, slug)
    rows = {
        label: re.findall(r"<td>(.*?)</td>", cells)
        for label, cells in re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', figure)
    }
    columns = re.findall(r'<th scope="col">(.*?)</th>', figure)[1:]
    return {"columns": columns, "rows": rows}


def _small_table(page: str, heading: str) -> list[tuple]:
    """The rows of the table after an <h3> heading (sources, put right, flags, reports)."""
    start = page.index(f"<h3>{heading}</h3>")
    body = page[start : page.index("</table>", start)]
    return [
        (label, *re.findall(r"<td>(.*?)</td>", cells))
        for label, cells in re.findall(
            r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', body.split("<tbody>")[1]
        )
    ]


# --- who may see it --------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.RESPONDER])
def test_every_member_sees_the_charts_with_the_right_figures(provider, other_provider, role):
    _history(provider)
    _review(other_provider, _at(2026, 3, 11), rating=1)  # never counted here
    response = _as(_member(provider, role)).get(_url(provider))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    page = response.content.decode()
    for title in CHART_TITLES:
        assert f">{title}</h3>" in page
    assert page.count('role="img"') == len(CHART_TITLES)  # every chart has something to draw
    assert "4 reviews in the period." in page
    assert "2 complaints opened in the period." in page

    reviews = _table(page, "chart-reviews")
    assert reviews["columns"] == ["Reviews"]
    assert len(reviews["rows"]) == 24
    assert next(iter(reviews["rows"])) == "May 2024"
    assert reviews["rows"]["Feb 2026"] == ["0"]
    assert reviews["rows"]["Mar 2026"] == ["3"]
    assert reviews["rows"]["Apr 2026"] == ["1"]
    average = _table(page, "chart-average")["rows"]
    assert (average["Feb 2026"], average["Mar 2026"], average["Apr 2026"]) == (
        ["–"],
        ["3.7"],
        ["1.0"],
    )
    stars = _table(page, "chart-stars")
    assert stars["columns"] == ["5 stars", "4 stars", "3 stars", "2 stars", "1 star"]
    assert stars["rows"]["Mar 2026"] == ["1", "1", "0", "1", "0"]
    assert stars["rows"]["Apr 2026"] == ["0", "0", "0", "0", "1"]
    # Two of March's three reviews have a published reply; April's reply is not published.
    assert _table(page, "chart-reply-rate")["rows"]["Mar 2026"] == ["67"]
    assert _table(page, "chart-reply-rate")["rows"]["Apr 2026"] == ["0"]
    assert _table(page, "chart-reply-time")["rows"]["Mar 2026"] == ["3.0"]
    assert _table(page, "chart-reply-time")["rows"]["Apr 2026"] == ["–"]
    tickets = _table(page, "chart-tickets")
    assert tickets["columns"] == [
        "Opened",
        "Resolution proposed",
        "Confirmed resolved by the customer",
        "Escalated to Heard",
    ]
    assert tickets["rows"]["Mar 2026"] == ["1", "1", "1", "0"]
    assert tickets["rows"]["Apr 2026"] == ["1", "0", "0", "0"]
    deadlines = _table(page, "chart-deadlines")["rows"]
    assert deadlines["Mar 2026"] == ["100", "100"]
    assert deadlines["Apr 2026"] == ["0", "–"]  # first response late; resolution not yet due

    assert _small_table(page, "Invited and organic reviews") == [
        ("Organic", "3", "2.33"),
        ("Invited", "1", "5.00"),
    ]
    assert _small_table(page, "“Was this put right?”") == [
        ("Yes", "1"),
        ("Partly", "0"),
        ("No", "0"),
    ]
    assert _small_table(page, "Automatic checks raised on reviews") == [
        ("Contains a phone number", "1")
    ]
    assert _small_table(page, "Why people reported reviews") == [
        ("It is offensive or hateful", "1")
    ]
    # Two replies and two complaints: one short of a score.
    assert "Your responsiveness score (last 12 months)" in page
    assert "Not enough data yet" in page
    assert f'href="{reverse("reviews_policy")}#responsiveness"' in page


def test_a_business_with_nothing_yet_sees_empty_charts_not_errors(provider):
    page = _as(_member(provider)).get(_url(provider)).content.decode()
    assert page.count("Nothing to show for this period yet.") == len(CHART_TITLES)
    assert 'role="img"' not in page
    assert "No customer has answered yet for complaints opened in this period." in page
    assert page.count("None in this period.") == 2
    assert _table(page, "chart-reviews")["rows"]["Apr 2026"] == ["0"]


def test_anyone_outside_the_business_gets_404(provider, other_provider, customer):
    _history(provider)
    assert _as(_member(other_provider)).get(_url(provider)).status_code == 404
    assert _as(customer).get(_url(provider)).status_code == 404
    assert _as(customer).get("/business/no-such-business/analytics/").status_code == 404
    # A business taken off the site is no one's to analyse any more.
    owner = _member(provider)
    provider.is_active = False
    provider.save()
    assert _as(owner).get(_url(provider)).status_code == 404
    assert _as(owner).get(reverse("responses:analytics_all")).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, provider):
    for url in (_url(provider), reverse("responses:analytics_all")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


# --- the period ------------------------------------------------------------------------------
@pytest.mark.parametrize(("query", "months"), [("12", 12), ("24", 24)])
def test_twelve_or_twenty_four_months(provider, query, months):
    _history(provider)
    page = _as(_member(provider)).get(_url(provider, months=query)).content.decode()
    for slug in ("chart-reviews", "chart-tickets", "chart-deadlines"):
        labels = list(_table(page, slug)["rows"])
        assert len(labels) == months
        assert labels[-1] == "Apr 2026"
    assert next(iter(_table(page, "chart-reviews")["rows"])) == (
        "May 2025" if months == 12 else "May 2024"
    )
    assert f'value="{months}" checked' in page
    assert page.count(" checked") == 1


def test_twelve_months_leave_out_what_is_older(provider):
    _review(provider, _at(2025, 4, 30, 22, 59), rating=1)  # 23:59 BST on 30 April 2025
    _review(provider, _at(2025, 4, 30, 23, 0), rating=5)  # 00:00 BST on 1 May 2025
    owner = _member(provider)
    twelve = _as(owner).get(_url(provider, months=12)).content.decode()
    assert "Apr 2025" not in _table(twelve, "chart-reviews")["rows"]
    assert _table(twelve, "chart-reviews")["rows"]["May 2025"] == ["1"]
    assert _table(twelve, "chart-average")["rows"]["May 2025"] == ["5.0"]
    twenty_four = _as(owner).get(_url(provider, months=24)).content.decode()
    assert "2 reviews in the period." in twenty_four
    assert _table(twenty_four, "chart-reviews")["rows"]["Apr 2025"] == ["1"]


def test_one_review_and_one_complaint_are_singular(provider):
    _review(provider, _at(2026, 4, 1, 12), rating=4)
    TicketFactory(provider=provider, created_at=_at(2026, 4, 2, 9))
    page = _as(_member(provider)).get(_url(provider)).content.decode()
    assert "1 review in the period." in page
    assert "1 complaint opened in the period." in page


@pytest.mark.parametrize("value", ["abc", "7", "0", "-12", "", "12.0", "36", "99999999999999999"])
def test_any_other_period_falls_back_to_24_months(provider, value):
    response = _as(_member(provider)).get(_url(provider, months=value))
    assert response.status_code == 200
    page = response.content.decode()
    assert len(_table(page, "chart-reviews")["rows"]) == 24
    assert 'value="24" checked' in page


# --- all of a user's businesses --------------------------------------------------------------
def test_all_businesses_is_404_for_a_user_with_none(customer):
    assert _as(customer).get(reverse("responses:analytics_all")).status_code == 404


def test_all_businesses_adds_up_the_users_businesses_and_no_others(provider, other_provider):
    _history(provider)
    _review(other_provider, _at(2026, 3, 15), rating=3, reply_after=dt.timedelta(hours=10))
    _review(other_provider, _at(2026, 3, 16), rating=3)
    TicketFactory(
        provider=other_provider, created_at=_at(2026, 3, 16), escalated_at=_at(2026, 3, 20)
    )
    stranger = ProviderFactory(name="Stranger Dental")  # not theirs: never counted
    _review(stranger, _at(2026, 3, 15), rating=1, reply_after=dt.timedelta(hours=1))
    TicketFactory(provider=stranger, created_at=_at(2026, 3, 16))
    user = _member(provider, Role.RESPONDER)
    _member(other_provider, Role.MANAGER, user=user)

    response = _as(user).get(reverse("responses:analytics_all"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Riverside Dental" in page and "Hillside Dental" in page
    assert "Stranger Dental" not in page
    for p in (provider, other_provider):
        assert f'href="{reverse("responses:analytics", kwargs={"slug": p.slug})}"' in page
    assert "6 reviews in the period." in page
    assert "3 complaints opened in the period." in page
    assert _table(page, "chart-reviews")["rows"]["Mar 2026"] == ["5"]
    assert _table(page, "chart-average")["rows"]["Mar 2026"] == ["3.4"]  # 17 / 5
    assert _table(page, "chart-reply-rate")["rows"]["Mar 2026"] == ["60"]
    assert _table(page, "chart-reply-time")["rows"]["Mar 2026"] == ["4.0"]  # 2, 4, 10 hours
    assert _table(page, "chart-tickets")["rows"]["Mar 2026"] == ["2", "1", "1", "1"]
    assert _small_table(page, "Invited and organic reviews") == [
        ("Organic", "5", "2.60"),
        ("Invited", "1", "5.00"),
    ]
    assert _as(user).get(reverse("responses:analytics_all") + "?months=12").status_code == 200


# --- queries ---------------------------------------------------------------------------------
def _busy(provider, *, months: int, per_month: int):
    """Reviews (with replies, flags and reports) and complaints in each of `months` months."""
    authors = User.objects.bulk_create(
        User(email=f"{provider.slug}-{n}@example.com", display_name=f"Author {n}")
        for n in range(months * per_month)
    )
    reviews = []
    for m in range(months):
        for k in range(per_month):
            at = NOW - dt.timedelta(days=30 * m + k + 1)
            reviews.append(
                ReviewFactory.build(
                    provider=provider,
                    author=authors[m * per_month + k],
                    status="published",
                    published_at=at,
                    submitted_at=at,
                    rating=1 + (m + k) % 5,
                    source=["organic", "invited"][k % 2],
                    flags=[Flag.LINK, Flag.PHONE][: k % 3],
                )
            )
    Review.objects.bulk_create(reviews)
    Reply.objects.bulk_create(
        Reply(
            review=r,
            provider=provider,
            responder_name="Olive",
            body="Thanks.",
            status="published",
            submitted_at=r.published_at + dt.timedelta(hours=n % 30),
        )
        for n, r in enumerate(reviews)
        if n % 3
    )
    Report.objects.bulk_create(Report(review=r, reason="spam") for r in reviews[::4])
    for r in reviews[::2]:
        TicketFactory(
            provider=provider,
            customer=r.author,
            created_at=r.published_at,
            resolved_at=r.published_at + dt.timedelta(days=2),
            put_right="partly",
        )


def test_the_page_runs_the_same_queries_for_one_month_of_data_as_for_24(provider, other_provider):
    _busy(provider, months=1, per_month=2)
    _busy(other_provider, months=24, per_month=4)
    quiet, busy = _as(_member(provider)), _as(_member(other_provider))
    with CaptureQueriesContext(connection) as one_month:
        assert quiet.get(_url(provider)).status_code == 200
    with CaptureQueriesContext(connection) as all_months:
        response = busy.get(_url(other_provider))
    assert response.status_code == 200
    assert "96 reviews in the period." in response.content.decode()
    assert len(all_months) == len(one_month)


def test_the_combined_page_runs_the_same_queries_for_one_business_as_for_three(provider):
    _busy(provider, months=2, per_month=2)
    others = [ProviderFactory() for _ in range(2)]
    for other in others:
        _busy(other, months=24, per_month=2)
    one = _member(provider)
    three = _member(provider)
    for other in others:
        _member(other, user=three)
    one, three = _as(one), _as(three)
    url = reverse("responses:analytics_all")
    with CaptureQueriesContext(connection) as for_one:
        assert one.get(url).status_code == 200
    with CaptureQueriesContext(connection) as for_three:
        assert "100 reviews in the period." in three.get(url).content.decode()
    assert len(for_three) == len(for_one)


# the user, their membership, the analytics (7), the responsiveness score (3) and the
# header's "has any business" check
PAGE_QUERIES = 13


def test_the_page_stays_within_a_fixed_number_of_queries(
    provider, other_provider, django_assert_max_num_queries
):
    _busy(provider, months=24, per_month=4)
    _busy(other_provider, months=24, per_month=2)
    owner = _member(provider)
    _member(other_provider, user=owner)
    client = _as(owner)
    with django_assert_max_num_queries(PAGE_QUERIES):
        assert client.get(_url(provider)).status_code == 200
    with django_assert_max_num_queries(PAGE_QUERIES):
        assert client.get(reverse("responses:analytics_all")).status_code == 200


# --- escaping --------------------------------------------------------------------------------
def test_a_business_name_with_markup_is_escaped(provider):
    provider.name = '<script>alert("x")</script> & Sons'
    provider.save()
    owner = _member(provider)
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Sons"
    for url in (_url(provider), reverse("responses:analytics_all")):
        page = _as(owner).get(url).content.decode()
        assert escaped in page
        assert "<script>alert" not in page


# --- the score on the provider page and the policy page ----------------------------------------
def _answered(provider, count):
    for n in range(count):
        _review(
            provider, NOW - dt.timedelta(days=10 + n), rating=4, reply_after=dt.timedelta(hours=2)
        )


def test_the_provider_page_says_not_enough_data_below_five(client, provider):
    _answered(provider, 4)
    page = client.get(provider.get_absolute_url()).content.decode()
    assert "Not enough data yet" in page
    assert "/100</strong>" not in page
    assert f'href="{reverse("reviews_policy")}#responsiveness"' in page


def test_the_provider_page_shows_the_score_from_five(client, provider):
    _answered(provider, 5)  # all answered within two hours: 100
    score = (
        r"<strong>100<span[^>]*> out of </span><span[^>]*>/</span>100</strong> · Very responsive"
    )
    page = client.get(provider.get_absolute_url()).content.decode()
    assert "Not enough data yet" not in page
    assert re.search(score, page)
    # The business sees the same score, and its parts, on its analytics page.
    analytics = _as(_member(provider)).get(_url(provider)).content.decode()
    assert re.search(score, analytics)
    assert "Replies to 100% of reviews" in analytics
    assert "Usually replies within 2.0 hours" in analytics


def test_a_middling_score_on_the_provider_page(client, provider):
    _answered(provider, 3)
    _review(provider, NOW - dt.timedelta(days=3), rating=2)
    _review(provider, NOW - dt.timedelta(days=4), rating=2)
    for _ in range(2):  # past their deadline, unresolved
        TicketFactory(provider=provider, created_at=NOW - dt.timedelta(days=20))
    page = client.get(provider.get_absolute_url()).content.decode()
    # 0.3 × 3/5 + 0.2 × 1 + 0.25 × 0 = 0.38 of 0.75: 51
    assert "<strong>51<span" in page
    assert "Sometimes responds" in page


def test_the_reviews_policy_explains_the_responsiveness_score(client):
    page = client.get(reverse("reviews_policy")).content.decode()
    assert '<h2 id="responsiveness">How the responsiveness score is worked out</h2>' in page
    for part in (
        "<strong>Reply rate</strong> (30%)",
        "<strong>Reply speed</strong> (20%)",
        "<strong>Complaints confirmed resolved</strong> (25%)",
        "<strong>“Was this put right?”</strong> (25%)",
    ):
        assert part in page
    assert "24 hours or less, 0 at 168 hours or more" in page
    assert "at least 5 replies and complaints together" in page
    for band in ("Very responsive", "Responsive", "Sometimes responds", "Rarely responds"):
        assert band in page
