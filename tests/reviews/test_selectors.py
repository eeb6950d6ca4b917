"""The shared reads: the provider directory search, a provider's public reviews, and who may
see a single review."""

import datetime as dt
import itertools

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import Http404
from django.utils import timezone

from reviews.models import Review, ReviewStatus
from reviews.selectors import provider_search, review_get_visible, review_list_public
from reviews.services import bayesian_score
from tests.factories import (
    CategoryFactory,
    ProviderFactory,
    ReviewFactory,
    UserFactory,
    publish,
)

pytestmark = pytest.mark.django_db


def rated(ratings: list[int]) -> dict:
    """Stored figures for a provider with these published ratings (the selector reads them)."""
    figures = {"review_count": len(ratings), "rating_sum": sum(ratings)}
    for stars in range(1, 6):
        figures[f"rating_{stars}"] = ratings.count(stars)
    return {**figures, "score": bayesian_score(rating_sum=sum(ratings), review_count=len(ratings))}


def names(queryset) -> list[str]:
    return [provider.name for provider in queryset]


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: full-text search and trigram similarity; SQLite has only the "
            "substring fallback"
        )


@pytest.fixture
def directory():
    """A small directory; each provider is reachable by exactly the searches the tests name."""
    dentists = CategoryFactory(name="Dentists", slug="dentists")
    clinics = CategoryFactory(name="Private clinics", slug="private-clinics")
    plumbers = CategoryFactory(name="Plumbers", slug="plumbers")
    gps = CategoryFactory(name="GP surgeries", slug="gp-surgeries")
    pharmacies = CategoryFactory(name="Pharmacies", slug="pharmacies")
    make = ProviderFactory
    return {
        "Smile Dental Practice": make(
            name="Smile Dental Practice", category=clinics, town="Leeds", **rated([5, 4])
        ),
        "Harbour Lane Surgery": make(
            name="Harbour Lane Surgery", category=dentists, town="York", **rated([4] * 6)
        ),
        "Leeds Plumbing Co": make(
            name="Leeds Plumbing Co", category=plumbers, town="Leeds", **rated([4] * 9 + [3])
        ),
        "Park View Medical Centre": make(
            name="Park View Medical Centre", category=gps, town="Bradford", **rated([])
        ),
        "Oakwood Practice": make(
            name="Oakwood Practice",
            category=clinics,
            town="Harrogate",
            description="We offer root canal treatment, crowns and implants under sedation.",
            **rated([1, 2]),
        ),
        "Canal Side Pharmacy": make(
            name="Canal Side Pharmacy", category=pharmacies, town="Skipton", **rated([5])
        ),
        "Closed Dental Studio": make(
            name="Closed Dental Studio",
            category=dentists,
            town="Leeds",
            is_active=False,
            description="Root canal treatment.",
            **rated([5, 5, 5, 5]),
        ),
    }


ACTIVE = [
    "Canal Side Pharmacy",
    "Harbour Lane Surgery",
    "Leeds Plumbing Co",
    "Oakwood Practice",
    "Park View Medical Centre",
    "Smile Dental Practice",
]


# --- provider_search: filters -------------------------------------------------------------
@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("dentists", {"Harbour Lane Surgery"}),
        ("private-clinics", {"Smile Dental Practice", "Oakwood Practice"}),
        ("no-such-category", set()),
        ("", set(ACTIVE)),
    ],
)
def test_search_filters_by_category_slug(category, expected, directory):
    assert set(names(provider_search(category=category))) == expected


@pytest.mark.parametrize(
    ("town", "expected"),
    [
        ("Leeds", {"Smile Dental Practice", "Leeds Plumbing Co"}),
        ("leeds", {"Smile Dental Practice", "Leeds Plumbing Co"}),
        ("  LEEDS ", {"Smile Dental Practice", "Leeds Plumbing Co"}),
        ("york", {"Harbour Lane Surgery"}),
        ("Lee", set()),
    ],
)
def test_search_filters_by_town_ignoring_case(town, expected, directory):
    assert set(names(provider_search(town=town))) == expected


WITH_REVIEWS = set(ACTIVE) - {"Park View Medical Centre"}


@pytest.mark.parametrize(
    ("min_rating", "expected"),
    [
        (5, {"Canal Side Pharmacy"}),
        (4.5, {"Canal Side Pharmacy", "Smile Dental Practice"}),
        # Harbour Lane's average is exactly 4.0; Leeds Plumbing's 3.9 falls short
        (4, {"Canal Side Pharmacy", "Smile Dental Practice", "Harbour Lane Surgery"}),
        (3.9, WITH_REVIEWS - {"Oakwood Practice"}),
        (1, WITH_REVIEWS),
        (0, WITH_REVIEWS),  # without reviews there is no average to compare
    ],
)
def test_search_filters_by_minimum_average_rating(min_rating, expected, directory):
    assert set(names(provider_search(min_rating=min_rating))) == expected


def test_search_filters_combine(directory):
    found = provider_search(category="private-clinics", town="leeds", min_rating=4)
    assert names(found) == ["Smile Dental Practice"]
    assert names(provider_search(category="private-clinics", town="leeds", min_rating=4.6)) == []


BY_SCORE = [
    "Leeds Plumbing Co",  # (C·m + 39) / (C + 10) = 3.735 with C = 7, m = 3.5
    "Harbour Lane Surgery",  # 3.731: six 4-star reviews …
    "Smile Dental Practice",  # 3.722
    "Canal Side Pharmacy",  # 3.688: … outrank a single 5-star review
    "Park View Medical Centre",  # 3.5: no reviews, the prior alone
    "Oakwood Practice",  # 3.056
]
ORDERED_PROVIDERS = {
    "-score": BY_SCORE,
    "name": ACTIVE,
    "-review_count": [
        "Leeds Plumbing Co",
        "Harbour Lane Surgery",
        "Oakwood Practice",  # two reviews each: by name
        "Smile Dental Practice",
        "Canal Side Pharmacy",
        "Park View Medical Centre",
    ],
    "": BY_SCORE,
    "cheapest": BY_SCORE,
}


@pytest.mark.parametrize("ordering", sorted(ORDERED_PROVIDERS))
def test_search_orders_as_asked(ordering, directory):
    assert names(provider_search(ordering=ordering)) == ORDERED_PROVIDERS[ordering]


FILTERS_THAT_WOULD_MATCH_THE_CLOSED_PROVIDER = [
    {},
    {"q": "dental"},
    {"q": "Closed Dental Studio"},
    {"category": "dentists"},
    {"town": "Leeds"},
    {"min_rating": 5},
    {"ordering": "name"},
    {"ordering": "-review_count"},
]


@pytest.mark.parametrize("filters", FILTERS_THAT_WOULD_MATCH_THE_CLOSED_PROVIDER)
def test_search_never_lists_an_inactive_provider(filters, directory):
    assert "Closed Dental Studio" not in names(provider_search(**filters))


# --- provider_search: text ----------------------------------------------------------------
ON_POSTGRES = connection.vendor == "postgresql"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("dent", {"Smile Dental Practice", "Harbour Lane Surgery"}),
        ("Dent", {"Smile Dental Practice", "Harbour Lane Surgery"}),
        ("smile", {"Smile Dental Practice"}),
        ("  plumbing  ", {"Leeds Plumbing Co"}),
        ("bradford", {"Park View Medical Centre"}),
        ("zzzz", set()),
        ("", set(ACTIVE)),
        ("harbour lane", {"Harbour Lane Surgery"}),
        # Oakwood's description mentions a root canal
        ("canal", {"Canal Side Pharmacy", "Oakwood Practice"}),
    ],
)
def test_search_matches_names_categories_and_towns_on_every_database(q, expected, directory):
    assert set(names(provider_search(q=q))) == expected


@pytest.mark.parametrize(
    ("q", "unrelated"),
    [
        ("dent", "Derby Road Pharmacy"),
        ("smile", "Smith Opticians"),
        ("dentsit", "Derby Road Pharmacy"),
    ],
)
def test_search_leaves_out_names_that_merely_start_alike(q, unrelated, directory):
    ProviderFactory(name=unrelated, category=CategoryFactory(name="Other", slug="other"))
    assert unrelated not in names(provider_search(q=q))


@pytest.mark.postgres
@pytest.mark.parametrize("q", ["dentsit", "Dentsit", "DENTSIT"])
def test_postgres_search_forgives_misspellings(q, postgres_only, directory):
    """The category "Dentists" and a provider named "… Dental …" (in another category)."""
    assert set(names(provider_search(q=q))) == {"Smile Dental Practice", "Harbour Lane Surgery"}


@pytest.mark.postgres
def test_postgres_precise_matches_leave_out_the_merely_similar(postgres_only, directory):
    """A correctly spelt "dentist" matches the category; similar names are not added."""
    assert set(names(provider_search(q="dentist"))) == {"Harbour Lane Surgery"}


@pytest.mark.postgres
@pytest.mark.parametrize("q", ["root canal", "root canals", "canal treatment"])
def test_postgres_full_text_search_reads_descriptions(q, postgres_only, directory):
    assert names(provider_search(q=q))[0] == "Oakwood Practice"


@pytest.mark.postgres
def test_postgres_search_ranks_a_name_match_above_a_description_match(postgres_only, directory):
    assert names(provider_search(q="canal"))[:2] == ["Canal Side Pharmacy", "Oakwood Practice"]


@pytest.mark.postgres
def test_postgres_search_keeps_an_explicit_ordering_and_the_filters(postgres_only, directory):
    expected = ["Harbour Lane Surgery", "Smile Dental Practice"]
    assert names(provider_search(q="dentsit", ordering="name")) == expected
    assert names(provider_search(q="dentsit", ordering="-score")) == expected
    assert names(provider_search(q="dentsit", category="dentists")) == ["Harbour Lane Surgery"]
    assert names(provider_search(q="dentsit", town="leeds")) == ["Smile Dental Practice"]


# --- review_list_public -------------------------------------------------------------------
@pytest.fixture
def provider(db):
    return ProviderFactory(name="Smile Dental Practice")


@pytest.fixture
def reviews(provider):
    """Four published reviews (rating, days since publication, helpful votes) and the rest."""
    now = timezone.now()
    made = {}
    # Created in an order unlike publication, so that ties must be broken by published_at.
    for key, rating, days_ago, helpful in [
        ("three", 3, 2, 2),
        ("five_new", 5, 0, 0),
        ("one_recent", 1, 1, 7),
        ("five_old", 5, 3, 2),
    ]:
        review = publish(ReviewFactory(provider=provider, rating=rating))
        Review.objects.filter(pk=review.pk).update(
            published_at=now - dt.timedelta(days=days_ago), helpful_count=helpful
        )
        made[key] = review
    for status in set(ReviewStatus.values) - {ReviewStatus.PUBLISHED}:
        ReviewFactory(provider=provider, rating=5, status=status)
    publish(ReviewFactory(rating=5))  # another provider's
    return made


ORDERED = {
    "-published_at": ["five_new", "one_recent", "three", "five_old"],
    "-helpful_count": ["one_recent", "three", "five_old", "five_new"],
    "-rating": ["five_new", "five_old", "three", "one_recent"],
    "rating": ["one_recent", "three", "five_new", "five_old"],
    "": ["five_new", "one_recent", "three", "five_old"],
    "oldest": ["five_new", "one_recent", "three", "five_old"],
}


@pytest.mark.parametrize("ordering", sorted(ORDERED))
def test_public_reviews_are_the_published_ones_in_the_order_asked(ordering, provider, reviews):
    found = list(review_list_public(provider=provider, ordering=ordering))
    assert found == [reviews[key] for key in ORDERED[ordering]]


@pytest.mark.parametrize(
    ("rating", "expected"),
    [
        (5, ["five_new", "five_old"]),
        (1, ["one_recent"]),
        (2, []),
        (None, ORDERED["-published_at"]),
        (7, ORDERED["-published_at"]),
    ],
)
def test_public_reviews_filter_by_rating(rating, expected, provider, reviews):
    found = list(review_list_public(provider=provider, rating=rating))
    assert found == [reviews[key] for key in expected]


@pytest.mark.parametrize(("ordering", "rating"), list(itertools.product(ORDERED, [None, 5])))
def test_public_reviews_come_with_their_authors_in_one_query(
    ordering, rating, provider, reviews, django_assert_num_queries
):
    with django_assert_num_queries(1):
        authors = [r.author_name for r in review_list_public(provider=provider, rating=rating)]
    assert len(authors) == (2 if rating else 4)


# --- review_get_visible -------------------------------------------------------------------
VIEWERS = ["nobody", "anonymous", "author", "another customer", "staff"]


def viewer(who: str, review: Review):
    return {
        "nobody": lambda: None,
        "anonymous": AnonymousUser,
        "author": lambda: review.author,
        "another customer": UserFactory,
        "staff": lambda: UserFactory(is_staff=True),
    }[who]()


@pytest.mark.parametrize(("status", "who"), list(itertools.product(ReviewStatus.values, VIEWERS)))
def test_a_review_is_visible_when_published_or_to_its_author(status, who, provider):
    review = ReviewFactory(provider=provider, status=status)
    user = viewer(who, review)
    if status == ReviewStatus.PUBLISHED or who == "author":
        assert review_get_visible(pk=review.pk, user=user) == review
    else:
        with pytest.raises(Http404):
            review_get_visible(pk=review.pk, user=user)


@pytest.mark.parametrize("who", VIEWERS)
def test_a_review_of_an_inactive_provider_is_hidden_except_from_its_author(who):
    review = publish(ReviewFactory(provider=ProviderFactory(is_active=False)))
    user = viewer(who, review)
    if who == "author":
        assert review_get_visible(pk=review.pk, user=user) == review
    else:
        with pytest.raises(Http404):
            review_get_visible(pk=review.pk, user=user)


def test_a_missing_review_is_not_found(customer):
    with pytest.raises(Http404):
        review_get_visible(pk=987654, user=customer)
