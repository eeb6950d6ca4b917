"""The business's downloads: a page listing them, and the CSV files themselves, streamed.
Any member sees the page; only the roles in CAN_EXPORT get a file (the service decides and
records each download before the first row is sent)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.csvexport import stream_csv
from responses.access import member_provider_get
from responses.exports import EXPORTS
from responses.models import CAN_EXPORT
from responses.services.exports import export_record


@never_cache
@login_required
def export_list(request, slug):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    context = {
        "provider": provider,
        "membership": membership,
        "active_tab": "exports",
        "can_export": membership.role in CAN_EXPORT,
    }
    return render(request, "responses/exports.html", context)


@require_GET
@login_required
def export_download(request, slug, kind):
    if kind not in EXPORTS:
        raise Http404("No such export.")
    provider, _membership = member_provider_get(user=request.user, slug=slug)
    export_record(provider=provider, actor=request.user, kind=kind)
    header, rows = EXPORTS[kind](provider=provider)
    # stream_csv sets Cache-Control: no-store: the file holds customers' personal data.
    return stream_csv(
        header=header,
        rows=rows,
        filename=f"{provider.slug}-{kind}-{timezone.localdate():%Y-%m-%d}.csv",
    )
