"""Claims: a signed-in user claims a listing; staff approve (they become its owner) or reject in
the admin queue; every step is on the record and the claimant is told by email."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from responses.admin.claims import work_email_matches
from responses.models import BusinessEvent, Membership, ProviderClaim
from responses.services.claims import claim_decide, claim_submit
from reviews.models import ModerationDecision
from tests.factories import (
    MembershipFactory,
    ProviderClaimFactory,
    ProviderFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

QUEUE = "/admin/responses/pendingclaim/"
GOOD = {
    "role_at_business": "Practice manager",
    "work_email": "jo.bloggs@greenlane.example",
    "evidence": "I am named on greenlane.example/team and can be called on the surgery line.",
}


@pytest.fixture
def provider(db):
    return ProviderFactory(name="Green Lane Surgery", website="https://www.greenlane.example/")


@pytest.fixture
def claimant(db):
    return UserFactory(display_name="Jo Bloggs", email="jo@personal.example")


@pytest.fixture
def claimant_client(client, claimant):
    client.force_login(claimant)
    return client


@pytest.fixture
def mod_client(client, moderator):
    client.force_login(moderator)
    return client


def _claim_url(provider):
    return reverse("responses:claim_create", kwargs={"slug": provider.slug})


def _action(client, action, objects, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objects], **extra}
    return client.post(QUEUE, data)


# --- submitting ------------------------------------------------------------------------------
def test_the_claim_form_sends_a_claim_and_says_staff_will_check_it(claimant_client, provider):
    page = claimant_client.get(_claim_url(provider))
    assert page.status_code == 200
    assert "Your role at the business" in page.content.decode()

    response = claimant_client.post(_claim_url(provider), GOOD)

    assert response.status_code == 302
    claim = ProviderClaim.objects.get()
    assert (claim.provider, claim.status, claim.work_email) == (
        provider,
        "pending",
        GOOD["work_email"],
    )
    event = BusinessEvent.objects.get()
    assert (event.kind, event.actor, event.detail) == (
        "claim_submitted",
        claim.user,
        {"claim_id": claim.pk},
    )
    confirmation = claimant_client.get(response["Location"]).content.decode()
    assert "waiting for our checks" in confirmation
    assert "email you" in confirmation


def test_a_second_claim_while_one_is_pending_is_refused(claimant_client, claimant, provider):
    claim_submit(user=claimant, provider=provider, **GOOD)
    with pytest.raises(ValidationError, match="already have a claim"):
        claim_submit(user=claimant, provider=provider, **GOOD)
    # The page says so instead of offering the form again, and a POST adds nothing.
    response = claimant_client.post(_claim_url(provider), GOOD)
    assert "waiting for our checks" in response.content.decode()
    assert ProviderClaim.objects.count() == 1


def test_a_member_cannot_claim_and_is_pointed_to_the_dashboard(claimant_client, claimant, provider):
    MembershipFactory(provider=provider, user=claimant, role="responder")
    with pytest.raises(ValidationError, match="already a member"):
        claim_submit(user=claimant, provider=provider, **GOOD)
    body = claimant_client.get(_claim_url(provider)).content.decode()
    assert reverse("responses:inbox", kwargs={"slug": provider.slug}) in body
    claimant_client.post(_claim_url(provider), GOOD)
    assert not ProviderClaim.objects.exists()


def test_an_unverified_user_cannot_claim(provider):
    user = UserFactory(verified=False)
    with pytest.raises(ValidationError, match="Confirm your email"):
        claim_submit(user=user, provider=provider, **GOOD)
    assert not ProviderClaim.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("role_at_business", ""),
        ("role_at_business", "x" * 81),
        ("work_email", "not an email"),
        ("evidence", "too short"),
        ("evidence", "x" * 2001),
    ],
)
def test_bad_input_is_refused_with_the_field_named(claimant, provider, field, value):
    with pytest.raises(ValidationError) as refused:
        claim_submit(user=claimant, provider=provider, **{**GOOD, field: value})
    assert list(refused.value.error_dict) == [field]
    assert not ProviderClaim.objects.exists()


def test_the_form_shows_errors_in_a_summary(claimant_client, provider):
    page = claimant_client.post(_claim_url(provider), {**GOOD, "work_email": "nope"})
    body = page.content.decode()
    assert page.status_code == 200
    assert "There is a problem" in body
    assert 'href="#id_work_email"' in body
    assert not ProviderClaim.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, provider):
    response = client.get(_claim_url(provider))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=" in response["Location"]


def test_an_inactive_listing_cannot_be_claimed(claimant_client):
    hidden = ProviderFactory(is_active=False)
    assert claimant_client.get(_claim_url(hidden)).status_code == 404


def test_after_a_rejection_the_user_may_claim_again(claimant, provider, moderator):
    first = claim_submit(user=claimant, provider=provider, **GOOD)
    claim_decide(claim=first, moderator=moderator, decision="reject", reason="not_verified")
    second = claim_submit(user=claimant, provider=provider, **GOOD)
    assert second.status == "pending"


# --- the staff queue -------------------------------------------------------------------------
def test_the_queue_shows_the_claimant_to_staff_and_flags_an_outside_email(mod_client, provider):
    ProviderClaimFactory(
        provider=provider,
        user=UserFactory(display_name="Sam Smith", email="sam@home.example"),
        work_email="sam@gmail.example",
        evidence="See <b>our</b> team page.",
    )
    body = mod_client.get(QUEUE).content.decode()
    assert "Sam Smith" in body
    assert "sam@home.example" in body
    assert '<mark class="flagged">sam@gmail.example</mark>' in body
    assert "Not at greenlane.example" in body
    assert "&lt;b&gt;our&lt;/b&gt;" in body  # user text stays text


def test_a_claim_opens_read_only_from_the_queue(mod_client, provider):
    claim = ProviderClaimFactory(provider=provider)
    page = mod_client.get(f"{QUEUE}{claim.pk}/change/")
    assert page.status_code == 200
    assert claim.evidence in page.content.decode()
    assert mod_client.post(f"{QUEUE}{claim.pk}/change/", {"status": "approved"}).status_code == 403
    claim.refresh_from_db()
    assert claim.status == "pending"


def test_an_email_at_the_providers_domain_is_not_flagged(mod_client, provider):
    ProviderClaimFactory(provider=provider, work_email="jo@greenlane.example")
    body = mod_client.get(QUEUE).content.decode()
    assert "Matches the website" in body
    assert '<mark class="flagged">jo@greenlane.example' not in body


@pytest.mark.parametrize(
    ("email", "website", "matches"),
    [
        ("a@greenlane.example", "https://www.greenlane.example/", True),
        ("a@mail.greenlane.example", "https://greenlane.example", True),
        ("a@GreenLane.Example", "http://greenlane.example/contact", True),
        ("a@notgreenlane.example", "https://greenlane.example", False),
        ("a@gmail.com", "https://greenlane.example", False),
        ("a@greenlane.example", "", False),
    ],
)
def test_work_email_domain_check(email, website, matches):
    assert work_email_matches(email, website) is matches


def test_the_queue_is_oldest_first(mod_client):
    newer = ProviderClaimFactory(provider=ProviderFactory(name="Newer Dental"))
    older = ProviderClaimFactory(provider=ProviderFactory(name="Older Opticians"))
    ProviderClaim.objects.filter(pk=older.pk).update(created_at=newer.created_at.replace(year=2025))
    body = mod_client.get(QUEUE).content.decode()
    assert body.index("Older Opticians") < body.index("Newer Dental")


def test_the_queue_is_on_the_moderation_desk(mod_client):
    ProviderClaimFactory()
    body = mod_client.get("/admin/").content.decode()
    assert "Provider claims waiting" in body
    assert QUEUE in body


def test_approving_in_the_admin_makes_the_claimant_an_owner(
    mod_client, moderator, provider, claimant, django_capture_on_commit_callbacks
):
    claim = claim_submit(user=claimant, provider=provider, **GOOD)
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(mod_client, "approve_selected", [claim])
    assert response.status_code == 302

    claim.refresh_from_db()
    assert (claim.status, claim.decided_by) == ("approved", moderator)
    membership = Membership.objects.get()
    assert (membership.provider, membership.user, membership.role, membership.job_title) == (
        provider,
        claimant,
        "owner",
        "Practice manager",
    )
    provider.refresh_from_db()
    assert provider.is_claimed
    decision = ModerationDecision.objects.get()
    assert decision.content_type == ContentType.objects.get_for_model(ProviderClaim)
    assert (decision.object_id, decision.review, decision.decision, decision.reason) == (
        claim.pk,
        None,
        "approve",
        "",
    )
    event = BusinessEvent.objects.get(kind="claim_approved")
    assert (event.actor, event.subject) == (moderator, claimant)
    assert event.detail["after"] == {"role": "owner", "job_title": "Practice manager"}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [claimant.email]
    assert "approved" in message.subject
    assert reverse("responses:inbox", kwargs={"slug": provider.slug}) in message.body
    assert not ProviderClaim.objects.filter(status="pending").exists()


def test_rejecting_asks_for_a_reason_then_tells_the_claimant(
    mod_client, moderator, provider, claimant, django_capture_on_commit_callbacks
):
    claim = claim_submit(user=claimant, provider=provider, **GOOD)
    page = _action(mod_client, "reject_selected", [claim])
    assert "give the reason" in page.content.decode()
    assert "We could not confirm that you work for" in page.content.decode()
    claim.refresh_from_db()
    assert claim.status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        _action(
            mod_client,
            "reject_selected",
            [claim],
            confirm="yes",
            reason="not_verified",
            note="The practice told us you do not work there.",
        )

    claim.refresh_from_db()
    assert (claim.status, claim.decision_note) == (
        "rejected",
        "The practice told us you do not work there.",
    )
    assert not Membership.objects.exists()
    provider.refresh_from_db()
    assert not provider.is_claimed
    decision = ModerationDecision.objects.get()
    assert (decision.decision, decision.reason, decision.review) == ("reject", "not_verified", None)
    assert BusinessEvent.objects.filter(kind="claim_rejected", subject=claimant).count() == 1
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "could not approve" in body
    assert "We could not confirm that you work for or speak for this business" in body
    assert "The practice told us you do not work there." in body


def test_a_rejection_without_a_reason_is_recorded_as_other(moderator):
    claim = ProviderClaimFactory()
    claim_decide(claim=claim, moderator=moderator, decision="reject")
    assert ModerationDecision.objects.get().reason == "other"


def test_a_reason_that_does_not_fit_claims_is_refused(moderator):
    claim = ProviderClaimFactory()
    with pytest.raises(ValidationError):
        claim_decide(claim=claim, moderator=moderator, decision="reject", reason="offensive")
    claim.refresh_from_db()
    assert claim.status == "pending"


@pytest.mark.parametrize("who", ["customer", "staff_without_permission", "inactive_moderator"])
def test_only_moderators_decide(who, moderator, provider, claimant):
    claim = claim_submit(user=claimant, provider=provider, **GOOD)
    if who == "customer":
        actor = UserFactory()
    elif who == "staff_without_permission":
        actor = StaffFactory()
    else:
        moderator.is_active = False
        moderator.save()
        actor = moderator
    with pytest.raises(PermissionDenied):
        claim_decide(claim=claim, moderator=actor, decision="approve")
    claim.refresh_from_db()
    assert claim.status == "pending"
    assert not Membership.objects.exists()
    assert not ModerationDecision.objects.exists()


def test_staff_without_the_permission_cannot_open_the_queue_or_act(client, provider, claimant):
    claim = claim_submit(user=claimant, provider=provider, **GOOD)
    client.force_login(StaffFactory())
    assert client.get(QUEUE).status_code == 403
    _action(client, "approve_selected", [claim])
    claim.refresh_from_db()
    assert claim.status == "pending"
    assert not Membership.objects.exists()


def test_a_claim_is_decided_once(moderator):
    claim = ProviderClaimFactory()
    claim_decide(claim=claim, moderator=moderator, decision="approve")
    with pytest.raises(ValidationError, match="already been decided"):
        claim_decide(claim=claim, moderator=moderator, decision="reject")
    assert ModerationDecision.objects.count() == 1
    assert Membership.objects.get().role == "owner"


def test_approving_promotes_a_claimant_who_joined_the_team_meanwhile(moderator, provider):
    claim = ProviderClaimFactory(provider=provider)
    MembershipFactory(provider=provider, user=claim.user, role="responder", job_title="")
    claim_decide(claim=claim, moderator=moderator, decision="approve")
    membership = Membership.objects.get()
    assert (membership.role, membership.job_title) == ("owner", "Practice manager")
    event = BusinessEvent.objects.get(kind="claim_approved")
    assert event.detail["before"] == {"role": "responder", "job_title": ""}


def test_claim_decisions_appear_in_the_decision_log(mod_client, moderator):
    claim = ProviderClaimFactory()
    claim_decide(claim=claim, moderator=moderator, decision="approve")
    body = mod_client.get("/admin/reviews/moderationdecision/").content.decode()
    assert f"providerclaim {claim.pk}" in body


# --- read-only records -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "base", ["/admin/responses/membership/", "/admin/responses/businessevent/"]
)
def test_teams_and_the_business_audit_trail_are_read_only_in_the_admin(mod_client, moderator, base):
    claim = ProviderClaimFactory()
    claim_decide(claim=claim, moderator=moderator, decision="approve")
    obj = (Membership if "membership" in base else BusinessEvent).objects.first()
    assert mod_client.get(base).status_code == 200
    assert mod_client.get(f"{base}{obj.pk}/change/").status_code == 200
    assert mod_client.get(f"{base}add/").status_code == 403
    assert mod_client.post(f"{base}{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Membership.objects.count() == 1
    assert BusinessEvent.objects.count() == 1


def test_every_claim_is_listed_with_its_outcome(mod_client, moderator):
    claim = ProviderClaimFactory()
    claim_decide(claim=claim, moderator=moderator, decision="reject", reason="advertising")
    body = mod_client.get("/admin/responses/providerclaim/").content.decode()
    assert claim.provider.name in body
    assert "Not approved" in body
