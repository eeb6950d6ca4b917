"""Reads that pages and the API share. Public lists start here, so what is visible is decided
in one place: active providers, published reviews."""

import re

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection
from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404
from django.utils import timezone

from reviews.models import (
    Category,
    ConsumerAlert,
    ModerationDecision,
    Provider,
    Review,
    ReviewStatus,
)
from reviews.search import (
    FUZZY_RESULTS_MAX,
    SEARCH_RESULTS_MAX,
    ProviderResults,
    browse_count_key,
)

PROVIDER_ORDERINGS = {
    "-score": ("-score", "name"),
    "name": ("name",),
    "-review_count": ("-review_count", "name"),
}
REVIEW_ORDERINGS = {
    "-published_at": ("-published_at", "-id"),
    "-helpful_count": ("-helpful_count", "-published_at", "-id"),
    "-rating": ("-rating", "-published_at", "-id"),
    "rating": ("rating", "-published_at", "-id"),
}
# Word similarity (pg_trgm) for misspellings: "dentsit" vs "Dental" or "Dentists" is 0.5,
# "pharmcy" vs "Pharmacy" 0.63, while "dent" vs "Derby" is 0.4 and "canal" vs "Medical" 0.33.
# Names and towns use pg_trgm's `<%` operator, whose threshold is the connection setting
# pg_trgm.word_similarity_threshold (portal/settings.py sets it to this); categories are few
# and compared directly.
FUZZY_SIMILARITY = 0.5
CATEGORY_SIMILARITY = 0.5
WORD_RE = re.compile(r"[^\W_]+")


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("name")


def _categories_matching(q: str, *, fuzzy: bool = False) -> list[int]:
    """Categories whose name contains the words or, with `fuzzy`, is close to them
    ("dentsit" → Dentists, PostgreSQL only)."""
    categories = Category.objects.all()
    if fuzzy:
        from django.contrib.postgres.search import TrigramWordSimilarity

        categories = categories.annotate(sim=TrigramWordSimilarity(q, "name")).filter(
            sim__gte=CATEGORY_SIMILARITY
        )
    else:
        categories = categories.filter(name__icontains=q)
    return list(categories.values_list("pk", flat=True))


def provider_search(
    *,
    q: str = "",
    category: str = "",
    town: str = "",
    min_rating: float | None = None,
    ordering: str = "",
) -> ProviderResults:
    """Active providers matching the filters, best match first unless an ordering is asked
    for: an ordered, countable, sliceable list (reviews/search.py explains the search).

    PostgreSQL: full-text search (every word, as typed so far, starts a word of the name,
    town, postcode or description: "dent" finds "Dental"), or the type of provider matches;
    only when nothing matches precisely do misspellings count ("dentsit", "pharmcy"), so a
    search for "smile" does not also bring up "Smith". SQLite: the same interface over
    case-insensitive substring matches.
    """
    qs = Provider.objects.active().select_related("category")
    if category:
        qs = qs.filter(category__slug=category)
    if town:
        qs = qs.filter(town__iexact=town.strip())
    if min_rating is not None:
        # average >= min  ⇔  sum >= min × count (no division, no stored average needed)
        qs = qs.filter(review_count__gt=0, rating_sum__gte=min_rating * F("review_count"))
    chosen = PROVIDER_ORDERINGS.get(ordering)
    q = " ".join((q or "").split())[:100]
    if not q:
        key = browse_count_key(category=category, town=town.strip().lower(), min_rating=min_rating)
        return ProviderResults(qs, [], chosen or PROVIDER_ORDERINGS["-score"], count_key=key)
    best_first = PROVIDER_ORDERINGS["-score"]
    category_ids = _categories_matching(q)
    if not _postgres():
        match = (
            Q(name__icontains=q)
            | Q(town__icontains=q)
            | Q(postcode__icontains=q)
            | Q(description__icontains=q)
            | Q(category_id__in=category_ids)
        )
        groups = [match] if chosen else [Q(name__icontains=q), match]
        return ProviderResults(qs, groups, chosen or best_first, cap=SEARCH_RESULTS_MAX)

    from django.contrib.postgres.search import SearchVector

    # The words are letters and digits only, which makes the raw query safe.
    words = WORD_RE.findall(q)
    precise = Q(category_id__in=category_ids)
    in_name = None
    if words:
        query = SearchQuery(
            " & ".join(f"{w}:*" for w in words), search_type="raw", config="english"
        )
        vector = RawSQL("reviews_provider.search_vector", (), output_field=SearchVectorField())
        qs = qs.annotate(document=vector, name_document=SearchVector("name", config="english"))
        precise |= Q(document=query)
        in_name = Q(name_document=query)
    if chosen:
        found = ProviderResults(qs, [precise], chosen, cap=SEARCH_RESULTS_MAX)
    else:
        # A name with every word matches the document too: the groups cover the same rows.
        groups = [in_name, precise] if in_name is not None else [precise]
        found = ProviderResults(qs, groups, best_first, cap=SEARCH_RESULTS_MAX)
    if found.exists():  # counted once; the page reuses the count
        return found
    similar = Q(name__trigram_word_similar=q) | Q(town__trigram_word_similar=q)
    close_type = Q(category_id__in=_categories_matching(q, fuzzy=True))
    groups = [similar | close_type] if chosen else [similar, close_type]
    return ProviderResults(qs, groups, chosen or best_first, cap=FUZZY_RESULTS_MAX)


def provider_get_public(*, slug: str) -> Provider:
    return get_object_or_404(Provider.objects.active().select_related("category"), slug=slug)


def provider_page_parts(*, provider: Provider, version: str) -> dict:
    """What a provider's page (and its API detail) shows that changes only when a service
    says so or time moves on: the responsiveness figures, "You said, we did", the consumer
    alerts running, the category's aspect questions. Cached against the provider's version
    (reviews/pagecache.py), so most requests run none of these six queries."""
    from reviews.pagecache import provider_parts

    def build():
        # The business side's figures (responses) are read here, not imported at the top:
        # the reviews app does not depend on responses except where a page shows both.
        from responses.insights import provider_responsiveness
        from responses.selectors import provider_changes_made

        alerts = consumer_alerts_active(provider=provider)
        return {
            # Its reply rate and time are the page's response figures too: one set of queries.
            "responsiveness": provider_responsiveness(provider),
            "changes_made": list(provider_changes_made(provider=provider)),
            "consumer_alerts": alerts,
            "aspects": [(a.code, a.text) for a in provider.category.aspects.all()],
            # A consumer alert leaves the page at its end, to the second.
            "expires_at": min((a.ends_at for a in alerts), default=None),
        }

    return provider_parts(provider, version, build)


def consumer_alerts_active(*, provider: Provider, now=None) -> list[ConsumerAlert]:
    """The consumer alerts running on `provider` now (usually none or one), in one query."""
    return list(
        ConsumerAlert.objects.active(now or timezone.now())
        .filter(provider=provider)
        .order_by("-starts_at", "-pk")
    )


def review_list_public(
    *, provider: Provider, ordering: str = "", rating: int | None = None
) -> QuerySet[Review]:
    """A provider's published reviews, each with its author, in one query."""
    # The business's reply (responses.Reply, a reverse one-to-one) comes in the same query.
    qs = Review.objects.filter(provider=provider, status=ReviewStatus.PUBLISHED).select_related(
        "author", "reply", "ticket"
    )
    if rating in (1, 2, 3, 4, 5):
        qs = qs.filter(rating=rating)
    return qs.order_by(*REVIEW_ORDERINGS.get(ordering, REVIEW_ORDERINGS["-published_at"]))


def review_get_visible(*, pk: int, user=None) -> Review:
    """A published review to anyone; an unpublished one to its author only (else 404)."""
    visible = Q(status=ReviewStatus.PUBLISHED, provider__is_active=True)
    if user is not None and user.is_authenticated:
        visible |= Q(author=user)
    return get_object_or_404(
        Review.objects.filter(visible).select_related(
            "author", "provider__category", "reply", "ticket"
        ),
        pk=pk,
    )


def review_list_for_author(*, user) -> QuerySet[Review]:
    """The author's own reviews, each with its edits and its decisions (newest first)."""
    return (
        Review.objects.filter(author=user)
        .select_related("provider")
        .prefetch_related(
            "revisions",
            Prefetch("decisions", queryset=ModerationDecision.objects.order_by("-created_at")),
        )
        .order_by("-submitted_at")
    )


def helpful_review_ids(*, user, reviews) -> set[int]:
    """Which of these reviews the user has marked helpful (one query)."""
    if not user.is_authenticated:
        return set()
    ids = [r.pk for r in reviews]
    return set(user.helpful_votes.filter(review_id__in=ids).values_list("review_id", flat=True))
