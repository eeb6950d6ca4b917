"""Consumer alerts: staff warn the public, on a provider's page, that it was found manipulating
its reviews. Placing needs the `reviews.place_consumer_alert` permission (the Moderators group
has it); an alert runs at least ALERT_MIN_DAYS and then ends by itself. Lifting it earlier is a
correction of a mistake, for superusers only, with the reason on record. Both are written to
the decision log (ModerationDecision) in the same transaction."""

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from reviews.models import ConsumerAlert, Decision, ModerationDecision, Provider
from reviews.pagecache import provider_page_changed

PLACE_PERMISSION = "reviews.place_consumer_alert"
ALERT_MIN_DAYS = 90
ALERT_MAX_DAYS = 365  # a longer warning is placed again, with fresh evidence
REASON_MIN = 20
REASON_MAX = 1000


def consumer_alert_check(*, reason: str, days) -> tuple[str, int]:
    """The reason and length, cleaned; a ValidationError by field otherwise (forms call this
    too, so that the admin shows the same refusals as the service)."""
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN:
        errors["reason"] = [
            _("Say publicly what was found, in at least %(min)s characters.") % {"min": REASON_MIN}
        ]
    elif len(reason) > REASON_MAX:
        errors["reason"] = [_("Keep it to %(max)s characters.") % {"max": REASON_MAX}]
    if not isinstance(days, int) or isinstance(days, bool):
        errors["days"] = [_("Enter a number of days.")]
    elif days < ALERT_MIN_DAYS:
        errors["days"] = [
            _("An alert stays up for at least %(min)s days.") % {"min": ALERT_MIN_DAYS}
        ]
    elif days > ALERT_MAX_DAYS:
        errors["days"] = [
            _("An alert runs for at most %(max)s days; place a new one after that.")
            % {"max": ALERT_MAX_DAYS}
        ]
    if errors:
        raise ValidationError(errors)
    return reason, days


def _record(*, alert: ConsumerAlert, staff: User, decision: str, note: str) -> ModerationDecision:
    return ModerationDecision.objects.create(
        content_type=ContentType.objects.get_for_model(ConsumerAlert),
        object_id=alert.pk,
        moderator=staff,
        decision=decision,
        note=note,
    )


def can_place_consumer_alert(user) -> bool:
    return bool(user and user.is_active and user.is_staff and user.has_perm(PLACE_PERMISSION))


def can_lift_consumer_alert(user) -> bool:
    return bool(user and user.is_active and user.is_staff and user.is_superuser)


@transaction.atomic
def consumer_alert_place(
    *, provider: Provider, staff: User, reason: str, days: int = ALERT_MIN_DAYS
) -> ConsumerAlert:
    """Put a consumer alert on `provider`'s page from now for `days` (at least 90), logged."""
    if not can_place_consumer_alert(staff):
        raise PermissionDenied(_("Only moderators can place a consumer alert."))
    reason, days = consumer_alert_check(reason=reason, days=days)
    now = timezone.now()
    alert = ConsumerAlert.objects.create(
        provider=provider,
        reason=reason,
        starts_at=now,
        ends_at=now + dt.timedelta(days=days),
        created_by=staff,
    )
    _record(alert=alert, staff=staff, decision=Decision.ALERT, note=reason)
    provider_page_changed(alert.provider_id)
    return alert


@transaction.atomic
def consumer_alert_lift(*, alert: ConsumerAlert, staff: User, reason: str) -> ConsumerAlert:
    """Take a running alert down before its end: a correction, for superusers, logged."""
    if not can_lift_consumer_alert(staff):
        raise PermissionDenied(
            _("Only senior staff (superusers) can lift a consumer alert before it ends.")
        )
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN:
        raise ValidationError(
            {
                "reason": [
                    _("Say why it is lifted early, in at least %(min)s characters.")
                    % {"min": REASON_MIN}
                ]
            }
        )
    alert = ConsumerAlert.objects.select_for_update().get(pk=alert.pk)
    now = timezone.now()
    if alert.lifted_at is not None:
        raise ValidationError(_("This alert has already been lifted."))
    if alert.ends_at <= now:
        raise ValidationError(_("This alert has already ended."))
    alert.lifted_at = now
    alert.lifted_by = staff
    alert.lift_reason = reason[:REASON_MAX]
    alert.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    _record(alert=alert, staff=staff, decision=Decision.LIFT_ALERT, note=alert.lift_reason)
    provider_page_changed(alert.provider_id)
    return alert
