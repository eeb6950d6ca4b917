"""Error pages in the site's style; under /api/ the same errors as JSON, as the API's own
errors are (`{"detail": ...}`), so that a caller never has to parse an HTML page."""

from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from portal.logs import actor_ref, audit, redact


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return render(request, "404.html", status=404)


def permission_denied(request, exception):
    # Every refusal is an audit line; the page says no more than that this is not allowed.
    audit(
        "permission_denied",
        now=True,
        actor=actor_ref(request.user) if hasattr(request, "user") else "-",
        path=redact(request.path),
        method=request.method,
        source="api" if _is_api(request) else "html",
    )
    if _is_api(request):
        return JsonResponse(
            {"detail": _("You do not have permission to perform this action.")}, status=403
        )
    return render(request, "403.html", status=403)


def server_error(request):
    if _is_api(request):
        return JsonResponse({"detail": _("Server error.")}, status=500)
    # No request context: whatever broke may be what the context processors need.
    return HttpResponseServerError(render_to_string("500.html"))
