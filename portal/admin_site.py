"""Heard's admin site: the moderation desk. Its index shows every queue with its size and the
age of its oldest item, and today's decisions (both live), then the staff analytics: decisions
and median turnaround per day, decisions by reason, and how often reviews of each star rating
were rejected — so unequal treatment of positive and negative reviews shows. The analytics are
statistics over 30 days, computed at most every few minutes and shared through the cache."""

import datetime as dt
from collections import defaultdict

from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from portal.charts import Chart, Series
from portal.moderation import MODERATE_PERMISSION, queue_summaries

ANALYTICS_DAYS = 30
# The analytics are the same for every moderator and change slowly: one computation serves the
# whole desk for this long (the page says how old the figures are). Queue sizes stay live.
ANALYTICS_CACHE_SECONDS = 5 * 60
ANALYTICS_CACHE_KEY = "staff-analytics:v2"
STARS = (5, 4, 3, 2, 1)

# Where a decision's turnaround starts: when its item entered the queue (the same moment the
# queue's "oldest waiting for" counts from). Replies are left out: a rejected reply that is
# sent again keeps its first submission time, so its wait cannot be known. Removals are left
# out too: they end a published review's life, they do not end a wait in a queue.
TURNAROUND_STARTS = {
    "reviews.Review": "submitted_at",
    "reviews.ReviewRevision": "submitted_at",
    "reviews.Report": "created_at",
    "responses.ReplyRevision": "submitted_at",
    "responses.ProviderClaim": "created_at",
}
TURNAROUND_COVERS = _("reviews, edits, reports and claims (not replies)")


def decisions_today() -> int:
    """Decisions since local midnight: live, a range of decision_time_idx."""
    from reviews.models import ModerationDecision

    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return ModerationDecision.objects.filter(created_at__gte=today).count()


# --- staff analytics ---------------------------------------------------------------------------
def _turnaround_start(review_type: ContentType):
    """When the decided item entered its queue; NULL where there is nothing to measure from.

    Nearly every decision is about a review, and a review decision's `review` is the review
    itself: its start comes from a join on review_id (probes of review_id_rating_idx, which
    holds the id, rating and submission time), not from a subquery per row. The rarer items
    (edits, reports, claims) have no such key, so theirs stay subqueries, run only for their
    own rows."""
    from reviews.models import Decision, Review

    whens = [
        When(content_type=review_type, then=F(f"review__{TURNAROUND_STARTS['reviews.Review']}"))
    ]
    models = {label: apps.get_model(label) for label in TURNAROUND_STARTS}
    types = ContentType.objects.get_for_models(*models.values())  # cached after the first call
    whens += [
        When(
            content_type=types[model],
            then=Subquery(
                model._default_manager.filter(pk=OuterRef("object_id"))
                .order_by()
                .values(TURNAROUND_STARTS[label])[:1]
            ),
        )
        for label, model in models.items()
        if model is not Review
    ]
    return Case(
        When(decision=Decision.REMOVE, then=Value(None)),
        *whens,
        default=Value(None),
        output_field=DateTimeField(),
    )


def _rating_counts(review_type: ContentType) -> dict:
    """Per day, the approvals and rejections of reviews of each star rating (the rejection
    rates are their sums): counted in the same pass as the day's other figures."""
    from reviews.models import Decision

    decided = Q(content_type=review_type, decision__in=[Decision.APPROVE, Decision.REJECT])
    rejected = Q(content_type=review_type, decision=Decision.REJECT)
    counts = {}
    for stars in STARS:  # COUNT(id): Django allows no FILTER on COUNT(*)
        counts[f"decided_{stars}"] = Count("pk", filter=decided & Q(review__rating=stars))
        counts[f"rejected_{stars}"] = Count("pk", filter=rejected & Q(review__rating=stars))
    return counts


def _hours(duration: dt.timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 3600, 1)


def staff_analytics(*, days: int = ANALYTICS_DAYS) -> dict:
    """For each of the last `days` local dates (today included, empty days as zeros): the
    number of moderation decisions and their median turnaround in hours (None where no
    decision had a measurable one); the decisions by reason over the whole window, most
    frequent first; and, over the same window, the decided and rejected reviews of each star
    rating with the rejection rate. Two queries on PostgreSQL, three elsewhere, however many
    rows; `as_of` is when they were computed."""
    from portal.stats import Median, median_of
    from reviews.models import ModerationDecision, RejectionReason, Review

    as_of = timezone.now()
    today = timezone.localdate(as_of)
    first = today - dt.timedelta(days=days - 1)
    review_type = ContentType.objects.get_for_model(Review)
    # Local midnights: a day with a clock change is 23 or 25 hours long.
    window = ModerationDecision.objects.filter(
        created_at__gte=timezone.make_aware(dt.datetime.combine(first, dt.time.min)),
        created_at__lt=timezone.make_aware(
            dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min)
        ),
    ).order_by()
    daily = window.annotate(
        day=TruncDate("created_at"), start=_turnaround_start(review_type)
    ).annotate(
        # A review sent again after a rejection carries its new submission time, so the
        # earlier decision would come out negative: it has no measurable turnaround.
        turnaround=Case(
            When(start__lte=F("created_at"), then=F("created_at") - F("start")),
            output_field=DurationField(),
        )
    )
    per_day = {"n": Count("*"), **_rating_counts(review_type)}
    on_postgresql = connection.vendor == "postgresql"
    if on_postgresql:
        per_day["median"] = Median("turnaround", output_field=DurationField())
    rows = {row["day"]: row for row in daily.values("day").annotate(**per_day)}
    if on_postgresql:
        medians = {day: row["median"] for day, row in rows.items()}
    else:
        durations = defaultdict(list)
        pairs = daily.filter(turnaround__isnull=False).values_list("day", "turnaround")
        for day, duration in pairs:
            durations[day].append(duration)
        medians = {day: median_of(sorted(values)) for day, values in durations.items()}

    rejection_rates = []
    for stars in STARS:
        total = sum(row[f"decided_{stars}"] for row in rows.values())
        rejected = sum(row[f"rejected_{stars}"] for row in rows.values())
        rate = round(100 * rejected / total) if total else None
        rejection_rates.append({"stars": stars, "total": total, "rejected": rejected, "rate": rate})

    labels = dict(RejectionReason.choices)
    # Served by decision_reason_idx, a partial index of the few decisions that give a reason.
    reason_rows = window.exclude(reason="").values("reason").annotate(n=Count("*"))
    reasons = sorted(
        (
            {
                "code": row["reason"],
                "label": str(labels.get(row["reason"], row["reason"])),
                "count": row["n"],
            }
            for row in reason_rows
        ),
        key=lambda row: (-row["count"], row["label"]),
    )
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    return {
        "days": [
            {
                "date": date,
                "decisions": rows[date]["n"] if date in rows else 0,
                "median_hours": _hours(medians.get(date)),
            }
            for date in dates
        ],
        "reasons": reasons,
        "rejection_rates": rejection_rates,
        "total": sum(row["n"] for row in rows.values()),
        "as_of": as_of,
    }


def staff_analytics_cached(*, days: int = ANALYTICS_DAYS) -> dict:
    """`staff_analytics()` from the shared cache while the figures are less than
    ANALYTICS_CACHE_SECONDS old (and from today), so a busy desk computes them once every few
    minutes rather than on every visit to the index. Their age is checked here as well as by
    the cache's own expiry, so it does not depend on the cache server's clock."""
    now = timezone.now()
    key = f"{ANALYTICS_CACHE_KEY}:{days}:{timezone.localdate(now).isoformat()}"
    figures = cache.get(key)
    fresh = dt.timedelta(seconds=ANALYTICS_CACHE_SECONDS)
    if figures is None or not (now - fresh < figures["as_of"] <= now):
        figures = staff_analytics(days=days)
        cache.set(key, figures, ANALYTICS_CACHE_SECONDS)
    return figures


def _reasons_in_current_language(reasons: list[dict]) -> list[dict]:
    """The cached figures are shared by every moderator, whatever their language: the labels
    are looked up again from the codes for this request."""
    from reviews.models import RejectionReason

    labels = dict(RejectionReason.choices)
    return sorted(
        ({**row, "label": str(labels.get(row["code"], row["code"]))} for row in reasons),
        key=lambda row: (-row["count"], row["label"]),
    )


def staff_analytics_charts(analytics: dict) -> dict:
    """The admin index's two charts, the reasons and rejection-rate tables and the time the
    figures are from, from `staff_analytics()`."""
    days = analytics["days"]
    labels = [date_format(day["date"], "j M") for day in days]
    counts = [day["decisions"] for day in days]
    hours = [day["median_hours"] for day in days]
    if analytics["total"]:
        busiest = max(days, key=lambda day: day["decisions"])
        summary = ngettext(
            "%(total)s decision in %(days)s days; the busiest day was %(date)s with %(most)s.",
            "%(total)s decisions in %(days)s days; the busiest day was %(date)s with %(most)s.",
            analytics["total"],
        ) % {
            "total": intcomma(analytics["total"]),
            "days": len(days),
            "date": date_format(busiest["date"], "MONTH_DAY_FORMAT"),
            "most": intcomma(busiest["decisions"]),
        }
    else:
        summary = gettext("No decisions in the last %(days)s days.") % {"days": len(days)}
    return {
        "decisions_chart": Chart(
            title=gettext("Decisions per day, last %(days)s days") % {"days": len(days)},
            labels=labels,
            series=[Series(label=gettext("Decisions"), values=counts)],
            kind="bars",
            y_label=gettext("Decisions"),
            summary=summary,
            slug="chart-decisions",
        ),
        "turnaround_chart": Chart(
            title=gettext("Median turnaround per day, last %(days)s days") % {"days": len(days)},
            labels=labels,
            series=[Series(label=gettext("Median hours"), values=hours, css="s2")],
            kind="line",
            y_label=gettext("Hours"),
            value_format="{:,.1f}",
            summary=gettext(
                "Hours from submission (or filing) to decision, for %(covers)s; "
                "no point on a day without such a decision."
            )
            % {"covers": TURNAROUND_COVERS},
            slug="chart-turnaround",
        ),
        "reasons": _reasons_in_current_language(analytics["reasons"]),
        "rejection_rates": analytics["rejection_rates"],
        "analytics_days": len(days),
        "analytics_as_of": analytics["as_of"],
        "analytics_refresh_minutes": ANALYTICS_CACHE_SECONDS // 60,
    }


class HeardAdminSite(admin.AdminSite):
    site_header = _("Heard moderation")
    site_title = _("Heard moderation")
    index_title = _("Moderation desk")
    index_template = "admin/heard_index.html"

    def index(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        if request.user.has_perm(MODERATE_PERMISSION):
            # Exact and current: what is waiting, and what has been done today.
            extra_context["queues"] = queue_summaries()
            extra_context["decisions_today"] = decisions_today()
            # Statistics: a few minutes old at most, and the page says from when.
            extra_context.update(staff_analytics_charts(staff_analytics_cached()))
        return super().index(request, extra_context)
