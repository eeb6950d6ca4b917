"""/api/v1/ (each app's routes and the token endpoint) and the schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal.api.auth import TokenView


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from our own static files and a script URL: no inline script or style, so it
    works under the site's CSP."""

    template_name = "api/swagger_ui.html"


v1 = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("", include("reviews.api.urls")),
    path("", include("responses.api.urls")),
]

urlpatterns = [
    path("v1/", include((v1, "api"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
]
