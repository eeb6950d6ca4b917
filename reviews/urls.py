from django.urls import path

from reviews import syndication, views

app_name = "reviews"

urlpatterns = [
    path("providers/", views.provider_list, name="provider_list"),
    path("providers/<slug:slug>/", views.provider_detail, name="provider_detail"),
    path("providers/<slug:slug>/review/", views.review_create, name="review_create"),
    path("providers/<slug:slug>/feed/", syndication.ProviderReviewsFeed(), name="provider_feed"),
    path("providers/<slug:slug>/badge.svg", syndication.provider_badge, name="provider_badge"),
    path("reviews/<int:pk>/", views.review_detail, name="review_detail"),
    path("reviews/<int:pk>/submitted/", views.review_submitted, name="review_submitted"),
    path("reviews/<int:pk>/helpful/", views.review_helpful, name="review_helpful"),
    path("reviews/<int:pk>/report/", views.review_report, name="review_report"),
    path("accounts/reviews/", views.my_reviews, name="my_reviews"),
    path("accounts/reviews/<int:pk>/edit/", views.my_review_edit, name="my_review_edit"),
    path(
        "accounts/reviews/<int:pk>/withdraw/", views.my_review_withdraw, name="my_review_withdraw"
    ),
]
