"""Who speaks for which provider. Every business page and service starts here: a provider the
user is not a member of is a 404 (its existence is not confirmed), and a member whose role
may not do something gets PermissionDenied from the service."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from responses.models import Membership
from reviews.models import Provider


def memberships_for(*, user) -> QuerySet[Membership]:
    """The user's memberships, with their providers, in one query."""
    if not user.is_authenticated:
        return Membership.objects.none()
    return (
        Membership.objects.filter(user=user, provider__is_active=True)
        .select_related("provider", "provider__category")
        .order_by("provider__name")
    )


def membership_get(*, user, provider: Provider) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, provider=provider).first()


def member_provider_get(*, user, slug: str) -> tuple[Provider, Membership]:
    """The provider with this slug and the user's membership of it, or 404."""
    membership = memberships_for(user=user).filter(provider__slug=slug).first()
    if membership is None:
        raise Http404("No such provider among yours.")
    return membership.provider, membership


def require_role(*, user, provider: Provider, roles, action: str = "") -> Membership:
    """The user's membership if its role is one of `roles`; PermissionDenied otherwise."""
    membership = membership_get(user=user, provider=provider)
    if membership is None or membership.role not in roles:
        raise PermissionDenied(action or _("Your role in this business does not allow this."))
    return membership
