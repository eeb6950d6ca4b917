"""`manage.py tasks_requeue_stale`: put tasks whose worker died back on the queue, and prune old
email delivery records and finished task results. Run it every minute beside `db_worker`
(heard-requeue.timer; see README "Background work" and docs/deploy.md). All the work is
`portal.taskqueue.tasks_requeue_stale`; this prints a line per task and a summary."""

import datetime as dt
from argparse import ArgumentTypeError

from django.core.management.base import BaseCommand

from portal.taskqueue import MAX_RUNS, tasks_requeue_stale


def seconds(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ArgumentTypeError("must be at least 1 second")
    return number


class Command(BaseCommand):
    help = (
        "Put tasks RUNNING for longer than --older-than seconds (their worker was killed) back "
        f"to READY so a worker runs them again; give up a task after {MAX_RUNS} lost workers; "
        "prune email delivery records older than EMAIL_DELIVERY_KEEP_DAYS and finished task "
        "results older than TASK_RESULTS_KEEP_DAYS. Safe to run every minute, from several "
        "machines at once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=seconds,
            default=300,
            metavar="SECONDS",
            help="A task running this long has lost its worker (default: 300; tasks here take "
            "seconds).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be done; change nothing."
        )

    def handle(self, *args, older_than, dry_run, verbosity, **options):
        done = tasks_requeue_stale(older_than=dt.timedelta(seconds=older_than), dry_run=dry_run)
        if verbosity < 1:
            return
        would = "would be " if dry_run else ""
        for verb, tasks in (("requeued", done.requeued), ("given up", done.given_up)):
            for t in tasks:
                self.stdout.write(
                    f"{t.id} {t.task_path}: {would}{verb} (started {t.started_at.isoformat()}, "
                    f"runs {t.runs})"
                )
        self.stdout.write(
            f"{'dry run: ' if dry_run else ''}requeued {len(done.requeued)}, "
            f"given up {len(done.given_up)}, email deliveries pruned {done.deliveries_pruned}, "
            f"task results pruned {done.results_pruned}"
        )
