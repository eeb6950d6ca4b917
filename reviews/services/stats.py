"""Providers' stored figures: changed by one review at a time inside the services that
publish or unpublish, and recomputed from scratch to check them."""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum

from reviews.models import (
    RATING_VALUES,
    Provider,
    Review,
    ReviewSource,
)


# --- provider aggregates ------------------------------------------------------------------
@dataclass(frozen=True)
class StatsEntry:
    """What one published review contributes to its provider's figures."""

    rating: int
    aspects: dict
    would_recommend: bool | None
    invited: bool

    @classmethod
    def of(cls, review: Review) -> "StatsEntry":
        return cls(
            rating=review.rating,
            aspects=dict(review.aspects or {}),
            would_recommend=review.would_recommend,
            invited=review.source == ReviewSource.INVITED,
        )


def bayesian_score(*, rating_sum: int, review_count: int) -> float:
    c, m = settings.RATING_PRIOR_WEIGHT, settings.RATING_PRIOR_MEAN
    return round((c * m + rating_sum) / (c + review_count), 6)


def provider_stats_apply(
    *, provider_id: int, added: StatsEntry | None = None, removed: StatsEntry | None = None
) -> Provider:
    """Change a provider's stored figures by one review coming into or leaving publication.

    Called only by the services above, inside their transaction; the provider row is locked so
    concurrent publications add up.
    """
    provider = Provider.objects.select_for_update().get(pk=provider_id)
    aspect_totals = {code: list(pair) for code, pair in provider.aspect_totals.items()}
    for entry, sign in ((removed, -1), (added, +1)):
        if entry is None:
            continue
        provider.review_count += sign
        provider.rating_sum += sign * entry.rating
        field = f"rating_{entry.rating}"
        setattr(provider, field, getattr(provider, field) + sign)
        if entry.invited:
            provider.invited_count += sign
            provider.invited_sum += sign * entry.rating
        if entry.would_recommend is not None:
            provider.recommend_answers += sign
            provider.recommend_yes += sign * int(entry.would_recommend)
        for code, value in entry.aspects.items():
            total = aspect_totals.setdefault(code, [0, 0])
            total[0] += sign * value
            total[1] += sign
            if total[1] == 0:
                del aspect_totals[code]
    provider.aspect_totals = aspect_totals
    provider.score = bayesian_score(
        rating_sum=provider.rating_sum, review_count=provider.review_count
    )
    provider.save(update_fields=[*STAT_FIELDS, "updated_at"])
    return provider


STAT_FIELDS = [
    "review_count",
    "rating_sum",
    *(f"rating_{r}" for r in RATING_VALUES),
    "aspect_totals",
    "recommend_yes",
    "recommend_answers",
    "invited_count",
    "invited_sum",
    "score",
]


def provider_stats_compute(*, provider_ids=None) -> dict[int, dict]:
    """Figures computed from scratch from published reviews, keyed by provider id."""
    providers = Provider.objects.all()
    if provider_ids is not None:
        providers = providers.filter(pk__in=provider_ids)
    empty = {
        **dict.fromkeys(STAT_FIELDS, 0),
        "aspect_totals": {},
        "score": bayesian_score(rating_sum=0, review_count=0),
    }
    figures = {pk: {**empty, "aspect_totals": {}} for pk in providers.values_list("pk", flat=True)}
    published = Review.objects.published().filter(provider_id__in=figures.keys())
    rows = published.values("provider_id").annotate(
        review_count=Count("id"),
        rating_sum=Sum("rating"),
        **{f"rating_{r}": Count("id", filter=Q(rating=r)) for r in RATING_VALUES},
        recommend_yes=Count("id", filter=Q(would_recommend=True)),
        recommend_answers=Count("id", filter=Q(would_recommend__isnull=False)),
        invited_count=Count("id", filter=Q(source=ReviewSource.INVITED)),
        invited_sum=Sum("rating", filter=Q(source=ReviewSource.INVITED), default=0),
    )
    for row in rows.order_by():
        pk = row.pop("provider_id")
        figures[pk].update(row)
        figures[pk]["score"] = bayesian_score(
            rating_sum=row["rating_sum"], review_count=row["review_count"]
        )
    with_aspects = published.exclude(aspects={}).values_list("provider_id", "aspects")
    for pk, aspects in with_aspects.order_by().iterator(chunk_size=5000):
        totals = figures[pk]["aspect_totals"]
        for code, value in aspects.items():
            pair = totals.setdefault(code, [0, 0])
            pair[0] += value
            pair[1] += 1
    return figures


@transaction.atomic
def provider_stats_recompute(*, provider_ids=None, batch_size: int = 100) -> int:
    """Overwrite stored figures with a from-scratch computation; returns providers changed.

    The providers are locked before counting, so a review published meanwhile waits for this
    transaction instead of being overwritten by figures counted without it.
    """
    locked = Provider.objects.select_for_update().order_by("pk")
    if provider_ids is not None:
        locked = locked.filter(pk__in=provider_ids)
    providers = list(locked)
    figures = provider_stats_compute(provider_ids=[p.pk for p in providers])
    changed = []
    for provider in providers:
        new = figures[provider.pk]
        if any(getattr(provider, f) != new[f] for f in STAT_FIELDS):
            for field in STAT_FIELDS:
                setattr(provider, field, new[field])
            changed.append(provider)
    # Small batches: bulk_update's CASE expressions grow quadratically slower with batch size.
    Provider.objects.bulk_update(changed, STAT_FIELDS, batch_size=batch_size)
    return len(changed)
