"""The public community figures on /stats/: a few aggregates, cached for a minute because
every visitor sees the same numbers."""

import datetime as dt

from django.core.cache import cache
from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from accounts.models import User
from reviews.models import Provider, Review, ReviewStatus

CACHE_KEY = "site-figures"
CACHE_SECONDS = 60
RECENT_DAYS = 30


class _Median(Aggregate):
    """PostgreSQL's exact median; it works on intervals as well as numbers."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


def median_duration(queryset, expression) -> dt.timedelta | None:
    """The median of `expression` (a duration) over `queryset`, in the database where it can
    be (PostgreSQL), otherwise over the values alone."""
    annotated = queryset.annotate(_d=ExpressionWrapper(expression, output_field=DurationField()))
    if connection.vendor == "postgresql":
        return annotated.aggregate(m=_Median("_d", output_field=DurationField()))["m"]
    values = sorted(annotated.values_list("_d", flat=True))
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def median_moderation_hours(*, since) -> float | None:
    """Median time from a review's submission to the moderator's decision on it."""
    from reviews.models import Decision, ModerationDecision

    decisions = ModerationDecision.objects.filter(
        created_at__gte=since,
        decision__in=[Decision.APPROVE, Decision.REJECT],
        content_type__model="review",
        review__isnull=False,
    )
    median = median_duration(decisions, F("created_at") - F("review__submitted_at"))
    return None if median is None else round(median.total_seconds() / 3600, 1)


def _compute() -> dict:
    since = timezone.now() - dt.timedelta(days=RECENT_DAYS)
    reviews = Review.objects.filter(status=ReviewStatus.PUBLISHED).aggregate(
        published=Count("id"),
        recent=Count("id", filter=Q(published_at__gte=since)),
        # the business's reply is responses.Reply, reached through the reverse relation
        replied=Count("id", filter=Q(reply__status="published")),
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
        "replies_share": reviews["replied"] / reviews["published"] if reviews["published"] else 0.0,
        "median_moderation_hours": median_moderation_hours(since=since),
        "recent_days": RECENT_DAYS,
    }


def site_figures() -> dict:
    """Providers listed, published reviews, active members, what is new in the last 30 days
    the share of reviews answered and the median moderation time: four queries at most, none
    within a minute."""
    return cache.get_or_set(CACHE_KEY, _compute, CACHE_SECONDS)
