"""Rate limits for the site's own forms (reviews, reports, votes, claims, invitations, ticket
messages), counted exactly as allauth counts sign-ins: in the default cache (Redis in
production, so every instance counts together), per account and per client address, where the
address is allauth's `get_client_ip` (REMOTE_ADDR, or X-Forwarded-For read from the right past
ALLAUTH_TRUSTED_PROXY_COUNT proxies), so a made-up X-Forwarded-For changes nothing.

Rates are allauth's format ("5/h/user,20/h/ip"), per action, from settings.HEARD_RATE_LIMITS
over the defaults below. The API uses the same address (portal.api.throttles).
"""

import math
import time
from http import HTTPStatus

from allauth.core.internal import ratelimit as allauth_ratelimit
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# Namespaces our counters in the cache, apart from allauth's own ("allauth.account").
APP = "heard"

# Generous for people, tight for scripts. A deployment overrides any of them with
# HEARD_RATE_LIMITS = {"review_submit": "..."}; an empty string switches an action's limit off.
DEFAULT_RATE_LIMITS = {
    "review_submit": "5/h/user,20/h/ip",
    "complaint": "5/h/user,20/h/ip",
    "report": "20/h/user,60/h/ip",
    "vote": "60/m/user,120/m/ip",
    "claim": "3/h/user,10/h/ip",
    "customer_invite": "20/h/user,60/h/ip",  # batches and single links; MAX_PER_DAY caps emails
    "team_invite": "20/h/user,40/h/ip",
    "ticket_message": "30/h/user,120/h/ip",
}


def rate_limits() -> dict[str, str]:
    return {**DEFAULT_RATE_LIMITS, **getattr(settings, "HEARD_RATE_LIMITS", {})}


def client_ip(request) -> str:
    """The address rate limits count: allauth's client IP (IPv6 truncated to its /64)."""
    try:
        return allauth_ratelimit.get_ip(getattr(request, "_request", request))
    except PermissionDenied:
        # No address at all: a real server always sets REMOTE_ADDR, but a bare WSGI call (the
        # API's schema tests) may not. Such requests share one bucket rather than being refused.
        return "unknown"


def _rates_for(request, action: str) -> list[allauth_ratelimit.Rate]:
    rates = allauth_ratelimit.get_rates(app=APP, action=action, config=rate_limits())
    if not request.user.is_authenticated:
        rates = [rate for rate in rates if rate.per != "user"]  # nobody to count per account
    # Parsed once more from the form passed to allauth, so that the cache keys (which hold
    # the rate as text, "5/3600.0/user") are the very ones allauth counted in.
    return allauth_ratelimit.parse_rates(_as_config(rates))


def _as_config(rates) -> str:
    return ",".join(f"{r.amount}/{r.duration:g}s/{r.per}" for r in rates)


def _wait_seconds(request, action: str, rates) -> int:
    """How long until every limit of `action` allows one more attempt."""
    now, wait = time.time(), 1.0
    for rate in rates:
        key = allauth_ratelimit.get_cache_key(
            request, app=APP, action=action, rate=rate, user=request.user
        )
        history = [ts for ts in cache.get(key, []) if ts > now - rate.duration]  # newest first
        if len(history) >= rate.amount:
            wait = max(wait, history[rate.amount - 1] + rate.duration - now)
    return math.ceil(wait)


def rate_limited(request, action: str) -> int:
    """Count one attempt at `action`; 0 if it is allowed, otherwise the seconds to wait (and
    the refused attempt is not counted). Call it just before the write, on POST only."""
    rates = _rates_for(request, action)
    if not rates:
        return 0
    kwargs = {
        "app": APP,
        "action": action,
        "config": {action: _as_config(rates)},
        "user": request.user if request.user.is_authenticated else None,
        "limit_get": True,
    }
    # A dry run first: allauth counts the limits one after another, so a refusal by the
    # second would otherwise still have counted against the first.
    if allauth_ratelimit.consume(request, dry_run=True, **kwargs) is not None and (
        allauth_ratelimit.consume(request, **kwargs) is not None
    ):
        return 0
    return _wait_seconds(request, action, rates)


def rate_limited_form(request, form, action: str) -> int:
    """`rate_limited` for a form: counted only once the form is valid (correcting mistakes
    costs nothing); when refused, the form carries the message and keeps what was typed."""
    if request.method != "POST" or not form.is_valid():
        return 0
    wait = rate_limited(request, action)
    if wait:
        form.add_error(None, wait_message(wait))
    return wait


def wait_message(seconds: int, *, form: bool = True) -> str:
    """What to tell a person who has to wait, rounded up to whole minutes past a minute."""
    if seconds < 60:
        wait = ngettext("%(n)s second", "%(n)s seconds", seconds) % {"n": seconds}
    else:
        minutes = math.ceil(seconds / 60)
        wait = ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
    text = _(
        "You have done this too many times in a short while. Please wait %(wait)s and try again."
    ) % {"wait": wait}
    if form:
        text += " " + _("Nothing has been sent yet: what you wrote is still here.")
    return text


def with_retry_after(response, seconds: int):
    """Mark a re-rendered page (the form with what the person wrote) as a 429."""
    response.status_code = HTTPStatus.TOO_MANY_REQUESTS
    response["Retry-After"] = str(seconds)
    return response


def too_many_requests(request, seconds: int):
    """The 429 page, for actions without a form to show again (votes)."""
    messages.error(request, wait_message(seconds, form=False))
    return with_retry_after(render(request, "429.html"), seconds)
