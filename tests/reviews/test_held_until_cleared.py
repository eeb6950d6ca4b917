"""A review the automatic checks flag as suspicious (a burst, a copy) never counts before a
moderator clears it: every review, from the form or the API, waits in the queue; the provider's
figures, page, API and feed leave it out; the queue shows the flags; and approving it is a
moderator's recorded decision, after which (and only after which) it counts."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from rest_framework.test import APIClient

from reviews.checks import BURST_PROVIDER_COUNT, Flag
from reviews.models import Decision, ModerationDecision, Review, ReviewStatus
from reviews.services import (
    STAT_FIELDS,
    provider_stats_compute,
    review_moderate,
    review_revise,
    visit_month_bounds,
)
from tests.factories import ProviderFactory, ReviewFactory, UserFactory, publish, this_month

pytestmark = pytest.mark.django_db

BODY = "Five stars, best practice in town, everyone should go here straight away, truly."
TITLE = "Simply the best practice"


@pytest.fixture
def provider(moderator):
    provider = ProviderFactory(name="Shady Smiles", slug="shady-smiles")
    publish(ReviewFactory(provider=provider, rating=2, title="An honest two"), moderator)
    provider.refresh_from_db()
    return provider


def _figures(provider):
    provider.refresh_from_db()
    return {field: getattr(provider, field) for field in STAT_FIELDS}


def _burst(provider):
    """Enough recent reviews of the provider that the next one is flagged as a burst."""
    ReviewFactory.create_batch(BURST_PROVIDER_COUNT, provider=provider)


def _copy(provider, moderator):
    """A published review that the next one copies."""
    publish(ReviewFactory(provider=provider, rating=5, body=BODY), moderator)


def submit_by_form(client, provider):
    client.force_login(UserFactory())
    response = client.post(
        f"/providers/{provider.slug}/review/",
        {
            "rating": "5",
            "title": TITLE,
            "body": BODY,
            "visit_month": visit_month_bounds()[1].isoformat(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Review.objects.get(title=TITLE)


def submit_by_api(client, provider):
    api = APIClient()
    api.force_authenticate(UserFactory())
    response = api.post(
        "/api/v1/reviews/",
        {
            "provider": provider.slug,
            "rating": 5,
            "title": TITLE,
            "body": BODY,
            "visit_date": this_month().isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    return Review.objects.get(title=TITLE)


SIGNALS = {Flag.BURST_PROVIDER: lambda p, m: _burst(p), Flag.DUPLICATE: _copy}
ENTRY_POINTS = {"form": submit_by_form, "api": submit_by_api}


@pytest.mark.parametrize("signal", sorted(SIGNALS))
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_a_flagged_review_is_held_out_of_everything_public(
    client, provider, moderator, signal, entry
):
    SIGNALS[signal](provider, moderator)
    before = _figures(provider)
    published_before = set(Review.objects.published().values_list("pk", flat=True))

    review = ENTRY_POINTS[entry](client, provider)

    assert review.status == ReviewStatus.PENDING
    assert signal in review.flags
    assert _figures(provider) == before
    assert _figures(provider) == provider_stats_compute(provider_ids=[provider.pk])[provider.pk]
    assert set(Review.objects.published().values_list("pk", flat=True)) == published_before
    anonymous = client.__class__()
    assert TITLE not in anonymous.get(provider.get_absolute_url()).content.decode()
    assert TITLE not in anonymous.get(f"/providers/{provider.slug}/feed/").content.decode()
    assert anonymous.get(review.get_absolute_url()).status_code == 404
    api = APIClient().get(f"/api/v1/providers/{provider.slug}/").json()
    assert (api["review_count"], api["score"]) == (before["review_count"], before["score"])


def test_the_queue_shows_the_flags_and_approving_is_a_recorded_decision(
    client, provider, moderator
):
    _burst(provider)
    review = submit_by_form(client, provider)
    before = _figures(provider)

    client.force_login(moderator)
    queue = client.get("/admin/reviews/pendingreview/").content.decode()
    assert str(Flag.LABELS[Flag.BURST_PROVIDER]) in queue
    assert _figures(provider) == before  # looking at it changes nothing

    response = client.post(
        "/admin/reviews/pendingreview/",
        {"action": "approve_selected", ACTION_CHECKBOX_NAME: [review.pk]},
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.PUBLISHED
    decision = ModerationDecision.objects.get(review=review)
    assert (decision.decision, decision.moderator) == (Decision.APPROVE, moderator)
    after = _figures(provider)
    assert after["review_count"] == before["review_count"] + 1
    assert after["rating_5"] == before["rating_5"] + 1


def test_a_rejected_flagged_review_never_counts(client, provider, moderator):
    _burst(provider)
    review = submit_by_form(client, provider)
    before = _figures(provider)
    review_moderate(review=review, moderator=moderator, decision="reject", reason="not_genuine")
    assert _figures(provider) == before


def test_a_flagged_edit_of_a_published_review_changes_nothing_until_approved(provider, moderator):
    review = publish(ReviewFactory(provider=provider, rating=1), moderator)
    _copy(provider, moderator)
    before = _figures(provider)
    revision = review_revise(
        review=review,
        author=review.author,
        rating=5,
        title="Changed my mind",
        body=BODY,
        visit_month=review.visit_month,
    )
    assert Flag.DUPLICATE in revision.flags
    assert _figures(provider) == before
    review.refresh_from_db()
    assert review.rating == 1


def test_resubmitting_a_rejected_review_sends_it_back_to_the_queue(provider):
    """An author's edit of a rejected review does not publish it either."""
    author = UserFactory()
    pending = ReviewFactory(provider=provider, author=author, status=ReviewStatus.REJECTED)
    review_revise(
        review=pending,
        author=author,
        rating=5,
        title="Resubmitted",
        body=BODY,
        visit_month=pending.visit_month,
    )
    pending.refresh_from_db()
    assert pending.status == ReviewStatus.PENDING
