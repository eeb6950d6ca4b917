"""Site-wide pages: home, trust pages and the health check."""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from portal.stats import site_figures
from responses import insights

logger = logging.getLogger("heard.health")


def home(request):
    return render(request, "portal/home.html")


def reviews_policy(request):
    context = {
        "prior_weight": f"{settings.RATING_PRIOR_WEIGHT:g}",
        "prior_mean": f"{settings.RATING_PRIOR_MEAN:g}",
        **{f"w_{name}": round(100 * weight) for name, weight in insights.WEIGHTS.items()},
        "fast": insights.FAST_HOURS,
        "slow": insights.SLOW_HOURS,
        "minimum": insights.RESPONSIVENESS_MIN_ITEMS,
    }
    return render(request, "portal/reviews_policy.html", context)


def privacy(request):
    return render(request, "portal/privacy.html")


@never_cache
def health(request):
    """200 after a real round trip to the database; 503 when it cannot be reached."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health check: database unreachable")
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def stats(request):
    return render(request, "portal/stats.html", {"figures": site_figures()})
