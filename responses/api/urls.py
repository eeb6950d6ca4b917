"""The responses app's API routes (mounted under /api/v1/ by portal.api.urls)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from responses.api import views

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")

urlpatterns = [
    path(
        "business/providers/<slug:slug>/invitations/",
        views.InvitationsView.as_view(),
        name="provider-invitations",
    ),
    *router.urls,
]
