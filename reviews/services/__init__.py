"""Every change to providers' reviews: one function per operation, each in one transaction,
each writing its audit record (where there is one) in that same transaction.

Split by who acts: authors (content), moderators (moderation), readers (engagement), and the
providers' figures the others keep up to date (stats). Import from here.
"""

from reviews.services.content import (
    BODY_MAX,
    BODY_MIN,
    DUPLICATE_REVIEW_MESSAGE,
    LIVE_WINDOW_DAYS,
    TITLE_MAX,
    VISIT_WINDOW_MONTHS,
    add_months,
    review_revise,
    review_submit,
    review_withdraw,
    visit_month_bounds,
)
from reviews.services.engagement import review_report, review_unvote_helpful, review_vote_helpful
from reviews.services.moderation import (
    MODERATE_PERMISSION,
    report_decide,
    review_moderate,
    review_remove,
    revision_moderate,
)
from reviews.services.stats import (
    STAT_FIELDS,
    StatsEntry,
    bayesian_score,
    provider_stats_apply,
    provider_stats_compute,
    provider_stats_recompute,
)

__all__ = [
    "BODY_MAX",
    "BODY_MIN",
    "DUPLICATE_REVIEW_MESSAGE",
    "LIVE_WINDOW_DAYS",
    "MODERATE_PERMISSION",
    "STAT_FIELDS",
    "TITLE_MAX",
    "VISIT_WINDOW_MONTHS",
    "StatsEntry",
    "add_months",
    "bayesian_score",
    "provider_stats_apply",
    "provider_stats_compute",
    "provider_stats_recompute",
    "report_decide",
    "review_moderate",
    "review_remove",
    "review_report",
    "review_revise",
    "review_submit",
    "review_unvote_helpful",
    "review_vote_helpful",
    "review_withdraw",
    "revision_moderate",
    "visit_month_bounds",
]
