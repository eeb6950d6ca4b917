"""Site-wide pages: home, trust pages, the health check, and what crawlers and browsers ask
for at the root (/robots.txt, /favicon.ico)."""

import logging
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import formats
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_safe

from portal.stats import site_figures
from responses import insights

logger = logging.getLogger("heard.health")


def home(request):
    return render(request, "portal/home.html")


def reviews_policy(request):
    context = {
        # Localised, without a needless ".0": "7" imaginary reviews at "3.5" stars.
        "prior_weight": formats.localize(Decimal(f"{settings.RATING_PRIOR_WEIGHT:g}")),
        "prior_mean": formats.localize(Decimal(f"{settings.RATING_PRIOR_MEAN:g}")),
        **{f"w_{name}": round(100 * weight) for name, weight in insights.WEIGHTS.items()},
        "fast": insights.FAST_HOURS,
        "slow": insights.SLOW_HOURS,
        "minimum": insights.RESPONSIVENESS_MIN_ITEMS,
    }
    return render(request, "portal/reviews_policy.html", context)


def privacy(request):
    return render(request, "portal/privacy.html")


# Read, never written: the GET is the round trip.
HEALTH_CACHE_KEY = "heard:health"


@never_cache
def health(request):
    """200 after a real round trip to the database and one to the shared cache; 503 naming
    what cannot be reached. Both are needed by every page (sessions, rate limits and the page
    cache live in the cache), and each check is one cheap round trip (docs/deploy.md)."""
    checks = {"database": _database_reachable(), "cache": _cache_reachable()}
    healthy = all(checks.values())
    body = {name: "ok" if ok else "unavailable" for name, ok in checks.items()}
    return JsonResponse(
        {"status": "ok" if healthy else "error", **body}, status=200 if healthy else 503
    )


def _database_reachable() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health check: database unreachable")
        return False
    return True


def _cache_reachable() -> bool:
    try:
        cache.get(HEALTH_CACHE_KEY)
    except Exception:  # the Redis client's own errors (refused, timed out) are not Django's
        logger.exception("health check: cache unreachable")
        return False
    return True


# Crawlers may read every public page; the private and machine parts are no use in a search
# index. The review form stays allowed: a page blocked here fails Lighthouse's "is-crawlable"
# check, and a crawler is sent to the sign-in page (under /accounts/) anyway.
ROBOTS_DISALLOW = ["/accounts/", "/business/", "/tickets/", "/admin/", "/api/"]


@require_safe
@cache_control(public=True, max_age=86400)
def robots_txt(request):
    sitemap = request.build_absolute_uri(reverse("django.contrib.sitemaps.views.index"))
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW)]
    lines += ["", f"Sitemap: {sitemap}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


@require_safe
@cache_control(public=True, max_age=86400)
def favicon_ico(request):
    """Pages name their icons in <head>; this is for what asks /favicon.ico by habit (a JSON
    response opened in a browser, feed readers, older browsers), which would log a 404."""
    return HttpResponseRedirect(static("img/favicon.ico"))


def stats(request):
    return render(request, "portal/stats.html", {"figures": site_figures()})
