"""Staff analytics on the admin index: decisions and median turnaround per local day,
decisions by reason and the rejection rate by star rating — equal to a count done by hand,
shown only to moderators, at a constant number of queries, and computed at most every few
minutes (the shared cache), while the queues above them stay live."""

import datetime as dt
import statistics
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from portal.admin_site import ANALYTICS_CACHE_SECONDS, staff_analytics
from responses.models import Reply, ReplyRevision
from reviews.models import ModerationDecision, RejectionReason, Report, Review, ReviewRevision
from tests.factories import (
    ModeratorFactory,
    ProviderClaimFactory,
    ProviderFactory,
    ReviewFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
# Late on a Saturday in April 2025: the 30-day window (7 March – 5 April) holds the clock
# change of 30 March, a 23-hour local day.
NOW = dt.datetime(2025, 4, 5, 23, 59, 59, tzinfo=LONDON)
TODAY = NOW.date()

# What each kind of decision is about, and which way it can go.
KINDS = {
    "review": "approve",
    "removal": "remove",
    "revision": "reject",
    "report": "dismiss",
    "claim": "approve",
    "reply": "approve",
    "reply_edit": "approve",
}
# Kinds whose item has a clear time it entered the queue (replies keep their first
# submission when sent again; a removal is not the end of a wait).
MEASURED = {"review", "revision", "report", "claim", "reply_edit"}

decisions = st.lists(
    st.fixed_dictionaries(
        {
            # days before today; 30 and 31 fall before the window
            "days_ago": st.integers(min_value=0, max_value=31),
            "second": st.integers(min_value=0, max_value=86_399),
            "kind": st.sampled_from(sorted(KINDS)),
            # seconds from the item's submission to the decision; negative: sent again since
            "wait": st.integers(min_value=-6 * 3600, max_value=5 * 86_400),
            "reason": st.sampled_from(["", "", *RejectionReason.values]),
        }
    ),
    max_size=24,
)


def _target(kind: str, *, provider, start: dt.datetime, traveller):
    """The decided item, entered in its queue at `start`; and the review it concerns."""
    if kind in ("review", "removal"):
        review = ReviewFactory(provider=provider, submitted_at=start)
        return review, review
    review = ReviewFactory(provider=provider, submitted_at=start - dt.timedelta(days=60))
    if kind == "revision":
        revision = ReviewRevision.objects.create(
            review=review,
            rating=2,
            title="Edited",
            body="Edited text",
            visit_month=review.visit_month,
            status="rejected",
            submitted_at=start,
        )
        return revision, review
    if kind == "report":
        traveller.move_to(start)
        return Report.objects.create(review=review, reason="spam", status="dismissed"), review
    if kind == "claim":
        traveller.move_to(start)
        return ProviderClaimFactory(provider=provider, status="approved"), None
    reply = Reply.objects.create(
        review=review,
        provider=provider,
        responder_name="Pat Practice",
        body="Thank you.",
        status="published",
        submitted_at=start,
    )
    if kind == "reply":
        return reply, review
    edit = ReplyRevision.objects.create(
        reply=reply, body="Thank you again.", status="approved", submitted_at=start
    )
    return edit, review


def _decide(kind: str, *, at: dt.datetime, wait: int, reason: str, provider, moderator, traveller):
    target, review = _target(
        kind, provider=provider, start=at - dt.timedelta(seconds=wait), traveller=traveller
    )
    traveller.move_to(at)
    ModerationDecision.objects.create(
        content_type=ContentType.objects.get_for_model(target),
        object_id=target.pk,
        review=review,
        moderator=moderator,
        decision=KINDS[kind],
        reason=reason,
    )


def _local(days_ago: int, second: int) -> dt.datetime:
    day = TODAY - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time.min, tzinfo=LONDON) + dt.timedelta(seconds=second)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=decisions)
@example(rows=[])
@example(  # both sides of the clock change's local midnight, and a resubmitted review
    rows=[
        {"days_ago": 6, "second": 0, "kind": "review", "wait": 3600, "reason": ""},
        {"days_ago": 7, "second": 86_399, "kind": "report", "wait": 7200, "reason": "other"},
        {"days_ago": 6, "second": 50, "kind": "review", "wait": -60, "reason": "offensive"},
    ]
)
def test_figures_equal_a_count_by_hand(moderator, rows):
    with transaction.atomic(), time_machine.travel(NOW, tick=False) as traveller:
        provider = ProviderFactory()
        made = []
        for row in rows:
            at = _local(row["days_ago"], row["second"]).astimezone(dt.UTC)
            _decide(
                row["kind"],
                at=at,
                wait=row["wait"],
                reason=row["reason"],
                provider=provider,
                moderator=moderator,
                traveller=traveller,
            )
            made.append({**row, "date": at.astimezone(LONDON).date()})
        traveller.move_to(NOW)

        figures = staff_analytics()
        transaction.set_rollback(True)

    window = [TODAY - dt.timedelta(days=n) for n in range(29, -1, -1)]
    inside = [row for row in made if row["date"] in window]
    expected_days = []
    for date in window:
        that_day = [row for row in inside if row["date"] == date]
        waits = [
            dt.timedelta(seconds=row["wait"])
            for row in that_day
            if row["kind"] in MEASURED and row["wait"] >= 0
        ]
        median = statistics.median(waits) if waits else None
        expected_days.append(
            {
                "date": date,
                "decisions": len(that_day),
                "median_hours": None if median is None else round(median.total_seconds() / 3600, 1),
            }
        )
    labels = dict(RejectionReason.choices)
    by_reason = Counter(row["reason"] for row in inside if row["reason"])
    expected_reasons = sorted(
        (
            {"code": code, "label": str(labels[code]), "count": count}
            for code, count in by_reason.items()
        ),
        key=lambda r: (-r["count"], r["label"]),
    )

    assert figures["days"] == expected_days
    assert figures["reasons"] == expected_reasons
    assert figures["total"] == len(inside)


@pytest.fixture
def decided_today(moderator):
    """Three decisions today (two for offensive content), one two days ago."""
    with time_machine.travel(NOW, tick=False) as traveller:
        provider = ProviderFactory()
        for kind, hours_ago, wait_hours, reason in [
            ("review", 1, 2, ""),
            ("review", 2, 1, "offensive"),
            ("revision", 3, 3, "offensive"),
            ("report", 50, 4, "other"),
        ]:
            _decide(
                kind,
                at=NOW - dt.timedelta(hours=hours_ago),
                wait=wait_hours * 3600,
                reason=reason,
                provider=provider,
                moderator=moderator,
                traveller=traveller,
            )
        traveller.move_to(NOW)
        yield


def test_moderators_see_the_charts_and_the_reasons(client, moderator, decided_today):
    client.force_login(moderator)
    response = client.get("/admin/")
    body = response.content.decode()

    assert response.status_code == 200
    assert '<svg class="chart__svg chart--bars"' in body
    assert '<svg class="chart__svg chart--line"' in body
    assert "4 decisions in 30 days; the busiest day was 5 April with 3." in body
    # the table equivalents: today's count, today's median turnaround, a day with nothing
    assert '<tr><th scope="row">5 Apr</th><td>3</td></tr>' in body
    assert '<tr><th scope="row">5 Apr</th><td>2.0</td></tr>' in body
    assert '<tr><th scope="row">3 Apr</th><td>1</td></tr>' in body
    assert '<tr><th scope="row">4 Apr</th><td>0</td></tr>' in body
    assert '<tr><th scope="row">4 Apr</th><td>–</td></tr>' in body
    assert '<th scope="row">Offensive or abusive</th><td>2</td>' in body
    assert '<th scope="row">Other</th><td>1</td>' in body
    assert body.index("Offensive or abusive") < body.index('<th scope="row">Other</th>')
    # the existing figures stay
    assert "Moderation queues" in body
    assert "Rejection rate by star rating" in body


def test_staff_without_the_permission_see_no_figures(client, decided_today):
    client.force_login(StaffFactory())
    response = client.get("/admin/")
    body = response.content.decode()

    assert response.status_code == 200
    assert "chart__svg" not in body
    assert "Decisions by reason" not in body
    assert "Moderation queues" not in body


def test_the_admin_index_runs_the_same_queries_for_few_or_many_decisions(
    client, moderator, django_assert_max_num_queries
):
    client.force_login(moderator)
    provider = ProviderFactory()

    def make(n):
        with time_machine.travel(NOW, tick=False) as traveller:
            for i in range(n):
                _decide(
                    sorted(KINDS)[i % len(KINDS)],
                    at=NOW - dt.timedelta(hours=7 * i),
                    wait=3600 * (i % 5),
                    reason=RejectionReason.values[i % len(RejectionReason.values)],
                    provider=provider,
                    moderator=moderator,
                    traveller=traveller,
                )

    make(3)
    with time_machine.travel(NOW, tick=False):
        client.get("/admin/")  # warm the content-type cache
        with django_assert_max_num_queries(30) as few:
            assert client.get("/admin/").status_code == 200
    make(60)
    with time_machine.travel(NOW, tick=False):
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert client.get("/admin/").status_code == 200


def test_analytics_take_two_queries_on_postgresql_three_elsewhere(
    moderator, django_assert_num_queries
):
    with time_machine.travel(NOW, tick=False) as traveller:
        provider = ProviderFactory()
        for i in range(12):
            _decide(
                "review",
                at=NOW - dt.timedelta(hours=9 * i),
                wait=600 * i,
                reason="",
                provider=provider,
                moderator=moderator,
                traveller=traveller,
            )
        traveller.move_to(NOW)
        staff_analytics()  # warm the content-type cache
        with django_assert_num_queries(2 if connection.vendor == "postgresql" else 3):
            figures = staff_analytics()
    assert figures["total"] == 12


# --- the rejection rate by star rating -----------------------------------------------------------
def _review_decision(review, decision, *, moderator, reason=""):
    ModerationDecision.objects.create(
        content_type=ContentType.objects.get_for_model(Review),
        object_id=review.pk,
        review=review,
        moderator=moderator,
        decision=decision,
        reason=reason,
    )


def test_rejection_rates_count_review_decisions_by_star_rating_in_the_window(moderator):
    with time_machine.travel(NOW, tick=False) as traveller:
        provider = ProviderFactory()
        traveller.move_to(NOW - dt.timedelta(days=31))  # before the window: left out
        _review_decision(
            ReviewFactory(provider=provider, rating=5),
            "reject",
            moderator=moderator,
            reason="other",
        )
        traveller.move_to(NOW - dt.timedelta(days=2))
        for rating, decision in [(5, "approve"), (5, "approve"), (5, "reject"), (1, "reject")]:
            review = ReviewFactory(provider=provider, rating=rating)
            _review_decision(review, decision, moderator=moderator, reason="other")
        # Neither a removal nor a decision on an edit is a verdict on a submitted review.
        removed = ReviewFactory(provider=provider, rating=1)
        _review_decision(removed, "remove", moderator=moderator, reason="offensive")
        _decide(
            "revision",
            at=NOW - dt.timedelta(days=1),
            wait=60,
            reason="offensive",
            provider=provider,
            moderator=moderator,
            traveller=traveller,
        )
        traveller.move_to(NOW)
        figures = staff_analytics()

    assert figures["rejection_rates"] == [
        {"stars": 5, "total": 3, "rejected": 1, "rate": 33},
        {"stars": 4, "total": 0, "rejected": 0, "rate": None},
        {"stars": 3, "total": 0, "rejected": 0, "rate": None},
        {"stars": 2, "total": 0, "rejected": 0, "rate": None},
        {"stars": 1, "total": 1, "rejected": 1, "rate": 100},
    ]


# --- cached for a few minutes, the queues live -----------------------------------------------
MIDDAY = dt.datetime(2025, 4, 5, 14, 0, tzinfo=LONDON)
WAITING = 'href="/admin/reviews/pendingreview/">Reviews waiting</a></th>'


def _analytics_queries(queries) -> list[str]:
    """The analytics' grouped queries over the decision log (today's count is not grouped)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if '"reviews_moderationdecision"' in q["sql"] and "GROUP BY" in q["sql"]
    ]


def test_the_figures_come_from_the_cache_until_they_are_a_few_minutes_old(client, moderator):
    client.force_login(moderator)
    with time_machine.travel(MIDDAY, tick=False) as traveller:
        provider = ProviderFactory()
        for hours_ago in (3, 2):
            _decide(
                "review",
                at=MIDDAY - dt.timedelta(hours=hours_ago),
                wait=3600,
                reason="",
                provider=provider,
                moderator=moderator,
                traveller=traveller,
            )
        traveller.move_to(MIDDAY)
        with CaptureQueriesContext(connection) as first:
            body = client.get("/admin/").content.decode()
        assert _analytics_queries(first)
        assert "figures as of 14:00" in body
        assert "2 decisions in 30 days" in body
        assert "Decisions today: <strong>2</strong>" in body
        assert f"{WAITING}<td>2</td>" in body

        # Meanwhile a moderator decides, and another review arrives.
        traveller.move_to(MIDDAY + dt.timedelta(minutes=1))
        ReviewFactory(provider=provider)
        _review_decision(ReviewFactory(provider=provider), "approve", moderator=ModeratorFactory())
        traveller.move_to(MIDDAY + dt.timedelta(seconds=ANALYTICS_CACHE_SECONDS - 1))
        with CaptureQueriesContext(connection) as second:
            body = client.get("/admin/").content.decode()
        assert _analytics_queries(second) == []
        assert "figures as of 14:00" in body
        assert "2 decisions in 30 days" in body  # the statistics wait…
        assert "Decisions today: <strong>3</strong>" in body  # …what is current does not
        assert f"{WAITING}<td>4</td>" in body

        traveller.move_to(MIDDAY + dt.timedelta(seconds=ANALYTICS_CACHE_SECONDS + 1))
        with CaptureQueriesContext(connection) as third:
            body = client.get("/admin/").content.decode()
        assert _analytics_queries(third)
        assert "figures as of 14:05" in body
        assert "3 decisions in 30 days" in body


def test_a_new_day_starts_with_fresh_figures(client, moderator):
    client.force_login(moderator)
    late = dt.datetime(2025, 4, 5, 23, 58, tzinfo=LONDON)
    with time_machine.travel(late, tick=False) as traveller:
        client.get("/admin/")
        traveller.move_to(late + dt.timedelta(minutes=3))  # 00:01 on 6 April
        with CaptureQueriesContext(connection) as queries:
            body = client.get("/admin/").content.decode()
    assert _analytics_queries(queries)
    assert "figures as of 00:01" in body
