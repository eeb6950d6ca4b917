"""Everything that asks "has this review a reply?" and the ticket lists, checked against a recount.

Issue #10 rewrote them so that PostgreSQL reads only the providers' own replies and tickets
through their indexes (responses.selectors.review_has_reply, ticket_list_visible_to). These
tests hold the figures and rows to a count by hand over data with replies in every state
(published, pending, rejected, draft, withdrawn, none), on published and unpublished reviews,
inside and outside the 365-day window, for the business's two providers and for someone
else's, so that a probe that reads the wrong replies, or a list that leaks or drops a ticket,
fails."""

import datetime as dt
import statistics

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from responses.insights import (
    month_start,
    provider_analytics,
    provider_reply_figures,
    provider_responsiveness,
    responsiveness_for,
)
from responses.models import Reply, ReplyRevision, Role, Ticket
from responses.selectors import (
    TABS,
    awaiting_reply_counts,
    business_reviews,
    business_tab_counts,
    ticket_list_visible_to,
)
from reviews.models import Review
from tests.factories import (
    CategoryFactory,
    MembershipFactory,
    ProviderFactory,
    ReviewFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
REPLY_STATES = ["published", "pending", "rejected", "draft", "withdrawn", None]
# (review status, days since publication): published ones inside and outside the year, and
# reviews no longer public, whose replies must count nowhere.
REVIEWS = [("published", 3), ("published", 40), ("published", 200), ("published", 400)]
HIDDEN = [("removed", 20), ("withdrawn", 60)]


@pytest.fixture
def world():
    now = timezone.now()
    category = CategoryFactory()
    providers = {
        "elms": ProviderFactory(name="Elms Medical Centre", slug="elms", category=category),
        "oaks": ProviderFactory(name="Oaks Dental", slug="oaks", category=category),
        "other": ProviderFactory(name="Someone Else's", slug="other", category=category),
        "closed": ProviderFactory(
            name="Closed Practice", slug="closed", category=category, is_active=False
        ),
    }
    owner = UserFactory(display_name="Olive Owner")
    MembershipFactory(provider=providers["elms"], user=owner, role=Role.OWNER)
    MembershipFactory(provider=providers["oaks"], user=owner, role=Role.RESPONDER)
    MembershipFactory(provider=providers["closed"], user=owner, role=Role.OWNER)
    n = 0
    for key in ("elms", "oaks", "other"):
        provider = providers[key]
        # every reply state on every kind of review, the delays differing so medians do too
        for status, days in REVIEWS + HIDDEN:
            for state in REPLY_STATES:
                n += 1
                published_at = now - days * DAY - n * HOUR
                review = ReviewFactory(
                    provider=provider,
                    rating=1 + n % 5,
                    title=f"Review {n} of {provider.slug}",
                    status=status,
                    submitted_at=published_at - HOUR,
                    published_at=published_at,
                )
                if state is None:
                    continue
                submitted = None if state == "draft" else published_at + (n % 7 + 1) * HOUR
                reply = Reply.objects.create(
                    review=review,
                    provider=provider,
                    responder_name="Olive Owner",
                    body=f"Thank you, reviewer {n}.",
                    status=state,
                    submitted_at=submitted,
                    published_at=submitted + HOUR if state == "published" else None,
                    decided_at=submitted + HOUR if state in ("published", "rejected") else None,
                )
                if state == "published" and n % 2:
                    # an edit of a published reply waiting for the moderators
                    ReplyRevision.objects.create(
                        reply=reply, body="A better answer.", submitted_at=now - n * HOUR
                    )
    return {"now": now, "owner": owner, **providers}


# --- the recount -----------------------------------------------------------------------------
def published_reviews(provider, *, since=None) -> list[Review]:
    rows = [r for r in Review.objects.filter(provider=provider) if r.status == "published"]
    return [r for r in rows if since is None or r.published_at >= since]


def reply_of() -> dict[int, Reply]:
    return {reply.review_id: reply for reply in Reply.objects.all()}


def pending_edits() -> set[int]:
    return {
        revision.reply.review_id
        for revision in ReplyRevision.objects.select_related("reply")
        if revision.status == "pending"
    }


def median_hours(deltas) -> float | None:
    if not deltas:
        return None
    return round(max(statistics.median(d.total_seconds() for d in deltas), 0) / 3600, 1)


def reply_figures(provider, now) -> dict:
    replies = reply_of()
    reviews = published_reviews(provider, since=now - 365 * DAY)
    answered = [r for r in reviews if r.pk in replies and replies[r.pk].status == "published"]
    return {
        "reviews": len(reviews),
        "replied": len(answered),
        "reply_rate": round(100 * len(answered) / len(reviews)) if reviews else None,
        "median_reply_hours": median_hours(
            [replies[r.pk].submitted_at - r.published_at for r in answered]
        ),
    }


def tab_of(review, replies) -> str:
    """The dashboard tab a published review belongs in by its reply's state (a pending edit of
    a published reply puts it in "pending" as well: expected_tabs)."""
    reply = replies.get(review.pk)
    if reply is None or reply.status in ("draft", "withdrawn"):
        return "inbox"
    return {"pending": "pending", "published": "replied", "rejected": "rejected"}[reply.status]


def expected_tabs(provider) -> dict[str, list[int]]:
    replies, edits = reply_of(), pending_edits()
    reviews = published_reviews(provider)
    tabs = {tab: [r for r in reviews if tab_of(r, replies) == tab] for tab in TABS}
    tabs["pending"] += [r for r in reviews if r.pk in edits]
    return {
        "inbox": [r.pk for r in sorted(tabs["inbox"], key=lambda r: (r.published_at, r.pk))],
        "pending": [
            r.pk for r in sorted(tabs["pending"], key=lambda r: (replies[r.pk].submitted_at, r.pk))
        ],
        "replied": [
            r.pk
            for r in sorted(
                tabs["replied"], key=lambda r: (replies[r.pk].published_at, r.pk), reverse=True
            )
        ],
        "rejected": [
            r.pk
            for r in sorted(
                tabs["rejected"], key=lambda r: (replies[r.pk].decided_at, r.pk), reverse=True
            )
        ],
    }


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# --- responsiveness: the provider page, the API provider detail, the inbox's figures --------
def test_reply_figures_equal_a_recount(world, django_assert_num_queries):
    now = world["now"]
    ids = [world[key].pk for key in ("elms", "oaks", "other")]
    together = responsiveness_for(provider_ids=ids, now=now)
    everyone = responsiveness_for(now=now)
    for key in ("elms", "oaks", "other"):
        provider = world[key]
        expected = reply_figures(provider, now)
        assert expected["replied"] and expected["median_reply_hours"] is not None
        assert together[provider.pk].response_figures() == expected, key
        assert everyone[provider.pk].response_figures() == expected, key
        assert provider_responsiveness(provider, now=now).response_figures() == expected, key
        with django_assert_num_queries(2):
            assert provider_reply_figures(provider=provider, now=now) == expected, key
    with django_assert_num_queries(3):
        responsiveness_for(provider_ids=ids, now=now)


def test_the_inbox_shows_the_reply_figures_of_a_recount(world, client):
    client.force_login(world["owner"])
    html = client.get("/business/elms/").content.decode()
    expected = reply_figures(world["elms"], timezone.now())
    assert (
        f"You replied to {expected['reply_rate']}% of reviews "
        f"({expected['replied']} of {expected['reviews']})."
    ) in html
    assert f"Your median time to reply is {expected['median_reply_hours']} hours." in html


# --- analytics: reply rate and median reply time, month by month -----------------------------
@pytest.mark.parametrize("keys", [("elms",), ("elms", "oaks")])
def test_analytics_reply_figures_equal_a_recount(world, keys):
    now = world["now"]
    got = provider_analytics(provider_ids=[world[k].pk for k in keys], months=24, now=now)
    replies = reply_of()
    reviews = [r for k in keys for r in published_reviews(world[k])]
    by_month = {m: [r for r in reviews if month_start(r.published_at) == m] for m in got.months}
    answered = {
        m: [r for r in rows if r.pk in replies and replies[r.pk].status == "published"]
        for m, rows in by_month.items()
    }
    assert sum(len(a) for a in answered.values()) > 0
    assert got.reviews == [len(by_month[m]) for m in got.months]
    assert got.reply_rate == [
        round(100 * len(answered[m]) / len(by_month[m]), 1) if by_month[m] else None
        for m in got.months
    ]
    assert got.median_reply_hours == [
        median_hours([replies[r.pk].submitted_at - r.published_at for r in answered[m]])
        for m in got.months
    ]


# --- the API's has_reply filter ---------------------------------------------------------------
@pytest.mark.parametrize("key", ["elms", "other"])
@pytest.mark.parametrize("rating", [None, 2])
def test_has_reply_lists_and_counts_what_a_recount_finds(world, key, rating):
    replies = reply_of()
    reviews = published_reviews(world[key])
    if rating:
        reviews = [r for r in reviews if r.rating == rating]
    newest_first = sorted(reviews, key=lambda r: (r.published_at, r.pk), reverse=True)
    with_reply = [
        r.pk for r in newest_first if r.pk in replies and replies[r.pk].status == "published"
    ]
    without = [r.pk for r in newest_first if r.pk not in with_reply]
    assert with_reply and without
    api = APIClient()
    for value, expected in (("true", with_reply), ("false", without)):
        params = {"has_reply": value, "page_size": 100, **({"rating": rating} if rating else {})}
        body = api.get(f"/api/v1/providers/{key}/reviews/", params).json()
        assert body["count"] == len(expected)
        assert [row["id"] for row in body["results"]] == expected
        shown = {row["id"]: row["reply"] for row in body["results"]}
        assert all((shown[pk] is not None) == (value == "true") for pk in expected)


def test_has_reply_pages_run_the_same_queries_for_few_and_many(world, django_assert_num_queries):
    api = APIClient()
    url = "/api/v1/providers/elms/reviews/?has_reply="
    for value in ("true", "false"):
        with django_assert_num_queries(3):
            assert api.get(url + value).status_code == 200
    for n in range(30):
        review = ReviewFactory(
            provider=world["elms"], status="published", published_at=world["now"]
        )
        Reply.objects.create(
            review=review, provider=world["elms"], body=f"Thanks {n}", status="published"
        )
    for value in ("true", "false"):
        with django_assert_num_queries(3):
            assert api.get(url + value).status_code == 200


# --- the business inbox --------------------------------------------------------------------
def test_inbox_tabs_and_counts_equal_a_recount(world, django_assert_num_queries):
    for key in ("elms", "oaks"):
        expected = expected_tabs(world[key])
        assert all(expected[tab] for tab in TABS), key
        for tab in TABS:
            got = [r.pk for r in business_reviews(provider=world[key], tab=tab)]
            assert got == expected[tab], (key, tab)
        with django_assert_num_queries(1):
            counts = business_tab_counts(provider=world[key])
        assert counts == {tab: len(expected[tab]) for tab in TABS}, key
    ids = [world[key].pk for key in ("elms", "oaks", "other")]
    with django_assert_num_queries(1):
        waiting = awaiting_reply_counts(provider_ids=ids)
    assert waiting == {
        world[k].pk: len(expected_tabs(world[k])["inbox"]) for k in ("elms", "oaks", "other")
    }


@pytest.mark.parametrize("tab", TABS)
def test_the_inbox_page_shows_each_tab_of_a_recount(world, client, tab):
    client.force_login(world["owner"])
    html = client.get(f"/business/elms/?tab={tab}").content.decode()
    expected = expected_tabs(world["elms"])
    for name, label in [
        ("inbox", "Waiting for a reply"),
        ("pending", "With the moderators"),
        ("replied", "Replied"),
        ("rejected", "Reply not published"),
    ]:
        assert f"{label} ({len(expected[name])})" in html
    titles = {r.pk: r.title for r in Review.objects.all()}
    shown = [pk for pk in titles if f">{titles[pk]}</h2>" in html]
    assert sorted(shown, key=lambda pk: html.index(f">{titles[pk]}</h2>")) == expected[tab][:20]


def test_inbox_page_queries_do_not_grow_with_reviews(world, client):
    client.force_login(world["owner"])
    counts = []
    for _round in range(2):
        counts.append([queries_for(client, f"/business/elms/?tab={tab}") for tab in TABS])
        for n in range(25):
            review = ReviewFactory(
                provider=world["elms"], status="published", published_at=world["now"]
            )
            state = REPLY_STATES[n % len(REPLY_STATES)]
            if state:
                Reply.objects.create(
                    review=review,
                    provider=world["elms"],
                    body="Thanks",
                    status=state,
                    submitted_at=world["now"],
                    published_at=world["now"],
                    decided_at=world["now"],
                )
    assert counts[0] == counts[1]
    assert max(counts[0]) <= 12


# --- tickets -------------------------------------------------------------------------------
@pytest.fixture
def tickets(world):
    customer = UserFactory(display_name="Casey Customer")
    made = []
    for key in ("elms", "oaks", "other", "closed"):
        for who in (customer, world["owner"], UserFactory()):
            made.append(
                TicketFactory(
                    provider=world[key], customer=who, subject=f"Complaint to {key} {len(made)}"
                )
            )
    return {"customer": customer, "all": made}


def expected_tickets(user, world) -> list[int]:
    """The user's own complaints, and every ticket of a provider they answer for that is still
    listed (the closed practice is not), newest first."""
    member_of = {world["elms"].pk, world["oaks"].pk} if user == world["owner"] else set()
    rows = [
        t for t in Ticket.objects.all() if t.customer_id == user.pk or t.provider_id in member_of
    ]
    return [t.pk for t in sorted(rows, key=lambda t: (t.created_at, t.pk), reverse=True)]


def test_ticket_lists_equal_a_recount(world, tickets):
    owner, customer = world["owner"], tickets["customer"]
    for user in (owner, customer, UserFactory()):
        expected = expected_tickets(user, world)
        got = ticket_list_visible_to(user=user).order_by("-created_at", "-pk")
        assert [t.pk for t in got] == expected
    api = APIClient()
    for user in (owner, customer):
        api.force_authenticate(user)
        body = api.get("/api/v1/tickets/", {"page_size": 100}).json()
        assert body["count"] == len(expected_tickets(user, world))
        assert [row["id"] for row in body["results"]] == expected_tickets(user, world)
    # someone else's ticket stays a 404, also to a member of the provider's former listing
    api.force_authenticate(owner)
    other = next(t for t in tickets["all"] if t.provider_id == world["other"].pk)
    closed = next(
        t
        for t in tickets["all"]
        if t.provider_id == world["closed"].pk and t.customer_id != owner.pk
    )
    assert api.get(f"/api/v1/tickets/{other.pk}/").status_code == 404
    assert api.get(f"/api/v1/tickets/{closed.pk}/").status_code == 404


def test_ticket_pages_show_the_rows_of_a_recount(world, tickets):
    owner, customer = world["owner"], tickets["customer"]
    client = Client()
    client.force_login(owner)
    html = client.get("/business/elms/tickets/?status=all").content.decode()
    subjects = {t.pk: t.subject for t in Ticket.objects.all()}
    shown = {pk for pk, subject in subjects.items() if f">{subject}</a>" in html}
    assert shown == {t.pk for t in Ticket.objects.filter(provider=world["elms"])}
    client.force_login(customer)
    html = client.get("/accounts/tickets/").content.decode()
    shown = {pk for pk, subject in subjects.items() if f">{subject}</a>" in html}
    assert shown == {t.pk for t in Ticket.objects.filter(customer=customer)}
    assert len(shown) == 4


@pytest.mark.parametrize(
    ("url", "who"),
    [
        ("/api/v1/tickets/", "owner"),
        ("/api/v1/tickets/", "customer"),
        ("/business/elms/tickets/", "owner"),
        ("/accounts/tickets/", "customer"),
    ],
)
def test_ticket_lists_run_the_same_queries_for_few_and_many(world, tickets, url, who):
    user = world["owner"] if who == "owner" else tickets["customer"]
    client = APIClient() if url.startswith("/api/") else Client()
    client.force_login(user)
    counts = []
    for _round in range(2):
        counts.append(queries_for(client, url))
        for n in range(25):
            TicketFactory(provider=world["elms"], customer=tickets["customer"], subject=f"More {n}")
    assert counts[0] == counts[1] <= 12
