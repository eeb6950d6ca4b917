"""`seed_demo` and `recompute_provider_stats` as someone running them sees them: what a small
seed creates, that a second run adds nothing, and that the stored figures check out."""

import io
import itertools
from collections import Counter

import pytest
from allauth.account.models import EmailAddress
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, F, OuterRef, Subquery
from django.utils import timezone

from accounts.models import User
from portal import scale_seed
from portal.management.commands import seed_demo
from responses.models import EventKind, Reply, Ticket, TicketStatus
from reviews.models import (
    LIVE_STATUSES,
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
    BODY_MAX,
    BODY_MIN,
    STAT_FIELDS,
    TITLE_MAX,
    provider_stats_compute,
    visit_month_bounds,
)

PROVIDERS, REVIEWS = 14, 160
DEMO_CUSTOMER = "customer@example.com"


def seed(**options) -> str:
    out = io.StringIO()
    options = {"providers": PROVIDERS, "reviews": REVIEWS, "seed": 3, **options}
    call_command("seed_demo", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = [User, EmailAddress, Category, AspectQuestion, Provider, Review, ModerationDecision]
    return {model.__name__: model.objects.count() for model in models}


def recompute(*args) -> str:
    out = io.StringIO()
    call_command("recompute_provider_stats", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db):
    return seed()


def test_seed_creates_the_providers_and_reviews_asked_for(seeded):
    assert Provider.objects.count() == PROVIDERS
    generated = Review.objects.exclude(author__email=DEMO_CUSTOMER)
    assert generated.count() == REVIEWS
    # A long tail: some providers have none, one has many more than the typical provider.
    per_provider = sorted(Provider.objects.annotate(n=Count("reviews")).values_list("n", flat=True))
    assert per_provider[-1] >= 3 * per_provider[len(per_provider) // 2]
    assert len({p.town for p in Provider.objects.all()}) > 1
    assert all(p.postcode and p.address_line1 and p.description for p in Provider.objects.all())


def test_categories_have_their_aspect_questions(seeded):
    gp = Category.objects.get(slug="gp-practices")
    assert list(gp.aspects.values_list("text", flat=True)) == [
        "Treated with dignity and respect",
        "Ease of getting an appointment",
        "Involved in decisions about care",
    ]
    assert Category.objects.filter(slug="dentists").exists()
    assert Category.objects.count() == 10
    assert not Category.objects.annotate(n=Count("aspects")).filter(n__lt=2).exists()
    # Fewer providers than categories would leave some empty; 14 reach every one.
    assert not Category.objects.annotate(n=Count("providers")).filter(n=0).exists()


def test_reviews_are_a_realistic_mix(seeded):
    reviews = Review.objects.all()
    statuses = Counter(reviews.values_list("status", flat=True))
    assert statuses[ReviewStatus.PUBLISHED] > statuses[ReviewStatus.PENDING] > 0
    assert statuses[ReviewStatus.REJECTED] > 0
    ratings = Counter(reviews.values_list("rating", flat=True))
    # J-shaped: 5★ the most common, 1★ more common than 3★, every rating present.
    assert set(ratings) == {1, 2, 3, 4, 5}
    assert ratings.most_common(1)[0][0] == 5
    assert ratings[1] > ratings[3]
    invited = reviews.filter(source=ReviewSource.INVITED).count()
    assert 0.05 < invited / reviews.count() < 0.3
    assert reviews.exclude(aspects={}).exists()
    assert reviews.filter(would_recommend__isnull=False).exists()
    assert reviews.filter(body__contains="\n").exists()


def test_every_review_would_pass_the_submission_rules(seeded):
    earliest, latest = visit_month_bounds()
    lengths = []
    for review in Review.objects.select_related("provider__category"):
        assert 0 < len(review.title) <= TITLE_MAX
        assert BODY_MIN <= len(review.body) <= BODY_MAX
        lengths.append(len(review.body))
        assert earliest <= review.visit_month <= latest
        assert review.visit_month <= timezone.localtime(review.submitted_at).date()
        codes = set(review.provider.category.aspects.values_list("code", flat=True))
        assert set(review.aspects) <= codes
        assert all(1 <= v <= 5 for v in review.aspects.values())
    assert min(lengths) < 100 < 400 < max(lengths)  # short ones and long ones


def test_no_author_has_two_live_reviews_of_one_provider(seeded):
    twice = (
        Review.objects.filter(status__in=LIVE_STATUSES)
        .values("author", "provider")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not twice.exists()


def test_each_decided_review_has_its_moderation_decision(seeded):
    moderator = User.objects.get(email="moderator@example.com")
    review_type = ContentType.objects.get_for_model(Review)
    decided = Review.objects.exclude(status=ReviewStatus.PENDING)
    decisions = ModerationDecision.objects.filter(content_type=review_type)
    assert decisions.count() == decided.count()
    assert set(decisions.values_list("moderator", flat=True)) == {moderator.pk}
    for review in decided:
        decision = decisions.get(object_id=review.pk)
        assert decision.review_id == review.pk
        assert decision.created_at == review.decided_at
        if review.status == ReviewStatus.PUBLISHED:
            assert (decision.decision, decision.reason) == (Decision.APPROVE, "")
        else:
            assert decision.decision == Decision.REJECT and decision.reason
    assert not Review.objects.filter(status=ReviewStatus.PENDING, decided_at__isnull=False)
    assert not Review.objects.filter(status=ReviewStatus.PUBLISHED, published_at__isnull=True)


def test_rejected_reviews_carry_what_got_them_rejected(seeded):
    # Text-only checks ran on the seeded text, so personal data and links show as flags.
    flagged = Review.objects.filter(status=ReviewStatus.REJECTED).exclude(flags=[])
    assert flagged.exists()


def test_reviewers_are_verified_and_cannot_sign_in(seeded):
    reviewers = User.objects.filter(reviews__isnull=False).exclude(email=DEMO_CUSTOMER).distinct()
    assert reviewers.count() > 10
    for user in reviewers:
        assert not user.has_usable_password()
        assert EmailAddress.objects.filter(user=user, email=user.email, verified=True).exists()
        assert user.date_joined < user.reviews.earliest("submitted_at").submitted_at


def test_demo_customer_has_a_published_a_pending_and_a_rejected_review(seeded):
    mine = Review.objects.filter(author__email=DEMO_CUSTOMER)
    assert sorted(mine.values_list("status", flat=True)) == ["pending", "published", "rejected"]


def test_demo_moderator_may_moderate_and_logins_are_printed(seeded):
    assert User.objects.get(email="moderator@example.com").has_perm("reviews.moderate_content")
    assert "Demo logins (email / password):" in seeded
    assert "  customer         customer@example.com     demo-customer-pass" in seeded
    assert "  staff moderator  moderator@example.com    demo-moderator-pass" in seeded


def test_progress_reaches_the_end(seeded):
    assert f"{REVIEWS}/{REVIEWS}" in seeded


def test_running_twice_changes_no_counts(seeded):
    before = counts()
    assert before["Review"] == REVIEWS + 3
    seed()
    assert counts() == before


def test_a_bigger_second_run_only_adds(seeded):
    slugs = set(Provider.objects.values_list("slug", flat=True))
    seed(providers=PROVIDERS + 6, reviews=REVIEWS + 60)
    assert Provider.objects.count() == PROVIDERS + 6
    assert slugs < set(Provider.objects.values_list("slug", flat=True))
    assert Review.objects.filter(author__email=DEMO_CUSTOMER).count() == 3


def test_stored_figures_equal_a_recomputation(seeded):
    figures = provider_stats_compute()
    for provider in Provider.objects.all():
        assert {f: getattr(provider, f) for f in STAT_FIELDS} == figures[provider.pk]
    assert Provider.objects.filter(review_count__gt=0).exists()
    assert "All 14 providers agree." in recompute("--check")


def test_check_fails_after_a_provider_is_corrupted_and_recompute_repairs_it(seeded):
    provider = Provider.objects.filter(review_count__gt=0).first()
    # Corrupting the stored figure directly is the point: no service would do this.
    Provider.objects.filter(pk=provider.pk).update(review_count=provider.review_count + 1)
    with pytest.raises(CommandError, match="1 of 14 providers differ") as failure:
        recompute("--check")
    assert failure.value.returncode != 0
    assert "1 of 14 providers changed." in recompute()
    provider.refresh_from_db()
    assert provider.review_count == provider_stats_compute()[provider.pk]["review_count"]
    assert "All 14 providers agree." in recompute("--check")


def test_check_names_the_wrong_provider_and_field(seeded):
    provider = Provider.objects.filter(review_count__gt=0).first()
    Provider.objects.filter(pk=provider.pk).update(rating_5=provider.rating_5 + 2)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("recompute_provider_stats", "--check", stdout=out)
    assert f"{provider.slug}: rating_5: stored {provider.rating_5 + 2}" in out.getvalue()


# --- at scale: the COPY path on PostgreSQL, the same rules everywhere ------------------------
SCALE = {"providers": 300, "reviews": 3000, "business": "bulk", "quiet_logins": True}


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the COPY load, index rebuilds and bulk business activity")


@pytest.fixture
def scale_seeded(db, monkeypatch):
    # A few "stars" (chains with far more reviews) and, on PostgreSQL, the index rebuild that a
    # million-review load uses: both start at this size instead of their production thresholds.
    monkeypatch.setattr(seed_demo, "STAR_EVERY", 100)
    monkeypatch.setattr(scale_seed, "REBUILD_INDEXES_FROM", 1000)
    return seed(**SCALE)


def schema() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = ANY(%s::regclass[]) UNION "
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)",
            [scale_seed.LOADED_TABLES, scale_seed.LOADED_TABLES],
        )
        # PostgreSQL rewrites a partial index's predicate when it prints it (the IN list of
        # the exclusion constraint comes back cast differently), so compare up to WHERE.
        return {(name, definition.split(" WHERE ")[0]) for name, definition in cursor.fetchall()}


def test_a_larger_seed_has_its_skew_and_figures_that_check_out(scale_seeded):
    assert Provider.objects.count() == 300
    assert Review.objects.exclude(author__email=DEMO_CUSTOMER).count() == 3000
    per_provider = sorted(Provider.objects.annotate(n=Count("reviews")).values_list("n", flat=True))
    median = per_provider[len(per_provider) // 2]
    # Three stars with many times the typical count, most providers with a handful.
    assert per_provider[-3] >= 10 * median
    assert median <= 10
    figures = provider_stats_compute()
    for provider in Provider.objects.all():
        assert {f: getattr(provider, f) for f in STAT_FIELDS} == figures[provider.pk]
    assert "All 300 providers agree." in recompute("--check")
    # Decisions, live-review uniqueness and reviewers' join dates, as in the small seed.
    decided = Review.objects.exclude(status=ReviewStatus.PENDING)
    assert ModerationDecision.objects.filter(review__in=decided).count() == decided.count()
    assert not ModerationDecision.objects.filter(
        review__status=ReviewStatus.PUBLISHED, decision=Decision.REJECT
    ).exists()
    first = Review.objects.filter(author=OuterRef("pk")).order_by("submitted_at")
    reviewers = User.objects.filter(email__endswith="@reviewers.example.net")
    late = reviewers.annotate(first=Subquery(first.values("submitted_at")[:1])).filter(
        date_joined__gte=F("first")
    )
    assert not late.exists()


def test_a_rerun_at_scale_adds_nothing(scale_seeded, monkeypatch):
    monkeypatch.setattr(seed_demo, "STAR_EVERY", 100)
    before = {**counts(), "Reply": Reply.objects.count(), "Ticket": Ticket.objects.count()}
    seed(**SCALE)
    assert {**counts(), "Reply": Reply.objects.count(), "Ticket": Ticket.objects.count()} == before


@pytest.mark.postgres
def test_the_copy_load_rebuilds_every_index_and_constraint(postgres_only, db, monkeypatch):
    monkeypatch.setattr(scale_seed, "REBUILD_INDEXES_FROM", 1000)
    before = schema()
    out = seed(**SCALE)
    assert "Rebuilt " in out
    assert schema() == before
    assert Review.objects.count() == 3003


@pytest.mark.postgres
def test_bulk_replies_and_tickets_are_consistent(postgres_only, scale_seeded):
    now = timezone.now()
    replies = Reply.objects.select_related("review")
    assert replies.count() > 50
    for reply in replies:
        assert reply.review.status == ReviewStatus.PUBLISHED
        assert reply.provider_id == reply.review.provider_id
        assert reply.review.published_at < reply.submitted_at < reply.published_at < now
    tickets = Ticket.objects.select_related("review")
    assert tickets.count() > 10
    # Most are old enough to have run their course; the newest (if any) are still open.
    assert TicketStatus.CLOSED in {t.status for t in tickets}
    for ticket in tickets:
        assert ticket.review.status == ReviewStatus.PUBLISHED and ticket.review.rating <= 2
        assert ticket.customer_id == ticket.review.author_id
        assert ticket.created_at == ticket.review.submitted_at
        assert ticket.first_response_due > ticket.created_at
        if ticket.status == TicketStatus.NEW:
            assert ticket.first_responded_at is None
        else:
            assert ticket.created_at < ticket.first_responded_at < now
        if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            assert ticket.first_responded_at < ticket.resolved_at <= ticket.resolution_due
        if ticket.status == TicketStatus.CLOSED:
            assert ticket.resolved_at < ticket.closed_at < now and ticket.confirmed_by_customer
        else:
            assert ticket.closed_at is None
        events = list(ticket.events.order_by("created_at"))
        assert events[0].kind == EventKind.OPENED
        assert events[-1].to_status == ticket.status
        assert all(a.to_status == b.from_status for a, b in itertools.pairwise(events))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_scale_load_is_vacuumed_once_committed(postgres_only, monkeypatch):
    # No test transaction around the command here: VACUUM runs only outside one.
    monkeypatch.setattr(scale_seed, "REBUILD_INDEXES_FROM", 1000)
    out = seed(**SCALE)
    assert "Vacuum [" in out
    assert "vacuum and analyze" in out.split("Time taken: ")[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relpages, relallvisible, reltuples FROM pg_class "
            "WHERE relname = ANY(%s)",
            [scale_seed.VACUUMED_TABLES],
        )
        tables = {name: (pages, visible, rows) for name, pages, visible, rows in cursor}
    assert set(tables) == set(scale_seed.VACUUMED_TABLES)
    # Every page marked all-visible (index-only scans skip the heap at once), and statistics
    # for the planner (reltuples is -1 for a table never vacuumed or analysed).
    assert tables["reviews_review"][0] > 0
    assert {name: t[1] for name, t in tables.items()} == {name: t[0] for name, t in tables.items()}
    assert tables["reviews_review"][2] == Review.objects.count()
