"""Root URLs: each app brings its own; the trust pages and health check live here."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.contrib.sitemaps import views as sitemaps
from django.urls import include, path

from portal import views
from reviews.sitemaps import ProviderSitemap, StaticSitemap

# The admin login gets allauth's protection (rate limits, the same login flow).
admin.site.login = secure_admin_login(admin.site.login)

# /sitemap.xml is an index of one file per section and page (at most 50,000 URLs a file).
SITEMAPS = {"pages": StaticSitemap, "providers": ProviderSitemap}

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("reviews-policy/", views.reviews_policy, name="reviews_policy"),
    path("privacy/", views.privacy, name="privacy"),
    path("stats/", views.stats, name="stats"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path("favicon.ico", views.favicon_ico, name="favicon_ico"),
    path(
        "sitemap.xml",
        sitemaps.index,
        {"sitemaps": SITEMAPS},
        name="django.contrib.sitemaps.views.index",
    ),
    path(
        "sitemap-<section>.xml",
        sitemaps.sitemap,
        {"sitemaps": SITEMAPS},
        name="django.contrib.sitemaps.views.sitemap",
    ),
    path("", include("reviews.urls")),
    path("", include("responses.urls")),
    path("api/", include("portal.api.urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"
