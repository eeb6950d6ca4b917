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

    def _provider_ids(self) -> list[int] | None:
        """The provider whose reviews are listed: the view found it from the URL before
        filtering (reviews.api.views.ProviderReviewList), and DRF hands the view to the request."""
        view = (getattr(self.request, "parser_context", None) or {}).get("view")
        provider = getattr(view, "provider", None)
        return None if provider is None else [provider.pk]

    def filter_queryset(self, queryset):
        """`queryset` is review_list_public's; these narrow and order it as the page does."""
        data = self.form.cleaned_data
        if data.get("rating"):
            queryset = queryset.filter(rating=int(data["rating"]))
        if data.get("has_reply") is not None:
            # The business's reply lives in responses (the reviews app reads it only where a
            # page shows both); only this provider's replies are read, through their index.
            from responses.models import ReplyStatus
            from responses.selectors import review_has_reply

            replied = review_has_reply(
                statuses=[ReplyStatus.PUBLISHED],
                provider_ids=self._provider_ids(),
                present=data["has_reply"],
            )
            queryset = queryset.filter(replied)
        if data.get("ordering"):
            queryset = queryset.order_by(*REVIEW_ORDERINGS[data["ordering"]])
        return queryset
