"""Providers' stored figures are changed step by step by the services that publish, withdraw,
remove and revise reviews; after any sequence of those, they must equal a recomputation from
scratch, a count of our own, and the Bayesian formula in settings."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from reviews.models import (
    LIVE_STATUSES,
    RATING_VALUES,
    Decision,
    Provider,
    RejectionReason,
    Review,
    ReviewRevision,
    ReviewSource,
    ReviewStatus,
    RevisionStatus,
)
from reviews.services import (
    STAT_FIELDS,
    provider_stats_compute,
    provider_stats_recompute,
    review_moderate,
    review_remove,
    review_revise,
    review_submit,
    review_withdraw,
    revision_moderate,
)
from tests.factories import (
    AspectQuestionFactory,
    CategoryFactory,
    ModeratorFactory,
    ProviderFactory,
    ReviewFactory,
    UserFactory,
    publish,
    this_month,
)

ASPECTS = ("manner", "speed")
BODY = "An ordinary visit: the staff were helpful and the wait was short."
AUTHORS, PROVIDERS = 3, 2

# Moderators approve most of what they see, so runs reach published reviews and their edits.
approvals = st.sampled_from([True, True, True, False])
contents = st.fixed_dictionaries(
    {
        "rating": st.sampled_from(RATING_VALUES),
        "aspects": st.dictionaries(st.sampled_from(ASPECTS), st.sampled_from(RATING_VALUES)),
        "would_recommend": st.sampled_from([None, True, False]),
    }
)
sources = st.sampled_from([ReviewSource.ORGANIC, ReviewSource.INVITED])


def expected_figures(published: list[dict]) -> dict:
    """Figures counted the simplest way, independently of the services' own code."""
    aspect_totals = {}
    for review in published:
        for code, value in review["aspects"].items():
            pair = aspect_totals.setdefault(code, [0, 0])
            pair[0] += value
            pair[1] += 1
    answered = [r["would_recommend"] for r in published if r["would_recommend"] is not None]
    invited = [r["rating"] for r in published if r["source"] == ReviewSource.INVITED]
    return {
        "review_count": len(published),
        "rating_sum": sum(r["rating"] for r in published),
        **{f"rating_{n}": sum(r["rating"] == n for r in published) for n in RATING_VALUES},
        "aspect_totals": aspect_totals,
        "recommend_yes": sum(answered),
        "recommend_answers": len(answered),
        "invited_count": len(invited),
        "invited_sum": sum(invited),
    }


PENDING, PUBLISHED, REJECTED = ReviewStatus.PENDING, ReviewStatus.PUBLISHED, ReviewStatus.REJECTED
TAKEN_DOWN = (ReviewStatus.WITHDRAWN, ReviewStatus.REMOVED)


def having(*statuses):
    return precondition(lambda machine: machine.pks(*statuses))


class ProviderFigures(RuleBasedStateMachine):
    """Random sequences of what customers and moderators do, over two providers in a category
    with two aspect questions, and three authors.

    The machine keeps its own record of each review (who, where, status, current content) and
    each edit. Most rules pick a review the move applies to, so that runs go deep (published,
    revised, the revision decided, withdrawn...) rather than mostly bouncing off refusals;
    one rule tries the moves that must be refused, and a refused move must change nothing.
    """

    def __init__(self):
        super().__init__()
        # Every example runs inside a savepoint that teardown() rolls back, so each starts
        # from the same empty tables while the test as a whole keeps pytest-django's `db`.
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        category = CategoryFactory()
        for code in ASPECTS:
            AspectQuestionFactory(category=category, code=code)
        self.providers = ProviderFactory.create_batch(PROVIDERS, category=category)
        self.authors = UserFactory.create_batch(AUTHORS)
        self.moderator = ModeratorFactory()
        self.records: dict[int, dict] = {}  # review pk -> author, provider, status, content
        self.edits: dict[int, dict] = {}  # revision pk -> review pk, status, content

    def teardown(self):
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # --- the machine's own record ----------------------------------------------------------
    def pks(self, *statuses) -> list[int]:
        return sorted(pk for pk, r in self.records.items() if r["status"] in statuses)

    def pending_edits(self) -> list[int]:
        return sorted(pk for pk, e in self.edits.items() if e["status"] == RevisionStatus.PENDING)

    def other_live(self, author, provider, exclude=None) -> bool:
        return any(
            r["author"] == author and r["provider"] == provider and r["status"] in LIVE_STATUSES
            for pk, r in self.records.items()
            if pk != exclude
        )

    def supersede_edits_of(self, review_pk: int) -> None:
        for edit in self.edits.values():
            if edit["review"] == review_pk and edit["status"] == RevisionStatus.PENDING:
                edit["status"] = RevisionStatus.SUPERSEDED

    # --- the services ------------------------------------------------------------------------
    def _moderate(self, pk, approve):
        return review_moderate(
            review=Review.objects.get(pk=pk),
            moderator=self.moderator,
            decision=Decision.APPROVE if approve else Decision.REJECT,
            reason="" if approve else RejectionReason.OTHER,
        )

    def _withdraw(self, pk):
        return review_withdraw(review=Review.objects.get(pk=pk), author=self.records[pk]["author"])

    def _remove(self, pk):
        return review_remove(
            review=Review.objects.get(pk=pk), moderator=self.moderator, reason="offensive"
        )

    def _revise(self, pk, content):
        return review_revise(
            review=Review.objects.get(pk=pk),
            author=self.records[pk]["author"],
            title="My visit, updated",
            body=BODY + " Edited.",
            visit_month=this_month(),
            **content,
        )

    # --- rules -------------------------------------------------------------------------------
    @rule(
        author=st.integers(0, AUTHORS - 1),
        provider=st.integers(0, PROVIDERS - 1),
        content=contents,
        source=sources,
    )
    def submit(self, author, provider, content, source):
        author, provider = self.authors[author], self.providers[provider]
        allowed = not self.other_live(author, provider)
        try:
            review = review_submit(
                author=author,
                provider=provider,
                title="My visit",
                body=BODY,
                visit_month=this_month(),
                source=source,
                **content,
            )
        except ValidationError:
            assert not allowed, "refused a first live review"
            return
        assert allowed, "accepted a second live review of one provider by one author"
        self.records[review.pk] = {
            "author": author,
            "provider": provider,
            "status": PENDING,
            "content": {**content, "source": source},
        }

    @having(PENDING)
    @rule(data=st.data(), approve=approvals)
    def moderate(self, data, approve):
        pk = data.draw(st.sampled_from(self.pks(PENDING)))
        self._moderate(pk, approve)
        self.records[pk]["status"] = PUBLISHED if approve else REJECTED

    @having(PENDING, PUBLISHED, REJECTED)
    @rule(data=st.data(), by_author=st.booleans())
    def take_down(self, data, by_author):
        """The author withdraws (any live or rejected review) or a moderator removes (only a
        published one); one rule for both, so that reviews are not taken down too often."""
        if by_author or not self.pks(PUBLISHED):
            pk = data.draw(st.sampled_from(self.pks(PENDING, PUBLISHED, REJECTED)))
            self._withdraw(pk)
            self.records[pk]["status"] = ReviewStatus.WITHDRAWN
        else:
            pk = data.draw(st.sampled_from(self.pks(PUBLISHED)))
            self._remove(pk)
            self.records[pk]["status"] = ReviewStatus.REMOVED
        self.supersede_edits_of(pk)

    @having(PUBLISHED)
    @rule(data=st.data(), content=contents)
    def revise_published(self, data, content):
        pk = data.draw(st.sampled_from(self.pks(PUBLISHED)))
        revision = self._revise(pk, content)
        assert isinstance(revision, ReviewRevision)  # the public text stays until approved
        self.supersede_edits_of(pk)
        self.edits[revision.pk] = {
            "review": pk,
            "status": RevisionStatus.PENDING,
            "content": content,
        }

    @having(PENDING, REJECTED)
    @rule(data=st.data(), content=contents)
    def revise_unpublished(self, data, content):
        pk = data.draw(st.sampled_from(self.pks(PENDING, REJECTED)))
        record = self.records[pk]
        blocked = record["status"] == REJECTED and self.other_live(
            record["author"], record["provider"], exclude=pk
        )
        try:
            self._revise(pk, content)  # changed in place and back in the queue
        except ValidationError:
            assert blocked, "refused to resubmit a rejected review with no other live one"
            return
        assert not blocked, "resubmitted a rejected review beside another live one"
        record["status"] = PENDING
        record["content"].update(content)

    @precondition(lambda machine: machine.pending_edits())
    @rule(data=st.data(), approve=approvals)
    def moderate_revision(self, data, approve):
        pk = data.draw(st.sampled_from(self.pending_edits()))
        edit = self.edits[pk]
        revision_moderate(
            revision=ReviewRevision.objects.get(pk=pk),
            moderator=self.moderator,
            decision=Decision.APPROVE if approve else Decision.REJECT,
            reason="" if approve else RejectionReason.OTHER,
        )
        edit["status"] = RevisionStatus.APPROVED if approve else RevisionStatus.REJECTED
        if approve:
            self.records[edit["review"]]["content"].update(edit["content"])

    @precondition(lambda machine: len(machine.pending_edits()) < len(machine.edits))
    @rule(data=st.data(), approve=st.booleans())
    def attempt_to_decide_an_edit_again(self, data, approve):
        decided = sorted(set(self.edits) - set(self.pending_edits()))
        pk = data.draw(st.sampled_from(decided))
        with pytest.raises(ValidationError):
            revision_moderate(
                revision=ReviewRevision.objects.get(pk=pk),
                moderator=self.moderator,
                decision=Decision.APPROVE if approve else Decision.REJECT,
                reason="" if approve else RejectionReason.OTHER,
            )

    @precondition(lambda machine: machine.records)
    @rule(data=st.data(), content=contents)
    def attempt_a_refused_move(self, data, content):
        pk = data.draw(st.sampled_from(sorted(self.records)))
        status = self.records[pk]["status"]
        refused = {
            "moderate": status != PENDING,
            "withdraw": status in TAKEN_DOWN,
            "remove": status != PUBLISHED,
            "revise": status in TAKEN_DOWN,
        }
        moves = sorted(move for move, is_refused in refused.items() if is_refused)
        if not moves:
            return
        move = data.draw(st.sampled_from(moves))
        calls = {
            "moderate": lambda: self._moderate(pk, approve=True),
            "withdraw": lambda: self._withdraw(pk),
            "remove": lambda: self._remove(pk),
            "revise": lambda: self._revise(pk, content),
        }
        with pytest.raises(ValidationError):
            calls[move]()

    # How many times the invariant ran, across examples: proof that the run compared anything.
    comparisons = 0

    @invariant()
    def stored_figures_agree(self):
        type(self).comparisons += 1
        ids = [p.pk for p in self.providers]
        computed = provider_stats_compute(provider_ids=ids)
        c, m = settings.RATING_PRIOR_WEIGHT, settings.RATING_PRIOR_MEAN
        for provider in Provider.objects.filter(pk__in=ids):
            stored = {field: getattr(provider, field) for field in STAT_FIELDS}
            note(f"provider {provider.pk}: {stored}")
            assert stored == computed[provider.pk]
            published = [
                r["content"]
                for r in self.records.values()
                if r["provider"] == provider and r["status"] == PUBLISHED
            ]
            counted = {k: v for k, v in stored.items() if k != "score"}
            assert counted == expected_figures(published)
            bayes = (c * m + provider.rating_sum) / (c + provider.review_count)
            assert provider.score == pytest.approx(bayes, abs=1e-6)


def test_figures_always_agree_with_a_recomputation(db):
    # Every step checks the invariant above; a failing comparison raises from here.
    ProviderFigures.comparisons = 0
    run_state_machine_as_test(
        ProviderFigures,
        settings=hypothesis_settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    assert ProviderFigures.comparisons >= 30


def test_a_new_provider_already_agrees_with_a_recomputation(db):
    provider = ProviderFactory()
    assert provider_stats_recompute(provider_ids=[provider.pk]) == 0


def test_recompute_repairs_corrupted_providers_and_counts_them(db, moderator):
    intact, broken, emptied = ProviderFactory.create_batch(3)
    for provider in (intact, broken, emptied):
        for rating in (5, 2):
            review = review_submit(
                author=UserFactory(),
                provider=provider,
                rating=rating,
                title="My visit",
                body=BODY,
                visit_month=this_month(),
                would_recommend=rating > 3,
            )
            publish(review, moderator)
    # Writing the figures directly is the damage under test; no service does this.
    Provider.objects.filter(pk=broken.pk).update(rating_sum=1, rating_5=0, score=0.5)
    Provider.objects.filter(pk=emptied.pk).update(review_count=0, aspect_totals={"x": [1, 1]})

    assert provider_stats_recompute() == 2

    computed = provider_stats_compute()
    for provider in (intact, broken, emptied):
        provider.refresh_from_db()
        assert {f: getattr(provider, f) for f in STAT_FIELDS} == computed[provider.pk]
        assert (provider.review_count, provider.rating_sum, provider.rating_5) == (2, 7, 1)
        c, m = settings.RATING_PRIOR_WEIGHT, settings.RATING_PRIOR_MEAN
        assert provider.score == pytest.approx((c * m + 7) / (c + 2))
    assert provider_stats_recompute() == 0


def test_recompute_limited_to_some_providers_leaves_the_others(db):
    one, other = ProviderFactory.create_batch(2)
    Provider.objects.filter(pk__in=[one.pk, other.pk]).update(review_count=9)
    assert provider_stats_recompute(provider_ids=[one.pk]) == 1
    assert Provider.objects.get(pk=other.pk).review_count == 9
    assert Provider.objects.get(pk=one.pk).review_count == 0


def test_recompute_of_reviews_written_straight_to_the_table_equals_the_computation(db):
    """As after a bulk load (seed_demo): published reviews with every kind of figure, and
    none of them counted yet. On PostgreSQL this is the set-based SQL path."""
    busy, quiet, empty = ProviderFactory.create_batch(3)
    now = timezone.now()
    shapes = [
        (5, {"manner": 5, "speed": 4}, True, ReviewSource.INVITED),
        (1, {"manner": 1}, False, ReviewSource.ORGANIC),
        (3, {}, None, ReviewSource.ORGANIC),
        (4, {"speed": 3}, True, ReviewSource.INVITED),
        (2, {"manner": 2, "speed": 1}, None, ReviewSource.ORGANIC),
    ]
    for i in range(23):  # 23 + the prior weight 7 = 30: a score that is not a round number
        rating, aspects, recommend, source = shapes[i % len(shapes)]
        ReviewFactory(
            provider=busy,
            rating=rating,
            aspects=aspects,
            would_recommend=recommend,
            source=source,
            status=ReviewStatus.PUBLISHED,
            published_at=now,
        )
    ReviewFactory(provider=quiet, rating=4, aspects={"speed": 5}, status=ReviewStatus.PUBLISHED)
    ReviewFactory(provider=quiet, rating=1, status=ReviewStatus.PENDING)
    ReviewFactory(provider=empty, rating=5, status=ReviewStatus.REJECTED)

    assert provider_stats_recompute(provider_ids=[busy.pk, quiet.pk, empty.pk]) == 2
    computed = provider_stats_compute()
    for provider in (busy, quiet, empty):
        provider.refresh_from_db()
        assert {f: getattr(provider, f) for f in STAT_FIELDS} == computed[provider.pk]
    assert busy.review_count == 23 and busy.aspect_totals["manner"][1] == 14
    assert quiet.review_count == 1 and quiet.aspect_totals == {"speed": [5, 1]}
    assert empty.review_count == 0 and empty.aspect_totals == {}
    assert provider_stats_recompute() == 0
