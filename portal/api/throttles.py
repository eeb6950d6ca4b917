"""Rate limits for the API, counted in the default cache (Redis in production, so that every
app instance counts together). Rates live in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _RateFromSettings:
    # DRF reads the rates once, at import; reading them per request lets a deployment (or a
    # test, with override_settings) change them without a restart.
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


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
