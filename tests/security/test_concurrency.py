"""What happens when requests really do arrive at once, on PostgreSQL (SQLite serialises every
writer, so nothing here could fail there): one review from ten identical submissions, every
helpful vote counted, one moderation decision, a rolled-back submission that leaves nothing
behind and sends nothing, and a dropped database connection that the next request survives.

Already covered elsewhere, and not repeated here:
- two submissions through one invitation link: tests/responses/test_invitations.py
  (test_two_submissions_through_one_link_make_one_invited_review);
- two members moving the same ticket: tests/responses/test_tickets.py
  (test_two_members_moving_the_same_ticket_at_once_one_wins);
- two overlapping SLA watches: tests/responses/test_sla.py
  (test_two_watches_running_at_once_record_each_thing_once);
- two owners leaving at once: tests/responses/test_team.py;
- the database's own one-live-review rule: tests/reviews/test_services.py
  (test_the_database_refuses_a_second_live_review and the tests after it).
"""

import threading
from io import BytesIO

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections

from responses.models import Ticket, TicketEvent
from reviews.models import (
    Decision,
    HelpfulVote,
    ModerationDecision,
    RejectionReason,
    Review,
    ReviewStatus,
)
from reviews.services import DUPLICATE_REVIEW_MESSAGE, review_moderate, review_vote_helpful
from reviews.services import review_submit as real_review_submit
from tests.factories import (
    MembershipFactory,
    ModeratorFactory,
    ProviderFactory,
    ReviewFactory,
    UserFactory,
    publish,
    this_month,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BODY = "The receptionist was kind and the appointment started exactly on time."


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL: SQLite has no row locks")


def run_at_once(target, args_list, *, timeout=60):
    """Run target(*args) in one thread per entry, released together by a barrier; each thread
    has its own database connection and closes it. Returns the outcomes (value or exception)."""
    barrier = threading.Barrier(len(args_list))
    outcomes = [None] * len(args_list)

    def run(index, args):
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = target(*args)
        except Exception as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, args)) for i, args in enumerate(args_list)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return outcomes


def _submit(author, provider, rating=4):
    return real_review_submit(
        author=author,
        provider=provider,
        rating=rating,
        title="On time",
        body=BODY,
        visit_month=this_month(),
    )


def test_ten_identical_submissions_at_once_make_one_review():
    provider = ProviderFactory()
    author = UserFactory()
    outcomes = run_at_once(_submit, [(author, provider)] * 10)
    made = [o for o in outcomes if isinstance(o, Review)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(made) == 1, outcomes
    assert len(refused) == 9, outcomes
    assert {str(DUPLICATE_REVIEW_MESSAGE)} == {e.messages[0] for e in refused}
    assert Review.objects.filter(author=author, provider=provider).count() == 1


def test_ten_identical_complaints_at_once_open_one_ticket():
    """A 1-star review opens a ticket in the same transaction: the losers leave no ticket."""
    provider = ProviderFactory()
    author = UserFactory()
    outcomes = run_at_once(lambda: _submit(author, provider, rating=1), [()] * 10)
    assert sum(isinstance(o, Review) for o in outcomes) == 1, outcomes
    assert Review.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert TicketEvent.objects.count() == 1


def test_fifty_helpful_votes_at_once_are_all_counted():
    review = publish(ReviewFactory())
    voters = UserFactory.create_batch(50)
    outcomes = run_at_once(
        lambda user: review_vote_helpful(review=review, user=user), [(v,) for v in voters]
    )
    assert all(isinstance(o, Review) for o in outcomes), outcomes
    review.refresh_from_db()
    assert review.helpful_count == 50
    assert HelpfulVote.objects.filter(review=review).count() == 50


def test_the_same_voter_fifty_times_at_once_counts_once():
    review = publish(ReviewFactory())
    voter = UserFactory()
    outcomes = run_at_once(lambda: review_vote_helpful(review=review, user=voter), [()] * 50)
    assert all(isinstance(o, Review) for o in outcomes), outcomes
    review.refresh_from_db()
    assert review.helpful_count == 1
    assert HelpfulVote.objects.filter(review=review).count() == 1


@pytest.mark.parametrize("attempt", range(3))
def test_two_moderators_deciding_one_review_at_once_record_one_decision(attempt):
    review = ReviewFactory()
    provider = review.provider
    moderators = [ModeratorFactory(), ModeratorFactory()]
    choices = [
        (moderators[0], Decision.APPROVE, ""),
        (moderators[1], Decision.REJECT, RejectionReason.values[0]),
    ]
    if attempt % 2:
        choices.reverse()
    mail.outbox.clear()

    def decide(moderator, decision, reason):
        return review_moderate(review=review, moderator=moderator, decision=decision, reason=reason)

    outcomes = run_at_once(decide, choices)
    won = [o for o in outcomes if isinstance(o, Review)]
    lost = [o for o in outcomes if isinstance(o, ValidationError)]
    assert (len(won), len(lost)) == (1, 1), outcomes
    assert lost[0].messages == ["This review has already been decided."]
    decisions = ModerationDecision.objects.filter(review=review)
    assert decisions.count() == 1
    review.refresh_from_db()
    provider.refresh_from_db()
    (decision,) = decisions
    # The status, the record and the provider's figures all tell the same story.
    if decision.decision == Decision.APPROVE:
        assert review.status == ReviewStatus.PUBLISHED
        assert provider.review_count == 1
    else:
        assert review.status == ReviewStatus.REJECTED
        assert provider.review_count == 0
    assert len(mail.outbox) == 1  # the author hears once, about the decision that stands


# --- a failure after the insert --------------------------------------------------------------
def test_a_failure_after_the_insert_stores_nothing_and_sends_nothing(monkeypatch):
    """The complaint's ticket and its email to the owner are queued inside review_submit's
    transaction; when something after them fails, the review, the ticket and the email all
    go. A control run without the failure shows the email would otherwise be sent."""
    from responses.services import tickets

    provider = ProviderFactory()
    MembershipFactory(provider=provider, role="owner")
    author = UserFactory()
    real_notify = tickets._notify

    def notify_then_fail(*args, **kwargs):
        real_notify(*args, **kwargs)  # queues the owner's email on commit
        assert Review.objects.filter(author=author).exists()  # the insert has happened
        raise RuntimeError("the database went away after the insert")

    monkeypatch.setattr(tickets, "_notify", notify_then_fail)
    mail.outbox.clear()
    with pytest.raises(RuntimeError):
        _submit(author, provider, rating=1)
    assert Review.objects.count() == 0
    assert Ticket.objects.count() == 0
    assert TicketEvent.objects.count() == 0
    assert mail.outbox == []

    monkeypatch.setattr(tickets, "_notify", real_notify)
    _submit(author, provider, rating=1)
    assert Review.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_failure_in_the_stats_after_publishing_keeps_the_review_pending(monkeypatch):
    from reviews.services import moderation

    review = ReviewFactory()
    mail.outbox.clear()

    def fail(**kwargs):
        raise RuntimeError("stats update failed")

    monkeypatch.setattr(moderation, "provider_stats_apply", fail)
    with pytest.raises(RuntimeError):
        review_moderate(review=review, moderator=ModeratorFactory(), decision=Decision.APPROVE)
    review.refresh_from_db()
    assert review.status == ReviewStatus.PENDING
    assert ModerationDecision.objects.count() == 0
    assert mail.outbox == []


# --- a dropped database connection -----------------------------------------------------------
def _request(handler, path):
    """One request through Django's real WSGI handler, as gunicorn makes it: request_started
    and request_finished fire, so CONN_MAX_AGE and CONN_HEALTH_CHECKS apply. (The test client
    deliberately skips close_old_connections, which is where a dead connection is noticed.)"""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": BytesIO(),
        "wsgi.errors": BytesIO(),
    }
    status = {}

    def start_response(line, headers, exc_info=None):
        status["code"] = int(line.split()[0])

    response = handler(environ, start_response)
    body = b"".join(response)
    response.close()  # sends request_finished, as a WSGI server does
    return status["code"], body


def _kill_backend(pid):
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0] is True
    finally:
        other.close()


@pytest.mark.parametrize("path", ["/health/", "/providers/{slug}/"])
def test_the_next_request_survives_a_killed_database_connection(settings, path):
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    provider = ProviderFactory()
    path = path.format(slug=provider.slug)
    handler = WSGIHandler()
    assert _request(handler, path)[0] == 200
    # The persistent connection the request used is kept (CONN_MAX_AGE) ...
    assert connection.connection is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    # ... until the database server drops it (a restart, a failover, an idle timeout).
    _kill_backend(pid)
    status, body = _request(handler, path)
    assert status == 200, body[:500]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
