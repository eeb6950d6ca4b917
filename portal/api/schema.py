"""Error responses for the OpenAPI schema, so each endpoint documents what it can refuse."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer("Error", {"detail": serializers.CharField()})
# Bad input: "detail" sums it up, and each field with a problem has its own list of messages.
ValidationErrorSerializer = inline_serializer(
    "ValidationError",
    {
        "detail": serializers.CharField(),
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
    },
)

E400 = OpenApiResponse(ValidationErrorSerializer, description="Bad input, with per-field messages.")
E401 = OpenApiResponse(ErrorSerializer, description="Not signed in.")
E403 = OpenApiResponse(ErrorSerializer, description="Signed in, but not allowed to do this.")
E404 = OpenApiResponse(ErrorSerializer, description="Not found, or not visible to you.")
E409 = OpenApiResponse(ErrorSerializer, description="Not allowed from the ticket's status.")
E429 = OpenApiResponse(ErrorSerializer, description="Too many requests; see Retry-After.")

ERRORS_400_429 = {400: E400, 429: E429}
READ_ERRORS = {404: E404, 429: E429}
# A list answers 404 for a page past the end ("Invalid page.").
LIST_ERRORS = {400: E400, 404: E404, 429: E429}
WRITE_ERRORS = {400: E400, 401: E401, 403: E403, 404: E404, 429: E429}
