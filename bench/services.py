"""Latency of two writes with the benchmark's million reviews present: `review_submit` (to the
busiest provider, where the duplicate and burst checks have the most rows to look at) and
`ticket_transition`. Each call runs in a transaction that is rolled back, so the data stays as
seeded and nothing is emailed. Run by bench/run.py with its environment."""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from responses.models import Membership, Role, Ticket, TicketStatus  # noqa: E402
from responses.services.tickets import ticket_transition  # noqa: E402
from reviews.models import Provider  # noqa: E402
from reviews.services import review_submit  # noqa: E402

N = int(os.environ.get("BENCH_SERVICE_CALLS", "200"))
BODY = (
    "We were seen on time, the staff explained everything clearly and the follow-up call came "
    "the next day as promised."
)
RATINGS = [5, 4, 1, 5, 2, 3, 5, 4]  # a share of 1-2 star reviews, which also open a ticket


class Rollback(Exception):
    pass


def timed(setup, call) -> list[float]:
    times = []
    for i in range(N):
        try:
            with transaction.atomic():
                args = setup(i)
                started = time.perf_counter()
                call(*args)
                times.append((time.perf_counter() - started) * 1000)
                raise Rollback
        except Rollback:
            pass
    return times


def report(name: str, times: list[float]) -> None:
    if not times:
        print(f"  {name:<20} no calls (nothing to measure)")
        return
    q = statistics.quantiles(times, n=100)
    print(
        f"  {name:<20} n={len(times):<4} p50 {q[49]:7.2f} ms   p95 {q[94]:7.2f} ms   "
        f"max {max(times):7.2f} ms"
    )


def main() -> None:
    provider = Provider.objects.order_by("-review_count", "pk").first()
    authors = list(
        User.objects.filter(email__endswith="@reviewers.example.net")
        .exclude(reviews__provider=provider)
        .order_by("pk")[:N]
    )
    month = timezone.localdate().replace(day=1)

    def submit(i):
        return (authors[i % len(authors)], RATINGS[i % len(RATINGS)])

    def call_submit(author, rating):
        review_submit(
            author=author,
            provider=provider,
            rating=rating,
            title="A fair experience overall",
            body=BODY,
            visit_month=month,
            would_recommend=rating >= 4,
        )

    print(f"  (review_submit to {provider.slug}, {provider.review_count:,} published reviews)")
    report("review_submit", timed(submit, call_submit))

    tickets = list(
        Ticket.objects.filter(status=TicketStatus.IN_PROGRESS).select_related("provider")[:N]
    )
    staff_user = User.objects.filter(email="owner@example.com").first() or User.objects.first()

    def transition(i):
        ticket = tickets[i % len(tickets)]
        Membership.objects.create(provider=ticket.provider, user=staff_user, role=Role.OWNER)
        return (ticket,)

    def call_transition(ticket):
        ticket_transition(
            ticket=ticket,
            to=TicketStatus.AWAITING_CUSTOMER,
            actor=staff_user,
            note="Could you tell us the date of your visit?",
        )

    report("ticket_transition", timed(transition, call_transition) if tickets else [])


if __name__ == "__main__":
    main()
