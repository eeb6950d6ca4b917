"""sitemap.xml sections: every listed provider, and the public pages that are always there."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from reviews.models import Provider


class ProviderSitemap(Sitemap):
    """Active providers in a stable order, so the framework's pages (?p=2 beyond 50,000
    URLs) do not shift while a crawler reads them."""

    def items(self):
        # Only what a URL and lastmod need: at 100,000 providers whole rows would be wasted.
        return Provider.objects.active().only("slug", "updated_at").order_by("pk")

    def lastmod(self, provider: Provider):
        return provider.updated_at


class StaticSitemap(Sitemap):
    def items(self):
        return ["home", "reviews:provider_list", "reviews_policy", "stats"]

    def location(self, item: str) -> str:
        return reverse(item)
