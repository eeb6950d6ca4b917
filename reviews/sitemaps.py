from django.contrib.sitemaps import Sitemap

from reviews.models import Provider


class ProviderSitemap(Sitemap):
    def items(self):
        return Provider.objects.active().order_by("pk")
