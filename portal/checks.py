"""Heard's own system checks (`manage.py check`, and at start-up of every command)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@register(Tags.security)
def check_smtp_encryption(app_configs=None, **kwargs):
    """heard.W001: in production, SMTP credentials must not travel unencrypted. An EMAIL_URL
    of `smtp://user:pass@host:587` uses neither STARTTLS nor TLS in django-environ (only
    `smtp+tls://` or `smtps://` does STARTTLS, `smtp+ssl://` implicit TLS), so the password
    would be sent in clear, or refused by the server."""
    if settings.DEBUG:
        return []
    errors = []
    for name, mailer in getattr(settings, "MAILERS", {}).items():
        if mailer.get("BACKEND") != SMTP_BACKEND:
            continue
        options = mailer.get("OPTIONS") or {}
        has_credentials = bool(options.get("username") or options.get("password"))
        encrypted = bool(options.get("use_tls") or options.get("use_ssl"))
        if has_credentials and not encrypted:
            errors.append(
                Warning(
                    f"The {name!r} mailer sends an SMTP user name and password without encryption.",
                    hint="Use EMAIL_URL=smtp+tls://USER:PASSWORD@HOST:587 (STARTTLS) or "
                    "smtp+ssl://USER:PASSWORD@HOST:465 (implicit TLS); plain smtp:// uses "
                    "neither (docs/deploy.md).",
                    id="heard.W001",
                )
            )
    return errors
