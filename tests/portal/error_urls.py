"""The site's URLs plus views that fail on purpose, for the error page tests (test_pages.py)."""

from django.core.exceptions import PermissionDenied
from django.urls import include, path

from portal.ratelimits import too_many_requests


def _forbidden(request):
    raise PermissionDenied


def _crash(request):
    raise RuntimeError("boom")


def _rate_limited(request):
    return too_many_requests(request, 120)


urlpatterns = [
    path("test-errors/403/", _forbidden),
    path("test-errors/429/", _rate_limited),
    path("test-errors/500/", _crash),
    path("", include("portal.urls")),
]

handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"
