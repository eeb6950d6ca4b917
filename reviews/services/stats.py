"""Providers' stored figures: changed by one review at a time inside the services that
publish or unpublish, and recomputed from scratch to check them."""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum

from reviews.models import (
    RATING_VALUES,
    Provider,
    Review,
    ReviewSource,
    ReviewStatus,
)
from reviews.pagecache import provider_page_changed


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
    provider_page_changed(provider_id)  # its figures and its list of reviews change
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
    if connection.vendor == "postgresql":
        return _recompute_in_sql(provider_ids)
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


# On PostgreSQL the figures of any number of providers are counted and written by a handful of
# statements, so 100,000 providers and a million reviews take seconds and little memory. The
# score is the one figure not computed in SQL: Python's round() of a float and PostgreSQL's
# round() of a numeric disagree on halves, so it is computed here for each distinct
# (count, sum) pair, of which there are few, and joined in.
_FIGURES_SQL = """
CREATE TEMP TABLE heard_figures ON COMMIT DROP AS
SELECT p.id AS provider_id,
       coalesce(c.review_count, 0) AS review_count,
       coalesce(c.rating_sum, 0) AS rating_sum,
       {rating_columns},
       coalesce(c.recommend_yes, 0) AS recommend_yes,
       coalesce(c.recommend_answers, 0) AS recommend_answers,
       coalesce(c.invited_count, 0) AS invited_count,
       coalesce(c.invited_sum, 0) AS invited_sum,
       coalesce(a.aspect_totals, '{{}}'::jsonb) AS aspect_totals
FROM reviews_provider p
LEFT JOIN (
    SELECT provider_id,
           count(*) AS review_count,
           sum(rating) AS rating_sum,
           {rating_counts},
           count(*) FILTER (WHERE would_recommend) AS recommend_yes,
           count(would_recommend) AS recommend_answers,
           count(*) FILTER (WHERE source = %(invited)s) AS invited_count,
           coalesce(sum(rating) FILTER (WHERE source = %(invited)s), 0) AS invited_sum
    FROM reviews_review
    WHERE status = %(published)s {review_filter}
    GROUP BY provider_id
) c ON c.provider_id = p.id
LEFT JOIN (
    SELECT provider_id, jsonb_object_agg(code, jsonb_build_array(total, answers)) AS aspect_totals
    FROM (
        SELECT r.provider_id, e.key AS code, sum(e.value::int) AS total, count(*) AS answers
        FROM reviews_review r CROSS JOIN LATERAL jsonb_each(r.aspects) e
        WHERE r.status = %(published)s AND r.aspects <> '{{}}'::jsonb {aspect_filter}
        GROUP BY r.provider_id, e.key
    ) per_code
    GROUP BY provider_id
) a ON a.provider_id = p.id
WHERE true {provider_filter}
"""

_UPDATE_SQL = """
UPDATE reviews_provider p
SET {assignments}, score = s.score
FROM heard_figures f
JOIN unnest(%(counts)s::int[], %(sums)s::int[], %(scores)s::float8[]) AS s(n, total, score)
  ON s.n = f.review_count AND s.total = f.rating_sum
WHERE p.id = f.provider_id
  AND ({differs} OR p.score IS DISTINCT FROM s.score)
"""


def _recompute_in_sql(provider_ids) -> int:
    ids = None if provider_ids is None else [int(pk) for pk in provider_ids]
    params = {
        "published": ReviewStatus.PUBLISHED,
        "invited": ReviewSource.INVITED,
        "ids": ids,
    }
    by_id = "" if ids is None else "AND provider_id = ANY(%(ids)s)"
    counted = [f for f in STAT_FIELDS if f not in ("aspect_totals", "score")]
    with connection.cursor() as cursor:
        # Lock first, in id order (as the row-by-row path does), so concurrent publications
        # wait for this transaction and two recomputations cannot deadlock.
        lock = "SELECT id FROM reviews_provider {} ORDER BY id FOR UPDATE"
        cursor.execute(lock.format("" if ids is None else "WHERE id = ANY(%(ids)s)"), params)
        cursor.execute(
            _FIGURES_SQL.format(
                rating_columns=", ".join(
                    f"coalesce(c.rating_{r}, 0) AS rating_{r}" for r in RATING_VALUES
                ),
                rating_counts=", ".join(
                    f"count(*) FILTER (WHERE rating = {int(r)}) AS rating_{r}"
                    for r in RATING_VALUES
                ),
                review_filter=by_id,
                aspect_filter=by_id.replace("provider_id", "r.provider_id"),
                provider_filter="" if ids is None else "AND p.id = ANY(%(ids)s)",
            ),
            params,
        )
        cursor.execute("SELECT DISTINCT review_count, rating_sum FROM heard_figures")
        pairs = cursor.fetchall()
        params.update(
            counts=[n for n, _ in pairs],
            sums=[total for _, total in pairs],
            scores=[bayesian_score(rating_sum=total, review_count=n) for n, total in pairs],
        )
        cursor.execute(
            _UPDATE_SQL.format(
                assignments=", ".join(
                    [*(f"{f} = f.{f}" for f in counted), "aspect_totals = f.aspect_totals"]
                ),
                differs=" OR ".join(
                    f"p.{f} IS DISTINCT FROM f.{f}" for f in [*counted, "aspect_totals"]
                ),
            ),
            params,
        )
        changed = cursor.rowcount
        cursor.execute("DROP TABLE heard_figures")
    return changed
