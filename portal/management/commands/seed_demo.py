"""Load demo data: the demo logins, categories with their aspect questions, UK-style providers
and a realistic spread of reviews with their moderation history.

Idempotent: running it again updates the demo users and adds only what is missing. What is
generated follows from --seed alone (slugs, emails, texts), so a rerun recognises its own rows.

On PostgreSQL the rows are streamed in with COPY, in one transaction, and a big load into
near-empty tables drops the secondary indexes and constraints first, rebuilds them once at the
end and vacuums the tables after it (`portal/scale_seed.py`; `docs/performance.md`: 100,000
providers and a million reviews in under three minutes). Elsewhere (the SQLite demo) they go
through bulk_create.
"""

import datetime as dt
import functools
import math
import random
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from itertools import batched

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.text import slugify
from faker import Faker

from accounts.models import User
from portal import demo_data, scale_seed
from portal.demo_business import seed_business
from portal.progress import Progress
from portal.roles import moderators_group
from reviews.checks import Flag, text_flags
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
# At scale, one provider in this many is a chain or a big practice with hundreds to thousands
# of reviews (a Zipf tail on top of the log-normal); below it, none, so the demo is unchanged.
STAR_EVERY = 2000
STAR_WEIGHT = 500  # the k-th star gets STAR_WEIGHT / k times the average provider's share
# Distinct texts written per (category, rating); beyond that, reviews reuse one at random.
# Writing and checking a text costs ~70 µs, too much to do a million times; the demo sizes
# never reach the limit, so their texts are as before.
TEXTS_PER_KIND = 400
# The business side's story goes through the services, review by review; above this many
# reviews it is replaced by replies and complaint tickets written in SQL (PostgreSQL only).
STORY_MAX_REVIEWS = 20_000


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
        parser.add_argument(
            "--business",
            choices=["auto", "story", "bulk", "none"],
            default="auto",
            help="The business side: the demo's story told through the services (story), "
            "replies and complaint tickets for a share of providers written in SQL on "
            f"PostgreSQL (bulk), or nothing. Default: story up to {STORY_MAX_REVIEWS:,} "
            "reviews, bulk above.",
        )

    def handle(self, *args, **options):
        seed, now = options["seed"], timezone.now()
        n, m = max(0, options["providers"]), max(0, options["reviews"])
        bulk = connection.vendor == "postgresql"
        business = options["business"]
        if business == "auto":
            business = "story" if m <= STORY_MAX_REVIEWS else "bulk"
        customer, moderator = self._demo_users()
        categories = self._categories()
        counts = _review_counts(n, m, seed)
        plan = self._plan(counts, seed)
        pool_size = max(50, math.ceil(m / 3), max(counts, default=0))
        texts = _Texts(seed)
        progress = Progress(self.stdout, "Seeding", sum(counts))
        providers_made = reviews_made = 0
        first_three = []
        clock = scale_seed.Clock()
        # PostgreSQL: one transaction, so a load that fails leaves neither half the rows nor
        # dropped indexes behind. Elsewhere: a transaction per chunk, as small as before.
        with (
            transaction.atomic() if bulk else nullcontext(),
            scale_seed.indexes_rebuilt_after(m if bulk else 0, self.stdout, clock),
        ):
            authors = self._reviewers(pool_size, seed, now, bulk)
            clock.lap("reviewers")
            for chunk in batched(plan, PROVIDERS_PER_TRANSACTION):
                first_three += chunk[: 3 - len(first_three)]
                with transaction.atomic():
                    seed_chunk = self._seed_chunk_copy if bulk else self._seed_chunk
                    made = seed_chunk(chunk, categories, authors, moderator, seed, now, texts)
                providers_made += made[0]
                reviews_made += made[1]
                progress.advance(
                    sum(p.review_count for p in chunk),
                    f"{providers_made:,} providers and {reviews_made:,} reviews created",
                )
            progress.finish()
            del authors
            clock.lap("providers and reviews")
            reviews_made += self._customer_reviews(
                customer, moderator, first_three, categories, now
            )
            self._backdate_reviewers(bulk)
            # The figures once, at the end, from the published reviews: far cheaper than
            # keeping them up to date review by review, and the same code
            # `recompute_provider_stats` runs (on PostgreSQL a few set-based statements).
            changed = self._figures(bulk)
            clock.lap("figures")
            if business == "bulk" and bulk:
                scale_seed.bulk_business(now=now, stdout=self.stdout)
                clock.lap("replies and tickets")
        if bulk and reviews_made >= scale_seed.REBUILD_INDEXES_FROM:
            # After the commit: VACUUM cannot run inside a transaction.
            scale_seed.vacuum_analyze(self.stdout)
            clock.lap("vacuum and analyze")
            self.stdout.write(f"Time taken: {clock}.")
        self.stdout.write(
            f"Created {providers_made} providers and {reviews_made} reviews; "
            f"recomputed the figures of {changed} providers."
        )
        if not options["quiet_logins"]:
            self.stdout.write(self.style.SUCCESS("Demo logins (email / password):"))
            for email, _name, password, role, *_ in DEMO_USERS:
                self.stdout.write(f"  {role:<16} {email:<24} {password}")
        if business == "story":
            seed_business(rng=random.Random(f"{seed}:biz"), moderator=moderator, stdout=self.stdout)

    def _figures(self, bulk: bool) -> int:
        if bulk:
            progress = Progress(self.stdout, "Figures", 1)
            changed = provider_stats_recompute()
            progress.advance(1, f"{changed:,} providers changed")
            progress.finish()
            return changed
        ids = list(Provider.objects.order_by("pk").values_list("pk", flat=True))
        progress, changed = Progress(self.stdout, "Figures", len(ids)), 0
        for chunk in batched(ids, INSERT_BATCH):
            changed += provider_stats_recompute(provider_ids=chunk, batch_size=UPDATE_BATCH)
            progress.advance(len(chunk), f"{changed:,} providers changed")
        progress.finish()
        return changed

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

    def _plan(self, counts: list[int], seed: int):
        """Every provider to exist and how many reviews it gets, decided by the seed alone;
        generated as needed, so a 100,000-provider plan is never all in memory.

        Names and review counts come from separate generators, so a bigger --providers or
        --reviews later keeps the first providers' slugs and only adds.
        """
        n = len(counts)
        rng = random.Random(f"{seed}:providers")
        fake = Faker("en_GB")
        fake.seed_instance(seed)
        specs = demo_data.CATEGORIES
        category_weights = [demo_data.CATEGORY_WEIGHTS[c["slug"]] for c in specs]
        town_weights = [1 / (i + 1) ** 0.7 for i in range(len(demo_data.TOWNS))]
        slugs = set()
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
            yield PlannedProvider(slug, spec, fields, counts[i])

    def _reviewers(self, size: int, seed: int, now: dt.datetime, bulk: bool) -> list[int]:
        """Ids of the customers who write the generated reviews (created if missing), made a
        batch at a time so that a few hundred thousand of them never sit in memory at once."""
        ids = [0] * size
        for email, pk in User.objects.filter(email__endswith=REVIEWER_DOMAIN).values_list(
            "email", "pk"
        ):
            k = email.removeprefix("reviewer").removesuffix(REVIEWER_DOMAIN)
            if k.isdigit() and int(k) < size:
                ids[int(k)] = pk
        rng, fake = random.Random(f"{seed}:people"), Faker("en_GB")
        fake.seed_instance(seed)
        # Nobody signs in as a generated reviewer, so one unusable password hash serves all.
        unusable = make_password(None)
        progress = Progress(self.stdout, "Reviewers", size) if bulk else None
        for batch in batched(range(size), INSERT_BATCH * 10):
            new = []
            for k in batch:
                # Names are drawn for everyone, so the generators stay in step on a rerun.
                first, last = fake.first_name(), fake.last_name()
                choices = [f"{first} {last[0]}.", first, f"{first} {last}"]
                name = rng.choices(choices, [55, 30, 15])[0]
                joined = now - dt.timedelta(days=rng.triangular(0, 800, 0))
                if not ids[k]:
                    new.append((k, f"reviewer{k}{REVIEWER_DOMAIN}", name, joined))
            if bulk:
                scale_seed.copy_reviewers(new, unusable, ids)
                progress.advance(len(batch), f"{len(new):,} new")
                continue
            for part in batched(new, INSERT_BATCH):
                users = User.objects.bulk_create(
                    User(email=email, display_name=name, password=unusable, date_joined=joined)
                    for _k, email, name, joined in part
                )
                EmailAddress.objects.bulk_create(
                    EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users
                )
                for (k, *_), user in zip(part, users, strict=True):
                    ids[k] = user.pk
        if progress:
            progress.finish()
        return ids

    def _seed_chunk(self, chunk, categories, authors, moderator, seed, now, texts):
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
            for fields, reason in _reviews_of(planned, categories, authors, seed, now, texts):
                rows.append((Review(provider=provider, **fields), reason))
        _insert(rows, moderator)
        return len(providers), len(rows)

    def _seed_chunk_copy(self, chunk, categories, authors, moderator, seed, now, texts):
        """The same rows as `_seed_chunk`, streamed in with COPY (portal/scale_seed.py)."""
        slugs = [p.slug for p in chunk]
        existing = set(Provider.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        return scale_seed.copy_providers_and_reviews(
            [p for p in chunk if p.slug not in existing],
            category_ids={slug: category.pk for slug, (category, _codes) in categories.items()},
            reviews_of=lambda planned: _reviews_of(planned, categories, authors, seed, now, texts),
            moderator_id=moderator.pk,
            now=now,
        )

    @transaction.atomic
    def _customer_reviews(self, customer, moderator, first_three, categories, now) -> int:
        """One published, one pending and one rejected review for /accounts/reviews/."""
        if Review.objects.filter(author=customer).exists():
            return 0
        rng = random.Random("demo-customer")
        wanted = [ReviewStatus.PUBLISHED, ReviewStatus.PENDING, ReviewStatus.REJECTED]
        rows = []
        for planned, status in zip(first_three, wanted, strict=False):
            provider = Provider.objects.get(slug=planned.slug)
            codes = categories[planned.category["slug"]][1]
            fields, reason = _review(
                rng,
                planned.category,
                codes,
                customer.pk,
                0.0,
                status,
                now,
                _Texts(0, per_kind=None),
            )
            rows.append((Review(provider=provider, **fields), reason))
        _insert(rows, moderator)
        return len(rows)

    def _backdate_reviewers(self, bulk: bool) -> None:
        """Generated reviewers joined before their first review, not after it."""
        if bulk:
            scale_seed.backdate_reviewers(domain=REVIEWER_DOMAIN)
            return
        first = Review.objects.filter(author=OuterRef("pk")).order_by("submitted_at")
        User.objects.filter(email__endswith=REVIEWER_DOMAIN).filter(Exists(first)).update(
            date_joined=Least(
                "date_joined", Subquery(first.values("submitted_at")[:1]) - dt.timedelta(days=2)
            )
        )


def _review_counts(n: int, m: int, seed: int) -> list[int]:
    """How many of the m reviews each of the n providers gets."""
    counts_rng = random.Random(f"{seed}:counts")
    # A long tail: a few providers with many reviews, most with a handful, some with none.
    weights = [
        0.0 if counts_rng.random() < NO_REVIEWS_SHARE else counts_rng.lognormvariate(0, 1.1)
        for _ in range(n)
    ]
    stars = n // STAR_EVERY
    if stars:
        # Past the first providers (one per category), so the demo's first listings keep
        # their place; the k-th star gets a Zipf share, from thousands of reviews down.
        average = sum(weights) / n
        picked = random.Random(f"{seed}:stars").sample(range(len(demo_data.CATEGORIES), n), stars)
        for k, i in enumerate(picked, start=1):
            weights[i] = average * STAR_WEIGHT / k
    return _share_out(m, weights)


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


# The order text_flags lists its flags in.
FLAG_ORDER = [Flag.EMAIL, Flag.PHONE, Flag.LINK, Flag.PROFANITY]


@functools.cache
def _zone():
    return timezone.get_current_timezone()


@functools.cache
def _earliest_visit(today: dt.date) -> dt.date:
    return visit_month_bounds(today)[0]


def _rating(rng: random.Random, tilt: float) -> int:
    weights = [w * math.exp(0.45 * tilt * (r - 3)) for r, w in RATING_WEIGHTS.items()]
    return rng.choices(list(RATING_WEIGHTS), weights)[0]


class _Texts:
    """Review texts by (category, rating): the first `per_kind` of each kind are written
    fresh from the review's own generator, later reviews reuse one of them at random.
    `per_kind=None` never reuses."""

    def __init__(self, seed: int, per_kind: int | None = TEXTS_PER_KIND):
        self.pick, self.per_kind, self.kinds = random.Random(f"{seed}:texts"), per_kind, {}
        self.added = {}

    def get(self, rng: random.Random, category: dict, rating: int) -> list:
        """[title, body, flags or None until first needed, times used]"""
        kind = self.kinds.setdefault((category["slug"], rating), [])
        if self.per_kind is not None and len(kind) >= self.per_kind:
            entry = self.pick.choice(kind)
        else:
            entry = [*demo_data.review_text(rng, category, rating), None, 0]
            if self.per_kind is not None:
                kind.append(entry)
        entry[3] += 1
        return entry

    @staticmethod
    def flags(entry: list) -> list[str]:
        if entry[2] is None:
            entry[2] = text_flags(f"{entry[0]}\n{entry[1]}")
        return list(entry[2])

    def rejected_flags(self, entry: list, text: str, reason: str) -> list[str]:
        """A text's first use is checked as written; a reused one with the rejected sentence
        added has the flags of the two parts (the checks look for words, numbers and
        addresses, none of which span the join)."""
        if entry[3] == 1:
            return text_flags(text)
        added = self.added.get(reason)
        if added is None:
            added = self.added[reason] = set(text_flags(demo_data.REJECTIONS[reason]))
        both = added | set(self.flags(entry))
        return [flag for flag in FLAG_ORDER if flag in both]


def _reviews_of(planned, categories, authors, seed, now, texts):
    """The planned provider's reviews as (fields, rejection reason), from its own generator."""
    rng = random.Random(f"{seed}:{planned.slug}")
    quality = rng.gauss(0, 1)
    codes = categories[planned.category["slug"]][1]
    # Distinct authors per provider: the one-live-review-per-year rule (a database
    # constraint on PostgreSQL) can then never be broken, whatever the dates.
    for author_id in rng.sample(authors, planned.review_count):
        status = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()))[0]
        yield _review(rng, planned.category, codes, author_id, quality, status, now, texts)


def _review(rng, category, codes, author_id, quality, status, now, texts):
    """A review's field values with its timestamps, and the reason code if it is rejected."""
    invited = rng.random() < INVITED_SHARE
    # Invitations reach the quietly satisfied majority, so invited ratings run higher.
    rating = _rating(rng, quality + (0.6 if invited else 0.0))
    text = texts.get(rng, category, rating)
    title, body = text[0], text[1]
    reason = ""
    # Only the checks on the text itself: duplicate and burst checks query the database per
    # review, which a million-review seed cannot afford.
    if status == ReviewStatus.REJECTED:
        reason = rng.choice(list(demo_data.REJECTIONS))
        body = f"{body[: 4990 - len(demo_data.REJECTIONS[reason])]} {demo_data.REJECTIONS[reason]}"
        flags = texts.rejected_flags(text, f"{title}\n{body}", reason)
    else:
        flags = texts.flags(text)
    if status == ReviewStatus.PENDING:  # the moderators keep the queue to a few days
        submitted = now - dt.timedelta(hours=rng.uniform(1, 144))
        decided = None
    else:  # more recent reviews are more common: the site is growing
        submitted = now - dt.timedelta(days=rng.triangular(2, 728, 2))
        decided = min(submitted + dt.timedelta(hours=rng.uniform(1, 60)), now)
    month = submitted.astimezone(_zone()).date().replace(day=1)
    visit = max(add_months(month, -rng.choice((0, 0, 0, 1, 1, 2, 3))), _earliest_visit(now.date()))
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
    fields = {
        "author_id": author_id,
        "rating": rating,
        "title": title,
        "body": body,
        "visit_month": visit,
        "aspects": aspects,
        "would_recommend": recommend,
        "status": status,
        "source": ReviewSource.INVITED if invited else ReviewSource.ORGANIC,
        "flags": flags,
        "submitted_at": submitted,
        "published_at": decided if status == ReviewStatus.PUBLISHED else None,
        "decided_at": decided,
    }
    return fields, reason


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
