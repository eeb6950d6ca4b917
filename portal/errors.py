"""Error pages in the site's style; under /api/ the same errors as JSON, as the API's own
errors are (`{"detail": ...}`), so that a caller never has to parse an HTML page."""

from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if _is_api(request):
        return JsonResponse({"detail": _("Server error.")}, status=500)
    # No request context: whatever broke may be what the context processors need.
    return HttpResponseServerError(render_to_string("500.html"))
