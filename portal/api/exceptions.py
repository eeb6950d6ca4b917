"""The API's one exception handler: domain errors become HTTP statuses, and every error body is
JSON with a human-readable "detail" (plus per-field messages for bad input)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.logs import actor_ref, audit, redact
from responses.services.tickets import TransitionNotAllowed

NON_FIELD = "non_field_errors"


def validation_detail(error: DjangoValidationError, *, rename: dict | None = None) -> dict:
    """A service's ValidationError as {field: [messages]}; errors about the whole request go
    under "non_field_errors" (or the field `rename` maps "__all__" to)."""
    rename = rename or {}
    if hasattr(error, "error_dict"):
        fields = {
            rename.get(field, NON_FIELD if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    else:
        fields = {rename.get("__all__", NON_FIELD): list(error.messages)}
    return fields


class ServiceValidationError(exceptions.ValidationError):
    """A service refused the input; carries its messages as DRF expects them."""

    def __init__(self, error: DjangoValidationError, *, rename: dict | None = None):
        super().__init__(detail=validation_detail(error, rename=rename))


def _summary(data) -> str:
    """One readable sentence from per-field messages, for "detail"."""
    if isinstance(data, dict):
        parts = []
        for field, messages in data.items():
            text = " ".join(str(m) for m in messages) if isinstance(messages, list) else messages
            parts.append(str(text) if field == NON_FIELD else f"{field}: {text}")
        return " ".join(parts) or _("The request was not valid.")
    if isinstance(data, list):
        return " ".join(str(m) for m in data)
    return str(data)


def exception_handler(exc, context):
    if isinstance(exc, TransitionNotAllowed):
        return Response(
            {"detail": str(exc), "from": exc.frm, "to": exc.to}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, DjangoValidationError):
        exc = ServiceValidationError(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if response.status_code == status.HTTP_403_FORBIDDEN:
        request = context["request"]
        audit(
            "permission_denied",
            now=True,
            actor=actor_ref(request.user),
            path=redact(request.path),
            method=request.method,
            source="api",
        )
    if isinstance(exc, exceptions.ValidationError):
        data = response.data
        if isinstance(data, list):
            data = {NON_FIELD: data}
        # A field may itself be called "detail" (a report's): the summary, which quotes it,
        # takes that key so that "detail" is always one readable string.
        response.data = {**data, "detail": _summary(data)}
    elif not isinstance(response.data, dict) or "detail" not in response.data:
        response.data = {"detail": _summary(response.data)}
    return response
