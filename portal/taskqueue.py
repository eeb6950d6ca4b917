"""Upkeep of the database task queue (django-tasks-db): tasks whose worker died are put back
on the queue, and old email delivery records and finished task results are pruned.
`manage.py tasks_requeue_stale` runs it every minute; docs/architecture.md ("Email") explains
the design."""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from portal.logs import audit
from portal.models import EmailDelivery

# A task whose worker died this many times is given up (FAILED) rather than put back again:
# a task that kills its worker (out of memory, say) must not do so every few minutes forever.
MAX_RUNS = 5
WORKER_LOST = "portal.taskqueue.WorkerLost"


@dataclass
class StaleTask:
    id: str
    task_path: str
    worker_ids: list[str]
    started_at: dt.datetime

    @property
    def runs(self) -> int:
        return len(self.worker_ids)


@dataclass
class Upkeep:
    requeued: list[StaleTask] = field(default_factory=list)
    given_up: list[StaleTask] = field(default_factory=list)
    deliveries_pruned: int = 0
    results_pruned: int = 0


def tasks_requeue_stale(
    *, older_than: dt.timedelta, dry_run: bool = False, now: dt.datetime | None = None
) -> Upkeep:
    """Put RUNNING tasks started before `now - older_than` back to READY, so a worker runs
    them again: their worker was killed (a task here takes seconds; SMTP times out after 20).

    The rows are locked with SKIP LOCKED and changed by one UPDATE that repeats the
    conditions, in one transaction (exclusive on SQLite, as the worker's own claim is): two
    runs at once, on two machines, each take a task or leave it to the other, never both,
    and a task a late worker finished meanwhile is left as it is. Idempotent."""
    now = now or timezone.now()
    stale = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=now - older_than
    )
    done = Upkeep()
    with exclusive_transaction(stale.db):
        locked = stale.order_by("started_at").select_for_update(skip_locked=True)
        found = [
            StaleTask(**{**row, "id": str(row["id"])})
            for row in locked.values("id", "task_path", "worker_ids", "started_at")
        ]
        done.requeued = [t for t in found if t.runs < MAX_RUNS]
        done.given_up = [t for t in found if t.runs >= MAX_RUNS]
        if not dry_run:
            _requeue(stale, done.requeued)
            _give_up(stale, done.given_up, now=now)
    done.deliveries_pruned = _prune_deliveries(now=now, dry_run=dry_run)
    done.results_pruned = _prune_results(now=now, dry_run=dry_run)
    return done


def _requeue(stale, tasks: list[StaleTask]) -> None:
    if not tasks:
        return
    # READY with no start, as when it was queued; run_after and enqueued_at stay, so it runs
    # at once and ahead of newer tasks; worker_ids keeps the dead worker for the record.
    stale.filter(pk__in=[t.id for t in tasks]).update(
        status=TaskResultStatus.READY, started_at=None
    )
    _audit_each("task_requeued", tasks)


def _give_up(stale, tasks: list[StaleTask], *, now: dt.datetime) -> None:
    if not tasks:
        return
    stale.filter(pk__in=[t.id for t in tasks]).update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path=WORKER_LOST,
        traceback=f"Its worker stopped while running it {MAX_RUNS} times; not run again.",
    )
    _audit_each("task_given_up", tasks)


def _audit_each(event: str, tasks: list[StaleTask]) -> None:
    for t in tasks:
        audit(
            event,
            actor="system",
            task_id=t.id,
            task=t.task_path,
            worker_id=t.worker_ids[-1] if t.worker_ids else None,
            started_at=t.started_at,
            runs=t.runs,
        )


def _prune(old, *, event: str, dry_run: bool) -> int:
    """Deletes the rows of `old` (only counts them in a dry run), and audits how many went."""
    if dry_run:
        return old.count()
    pruned = old.delete()[0]
    if pruned:
        audit(event, actor="system", count=pruned)
    return pruned


def _prune_deliveries(*, now: dt.datetime, dry_run: bool) -> int:
    keep = dt.timedelta(days=settings.EMAIL_DELIVERY_KEEP_DAYS)
    old = EmailDelivery.objects.filter(created_at__lt=now - keep)
    return _prune(old, event="email_deliveries_pruned", dry_run=dry_run)


def _prune_results(*, now: dt.datetime, dry_run: bool) -> int:
    """Finished task results (SUCCESSFUL or FAILED: one row per email, with its addresses and
    text in the arguments) finished more than TASK_RESULTS_KEEP_DAYS ago. READY and RUNNING
    tasks are never touched. As django-tasks-db's `prune_db_task_results`, for every queue and
    backend, every minute instead of now and then."""
    keep = dt.timedelta(days=settings.TASK_RESULTS_KEEP_DAYS)
    old = DBTaskResult.objects.finished().filter(finished_at__lt=now - keep)
    return _prune(old, event="task_results_pruned", dry_run=dry_run)
