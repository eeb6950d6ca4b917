"""POST /api/v1/auth/token/: an API token for a verified account, rate-limited like the login
form (allauth's own "login" and "login_failed" limits, in the same cache keys)."""

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.core import ratelimit
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.schema import E403, ERRORS_400_429
from portal.api.throttles import TokenRequestThrottle
from portal.logs import audit

LOGIN_FAILED_WAIT = 5 * 60  # allauth's "login_failed" key window (5/5m/key), for Retry-After


class TokenInput(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    code = serializers.CharField(
        required=False,
        max_length=16,
        help_text="The 6-digit code from your authenticator app, if your account has one.",
    )


def _second_factor_check(user, code: str) -> None:
    """A token is as good as a signed-in session, so it asks for what the login form asks for:
    the authenticator code when the account has one; and an account whose role requires a
    second factor (staff, owners, managers) must set one up on the website first."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP
    from django.conf import settings

    from accounts.middleware import mfa_required_for

    totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if totp is None:
        if getattr(settings, "MFA_REQUIRED", False) and mfa_required_for(user):
            raise exceptions.PermissionDenied(
                _("Your role needs two-factor authentication: set it up on the website first.")
            )
        return
    if not code:
        raise exceptions.ValidationError(
            {"code": [_("Enter the code from your authenticator app.")]}
        )
    if not TOTP(totp).validate_code(code):
        raise exceptions.ValidationError({"code": [_("That code is not valid.")]})


class TokenView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenRequestThrottle]

    @extend_schema(
        request=TokenInput,
        responses={
            200: inline_serializer("TokenOutput", {"token": serializers.CharField()}),
            **ERRORS_400_429,
            403: E403,
        },
        examples=[
            OpenApiExample(
                "Sign in", value={"email": "casey@example.com", "password": "…"}, request_only=True
            )
        ],
        summary="Get an API token (verified accounts only)",
    )
    def post(self, request):
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        email, password = data.validated_data["email"], data.validated_data["password"]
        if not ratelimit.consume(request, action="login"):
            raise exceptions.Throttled(wait=60)
        try:
            # allauth's adapter counts failures per IP and per address ("login_failed") and
            # refuses once over the limit, exactly as the login form does.
            user = get_adapter(request).authenticate(request, email=email, password=password)
        except DjangoValidationError as error:
            raise exceptions.Throttled(wait=LOGIN_FAILED_WAIT) from error
        if user is None or not user.is_active:
            # One message whatever was wrong, so that nobody can learn who has an account.
            raise exceptions.ValidationError(
                {"non_field_errors": [_("The email address and password do not match.")]}
            )
        if not EmailAddress.objects.filter(user=user, verified=True).exists():
            raise exceptions.ValidationError(
                {
                    "email": [
                        _(
                            "Confirm your email address first: follow the link in the email we "
                            "sent you, then ask for a token again."
                        )
                    ]
                }
            )
        _second_factor_check(user, data.validated_data.get("code", ""))
        token, _created = Token.objects.get_or_create(user=user)
        audit("api_token_issued", now=True, actor=user, user_id=user.pk)
        return Response({"token": token.key})
