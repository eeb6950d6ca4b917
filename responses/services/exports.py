"""Downloads of a provider's data: each one is recorded before a row is sent, since the files
hold customers' personal data and the business answers for where they go."""

from django.db import transaction
from django.utils.translation import gettext as _

from responses.access import require_role
from responses.exports import EXPORTS
from responses.models import CAN_EXPORT, BusinessEvent, BusinessEventKind
from reviews.models import Provider


@transaction.atomic
def export_record(*, provider: Provider, actor, kind: str) -> BusinessEvent:
    """Check that the actor may download `kind` for the provider and write the audit row."""
    require_role(
        user=actor,
        provider=provider,
        roles=CAN_EXPORT,
        action=_("Only owners and managers can download the business’s data."),
    )
    if kind not in EXPORTS:
        raise ValueError(f"Unknown export {kind!r}")
    return BusinessEvent.objects.create(
        provider=provider,
        actor=actor,
        kind=BusinessEventKind.DATA_EXPORTED,
        detail={"export": kind},
    )
