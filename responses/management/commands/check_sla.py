"""`manage.py check_sla`: the periodic deadline watch for complaint tickets (run it every minute
from cron or a systemd timer; see docs/tickets.md). All the work is `sla_check`; this only
reports what it did, in one line a log can keep."""

from django.core.management.base import BaseCommand

from responses.services.tickets import sla_check

# In the order things happen to a ticket; a step the service adds later still gets reported,
# under its own key, rather than silently dropped.
LABELS = {
    "holding": "holding",
    "reminders": "reminders",
    "first_response_breach": "first-response breaches",
    "resolution_breach": "resolution breaches",
    "escalated": "escalated",
    "closed": "auto-closed",
}


def summary(done: dict[str, int]) -> str:
    """e.g. "holding 2, first-response breaches 1, resolution breaches 0, escalated 0, …"."""
    keys = [*(k for k in LABELS if k in done), *(k for k in done if k not in LABELS)]
    return ", ".join(f"{LABELS.get(k, k.replace('_', ' '))} {done[k]}" for k in keys)


class Command(BaseCommand):
    help = (
        "Record missed complaint deadlines, send holding acknowledgements, escalate late first "
        "responses and close unanswered resolutions. Idempotent: safe to run every minute."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--quiet", action="store_true", help="Print nothing (errors still fail the command)."
        )

    def handle(self, *args, **options):
        done = sla_check()
        if not options["quiet"] and options["verbosity"] > 0:
            self.stdout.write(summary(done))
