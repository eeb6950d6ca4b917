"""The provider directory's filters, shared by the HTML directory and the API."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from reviews.models import Category, Provider
from reviews.selectors import provider_search

ORDERING_CHOICES = [
    ("-score", _("Highest score")),
    ("-review_count", _("Most reviewed")),
    ("name", _("Name (A–Z)")),
]
MIN_RATING_CHOICES = [
    ("4", _("4 stars and over")),
    ("3", _("3 stars and over")),
    ("2", _("2 stars and over")),
]


class ProviderFilter(django_filters.FilterSet):
    """Every field is handed to `provider_search`, so HTML, API and tests share one rule."""

    q = django_filters.CharFilter(label=_("Name, type or town"), method="noop")
    category = django_filters.ModelChoiceFilter(
        label=_("Type of provider"),
        queryset=Category.objects.order_by("name"),
        to_field_name="slug",
        empty_label=_("All types"),
        method="noop",
    )
    town = django_filters.CharFilter(label=_("Town"), method="noop")
    min_rating = django_filters.NumberFilter(
        label=_("Minimum rating"),
        min_value=1,
        max_value=5,
        method="noop",
        widget=forms.Select(choices=[("", _("Any rating")), *MIN_RATING_CHOICES]),
    )
    ordering = django_filters.ChoiceFilter(
        label=_("Sort by"), choices=ORDERING_CHOICES, empty_label=_("Best match"), method="noop"
    )

    class Meta:
        model = Provider
        fields = []

    def noop(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        category = data.get("category")
        return provider_search(
            q=data.get("q") or "",
            category=category.slug if category else "",
            town=data.get("town") or "",
            min_rating=float(data["min_rating"]) if data.get("min_rating") else None,
            ordering=data.get("ordering") or "",
        )
