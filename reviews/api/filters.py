"""Query filters for the reviews API. The provider directory reuses the HTML directory's
ProviderFilter (and so provider_search); reviews reuse the orderings of review_list_public."""

import django_filters
from django.utils.translation import gettext_lazy as _

from portal.api.filters import StrictBooleanFilter, StrictParametersMixin
from reviews.filters import ProviderFilter
from reviews.models import Review
from reviews.selectors import REVIEW_ORDERINGS


class ProviderApiFilter(StrictParametersMixin, ProviderFilter):
    """The directory's filter, with the search box called `search` as the API documents."""

    search = django_filters.CharFilter(label=_("Name, type or town"), method="noop")

    def filter_queryset(self, queryset):
        self.form.cleaned_data["q"] = self.form.cleaned_data.get("search") or ""
        return super().filter_queryset(queryset)


ProviderApiFilter.base_filters.pop("q")


class ProviderReviewFilter(StrictParametersMixin, django_filters.FilterSet):
    rating = django_filters.ChoiceFilter(
        choices=[(n, str(n)) for n in range(1, 6)], method="noop", label=_("Stars")
    )
    has_reply = StrictBooleanFilter(method="noop", label=_("Has a published reply"))
    ordering = django_filters.ChoiceFilter(
        choices=[(key, key) for key in REVIEW_ORDERINGS], method="noop", label=_("Sort by")
    )

    class Meta:
        model = Review
        fields = []

    def noop(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset):
        """`queryset` is review_list_public's; these narrow and order it as the page does."""
        data = self.form.cleaned_data
        if data.get("rating"):
            queryset = queryset.filter(rating=int(data["rating"]))
        if data.get("has_reply") is not None:
            published_reply = {"reply__status": "published"}
            queryset = (
                queryset.filter(**published_reply)
                if data["has_reply"]
                else queryset.exclude(**published_reply)
            )
        if data.get("ordering"):
            queryset = queryset.order_by(*REVIEW_ORDERINGS[data["ordering"]])
        return queryset
