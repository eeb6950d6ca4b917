"""Second factors are required for the people who can change what others read: staff, and
business owners and managers. Without one they are taken to its setup, with a message saying
why, before they reach the admin, the business dashboard or the API (when MFA_REQUIRED, which
is on whenever DEBUG is off)."""

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

# Where the requirement applies. Everything else (public pages, the account pages where the
# factor is set up, signing out) stays reachable.
GUARDED_PREFIXES = ("/admin/", "/business/", "/api/v1/")


def mfa_required_for(user) -> bool:
    """Staff, and owners or managers of any provider."""
    from responses.models import Membership, Role

    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return Membership.objects.filter(user=user, role__in=[Role.OWNER, Role.MANAGER]).exists()


class RequireMFAMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            getattr(settings, "MFA_REQUIRED", False)
            and request.path.startswith(GUARDED_PREFIXES)
            and request.user.is_authenticated
            and mfa_required_for(request.user)
            and not is_mfa_enabled(request.user)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": _("Set up two-factor authentication to use this account here.")},
                    status=403,
                )
            messages.info(
                request,
                _(
                    "Your role needs two-factor authentication. Set up an authenticator app "
                    "to continue; it takes a minute."
                ),
            )
            setup = reverse("mfa_activate_totp")
            return redirect(f"{setup}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
