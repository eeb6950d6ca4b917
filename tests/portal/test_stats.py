"""The public /stats/ page: the right figures, few queries, shown from the cache with the time
they were counted, and recounted (once, in the background) when more than a minute old."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from portal.stats import CACHE_KEY, site_figures
from tests.factories import ProviderFactory, ReviewFactory, UserFactory, publish

pytestmark = pytest.mark.django_db

# providers, reviews, members, tickets, median reply, median moderation, the responsiveness
# score's three grouped queries and the scored providers' names
FIGURE_QUERIES = 10


def test_figures_count_listed_providers_published_reviews_and_active_members(moderator):
    long_ago = timezone.now() - dt.timedelta(days=45)
    providers = ProviderFactory.create_batch(3)
    ProviderFactory(is_active=False)
    authors = UserFactory.create_batch(4)
    UserFactory(is_active=False)
    UserFactory(date_joined=long_ago)
    publish(ReviewFactory(provider=providers[0], author=authors[0]), moderator)
    publish(ReviewFactory(provider=providers[1], author=authors[1]), moderator)
    publish(
        ReviewFactory(
            provider=providers[2], author=authors[2], submitted_at=long_ago, published_at=long_ago
        ),
        moderator,
    )
    ReviewFactory(provider=providers[0], author=authors[3])  # pending

    with time_machine.travel(timezone.now(), tick=False):
        figures = site_figures()
        assert figures.pop("as_of") == timezone.now()
    assert figures == {
        "providers": 3,
        "published_reviews": 3,
        "members": 6,  # four authors, the old member and the moderator
        "new_members": 5,
        "new_reviews": 2,
        "replies": 0,
        "replies_share": 0.0,
        "complaints": 0,
        "complaints_resolved": 0,
        "complaints_confirmed": 0,
        "median_reply_hours": None,
        "most_responsive": [],
        "recent_days": 30,
        "reply_days": 365,
        # two decided at once, one submitted long before: the median is the typical case
        "median_moderation_hours": 0.0,
    }


AS_OF = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)


@time_machine.travel(AS_OF, tick=False)
def test_page_shows_the_figures_with_thousands_separators(client):
    cache.set(
        CACHE_KEY,
        {
            "providers": 12345,
            "published_reviews": 1234567,
            "members": 4321,
            "new_members": 87,
            "new_reviews": 2048,
            "replies_share": 0.0,
            "recent_days": 30,
            "as_of": AS_OF,
        },
    )

    response = client.get("/stats/")
    body = response.content.decode()

    assert response.status_code == 200
    assert "<title>Heard in numbers – Heard</title>" in body
    for text in (
        "12,345",
        "1,234,567",
        "4,321",
        "2,048",
        "In the last 30 days",
        "0%",
        "Counted at 2 March 2026, 14:30",
    ):
        assert text in body
    assert "<dt>Published reviews</dt>" in body


@pytest.mark.parametrize("n", [2, 30])
def test_page_runs_the_same_few_queries_however_many_reviews(
    client, moderator, django_assert_max_num_queries, n
):
    provider = ProviderFactory()
    for _i in range(n):
        publish(ReviewFactory(provider=provider), moderator)

    with django_assert_max_num_queries(FIGURE_QUERIES):
        response = client.get("/stats/")
    assert response.status_code == 200
    assert f'<dd class="figure__value">{n}</dd>' in response.content.decode()


def test_figures_are_kept_then_recounted_once_they_are_a_minute_old(
    client, moderator, django_assert_num_queries, django_assert_max_num_queries, settings
):
    # The recount's lock expires by the cache's clock; the frozen clock only reaches locmem.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    provider = ProviderFactory()
    publish(ReviewFactory(provider=provider), moderator)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.get("/stats/")
        publish(ReviewFactory(provider=provider), moderator)

        traveller.shift(dt.timedelta(seconds=59))
        with django_assert_num_queries(0):
            response = client.get("/stats/")
        assert response.context["figures"]["published_reviews"] == 1

        # Older than a minute: a recount is queued (the test settings' immediate backend
        # runs it at once) and the page shows its figures.
        traveller.shift(dt.timedelta(seconds=2))
        with django_assert_max_num_queries(FIGURE_QUERIES):
            assert site_figures()["published_reviews"] == 2
        assert site_figures()["as_of"] == timezone.now()


def test_a_recount_already_queued_is_not_queued_again(moderator, settings, monkeypatch):
    """With a real queue the page shows the kept figures while one recount waits."""
    from portal import stats

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    queued = []

    class Queue:
        def enqueue(self):
            queued.append(1)

    monkeypatch.setattr(stats, "site_figures_refresh_task", Queue())
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        first = site_figures()
        traveller.shift(dt.timedelta(minutes=5))
        for _ in range(3):
            assert site_figures()["as_of"] == first["as_of"]  # the kept figures, at once
    assert queued == [1]


def test_median_moderation_time_over_the_last_30_days(client, db):
    import datetime as dt

    from django.utils import timezone

    from reviews.models import Review
    from tests.factories import ModeratorFactory, ReviewFactory, publish

    moderator = ModeratorFactory()
    now = timezone.now()
    for hours in (1, 3, 10):
        review = ReviewFactory()
        Review.objects.filter(pk=review.pk).update(submitted_at=now - dt.timedelta(hours=hours))
        review.refresh_from_db()
        publish(review, moderator)
    body = client.get("/stats/").content.decode()
    assert "Median time to check a review" in body
    assert "3.0 h" in body


def _replied(provider, moderator, *, hours, rating=4):
    """A published review of `provider` with a published reply `hours` after publication."""
    from responses.models import Reply

    review = publish(ReviewFactory(provider=provider, rating=rating), moderator)
    Reply.objects.create(
        review=review,
        provider=provider,
        responder_name="Owner",
        body="Thank you for telling us.",
        status="published",
        submitted_at=review.published_at + dt.timedelta(hours=hours),
        published_at=review.published_at + dt.timedelta(hours=hours + 1),
    )
    return review


def test_complaints_replies_and_the_most_responsive_providers(client, moderator):
    from responses.models import TicketStatus
    from tests.factories import CategoryFactory, TicketFactory

    dentists, shops = CategoryFactory(name="Dentists"), CategoryFactory(name="Shops")
    quick = ProviderFactory(name="Quick Dental", category=dentists)
    slow = ProviderFactory(name="Slow Dental", category=dentists)
    quiet = ProviderFactory(name="Quiet Shop", category=shops)  # too little data to score
    for _i in range(5):
        _replied(quick, moderator, hours=2)
    for _i in range(3):
        _replied(slow, moderator, hours=100)
    for _i in range(2):
        publish(ReviewFactory(provider=slow), moderator)  # never answered
    _replied(quiet, moderator, hours=1)
    now = timezone.now()
    TicketFactory(
        provider=slow,
        status=TicketStatus.CLOSED,
        confirmed_by_customer=True,
        resolved_at=now,
        closed_at=now,
        put_right="yes",
    )
    TicketFactory(provider=slow, status=TicketStatus.RESOLVED, resolved_at=now)
    TicketFactory(provider=slow)

    figures = site_figures()

    assert figures["replies"] == 9
    assert (figures["complaints"], figures["complaints_resolved"]) == (3, 2)
    assert figures["complaints_confirmed"] == 1
    assert figures["median_reply_hours"] == 2.0  # 1, 2 × 5, 100 × 3: the middle of nine
    [group] = figures["most_responsive"]  # the shop has one reply: not enough to be scored
    assert group["category"] == "Dentists"
    assert [p["name"] for p in group["providers"]] == ["Quick Dental", "Slow Dental"]
    assert group["providers"][0]["score"] == 100  # every review answered within a day
    body = client.get("/stats/").content.decode()
    assert "Most responsive providers" in body and "Quick Dental" in body
    assert "Quiet Shop" not in body
