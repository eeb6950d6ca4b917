"""Pages that show one person's or one business's private data are never stored by browsers or
shared caches: the dashboard, tickets and the account pages (data export included)."""

from django.utils.cache import add_never_cache_headers

NO_STORE_PREFIXES = ("/business/", "/tickets/", "/accounts/")


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(NO_STORE_PREFIXES):
            # Adds no-store to whatever the view set (never_cache views already have it).
            add_never_cache_headers(response)
        return response
