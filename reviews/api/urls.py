"""The reviews app's API routes (mounted under /api/v1/ by portal.api.urls)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from reviews.api import views

router = SimpleRouter()
router.register("categories", views.CategoryViewSet, basename="category")
router.register("providers", views.ProviderViewSet, basename="provider")
router.register("reviews", views.ReviewViewSet, basename="review")

urlpatterns = [
    path(
        "providers/<slug:slug>/reviews/",
        views.ProviderReviewList.as_view(),
        name="provider-reviews",
    ),
    *router.urls,
]
