"""A person's own data: the page, the JSON download (Art. 15/20) and deleting the account
(Art. 17). After a deletion the reviews stay as "Former member", nothing else identifies the
person anywhere in the database (every model with a relation to the user is discovered, every
text and JSON column searched), and every session they had is over."""

import json
from types import SimpleNamespace

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.services import account_data_export, account_delete
from portal.models import EmailDelivery
from responses.models import (
    BusinessEvent,
    Membership,
    ProviderClaim,
    Reply,
    Role,
    TeamInvitation,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from responses.services.replies import reply_moderate, reply_submit
from responses.services.team import team_invite, team_join
from responses.services.tickets import complaint_submit, ticket_message
from reviews.models import HelpfulVote, Invitation, Report, Review, ReviewStatus
from reviews.services import (
    provider_stats_compute,
    review_report,
    review_revise,
    review_submit,
    review_vote_helpful,
)
from tests.factories import (
    TEST_PASSWORD,
    InvitationFactory,
    MembershipFactory,
    ModeratorFactory,
    ProviderClaimFactory,
    ProviderFactory,
    ReviewFactory,
    UserFactory,
    publish,
)
from tests.workers import DB_TASKS, run_db_worker

pytestmark = pytest.mark.django_db

# Unique enough that a hit anywhere in the database can only be this person.
NAME = "Quentin Zephyrine"
EMAIL = "quentin.zephyrine.q7x@example.org"
ALT_EMAIL = "q7x.second@example.net"
MARKERS = (NAME, EMAIL, ALT_EMAIL, "zephyrine")
FORMER = "Former member"


def _month():
    return timezone.localdate().replace(day=1)


def _review(author, provider, *, rating=4, moderator=None, **extra):
    review = review_submit(
        author=author,
        provider=provider,
        rating=rating,
        title=extra.pop("title", f"A visit to {provider.name}"),
        body=extra.pop(
            "body", "The appointment started on time and the staff explained everything clearly."
        ),
        visit_month=_month(),
        **extra,
    )
    return publish(review, moderator)


def _world(capture):
    """A customer who has done everything a customer can, and is a business member too.

    Runs the real services, with their on-commit emails executed, so queued mail exists."""
    with capture(execute=True):
        moderator = ModeratorFactory(display_name="Morgan Moderator")
        person = UserFactory(email=EMAIL, display_name=NAME)
        EmailAddress.objects.create(user=person, email=ALT_EMAIL, verified=True, primary=False)
        other = UserFactory(email="olly.other@example.com", display_name="Olly Other")
        owner = UserFactory(email="owner.riverside@example.com", display_name="Rita Owner")
        clinic = ProviderFactory(name="Riverside Dental", slug="riverside-dental")
        shop = ProviderFactory(name="Hillside Books", slug="hillside-books")
        gp = ProviderFactory(name="Elm Street Surgery", slug="elm-street-surgery")
        MembershipFactory(provider=clinic, user=owner, role=Role.OWNER)
        MembershipFactory(provider=shop, user=owner, role=Role.OWNER)

        # as a customer: a published complaint review (opens a ticket), a published one with an
        # edit waiting, one waiting for moderation, a vote, a report, a private complaint
        complaint_review = _review(person, clinic, rating=2, moderator=moderator)
        edited = _review(person, gp, rating=5, moderator=moderator)
        review_revise(
            review=edited,
            author=person,
            rating=4,
            title="Good, with one reservation",
            body="Updated: still good overall, though the phone line is hard to get through.",
            visit_month=_month(),
        )
        waiting = review_submit(
            author=person,
            provider=ProviderFactory(name="Oak Lane Vets"),
            rating=4,
            title="Kind vets",
            body="They were kind to our old dog and explained the options without pressure.",
            visit_month=_month(),
        )
        others_review = _review(other, gp, rating=4, moderator=moderator)
        review_vote_helpful(review=others_review, user=person)
        review_vote_helpful(review=complaint_review, user=other)
        review_report(
            review=others_review, reporter=person, reason="not_genuine", detail="Reads like an ad."
        )
        ticket = complaint_review.ticket
        ticket_message(ticket=ticket, actor=person, body="I would like a refund for the filling.")
        ticket_message(ticket=ticket, actor=owner, body="We are sorry; we will call you.")
        ticket_message(
            ticket=ticket, actor=owner, body="INTERNAL-NOTE: check the diary", internal=True
        )
        private = complaint_submit(
            provider=shop, customer=person, subject="Order never arrived", message="Order 1234."
        )
        InvitationFactory(provider=gp, email=EMAIL, created_by=owner)

        # as a business member: joined the shop's team by invitation, replied in public
        team_invite(provider=shop, actor=owner, email=EMAIL, role=Role.RESPONDER, job_title="Buyer")
        invitation = TeamInvitation.objects.get(email=EMAIL)
        team_join(token=invitation.token, user=person)
        shop_review = _review(other, shop, rating=4, moderator=moderator)
        reply = reply_submit(review=shop_review, actor=person, body="Thank you for visiting us.")
        reply_moderate(reply=reply, moderator=moderator, decision="approve")
        ProviderClaimFactory(provider=gp, user=person, work_email="q7x@elm-street.example")

        # the account itself: a second factor, an API token, admin history naming them
        Authenticator.objects.create(
            user=person, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "x", "migrated": 1}
        )
        Token.objects.create(user=person)
        LogEntry.objects.create(
            user=moderator,
            content_type=ContentType.objects.get_for_model(User),
            object_id=str(person.pk),
            object_repr=str(person),
            action_flag=CHANGE,
            change_message=f"Changed display name of {NAME}",
        )
    return SimpleNamespace(**locals())


def _signed_in(user) -> Client:
    """A device signed in through allauth's login, as people sign in (which records the
    session for the sessions list)."""
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert client.get(reverse("accounts:data")).status_code == 200
    return client


def _reauthenticate(client):
    response = client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]


def _user_relations():
    """Every concrete relation from any installed model to the user model."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy:
            continue
        for field in model._meta.get_fields():
            if field.concrete and field.is_relation and field.related_model is User:
                found.append((model, field))
    return found


def _text_of(model, row) -> str:
    parts = []
    for field in model._meta.concrete_fields:
        if isinstance(field, (models.CharField, models.TextField, models.JSONField)):
            value = getattr(row, field.attname)
            parts.append(value if isinstance(value, str) else json.dumps(value, default=str))
    if model is Session:
        parts.append(json.dumps(row.get_decoded(), default=str))
    return "\n".join(parts)


def _rows_mentioning(markers):
    """(model label, pk, marker) for every row of every table holding one of the markers."""
    hits = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        for row in model._base_manager.all():
            text = _text_of(model, row).lower()
            hits += [(model._meta.label, row.pk, m) for m in markers if m.lower() in text]
    return hits


# --- the data page and the download ---------------------------------------------------------
def test_data_pages_need_a_signed_in_user():
    client = Client()
    for name in ("accounts:data", "accounts:data_download", "accounts:delete"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_data_page_lists_what_we_hold_and_both_actions(django_capture_on_commit_callbacks):
    w = _world(django_capture_on_commit_callbacks)
    response = _signed_in(w.person).get(reverse("accounts:data"))
    page = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert reverse("accounts:data_download") in page
    assert reverse("accounts:delete") in page
    assert "3 reviews" in page and "2 complaints" in page


def test_download_holds_each_kind_of_data_and_nobody_elses(django_capture_on_commit_callbacks):
    w = _world(django_capture_on_commit_callbacks)
    response = _signed_in(w.person).get(reverse("accounts:data_download"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "no-store" in response["Cache-Control"]
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="heard-data-{today}.json"'
    data = json.loads(response.content)

    assert data["profile"]["email"] == EMAIL and data["profile"]["display_name"] == NAME
    assert {a["email"] for a in data["email_addresses"]} == {EMAIL, ALT_EMAIL}
    assert {r["status"] for r in data["reviews"]} == {"published", "pending"}
    assert len(data["reviews"]) == 3
    [edited] = [r for r in data["reviews"] if r["id"] == w.edited.pk]
    assert edited["revisions"][0]["title"] == "Good, with one reservation"
    assert [v["review_id"] for v in data["helpful_votes"]] == [w.others_review.pk]
    assert data["reports"][0]["detail"] == "Reads like an ad."
    assert {t["id"] for t in data["tickets"]} == {w.ticket.pk, w.private.pk}
    [ticket] = [t for t in data["tickets"] if t["id"] == w.ticket.pk]
    bodies = [e["body"] for e in ticket["events"]]
    assert "I would like a refund for the filling." in bodies
    assert "We are sorry; we will call you." in bodies
    assert [m["provider"] for m in data["memberships"]] == ["Hillside Books"]
    assert data["provider_claims"][0]["work_email"] == "q7x@elm-street.example"
    assert data["replies"][0]["body"] == "Thank you for visiting us."
    assert data["review_invitations_received"][0]["provider"] == "Elm Street Surgery"
    assert data["sessions"] and data["sessions"][0]["last_seen_at"]
    assert data["two_factor"][0]["type"] == "recovery_codes"
    assert data["api_token"] is not None

    text = response.content.decode()
    assert "INTERNAL-NOTE" not in text  # the business's internal notes are not theirs
    assert "seed" not in text and Token.objects.get(user=w.person).key not in text
    for someone_else in (w.other, w.owner, w.moderator):
        assert someone_else.email not in text
        assert someone_else.display_name not in text


def test_download_runs_a_fixed_number_of_queries(django_capture_on_commit_callbacks):
    w = _world(django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as before:
        account_data_export(user=w.person)
    for provider in ProviderFactory.create_batch(3):
        review = _review(w.person, provider, rating=1, moderator=w.moderator)
        ticket_message(ticket=review.ticket, actor=w.person, body="Still waiting for an answer.")
        review_vote_helpful(review=_review(w.other, provider, moderator=w.moderator), user=w.person)
    with CaptureQueriesContext(connection) as after:
        account_data_export(user=w.person)
    assert len(after) == len(before)


# --- deleting: the guards -------------------------------------------------------------------
def test_delete_page_explains_the_consequences_without_reauthentication(customer):
    response = _signed_in(customer).get(reverse("accounts:delete"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "Former member" in page and 'name="confirm"' in page


def test_deleting_needs_a_recent_reauthentication(customer):
    # signed in, but with no recent sign-in step in the session (as after the timeout)
    client = Client()
    client.force_login(customer)
    response = client.post(reverse("accounts:delete"), {"confirm": "DELETE"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert User.objects.filter(pk=customer.pk).exists()
    _reauthenticate(client)
    with_password = client.post(reverse("accounts:delete"), {"confirm": "DELETE"})
    assert with_password.status_code == 302 and with_password["Location"] == reverse("home")
    assert not User.objects.filter(pk=customer.pk).exists()


def test_deleting_needs_the_typed_confirmation(customer):
    client = _signed_in(customer)
    _reauthenticate(client)
    for typed in ("", "delete me", customer.display_name):
        response = client.post(reverse("accounts:delete"), {"confirm": typed})
        assert response.status_code == 400
        assert User.objects.filter(pk=customer.pk).exists()
    assert "Type the word DELETE to confirm" in response.content.decode()


def test_staff_accounts_are_closed_by_an_administrator_not_here(staff):
    client = _signed_in(staff)
    page = client.get(reverse("accounts:delete")).content.decode()
    assert "an administrator closes them" in page and 'name="confirm"' not in page
    _reauthenticate(client)
    response = client.post(reverse("accounts:delete"), {"confirm": "DELETE"})
    assert response.status_code == 400
    assert User.objects.filter(pk=staff.pk).exists()
    with pytest.raises(ValidationError):
        account_delete(user=staff)


def test_a_former_moderator_is_refused_too(moderator):
    """PROTECT keeps the moderation log whole even if staff status was taken away first."""
    publish(ReviewFactory(), moderator)
    User.objects.filter(pk=moderator.pk).update(is_staff=False)
    moderator.refresh_from_db()
    with pytest.raises(ValidationError):
        account_delete(user=moderator)
    assert User.objects.filter(pk=moderator.pk).exists()


def test_the_last_owner_of_a_team_hands_over_first():
    provider = ProviderFactory(is_claimed=True)
    owner = MembershipFactory(provider=provider, role=Role.OWNER).user
    MembershipFactory(provider=provider, role=Role.RESPONDER)
    with pytest.raises(ValidationError, match="only owner"):
        account_delete(user=owner)
    assert User.objects.filter(pk=owner.pk).exists()


def test_a_sole_member_leaves_the_listing_unclaimed_with_an_audit_row():
    provider = ProviderFactory(is_claimed=True)
    owner = MembershipFactory(provider=provider, role=Role.OWNER, job_title="Director").user
    account_delete(user=owner)
    provider.refresh_from_db()
    assert not provider.is_claimed
    event = BusinessEvent.objects.get(provider=provider)
    assert event.kind == "member_removed" and event.actor is None and event.subject is None
    assert event.detail["reason"] == "account_deleted"


# --- deleting: the whole journey --------------------------------------------------------------
def test_deleting_the_account_end_to_end(django_capture_on_commit_callbacks):
    w = _world(django_capture_on_commit_callbacks)
    elsewhere = _signed_in(w.person)  # another device, signed in with its own session
    client = _signed_in(w.person)
    _reauthenticate(client)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:delete"), {"confirm": "delete"})
    assert response.status_code == 302 and response["Location"] == reverse("home")

    assert not User.objects.filter(pk=w.person.pk).exists()
    for device in (client, elsewhere):
        assert device.get(reverse("accounts:data")).status_code == 302  # signed out
    assert (
        not UserSession.objects.exists()
        or not UserSession.objects.filter(
            session_key__in=[client.session.session_key, elsewhere.session.session_key]
        ).exists()
    )
    # the one last email, to the address being erased
    assert [m.to for m in mail.outbox] == [[EMAIL]]
    assert "deleted" in mail.outbox[0].subject

    page = Client().get(w.clinic.get_absolute_url()).content.decode()
    assert FORMER in page and NAME not in page
    review_page = Client().get(w.complaint_review.get_absolute_url()).content.decode()
    assert FORMER in review_page and NAME not in review_page  # JSON-LD included


def test_reviews_stay_de_identified_everywhere_they_are_shown(django_capture_on_commit_callbacks):
    w = _world(django_capture_on_commit_callbacks)
    account_delete(user=w.person)
    anyone = Client()
    api = anyone.get(f"/api/v1/providers/{w.clinic.slug}/reviews/").json()
    [item] = [r for r in api["results"] if r["id"] == w.complaint_review.pk]
    assert item["author_name"] == FORMER
    feed = anyone.get(reverse("reviews:provider_feed", args=[w.clinic.slug])).content.decode()
    assert FORMER in feed and NAME not in feed
    # the shop's public reply keeps the business's words, no longer the person's name
    shop_page = anyone.get(w.shop.get_absolute_url()).content.decode()
    assert "Thank you for visiting us." in shop_page and NAME not in shop_page
    reply = Reply.objects.get(pk=w.reply.pk)
    assert (reply.responder, reply.responder_name, reply.responder_title) == (None, FORMER, "")
    # the business's CSV export names a former member
    owner = Client()
    owner.force_login(w.owner)
    csv_text = b"".join(
        owner.get(reverse("responses:export", args=[w.clinic.slug, "reviews"])).streaming_content
    ).decode()
    assert FORMER in csv_text and NAME not in csv_text


def test_figures_stay_right_after_a_deletion(django_capture_on_commit_callbacks):
    w = _world(django_capture_on_commit_callbacks)
    assert Review.objects.get(pk=w.others_review.pk).helpful_count == 1
    account_delete(user=w.person)
    assert Review.objects.get(pk=w.others_review.pk).helpful_count == 0
    assert not HelpfulVote.objects.filter(review=w.others_review).exists()
    # the vote another person gave the kept review stays
    assert Review.objects.get(pk=w.complaint_review.pk).helpful_count == 1
    for provider in (w.clinic, w.gp, w.shop, w.waiting.provider):
        provider.refresh_from_db()
        stored = {f: getattr(provider, f) for f in ("review_count", "rating_sum")}
        computed = provider_stats_compute(provider_ids=[provider.pk])[provider.pk]
        assert stored == {f: computed[f] for f in stored}
    assert Review.objects.get(pk=w.waiting.pk).status == ReviewStatus.WITHDRAWN
    assert Review.objects.get(pk=w.edited.pk).revisions.filter(status="pending").count() == 0
    assert Review.objects.get(pk=w.edited.pk).status == ReviewStatus.PUBLISHED


def test_complaints_stay_with_the_business_without_the_customer(django_capture_on_commit_callbacks):
    w = _world(django_capture_on_commit_callbacks)
    account_delete(user=w.person)
    for ticket in Ticket.objects.filter(pk__in=[w.ticket.pk, w.private.pk]):
        assert ticket.customer is None
        assert ticket.status != TicketStatus.CLOSED  # still the business's to resolve
        events = list(TicketEvent.objects.filter(ticket=ticket))
        assert all(e.actor_id != w.person.pk for e in events)
        assert "deleted their Heard account" in events[-1].body
        assert events[-1].actor_role == "system"
    owner = Client()
    owner.force_login(w.owner)
    page = owner.get(reverse("responses:ticket_detail", args=[w.ticket.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "A former member" in text and NAME not in text
    assert "I would like a refund for the filling." in text  # the complaint record is kept
    assert Report.objects.get(detail="Reads like an ad.").reporter is None
    assert Invitation.objects.get(provider=w.gp).email == ""


def test_nothing_identifying_remains_in_any_table(settings, django_capture_on_commit_callbacks):
    """Walk every model related to the user, then every text and JSON column of every table
    (sessions decoded, the task queue included): only the deletion email may hold the address."""
    settings.TASKS = DB_TASKS  # keep queued mail in the database, as production does
    w = _world(django_capture_on_commit_callbacks)
    elsewhere = _signed_in(w.person)
    client = _signed_in(w.person)
    _reauthenticate(client)

    relations = _user_relations()
    discovered = {f"{m._meta.label}.{f.name}" for m, f in relations}
    assert {
        "reviews.Review.author",
        "reviews.HelpfulVote.user",
        "responses.Ticket.customer",
        "responses.TicketEvent.actor",
        "responses.BusinessEvent.actor",
        "account.EmailAddress.user",
        "usersessions.UserSession.user",
        "mfa.Authenticator.user",
        "authtoken.Token.user",
        "admin.LogEntry.user",
    } <= discovered
    pointing = {
        f"{m._meta.label}.{f.name}"
        for m, f in relations
        if m._base_manager.filter(**{f.name: w.person.pk}).exists()
    }
    assert {"reviews.Review.author", "responses.Membership.user"} <= pointing  # the walk sees
    before = {(label, m) for label, _pk, m in _rows_mentioning(MARKERS)}
    assert ("accounts.User", EMAIL) in before and ("responses.Reply", NAME) in before
    assert any(label == DBTaskResult._meta.label for label, _m in before)
    signed_in = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert signed_in.count(str(w.person.pk)) == 2  # both devices

    # a worker has long since sent the mail queued while they used the site, and recorded
    # each delivery (address and subject)
    run_db_worker()
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()
    assert ("portal.EmailDelivery", EMAIL) in {(lb, m) for lb, _pk, m in _rows_mentioning(MARKERS)}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:delete"), {"confirm": "DELETE"})
    assert response.status_code == 302
    run_db_worker()  # the deletion confirmation goes out, and its delivery is recorded

    for model, field in relations:
        assert not model._base_manager.filter(**{field.name: w.person.pk}).exists(), (
            f"{model._meta.label}.{field.name} still points to the deleted user"
        )
    for session in Session.objects.all():
        assert session.get_decoded().get("_auth_user_id") != str(w.person.pk)
    hits = _rows_mentioning(MARKERS)
    allowed = set()
    for label, pk, marker in hits:
        if label == DBTaskResult._meta.label:
            text = json.dumps(DBTaskResult.objects.get(pk=pk).args_kwargs)
        elif label == EmailDelivery._meta.label:
            text = EmailDelivery.objects.get(pk=pk).subject
        else:
            text = ""
        if "account has been deleted" not in text:
            pytest.fail(f"{marker!r} is still in {label} row {pk}")
        allowed.add((label, pk))
    # the deletion confirmation (its task and its delivery record), and nothing else
    assert sorted(label for label, _pk in allowed) == [
        DBTaskResult._meta.label,
        EmailDelivery._meta.label,
    ]
    # the records of what was sent to them stay, without the address: a task run again
    # after a crash still knows that its email went
    assert EmailDelivery.objects.filter(to="", status="sent").exists()
    assert elsewhere.get(reverse("accounts:data")).status_code == 302
    assert Review.objects.filter(pk=w.complaint_review.pk, author=None).exists()
    assert not Membership.objects.filter(provider=w.shop, role=Role.RESPONDER).exists()
    assert not ProviderClaim.objects.filter(work_email__icontains="q7x").exists()


def test_mail_still_queued_for_someone_else_is_delivered(
    settings, django_capture_on_commit_callbacks
):
    """A reviewer told that this member replied still gets that email; mail to the person
    goes, whatever its state."""
    settings.TASKS = DB_TASKS
    w = _world(django_capture_on_commit_callbacks)
    queued = DBTaskResult.objects.filter(status="READY")
    to_others = [t.pk for t in queued if EMAIL not in json.dumps(t.args_kwargs)]
    assert any(NAME in json.dumps(t.args_kwargs) for t in queued.filter(pk__in=to_others))
    account_delete(user=w.person)
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == set(to_others)
