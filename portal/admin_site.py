"""Heard's admin site: the moderation desk. Its index shows every queue with its size and the
age of its oldest item, today's decisions, how often reviews of each star rating were rejected
in the last 30 days — so unequal treatment of positive and negative reviews shows — and the
staff analytics: decisions and median turnaround per day, and decisions by reason."""

import datetime as dt
from collections import defaultdict

from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
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
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.dateformat import format as date_format

from portal.charts import Chart, Series
from portal.moderation import MODERATE_PERMISSION, queue_summaries

ANALYTICS_DAYS = 30

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
TURNAROUND_COVERS = "reviews, edits, reports and claims (not replies)"


def moderation_figures() -> dict:
    from reviews.models import Decision, ModerationDecision, Review

    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    review_type = ContentType.objects.get_for_model(Review)
    decisions_today = ModerationDecision.objects.filter(created_at__gte=today).count()
    rows = (
        ModerationDecision.objects.filter(
            content_type=review_type,
            decision__in=[Decision.APPROVE, Decision.REJECT],
            created_at__gte=now - dt.timedelta(days=30),
        )
        .values("review__rating")
        .annotate(total=Count("pk"), rejected=Count("pk", filter=Q(decision=Decision.REJECT)))
        .order_by("-review__rating")
    )
    by_rating = {row["review__rating"]: row for row in rows}
    rejection_rates = []
    for stars in (5, 4, 3, 2, 1):
        row = by_rating.get(stars, {"total": 0, "rejected": 0})
        rate = round(100 * row["rejected"] / row["total"]) if row["total"] else None
        rejection_rates.append({"stars": stars, **row, "rate": rate})
    return {"decisions_today": decisions_today, "rejection_rates": rejection_rates}


# --- staff analytics ---------------------------------------------------------------------------
def _turnaround_start():
    """When the decided item entered its queue; NULL where there is nothing to measure from."""
    from reviews.models import Decision

    models = {label: apps.get_model(label) for label in TURNAROUND_STARTS}
    types = ContentType.objects.get_for_models(*models.values())  # cached after the first call
    whens = [
        When(
            content_type=types[model],
            then=Subquery(
                model._default_manager.filter(pk=OuterRef("object_id"))
                .order_by()
                .values(TURNAROUND_STARTS[label])[:1]
            ),
        )
        for label, model in models.items()
    ]
    return Case(
        When(decision=Decision.REMOVE, then=Value(None)),
        *whens,
        default=Value(None),
        output_field=DateTimeField(),
    )


def _hours(duration: dt.timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 3600, 1)


def staff_analytics(*, days: int = ANALYTICS_DAYS) -> dict:
    """For each of the last `days` local dates (today included, empty days as zeros): the
    number of moderation decisions and their median turnaround in hours (None where no
    decision had a measurable one); and the decisions by reason over the whole window, most
    frequent first. Two queries on PostgreSQL, three elsewhere, however many rows."""
    from portal.stats import Median, median_of
    from reviews.models import ModerationDecision, RejectionReason

    today = timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    # Local midnights: a day with a clock change is 23 or 25 hours long.
    window = ModerationDecision.objects.filter(
        created_at__gte=timezone.make_aware(dt.datetime.combine(first, dt.time.min)),
        created_at__lt=timezone.make_aware(
            dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min)
        ),
    ).order_by()
    daily = window.annotate(day=TruncDate("created_at"), start=_turnaround_start()).annotate(
        # A review sent again after a rejection carries its new submission time, so the
        # earlier decision would come out negative: it has no measurable turnaround.
        turnaround=Case(
            When(start__lte=F("created_at"), then=F("created_at") - F("start")),
            output_field=DurationField(),
        )
    )
    if connection.vendor == "postgresql":
        rows = daily.values("day").annotate(
            n=Count("pk"), median=Median("turnaround", output_field=DurationField())
        )
        counts = {row["day"]: row["n"] for row in rows}
        medians = {row["day"]: row["median"] for row in rows}
    else:
        counts = dict(daily.values("day").annotate(n=Count("pk")).values_list("day", "n"))
        durations = defaultdict(list)
        pairs = daily.filter(turnaround__isnull=False).values_list("day", "turnaround")
        for day, duration in pairs:
            durations[day].append(duration)
        medians = {day: median_of(sorted(values)) for day, values in durations.items()}

    labels = dict(RejectionReason.choices)
    reason_rows = window.exclude(reason="").values("reason").annotate(n=Count("pk"))
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
                "decisions": counts.get(date, 0),
                "median_hours": _hours(medians.get(date)),
            }
            for date in dates
        ],
        "reasons": reasons,
        "total": sum(counts.values()),
    }


def staff_analytics_charts(analytics: dict) -> dict:
    """The admin index's two charts and the reasons table from `staff_analytics()`."""
    days = analytics["days"]
    labels = [date_format(day["date"], "j M") for day in days]
    counts = [day["decisions"] for day in days]
    hours = [day["median_hours"] for day in days]
    if analytics["total"]:
        busiest = max(days, key=lambda day: day["decisions"])
        summary = (
            f"{analytics['total']:,} decision{pluralize(analytics['total'])} in {len(days)} "
            f"days; the busiest day was {date_format(busiest['date'], 'j F')} with "
            f"{busiest['decisions']:,}."
        )
    else:
        summary = f"No decisions in the last {len(days)} days."
    return {
        "decisions_chart": Chart(
            title=f"Decisions per day, last {len(days)} days",
            labels=labels,
            series=[Series(label="Decisions", values=counts)],
            kind="bars",
            y_label="Decisions",
            summary=summary,
            slug="chart-decisions",
        ),
        "turnaround_chart": Chart(
            title=f"Median turnaround per day, last {len(days)} days",
            labels=labels,
            series=[Series(label="Median hours", values=hours, css="s2")],
            kind="line",
            y_label="Hours",
            value_format="{:,.1f}",
            summary=(
                f"Hours from submission (or filing) to decision, for {TURNAROUND_COVERS}; "
                "no point on a day without such a decision."
            ),
            slug="chart-turnaround",
        ),
        "reasons": analytics["reasons"],
        "analytics_days": len(days),
    }


class HeardAdminSite(admin.AdminSite):
    site_header = "Heard moderation"
    site_title = "Heard moderation"
    index_title = "Moderation desk"
    index_template = "admin/heard_index.html"

    def index(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        if request.user.has_perm(MODERATE_PERMISSION):
            extra_context["queues"] = queue_summaries()
            extra_context.update(moderation_figures())
            extra_context.update(staff_analytics_charts(staff_analytics()))
        return super().index(request, extra_context)
