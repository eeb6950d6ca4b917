"""Pagination that takes the row count from the stored aggregates instead of COUNT(*)."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class KnownCountPaginator(Paginator):
    def __init__(self, object_list, per_page, *, count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._known_count = count

    @cached_property
    def count(self):
        return self._known_count
