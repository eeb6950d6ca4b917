"""allauth adapter: sends allauth's emails through Heard's queued email helper, and decides
when a sensitive change needs the password (or a second factor) again."""

import time
from types import SimpleNamespace
from urllib.parse import urlsplit

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError

from portal.emails import email_send_rendered
from portal.logs import audit, identifier_hash


class AccountAdapter(DefaultAccountAdapter):
    def pre_authenticate(self, request, **credentials):
        """allauth refuses sign-ins over its failed-login limit here; log each refusal."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            login = credentials.get("email") or ""
            audit(
                "login_refused",
                now=True,
                actor="-",
                identifier=identifier_hash(login) if login else "",
            )
            raise

    def send_mail(self, template_prefix, email, context):
        # allauth renders its own templates; we only change how the message leaves, so that
        # it goes out after commit, through the task queue, with retries. allauth's own
        # send_mail adds `current_site` (its emails say "Hello from {{ current_site.name }}!")
        # and `request`; this one must too. django.contrib.sites is not installed, so the
        # site is Heard's name and the host of SITE_URL, whatever Host the request came with.
        ctx = {
            "request": allauth_context.request,
            "email": email,
            "current_site": current_site(),
            **context,
        }
        msg = self.render_mail(template_prefix, email, ctx)
        email_send_rendered(message=msg)

    def respond_email_verification_sent(self, request, user):
        # A signup that filled the honeypot creates nobody and sends nothing, and allauth
        # then answers with the "check your email" page but without the "Confirmation email
        # sent to …" message a real signup shows; add it, so a bot cannot tell the two apart.
        honeypot = account_settings.SIGNUP_FORM_HONEYPOT_FIELD
        if user is None and honeypot and request.method == "POST" and request.POST.get(honeypot):
            self.add_message(
                request,
                messages.INFO,
                "account/messages/email_confirmation_sent.txt",
                {"email": request.POST.get("email", "").strip(), "login": False, "signup": True},
            )
        return super().respond_email_verification_sent(request, user)

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        # allauth 65 asks for the password again before every sensitive change unless the
        # user re-authenticated explicitly, even a minute after signing in. A full sign-in
        # proves as much as a re-authentication, so within ACCOUNT_REAUTHENTICATION_TIMEOUT
        # of either nothing is asked; after it, allauth's own check applies. This also spares
        # someone sent to set up a second factor straight after signing in a second prompt.
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        return not signed_in_recently(allauth_context.request)


def current_site() -> SimpleNamespace:
    """What allauth's email templates call `current_site`: `name` and `domain`."""
    return SimpleNamespace(
        name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc or settings.SITE_NAME
    )


def signed_in_recently(request) -> bool:
    """True if the session's latest sign-in step (password, code, second factor or a
    re-authentication) of the signed-in user is recent."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    # allauth's log of the session's sign-in steps, each with its time. It is internal to
    # allauth, so tests/accounts/test_sessions_reauth.py pins the behaviour we rely on.
    from allauth.account.internal.flows.login import get_authentication_records

    records = get_authentication_records(request, user)
    if not records:
        return False
    return time.time() - records[-1]["at"] < account_settings.REAUTHENTICATION_TIMEOUT
