"""Rate limits for the API, counted in the default cache (Redis in production, so that every
app instance counts together). Rates live in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].

Callers are told apart by the same client address as allauth's limits and the site's forms
(portal.ratelimits.client_ip): DRF's own `get_ident` trusts the left-most X-Forwarded-For
entry, which a client writes itself, so rotating it would have given a fresh bucket per request.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from portal.ratelimits import client_ip

# Used where settings do not name a rate for a scope yet (a scope without a rate is unlimited).
FALLBACK_RATES = {
    "ticket_messages": "30/hour",
    "invitations": "20/hour",
}


class _RateFromSettings:
    # DRF reads the rates once, at import; reading them per request lets a deployment (or a
    # test, with override_settings) change them without a restart.
    def get_rate(self):
        rates = api_settings.DEFAULT_THROTTLE_RATES
        return rates.get(self.scope, FALLBACK_RATES.get(self.scope))

    def get_ident(self, request):
        return client_ip(request)


class AnonReadThrottle(_RateFromSettings, AnonRateThrottle):
    """Anonymous callers, per IP address (signed-in callers are not counted here)."""

    scope = "anon"


class _PerUser(_RateFromSettings, UserRateThrottle):
    pass


class _PerIP(_RateFromSettings, SimpleRateThrottle):
    """Counted per IP address whoever is signed in: many accounts from one address share it."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ReviewSubmitUserThrottle(_PerUser):
    scope = "review_submit_user"


class ReviewSubmitIPThrottle(_PerIP):
    scope = "review_submit_ip"


class ReportThrottle(_PerUser):
    scope = "reports"


class VoteThrottle(_PerUser):
    scope = "votes"


class TokenRequestThrottle(_PerIP):
    scope = "token"


class TicketMessageThrottle(_PerUser):
    scope = "ticket_messages"


class InvitationThrottle(_PerUser):
    scope = "invitations"
