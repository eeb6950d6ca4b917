"""Second factors are required for the people who can change what others read: staff, and
business owners and managers. Without one they are taken to its setup, which says why,
before they reach the admin, the business dashboard or the API (when MFA_REQUIRED, which is
on whenever DEBUG is off)."""

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

# Where the requirement applies. Everything else (public pages, the account pages where the
# factor is set up, signing in and out) stays reachable.
GUARDED_PREFIXES = ("/admin/", "/business/", "/api/v1/")

# Where the person was going when they were sent to set up a second factor. The setup page
# reads it to explain why they are there, the recovery-codes page to offer the way back;
# allauth's own views drop any ?next= between the two.
SETUP_NEXT_SESSION_KEY = "mfa_setup_next"


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
        ):
            if is_mfa_enabled(request.user):
                # Set up and arrived: nothing left to send them back to.
                request.session.pop(SETUP_NEXT_SESSION_KEY, None)
            elif request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": _("Set up two-factor authentication to use this account here.")},
                    status=403,
                )
            else:
                request.session[SETUP_NEXT_SESSION_KEY] = request.get_full_path()
                return redirect("mfa_activate_totp")
        return self.get_response(request)
