"""Running the real database task worker inside a test."""

from io import StringIO
from unittest import mock

from django.core.management import call_command

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def run_db_worker(*, worker_id: str = "test-worker") -> str:
    """`manage.py db_worker --batch`: run every task that is ready, then return its output.

    The worker checks its connection between tasks (close_old_connections), which inside a
    test's transaction would drop the connection and the test's data with it; Django's test
    client turns the same check off around requests for the same reason."""
    out = StringIO()
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command(
            "db_worker",
            batch=True,
            interval=0,
            startup_delay=False,
            reload=False,
            worker_id=worker_id,
            stdout=out,
        )
    return out.getvalue()
