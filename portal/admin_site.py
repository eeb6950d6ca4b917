"""Heard's admin site: the moderation desk. Its index shows every queue with its size and the
age of its oldest item, today's decisions, and how often reviews of each star rating were
rejected in the last 30 days — so unequal treatment of positive and negative reviews shows."""

import datetime as dt

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.utils import timezone

from portal.moderation import MODERATE_PERMISSION, queue_summaries


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
        return super().index(request, extra_context)
