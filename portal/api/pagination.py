"""One page shape for every list: {count, next, previous, results}."""

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class HeardPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

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
