"""Load demo data: the demo logins, categories with their aspect questions, UK-style providers
and a realistic spread of reviews with their moderation history.

Idempotent: running it again updates the demo users and adds only what is missing. What is
generated follows from --seed alone (slugs, emails, texts), so a rerun recognises its own rows.
"""

import datetime as dt
import math
import random
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import batched

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.text import slugify
from faker import Faker

from accounts.models import User
from portal import demo_data
from portal.demo_business import seed_business
from portal.progress import Progress
from portal.roles import moderators_group
from reviews.checks import text_flags
from reviews.models import (
    AspectQuestion,
    Category,
    Decision,
    ModerationDecision,
    Provider,
    Review,
    ReviewSource,
    ReviewStatus,
)
from reviews.services import add_months, provider_stats_recompute, visit_month_bounds

DEMO_USERS = [
    # (email, display name, password, role description, is_staff, is_superuser)
    ("customer@example.com", "Sam Customer", "demo-customer-pass", "customer", False, False),
    ("owner@example.com", "Olivia Owner", "demo-owner-pass", "business owner", False, False),
    (
        "moderator@example.com",
        "Morgan Moderator",
        "demo-moderator-pass",
        "staff moderator",
        True,
        False,
    ),
    ("admin@example.com", "Ada Admin", "demo-admin-pass", "superuser", True, True),
]

REVIEWER_DOMAIN = "@reviewers.example.net"
# Small enough that the progress bar moves every few seconds on a million-review run.
PROVIDERS_PER_TRANSACTION = 250
INSERT_BATCH = 2000
# bulk_update writes a CASE per field per row, so its cost grows with the square of the batch.
UPDATE_BATCH = 100
# J-shaped, as on every review site: many 5★, a noticeable share of 1★, few in between.
RATING_WEIGHTS = {5: 52, 4: 18, 3: 7, 2: 7, 1: 16}
STATUS_WEIGHTS = {ReviewStatus.PUBLISHED: 85, ReviewStatus.PENDING: 9, ReviewStatus.REJECTED: 6}
INVITED_SHARE = 0.15
NO_REVIEWS_SHARE = 0.12


@dataclass(frozen=True)
class PlannedProvider:
    slug: str
    category: dict
    fields: dict
    review_count: int


class Command(BaseCommand):
    help = "Create the demo users, providers and reviews for a local Heard site."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the logins.")
        parser.add_argument("--providers", type=int, default=60, help="Providers (default 60).")
        parser.add_argument("--reviews", type=int, default=700, help="Reviews (default 700).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")

    def handle(self, *args, **options):
        seed, now = options["seed"], timezone.now()
        customer, moderator = self._demo_users()
        categories = self._categories()
        plan = self._plan(max(0, options["providers"]), max(0, options["reviews"]), seed)
        pool_size = max(50, math.ceil(options["reviews"] / 3), *(p.review_count for p in plan))
        authors = self._reviewers(pool_size, seed, now)
        progress = Progress(self.stdout, "Seeding", sum(p.review_count for p in plan))
        providers_made = reviews_made = 0
        for chunk in batched(plan, PROVIDERS_PER_TRANSACTION):
            with transaction.atomic():
                made = self._seed_chunk(chunk, categories, authors, moderator, seed, now)
            providers_made, reviews_made = providers_made + made[0], reviews_made + made[1]
            progress.advance(
                sum(p.review_count for p in chunk),
                f"{providers_made:,} providers and {reviews_made:,} reviews created",
            )
        progress.finish()
        reviews_made += self._customer_reviews(customer, moderator, plan, categories, now)
        self._backdate_reviewers()
        # The figures once, at the end, from the published reviews: far cheaper than keeping
        # them up to date review by review, and the same code `recompute_provider_stats` runs.
        ids = list(Provider.objects.order_by("pk").values_list("pk", flat=True))
        progress, changed = Progress(self.stdout, "Figures", len(ids)), 0
        for chunk in batched(ids, INSERT_BATCH):
            changed += provider_stats_recompute(provider_ids=chunk, batch_size=UPDATE_BATCH)
            progress.advance(len(chunk), f"{changed:,} providers changed")
        progress.finish()
        self.stdout.write(
            f"Created {providers_made} providers and {reviews_made} reviews; "
            f"recomputed the figures of {changed} providers."
        )
        if not options["quiet_logins"]:
            self.stdout.write(self.style.SUCCESS("Demo logins (email / password):"))
            for email, _name, password, role, *_ in DEMO_USERS:
                self.stdout.write(f"  {role:<16} {email:<24} {password}")
        seed_business(rng=random.Random(f"{seed}:biz"), moderator=moderator, stdout=self.stdout)

    @transaction.atomic
    def _demo_users(self) -> tuple[User, User]:
        users = {}
        for email, name, password, _role, is_staff, is_superuser in DEMO_USERS:
            user, _ = User.objects.get_or_create(email=email, defaults={"display_name": name})
            user.display_name = name
            user.is_staff = is_staff
            user.is_superuser = is_superuser
            user.set_password(password)
            user.save()
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
            users[email] = user
        moderator = users["moderator@example.com"]
        moderator.groups.add(moderators_group())
        return users["customer@example.com"], moderator

    def _categories(self) -> dict[str, tuple[Category, list[str]]]:
        """Create what is missing; an existing category or question keeps any admin edits."""
        found = {}
        for spec in demo_data.CATEGORIES:
            category, _ = Category.objects.get_or_create(
                slug=spec["slug"],
                defaults={"name": spec["name"], "description": spec["description"]},
            )
            for position, (code, text) in enumerate(spec["aspects"]):
                AspectQuestion.objects.get_or_create(
                    category=category, code=code, defaults={"text": text, "position": position}
                )
            found[spec["slug"]] = (category, [code for code, _ in spec["aspects"]])
        return found

    def _plan(self, n: int, m: int, seed: int) -> list[PlannedProvider]:
        """Every provider to exist and how many reviews it gets, decided by the seed alone.

        Names and review counts come from separate generators, so a bigger --providers or
        --reviews later keeps the first providers' slugs and only adds.
        """
        rng, counts_rng = random.Random(f"{seed}:providers"), random.Random(f"{seed}:counts")
        fake = Faker("en_GB")
        fake.seed_instance(seed)
        # A long tail: a few providers with many reviews, most with a handful, some with none.
        weights = [
            0.0 if counts_rng.random() < NO_REVIEWS_SHARE else counts_rng.lognormvariate(0, 1.1)
            for _ in range(n)
        ]
        counts = _share_out(m, weights)
        specs = demo_data.CATEGORIES
        category_weights = [demo_data.CATEGORY_WEIGHTS[c["slug"]] for c in specs]
        town_weights = [1 / (i + 1) ** 0.7 for i in range(len(demo_data.TOWNS))]
        plan, slugs = [], set()
        for i in range(n):
            # Every category first, so that even a small demo has something in each.
            spec = specs[i] if i < len(specs) else rng.choices(specs, category_weights)[0]
            town, area = rng.choices(demo_data.TOWNS, town_weights)[0]
            street = rng.choice(demo_data.STREETS)
            name = demo_data.provider_name(
                rng,
                spec,
                town=town,
                street=street,
                surname=fake.last_name(),
                first=fake.first_name(),
            )
            base = slugify(name if town in name else f"{name} {town}")[:170]
            slug = base
            suffix = 2
            while slug in slugs:
                slug, suffix = f"{base}-{suffix}", suffix + 1
            slugs.add(slug)
            about = f"{spec['about'].format(town=town)} {rng.choice(demo_data.ABOUT_EXTRAS)}"
            fields = {
                "name": name,
                "address_line1": f"{rng.randint(1, 240)} {street}",
                "address_line2": rng.choice(demo_data.DISTRICTS) if rng.random() < 0.3 else "",
                "town": town,
                "postcode": demo_data.postcode(rng, area),
                "phone": fake.phone_number(),
                "website": f"https://www.{slugify(name).replace('-', '')}.example"
                if rng.random() < 0.6
                else "",
                "description": about.strip(),
            }
            plan.append(PlannedProvider(slug, spec, fields, counts[i]))
        return plan

    def _reviewers(self, size: int, seed: int, now: dt.datetime) -> list[int]:
        """Ids of the customers who write the generated reviews (created if missing)."""
        emails = [f"reviewer{k}{REVIEWER_DOMAIN}" for k in range(size)]
        existing = dict(
            User.objects.filter(email__endswith=REVIEWER_DOMAIN).values_list("email", "pk")
        )
        rng, fake = random.Random(f"{seed}:people"), Faker("en_GB")
        fake.seed_instance(seed)
        # Nobody signs in as a generated reviewer, so one unusable password hash serves all.
        unusable = make_password(None)
        new = []
        for email in emails:
            first, last = fake.first_name(), fake.last_name()
            name = rng.choices([f"{first} {last[0]}.", first, f"{first} {last}"], [55, 30, 15])[0]
            joined = now - dt.timedelta(days=rng.triangular(0, 800, 0))
            if email not in existing:
                new.append(
                    User(email=email, display_name=name, password=unusable, date_joined=joined)
                )
        for batch in batched(new, INSERT_BATCH):
            users = User.objects.bulk_create(batch)
            EmailAddress.objects.bulk_create(
                EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users
            )
            existing.update((u.email, u.pk) for u in users)
        return [existing[email] for email in emails]

    def _seed_chunk(self, chunk, categories, authors, moderator, seed, now) -> tuple[int, int]:
        """Create the chunk's providers that do not exist yet, with all their reviews."""
        slugs = [p.slug for p in chunk]
        existing = set(Provider.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        todo = [p for p in chunk if p.slug not in existing]
        providers = Provider.objects.bulk_create(
            Provider(slug=p.slug, category=categories[p.category["slug"]][0], **p.fields)
            for p in todo
        )
        rows = []
        for planned, provider in zip(todo, providers, strict=True):
            rng = random.Random(f"{seed}:{planned.slug}")
            quality = rng.gauss(0, 1)
            codes = categories[planned.category["slug"]][1]
            # Distinct authors per provider: the one-live-review-per-year rule (a database
            # constraint on PostgreSQL) can then never be broken, whatever the dates.
            for author_id in rng.sample(authors, planned.review_count):
                status = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()))[0]
                rows.append(
                    _review(rng, provider, planned.category, codes, author_id, quality, status, now)
                )
        _insert(rows, moderator)
        return len(providers), len(rows)

    @transaction.atomic
    def _customer_reviews(self, customer, moderator, plan, categories, now) -> int:
        """One published, one pending and one rejected review for /accounts/reviews/."""
        if Review.objects.filter(author=customer).exists():
            return 0
        rng = random.Random("demo-customer")
        wanted = [ReviewStatus.PUBLISHED, ReviewStatus.PENDING, ReviewStatus.REJECTED]
        rows = []
        for planned, status in zip(plan, wanted, strict=False):
            provider = Provider.objects.get(slug=planned.slug)
            codes = categories[planned.category["slug"]][1]
            rows.append(
                _review(rng, provider, planned.category, codes, customer.pk, 0.0, status, now)
            )
        _insert(rows, moderator)
        return len(rows)

    def _backdate_reviewers(self) -> None:
        """Generated reviewers joined before their first review, not after it."""
        first = Review.objects.filter(author=OuterRef("pk")).order_by("submitted_at")
        User.objects.filter(email__endswith=REVIEWER_DOMAIN).filter(Exists(first)).update(
            date_joined=Least(
                "date_joined", Subquery(first.values("submitted_at")[:1]) - dt.timedelta(days=2)
            )
        )


def _share_out(total: int, weights: list[float]) -> list[int]:
    """Split `total` in proportion to `weights` (largest remainders get the leftovers)."""
    if not weights:
        return []
    if not any(weights):
        weights = [1.0, *weights[1:]]
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _rating(rng: random.Random, tilt: float) -> int:
    weights = [w * math.exp(0.45 * tilt * (r - 3)) for r, w in RATING_WEIGHTS.items()]
    return rng.choices(list(RATING_WEIGHTS), weights)[0]


def _review(rng, provider, category, codes, author_id, quality, status, now):
    """An unsaved review with its timestamps, and the reason code if it is rejected."""
    invited = rng.random() < INVITED_SHARE
    # Invitations reach the quietly satisfied majority, so invited ratings run higher.
    rating = _rating(rng, quality + (0.6 if invited else 0.0))
    title, body = demo_data.review_text(rng, category, rating)
    reason = ""
    if status == ReviewStatus.REJECTED:
        reason = rng.choice(list(demo_data.REJECTIONS))
        body = f"{body[: 4990 - len(demo_data.REJECTIONS[reason])]} {demo_data.REJECTIONS[reason]}"
    if status == ReviewStatus.PENDING:  # the moderators keep the queue to a few days
        submitted = now - dt.timedelta(hours=rng.uniform(1, 144))
        decided = None
    else:  # more recent reviews are more common: the site is growing
        submitted = now - dt.timedelta(days=rng.triangular(2, 728, 2))
        decided = min(submitted + dt.timedelta(hours=rng.uniform(1, 60)), now)
    month = timezone.localtime(submitted).date().replace(day=1)
    visit = max(
        add_months(month, -rng.choice((0, 0, 0, 1, 1, 2, 3))), visit_month_bounds(now.date())[0]
    )
    aspects = {}
    if rng.random() < 0.55:
        aspects = {
            code: min(5, max(1, rating + rng.choice((-1, 0, 0, 0, 1))))
            for code in codes
            if rng.random() < 0.85
        }
    recommend = None
    if rng.random() < 0.65:
        recommend = rating >= 4 if rating != 3 else rng.random() < 0.5
    review = Review(
        provider=provider,
        author_id=author_id,
        rating=rating,
        title=title,
        body=body,
        visit_month=visit,
        aspects=aspects,
        would_recommend=recommend,
        status=status,
        source=ReviewSource.INVITED if invited else ReviewSource.ORGANIC,
        # Only the checks on the text itself: duplicate and burst checks query the database
        # per review, which a million-review seed cannot afford.
        flags=text_flags(f"{title}\n{body}"),
        submitted_at=submitted,
        published_at=decided if status == ReviewStatus.PUBLISHED else None,
        decided_at=decided,
    )
    return review, reason


def _insert(rows, moderator) -> None:
    """Insert reviews and, for each decided one, the moderation decision behind it."""
    reviews = Review.objects.bulk_create([r for r, _ in rows], batch_size=INSERT_BATCH)
    content_type = ContentType.objects.get_for_model(Review)
    decisions = [
        ModerationDecision(
            content_type=content_type,
            object_id=review.pk,
            review=review,
            moderator=moderator,
            decision=Decision.APPROVE if review.is_published else Decision.REJECT,
            reason=reason,
            created_at=review.decided_at,
        )
        for review, (_, reason) in zip(reviews, rows, strict=True)
        if review.decided_at
    ]
    with _given_timestamps(ModerationDecision, "created_at"):
        ModerationDecision.objects.bulk_create(decisions, batch_size=INSERT_BATCH)


@contextmanager
def _given_timestamps(model, field_name: str):
    """Let bulk_create keep the timestamps we set: the demo's audit trail must say when each
    decision was made, and auto_now_add would stamp two years of decisions with today."""
    field = model._meta.get_field(field_name)
    field.auto_now_add = False
    try:
        yield
    finally:
        field.auto_now_add = True
