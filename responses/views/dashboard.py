"""The owner dashboard: the user's businesses, and for each the reviews waiting for a reply."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from responses import selectors
from responses.access import member_provider_get, memberships_for
from responses.insights import provider_reply_figures
from responses.models import ProviderClaim, ResponseSettings

PER_PAGE = 20


@never_cache
@login_required
def dashboard(request):
    memberships = list(memberships_for(user=request.user))
    waiting = selectors.awaiting_reply_counts(provider_ids=[m.provider_id for m in memberships])
    claims = ProviderClaim.objects.filter(user=request.user, status="pending").select_related(
        "provider"
    )
    rows = [(m, waiting.get(m.provider_id, 0)) for m in memberships]
    return render(request, "responses/dashboard.html", {"rows": rows, "claims": claims})


def _reply_target_hours(provider) -> int:
    settings = ResponseSettings.objects.filter(provider=provider).first()
    return settings.reply_target_hours if settings else ResponseSettings().reply_target_hours


@never_cache
@login_required
def inbox(request, slug):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    tab = request.GET.get("tab", "inbox")
    if tab not in selectors.TABS:
        tab = "inbox"
    page = Paginator(selectors.business_reviews(provider=provider, tab=tab), PER_PAGE).get_page(
        request.GET.get("page")
    )
    target = _reply_target_hours(provider)
    now = timezone.now()
    rows = []
    for review in page.object_list:
        waited = (now - review.published_at).total_seconds() / 3600 if review.published_at else 0
        rows.append({"review": review, "waited_hours": waited, "overdue": waited > target})
    context = {
        "provider": provider,
        "membership": membership,
        "active_tab": "inbox",
        "tab": tab,
        "counts": selectors.business_tab_counts(provider=provider),
        "page": page,
        "rows": rows,
        "target_hours": target,
        "figures": provider_reply_figures(provider=provider, now=now),
    }
    return render(request, "responses/inbox.html", context)
