"""The directory's own records: staff edit a provider's details (name, address, category,
whether it is listed). The admin's change log records who changed what; this keeps every
page of the provider fresh on every app instance when the change commits."""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from portal.logs import audit
from reviews.models import Provider
from reviews.pagecache import provider_page_changed

CHANGE_PERMISSION = "reviews.change_provider"


@transaction.atomic
def provider_save(*, provider: Provider, actor, changed: list[str] | None = None) -> Provider:
    """Save staff's edit of `provider` (new or changed). A renamed page (new slug) is
    refreshed at its old address too, so the old address stops answering at once."""
    if not actor.has_perm(CHANGE_PERMISSION):
        raise PermissionDenied("Only staff who may change providers can edit them.")
    old_slug = None
    if provider.pk is not None:
        old_slug = Provider.objects.filter(pk=provider.pk).values_list("slug", flat=True).first()
    provider.save()
    provider_page_changed(provider.pk, slugs=[old_slug] if old_slug else [])
    audit(
        "provider_saved",
        actor=actor,
        provider_id=provider.pk,
        changed=sorted(changed or []),
        is_active=provider.is_active,
    )
    return provider
