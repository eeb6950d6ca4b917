"""Audit lines for what happens inside Django's and allauth's sign-in and account code: sign-ins,
failures, lockouts, sign-outs, password, email and second-factor changes. Connected in
PortalConfig.ready().

These receivers only write log lines. STYLE.md keeps domain logic out of our own signals; this
is not domain logic but the hook into third-party code that STYLE.md names as their use, and no
receiver changes anything or can stop what it observes."""

import logging

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.contrib.auth import signals as auth_signals

from portal.logs import audit, identifier_hash

logger = logging.getLogger(__name__)


def _identifier(credentials: dict) -> str:
    login = credentials.get("email") or credentials.get("username") or credentials.get("login")
    return identifier_hash(login) if isinstance(login, str) and login else ""


def _locked_limits(request, credentials: dict) -> list[str]:
    """allauth's "login_failed" limits that this failure has used up: the next attempt will be
    refused. allauth sends no signal when it refuses, so the lockout is logged as it begins."""
    from allauth.account import app_settings
    from allauth.account.adapter import get_adapter
    from allauth.core.internal import ratelimit

    if request is None or not (credentials.get("email") or credentials.get("username")):
        return []
    # The key allauth counts failures under (site and address); private, so tested.
    key = get_adapter(request)._get_login_attempts_cache_key(request, **credentials)
    configured = app_settings.RATE_LIMITS.get("login_failed") or ""
    rates = [part.strip() for part in configured.split(",")]
    return [
        rate
        for rate in rates
        if rate
        and not ratelimit.consume(
            request,
            app="allauth.account",
            action="login_failed",
            config={"login_failed": rate},
            key=key,
            dry_run=True,
        )
    ]


def on_login(sender, request, user, **kwargs):
    audit("login", actor=user, user_id=user.pk)


def on_login_failed(sender, credentials, request=None, **kwargs):
    # The address is hashed (attempts on one account can still be grouped); the password is
    # never read.
    identifier = _identifier(credentials)
    audit("login_failed", now=True, actor="-", identifier=identifier)
    try:
        locked = _locked_limits(request, credentials)
    except Exception:
        logger.exception("Could not tell whether a failed login started a lockout")
        return
    if locked:
        audit("login_locked", now=True, actor="-", identifier=identifier, limits=locked)


def on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit("logout", actor=user, user_id=user.pk)


def on_signup(sender, request, user, **kwargs):
    audit("signup", actor=user, user_id=user.pk)


def _user_event(event):
    def receiver(sender, request, user, **kwargs):
        audit(event, actor=user, user_id=user.pk)

    receiver.__name__ = f"on_{event}"
    return receiver


def on_email_added(sender, request, user, email_address, **kwargs):
    audit("email_added", actor=user, user_id=user.pk, email_address_id=email_address.pk)


def on_email_removed(sender, request, user, email_address, **kwargs):
    audit("email_removed", actor=user, user_id=user.pk, was_primary=bool(email_address.primary))


def on_email_changed(sender, request, user, from_email_address, to_email_address, **kwargs):
    audit(
        "email_changed",
        actor=user,
        user_id=user.pk,
        from_email_address_id=getattr(from_email_address, "pk", None),
        to_email_address_id=to_email_address.pk,
    )


def on_email_confirmed(sender, request, email_address, **kwargs):
    audit("email_confirmed", user_id=email_address.user_id, email_address_id=email_address.pk)


def on_login_code_rejected(sender, request, user=None, last_attempt=False, **kwargs):
    audit(
        "login_code_rejected",
        now=True,
        actor="-",
        user_id=getattr(user, "pk", None),
        last_attempt=bool(last_attempt),
    )


def _mfa_event(event):
    def receiver(sender, request, user, authenticator, **kwargs):
        audit(
            event,
            actor=user,
            user_id=user.pk,
            # A removed authenticator has no id any more.
            authenticator_id=authenticator.pk,
            authenticator_type=authenticator.type,
        )

    receiver.__name__ = f"on_{event}"
    return receiver


def on_mfa_failed(sender, request, user, authenticator=None, **kwargs):
    audit(
        "mfa_failed",
        now=True,
        actor="-",
        user_id=user.pk,
        authenticator_type=getattr(authenticator, "type", None),
        reauthentication=bool(kwargs.get("reauthentication", False)),
    )


RECEIVERS = [
    (auth_signals.user_logged_in, on_login),
    (auth_signals.user_login_failed, on_login_failed),
    (auth_signals.user_logged_out, on_logout),
    (account_signals.user_signed_up, on_signup),
    (account_signals.password_changed, _user_event("password_changed")),
    (account_signals.password_set, _user_event("password_set")),
    (account_signals.password_reset, _user_event("password_reset")),
    (account_signals.email_added, on_email_added),
    (account_signals.email_removed, on_email_removed),
    (account_signals.email_changed, on_email_changed),
    (account_signals.email_confirmed, on_email_confirmed),
    (account_signals.login_code_rejected, on_login_code_rejected),
    (mfa_signals.authenticator_added, _mfa_event("mfa_added")),
    (mfa_signals.authenticator_removed, _mfa_event("mfa_removed")),
    (mfa_signals.authenticator_reset, _mfa_event("mfa_reset")),
    (mfa_signals.authentication_failed, on_mfa_failed),
]


def connect() -> None:
    for signal, receiver in RECEIVERS:
        signal.connect(receiver, dispatch_uid=f"heard.audit.{receiver.__name__}")
