"""The PostgreSQL path of `seed_demo` for big loads (100,000 providers, a million reviews):
rows streamed in with COPY, secondary indexes and constraints dropped and rebuilt around a
load into near-empty tables, replies and complaint tickets written in SQL, and the filled
tables vacuumed once the load has committed. `docs/performance.md`, "Scale data".

`seed_demo` keeps the command, its options, the plan (which providers, which reviews, which
texts) and the demo path (bulk_create, the business story through the services); this module
only writes what it is given, as fast as PostgreSQL takes it.
"""

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from portal.demo_business import REPLIES
from portal.progress import Progress
from reviews.models import Decision, Review, ReviewStatus
from reviews.services import bayesian_score

if TYPE_CHECKING:
    from portal.management.commands.seed_demo import PlannedProvider

# A COPY load into tables holding fewer rows than this share of it rebuilds their indexes and
# constraints once at the end instead of maintaining them row by row; a load of at least this
# many reviews is vacuumed and analysed once it has committed.
REBUILD_INDEXES_FROM = 50_000


# --- COPY -----------------------------------------------------------------------------------------
PROVIDER_COLUMNS = [
    # the first eight are PlannedProvider.fields
    "name",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "phone",
    "website",
    "description",
    "slug",
    "category_id",
    "is_active",
    "is_claimed",
    "created_at",
    "updated_at",
    "review_count",
    "rating_sum",
    *(f"rating_{r}" for r in range(1, 6)),
    "recommend_yes",
    "recommend_answers",
    "invited_count",
    "invited_sum",
    "aspect_totals",
    "score",
]
REVIEW_COLUMNS = [
    "id",
    "provider_id",
    "author_id",
    "rating",
    "title",
    "body",
    "visit_month",
    "aspects",
    "would_recommend",
    "status",
    "source",
    "flags",
    "submitted_at",
    "published_at",
    "decided_at",
    "updated_at",
    "wants_resolution",
    "helpful_count",
    "is_hidden",
]
DECISION_COLUMNS = [
    "content_type_id",
    "object_id",
    "review_id",
    "moderator_id",
    "decision",
    "reason",
    "created_at",
    "note",
]
USER_COLUMNS = [
    "id",
    "email",
    "display_name",
    "password",
    "date_joined",
    "is_superuser",
    "is_staff",
    "is_active",
]
# The tables a big load fills; their secondary indexes and constraints are rebuilt after it.
LOADED_TABLES = [
    "accounts_user",
    "account_emailaddress",
    "reviews_provider",
    "reviews_review",
    "reviews_moderationdecision",
    "responses_reply",
    "responses_ticket",
    "responses_ticketevent",
    "responses_membership",
]
# The load looks providers up by slug, chunk by chunk: their unique index stays.
KEEP_UNIQUE = ["reviews_provider"]

# Vacuumed and analysed after a big load: the tables it fills, and the categories and questions
# every provider and review joins to.
VACUUMED_TABLES = [*LOADED_TABLES, "reviews_category", "reviews_aspectquestion"]
# Rewritten compactly instead: the load updates every provider's figures after writing it, so
# plain VACUUM would leave the table at 1.7 times its size (143 MB instead of 83 MB at 100k),
# and every search and directory page reads it. A few seconds, on a table nobody uses yet.
REWRITTEN_TABLES = {"reviews_provider"}


class Clock:
    """Wall-clock time per phase of a big load, for the report at its end."""

    def __init__(self):
        self.laps, self.last = [], time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps.append((name, now - self.last))
        self.last = now

    def __str__(self) -> str:
        total = sum(t for _, t in self.laps)
        return ", ".join(f"{name} {t:.0f} s" for name, t in self.laps) + f"; {total:.0f} s in all"


def _copy_sql(table: str, columns: list[str]) -> str:
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f"COPY {table} ({quoted}) FROM STDIN"


def _reserve_ids(cursor, table: str, n: int) -> int:
    """Take n consecutive ids from the table's sequence; returns the first."""
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
        " nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
        [table, table, n],
    )
    return cursor.fetchone()[0] - n + 1


def copy_reviewers(new, password: str, ids: list[int]) -> None:
    """COPY the new reviewers (k, email, name, joined) and their verified addresses."""
    if not new:
        return
    with connection.cursor() as cursor:
        first = _reserve_ids(cursor, "accounts_user", len(new))
        with cursor.copy(_copy_sql("accounts_user", USER_COLUMNS)) as copy:
            for pk, (k, email, name, joined) in enumerate(new, start=first):
                copy.write_row((pk, email, name, password, joined, False, False, True))
                ids[k] = pk
        columns = ["user_id", "email", "verified", "primary"]
        with cursor.copy(_copy_sql("account_emailaddress", columns)) as copy:
            for pk, (_k, email, _name, _joined) in enumerate(new, start=first):
                copy.write_row((pk, email, True, True))


def copy_providers_and_reviews(
    todo: "list[PlannedProvider]",
    *,
    category_ids: dict[str, int],
    reviews_of: "Callable[[PlannedProvider], Iterable[tuple[dict, str]]]",
    moderator_id: int,
    now: dt.datetime,
) -> tuple[int, int]:
    """COPY the planned providers (none of which exist yet), their reviews (`reviews_of`
    gives each review's fields and rejection reason) and the moderation decision behind each
    decided review. Review ids are reserved from the sequence first, so the decisions can
    point at them. Returns (providers, reviews) written."""
    if not todo:
        return 0, 0
    empty_score = bayesian_score(rating_sum=0, review_count=0)
    stats = (0,) * 11 + ("{}", empty_score)
    with connection.cursor() as cursor:
        with cursor.copy(_copy_sql("reviews_provider", PROVIDER_COLUMNS)) as copy:
            for p in todo:
                f = p.fields
                copy.write_row(
                    (
                        *(f[c] for c in PROVIDER_COLUMNS[:8]),
                        p.slug,
                        category_ids[p.category["slug"]],
                        True,
                        False,
                        now,
                        now,
                        *stats,
                    )
                )
        cursor.execute(
            "SELECT slug, id FROM reviews_provider WHERE slug = ANY(%s)",
            [[p.slug for p in todo]],
        )
        provider_ids = dict(cursor.fetchall())
        total = sum(p.review_count for p in todo)
        if not total:
            return len(todo), 0
        next_id = _reserve_ids(cursor, "reviews_review", total)
        decisions = []
        review_type = ContentType.objects.get_for_model(Review).pk
        with cursor.copy(_copy_sql("reviews_review", REVIEW_COLUMNS)) as copy:
            for planned in todo:
                provider_id = provider_ids[planned.slug]
                for f, reason in reviews_of(planned):
                    copy.write_row(
                        (
                            next_id,
                            provider_id,
                            f["author_id"],
                            f["rating"],
                            f["title"],
                            f["body"],
                            f["visit_month"],
                            json.dumps(f["aspects"]) if f["aspects"] else "{}",
                            f["would_recommend"],
                            f["status"],
                            f["source"],
                            json.dumps(f["flags"]) if f["flags"] else "[]",
                            f["submitted_at"],
                            f["published_at"],
                            f["decided_at"],
                            now,
                            False,
                            0,
                            False,
                        )
                    )
                    if f["decided_at"]:
                        published = f["status"] == ReviewStatus.PUBLISHED
                        decision = Decision.APPROVE if published else Decision.REJECT
                        decisions.append((next_id, decision, reason, f["decided_at"]))
                    next_id += 1
        with cursor.copy(_copy_sql("reviews_moderationdecision", DECISION_COLUMNS)) as copy:
            for review_id, decision, reason, at in decisions:
                row = (
                    review_type,
                    review_id,
                    review_id,
                    moderator_id,
                    decision,
                    reason,
                    at,
                    "",
                )
                copy.write_row(row)
    return len(todo), total


def backdate_reviewers(*, domain: str) -> None:
    """Generated reviewers (emails ending in `domain`) joined before their first review, not
    after it: one pass over the reviews rather than a subquery per reviewer."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE accounts_user u
            SET date_joined = first.at - interval '2 days'
            FROM (SELECT author_id, min(submitted_at) AS at FROM reviews_review
                  GROUP BY author_id) first
            WHERE u.id = first.author_id AND u.email LIKE %s
              AND u.date_joined > first.at - interval '2 days'
            """,
            [f"%{domain}"],
        )


# --- index rebuilds -------------------------------------------------------------------------------
@contextmanager
def indexes_rebuilt_after(reviews: int, stdout, clock: Clock):
    """Around a load of `reviews` reviews into (nearly) empty tables, drop the loaded tables'
    secondary indexes and their unique, exclusion and foreign-key constraints, and build them
    again afterwards: one sorted build per index and one join per foreign key, instead of a
    million index insertions and trigger checks. Runs inside the load's transaction, so a
    failure rolls the drops back too."""
    if reviews < REBUILD_INDEXES_FROM:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reviews_review")
        if cursor.fetchone()[0] * 2 > reviews:
            yield
            return
        tables = {"tables": LOADED_TABLES, "keep_unique": KEEP_UNIQUE}
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
            FROM pg_constraint c
            WHERE c.conrelid = ANY(%(tables)s::regclass[])
              AND (c.contype IN ('f', 'x')
                   OR c.contype = 'u' AND c.conrelid <> ALL(%(keep_unique)s::regclass[]))
            ORDER BY c.contype DESC, c.conname
            """,
            tables,
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%(tables)s::regclass[]) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                              WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
            """,
            tables,
        )
        indexes = cursor.fetchall()
        # Deferred foreign-key checks of rows written earlier in this transaction must run
        # before their tables can be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        progress = Progress(stdout, "Indexes", len(indexes) + len(constraints))
        for name, definition in indexes:
            cursor.execute(definition)
            progress.advance(1, name)
        # Unique and exclusion constraints (listed last) before the foreign keys.
        for table, name, definition in reversed(constraints):
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            progress.advance(1, name)
        progress.finish()
    stdout.write(
        f"Rebuilt {len(indexes)} indexes and {len(constraints)} constraints in "
        f"{time.monotonic() - started:.1f} s."
    )
    clock.lap("indexes and constraints")


# --- the business side in bulk --------------------------------------------------------------------
BULK_ANSWERING = 20  # per cent of providers whose business answers reviews and complaints


def _reply_texts() -> dict[str, list[str]]:
    return {f"replies_{mood}": list(texts) for mood, texts in REPLIES.items()}


_BULK_REPLIES = """
INSERT INTO responses_reply (review_id, provider_id, responder_id, responder_name,
    responder_title, body, status, flags, created_at, submitted_at, published_at, decided_at,
    updated_at)
SELECT r.id, r.provider_id, NULL, 'The team', 'Customer care',
       CASE WHEN r.rating >= 4 THEN (%(replies_good)s::text[])[1 + h.v %% 4]
            WHEN r.rating <= 2 THEN (%(replies_bad)s::text[])[1 + h.v %% 2]
            ELSE (%(replies_mixed)s::text[])[1 + h.v %% 2] END,
       'published', '[]'::jsonb, t.submitted, t.submitted, t.decided, t.decided, t.decided
FROM reviews_review r
CROSS JOIN LATERAL (SELECT abs(hashtext('reply:' || r.id)) AS v) h
CROSS JOIN LATERAL (
    SELECT r.published_at + (2 + h.v %% 67) * interval '1 hour' AS submitted,
           r.published_at + (8 + h.v %% 67 + h.v %% 13) * interval '1 hour' AS decided
) t
WHERE r.status = 'published'
  AND abs(hashtext('answers:' || r.provider_id)) %% 100 < %(answering)s
  AND h.v %% 101 < CASE WHEN r.rating <= 2 THEN 90 ELSE 55 END
  AND t.decided < %(now)s
  AND NOT EXISTS (SELECT 1 FROM responses_reply x WHERE x.review_id = r.id)
"""

# A ticket for each published 1-2 star review of an answering provider, in a state that fits
# its age: answered within the two hours before an automatic acknowledgement, worked on, and
# (from 16 days) resolved and confirmed by the customer, all before its deadlines.
_BULK_TICKETS = """
INSERT INTO responses_ticket (provider_id, customer_id, review_id, source, subject, status,
    created_at, first_response_due, resolution_due, first_responded_at, resolved_at, closed_at,
    resolution_summary, confirmed_by_customer, put_right, change_made, updated_at)
SELECT r.provider_id, r.author_id, r.id, 'low_rating', left(r.title, 160), a.status,
       r.submitted_at, r.submitted_at + interval '48 hours', r.submitted_at + interval '14 days',
       CASE WHEN a.status <> 'new'
            THEN r.submitted_at + (10 + h.v %% 100) * interval '1 minute' END,
       CASE WHEN a.status IN ('resolved', 'closed') THEN a.resolved END,
       CASE WHEN a.status = 'closed' THEN a.resolved + (1 + h.v %% 3) * interval '1 day' END,
       CASE WHEN a.status IN ('resolved', 'closed')
            THEN 'We apologised, explained what went wrong and changed how we handle this.'
            ELSE '' END,
       a.status = 'closed', '', '', %(now)s
FROM reviews_review r
CROSS JOIN LATERAL (SELECT abs(hashtext('ticket:' || r.id)) AS v) h
CROSS JOIN LATERAL (
    SELECT CASE WHEN %(now)s - r.submitted_at < interval '2 hours' THEN 'new'
                WHEN %(now)s - r.submitted_at < interval '14 days' THEN 'in_progress'
                WHEN %(now)s - r.submitted_at < interval '16 days' THEN 'resolved'
                ELSE 'closed' END AS status,
           r.submitted_at + (2 + h.v %% 11) * interval '1 day' AS resolved
) a
WHERE r.status = 'published' AND r.rating <= 2 AND r.author_id IS NOT NULL
  AND abs(hashtext('answers:' || r.provider_id)) %% 100 < %(answering)s
  AND NOT EXISTS (SELECT 1 FROM responses_ticket x WHERE x.review_id = r.id)
"""

# Their histories: opened by the customer, work started, a resolution proposed, confirmed.
_BULK_TICKET_EVENTS = """
INSERT INTO responses_ticketevent (ticket_id, actor_id, actor_role, kind, from_status,
    to_status, body, internal, subject, created_at)
SELECT t.id, e.actor, e.role, e.kind, e.frm, e.too, e.body, false, '', e.at
FROM responses_ticket t
JOIN reviews_review r ON r.id = t.review_id
CROSS JOIN LATERAL (VALUES
    (t.customer_id, 'customer', 'opened', '', 'new', r.body, t.created_at),
    (NULL, 'member', 'status', 'new', 'in_progress', '', t.first_responded_at),
    (NULL, 'member', 'status', 'in_progress', 'resolved', t.resolution_summary, t.resolved_at),
    (t.customer_id, 'customer', 'status', 'resolved', 'closed', '', t.closed_at)
) AS e(actor, role, kind, frm, too, body, at)
WHERE e.at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM responses_ticketevent x WHERE x.ticket_id = t.id)
"""


# The business accounts of the answering providers: an owner each, and a responder too where
# the business is big enough to have a team. Nobody signs in as them (their password is
# unusable); `make explain` and the benchmarks sign in without one.
BUSINESS_DOMAIN = "business.example.net"
TEAM_FROM_REVIEWS = 20  # providers with at least this many published reviews have a responder
MEMBERSHIP_COLUMNS = ["provider_id", "user_id", "role", "job_title", "created_at"]
_BUSINESS_PROVIDERS = """
SELECT p.id, p.slug, p.name, p.review_count >= %(team_from)s
FROM reviews_provider p
WHERE abs(hashtext('answers:' || p.id)) %% 100 < %(answering)s
  AND NOT EXISTS (SELECT 1 FROM responses_membership m WHERE m.provider_id = p.id)
  AND NOT EXISTS (SELECT 1 FROM accounts_user u
                  WHERE u.email = 'owner.' || p.slug || %(domain)s)
ORDER BY p.id
"""


def _business_members(*, now: dt.datetime) -> tuple[int, int]:
    """An owner (and for the bigger businesses a responder) for each answering provider that
    has no team yet: users and their verified addresses, memberships, and the listing marked
    claimed, as staff approving the owner's claim would. User ids are reserved from the
    sequence first, so the memberships can point at them. Returns (owners, responders)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _BUSINESS_PROVIDERS,
            {
                "team_from": TEAM_FROM_REVIEWS,
                "answering": BULK_ANSWERING,
                "domain": "@" + BUSINESS_DOMAIN,
            },
        )
        providers = cursor.fetchall()
        if not providers:
            return 0, 0
        people = []  # (provider id, email, display name, role, job title, joined)
        for provider_id, slug, name, has_team in providers:
            people.append(
                (
                    provider_id,
                    f"owner.{slug}@{BUSINESS_DOMAIN}",
                    f"Owner, {name}"[:50],
                    "owner",
                    "Owner",
                    now - dt.timedelta(days=730),
                )
            )
            if has_team:
                people.append(
                    (
                        provider_id,
                        f"team.{slug}@{BUSINESS_DOMAIN}",
                        f"Customer care, {name}"[:50],
                        "responder",
                        "Customer care",
                        now - dt.timedelta(days=365),
                    )
                )
        first = _reserve_ids(cursor, "accounts_user", len(people))
        unusable = make_password(None)
        with cursor.copy(_copy_sql("accounts_user", USER_COLUMNS)) as copy:
            for pk, (_p, email, name, _role, _title, joined) in enumerate(people, start=first):
                copy.write_row((pk, email, name, unusable, joined, False, False, True))
        columns = ["user_id", "email", "verified", "primary"]
        with cursor.copy(_copy_sql("account_emailaddress", columns)) as copy:
            for pk, (_p, email, *_rest) in enumerate(people, start=first):
                copy.write_row((pk, email, True, True))
        with cursor.copy(_copy_sql("responses_membership", MEMBERSHIP_COLUMNS)) as copy:
            for pk, (provider_id, _email, _name, role, title, joined) in enumerate(
                people, start=first
            ):
                copy.write_row((provider_id, pk, role, title, joined))
        cursor.execute(
            "UPDATE reviews_provider SET is_claimed = true, updated_at = %s "
            "WHERE id = ANY(%s) AND NOT is_claimed",
            [now, [row[0] for row in providers]],
        )
    return len(providers), len(people) - len(providers)


def bulk_business(*, now: dt.datetime, stdout) -> None:
    """Replies, complaint tickets and the business accounts behind them for a share of the
    providers, written in SQL and COPY: the business story told through the services would
    take hours at this scale. Idempotent: reviews that already have a reply or a ticket, and
    providers that already have a team, are left alone."""
    with connection.cursor() as cursor:
        cursor.execute(_BULK_REPLIES, {"now": now, "answering": BULK_ANSWERING, **_reply_texts()})
        replies = cursor.rowcount
        cursor.execute(_BULK_TICKETS, {"now": now, "answering": BULK_ANSWERING})
        tickets = cursor.rowcount
        cursor.execute(_BULK_TICKET_EVENTS, {"now": now})
    owners, responders = _business_members(now=now)
    stdout.write(
        f"Business activity: {replies:,} published replies and {tickets:,} complaint "
        f"tickets for {BULK_ANSWERING}% of providers; {owners:,} owners and {responders:,} "
        "responders."
    )


# --- after the load's transaction -----------------------------------------------------------------
def vacuum_analyze(stdout) -> None:
    """VACUUM (ANALYZE) the tables a big load filled, after its transaction has committed:
    the planner's statistics, and the visibility map set on every page, so that index-only
    scans (the sitemap's count of active providers, for one) work from the first request
    rather than after autovacuum's first pass, and the rows the load updated in place (the
    providers' figures, the reviewers' join dates) are cleared away now rather than under
    traffic. VACUUM cannot run inside a transaction: when the command is called inside one
    (a test's), the tables are only analysed."""
    in_transaction = connection.in_atomic_block
    progress = Progress(stdout, "Analyze" if in_transaction else "Vacuum", len(VACUUMED_TABLES))
    with connection.cursor() as cursor:
        for table in VACUUMED_TABLES:
            if in_transaction:
                cursor.execute(f"ANALYZE {table}")
            else:
                if table in REWRITTEN_TABLES:
                    # FULL rewrites the table but leaves its visibility map empty: the plain
                    # VACUUM after it sets that.
                    cursor.execute(f"VACUUM (FULL) {table}")
                cursor.execute(f"VACUUM (ANALYZE) {table}")
            progress.advance(1, table)
    progress.finish()
