"""A worker killed in the middle of a task (issue #12): `manage.py tasks_requeue_stale` puts the
task back on the queue so a real `db_worker` runs it again (at least once), and the email
delivery record keeps an email that went from going twice (effectively once)."""

import datetime as dt
import logging
import threading
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from portal.emails import email_deliver, email_send
from portal.models import EmailDelivery
from portal.taskqueue import MAX_RUNS, WORKER_LOST, tasks_requeue_stale
from tests.workers import DB_TASKS, run_db_worker

pytestmark = pytest.mark.django_db
TEST_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _database_queue_and_locmem_mail(settings):
    settings.TASKS = DB_TASKS
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], TEST_TEMPLATES]}
    ]


def queue_email(capture, to="ann@example.com"):
    with capture(execute=True):
        email_send(template="test_message", to=[to], context={"name": "Ann"})


def claim_as_a_worker(worker_id="killed-worker", *, ago=10 * MINUTE) -> DBTaskResult:
    """What `db_worker` does before it runs a task (lock a ready one, mark it RUNNING with its
    id), `ago` in the past; the worker then dies, so nothing else happens to it."""
    with time_machine.travel(timezone.now() - ago, tick=False), exclusive_transaction():
        task = DBTaskResult.objects.ready().get_locked()
        task.claim(worker_id)
    return task


def requeue(*args) -> str:
    out = StringIO()
    call_command("tasks_requeue_stale", *args, stdout=out)
    return out.getvalue()


def status_of(task) -> str:
    return DBTaskResult.objects.get(pk=task.pk).status


def test_a_task_whose_worker_was_killed_is_run_again_and_sends_the_email_once(
    django_capture_on_commit_callbacks,
):
    queue_email(django_capture_on_commit_callbacks)
    task = claim_as_a_worker()
    run_db_worker()  # a live worker does not touch a task another worker claimed
    assert mail.outbox == [] and status_of(task) == "RUNNING"

    out = requeue()
    assert f"{task.pk} portal.emails.email_deliver: requeued" in out
    assert "requeued 1, given up 0" in out
    assert status_of(task) == "READY"

    run_db_worker(worker_id="second-worker")
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]
    assert mail.outbox[0].subject == "[Heard] Hello Ann"
    task = DBTaskResult.objects.get(pk=task.pk)
    assert task.status == "SUCCESSFUL"
    assert task.worker_ids == ["killed-worker", "second-worker"]
    delivery = EmailDelivery.objects.get()
    assert (delivery.to, delivery.status, delivery.attempts) == ("ann@example.com", "sent", 1)
    assert str(delivery.key) == task.args_kwargs["kwargs"]["key"]

    assert "requeued 0" in requeue()  # nothing left to do; running it again changes nothing
    run_db_worker()
    assert len(mail.outbox) == 1


def test_a_task_that_sent_before_its_worker_died_sends_nothing_when_run_again(
    django_capture_on_commit_callbacks, caplog
):
    queue_email(django_capture_on_commit_callbacks)
    task = claim_as_a_worker()
    # the dead worker ran the task to its end, but died before recording the task's result
    email_deliver.call(**task.args_kwargs["kwargs"])
    assert len(mail.outbox) == 1 and status_of(task) == "RUNNING"

    requeue()
    with caplog.at_level(logging.INFO, logger="heard.email"):
        run_db_worker()
    assert len(mail.outbox) == 1  # not sent a second time
    assert status_of(task) == "SUCCESSFUL"
    assert EmailDelivery.objects.get().attempts == 1
    assert any("email already sent" in r.getMessage() for r in caplog.records)


def test_a_worker_killed_between_sending_and_recording_sends_again(
    django_capture_on_commit_callbacks, caplog
):
    """The documented window: the record says the try began, not how it ended, so the email
    goes again (at least once) and the log says it may be a duplicate."""
    queue_email(django_capture_on_commit_callbacks)
    task = claim_as_a_worker()
    key = task.args_kwargs["kwargs"]["key"]
    EmailDelivery.objects.create(key=key, to="ann@example.com", subject="S", attempts=1)

    requeue()
    with caplog.at_level(logging.WARNING, logger="heard.email"):
        run_db_worker()
    assert len(mail.outbox) == 1
    # The same Message-ID as the interrupted try's: a mail system keeps one of the two.
    assert mail.outbox[0].message()["Message-ID"] == f"<{key}@heard.localhost>"
    delivery = EmailDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert any("interrupted, sending again" in r.getMessage() for r in caplog.records)


def test_a_task_running_for_less_than_the_threshold_is_left_alone(
    django_capture_on_commit_callbacks,
):
    queue_email(django_capture_on_commit_callbacks)
    task = claim_as_a_worker(ago=2 * MINUTE)
    assert "requeued 0, given up 0" in requeue()  # default: 300 seconds
    assert status_of(task) == "RUNNING"
    assert DBTaskResult.objects.get(pk=task.pk).started_at is not None

    assert "requeued 1" in requeue("--older-than", "60")
    assert status_of(task) == "READY"


def test_a_dry_run_changes_nothing(django_capture_on_commit_callbacks, settings):
    queue_email(django_capture_on_commit_callbacks)
    task = claim_as_a_worker()
    old = timezone.now() - dt.timedelta(days=settings.EMAIL_DELIVERY_KEEP_DAYS + 1)
    EmailDelivery.objects.create(key="0" * 32, to="x@example.com", subject="S", created_at=old)
    before = list(DBTaskResult.objects.values()), list(EmailDelivery.objects.values())

    out = requeue("--dry-run")
    assert f"{task.pk} portal.emails.email_deliver: would be requeued" in out
    assert "dry run: requeued 1, given up 0, email deliveries pruned 1" in out
    assert (list(DBTaskResult.objects.values()), list(EmailDelivery.objects.values())) == before


def test_a_task_whose_workers_keep_dying_is_given_up(django_capture_on_commit_callbacks):
    """A task that kills its worker every time is not put back every five minutes forever."""
    queue_email(django_capture_on_commit_callbacks, to="first@example.com")
    queue_email(django_capture_on_commit_callbacks, to="second@example.com")
    hopeless, hopeful = claim_as_a_worker(), claim_as_a_worker()
    for task, runs in ((hopeless, MAX_RUNS), (hopeful, MAX_RUNS - 1)):
        DBTaskResult.objects.filter(pk=task.pk).update(
            worker_ids=[f"dead-{n}" for n in range(runs)]
        )

    out = requeue()
    assert "requeued 1, given up 1" in out
    assert f"{hopeless.pk} portal.emails.email_deliver: given up" in out
    given_up = DBTaskResult.objects.get(pk=hopeless.pk)
    assert given_up.status == "FAILED" and given_up.finished_at is not None
    assert given_up.exception_class_path == WORKER_LOST
    assert status_of(hopeful) == "READY"
    run_db_worker()
    assert [m.to for m in mail.outbox] == [hopeful.args_kwargs["kwargs"]["to"]]


def test_old_delivery_records_are_pruned(settings):
    keep = dt.timedelta(days=settings.EMAIL_DELIVERY_KEEP_DAYS)
    for key, age in (("1" * 32, keep + MINUTE), ("2" * 32, keep - MINUTE)):
        EmailDelivery.objects.create(
            key=key, to="x@example.com", subject="S", created_at=timezone.now() - age
        )
    assert "email deliveries pruned 1" in requeue()
    assert [str(d.key).replace("-", "") for d in EmailDelivery.objects.all()] == ["2" * 32]


def test_old_finished_task_results_are_pruned(django_capture_on_commit_callbacks, settings):
    """One row per email would otherwise stay for ever; only SUCCESSFUL and FAILED results
    finished more than TASK_RESULTS_KEEP_DAYS ago go, never a queued or running task."""
    settings.TASK_RESULTS_KEEP_DAYS = 14
    keep = dt.timedelta(days=settings.TASK_RESULTS_KEEP_DAYS)
    for n in range(5):
        queue_email(django_capture_on_commit_callbacks, to=f"p{n}@example.com")
    old_ok, old_failed, recent_ok, old_ready, old_running = sorted(
        DBTaskResult.objects.all(), key=lambda task: task.args_kwargs["kwargs"]["to"]
    )
    long_ago = timezone.now() - keep - MINUTE
    finished = {
        old_ok: ("SUCCESSFUL", long_ago),
        old_failed: ("FAILED", long_ago),
        recent_ok: ("SUCCESSFUL", timezone.now() - keep + MINUTE),
    }
    for task, (status, at) in finished.items():
        DBTaskResult.objects.filter(pk=task.pk).update(status=status, started_at=at, finished_at=at)
    # Queued and running long ago, not finished: not the pruner's business (the running one
    # is requeued by the same run).
    DBTaskResult.objects.filter(pk=old_ready.pk).update(enqueued_at=long_ago)
    DBTaskResult.objects.filter(pk=old_running.pk).update(
        status="RUNNING", started_at=timezone.now() - 10 * MINUTE, worker_ids=["dead"]
    )

    assert "dry run: requeued 1, given up 0, email deliveries pruned 0, task results pruned 2" in (
        requeue("--dry-run")
    )
    assert DBTaskResult.objects.count() == 5

    out = requeue()
    assert "requeued 1, given up 0, email deliveries pruned 0, task results pruned 2" in out
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {
        recent_ok.pk,
        old_ready.pk,
        old_running.pk,
    }
    assert "task results pruned 0" in requeue()


def test_a_failed_send_is_retried_later_under_the_same_key(
    django_capture_on_commit_callbacks, settings
):
    """The queue's deferred retry (EMAIL_SEND_ATTEMPTS) carries the delivery key along."""
    settings.MAILERS = {"default": {"BACKEND": "tests.portal.test_emails.FlakyBackend"}}
    from tests.portal.test_emails import FlakyBackend

    FlakyBackend.failures_left = 1
    queue_email(django_capture_on_commit_callbacks)
    run_db_worker()
    assert mail.outbox == []
    [retry] = DBTaskResult.objects.filter(status="READY")
    assert retry.args_kwargs["kwargs"]["attempt"] == 2
    with time_machine.travel(timezone.now() + 5 * MINUTE):
        run_db_worker()
    assert len(mail.outbox) == 1
    delivery = EmailDelivery.objects.get()
    assert str(delivery.key) == retry.args_kwargs["kwargs"]["key"]
    assert (delivery.status, delivery.attempts) == ("sent", 2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requeue_runs_at_once_requeue_each_task_once(caplog):
    """Two machines' timers firing in the same second: each stale task is requeued by one of
    them, and logged once."""
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL: SQLite has no row locks")
    for n in range(12):
        email_deliver.enqueue(subject="S", body="B", html="", to=[f"{n}@example.com"])
    tasks = [claim_as_a_worker(f"dead-{n}") for n in range(12)]
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait(timeout=30)
            results.append(tasks_requeue_stale(older_than=5 * MINUTE))
        finally:
            connection.close()

    with caplog.at_level(logging.INFO, logger="heard.audit"):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert len(results) == 2
    requeued = [t.id for r in results for t in r.requeued]
    assert sorted(requeued) == sorted(str(t.pk) for t in tasks)  # each once, none twice
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"READY"}
    logged = [r for r in caplog.records if getattr(r, "event", None) == "task_requeued"]
    assert sorted(r.audit_fields["task_id"] for r in logged) == sorted(requeued)
