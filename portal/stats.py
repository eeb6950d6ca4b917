"""The public community figures on /stats/: a few aggregates, cached for a minute because
every visitor sees the same numbers."""

import datetime as dt

from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from reviews.models import Provider, Review, ReviewStatus

CACHE_KEY = "site-figures"
CACHE_SECONDS = 60
RECENT_DAYS = 30


def replies_share() -> float:
    """Share (0 to 1) of published reviews that carry a published reply from the business.

    Replies are counted once the responses app stores them; until then no review has one.
    """
    return 0.0


def _compute() -> dict:
    since = timezone.now() - dt.timedelta(days=RECENT_DAYS)
    reviews = Review.objects.filter(status=ReviewStatus.PUBLISHED).aggregate(
        published=Count("id"), recent=Count("id", filter=Q(published_at__gte=since))
    )
    members = User.objects.filter(is_active=True).aggregate(
        total=Count("id"), recent=Count("id", filter=Q(date_joined__gte=since))
    )
    return {
        "providers": Provider.objects.active().count(),
        "published_reviews": reviews["published"],
        "members": members["total"],
        "new_members": members["recent"],
        "new_reviews": reviews["recent"],
        "replies_share": replies_share(),
        "recent_days": RECENT_DAYS,
    }


def site_figures() -> dict:
    """Providers listed, published reviews, active members, what is new in the last 30 days
    and the share of reviews answered: three queries at most, none within a minute."""
    return cache.get_or_set(CACHE_KEY, _compute, CACHE_SECONDS)
