"""The provider directory's search: what matches, in what order, and how many.

At 100,000 providers the old search ranked every match with `ts_rank` and a trigram
similarity and then counted the whole match again: a search for "dentist" touched 20,000
rows twice (200 ms), a misspelling 500 ms. Here nothing is computed for every match:

- **Order.** Best match first means: providers whose *name* has every word first, then every
  other match (town, postcode, description, type of provider), each group by score. Each group
  is one query ordered by the score index, which PostgreSQL walks until it has a page when
  matches are common, or answers from the full-text (GIN) indexes when they are rare. An
  explicit ordering (score, name, most reviewed) is one group.
- **Count.** The number of matches is counted only up to `SEARCH_RESULTS_MAX` (1,000; the
  page says "more than"): past that nobody pages, they refine. Browsing without words counts
  exactly, from the shared cache for a few minutes.
- **Misspellings.** Only when nothing matches precisely, names and towns within a trigram
  word similarity of 0.5 (pg_trgm's `<%`, served by its GIN indexes; the threshold is set per
  connection in settings) and types of provider close to the words ("dentsit" → Dentists).

On SQLite (the embedded demo) the same interface runs over case-insensitive substrings.
"""

import hashlib
from functools import reduce
from operator import or_

from django.core.cache import cache
from django.db.models import Q, QuerySet, Subquery

from reviews.models import Provider

SEARCH_RESULTS_MAX = 1000  # matches counted, and pages offered, for a search with words
FUZZY_RESULTS_MAX = 200  # the same for "did you mean" matches, which thin out quickly
BROWSE_COUNT_SECONDS = 300


class ProviderResults:
    """An ordered, countable, sliceable list of providers: what the directory and the API
    page through (Django's Paginator and DRF's pagination take it like a queryset).

    `groups` are Q objects over `base`; a provider is listed in the first group it matches,
    each group ordered by `ordering`. `cap` bounds the count (None: exact, cached under
    `count_key`)."""

    model = Provider

    def __init__(
        self,
        base: QuerySet,
        groups: list[Q],
        ordering: tuple[str, ...],
        *,
        cap: int | None = None,
        count_key: str | None = None,
    ):
        self.base = base
        self.groups = groups
        self.ordering = ordering
        self.cap = cap
        self.count_key = count_key
        self._count: int | None = None

    def _matches(self) -> QuerySet:
        return self.base.filter(reduce(or_, self.groups)) if self.groups else self.base

    def count(self) -> int:
        if self._count is None:
            matches = self._matches().order_by()
            if self.cap is not None:
                # COUNT(*) over at most `cap` rows: SELECT COUNT(*) FROM (… LIMIT cap)
                self._count = matches[: self.cap].count()
            elif self.count_key is not None:
                self._count = cache.get(self.count_key)
                if self._count is None:
                    self._count = matches.count()
                    cache.set(self.count_key, self._count, BROWSE_COUNT_SECONDS)
            else:
                self._count = matches.count()
        return self._count

    def __len__(self) -> int:
        return self.count()

    @property
    def more_than_counted(self) -> bool:
        """True when the count stopped at the cap (there may be more matches)."""
        return self.cap is not None and self.count() >= self.cap

    def exists(self) -> bool:
        return self.count() > 0

    def __iter__(self):
        return iter(self[0 : self.count()])

    def __getitem__(self, key):
        if isinstance(key, int):
            found = self[key : key + 1]
            if not found:
                raise IndexError(key)
            return found[0]
        start = key.start or 0
        stop = self.count() if key.stop is None else min(key.stop, self.count())
        if stop <= start:
            return []
        if len(self.groups) <= 1:
            rows = self._matches().order_by(*self.ordering)
            if start:  # a deep page reads only its own rows (portal.pagination)
                rows = rows.filter(pk__in=Subquery(rows.values("pk")[start:stop]))
                return list(rows)
            return list(rows[start:stop])
        return self._grouped(start, stop)

    def _grouped(self, start: int, stop: int) -> list[Provider]:
        """Rows [start, stop) of the groups one after another: each group's ids up to `stop`
        (fewer when the group is smaller, so an earlier group is known whole before a later
        one excludes it), then the page's providers in one query."""
        ids: list[int] = []
        for group in self.groups:
            rows = self.base.filter(group).exclude(pk__in=ids).order_by(*self.ordering)
            ids += rows.values_list("pk", flat=True)[: stop - len(ids)]
            if len(ids) >= stop:
                break
        page_ids = ids[start:stop]
        found = {p.pk: p for p in self.base.filter(pk__in=page_ids)}
        return [found[pk] for pk in page_ids if pk in found]


def browse_count_key(**filters) -> str:
    """The cache key of an exact count for a list without words (filters only)."""
    text = "|".join(f"{name}={filters[name]}" for name in sorted(filters))
    return f"provider-count:{hashlib.sha256(text.encode()).hexdigest()[:32]}"
