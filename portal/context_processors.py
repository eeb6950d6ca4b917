"""Values every template may use."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject


def site(request):
    return {
        "SITE_NAME": settings.SITE_NAME,
        "DEBUG": settings.DEBUG,
        # Asked only by pages that show the header to a signed-in user: one small query.
        "speaks_for_a_business": SimpleLazyObject(lambda: _is_member(request)),
    }


def _is_member(request) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    from responses.models import Membership

    return Membership.objects.filter(user=user).exists()
