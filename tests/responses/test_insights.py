"""The business analytics and the responsiveness score, checked against a count by hand: random
reviews, replies, complaints, flags and reports over some 30 months are written to the
database, and every figure `provider_analytics` and `responsiveness_for` return must equal
the same figure worked out in plain Python from the generated lists, month by month in
Europe/London time. Plus worked examples at the month boundaries and for the score."""

import datetime as dt
import statistics
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from portal.stats import median_duration_by
from responses.insights import (
    Analytics,
    Responsiveness,
    provider_analytics,
    provider_responsiveness,
    responsiveness_for,
)
from responses.models import PutRight, Reply, Ticket
from reviews.checks import Flag
from reviews.models import Report, ReportReason, Review, ReviewSource
from tests.factories import (
    CategoryFactory,
    ProviderFactory,
    ReviewFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
# Fixed clocks: the middle of a summer-time month; 00:30 on 1 April local time (23:30 UTC on
# 31 March, still March in UTC); the last minute of January, in winter time.
NOWS = [
    dt.datetime(2026, 4, 15, 11, 0, tzinfo=UTC),
    dt.datetime(2026, 3, 31, 23, 30, tzinfo=UTC),
    dt.datetime(2026, 1, 31, 23, 59, tzinfo=UTC),
]
MAX_REVIEWS = 30
FLAG_CODES = [*Flag.LABELS, "retired_check"]  # a code no longer in the labels is shown as is
# The brief's 25 examples per property, tolerant of the database work each one does.
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- months, independently of responses.insights --------------------------------------------
def month_of(value: dt.datetime) -> dt.date:
    return timezone.localtime(value).date().replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    year, index = divmod(month.year * 12 + month.month - 1 + n, 12)
    return dt.date(year, index + 1, 1)


def local_midnight(day: dt.date) -> dt.datetime:
    """The start of a local day, as a UTC instant (arithmetic on it is then real time)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=LONDON).astimezone(UTC)


def month_list(now: dt.datetime, count: int) -> list[dt.date]:
    return [add_months(month_of(now), -n) for n in range(count - 1, -1, -1)]


# --- what is generated: plain records, written to the database and counted by hand ---------
@dataclass
class R:
    provider: int
    rating: int
    source: str
    status: str
    submitted_at: dt.datetime
    published_at: dt.datetime | None
    flags: list
    reply_status: str | None = None
    reply_submitted_at: dt.datetime | None = None
    reports: list = field(default_factory=list)  # [(reason, created_at)]


@dataclass
class T:
    provider: int
    status: str
    created_at: dt.datetime
    first_response_due: dt.datetime
    resolution_due: dt.datetime
    first_responded_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    escalated_at: dt.datetime | None = None
    confirmed_by_customer: bool = False
    put_right: str = ""


@dataclass
class World:
    now: dt.datetime
    months: int
    reviews: list
    tickets: list


@st.composite
def instants(draw, now):
    """A moment in one of the 30 local months up to `now`, often within three hours of the
    month's first or last minute (where a UTC month and a London month disagree)."""
    # half of them in the last three months, so that months hold several items
    back = draw(st.one_of(st.integers(0, 29), st.integers(0, 2)))
    month = add_months(month_of(now), -back)
    start, end = local_midnight(month), local_midnight(add_months(month, 1))
    where = draw(st.sampled_from(["start", "end", "anywhere"]))
    if where == "start":
        moment = start + dt.timedelta(seconds=draw(st.integers(0, 3 * 3600)))
    elif where == "end":
        moment = end - dt.timedelta(seconds=draw(st.integers(1, 3 * 3600)))
    else:
        span = int((end - start).total_seconds())
        moment = start + dt.timedelta(seconds=draw(st.integers(0, span - 1)))
    return min(moment, now - dt.timedelta(minutes=1))


# Mostly the first provider; the second is counted with it in the "all your businesses" case,
# the third never.
PROVIDER = st.sampled_from([0, 0, 0, 0, 1, 1, 2])
seconds_up_to = lambda days: st.integers(0, days * 86_400)  # noqa: E731


@st.composite
def reviews(draw, now):
    status = draw(st.sampled_from(["published"] * 4 + ["pending", "removed", "withdrawn"]))
    when = draw(instants(now))
    if status == "pending":
        submitted, published = when, None
    else:
        submitted, published = when - dt.timedelta(seconds=draw(seconds_up_to(3))), when
    review = R(
        provider=draw(PROVIDER),
        rating=draw(st.integers(1, 5)),
        source=draw(st.sampled_from(ReviewSource.values)),
        status=status,
        submitted_at=submitted,
        published_at=published,
        flags=draw(st.lists(st.sampled_from(FLAG_CODES), max_size=3)),
    )
    if published is not None and draw(st.sampled_from([True, True, False])):
        review.reply_status = draw(
            st.sampled_from(["published"] * 4 + ["pending", "rejected", "draft", "withdrawn"])
        )
        if review.reply_status != "draft":
            delay = dt.timedelta(seconds=draw(st.one_of(seconds_up_to(2), seconds_up_to(12))))
            review.reply_submitted_at = min(published + delay, now)
    review.reports = [
        (reason, min(max(moment, submitted), now))
        for reason, moment in draw(
            st.lists(st.tuples(st.sampled_from(ReportReason.values), instants(now)), max_size=2)
        )
    ]
    return review


# How a complaint went: the statuses it passed through record these moments, in this order.
PATHS = {
    "new": ("new", []),
    "acknowledged": ("acknowledged", ["first"]),
    "awaiting": ("awaiting_customer", ["first"]),
    "resolved": ("resolved", ["first", "resolved"]),
    "rejected": ("in_progress", ["first", "resolved"]),
    "confirmed": ("closed", ["first", "resolved", "closed_confirmed"]),
    "auto_closed": ("closed", ["first", "resolved", "closed"]),
    "escalated": ("escalated", ["escalated"]),
    "returned": ("in_progress", ["escalated", "first"]),
    "escalated_closed": ("closed", ["escalated", "closed"]),
    "escalated_late": ("escalated", ["first", "resolved", "escalated"]),
}


@st.composite
def tickets(draw, now):
    created = draw(instants(now))
    status, steps = PATHS[draw(st.sampled_from(sorted(PATHS)))]
    ticket = T(
        provider=draw(PROVIDER),
        status=status,
        created_at=created,
        first_response_due=created + draw(st.sampled_from([24, 48, 72])) * HOUR,
        resolution_due=created + draw(st.sampled_from([7, 14, 21])) * DAY,
    )
    moment = created
    for step in steps:
        delay = draw(st.one_of(seconds_up_to(3), seconds_up_to(25)))
        moment = min(moment + dt.timedelta(seconds=delay), now)
        if step == "first":
            ticket.first_responded_at = moment
        elif step == "resolved":
            ticket.resolved_at = moment
        elif step == "escalated":
            ticket.escalated_at = moment
        else:
            ticket.closed_at = moment
            ticket.confirmed_by_customer = step == "closed_confirmed"
    if status == "closed":
        ticket.put_right = draw(st.sampled_from(["", *PutRight.values]))
    return ticket


@st.composite
def worlds(draw):
    now = draw(st.sampled_from(NOWS))
    n_reviews, n_tickets = draw(st.integers(0, MAX_REVIEWS)), draw(st.integers(0, 15))
    return World(
        now=now,
        months=draw(st.sampled_from([1, 12, 24, 24])),
        reviews=draw(st.lists(reviews(now), min_size=n_reviews, max_size=n_reviews)),
        tickets=draw(st.lists(tickets(now), min_size=n_tickets, max_size=n_tickets)),
    )


# --- writing it down -------------------------------------------------------------------------
@pytest.fixture
def people():
    return {
        "category": CategoryFactory(),
        # one author per review: PostgreSQL allows one live review per author and provider a
        # year (an exclusion constraint)
        "authors": User.objects.bulk_create(
            User(email=f"author{n}@example.com", display_name=f"Author {n}")
            for n in range(MAX_REVIEWS)
        ),
        "customer": UserFactory(),
    }


def store(world: World, people) -> list:
    """Four fresh providers (the fourth has nothing) holding the world's rows; one bulk insert
    per table, so each example costs a handful of queries."""
    providers = [ProviderFactory(category=people["category"]) for _ in range(4)]
    rows = [
        ReviewFactory.build(
            provider=providers[r.provider],
            author=author,
            rating=r.rating,
            source=r.source,
            status=r.status,
            submitted_at=r.submitted_at,
            published_at=r.published_at,
            flags=r.flags,
        )
        for r, author in zip(world.reviews, people["authors"][: len(world.reviews)], strict=True)
    ]
    Review.objects.bulk_create(rows)
    Reply.objects.bulk_create(
        Reply(
            review=row,
            provider=row.provider,
            responder_name="Pat Practice",
            body="Thank you for telling us.",
            status=r.reply_status,
            submitted_at=r.reply_submitted_at,
            published_at=r.reply_submitted_at if r.reply_status == "published" else None,
        )
        for r, row in zip(world.reviews, rows, strict=True)
        if r.reply_status
    )
    reports = [
        (Report(review=row, reason=reason), created)
        for r, row in zip(world.reviews, rows, strict=True)
        for reason, created in r.reports
    ]
    Report.objects.bulk_create(report for report, _ in reports)
    for report, created in reports:  # created_at is auto_now_add: set it afterwards
        report.created_at = created
    Report.objects.bulk_update([report for report, _ in reports], ["created_at"])
    Ticket.objects.bulk_create(
        TicketFactory.build(
            provider=providers[t.provider],
            customer=people["customer"],
            **{f.name: getattr(t, f.name) for f in fields(T) if f.name != "provider"},
        )
        for t in world.tickets
    )
    return providers


# --- counting by hand ------------------------------------------------------------------------
def median_hours(deltas: list[dt.timedelta]) -> float | None:
    if not deltas:
        return None
    seconds = statistics.median(sorted(d.total_seconds() for d in deltas))
    return round(max(seconds, 0) / 3600, 1)


def percent(part, whole):
    return round(100 * part / whole, 1) if whole else None


def expected_analytics(world: World, ids: set[int]) -> dict:
    now, months = world.now, month_list(world.now, world.months)
    inside = set(months)

    def per_month(items, when):
        counts = Counter(
            month_of(when(x)) for x in items if when(x) and month_of(when(x)) in inside
        )
        return [counts[m] for m in months]

    published = [
        r
        for r in world.reviews
        if r.provider in ids and r.status == "published" and month_of(r.published_at) in inside
    ]
    by_month = {m: [r for r in published if month_of(r.published_at) == m] for m in months}
    answered = {m: [r for r in by_month[m] if r.reply_status == "published"] for m in months}
    opened = {
        m: [t for t in world.tickets if t.provider in ids and month_of(t.created_at) == m]
        for m in months
    }
    ours = [t for t in world.tickets if t.provider in ids]

    def first_on_time(items):
        due = [t for t in items if t.first_responded_at or t.first_response_due <= now]
        ok = [
            t for t in due if t.first_responded_at and t.first_responded_at <= t.first_response_due
        ]
        return percent(len(ok), len(due))

    def resolution_on_time(items):
        due = [t for t in items if t.resolved_at or t.resolution_due <= now]
        ok = [t for t in due if t.resolved_at and t.resolved_at <= t.resolution_due]
        return percent(len(ok), len(due))

    sources = {}
    for source, label in ReviewSource.choices:
        ratings = [r.rating for r in published if r.source == source]
        sources[source] = {
            "label": label,
            "count": len(ratings),
            "average": round(sum(ratings) / len(ratings), 2) if ratings else None,
        }
    flagged = Counter(
        code
        for r in world.reviews
        if r.provider in ids and month_of(r.submitted_at) in inside
        for code in set(r.flags)
    )
    reasons = Counter(
        reason
        for r in world.reviews
        if r.provider in ids
        for reason, created in r.reports
        if month_of(created) in inside
    )
    labels = dict(ReportReason.choices)
    return {
        "months": months,
        "reviews": [len(by_month[m]) for m in months],
        "average": [
            round(sum(r.rating for r in by_month[m]) / len(by_month[m]), 2) if by_month[m] else None
            for m in months
        ],
        "by_stars": {
            stars: [sum(r.rating == stars for r in by_month[m]) for m in months]
            for stars in range(1, 6)
        },
        "reply_rate": [percent(len(answered[m]), len(by_month[m])) for m in months],
        "median_reply_hours": [
            median_hours(
                [r.reply_submitted_at - r.published_at for r in answered[m] if r.reply_submitted_at]
            )
            for m in months
        ],
        "opened": [len(opened[m]) for m in months],
        "resolved": per_month(ours, lambda t: t.resolved_at),
        "confirmed": per_month(
            [t for t in ours if t.status == "closed" and t.confirmed_by_customer],
            lambda t: t.closed_at,
        ),
        "escalated": per_month(ours, lambda t: t.escalated_at),
        "first_response_on_time": [first_on_time(opened[m]) for m in months],
        "resolution_on_time": [resolution_on_time(opened[m]) for m in months],
        "put_right": {
            answer: sum(t.put_right == answer for m in months for t in opened[m])
            for answer in ("yes", "partly", "no")
        },
        "sources": sources,
        "flags": [
            (Flag.LABELS.get(code, code), n)
            for code, n in sorted(flagged.items(), key=lambda item: (-item[1], item[0]))
        ],
        "report_reasons": [
            (str(labels[reason]), n)
            for reason, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        ],
    }


def assert_analytics(got: Analytics, expected: dict):
    got_fields = {f.name for f in fields(Analytics)}
    assert got_fields == set(expected)  # a new figure needs a count by hand here too
    for name, value in expected.items():
        actual = getattr(got, name)
        if name in ("flags", "report_reasons"):
            actual = [(str(label), n) for label, n in actual]
        if name == "sources":
            actual = {k: {**v, "label": str(v["label"])} for k, v in actual.items()}
            value = {k: {**v, "label": str(v["label"])} for k, v in value.items()}
        assert actual == value, name


WEIGHTS = {"reply_rate": 0.30, "speed": 0.20, "confirmed": 0.25, "put_right": 0.25}


def expected_responsiveness(world: World, ids: set[int]) -> dict | None:
    """The figures and score as the reviews-policy page describes them; None when the
    providers had nothing at all in the last 365 days."""
    now = world.now
    since = now - 365 * DAY
    published = [
        r
        for r in world.reviews
        if r.provider in ids and r.status == "published" and r.published_at >= since
    ]
    replied = [r for r in published if r.reply_status == "published"]
    recent = [t for t in world.tickets if t.provider in ids and t.created_at >= since]
    if not published and not recent:
        return None
    hours = median_hours(
        [r.reply_submitted_at - r.published_at for r in replied if r.reply_submitted_at]
    )
    due = [t for t in recent if t.resolved_at or t.resolution_due <= now]
    confirmed = [t for t in recent if t.status == "closed" and t.confirmed_by_customer]
    answers = {a: sum(t.put_right == a for t in recent) for a in ("yes", "partly", "no")}
    parts = {}
    if published:
        parts["reply_rate"] = len(replied) / len(published)
    if hours is not None:
        parts["speed"] = min(1.0, max(0.0, (168 - hours) / (168 - 24)))
    if due:
        parts["confirmed"] = len(confirmed) / len(due)
    if sum(answers.values()):
        parts["put_right"] = (answers["yes"] + 0.5 * answers["partly"]) / sum(answers.values())
    score = None
    if len(replied) + len(recent) >= 5 and parts:
        total = sum(WEIGHTS[name] * value for name, value in parts.items())
        score = round(100 * total / sum(WEIGHTS[name] for name in parts))
    band = (
        "Not enough data yet"
        if score is None
        else "Very responsive"
        if score >= 80
        else "Responsive"
        if score >= 60
        else "Sometimes responds"
        if score >= 40
        else "Rarely responds"
    )
    return {
        "reviews": len(published),
        "replies": len(replied),
        "median_reply_hours": hours,
        "tickets": len(recent),
        "tickets_due": len(due),
        "confirmed": len(confirmed),
        "answers": answers,
        "enough_data": len(replied) + len(recent) >= 5,
        "score": score,
        "band": band,
        "reply_rate": round(100 * len(replied) / len(published)) if published else None,
        "confirmed_rate": round(100 * len(confirmed) / len(due)) if due else None,
    }


def assert_responsiveness(got: Responsiveness, expected: dict):
    for name, value in expected.items():
        assert getattr(got, name) == value, name


@contextmanager
def each_example_rolled_back():
    """Each example's rows go when it ends (and a database error stays with its example)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- the properties --------------------------------------------------------------------------
@PROPERTY
@given(world=worlds())
def test_analytics_equal_a_count_by_hand_for_one_provider_and_for_two_together(world, people):
    with each_example_rolled_back():
        check_analytics(world, people)


def check_analytics(world, people):
    providers = store(world, people)
    for chosen in ({0}, {0, 1}):
        got = provider_analytics(
            provider_ids=[providers[i].pk for i in sorted(chosen)],
            months=world.months,
            now=world.now,
        )
        assert_analytics(got, expected_analytics(world, chosen))
    # Nothing of anyone else's is counted for the provider with no data of its own.
    empty = provider_analytics(provider_ids=[providers[3].pk], months=world.months, now=world.now)
    assert_analytics(empty, expected_analytics(world, set()))


@PROPERTY
@given(world=worlds())
def test_responsiveness_equals_a_count_by_hand(world, people):
    with each_example_rolled_back():
        check_responsiveness(world, people)


def check_responsiveness(world, people):
    providers = store(world, people)
    pks = [p.pk for p in providers]
    got = responsiveness_for(provider_ids=pks, now=world.now)
    for i, pk in enumerate(pks):
        expected = expected_responsiveness(world, {i})
        if expected is None:
            assert pk not in got
            expected = {
                "reviews": 0,
                "replies": 0,
                "median_reply_hours": None,
                "tickets": 0,
                "tickets_due": 0,
                "confirmed": 0,
                "answers": {"yes": 0, "partly": 0, "no": 0},
                "score": None,
                "band": "Not enough data yet",
            }
        else:
            assert_responsiveness(got[pk], expected)
        # The provider page's own call gives the same, data or not.
        assert_responsiveness(provider_responsiveness(providers[i], now=world.now), expected)
    # Without a list, every provider with activity is scored the same way.
    everyone = responsiveness_for(now=world.now)
    for pk in pks:
        if pk in got:
            assert everyone[pk] == got[pk]
        else:
            assert pk not in everyone


# --- worked examples -------------------------------------------------------------------------
def _utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def _world(now, months, reviews=(), tickets=()):
    return World(now=now, months=months, reviews=list(reviews), tickets=list(tickets))


def _review(at, *, provider=0, rating=4, reply_after=None, **kwargs):
    kwargs.setdefault("flags", [])
    kwargs.setdefault("reports", [])
    review = R(
        provider=provider,
        rating=rating,
        source=kwargs.pop("source", "organic"),
        status=kwargs.pop("status", "published"),
        submitted_at=kwargs.pop("submitted_at", at),
        published_at=at,
        **kwargs,
    )
    if reply_after is not None:
        review.reply_status, review.reply_submitted_at = "published", at + reply_after
    return review


def _ticket(created, *, provider=0, status="new", **kwargs):
    kwargs.setdefault("first_response_due", created + 48 * HOUR)
    kwargs.setdefault("resolution_due", created + 14 * DAY)
    return T(provider=provider, status=status, created_at=created, **kwargs)


def test_summer_time_month_boundaries(people):
    """British Summer Time began on Sunday 29 March 2026: from then, a London month starts at
    23:00 UTC on the last day of the month before."""
    now = _utc(2026, 4, 15, 11)
    world = _world(
        now,
        2,
        reviews=[
            _review(_utc(2026, 2, 28, 23, 59, 59), rating=1),  # 28 Feb (GMT): before the window
            _review(_utc(2026, 3, 1, 0, 0), rating=2),  # 1 March 00:00 GMT: the first second
            _review(_utc(2026, 3, 31, 22, 59, 59), rating=3, reply_after=HOUR),  # 23:59:59 BST
            _review(_utc(2026, 3, 31, 23, 0), rating=4, reply_after=HOUR),  # 1 April 00:00 BST
            _review(
                _utc(2026, 3, 31, 23, 30),
                rating=5,
                flags=[Flag.LINK],
                submitted_at=_utc(2026, 3, 31, 22, 30),  # submitted in March, published April
                reports=[("spam", _utc(2026, 3, 31, 23, 30)), ("other", _utc(2026, 2, 28, 23))],
            ),
        ],
        tickets=[
            _ticket(
                _utc(2026, 3, 31, 23, 30),
                status="escalated",
                escalated_at=_utc(2026, 4, 1, 0, 0),
                resolved_at=_utc(2026, 3, 31, 23, 45),
            ),
            _ticket(
                _utc(2026, 3, 31, 22, 30),
                status="escalated",
                escalated_at=_utc(2026, 3, 31, 22, 45),
            ),
        ],
    )
    provider_pk = store(world, people)[0].pk
    got = provider_analytics(provider_ids=[provider_pk], months=2, now=now)
    assert got.months == [dt.date(2026, 3, 1), dt.date(2026, 4, 1)]
    assert got.reviews == [2, 2]
    assert got.average == [2.5, 4.5]
    assert got.by_stars == {1: [0, 0], 2: [1, 0], 3: [1, 0], 4: [0, 1], 5: [0, 1]}
    assert got.reply_rate == [50.0, 50.0]
    assert got.median_reply_hours == [1.0, 1.0]
    assert got.opened == [1, 1]
    assert got.resolved == [0, 1]
    assert got.escalated == [1, 1]
    assert got.flags == [("Contains a link", 1)]
    assert [(str(label), n) for label, n in got.report_reasons] == [
        ("It is spam or advertising", 1)
    ]
    assert_analytics(got, expected_analytics(world, {0}))
    # With one month only, the review published at 23:59:59 BST on 31 March is outside.
    april = provider_analytics(provider_ids=[provider_pk], months=1, now=now)
    assert april.reviews == [2]
    assert april.flags == []  # its review was submitted in March


def test_winter_time_month_boundaries(people):
    """Summer time ended on Sunday 26 October 2025: the last evening of October is GMT, while
    the last evening of September was still BST."""
    now = _utc(2025, 11, 15, 12)
    world = _world(
        now,
        2,
        reviews=[
            _review(_utc(2025, 9, 30, 22, 59), rating=1),  # 23:59 BST 30 September: outside
            _review(_utc(2025, 9, 30, 23, 30), rating=2),  # 00:30 BST 1 October
            _review(_utc(2025, 10, 31, 23, 59, 59), rating=3),  # still 31 October (GMT)
            _review(_utc(2025, 11, 1, 0, 0), rating=5),  # 1 November
        ],
        tickets=[_ticket(_utc(2025, 9, 30, 23, 30)), _ticket(_utc(2025, 11, 1))],
    )
    provider_pk = store(world, people)[0].pk
    got = provider_analytics(provider_ids=[provider_pk], months=2, now=now)
    assert got.months == [dt.date(2025, 10, 1), dt.date(2025, 11, 1)]
    assert got.reviews == [2, 1]
    assert got.average == [2.5, 5.0]
    assert got.opened == [1, 1]
    assert_analytics(got, expected_analytics(world, {0}))


def test_now_in_the_first_hour_of_a_summer_month_is_already_that_month():
    got = provider_analytics(provider_ids=[], months=3, now=_utc(2026, 3, 31, 23, 30))
    assert got.months == [dt.date(2026, 2, 1), dt.date(2026, 3, 1), dt.date(2026, 4, 1)]


def test_the_responsiveness_year_is_365_days_to_the_second(people):
    now = _utc(2026, 4, 15, 11)
    since = now - 365 * DAY
    world = _world(
        now,
        1,
        reviews=[
            _review(since, reply_after=HOUR),
            _review(since - dt.timedelta(seconds=1), reply_after=HOUR),
        ],
        tickets=[_ticket(since), _ticket(since - dt.timedelta(seconds=1))],
    )
    providers = store(world, people)
    got = provider_responsiveness(providers[0], now=now)
    assert (got.reviews, got.replies, got.tickets) == (1, 1, 1)
    assert_responsiveness(got, expected_responsiveness(world, {0}))


def test_a_provider_with_exactly_one_review(people):
    now = _utc(2026, 4, 15, 11)
    world = _world(now, 24, reviews=[_review(_utc(2025, 12, 24, 9), rating=3, source="invited")])
    providers = store(world, people)
    got = provider_analytics(provider_ids=[providers[0].pk], months=24, now=now)
    december = got.months.index(dt.date(2025, 12, 1))
    assert got.total_reviews == 1
    assert got.reviews[december] == 1
    assert got.average[december] == 3.0
    assert got.reply_rate[december] == 0.0
    assert got.average.count(None) == 23
    assert got.median_reply_hours == [None] * 24
    assert got.sources["invited"]["count"] == 1
    assert got.sources["invited"]["average"] == 3.0
    assert (got.sources["organic"]["count"], got.sources["organic"]["average"]) == (0, None)
    assert_analytics(got, expected_analytics(world, {0}))
    score = provider_responsiveness(providers[0], now=now)
    assert (score.reviews, score.replies, score.reply_rate) == (1, 0, 0)
    assert score.score is None
    assert score.band == "Not enough data yet"


def test_a_provider_with_nothing_at_all(people):
    now = _utc(2026, 4, 15, 11)
    providers = store(_world(now, 12), people)
    got = provider_analytics(provider_ids=[providers[0].pk], months=12, now=now)
    assert got.reviews == got.opened == got.resolved == got.confirmed == got.escalated == [0] * 12
    assert got.average == got.reply_rate == got.median_reply_hours == [None] * 12
    assert got.first_response_on_time == got.resolution_on_time == [None] * 12
    assert got.put_right == {"yes": 0, "partly": 0, "no": 0}
    assert {k: (v["count"], v["average"]) for k, v in got.sources.items()} == {
        "organic": (0, None),
        "invited": (0, None),
    }
    assert got.flags == got.report_reasons == []
    assert responsiveness_for(provider_ids=[providers[0].pk], now=now) == {}
    score = provider_responsiveness(providers[0], now=now)
    assert (score.reviews, score.replies, score.tickets, score.median_reply_hours) == (
        0,
        0,
        0,
        None,
    )
    assert (score.score, score.band, score.reply_rate, score.confirmed_rate) == (
        None,
        "Not enough data yet",
        None,
        None,
    )


def _scored(people, *, replies, unanswered=0, tickets=()):
    """A provider's score from reviews answered after the given delays and these tickets."""
    now = _utc(2026, 4, 15, 11)
    at = now - 30 * DAY
    world = _world(
        now,
        1,
        reviews=[_review(at, reply_after=delay) for delay in replies]
        + [_review(at) for _ in range(unanswered)],
        tickets=[_ticket(now - 20 * DAY, **t) for t in tickets],
    )
    providers = store(world, people)
    got = provider_responsiveness(providers[0], now=now)
    assert_responsiveness(got, expected_responsiveness(world, {0}))
    return got


def test_score_worked_example_with_every_part(people):
    resolved = {"resolved_at": _utc(2026, 3, 27, 11), "first_responded_at": _utc(2026, 3, 27)}
    closed = {**resolved, "status": "closed", "closed_at": _utc(2026, 3, 30)}
    got = _scored(
        people,
        replies=[24 * HOUR] * 8,  # 8 of 10 reviews answered (0.8), within a day (speed 1)
        unanswered=2,
        tickets=[
            {**closed, "confirmed_by_customer": True, "put_right": "yes"},
            {**closed, "confirmed_by_customer": True, "put_right": "partly"},
            {**resolved, "status": "resolved"},
            {"status": "in_progress", "first_responded_at": _utc(2026, 3, 27)},  # past due
        ],
    )
    # 0.3 × 0.8 + 0.2 × 1 + 0.25 × 2/4 confirmed + 0.25 × (1 + ½)/2 put right = 0.7525
    assert (got.reply_rate, got.median_reply_hours, got.tickets_due, got.confirmed) == (
        80,
        24.0,
        4,
        2,
    )
    assert got.score == 75
    assert got.band == "Responsive"


def test_score_parts_without_data_are_left_out(people):
    # Every review answered (1) after four days (speed (168 - 96) / 144 = 0.5), no complaints:
    # (0.3 × 1 + 0.2 × 0.5) / (0.3 + 0.2) = 0.8
    got = _scored(people, replies=[96 * HOUR] * 5)
    assert got.parts == {"reply_rate": 1.0, "speed": 0.5}
    assert got.score == 80
    assert got.band == "Very responsive"


@pytest.mark.parametrize(
    ("hours", "speed"), [(0.5, 1.0), (24, 1.0), (96, 0.5), (168, 0.0), (500, 0.0)]
)
def test_reply_speed_part(hours, speed):
    item = Responsiveness(reviews=10, replies=10, median_reply_hours=hours)
    assert item.parts["speed"] == speed


def test_the_score_needs_five_replies_and_complaints_together(people):
    four = _scored(people, replies=[HOUR] * 4)
    assert not four.enough_data
    assert four.score is None
    assert four.band == "Not enough data yet"
    # and a complaint that is not yet due: no part of its own, but it counts towards the five
    five = _scored(people, replies=[HOUR] * 4, tickets=[{"resolution_due": _utc(2026, 5, 1)}])
    assert five.enough_data
    assert five.score == 100
    slow = _scored(people, replies=[200 * HOUR], unanswered=4, tickets=[{}] * 4)
    # one reply in five (0.2), slow (0); four complaints past their deadline, none confirmed
    assert slow.score == round(100 * (0.3 * 0.2) / (0.3 + 0.2 + 0.25))
    assert slow.band == "Rarely responds"


@pytest.mark.parametrize(
    ("replied", "band"),
    [
        (100, "Very responsive"),
        (80, "Very responsive"),
        (79, "Responsive"),
        (60, "Responsive"),
        (59, "Sometimes responds"),
        (40, "Sometimes responds"),
        (39, "Rarely responds"),
        (5, "Rarely responds"),
    ],
)
def test_bands(replied, band):
    # With the reply rate as the only part, the score is the percentage answered.
    item = Responsiveness(reviews=100, replies=replied)
    assert item.score == replied
    assert item.band == band
    assert item.as_dict()["band"] == band


def test_analytics_and_the_score_run_a_fixed_number_of_queries(people, django_assert_num_queries):
    now = _utc(2026, 4, 15, 11)
    empty = store(_world(now, 24), people)
    with django_assert_num_queries(5):
        provider_analytics(provider_ids=[empty[0].pk], months=24, now=now)
    with django_assert_num_queries(3):
        responsiveness_for(provider_ids=[empty[0].pk], now=now)
    moments = [now - n * 11 * DAY for n in range(1, 30)]
    world = _world(
        now,
        24,
        reviews=[
            _review(at, provider=n % 3, reply_after=n * HOUR, flags=[Flag.PHONE])
            for n, at in enumerate(moments)
        ],
        tickets=[_ticket(at, provider=n % 3, resolved_at=at + DAY) for n, at in enumerate(moments)],
    )
    for r in world.reviews:
        r.reports = [("spam", r.published_at), ("offensive", r.published_at)]
    full = store(world, people)
    ids = [p.pk for p in full]
    with django_assert_num_queries(5):
        many = provider_analytics(provider_ids=ids, months=24, now=now)
    assert many.total_reviews > 20
    with django_assert_num_queries(3):
        responsiveness_for(provider_ids=ids, now=now)


def test_median_duration_by_groups_and_leaves_out_groups_without_values(people):
    now = _utc(2026, 4, 15, 11)
    at = now - 10 * DAY
    world = _world(
        now,
        1,
        reviews=[
            _review(at, provider=0, reply_after=HOUR),
            _review(at, provider=0, reply_after=3 * HOUR),  # even count: halfway, 2 hours
            _review(at, provider=1, reply_after=HOUR),
            _review(at, provider=1, reply_after=2 * HOUR),
            _review(at, provider=1, reply_after=10 * HOUR),  # odd count: the middle one
            _review(at, provider=2),  # no reply: no group
        ],
    )
    providers = store(world, people)
    medians = median_duration_by(
        Review.objects.filter(provider__in=providers, reply__isnull=False),
        "provider_id",
        F("reply__submitted_at") - F("published_at"),
    )
    assert medians == {providers[0].pk: 2 * HOUR, providers[1].pk: 2 * HOUR}
