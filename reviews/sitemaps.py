"""The sections of the sitemap index (`/sitemap.xml` lists `/sitemap-<section>.xml?p=N`, see
portal/urls.py): every listed provider, and the public pages that are always there."""

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from reviews.models import Provider


class ProviderSitemap(Sitemap):
    """Active providers in a stable order, so that the pages (?p=2, …) do not shift while a
    crawler reads them. A page runs two queries (the count and its slice), the index two (the
    count and the newest change), all served by the partial index `provider_sitemap_idx`."""

    # The protocol allows 50,000 URLs a file; 10,000 keeps each page small and quick to render.
    limit = 10_000

    def items(self):
        # Only what a URL and lastmod need, all in provider_sitemap_idx (an index-only scan).
        return Provider.objects.active().only("slug", "updated_at").order_by("pk")

    def lastmod(self, provider: Provider):
        return provider.updated_at

    def get_latest_lastmod(self):
        # The framework's default calls lastmod() on every item: 100,000 rows for one date.
        return Provider.objects.active().aggregate(latest=Max("updated_at"))["latest"]


class StaticSitemap(Sitemap):
    def items(self):
        return ["home", "reviews:provider_list", "reviews_policy", "stats"]

    def location(self, item: str) -> str:
        return reverse(item)
