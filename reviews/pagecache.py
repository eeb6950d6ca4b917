"""The anonymous provider page, cached whole for a short time in the shared cache.

Most visitors to a provider page are not signed in and see exactly the same HTML, so it is
rendered once per minute at most. Every service that changes what the page shows calls
`provider_page_changed(provider_id)`, which, when its transaction commits, moves the
provider's version on: the next request renders afresh, on every app instance (the version
lives in the shared cache, Redis in production).

Only requests that carry no session or message cookie are served from or written to the
cache, and only responses that set no cookie are stored, so nobody ever sees another
person's state (votes, pending review, messages, CSRF tokens). The page's CSP nonce is
swapped for the current response's on the way out.
"""

import hashlib
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse

PAGE_SECONDS = 60
VERSION_SECONDS = 24 * 3600


def _version_key(provider_id: int) -> str:
    return f"provider-page-version:{provider_id}"


def provider_page_changed(provider_id: int) -> None:
    """Call from any service that changes what the provider's public page shows."""

    def bump():
        cache.set(_version_key(provider_id), uuid.uuid4().hex, VERSION_SECONDS)

    transaction.on_commit(bump)


def providers_pages_changed(provider_ids) -> None:
    for provider_id in set(provider_ids):
        provider_page_changed(provider_id)


def cacheable(request) -> bool:
    """A GET from someone with no session and no messages: they see the common page."""
    return (
        getattr(settings, "PROVIDER_PAGE_CACHE", True)
        and request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
    )


def _page_key(request, provider_id: int) -> str:
    version = cache.get(_version_key(provider_id)) or "0"
    path = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
    return f"provider-page:{provider_id}:{version}:{path}"


def _nonce(request) -> str:
    nonce = getattr(request, "_csp_nonce", None)
    return str(nonce) if nonce is not None else ""


def cached_page(request, provider_id: int) -> HttpResponse | None:
    entry = cache.get(_page_key(request, provider_id))
    if entry is None:
        return None
    content, old_nonce = entry
    new_nonce = _nonce(request)
    if old_nonce and new_nonce:
        content = content.replace(old_nonce.encode(), new_nonce.encode())
    response = HttpResponse(content)
    response["X-Page-Cache"] = "hit"
    return response


def store_page(request, provider_id: int, response) -> None:
    if response.status_code != 200 or response.cookies or getattr(response, "streaming", False):
        return
    entry = (response.content, _nonce(request))
    cache.set(_page_key(request, provider_id), entry, PAGE_SECONDS)
    response["X-Page-Cache"] = "miss"
