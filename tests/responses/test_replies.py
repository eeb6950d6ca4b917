"""Public replies: composing with hints, moderation, display, figures, and who may do what."""

import datetime as dt
import random
import statistics

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from responses.insights import provider_reply_figures
from responses.models import (
    BusinessEvent,
    Membership,
    Reply,
    ReplyRevision,
    ResponseTemplate,
    Role,
)
from responses.services.replies import (
    reply_draft,
    reply_moderate,
    reply_revise,
    reply_revision_moderate,
    reply_submit,
    reply_withdraw,
    response_template_save,
)
from responses.tone import reply_hints
from reviews.models import ModerationDecision, Review
from tests.factories import ProviderFactory, ReviewFactory, UserFactory, publish

pytestmark = pytest.mark.django_db

GOOD_REPLY = (
    "Thank you for telling us. We have changed how we book follow-up appointments so that "
    "nobody waits more than a week, and I have spoken to the team about the phone queue."
)


@pytest.fixture
def provider():
    return ProviderFactory(name="Elms Medical Centre", slug="elms")


@pytest.fixture
def other_provider():
    return ProviderFactory(name="Other Practice", slug="other")


def member(provider, role=Role.RESPONDER, **kwargs):
    user = UserFactory(**kwargs)
    Membership.objects.create(provider=provider, user=user, role=role, job_title="Practice manager")
    return user


@pytest.fixture
def responder(provider):
    return member(provider, display_name="Rita Responder")


@pytest.fixture
def review(provider, moderator):
    reviewer = UserFactory(display_name="Casey Reviewer")
    return publish(ReviewFactory(provider=provider, author=reviewer, rating=2), moderator)


# --- services ----------------------------------------------------------------------------
def test_submit_puts_the_reply_in_the_queue_signed_by_the_member(review, responder):
    reply = reply_submit(review=review, actor=responder, body=GOOD_REPLY)
    assert (reply.status, reply.responder, reply.provider) == (
        "pending",
        responder,
        review.provider,
    )
    assert (reply.responder_name, reply.responder_title) == ("Rita Responder", "Practice manager")
    assert reply.submitted_at is not None and reply.published_at is None


def test_draft_is_saved_but_not_queued(review, responder):
    reply = reply_draft(review=review, actor=responder, body="Thinking about what to say")
    assert reply.status == "draft"
    assert reply.submitted_at is None


@pytest.mark.parametrize("who", ["customer", "member_of_another_provider", "reviewer"])
def test_only_members_of_that_provider_may_reply(review, other_provider, who, customer):
    actor = {
        "customer": customer,
        "member_of_another_provider": member(other_provider, role=Role.OWNER),
        "reviewer": review.author,
    }[who]
    with pytest.raises(PermissionDenied):
        reply_submit(review=review, actor=actor, body=GOOD_REPLY)
    assert not Reply.objects.exists()


def test_cannot_reply_to_an_unpublished_review(provider, responder):
    pending = ReviewFactory(provider=provider)
    with pytest.raises(ValidationError):
        reply_submit(review=pending, actor=responder, body=GOOD_REPLY)
    assert not Reply.objects.exists()


@pytest.mark.parametrize("body", ["", "   ", "x" * 5001])
def test_empty_or_overlong_reply_is_refused(review, responder, body):
    with pytest.raises(ValidationError) as error:
        reply_submit(review=review, actor=responder, body=body)
    assert "body" in error.value.error_dict
    assert not Reply.objects.exists()


def test_publishing_notifies_the_reviewer_and_records_the_decision(
    review, responder, moderator, django_capture_on_commit_callbacks
):
    reply = reply_submit(review=review, actor=responder, body=GOOD_REPLY)
    with django_capture_on_commit_callbacks(execute=True):
        reply_moderate(reply=reply, moderator=moderator, decision="approve")
    reply.refresh_from_db()
    assert reply.status == "published" and reply.published_at
    decision = ModerationDecision.objects.get(object_id=reply.pk, content_type__model="reply")
    assert (decision.decision, decision.review_id) == ("approve", review.pk)
    to_reviewer = [m for m in mail.outbox if m.to == [review.author.email]]
    assert len(to_reviewer) == 1
    assert "Rita Responder, Practice manager" in to_reviewer[0].body
    assert "changed how we book" in to_reviewer[0].body


def test_rejection_needs_a_reason_and_tells_the_responder(
    review, responder, moderator, django_capture_on_commit_callbacks
):
    reply = reply_submit(review=review, actor=responder, body=GOOD_REPLY)
    with pytest.raises(ValidationError):
        reply_moderate(reply=reply, moderator=moderator, decision="reject")
    with django_capture_on_commit_callbacks(execute=True):
        reply_moderate(
            reply=reply, moderator=moderator, decision="reject", reason="personal_information"
        )
    reply.refresh_from_db()
    assert reply.status == "rejected"
    assert [m.to for m in mail.outbox] == [[responder.email]]
    assert "Contains personal information" in mail.outbox[0].body


def test_a_rejected_reply_can_be_resubmitted_keeping_the_first_submission_time(
    review, responder, moderator
):
    reply = reply_submit(review=review, actor=responder, body=GOOD_REPLY)
    first = reply.submitted_at
    reply_moderate(reply=reply, moderator=moderator, decision="reject", reason="other")
    again = reply_submit(review=review, actor=responder, body=GOOD_REPLY + " Thank you.")
    assert again.pk == reply.pk
    assert (again.status, again.submitted_at) == ("pending", first)


def test_one_reply_per_review(review, responder, moderator):
    reply = reply_submit(review=review, actor=responder, body=GOOD_REPLY)
    reply_moderate(reply=reply, moderator=moderator, decision="approve")
    with pytest.raises(ValidationError):
        reply_submit(review=review, actor=responder, body="A second reply")
    assert Reply.objects.count() == 1


def test_editing_a_published_reply_keeps_it_until_approved(review, responder, moderator):
    reply = reply_submit(review=review, actor=responder, body=GOOD_REPLY)
    reply_moderate(reply=reply, moderator=moderator, decision="approve")
    revision = reply_revise(reply=reply, actor=responder, body="A better, edited reply to this.")
    assert isinstance(revision, ReplyRevision)
    reply.refresh_from_db()
    assert reply.body == GOOD_REPLY
    reply_revision_moderate(
        revision=revision, moderator=moderator, decision="reject", reason="other"
    )
    reply.refresh_from_db()
    assert reply.body == GOOD_REPLY  # a rejected edit leaves the published reply
    second = reply_revise(reply=reply, actor=responder, body="A better, edited reply to this.")
    reply_revision_moderate(revision=second, moderator=moderator, decision="approve")
    reply.refresh_from_db()
    assert reply.body == "A better, edited reply to this."


def test_withdrawing_a_reply(review, responder, moderator):
    reply = reply_submit(review=review, actor=responder, body=GOOD_REPLY)
    reply_moderate(reply=reply, moderator=moderator, decision="approve")
    reply_withdraw(reply=reply, actor=responder)
    reply.refresh_from_db()
    assert reply.status == "withdrawn"


@pytest.mark.parametrize(
    ("body", "flag"),
    [
        ("Dear Casey Reviewer, we are sorry about your visit last week.", "names_reviewer"),
        ("We checked your record, DOB 12/03/1961, and found the letter.", "date_of_birth"),
        ("Your NHS number 943 476 5919 shows the referral was sent.", "record_number"),
        ("Dr Jones has been spoken to about the appointment.", "names_person"),
        ("Call us on 0113 496 0000 about this.", "contains_phone"),
    ],
)
def test_reply_checks_flag_disclosures(review, responder, body, flag):
    reply = reply_submit(review=review, actor=responder, body=body)
    assert flag in reply.flags


def test_ordinary_reply_is_not_flagged(review, responder):
    assert reply_submit(review=review, actor=responder, body=GOOD_REPLY).flags == []


# --- tone hints ---------------------------------------------------------------------------
def test_hints_catch_stock_phrases_with_a_suggestion():
    hints = reply_hints("We take all feedback seriously. Please get in touch with the practice.")
    messages = " ".join(h.message for h in hints)
    assert "Show it instead of saying it" in messages
    assert "puts the work back on the reviewer" in messages


def test_hints_catch_a_reply_shorter_than_a_sentence():
    assert [h.code for h in reply_hints("Thanks!")] == ["too_short"]


def test_hints_catch_copy_and_paste_replies():
    hints = reply_hints(GOOD_REPLY, previous=["Unrelated earlier reply about parking.", GOOD_REPLY])
    assert "repeated" in [h.code for h in hints]


def test_no_hints_for_a_good_reply():
    assert (
        reply_hints(GOOD_REPLY, previous=["Something else entirely, about parking spaces."]) == []
    )


# --- response figures -----------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reply_rate_and_median_match_a_brute_force_count(seed, provider, moderator):
    rng = random.Random(seed)
    responder = member(provider)
    now = timezone.now()
    expected_hours, replied, total = [], 0, 0
    for _ in range(rng.randint(3, 12)):
        review = publish(ReviewFactory(provider=provider), moderator)
        published = now - dt.timedelta(days=rng.randint(1, 500), hours=rng.randint(0, 23))
        Review.objects.filter(pk=review.pk).update(published_at=published)
        review.refresh_from_db()
        recent = published >= now - dt.timedelta(days=365)
        total += recent
        if rng.random() < 0.6:
            reply = reply_submit(review=review, actor=responder, body=GOOD_REPLY)
            delay = dt.timedelta(hours=rng.uniform(0.5, 200))
            Reply.objects.filter(pk=reply.pk).update(submitted_at=published + delay)
            reply.refresh_from_db()
            if rng.random() < 0.8:
                reply_moderate(reply=reply, moderator=moderator, decision="approve")
                if recent:
                    replied += 1
                    expected_hours.append(delay.total_seconds() / 3600)
    figures = provider_reply_figures(provider=provider)
    assert figures["reviews"] == total
    assert figures["replied"] == replied
    assert figures["reply_rate"] == (round(100 * replied / total) if total else None)
    if expected_hours:
        assert figures["median_reply_hours"] == pytest.approx(
            statistics.median(expected_hours), abs=0.06
        )
    else:
        assert figures["median_reply_hours"] is None


# --- pages ---------------------------------------------------------------------------------
def test_provider_page_shows_the_reply_with_name_role_and_business(
    client, review, responder, moderator
):
    reply = reply_submit(review=review, actor=responder, body="<b>Thank you</b> for telling us.")
    reply_moderate(reply=reply, moderator=moderator, decision="approve")
    body = client.get(review.provider.get_absolute_url()).content.decode()
    assert "Reply from Rita Responder</strong>, Practice manager, Elms Medical Centre" in body
    assert "&lt;b&gt;Thank you&lt;/b&gt;" in body
    assert "Replies to 100% of reviews, usually within an hour." in body
    assert "Reply from Rita Responder" in client.get(review.get_absolute_url()).content.decode()


def test_pending_reply_is_not_public(client, review, responder):
    reply_submit(review=review, actor=responder, body=GOOD_REPLY)
    assert GOOD_REPLY not in client.get(review.provider.get_absolute_url()).content.decode()


def test_inbox_lists_reviews_waiting_oldest_first_with_their_age(client, provider, moderator):
    responder = member(provider)
    old = publish(ReviewFactory(provider=provider, title="Old one"), moderator)
    Review.objects.filter(pk=old.pk).update(published_at=timezone.now() - dt.timedelta(days=3))
    publish(ReviewFactory(provider=provider, title="New one"), moderator)
    client.force_login(responder)
    body = client.get("/business/elms/").content.decode()
    assert body.index("Old one") < body.index("New one")
    assert "past your target" in body  # 3 days > 48 hours
    assert "Waiting for a reply (2)" in body


def test_compose_submit_and_see_it_pending(client, review, responder):
    client.force_login(responder)
    url = f"/business/elms/reviews/{review.pk}/reply/"
    page = client.get(url, {"template": "house-apology_action"}).content.decode()
    assert "That is not the standard we aim for" in page
    checked = client.post(url, {"body": "Please get in touch.", "action": "check"})
    assert "puts the work back on the reviewer" in checked.content.decode()
    assert not Reply.objects.exists()
    response = client.post(url, {"body": GOOD_REPLY, "action": "submit"})
    assert response.status_code == 302
    assert Reply.objects.get().status == "pending"
    assert "With the moderators (1)" in client.get("/business/elms/?tab=pending").content.decode()


def test_templates_owner_and_manager_edit_responder_reads(client, provider):
    manager = member(provider, role=Role.MANAGER)
    responder = member(provider, role=Role.RESPONDER)
    client.force_login(manager)
    client.post("/business/elms/templates/new/", {"name": "Parking", "body": "About parking: [x]"})
    template = ResponseTemplate.objects.get()
    assert BusinessEvent.objects.filter(kind="template_saved").count() == 1
    client.force_login(responder)
    page = client.get("/business/elms/templates/").content.decode()
    assert "Parking" in page and "New template" not in page
    response = client.post(
        f"/business/elms/templates/{template.pk}/", {"name": "Changed", "body": "Changed"}
    )
    assert response.status_code == 403
    assert client.post(f"/business/elms/templates/{template.pk}/delete/").status_code == 403
    template.refresh_from_db()
    assert template.name == "Parking"


def _provider_b_urls(review_b, template_b):
    base = "/business/other"
    return [
        ("get", f"{base}/"),
        ("get", f"{base}/?tab=replied"),
        ("get", f"{base}/reviews/{review_b.pk}/reply/"),
        ("post", f"{base}/reviews/{review_b.pk}/reply/"),
        ("post", f"{base}/reviews/{review_b.pk}/reply/withdraw/"),
        ("get", f"{base}/templates/"),
        ("get", f"{base}/templates/new/"),
        ("post", f"{base}/templates/new/"),
        ("get", f"{base}/templates/{template_b.pk}/"),
        ("post", f"{base}/templates/{template_b.pk}/delete/"),
    ]


def test_a_member_of_provider_a_gets_404_everywhere_in_provider_b(
    client, provider, other_provider, moderator
):
    owner_a = member(provider, role=Role.OWNER)
    review_b = publish(ReviewFactory(provider=other_provider), moderator)
    template_b = ResponseTemplate.objects.create(provider=other_provider, name="B", body="B's")
    client.force_login(owner_a)
    for method, url in _provider_b_urls(review_b, template_b):
        response = getattr(client, method)(
            url, {"body": GOOD_REPLY, "action": "submit", "name": "x"}
        )
        assert response.status_code == 404, (method, url)
    assert not Reply.objects.exists()
    assert ResponseTemplate.objects.get().name == "B"


def test_a_review_of_provider_b_is_404_through_provider_a(
    client, provider, other_provider, moderator
):
    owner_a = member(provider, role=Role.OWNER)
    review_b = publish(ReviewFactory(provider=other_provider), moderator)
    client.force_login(owner_a)
    assert client.get(f"/business/elms/reviews/{review_b.pk}/reply/").status_code == 404


def test_dashboard_pages_need_sign_in(client, provider):
    for url in ("/business/", "/business/elms/", "/business/elms/templates/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("count", [3, 25])
def test_inbox_runs_a_constant_number_of_queries(
    client, provider, moderator, count, django_assert_max_num_queries
):
    responder = member(provider)
    for i in range(count):
        review = publish(ReviewFactory(provider=provider), moderator)
        if i % 2:
            reply_submit(review=review, actor=responder, body=GOOD_REPLY)
    client.force_login(responder)
    for tab in ("inbox", "pending", "replied", "rejected"):
        with django_assert_max_num_queries(14):
            assert client.get("/business/elms/", {"tab": tab}).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/business/").status_code == 200


def test_moderators_publish_replies_from_the_queue(client, review, responder, moderator):
    reply = reply_submit(review=review, actor=responder, body="Please see Dr Jones about it.")
    client.force_login(moderator)
    listing = client.get("/admin/responses/pendingreply/").content.decode()
    assert '<mark class="flagged">Dr Jones</mark>' in listing
    assert "Names a person" in listing
    client.post(
        "/admin/responses/pendingreply/",
        {"action": "approve_selected", ACTION_CHECKBOX_NAME: [reply.pk]},
    )
    reply.refresh_from_db()
    assert reply.status == "published"


def test_template_save_requires_a_role_and_text(provider):
    responder = member(provider)
    with pytest.raises(PermissionDenied):
        response_template_save(provider=provider, actor=responder, name="x", body="y")
    owner = member(provider, role=Role.OWNER)
    with pytest.raises(ValidationError):
        response_template_save(provider=provider, actor=owner, name="", body="")


def test_team_members_cannot_review_their_own_business(provider):
    from reviews.services import review_submit, visit_month_bounds

    owner = member(provider, role=Role.OWNER)
    with pytest.raises(ValidationError) as error:
        review_submit(
            author=owner,
            provider=provider,
            rating=5,
            title="Best practice in town",
            body="Honestly the best practice in town, everyone should come here.",
            visit_month=visit_month_bounds()[1],
        )
    assert "cannot review it" in str(error.value)
    assert not Review.objects.exists()
