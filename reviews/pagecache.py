"""What the provider pages keep in the shared cache, and how the services keep it fresh.

Each provider has a *version* in the shared cache (Redis in production, so every app instance
sees the same one), kept under its slug, which is what a request knows. Every service that
changes what a provider's public page shows calls `provider_page_changed(provider_id)`, which
moves the version on when its transaction commits. Everything cached for the page is stored
with the version it was built from and is used only while that version is current, so a
change is visible on the very next request, on every instance; time limits only bound the
memory.

Two things are cached against the version:

- **The anonymous page, whole** (`ProviderPageCacheMiddleware`). Most visitors are not signed
  in and see the same HTML. A GET with no session or message cookie, for a provider page with
  only the page's own query parameters, is answered from one cache round trip before the
  session, authentication and URL routing run: no database query at all. Only responses that
  set no cookie are stored, so nobody sees another person's state (votes, pending review,
  messages, CSRF tokens); the CSP nonce is swapped for the current response's.
- **The page's slow-changing parts** (`provider_parts`): the responsiveness figures, "You said,
  we did", consumer alerts, the aspect questions. Signed-in visitors (who always get their own
  page) and cache misses take these from the cache instead of six aggregate queries.
"""

import hashlib
import re
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import get_language, get_language_from_request

PAGE_SECONDS = 60  # an anonymous page, at most (a change replaces it at once)
# The responsiveness window moves with time and a consumer alert ends at its hour: minutes.
PARTS_SECONDS = 300
VERSION_SECONDS = 7 * 24 * 3600
PROVIDER_PATH = re.compile(r"^/providers/(?P<slug>[-a-zA-Z0-9_]+)/$")
# The provider page's own parameters; any other query string is served but not stored, so
# random parameters cannot fill the cache.
PAGE_PARAMS = {"sort", "rating", "page"}
FRAGMENT_SECONDS = PARTS_SECONDS
REPLAYED_HEADERS = ("Content-Type", "Vary", "Content-Language")


def _version_key(slug: str) -> str:
    return f"provider-version:{slug}"


def _bump(slugs) -> None:
    cache.set_many({_version_key(slug): uuid.uuid4().hex for slug in slugs}, VERSION_SECONDS)


def provider_page_changed(provider_id: int, *, slugs=()) -> None:
    """Call from any service that changes what the provider's public page shows. `slugs`:
    addresses the provider had besides its current one (a renamed page)."""

    def bump():
        from reviews.models import Provider

        current = Provider.objects.filter(pk=provider_id).values_list("slug", flat=True)
        _bump({*current, *slugs})

    transaction.on_commit(bump)


def providers_pages_changed(provider_ids) -> None:
    for provider_id in set(provider_ids):
        provider_page_changed(provider_id)


SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,200}$")


def provider_version(slug: str) -> str:
    if not SLUG.match(slug):  # no provider has such an address: nothing to look up
        return "0"
    return cache.get(_version_key(slug)) or "0"


# --- the provider and the page's parts, for everyone ---------------------------------------
def provider_and_version(slug: str, load):
    """(provider, version): `load()`'s provider (which may raise Http404) from the cache while
    the provider's version is current, with that version, in one round trip. The provider's
    row changes only through services that move the version on (its figures with every
    review; its details and listing through reviews.services.directory)."""
    if not getattr(settings, "PROVIDER_PARTS_CACHE", True) or not SLUG.match(slug):
        return load(), provider_version(slug)
    version_key, provider_key = _version_key(slug), f"provider-row:{slug}"
    found = cache.get_many([version_key, provider_key])
    version = found.get(version_key) or "0"
    entry = found.get(provider_key)
    if entry is not None and entry[0] == version:
        return entry[1], version
    provider = load()
    cache.set(provider_key, (version, provider), PARTS_SECONDS)
    return provider, version


def provider_parts(provider, version: str, build) -> dict:
    """`build()`'s result for this provider, cached against `version` (read before anything
    that went into it, with `provider_version`).

    `build()` returns a dict; its optional "expires_at" (an aware datetime, e.g. when a
    consumer alert ends) makes the entry stale from that moment. Each build gets a fresh
    "stamp", which keys the page's cached fragments, so they are rebuilt with the parts."""
    if not getattr(settings, "PROVIDER_PARTS_CACHE", True):
        return {**build(), "stamp": uuid.uuid4().hex}
    key = f"provider-parts:{provider.pk}:{get_language()}"
    entry = cache.get(key)
    if entry is not None and entry[0] == version:
        expires_at = entry[1].get("expires_at")
        if expires_at is None or timezone.now() < expires_at:
            return entry[1]
    parts = {**build(), "stamp": uuid.uuid4().hex}
    cache.set(key, (version, parts), PARTS_SECONDS)
    return parts


def fragment_seconds() -> int:
    """How long the page template keeps its cached fragments (0: not at all, when the parts
    cache is off, as in most tests, whose transactions never commit to move versions on)."""
    return FRAGMENT_SECONDS if getattr(settings, "PROVIDER_PARTS_CACHE", True) else 0


# --- the anonymous page, whole -----------------------------------------------------------------
def _cacheable_slug(request) -> str | None:
    """The provider's slug when this request may be answered with, and stored as, the common
    page: a GET with no session and no messages, only the page's own parameters."""
    if request.method != "GET" or not getattr(settings, "PROVIDER_PAGE_CACHE", True):
        return None
    match = PROVIDER_PATH.match(request.path_info)
    if match is None:
        return None
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or "messages" in cookies:
        return None
    if not set(request.GET) <= PAGE_PARAMS:
        return None
    return match["slug"]


def _page_key(request, slug: str) -> str:
    where = f"{request.get_host()}{request.get_full_path()}"
    if len(settings.LANGUAGES) > 1:  # each language its own page (LocaleMiddleware runs later)
        where += f"|{get_language_from_request(request)}"
    return f"provider-page:{slug}:{hashlib.sha256(where.encode()).hexdigest()[:32]}"


def _nonce(request) -> str:
    nonce = getattr(request, "_csp_nonce", None)
    return str(nonce) if nonce is not None else ""


class ProviderPageCacheMiddleware:
    """Answers anonymous provider pages from the shared cache (see the module docstring).

    Sits after the security, CSP and static-file middleware (their headers still go on every
    response) and before sessions, so a hit costs one cache round trip and nothing else.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        slug = _cacheable_slug(request)
        if slug is None:
            return self.get_response(request)
        page_key = _page_key(request, slug)
        # One round trip: the provider's current version and the page with the version it
        # was built from.
        found = cache.get_many([_version_key(slug), page_key])
        entry = found.get(page_key)
        if entry is not None and entry["version"] == found.get(_version_key(slug), "0"):
            return self._replay(request, entry)
        request._provider_page_cache = (slug, page_key)
        return self.get_response(request)

    def _replay(self, request, entry) -> HttpResponse:
        content = entry["content"]
        old_nonce, new_nonce = entry["nonce"], _nonce(request)
        if old_nonce and new_nonce:
            content = content.replace(old_nonce.encode(), new_nonce.encode())
        response = HttpResponse(content)
        for name, value in entry["headers"].items():
            response[name] = value
        response["X-Page-Cache"] = "hit"
        return response


def store_page(request, response, version: str) -> None:
    """Keep the response for the next anonymous visitors, if the middleware marked the
    request as one that may be. `version` is the one read before the page was built, so a
    change that commits meanwhile leaves this page unused."""
    if getattr(request, "_provider_page_cache", None) is None:
        return
    if response.status_code != 200 or response.cookies or getattr(response, "streaming", False):
        return
    _slug, page_key = request._provider_page_cache
    entry = {
        "version": version,
        "content": response.content,
        "nonce": _nonce(request),
        "headers": {h: response[h] for h in REPLAYED_HEADERS if h in response},
    }
    cache.set(page_key, entry, PAGE_SECONDS)
    response["X-Page-Cache"] = "miss"
