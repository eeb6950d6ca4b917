"""Recompute providers' stored rating figures from their published reviews, or (--check) only
report where the stored figures and a fresh computation disagree."""

from itertools import batched

from django.core.management.base import BaseCommand, CommandError

from portal.progress import Progress
from reviews.models import Provider
from reviews.services import STAT_FIELDS, provider_stats_compute, provider_stats_recompute

SHOW_AT_MOST = 20


class Command(BaseCommand):
    help = (
        "Recompute every provider's review count, rating sums and distribution, aspect "
        "averages and score from its published reviews. With --check, change nothing: list "
        "the providers whose stored figures are wrong and exit non-zero if there are any."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Report differences only; change nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=2000,
            help="Providers per transaction (default 2000).",
        )

    def handle(self, *args, check=False, batch_size=2000, **options):
        # Batches keep each transaction, lock set and IN (...) list bounded, so this works on a
        # directory of 100,000 providers without holding every row locked at once.
        ids = list(Provider.objects.order_by("pk").values_list("pk", flat=True))
        progress = Progress(self.stdout, "Checking" if check else "Recomputing", len(ids))
        changed, wrong = 0, []
        for chunk in batched(ids, max(1, batch_size)):
            if check:
                wrong += self._differences(chunk)
                progress.advance(len(chunk), f"{len(wrong):,} wrong")
            else:
                # Small update batches: bulk_update's CASE per field per row grows with the
                # square of the batch size.
                changed += provider_stats_recompute(provider_ids=chunk, batch_size=100)
                progress.advance(len(chunk), f"{changed:,} changed")
        progress.finish()
        if not check:
            self.stdout.write(self.style.SUCCESS(f"{changed} of {len(ids)} providers changed."))
            return
        for slug, fields in wrong[:SHOW_AT_MOST]:
            shown = ", ".join(f"{f}: stored {s!r}, computed {c!r}" for f, s, c in fields)
            self.stdout.write(f"  {slug}: {shown}")
        if wrong:
            more = f" (first {SHOW_AT_MOST} shown)" if len(wrong) > SHOW_AT_MOST else ""
            raise CommandError(f"{len(wrong)} of {len(ids)} providers differ{more}.")
        self.stdout.write(self.style.SUCCESS(f"All {len(ids)} providers agree."))

    def _differences(self, chunk) -> list[tuple[str, list]]:
        figures = provider_stats_compute(provider_ids=chunk)
        stored = (
            Provider.objects.filter(pk__in=chunk).order_by("pk").values("pk", "slug", *STAT_FIELDS)
        )
        wrong = []
        for row in stored:
            new = figures[row["pk"]]
            fields = [(f, row[f], new[f]) for f in STAT_FIELDS if row[f] != new[f]]
            if fields:
                wrong.append((row["slug"], fields))
        return wrong
