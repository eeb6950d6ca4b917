"""Business analytics: how a provider (or all of a user's providers) is doing, month by month,
drawn as server-side SVG charts with the figures as tables beside them."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache

from portal.charts import Chart, Series
from responses.access import member_provider_get, memberships_for
from responses.insights import provider_analytics, provider_responsiveness
from responses.models import PutRight

PERIODS = (12, 24)
STAR_COLOURS = {5: "s3", 4: "s1", 3: "s6", 2: "s2", 1: "s4"}


def _period(request) -> int:
    try:
        months = int(request.GET.get("months", 24))
    except ValueError:
        months = 24
    return months if months in PERIODS else 24


def _charts(data) -> list[Chart]:
    labels = [date_format(m, "M Y") for m in data.months]
    return [
        Chart(
            slug="chart-reviews",
            title=_("Reviews published each month"),
            summary=ngettext(
                "%(count)s review in the period.",
                "%(count)s reviews in the period.",
                data.total_reviews,
            )
            % {"count": data.total_reviews},
            labels=labels,
            series=[Series(_("Reviews"), data.reviews, "s1")],
        ),
        Chart(
            slug="chart-average",
            title=_("Average rating each month"),
            labels=labels,
            series=[Series(_("Average stars"), data.average, "s2")],
            kind="line",
            y_max=5,
            value_format="{:.1f}",
            y_label=_("stars"),
        ),
        Chart(
            slug="chart-stars",
            title=_("Ratings each month, by stars"),
            labels=labels,
            series=[
                Series(ngettext("%(n)s star", "%(n)s stars", n) % {"n": n}, data.by_stars[n], c)
                for n, c in STAR_COLOURS.items()
            ],
            kind="stacked",
        ),
        Chart(
            slug="chart-reply-rate",
            title=_("Share of reviews answered, by month of the review"),
            labels=labels,
            series=[Series(_("Answered (%)"), data.reply_rate, "s1")],
            kind="line",
            y_max=100,
            value_format="{:.0f}",
            y_label="%",
        ),
        Chart(
            slug="chart-reply-time",
            title=_("Median time to reply, in hours"),
            summary=_("From the review's publication to your reply, counted around the clock."),
            labels=labels,
            series=[Series(_("Median hours"), data.median_reply_hours, "s2")],
            kind="line",
            value_format="{:.1f}",
            y_label=_("hours"),
        ),
        Chart(
            slug="chart-tickets",
            title=_("Complaints each month"),
            summary=ngettext(
                "%(count)s complaint opened in the period.",
                "%(count)s complaints opened in the period.",
                data.total_tickets,
            )
            % {"count": data.total_tickets},
            labels=labels,
            series=[
                Series(_("Opened"), data.opened, "s1"),
                Series(_("Resolution proposed"), data.resolved, "s2"),
                Series(_("Confirmed resolved by the customer"), data.confirmed, "s3"),
                Series(_("Escalated to Heard"), data.escalated, "s4"),
            ],
        ),
        Chart(
            slug="chart-deadlines",
            title=_("Complaints handled within the deadlines, by month opened"),
            labels=labels,
            series=[
                Series(_("First response in time (%)"), data.first_response_on_time, "s1"),
                Series(_("Resolution in time (%)"), data.resolution_on_time, "s3"),
            ],
            kind="line",
            y_max=100,
            value_format="{:.0f}",
            y_label="%",
        ),
    ]


def _context(data, months: int) -> dict:
    labels = dict(PutRight.choices)
    return {
        "data": data,
        "charts": _charts(data),
        "months": months,
        "periods": PERIODS,
        "put_right": [(labels[k], v) for k, v in data.put_right.items()],
        "put_right_total": sum(data.put_right.values()),
    }


@never_cache
@login_required
def provider_analytics_view(request, slug):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    months = _period(request)
    context = _context(provider_analytics(provider_ids=[provider.pk], months=months), months)
    context.update(
        provider=provider,
        membership=membership,
        active_tab="analytics",
        responsiveness=provider_responsiveness(provider),
    )
    return render(request, "responses/analytics.html", context)


@never_cache
@login_required
def all_analytics_view(request):
    memberships = list(memberships_for(user=request.user))
    if not memberships:
        raise Http404("No businesses.")
    months = _period(request)
    ids = [m.provider_id for m in memberships]
    context = _context(provider_analytics(provider_ids=ids, months=months), months)
    context["providers"] = [m.provider for m in memberships]
    return render(request, "responses/analytics_all.html", context)
