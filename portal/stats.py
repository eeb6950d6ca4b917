"""The public community figures on /stats/: aggregates over every review, kept in the shared
cache because every visitor sees the same numbers.

At a million reviews they take seconds to count, so no visitor waits for them: the page shows
the last figures with the time they were counted, and when those are more than a minute old
the first visitor to notice queues a recount (`site_figures_refresh_task`, run by the task
worker; in-process with the demo's immediate backend). Only one recount is queued at a time.
Figures over the whole site change with every review, so they are refreshed by age rather
than by each service."""

import datetime as dt

from django.core.cache import cache
from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Q
from django.tasks import task
from django.utils import timezone

from accounts.models import User
from reviews.models import Provider, Review, ReviewStatus

CACHE_KEY = "site-figures"
FRESH_SECONDS = 60  # older figures are shown while a recount is queued
KEEP_SECONDS = 7 * 24 * 3600
REFRESH_LOCK_KEY = "site-figures-refreshing"
REFRESH_LOCK_SECONDS = 10 * 60  # a recount that died frees the lock after this
RECENT_DAYS = 30
REPLY_DAYS = 365  # the median reply time covers the last 12 months


class Median(Aggregate):
    """PostgreSQL's exact median; it works on intervals as well as numbers."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


def median_duration(queryset, expression) -> dt.timedelta | None:
    """The median of `expression` (a duration) over `queryset`, in the database where it can
    be (PostgreSQL), otherwise over the values alone."""
    annotated = queryset.annotate(_d=ExpressionWrapper(expression, output_field=DurationField()))
    if connection.vendor == "postgresql":
        return annotated.aggregate(m=Median("_d", output_field=DurationField()))["m"]
    values = sorted(annotated.values_list("_d", flat=True))
    return median_of(values) if values else None


def median_duration_by(queryset, key, expression) -> dict:
    """{key value: median of `expression`} over `queryset` grouped by `key` (a field name or
    an expression such as TruncMonth): one query, grouped in PostgreSQL, over the pairs in
    Python elsewhere. Groups without values are absent."""
    annotated = queryset.annotate(
        _k=key if not isinstance(key, str) else F(key),
        _d=ExpressionWrapper(expression, output_field=DurationField()),
    ).filter(_d__isnull=False)
    if connection.vendor == "postgresql":
        rows = (
            annotated.order_by()
            .values("_k")
            .annotate(m=Median("_d", output_field=DurationField()))
            .values_list("_k", "m")
        )
        return dict(rows)
    groups: dict = {}
    for k, d in annotated.order_by().values_list("_k", "_d"):
        groups.setdefault(k, []).append(d)
    return {k: median_of(sorted(values)) for k, values in groups.items()}


def median_of(values: list):
    """The median of sorted values (the mean of the middle two for an even count)."""
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


def _tickets() -> dict:
    from responses.models import Ticket, TicketStatus

    return Ticket.objects.aggregate(
        opened=Count("pk"),
        resolved=Count(
            "pk",
            filter=Q(
                status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED], resolved_at__isnull=False
            ),
        ),
        confirmed=Count("pk", filter=Q(status=TicketStatus.CLOSED, confirmed_by_customer=True)),
    )


def median_reply_hours(*, since) -> float | None:
    """Median time from a review's publication to the business's reply, over the replies
    published for reviews published since `since`."""
    answered = Review.objects.filter(
        status=ReviewStatus.PUBLISHED,
        published_at__gte=since,
        reply__status="published",
        reply__submitted_at__isnull=False,
    )
    median = median_duration(answered, F("reply__submitted_at") - F("published_at"))
    return None if median is None else round(max(median.total_seconds(), 0) / 3600, 1)


MOST_RESPONSIVE_PER_CATEGORY = 5


def most_responsive(*, per_category: int = MOST_RESPONSIVE_PER_CATEGORY) -> list[dict]:
    """[{category, providers: [{name, slug, town, score, band, reply_rate}]}] for every
    category with a provider that has enough data, best first (ties by name). Four queries."""
    from responses.insights import responsiveness_for

    scores = {
        pk: r for pk, r in responsiveness_for(provider_ids=None).items() if r.score is not None
    }
    providers = (
        Provider.objects.active()
        .filter(pk__in=list(scores))
        .select_related("category")
        .only("pk", "name", "slug", "town", "category__name", "category__slug")
    )
    groups: dict = {}
    for provider in providers:
        r = scores[provider.pk]
        groups.setdefault(provider.category.name, []).append(
            {
                "name": provider.name,
                "slug": provider.slug,
                "town": provider.town,
                "score": r.score,
                "band": r.band_label,  # lazy: these figures are cached for every language
                "reply_rate": r.reply_rate,
            }
        )
    return [
        {
            "category": name,
            "providers": sorted(rows, key=lambda p: (-p["score"], p["name"]))[:per_category],
        }
        for name, rows in sorted(groups.items())
    ]


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
    tickets = _tickets()
    return {
        "providers": Provider.objects.active().count(),
        "published_reviews": reviews["published"],
        "members": members["total"],
        "new_members": members["recent"],
        "new_reviews": reviews["recent"],
        "replies": reviews["replied"],
        "replies_share": reviews["replied"] / reviews["published"] if reviews["published"] else 0.0,
        "complaints": tickets["opened"],
        "complaints_resolved": tickets["resolved"],
        "complaints_confirmed": tickets["confirmed"],
        "median_reply_hours": median_reply_hours(
            since=timezone.now() - dt.timedelta(days=REPLY_DAYS)
        ),
        "median_moderation_hours": median_moderation_hours(since=since),
        "most_responsive": most_responsive(),
        "recent_days": RECENT_DAYS,
        "reply_days": REPLY_DAYS,
    }


def site_figures_refresh() -> dict:
    """Count the figures now and keep them, with the time they were counted ("as_of")."""
    figures = {**_compute(), "as_of": timezone.now()}
    cache.set(CACHE_KEY, figures, KEEP_SECONDS)
    return figures


@task()
def site_figures_refresh_task() -> None:
    try:
        site_figures_refresh()
    finally:
        cache.delete(REFRESH_LOCK_KEY)


def site_figures() -> dict:
    """The figures on /stats/: what Heard holds, what is new in the last 30 days, how
    businesses answer and put complaints right, and the most responsive providers of each
    category, with "as_of", when they were counted. No query at all while figures are kept;
    about ten, once, when there are none yet."""
    figures = cache.get(CACHE_KEY)
    if figures is None:
        return site_figures_refresh()
    stale = (timezone.now() - figures["as_of"]).total_seconds() > FRESH_SECONDS
    if stale and cache.add(REFRESH_LOCK_KEY, True, REFRESH_LOCK_SECONDS):
        site_figures_refresh_task.enqueue()
        # The demo's immediate backend has counted already; a worker will count later.
        figures = cache.get(CACHE_KEY) or figures
    return figures
