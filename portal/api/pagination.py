"""One page shape for every list: {count, next, previous, results}."""

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

from portal.pagination import DeferredJoinPaginator


class HeardPagination(PageNumberPagination):
    """Deep pages by a deferred join (portal.pagination); a view with a `known_count(queryset)`
    method (returning a number, or None to count) spares the list its COUNT(*)."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        known_count = getattr(view, "known_count", None)
        self._known_count = known_count(queryset) if known_count else None
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, object_list, per_page):
        return DeferredJoinPaginator(object_list, per_page, count=self._known_count)

    def get_page_size(self, request):
        """A page size that is not a whole number of at least 1 is bad input (400), where DRF
        would quietly use the default; above the maximum it is capped at 100."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({"page_size": [_("Give a whole number from 1 to 100.")]})
        return min(size, self.max_page_size)
