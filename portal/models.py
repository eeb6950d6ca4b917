"""Shared model pieces."""

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_token() -> str:
    """An unguessable token for single-use links (invitations)."""
    return secrets.token_urlsafe(32)


class AppendOnlyError(Exception):
    """An audit row was about to be changed or deleted."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows are never updated.")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} rows are never deleted.")


class AppendOnlyModel(models.Model):
    """An audit record: written once, never updated or deleted through the ORM.

    This is an integrity guard, not domain logic: the services that write these rows are the
    only writers, and this makes sure no other code path can rewrite history.
    """

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are never deleted.")


class EmailDelivery(models.Model):
    """One queued email, by the delivery key `email_send` gave it: whether it was sent, so that
    a task run again after its worker died does not send it twice (portal/emails.py).

    Holds the addresses and subject, never the message; pruned after
    EMAIL_DELIVERY_KEEP_DAYS by `manage.py tasks_requeue_stale`, and de-identified when an
    account is deleted (accounts.services.account_delete)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Not sent yet")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Given up")

    key = models.UUIDField(_("delivery key"), unique=True, editable=False)
    to = models.TextField(_("to"), blank=True, help_text=_("Recipients, comma-separated."))
    subject = models.TextField(_("subject"), blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("queued at"), default=timezone.now, db_index=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("email delivery")
        verbose_name_plural = _("email deliveries")

    def __str__(self):
        # Never the address: this is what admin history and logs would show.
        return f"email delivery {self.key} ({self.status})"
