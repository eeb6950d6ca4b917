"""Shared model pieces."""

import secrets

from django.db import models


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
