"""Heard's own account pages (allauth's are included after these in portal/urls.py)."""

app_name = "accounts"

urlpatterns: list = []
