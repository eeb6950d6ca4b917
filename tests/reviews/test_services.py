"""The review services as their callers see them: what they return, the rows they write, the
errors they raise (with the field they concern), the figures they change and the emails sent."""

import datetime as dt
import itertools

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from portal.models import AppendOnlyError
from reviews.models import (
    LIVE_STATUSES,
    RATING_VALUES,
    Decision,
    HelpfulVote,
    ModerationDecision,
    Provider,
    RejectionReason,
    Report,
    ReportReason,
    ReportStatus,
    Review,
    ReviewRevision,
    ReviewSource,
    ReviewStatus,
    RevisionStatus,
)
from reviews.services import (
    STAT_FIELDS,
    add_months,
    provider_stats_compute,
    review_moderate,
    review_remove,
    review_report,
    review_revise,
    review_submit,
    review_unvote_helpful,
    review_vote_helpful,
    review_withdraw,
    revision_moderate,
    visit_month_bounds,
)
from tests.factories import (
    AspectQuestionFactory,
    CategoryFactory,
    ModeratorFactory,
    ProviderFactory,
    ReviewFactory,
    StaffFactory,
    UserFactory,
    publish,
    this_month,
)

pytestmark = pytest.mark.django_db

BODY = "The dentist explained every step and the filling did not hurt at all. Lovely team."
OTHER_BODY = (
    "Reception lost my booking twice and nobody called back, so I gave up and went elsewhere."
)
NON_DECISIONS = ["publish", "", "uphold", "remove", "APPROVE"]


# --- helpers ------------------------------------------------------------------------------
def error_keys(error: ValidationError) -> set[str]:
    """The fields a ValidationError is about; a plain message counts as a non-field error."""
    return set(error.update_error_dict({}))


def figures(provider: Provider) -> dict:
    provider.refresh_from_db()
    return {field: getattr(provider, field) for field in STAT_FIELDS}


def assert_figures_agree(provider: Provider) -> None:
    """The incrementally kept figures equal a from-scratch computation."""
    assert figures(provider) == provider_stats_compute(provider_ids=[provider.pk])[provider.pk]


def expected_score(settings, *, rating_sum: int, review_count: int) -> float:
    c, m = settings.RATING_PRIOR_WEIGHT, settings.RATING_PRIOR_MEAN
    return pytest.approx((c * m + rating_sum) / (c + review_count))


def moderator_with_permission_but_not_staff():
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="moderate_content"))
    return user


NOT_MODERATORS = {
    "staff without the permission": StaffFactory,
    "customer": UserFactory,
    "inactive moderator": lambda: ModeratorFactory(is_active=False),
    "permission but not staff": moderator_with_permission_but_not_staff,
}


# --- fixtures -----------------------------------------------------------------------------
@pytest.fixture
def category():
    category = CategoryFactory(name="Dentists", slug="dentists")
    AspectQuestionFactory(category=category, code="dignity", text="Treated with dignity")
    AspectQuestionFactory(category=category, code="appointment", text="Getting an appointment")
    return category


@pytest.fixture
def provider(category):
    return ProviderFactory(category=category, name="Smile Dental Practice")


@pytest.fixture
def submit(customer, provider):
    """review_submit with valid input unless told otherwise."""

    def submit(**overrides):
        data = {
            "author": customer,
            "provider": provider,
            "rating": 4,
            "title": "Careful and kind",
            "body": BODY,
            "visit_month": this_month(),
            **overrides,
        }
        return review_submit(**data)

    return submit


@pytest.fixture
def pending(submit):
    return submit()


@pytest.fixture
def published(pending, moderator):
    return publish(pending, moderator)


@pytest.fixture
def revise(customer):
    """review_revise with valid input unless told otherwise."""

    def revise(review, **overrides):
        data = {
            "review": review,
            "author": customer,
            "rating": 2,
            "title": "Second thoughts",
            "body": OTHER_BODY,
            "visit_month": this_month(),
            **overrides,
        }
        return review_revise(**data)

    return revise


# --- review_submit: refusals --------------------------------------------------------------
def _inactive(provider):
    Provider.objects.filter(pk=provider.pk).update(is_active=False)
    return {"provider": Provider.objects.get(pk=provider.pk)}


REFUSALS = {
    "rating 0": ("rating", lambda p: {"rating": 0}),
    "rating 6": ("rating", lambda p: {"rating": 6}),
    "rating as a string": ("rating", lambda p: {"rating": "5"}),
    "no rating": ("rating", lambda p: {"rating": None}),
    "rating True": ("rating", lambda p: {"rating": True}),
    "rating 4.5": ("rating", lambda p: {"rating": 4.5}),
    "empty title": ("title", lambda p: {"title": ""}),
    "blank title": ("title", lambda p: {"title": "  \n\t "}),
    "title of 121 characters": ("title", lambda p: {"title": "t" * 121}),
    "empty body": ("body", lambda p: {"body": ""}),
    "body of 29 after stripping": ("body", lambda p: {"body": "  " + "b" * 29 + " \n "}),
    "body of 5001 characters": ("body", lambda p: {"body": "b" * 5001}),
    "visit next month": ("visit_month", lambda p: {"visit_month": add_months(this_month(), 1)}),
    "visit before the earliest month": (
        "visit_month",
        lambda p: {"visit_month": add_months(visit_month_bounds()[0], -1)},
    ),
    "no visit month": ("visit_month", lambda p: {"visit_month": None}),
    "aspect of another category": (
        "aspects",
        lambda p: {"aspects": {AspectQuestionFactory(code="cleanliness").code: 4}},
    ),
    "unknown aspect": ("aspects", lambda p: {"aspects": {"parking": 3}}),
    "aspect answer 6": ("aspects", lambda p: {"aspects": {"dignity": 6}}),
    "aspect answer True": ("aspects", lambda p: {"aspects": {"dignity": True}}),
    "would recommend 'yes'": ("would_recommend", lambda p: {"would_recommend": "yes"}),
    "inactive provider": (NON_FIELD_ERRORS, _inactive),
}
KNOWN_BUGS: dict[str, str] = {}


def refusals(names) -> list:
    return [
        pytest.param(
            name,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name])]
            if name in KNOWN_BUGS
            else [],
        )
        for name in sorted(names)
    ]


@pytest.mark.parametrize("case", refusals(REFUSALS))
def test_submit_refuses_bad_input_naming_the_field_and_writes_nothing(case, submit, provider):
    field, make = REFUSALS[case]
    overrides = make(provider)
    with pytest.raises(ValidationError) as caught:
        submit(**overrides)
    assert error_keys(caught.value) == {field}
    assert caught.value.messages and all(caught.value.messages)
    assert Review.objects.count() == 0


def test_submit_reports_every_bad_field_at_once(submit):
    with pytest.raises(ValidationError) as caught:
        submit(rating=9, title="", body="too short")
    assert error_keys(caught.value) == {"rating", "title", "body"}
    assert Review.objects.count() == 0


@pytest.mark.parametrize("status", LIVE_STATUSES)
def test_a_second_live_review_of_the_same_provider_within_12_months_is_refused(
    status, submit, moderator
):
    first = submit()
    if status == ReviewStatus.PUBLISHED:
        publish(first, moderator)
    with pytest.raises(ValidationError) as caught:
        submit(title="Again", body=OTHER_BODY)
    assert error_keys(caught.value) == {NON_FIELD_ERRORS}
    assert "12 months" in caught.value.messages[0]
    assert list(Review.objects.values_list("pk", flat=True)) == [first.pk]


@pytest.mark.parametrize(
    ("later", "allowed"),
    [
        (dt.timedelta(days=364), False),
        (dt.timedelta(days=365) - dt.timedelta(minutes=1), False),
        (dt.timedelta(days=365, minutes=1), True),
        (dt.timedelta(days=366), True),
    ],
)
def test_the_12_month_rule_counts_from_the_first_submission(later, allowed, submit, moderator):
    publish(submit(), moderator)
    with time_machine.travel(timezone.now() + later, tick=False):
        if allowed:
            assert submit(title="A year on", body=OTHER_BODY).status == ReviewStatus.PENDING
        else:
            with pytest.raises(ValidationError):
                submit(title="A year on", body=OTHER_BODY)
    assert Review.objects.count() == (2 if allowed else 1)


# --- review_submit: what is allowed --------------------------------------------------------
ACCEPTED = {
    "rating 1": (lambda: {"rating": 1}, "rating", lambda: 1),
    "rating 5": (lambda: {"rating": 5}, "rating", lambda: 5),
    "title of 120 characters": (lambda: {"title": "t" * 120}, "title", lambda: "t" * 120),
    "title is stripped": (lambda: {"title": "  Kind  "}, "title", lambda: "Kind"),
    "body of 30 after stripping": (
        lambda: {"body": "\n  " + "b" * 30 + "  "},
        "body",
        lambda: "b" * 30,
    ),
    "body of 5000 characters": (lambda: {"body": "b" * 5000}, "body", lambda: "b" * 5000),
    "earliest allowed visit month": (
        lambda: {"visit_month": visit_month_bounds()[0]},
        "visit_month",
        lambda: visit_month_bounds()[0],
    ),
    "a date this month is stored as the month": (
        lambda: {"visit_month": timezone.localdate()},
        "visit_month",
        this_month,
    ),
    "aspects of the category; blank answers dropped": (
        lambda: {"aspects": {"dignity": 5, "appointment": ""}},
        "aspects",
        lambda: {"dignity": 5},
    ),
    "would recommend": (lambda: {"would_recommend": False}, "would_recommend", lambda: False),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_submit_accepts_input_at_the_limits(case, submit):
    make, field, expected = ACCEPTED[case]
    review = submit(**make())
    review.refresh_from_db()
    assert getattr(review, field) == expected()
    assert review.status == ReviewStatus.PENDING


@pytest.mark.parametrize(
    "status", [ReviewStatus.WITHDRAWN, ReviewStatus.REJECTED, ReviewStatus.REMOVED]
)
def test_a_new_review_is_allowed_once_the_first_is_no_longer_live(status, submit):
    first = submit()
    Review.objects.filter(pk=first.pk).update(status=status)
    second = submit(title="Trying again", body=OTHER_BODY)
    assert second.pk != first.pk
    assert second.status == ReviewStatus.PENDING


def test_a_withdrawn_review_makes_room_for_a_new_one(submit, customer):
    first = submit()
    review_withdraw(review=first, author=customer)
    assert submit(body=OTHER_BODY).status == ReviewStatus.PENDING
    assert Review.objects.count() == 2


def test_a_review_of_a_different_provider_is_allowed(submit, category):
    submit()
    second = submit(provider=ProviderFactory(category=category), body=OTHER_BODY)
    assert Review.objects.filter(author=second.author).count() == 2


def test_another_customer_may_review_the_same_provider(submit, other_customer):
    submit()
    assert submit(author=other_customer, body=OTHER_BODY).author == other_customer


# --- review_submit: the result -------------------------------------------------------------
def test_a_submitted_review_waits_for_moderation_with_its_flags(submit, provider, customer):
    before = figures(provider)
    review = submit(
        body="Lovely dentist; if you have questions write to jane.doe@example.co.uk anytime.",
        aspects={"dignity": 5},
        would_recommend=True,
        wants_resolution=True,
    )
    review.refresh_from_db()
    assert review.status == ReviewStatus.PENDING
    assert review.flags == ["contains_email"]
    assert review.source == ReviewSource.ORGANIC
    assert review.published_at is None and review.decided_at is None
    assert (review.author, review.provider, review.rating) == (customer, provider, 4)
    assert review.aspects == {"dignity": 5}
    assert review.would_recommend is True and review.wants_resolution is True
    assert review.submitted_at is not None
    assert figures(provider) == before
    assert not ModerationDecision.objects.exists()


def test_even_a_flagged_review_is_only_queued_never_rejected(submit, provider):
    review = submit(body="Call me on 07700 900123 or see www.example.org, it was shit honestly.")
    assert set(review.flags) == {"contains_phone", "contains_link", "profanity"}
    assert review.status == ReviewStatus.PENDING


def test_an_invited_review_is_labelled_invited(submit):
    assert submit(source=ReviewSource.INVITED).source == ReviewSource.INVITED


# --- review_moderate -----------------------------------------------------------------------
@pytest.mark.parametrize("rating", RATING_VALUES)
def test_approving_publishes_and_counts_the_rating(rating, submit, provider, moderator, settings):
    settings.RATING_PRIOR_WEIGHT, settings.RATING_PRIOR_MEAN = 10, 4.0
    review = submit(rating=rating)
    started = timezone.now()
    result = review_moderate(review=review, moderator=moderator, decision="approve")
    assert result.status == ReviewStatus.PUBLISHED
    review.refresh_from_db()
    assert review.status == ReviewStatus.PUBLISHED
    assert started <= review.published_at <= timezone.now()
    assert review.decided_at == review.published_at
    provider.refresh_from_db()
    assert (provider.review_count, provider.rating_sum) == (1, rating)
    assert provider.rating_distribution == {str(r): int(r == rating) for r in RATING_VALUES}
    assert provider.score == expected_score(settings, rating_sum=rating, review_count=1)
    assert_figures_agree(provider)


def test_published_reviews_add_up_in_every_figure(submit, provider, moderator, settings):
    publish(submit(rating=5, aspects={"dignity": 5, "appointment": 3}, would_recommend=True))
    publish(
        submit(
            author=UserFactory(),
            rating=2,
            body=OTHER_BODY,
            aspects={"dignity": 4},
            would_recommend=False,
            source=ReviewSource.INVITED,
        ),
        moderator,
    )
    submit(author=UserFactory(), rating=1, body="x" * 40)  # pending: not counted
    provider.refresh_from_db()
    assert (provider.review_count, provider.rating_sum) == (2, 7)
    assert provider.rating_distribution == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert provider.aspect_averages() == {"dignity": 4.5, "appointment": 3}
    assert provider.recommend_percent == 50
    assert (provider.invited_count, provider.invited_average) == (1, 2)
    assert (provider.organic_count, provider.organic_average) == (1, 5)
    assert provider.score == expected_score(settings, rating_sum=7, review_count=2)
    assert_figures_agree(provider)


def test_approving_writes_exactly_one_decision(pending, moderator):
    # An approval carries no rejection reason, even when a form sends one along.
    review_moderate(
        review=pending, moderator=moderator, decision="approve", reason="other", note="fine"
    )
    decision = ModerationDecision.objects.get()
    assert decision.content_type == ContentType.objects.get_for_model(Review)
    assert (decision.object_id, decision.review, decision.target) == (pending.pk, pending, pending)
    assert (decision.moderator, decision.decision) == (moderator, Decision.APPROVE)
    assert (decision.reason, decision.note) == ("", "fine")


@pytest.mark.parametrize("reason", RejectionReason.values)
def test_rejecting_with_a_reason_records_it_and_changes_no_figures(
    reason, pending, provider, moderator
):
    before = figures(provider)
    result = review_moderate(
        review=pending, moderator=moderator, decision="reject", reason=reason, note="See policy"
    )
    assert result.status == ReviewStatus.REJECTED
    pending.refresh_from_db()
    assert pending.status == ReviewStatus.REJECTED and pending.published_at is None
    assert pending.decided_at is not None
    assert figures(provider) == before
    decision = ModerationDecision.objects.get()
    assert (decision.decision, decision.reason, decision.note) == ("reject", reason, "See policy")
    assert (decision.target, decision.moderator) == (pending, moderator)


@pytest.mark.parametrize("reason", ["", "rude", ReportReason.SPAM])
def test_rejecting_without_a_known_reason_code_is_refused(reason, pending, moderator):
    with pytest.raises(ValidationError) as caught:
        review_moderate(review=pending, moderator=moderator, decision="reject", reason=reason)
    assert error_keys(caught.value) == {"reason"}
    pending.refresh_from_db()
    assert pending.status == ReviewStatus.PENDING
    assert not ModerationDecision.objects.exists()


@pytest.mark.parametrize("decision", NON_DECISIONS)
def test_moderating_a_review_takes_approve_or_reject_only(decision, pending, moderator):
    with pytest.raises(ValidationError) as caught:
        review_moderate(review=pending, moderator=moderator, decision=decision, reason="other")
    assert error_keys(caught.value) == {"decision"}
    pending.refresh_from_db()
    assert pending.status == ReviewStatus.PENDING
    assert not ModerationDecision.objects.exists()


@pytest.mark.parametrize(
    ("first", "second"), list(itertools.product(["approve", "reject"], repeat=2))
)
def test_a_review_is_decided_once(first, second, pending, provider, moderator):
    review_moderate(review=pending, moderator=moderator, decision=first, reason="other")
    after_first = figures(provider)
    status = Review.objects.get(pk=pending.pk).status
    with pytest.raises(ValidationError) as caught:
        review_moderate(review=pending, moderator=moderator, decision=second, reason="other")
    assert error_keys(caught.value) == {NON_FIELD_ERRORS}
    assert Review.objects.get(pk=pending.pk).status == status
    assert figures(provider) == after_first
    assert ModerationDecision.objects.count() == 1


@pytest.mark.parametrize("who", sorted(NOT_MODERATORS))
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_only_moderators_may_decide(who, decision, pending, provider, mailoutbox):
    before = figures(provider)
    user = NOT_MODERATORS[who]()
    with pytest.raises(PermissionDenied):
        review_moderate(review=pending, moderator=user, decision=decision, reason="other")
    pending.refresh_from_db()
    assert pending.status == ReviewStatus.PENDING
    assert figures(provider) == before
    assert not ModerationDecision.objects.exists()
    assert mailoutbox == []


def test_the_author_is_told_of_publication_after_commit(
    pending, customer, moderator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        review_moderate(review=pending, moderator=moderator, decision="approve")
        assert mail.outbox == []
    [message] = mail.outbox
    assert message.to == [customer.email]
    assert "published" in message.subject and "Smile Dental Practice" in message.subject
    assert "Careful and kind" in message.body
    assert pending.get_absolute_url() in message.body


@pytest.mark.parametrize("reason", RejectionReason)
def test_the_author_is_told_why_a_review_was_rejected(
    reason, pending, customer, moderator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        review_moderate(
            review=pending,
            moderator=moderator,
            decision="reject",
            reason=reason.value,
            note="Please leave out the phone number.",
        )
    [message] = mail.outbox
    assert message.to == [customer.email]
    assert "not published" in message.subject
    assert f"What we decided: {Decision.REJECT.label}" in message.body
    assert f"Why: {reason.label}" in message.body
    assert "Please leave out the phone number." in message.body


def test_nothing_is_sent_or_kept_when_the_moderation_rolls_back(
    pending, provider, moderator, django_capture_on_commit_callbacks
):
    before = figures(provider)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            review_moderate(review=pending, moderator=moderator, decision="approve")
            raise RuntimeError("something after the decision failed")
    assert callbacks == [] and mail.outbox == []
    pending.refresh_from_db()
    assert pending.status == ReviewStatus.PENDING
    assert figures(provider) == before
    assert not ModerationDecision.objects.exists()


def test_a_review_by_an_erased_account_is_decided_without_an_email(
    pending, moderator, django_capture_on_commit_callbacks
):
    Review.objects.filter(pk=pending.pk).update(author=None)
    with django_capture_on_commit_callbacks(execute=True):
        review = review_moderate(review=pending, moderator=moderator, decision="approve")
    assert review.status == ReviewStatus.PUBLISHED
    assert mail.outbox == []


# --- review_revise and revision_moderate ---------------------------------------------------
def test_editing_a_published_review_creates_a_pending_revision_only(published, provider, revise):
    before = figures(provider)
    revision = revise(published, aspects={"dignity": 2})
    assert isinstance(revision, ReviewRevision)
    revision.refresh_from_db()
    assert (revision.review, revision.status) == (published, RevisionStatus.PENDING)
    assert (revision.rating, revision.title, revision.body) == (2, "Second thoughts", OTHER_BODY)
    assert revision.aspects == {"dignity": 2}
    review = Review.objects.get(pk=published.pk)
    assert review.status == ReviewStatus.PUBLISHED
    assert (review.rating, review.title, review.body) == (4, "Careful and kind", BODY)
    assert figures(provider) == before


def test_editing_runs_the_checks_on_the_new_text(published, revise):
    revision = revise(published, body="Ring the practice manager on 020 7946 0000 to complain.")
    assert revision.flags == ["contains_phone"]


@pytest.mark.parametrize("case", refusals(set(REFUSALS) - {"inactive provider"}))
def test_an_edit_with_bad_input_is_refused_and_writes_nothing(case, published, provider, revise):
    field, make = REFUSALS[case]
    with pytest.raises(ValidationError) as caught:
        revise(published, **make(provider))
    assert error_keys(caught.value) == {field}
    assert not ReviewRevision.objects.exists()
    assert Review.objects.get(pk=published.pk).title == "Careful and kind"


def test_a_second_edit_supersedes_the_first_pending_one(published, revise):
    first = revise(published)
    second = revise(published, title="Third thoughts")
    first.refresh_from_db()
    assert first.status == RevisionStatus.SUPERSEDED and first.decided_at is not None
    assert second.status == RevisionStatus.PENDING
    assert list(published.revisions.filter(status="pending")) == [second]


def test_approving_an_edit_replaces_the_text_and_moves_the_rating(
    published, provider, revise, moderator, settings
):
    revision = revise(published, aspects={"dignity": 1}, would_recommend=False)
    result = revision_moderate(revision=revision, moderator=moderator, decision="approve")
    assert result.status == RevisionStatus.APPROVED
    review = Review.objects.get(pk=published.pk)
    assert (review.rating, review.title, review.body) == (2, "Second thoughts", OTHER_BODY)
    assert (review.aspects, review.would_recommend) == ({"dignity": 1}, False)
    assert review.status == ReviewStatus.PUBLISHED
    provider.refresh_from_db()
    assert (provider.review_count, provider.rating_sum) == (1, 2)
    assert (provider.rating_4, provider.rating_2) == (0, 1)
    assert provider.score == expected_score(settings, rating_sum=2, review_count=1)
    assert provider.aspect_averages() == {"dignity": 1}
    assert_figures_agree(provider)
    decision = ModerationDecision.objects.filter(decision="approve").latest("pk")
    assert decision.content_type == ContentType.objects.get_for_model(ReviewRevision)
    assert (decision.target, decision.review, decision.moderator) == (revision, review, moderator)


def test_approving_an_edit_with_the_same_rating_keeps_the_figures(
    published, provider, revise, moderator
):
    before = figures(provider)
    revision = revise(published, rating=4)
    revision_moderate(revision=revision, moderator=moderator, decision="approve")
    assert Review.objects.get(pk=published.pk).body == OTHER_BODY
    assert figures(provider) == before


def test_rejecting_an_edit_keeps_the_published_text_and_figures(
    published, provider, revise, moderator, customer, django_capture_on_commit_callbacks
):
    before = figures(provider)
    revision = revise(published)
    with django_capture_on_commit_callbacks(execute=True):
        revision_moderate(
            revision=revision, moderator=moderator, decision="reject", reason="offensive"
        )
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.REJECTED
    review = Review.objects.get(pk=published.pk)
    assert (review.rating, review.body, review.status) == (4, BODY, ReviewStatus.PUBLISHED)
    assert figures(provider) == before
    decision = ModerationDecision.objects.get(decision="reject")
    assert (decision.target, decision.reason) == (revision, "offensive")
    [message] = [m for m in mail.outbox if m.to == [customer.email]]
    assert f"Why: {RejectionReason.OFFENSIVE.label}" in message.body


def test_rejecting_an_edit_needs_a_reason(published, revise, moderator):
    revision = revise(published)
    with pytest.raises(ValidationError) as caught:
        revision_moderate(revision=revision, moderator=moderator, decision="reject")
    assert error_keys(caught.value) == {"reason"}
    assert ReviewRevision.objects.get(pk=revision.pk).status == RevisionStatus.PENDING


@pytest.mark.parametrize("who", sorted(NOT_MODERATORS))
def test_only_moderators_may_decide_an_edit(who, published, revise):
    revision = revise(published)
    with pytest.raises(PermissionDenied):
        revision_moderate(revision=revision, moderator=NOT_MODERATORS[who](), decision="approve")
    assert ReviewRevision.objects.get(pk=revision.pk).status == RevisionStatus.PENDING
    assert Review.objects.get(pk=published.pk).body == BODY


def test_an_edit_is_decided_once(published, revise, moderator):
    revision = revise(published)
    revision_moderate(revision=revision, moderator=moderator, decision="approve")
    with pytest.raises(ValidationError):
        revision_moderate(revision=revision, moderator=moderator, decision="reject", reason="other")
    assert ReviewRevision.objects.get(pk=revision.pk).status == RevisionStatus.APPROVED


def test_a_superseded_edit_cannot_be_approved(published, revise, moderator, provider):
    first = revise(published)
    revise(published, title="Third thoughts", rating=5)
    with pytest.raises(ValidationError):
        revision_moderate(revision=first, moderator=moderator, decision="approve")
    assert Review.objects.get(pk=published.pk).title == "Careful and kind"


@pytest.mark.parametrize("status", [ReviewStatus.PENDING, ReviewStatus.REJECTED])
def test_an_unpublished_review_is_edited_in_place_and_queued_again(
    status, pending, provider, revise, moderator
):
    if status == ReviewStatus.REJECTED:
        review_moderate(review=pending, moderator=moderator, decision="reject", reason="other")
    old_submitted_at = Review.objects.get(pk=pending.pk).submitted_at
    before = figures(provider)
    result = revise(pending)
    assert isinstance(result, Review)
    review = Review.objects.get(pk=pending.pk)
    assert review.status == ReviewStatus.PENDING
    assert (review.rating, review.title, review.body) == (2, "Second thoughts", OTHER_BODY)
    assert review.submitted_at > old_submitted_at
    assert not ReviewRevision.objects.exists()
    assert Review.objects.count() == 1
    assert figures(provider) == before


def test_a_rejected_review_cannot_be_resubmitted_beside_a_newer_live_one(
    pending, submit, revise, moderator
):
    review_moderate(review=pending, moderator=moderator, decision="reject", reason="other")
    submit(title="A fresh review", body="A completely different and fresh account of my visit.")
    with pytest.raises(ValidationError) as caught:
        revise(pending)
    assert error_keys(caught.value) == {NON_FIELD_ERRORS}
    assert Review.objects.get(pk=pending.pk).status == ReviewStatus.REJECTED


def test_editing_the_own_pending_text_is_not_a_duplicate_of_itself(pending, revise):
    review = revise(pending, body=BODY, rating=4)
    assert "duplicate" not in review.flags


@pytest.mark.parametrize("state", ["pending", "published"])
def test_only_the_author_may_edit(state, pending, moderator, revise, other_customer):
    review = publish(pending, moderator) if state == "published" else pending
    with pytest.raises(PermissionDenied):
        revise(review, author=other_customer)
    assert not ReviewRevision.objects.exists()
    assert Review.objects.get(pk=review.pk).body == BODY


@pytest.mark.parametrize("status", [ReviewStatus.WITHDRAWN, ReviewStatus.REMOVED])
def test_a_review_that_was_taken_down_cannot_be_edited(status, published, revise, customer):
    Review.objects.filter(pk=published.pk).update(status=status)
    with pytest.raises(ValidationError):
        revise(published)
    review = Review.objects.get(pk=published.pk)
    assert (review.status, review.body) == (status, BODY)
    assert not ReviewRevision.objects.exists()


def test_a_withdrawn_review_cannot_be_edited(published, revise, customer):
    review_withdraw(review=published, author=customer)
    with pytest.raises(ValidationError):
        revise(published)
    assert not ReviewRevision.objects.exists()


# --- review_withdraw ------------------------------------------------------------------------
def test_withdrawing_a_published_review_takes_it_out_of_the_figures(
    published, submit, provider, customer, settings
):
    publish(submit(author=UserFactory(), rating=1, body=OTHER_BODY))
    result = review_withdraw(review=published, author=customer)
    assert result.status == ReviewStatus.WITHDRAWN
    assert Review.objects.get(pk=published.pk).status == ReviewStatus.WITHDRAWN
    provider.refresh_from_db()
    assert (provider.review_count, provider.rating_sum, provider.rating_4) == (1, 1, 0)
    assert provider.score == expected_score(settings, rating_sum=1, review_count=1)
    assert_figures_agree(provider)


def test_withdrawing_the_only_review_returns_the_figures_to_the_prior(
    published, provider, customer, settings
):
    review_withdraw(review=published, author=customer)
    provider.refresh_from_db()
    assert (provider.review_count, provider.rating_sum) == (0, 0)
    assert provider.rating_distribution == dict.fromkeys("12345", 0)
    assert provider.score == pytest.approx(settings.RATING_PRIOR_MEAN)
    assert_figures_agree(provider)


def test_a_provider_never_reviewed_has_the_figures_a_recompute_gives(provider):
    assert_figures_agree(provider)


@pytest.mark.parametrize("status", [ReviewStatus.PENDING, ReviewStatus.REJECTED])
def test_withdrawing_an_unpublished_review_changes_no_figures(
    status, pending, provider, customer, moderator
):
    if status == ReviewStatus.REJECTED:
        review_moderate(review=pending, moderator=moderator, decision="reject", reason="other")
    before = figures(provider)
    assert review_withdraw(review=pending, author=customer).status == ReviewStatus.WITHDRAWN
    assert Review.objects.get(pk=pending.pk).status == ReviewStatus.WITHDRAWN
    assert figures(provider) == before


def test_withdrawing_drops_a_pending_edit(published, revise, customer, moderator):
    revision = revise(published)
    review_withdraw(review=published, author=customer)
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.SUPERSEDED
    with pytest.raises(ValidationError):
        revision_moderate(revision=revision, moderator=moderator, decision="approve")


@pytest.mark.parametrize("state", ["pending", "published"])
def test_only_the_author_may_withdraw(state, pending, moderator, provider, other_customer):
    review = publish(pending, moderator) if state == "published" else pending
    before = figures(provider)
    for user in (other_customer, moderator):
        with pytest.raises(PermissionDenied):
            review_withdraw(review=review, author=user)
    assert Review.objects.get(pk=review.pk).status == state
    assert figures(provider) == before


def test_withdrawing_twice_is_refused(published, provider, customer):
    review_withdraw(review=published, author=customer)
    after = figures(provider)
    with pytest.raises(ValidationError):
        review_withdraw(review=published, author=customer)
    assert figures(provider) == after


# --- review_remove --------------------------------------------------------------------------
def test_removing_a_published_review_records_why_and_leaves_the_figures(
    published, provider, moderator, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = review_remove(
            review=published, moderator=moderator, reason="not_genuine", note="Report upheld"
        )
    assert result.status == ReviewStatus.REMOVED
    assert Review.objects.get(pk=published.pk).status == ReviewStatus.REMOVED
    provider.refresh_from_db()
    assert (provider.review_count, provider.rating_sum, provider.rating_4) == (0, 0, 0)
    assert_figures_agree(provider)
    decision = ModerationDecision.objects.get(decision=Decision.REMOVE)
    assert (decision.target, decision.review, decision.moderator) == (
        published,
        published,
        moderator,
    )
    assert (decision.reason, decision.note) == ("not_genuine", "Report upheld")
    [message] = mail.outbox
    assert message.to == [customer.email] and "removed" in message.subject
    assert f"Why: {RejectionReason.NOT_GENUINE.label}" in message.body


@pytest.mark.parametrize("reason", ["", "rude"])
def test_removing_needs_a_reason_code(reason, published, provider, moderator):
    before = figures(provider)
    with pytest.raises(ValidationError) as caught:
        review_remove(review=published, moderator=moderator, reason=reason)
    assert error_keys(caught.value) == {"reason"}
    assert Review.objects.get(pk=published.pk).status == ReviewStatus.PUBLISHED
    assert figures(provider) == before


@pytest.mark.parametrize("status", sorted(set(ReviewStatus.values) - {ReviewStatus.PUBLISHED}))
def test_only_a_published_review_can_be_removed(status, pending, provider, moderator):
    Review.objects.filter(pk=pending.pk).update(status=status)
    with pytest.raises(ValidationError):
        review_remove(review=pending, moderator=moderator, reason="other")
    assert Review.objects.get(pk=pending.pk).status == status
    assert not ModerationDecision.objects.exists()


@pytest.mark.parametrize("who", sorted(NOT_MODERATORS))
def test_only_moderators_may_remove(who, published, provider):
    before = figures(provider)
    with pytest.raises(PermissionDenied):
        review_remove(review=published, moderator=NOT_MODERATORS[who](), reason="other")
    assert Review.objects.get(pk=published.pk).status == ReviewStatus.PUBLISHED
    assert figures(provider) == before


def test_removing_drops_a_pending_edit(published, revise, moderator):
    revision = revise(published)
    review_remove(review=published, moderator=moderator, reason="other")
    assert ReviewRevision.objects.get(pk=revision.pk).status != RevisionStatus.PENDING


# --- helpful votes ------------------------------------------------------------------------
def test_each_person_counts_once_as_helpful(published, other_customer):
    assert review_vote_helpful(review=published, user=other_customer).helpful_count == 1
    assert review_vote_helpful(review=published, user=other_customer).helpful_count == 1
    assert review_vote_helpful(review=published, user=UserFactory()).helpful_count == 2
    assert Review.objects.get(pk=published.pk).helpful_count == 2
    assert HelpfulVote.objects.filter(review=published).count() == 2


def test_unvoting_takes_the_vote_back_once(published, other_customer):
    review_vote_helpful(review=published, user=other_customer)
    review_vote_helpful(review=published, user=UserFactory())
    assert review_unvote_helpful(review=published, user=other_customer).helpful_count == 1
    assert review_unvote_helpful(review=published, user=other_customer).helpful_count == 1
    assert not HelpfulVote.objects.filter(user=other_customer).exists()


def test_unvoting_without_a_vote_changes_nothing(published, other_customer):
    assert review_unvote_helpful(review=published, user=other_customer).helpful_count == 0
    assert Review.objects.get(pk=published.pk).helpful_count == 0


def test_authors_cannot_vote_for_their_own_review(published, customer):
    with pytest.raises(ValidationError):
        review_vote_helpful(review=published, user=customer)
    assert Review.objects.get(pk=published.pk).helpful_count == 0
    assert not HelpfulVote.objects.exists()


@pytest.mark.parametrize("status", sorted(set(ReviewStatus.values) - {ReviewStatus.PUBLISHED}))
def test_an_unpublished_review_cannot_be_voted_for(status, pending, other_customer):
    Review.objects.filter(pk=pending.pk).update(status=status)
    with pytest.raises(ValidationError):
        review_vote_helpful(review=pending, user=other_customer)
    assert Review.objects.get(pk=pending.pk).helpful_count == 0
    assert not HelpfulVote.objects.exists()


# --- reports --------------------------------------------------------------------------------
@pytest.mark.parametrize("reason", ReportReason.values)
def test_a_report_is_opened_with_its_reason_and_detail(reason, published, other_customer):
    report = review_report(
        review=published, reporter=other_customer, reason=reason, detail="  It names a nurse. "
    )
    report.refresh_from_db()
    assert (report.review, report.reporter, report.reason) == (published, other_customer, reason)
    assert (report.status, report.detail) == (ReportStatus.OPEN, "It names a nurse.")


@pytest.mark.parametrize("reason", ["", "rude", RejectionReason.ADVERTISING])
def test_a_report_needs_a_reason_from_the_list(reason, published, other_customer):
    with pytest.raises(ValidationError) as caught:
        review_report(review=published, reporter=other_customer, reason=reason)
    assert error_keys(caught.value) == {"reason"}
    assert not Report.objects.exists()


def test_a_report_detail_is_at_most_2000_characters(published, other_customer):
    with pytest.raises(ValidationError) as caught:
        review_report(review=published, reporter=other_customer, reason="other", detail="d" * 2001)
    assert error_keys(caught.value) == {"detail"}
    report = review_report(
        review=published, reporter=other_customer, reason="other", detail="d" * 2000
    )
    assert Report.objects.get().pk == report.pk


def test_reporting_the_same_review_twice_while_open_is_refused(published, other_customer):
    review_report(review=published, reporter=other_customer, reason="spam")
    with pytest.raises(ValidationError) as caught:
        review_report(review=published, reporter=other_customer, reason="offensive")
    assert error_keys(caught.value) == {NON_FIELD_ERRORS}
    assert Report.objects.count() == 1
    review_report(review=published, reporter=UserFactory(), reason="offensive")
    assert Report.objects.count() == 2


@pytest.mark.parametrize("status", sorted(set(ReviewStatus.values) - {ReviewStatus.PUBLISHED}))
def test_an_unpublished_review_cannot_be_reported(status, pending, other_customer):
    Review.objects.filter(pk=pending.pk).update(status=status)
    with pytest.raises(ValidationError):
        review_report(review=pending, reporter=other_customer, reason="spam")
    assert not Report.objects.exists()


# --- the decision log is append-only --------------------------------------------------------
def _save_again(decision):
    decision.note = "rewritten"
    decision.save()


REWRITES = {
    "save an existing row": _save_again,
    "delete a row": lambda d: d.delete(),
    "queryset update": lambda d: ModerationDecision.objects.filter(pk=d.pk).update(note="x"),
    "queryset delete": lambda d: ModerationDecision.objects.filter(pk=d.pk).delete(),
    "update all": lambda d: ModerationDecision.objects.update(decision="reject"),
    "related manager update": lambda d: d.review.decisions.update(note="x"),
    "bulk update": lambda d: ModerationDecision.objects.bulk_update([d], ["note"]),
}


@pytest.mark.parametrize("how", sorted(REWRITES))
def test_moderation_decisions_cannot_be_changed_or_deleted(how, published):
    decision = ModerationDecision.objects.get()
    with pytest.raises(AppendOnlyError), transaction.atomic():
        REWRITES[how](decision)
    stored = ModerationDecision.objects.get()
    assert (stored.pk, stored.decision, stored.note) == (decision.pk, "approve", "")


# --- database constraints -------------------------------------------------------------------
@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the exclusion constraint exists only there (0002)")


@pytest.mark.parametrize("rating", [0, 6])
def test_the_database_refuses_a_rating_outside_1_to_5(rating, provider, customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewFactory(provider=provider, author=customer, rating=rating)
    assert Review.objects.count() == 0


@pytest.mark.parametrize("rating", [0, 6])
def test_the_database_refuses_a_revision_rating_outside_1_to_5(rating, published):
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewRevision.objects.create(
            review=published,
            rating=rating,
            title="t",
            body="b",
            visit_month=this_month(),
            submitted_at=timezone.now(),
        )
    assert not ReviewRevision.objects.exists()


@pytest.mark.postgres
@pytest.mark.parametrize("first_status", LIVE_STATUSES)
def test_the_database_refuses_a_second_live_review(first_status, postgres_only, provider, customer):
    ReviewFactory(provider=provider, author=customer, status=first_status)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewFactory(provider=provider, author=customer)
    assert Review.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("first_status", sorted(set(ReviewStatus.values) - set(LIVE_STATUSES)))
def test_the_database_allows_a_new_review_beside_one_no_longer_live(
    first_status, postgres_only, provider, customer
):
    ReviewFactory(provider=provider, author=customer, status=first_status)
    ReviewFactory(provider=provider, author=customer)
    assert Review.objects.count() == 2


@pytest.mark.postgres
def test_the_database_allows_live_reviews_more_than_365_days_apart(
    postgres_only, provider, customer
):
    ReviewFactory(
        provider=provider, author=customer, submitted_at=timezone.now() - dt.timedelta(days=366)
    )
    ReviewFactory(provider=provider, author=customer)
    ReviewFactory(provider=provider, author=None)
    ReviewFactory(provider=provider, author=None)
    assert Review.objects.count() == 4


@pytest.mark.postgres
def test_the_database_rule_surfaces_as_the_form_error(
    postgres_only, submit, customer, provider, monkeypatch
):
    """When two submissions race past the service's own check, the constraint still answers."""
    ReviewFactory(provider=provider, author=customer)
    monkeypatch.setattr("reviews.services.content._has_other_live_review", lambda **kwargs: False)
    with pytest.raises(ValidationError) as caught:
        submit(body=OTHER_BODY)
    assert error_keys(caught.value) == {NON_FIELD_ERRORS}
    assert "12 months" in caught.value.messages[0]
    assert Review.objects.count() == 1
