"""Deep pages by a deferred join: the same rows as plain slicing, for every ordering the
review lists offer, one query a page, and the count from the stored figures when known."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.pagination import DeferredJoinPaginator
from reviews.selectors import REVIEW_ORDERINGS, review_list_public
from tests.factories import ProviderFactory, ReviewFactory

pytestmark = pytest.mark.django_db

PER_PAGE = 2


@pytest.fixture
def provider():
    provider = ProviderFactory()
    for i in range(16):
        # ratings and votes repeat, so ties must be broken the same way on every path
        ReviewFactory(provider=provider, status="published", rating=1 + i % 5, helpful_count=i % 3)
    ReviewFactory(provider=provider, status="pending")
    return provider


@pytest.mark.parametrize("ordering", sorted(REVIEW_ORDERINGS))
@pytest.mark.parametrize("rating", [None, 2])
def test_every_page_holds_the_rows_plain_slicing_gives(provider, ordering, rating):
    rows = review_list_public(provider=provider, ordering=ordering, rating=rating)
    expected = [r.pk for r in rows]
    paginator = DeferredJoinPaginator(rows.all(), PER_PAGE)  # not the evaluated one
    got = []
    for number in paginator.page_range:
        with CaptureQueriesContext(connection) as queries:
            got += [r.pk for r in paginator.page(number).object_list]
        assert len(queries) == 1
        if number > 1:  # past the first page, the ids are picked by a subquery
            assert "IN (SELECT" in queries[0]["sql"].upper().replace('"', "")
    assert got == expected and len(expected) == (3 if rating == 2 else 16)


def test_a_known_count_is_used_instead_of_counting(provider, django_assert_num_queries):
    rows = review_list_public(provider=provider)
    paginator = DeferredJoinPaginator(rows, PER_PAGE, count=16)
    with django_assert_num_queries(0):
        assert paginator.num_pages == 8
    with django_assert_num_queries(1):
        assert len(paginator.page(8).object_list) == 2


def test_a_plain_list_is_sliced(provider):
    paginator = DeferredJoinPaginator(list(range(10)), PER_PAGE)
    assert list(paginator.page(5).object_list) == [8, 9]
