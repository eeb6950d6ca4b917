"""Load demo data: the demo logins, categories with their aspect questions, UK-style providers
and a realistic spread of reviews with their moderation history.

Idempotent: running it again updates the demo users and adds only what is missing. What is
generated follows from --seed alone (slugs, emails, texts), so a rerun recognises its own rows.

On PostgreSQL the rows are streamed in with COPY, in one transaction, and a big load into
near-empty tables drops the secondary indexes and constraints first and rebuilds them once at
the end (`docs/performance.md`: 100,000 providers and a million reviews in under three
minutes). Elsewhere (the SQLite demo) they go through bulk_create.
"""

import datetime as dt
import functools
import json
import math
import random
import time
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
from portal import demo_data
from portal.demo_business import REPLIES, seed_business
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
from reviews.services import (
    add_months,
    bayesian_score,
    provider_stats_recompute,
    visit_month_bounds,
)

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
# A COPY load into tables holding fewer rows than this share of it rebuilds their indexes and
# constraints once at the end instead of maintaining them row by row.
REBUILD_INDEXES_FROM = 50_000


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
        clock = _Clock()
        # PostgreSQL: one transaction, so a load that fails leaves neither half the rows nor
        # dropped indexes behind. Elsewhere: a transaction per chunk, as small as before.
        with (
            transaction.atomic() if bulk else nullcontext(),
            _indexes_rebuilt_after(m if bulk else 0, self.stdout, clock),
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
                self._bulk_business(now)
                clock.lap("replies and tickets")
        if bulk and reviews_made >= REBUILD_INDEXES_FROM:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            clock.lap("analyze")
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
                _copy_reviewers(new, unusable, ids)
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
        """The same rows as `_seed_chunk`, streamed in with COPY. Review ids are reserved from
        the sequence first, so the moderation decisions can point at them."""
        slugs = [p.slug for p in chunk]
        existing = set(Provider.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        todo = [p for p in chunk if p.slug not in existing]
        if not todo:
            return 0, 0
        empty_score = bayesian_score(rating_sum=0, review_count=0)
        stats = (0,) * 11 + ("{}", empty_score)
        with connection.cursor() as cursor:
            with cursor.copy(_copy_sql("reviews_provider", PROVIDER_COLUMNS)) as copy:
                for p in todo:
                    f = p.fields
                    copy.write_row(
                        (
                            *(f[c] for c in PROVIDER_COLUMNS[:8]),
                            p.slug,
                            categories[p.category["slug"]][0].pk,
                            True,
                            False,
                            now,
                            now,
                            *stats,
                        )
                    )
            cursor.execute(
                "SELECT slug, id FROM reviews_provider WHERE slug = ANY(%s)",
                [[p.slug for p in todo]],
            )
            provider_ids = dict(cursor.fetchall())
            total = sum(p.review_count for p in todo)
            if not total:
                return len(todo), 0
            next_id = _reserve_ids(cursor, "reviews_review", total)
            decisions = []
            review_type = ContentType.objects.get_for_model(Review).pk
            with cursor.copy(_copy_sql("reviews_review", REVIEW_COLUMNS)) as copy:
                for planned in todo:
                    provider_id = provider_ids[planned.slug]
                    for f, reason in _reviews_of(planned, categories, authors, seed, now, texts):
                        copy.write_row(
                            (
                                next_id,
                                provider_id,
                                f["author_id"],
                                f["rating"],
                                f["title"],
                                f["body"],
                                f["visit_month"],
                                json.dumps(f["aspects"]) if f["aspects"] else "{}",
                                f["would_recommend"],
                                f["status"],
                                f["source"],
                                json.dumps(f["flags"]) if f["flags"] else "[]",
                                f["submitted_at"],
                                f["published_at"],
                                f["decided_at"],
                                now,
                                False,
                                0,
                                False,
                            )
                        )
                        if f["decided_at"]:
                            published = f["status"] == ReviewStatus.PUBLISHED
                            decision = Decision.APPROVE if published else Decision.REJECT
                            decisions.append((next_id, decision, reason, f["decided_at"]))
                        next_id += 1
            with cursor.copy(_copy_sql("reviews_moderationdecision", DECISION_COLUMNS)) as copy:
                for review_id, decision, reason, at in decisions:
                    row = (
                        review_type,
                        review_id,
                        review_id,
                        moderator.pk,
                        decision,
                        reason,
                        at,
                        "",
                    )
                    copy.write_row(row)
        return len(todo), total

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
        if bulk:  # one pass over the reviews rather than a subquery per reviewer
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    UPDATE accounts_user u
                    SET date_joined = first.at - interval '2 days'
                    FROM (SELECT author_id, min(submitted_at) AS at FROM reviews_review
                          GROUP BY author_id) first
                    WHERE u.id = first.author_id AND u.email LIKE %s
                      AND u.date_joined > first.at - interval '2 days'
                    """,
                    [f"%{REVIEWER_DOMAIN}"],
                )
            return
        first = Review.objects.filter(author=OuterRef("pk")).order_by("submitted_at")
        User.objects.filter(email__endswith=REVIEWER_DOMAIN).filter(Exists(first)).update(
            date_joined=Least(
                "date_joined", Subquery(first.values("submitted_at")[:1]) - dt.timedelta(days=2)
            )
        )

    def _bulk_business(self, now: dt.datetime) -> None:
        """Replies and complaint tickets for a share of the providers, written in SQL: the
        business story told through the services would take hours at this scale. Idempotent:
        reviews that already have a reply or a ticket are left alone."""
        with connection.cursor() as cursor:
            cursor.execute(
                _BULK_REPLIES, {"now": now, "answering": BULK_ANSWERING, **_reply_texts()}
            )
            replies = cursor.rowcount
            cursor.execute(_BULK_TICKETS, {"now": now, "answering": BULK_ANSWERING})
            tickets = cursor.rowcount
            cursor.execute(_BULK_TICKET_EVENTS, {"now": now})
        self.stdout.write(
            f"Business activity: {replies:,} published replies and {tickets:,} complaint "
            f"tickets for {BULK_ANSWERING}% of providers."
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


# --- PostgreSQL: COPY and index rebuilds ----------------------------------------------------
PROVIDER_COLUMNS = [
    # the first eight are PlannedProvider.fields
    "name",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "phone",
    "website",
    "description",
    "slug",
    "category_id",
    "is_active",
    "is_claimed",
    "created_at",
    "updated_at",
    "review_count",
    "rating_sum",
    *(f"rating_{r}" for r in range(1, 6)),
    "recommend_yes",
    "recommend_answers",
    "invited_count",
    "invited_sum",
    "aspect_totals",
    "score",
]
REVIEW_COLUMNS = [
    "id",
    "provider_id",
    "author_id",
    "rating",
    "title",
    "body",
    "visit_month",
    "aspects",
    "would_recommend",
    "status",
    "source",
    "flags",
    "submitted_at",
    "published_at",
    "decided_at",
    "updated_at",
    "wants_resolution",
    "helpful_count",
    "is_hidden",
]
DECISION_COLUMNS = [
    "content_type_id",
    "object_id",
    "review_id",
    "moderator_id",
    "decision",
    "reason",
    "created_at",
    "note",
]
USER_COLUMNS = [
    "id",
    "email",
    "display_name",
    "password",
    "date_joined",
    "is_superuser",
    "is_staff",
    "is_active",
]
# The tables a big load fills; their secondary indexes and constraints are rebuilt after it.
LOADED_TABLES = [
    "accounts_user",
    "account_emailaddress",
    "reviews_provider",
    "reviews_review",
    "reviews_moderationdecision",
    "responses_reply",
    "responses_ticket",
    "responses_ticketevent",
]
# The load looks providers up by slug, chunk by chunk: their unique index stays.
KEEP_UNIQUE = ["reviews_provider"]


def _copy_sql(table: str, columns: list[str]) -> str:
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f"COPY {table} ({quoted}) FROM STDIN"


def _reserve_ids(cursor, table: str, n: int) -> int:
    """Take n consecutive ids from the table's sequence; returns the first."""
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
        " nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
        [table, table, n],
    )
    return cursor.fetchone()[0] - n + 1


def _copy_reviewers(new, password: str, ids: list[int]) -> None:
    """COPY the new reviewers (k, email, name, joined) and their verified addresses."""
    if not new:
        return
    with connection.cursor() as cursor:
        first = _reserve_ids(cursor, "accounts_user", len(new))
        with cursor.copy(_copy_sql("accounts_user", USER_COLUMNS)) as copy:
            for pk, (k, email, name, joined) in enumerate(new, start=first):
                copy.write_row((pk, email, name, password, joined, False, False, True))
                ids[k] = pk
        columns = ["user_id", "email", "verified", "primary"]
        with cursor.copy(_copy_sql("account_emailaddress", columns)) as copy:
            for pk, (_k, email, _name, _joined) in enumerate(new, start=first):
                copy.write_row((pk, email, True, True))


class _Clock:
    """Wall-clock time per phase of a big load, for the report at its end."""

    def __init__(self):
        self.laps, self.last = [], time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps.append((name, now - self.last))
        self.last = now

    def __str__(self) -> str:
        total = sum(t for _, t in self.laps)
        return ", ".join(f"{name} {t:.0f} s" for name, t in self.laps) + f"; {total:.0f} s in all"


@contextmanager
def _indexes_rebuilt_after(reviews: int, stdout, clock: _Clock):
    """Around a load of `reviews` reviews into (nearly) empty tables, drop the loaded tables'
    secondary indexes and their unique, exclusion and foreign-key constraints, and build them
    again afterwards: one sorted build per index and one join per foreign key, instead of a
    million index insertions and trigger checks. Runs inside the load's transaction, so a
    failure rolls the drops back too."""
    if reviews < REBUILD_INDEXES_FROM:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reviews_review")
        if cursor.fetchone()[0] * 2 > reviews:
            yield
            return
        tables = {"tables": LOADED_TABLES, "keep_unique": KEEP_UNIQUE}
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
            FROM pg_constraint c
            WHERE c.conrelid = ANY(%(tables)s::regclass[])
              AND (c.contype IN ('f', 'x')
                   OR c.contype = 'u' AND c.conrelid <> ALL(%(keep_unique)s::regclass[]))
            ORDER BY c.contype DESC, c.conname
            """,
            tables,
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%(tables)s::regclass[]) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                              WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
            """,
            tables,
        )
        indexes = cursor.fetchall()
        # Deferred foreign-key checks of rows written earlier in this transaction must run
        # before their tables can be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        progress = Progress(stdout, "Indexes", len(indexes) + len(constraints))
        for name, definition in indexes:
            cursor.execute(definition)
            progress.advance(1, name)
        # Unique and exclusion constraints (listed last) before the foreign keys.
        for table, name, definition in reversed(constraints):
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            progress.advance(1, name)
        progress.finish()
    stdout.write(
        f"Rebuilt {len(indexes)} indexes and {len(constraints)} constraints in "
        f"{time.monotonic() - started:.1f} s."
    )
    clock.lap("indexes and constraints")


# --- PostgreSQL: the business side in bulk --------------------------------------------------
BULK_ANSWERING = 20  # per cent of providers whose business answers reviews and complaints


def _reply_texts() -> dict[str, list[str]]:
    return {f"replies_{mood}": list(texts) for mood, texts in REPLIES.items()}


_BULK_REPLIES = """
INSERT INTO responses_reply (review_id, provider_id, responder_id, responder_name,
    responder_title, body, status, flags, created_at, submitted_at, published_at, decided_at,
    updated_at)
SELECT r.id, r.provider_id, NULL, 'The team', 'Customer care',
       CASE WHEN r.rating >= 4 THEN (%(replies_good)s::text[])[1 + h.v %% 4]
            WHEN r.rating <= 2 THEN (%(replies_bad)s::text[])[1 + h.v %% 2]
            ELSE (%(replies_mixed)s::text[])[1 + h.v %% 2] END,
       'published', '[]'::jsonb, t.submitted, t.submitted, t.decided, t.decided, t.decided
FROM reviews_review r
CROSS JOIN LATERAL (SELECT abs(hashtext('reply:' || r.id)) AS v) h
CROSS JOIN LATERAL (
    SELECT r.published_at + (2 + h.v %% 67) * interval '1 hour' AS submitted,
           r.published_at + (8 + h.v %% 67 + h.v %% 13) * interval '1 hour' AS decided
) t
WHERE r.status = 'published'
  AND abs(hashtext('answers:' || r.provider_id)) %% 100 < %(answering)s
  AND h.v %% 101 < CASE WHEN r.rating <= 2 THEN 90 ELSE 55 END
  AND t.decided < %(now)s
  AND NOT EXISTS (SELECT 1 FROM responses_reply x WHERE x.review_id = r.id)
"""

# A ticket for each published 1-2 star review of an answering provider, in a state that fits
# its age: answered within the two hours before an automatic acknowledgement, worked on, and
# (from 16 days) resolved and confirmed by the customer, all before its deadlines.
_BULK_TICKETS = """
INSERT INTO responses_ticket (provider_id, customer_id, review_id, source, subject, status,
    created_at, first_response_due, resolution_due, first_responded_at, resolved_at, closed_at,
    resolution_summary, confirmed_by_customer, put_right, change_made, updated_at)
SELECT r.provider_id, r.author_id, r.id, 'low_rating', left(r.title, 160), a.status,
       r.submitted_at, r.submitted_at + interval '48 hours', r.submitted_at + interval '14 days',
       CASE WHEN a.status <> 'new'
            THEN r.submitted_at + (10 + h.v %% 100) * interval '1 minute' END,
       CASE WHEN a.status IN ('resolved', 'closed') THEN a.resolved END,
       CASE WHEN a.status = 'closed' THEN a.resolved + (1 + h.v %% 3) * interval '1 day' END,
       CASE WHEN a.status IN ('resolved', 'closed')
            THEN 'We apologised, explained what went wrong and changed how we handle this.'
            ELSE '' END,
       a.status = 'closed', '', '', %(now)s
FROM reviews_review r
CROSS JOIN LATERAL (SELECT abs(hashtext('ticket:' || r.id)) AS v) h
CROSS JOIN LATERAL (
    SELECT CASE WHEN %(now)s - r.submitted_at < interval '2 hours' THEN 'new'
                WHEN %(now)s - r.submitted_at < interval '14 days' THEN 'in_progress'
                WHEN %(now)s - r.submitted_at < interval '16 days' THEN 'resolved'
                ELSE 'closed' END AS status,
           r.submitted_at + (2 + h.v %% 11) * interval '1 day' AS resolved
) a
WHERE r.status = 'published' AND r.rating <= 2 AND r.author_id IS NOT NULL
  AND abs(hashtext('answers:' || r.provider_id)) %% 100 < %(answering)s
  AND NOT EXISTS (SELECT 1 FROM responses_ticket x WHERE x.review_id = r.id)
"""

# Their histories: opened by the customer, work started, a resolution proposed, confirmed.
_BULK_TICKET_EVENTS = """
INSERT INTO responses_ticketevent (ticket_id, actor_id, actor_role, kind, from_status,
    to_status, body, internal, subject, created_at)
SELECT t.id, e.actor, e.role, e.kind, e.frm, e.too, e.body, false, '', e.at
FROM responses_ticket t
JOIN reviews_review r ON r.id = t.review_id
CROSS JOIN LATERAL (VALUES
    (t.customer_id, 'customer', 'opened', '', 'new', r.body, t.created_at),
    (NULL, 'member', 'status', 'new', 'in_progress', '', t.first_responded_at),
    (NULL, 'member', 'status', 'in_progress', 'resolved', t.resolution_summary, t.resolved_at),
    (t.customer_id, 'customer', 'status', 'resolved', 'closed', '', t.closed_at)
) AS e(actor, role, kind, frm, too, body, at)
WHERE e.at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM responses_ticketevent x WHERE x.ticket_id = t.id)
"""
