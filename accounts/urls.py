"""Heard's own account pages (allauth's are included after these in portal/urls.py)."""

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("data/", views.data, name="data"),
    path("data/download/", views.data_download, name="data_download"),
    path("data/delete/", views.delete, name="delete"),
]
