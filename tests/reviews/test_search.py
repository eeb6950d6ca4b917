"""The directory search at scale: names with every word first, then other matches, each by
score; pages that fit together; a count that stops at a cap (and says so); browsing counts
that come from the shared cache. Run on SQLite and PostgreSQL alike."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviews import search
from reviews.selectors import provider_search
from reviews.services import bayesian_score
from tests.factories import CategoryFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def scored(stars: int, count: int) -> dict:
    total = stars * count
    return {
        "review_count": count,
        "rating_sum": total,
        f"rating_{stars}": count,
        "score": bayesian_score(rating_sum=total, review_count=count),
    }


@pytest.fixture
def directory():
    cafes = CategoryFactory(name="Cafes", slug="cafes")
    make = ProviderFactory
    return [
        # in Bradford, but "Leeds" is in its name: listed before every provider in Leeds
        make(name="Leeds Road Cafe", category=cafes, town="Bradford", **scored(2, 3)),
        make(name="Harbour Cafe", category=cafes, town="Leeds", **scored(5, 40)),
        make(name="Corner Cafe", category=cafes, town="Leeds", **scored(4, 10)),
        make(name="Station Cafe", category=cafes, town="Leeds", **scored(3, 10)),
        make(name="Mill Cafe", category=cafes, town="York", **scored(5, 5)),
    ]


def names(results) -> list[str]:
    return [p.name for p in results]


def test_names_with_the_words_come_first_then_the_rest_by_score(directory):
    assert names(provider_search(q="leeds")) == [
        "Leeds Road Cafe",
        "Harbour Cafe",
        "Corner Cafe",
        "Station Cafe",
    ]


def test_an_explicit_ordering_ranks_every_match_alike(directory):
    assert names(provider_search(q="leeds", ordering="name")) == [
        "Corner Cafe",
        "Harbour Cafe",
        "Leeds Road Cafe",
        "Station Cafe",
    ]


@pytest.mark.parametrize("size", [1, 2, 3])
def test_pages_fit_together_without_gaps_or_repeats(directory, size):
    whole = names(provider_search(q="leeds"))
    results = provider_search(q="leeds")
    pages = [names(results[i : i + size]) for i in range(0, len(results), size)]
    assert [name for page in pages for name in page] == whole


def test_the_count_stops_at_the_cap_and_the_page_says_more_than(client, directory, monkeypatch):
    monkeypatch.setattr(search, "SEARCH_RESULTS_MAX", 3)
    monkeypatch.setattr("reviews.selectors.SEARCH_RESULTS_MAX", 3)
    results = provider_search(q="cafe")
    assert results.count() == 3 and results.more_than_counted
    page = client.get("/providers/", {"q": "cafe"}).content.decode()
    assert "More than 3 providers found" in page
    exact = provider_search(q="leeds road")
    assert exact.count() == 1 and not exact.more_than_counted
    assert "1 provider found" in client.get("/providers/", {"q": "leeds road"}).content.decode()


def test_browsing_counts_once_then_from_the_shared_cache(client, directory):
    cache.clear()
    client.get("/providers/", {"category": "cafes"})
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/providers/", {"category": "cafes"}).content.decode()
    assert "5 providers found" in page
    assert not [q for q in queries if "COUNT(" in q["sql"].upper()]


def test_a_single_index_past_the_end_is_an_index_error(directory):
    results = provider_search(q="leeds")
    assert results[0].name == "Leeds Road Cafe"
    with pytest.raises(IndexError):
        results[10]
