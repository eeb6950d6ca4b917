"""Customer invitations: who may send them, what customers receive, that nothing is half-sent,
and that a link is single use, expires, belongs to one business and labels the review."""

import datetime as dt
import threading
import time

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from responses.models import BusinessEvent, BusinessEventKind, Membership, Role
from responses.services.invitations import (
    PREVIEW_PLACEHOLDER,
    invitation_email_preview,
    invitation_link_create,
    invitation_redeem_check,
    invitations_send,
    parse_invitation_upload,
)
from reviews.models import Invitation, Review, ReviewSource
from reviews.services import review_submit, visit_month_bounds
from reviews.views import INVITATION_SESSION_KEY
from tests.factories import (
    InvitationFactory,
    ProviderFactory,
    UserFactory,
    publish,
    this_month,
)

pytestmark = pytest.mark.django_db

FORBIDDEN = ("if you were happy", "incentive", "reward", "happy customers", "5 stars", "voucher")
BODY = "The appointment started on time and the nurse explained everything very clearly."


@pytest.fixture
def provider():
    return ProviderFactory(name="Elm Tree Surgery", slug="elm-tree")


@pytest.fixture
def other_provider():
    return ProviderFactory(name="Oak Lane Dental", slug="oak-lane")


def _member(provider, role):
    user = UserFactory(display_name=f"{role.title()} Person")
    Membership.objects.create(provider=provider, user=user, role=role)
    return user


@pytest.fixture
def owner(provider):
    return _member(provider, Role.OWNER)


@pytest.fixture
def manager(provider):
    return _member(provider, Role.MANAGER)


@pytest.fixture
def responder(provider):
    return _member(provider, Role.RESPONDER)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def _url(provider):
    return f"/business/{provider.slug}/invitations/"


def _link(invitation):
    return f"{settings.SITE_URL}/invite/{invitation.token}/"


def _review_form(**changes):
    data = {
        "rating": "4",
        "title": "Quick and friendly",
        "body": BODY,
        "visit_month": visit_month_bounds()[1].isoformat(),
        "would_recommend": "yes",
    }
    data.update(changes)
    return data


def _submit(author, provider, invitation=None):
    return review_submit(
        author=author,
        provider=provider,
        rating=4,
        title="Quick and friendly",
        body=BODY,
        visit_month=this_month(),
        invitation=invitation,
    )


# --- sending -------------------------------------------------------------------------------
@time_machine.travel(dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC), tick=False)
def test_a_batch_creates_one_invitation_and_one_neutral_email_each(
    provider, owner, django_capture_on_commit_callbacks
):
    emails = ["ada@example.com", "bob@example.org", "cy@example.net"]
    with django_capture_on_commit_callbacks(execute=True):
        sent = invitations_send(provider=provider, actor=owner, emails=emails)
        assert mail.outbox == []  # nothing leaves before the transaction commits
    assert len(sent) == 3
    invitations = {i.email: i for i in Invitation.objects.filter(provider=provider)}
    assert sorted(invitations) == sorted(emails)
    assert {i.expires_at for i in invitations.values()} == {timezone.now() + dt.timedelta(days=30)}
    assert {i.created_by for i in invitations.values()} == {owner}
    assert len(mail.outbox) == 3
    for message in mail.outbox:
        [to] = message.to
        html = message.alternatives[0][0]
        for text in (message.subject, message.body, html):
            assert "Elm Tree Surgery" in text
            for phrase in FORBIDDEN:
                assert phrase not in text.lower()
        assert _link(invitations[to]) in message.body
        assert _link(invitations[to]) in html
        assert "good or bad" in message.body
        assert "1 April 2026" in message.body  # the expiry date, 30 days on
        assert "checks every review the same way" in message.body
    # Each customer gets only their own link.
    assert len({m.body for m in mail.outbox}) == 3
    [event] = BusinessEvent.objects.filter(provider=provider)
    assert event.kind == BusinessEventKind.CUSTOMERS_INVITED
    assert event.actor == owner
    assert event.detail["count"] == 3


def test_the_preview_is_exactly_what_customers_receive(
    provider, manager, django_capture_on_commit_callbacks
):
    preview = invitation_email_preview(provider=provider)
    with django_capture_on_commit_callbacks(execute=True):
        [invitation] = invitations_send(provider=provider, actor=manager, emails=["a@example.com"])
    [message] = mail.outbox
    assert message.subject.endswith(preview["subject"])
    assert message.body.strip() == preview["body"].replace(PREVIEW_PLACEHOLDER, invitation.token)


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_owners_and_managers_may_invite(role, provider):
    user = _member(provider, role)
    invitations_send(provider=provider, actor=user, emails=["a@example.com"])
    invitation_link_create(provider=provider, actor=user)
    assert Invitation.objects.filter(provider=provider).count() == 2


@pytest.mark.parametrize("who", ["responder", "member_of_other", "customer"])
def test_nobody_else_may_invite(who, provider, other_provider, customer, mailoutbox):
    actor = {
        "responder": lambda: _member(provider, Role.RESPONDER),
        "member_of_other": lambda: _member(other_provider, Role.OWNER),
        "customer": lambda: customer,
    }[who]()
    with pytest.raises(PermissionDenied):
        invitations_send(provider=provider, actor=actor, emails=["a@example.com"])
    with pytest.raises(PermissionDenied):
        invitation_link_create(provider=provider, actor=actor)
    assert not Invitation.objects.exists()
    assert not BusinessEvent.objects.exists()
    assert mailoutbox == []


def test_a_bad_batch_creates_and_sends_nothing_and_names_every_bad_line(
    provider, owner, django_capture_on_commit_callbacks
):
    emails = [
        "ada@example.com",
        "bob@example.org",
        "bob@",
        "cy@example.net",
        "not an address",
        "",
        "BOB@example.org",
    ]
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as caught:
        invitations_send(provider=provider, actor=owner, emails=emails)
    assert caught.value.messages == [
        "Line 3: “bob@” is not a valid email address.",
        "Line 5: “not an address” is not a valid email address.",
        "Line 6: the email address is missing.",
        "Line 7: “BOB@example.org” is a duplicate of line 2.",
    ]
    assert not Invitation.objects.exists()
    assert not BusinessEvent.objects.exists()
    assert mail.outbox == []


def test_an_empty_batch_is_refused(provider, owner):
    with pytest.raises(ValidationError, match="at least one email address"):
        invitations_send(provider=provider, actor=owner, emails=[])


def test_a_batch_over_the_limit_is_refused_whole(provider, owner):
    emails = [f"customer{n}@example.com" for n in range(501)]
    with pytest.raises(ValidationError) as caught:
        invitations_send(provider=provider, actor=owner, emails=emails)
    assert "up to 500 customers at a time; this list has 501" in caught.value.messages[0]
    assert not Invitation.objects.exists()


def test_the_daily_limit_counts_the_last_24_hours(provider, owner, monkeypatch):
    monkeypatch.setattr("responses.services.invitations.MAX_PER_DAY", 5)
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        invitations_send(provider=provider, actor=owner, emails=["a@x.com", "b@x.com", "c@x.com"])
        with pytest.raises(ValidationError, match="you can invite 2 more now"):
            invitations_send(
                provider=provider, actor=owner, emails=["d@x.com", "e@x.com", "f@x.com"]
            )
        invitation_link_create(provider=provider, actor=owner)
        invitations_send(provider=provider, actor=owner, emails=["d@x.com"])
        with pytest.raises(ValidationError, match="a day"):
            invitation_link_create(provider=provider, actor=owner)
    assert Invitation.objects.count() == 5
    with time_machine.travel(dt.datetime(2026, 3, 3, 9, 1, tzinfo=dt.UTC), tick=False):
        invitations_send(provider=provider, actor=owner, emails=["g@x.com", "h@x.com"])
    assert Invitation.objects.count() == 7


def test_the_daily_limit_is_per_business(provider, other_provider, owner, monkeypatch):
    monkeypatch.setattr("responses.services.invitations.MAX_PER_DAY", 2)
    InvitationFactory.create_batch(2, provider=other_provider)
    invitations_send(provider=provider, actor=owner, emails=["a@x.com", "b@x.com"])
    assert Invitation.objects.filter(provider=provider).count() == 2


def test_a_single_link_has_no_email_and_is_recorded(provider, manager, mailoutbox):
    invitation = invitation_link_create(provider=provider, actor=manager)
    assert invitation.email == ""
    assert invitation.expires_at > timezone.now() + dt.timedelta(days=29, hours=23)
    assert mailoutbox == []
    [event] = BusinessEvent.objects.all()
    assert event.kind == BusinessEventKind.CUSTOMERS_INVITED
    assert event.detail["count"] == 1


# --- reading pasted text and uploads ---------------------------------------------------------
def test_pasted_text_may_use_lines_commas_and_semicolons():
    text = "ada@example.com\n\n bob@example.org , cy@example.net;dee@example.com\r\nbad@\n"
    assert parse_invitation_upload(text) == [
        (1, "ada@example.com"),
        (3, "bob@example.org"),
        (3, "cy@example.net"),
        (3, "dee@example.com"),
        (4, "bad@"),
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"Name,Email\nAda,ada@example.com\nBob,bob@example.org\n",
            [(2, "ada@example.com"), (3, "bob@example.org")],
        ),
        (b"E-mail,Name\nada@example.com,Ada\n", [(2, "ada@example.com")]),
        (
            b"ada@example.com,Ada\nbob@example.org,Bob\n",  # no header: the first column
            [(1, "ada@example.com"), (2, "bob@example.org")],
        ),
        (b"\xef\xbb\xbfemail\r\nada@example.com\r\n", [(2, "ada@example.com")]),  # Excel's BOM
        (b'name,email address\n"Smith, Ada",ada@example.com\n', [(2, "ada@example.com")]),
        (b"Name,Email\nJos\xe9,jose@example.com\n", [(2, "jose@example.com")]),  # cp1252
    ],
)
def test_csv_uses_the_email_column_or_the_first(content, expected):
    assert parse_invitation_upload(SimpleUploadedFile("customers.csv", content)) == expected


def test_a_row_missing_its_address_is_reported_not_skipped():
    content = b"name,email\nAda,ada@example.com\nBob,\n"
    entries = parse_invitation_upload(SimpleUploadedFile("c.csv", content))
    assert entries == [(2, "ada@example.com"), (3, "")]


def test_an_oversized_upload_is_refused():
    content = b"a@example.com\n" * 80_000
    with pytest.raises(ValidationError, match="too large"):
        parse_invitation_upload(SimpleUploadedFile("big.csv", content))


# --- the dashboard page ----------------------------------------------------------------------
def test_page_shows_guidance_the_fixed_message_and_the_forms(owner_client, provider):
    body = owner_client.get(_url(provider)).content.decode()
    assert "Invite every customer, not only the ones you think were happy" in body
    assert "choosing who to ask based on what they might say is not allowed" in body
    assert "What your customers receive" in body
    assert "Tell others about your experience with Elm Tree Surgery" in body
    assert "good or bad" in body
    assert "Send invitations" in body and 'name="upload"' in body
    assert "Create a single link" in body
    assert 'aria-current="page"' in body and "Invite customers" in body


def test_sending_through_the_form(owner_client, provider, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            _url(provider), {"addresses": "ada@example.com\nbob@example.org"}, follow=True
        )
    assert response.redirect_chain[-1][0] == _url(provider)
    body = response.content.decode()
    assert "Invitations are on their way to 2 customers" in body
    assert "ada@example.com" in body and "bob@example.org" in body  # in the list, as sent
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "bob@example.org"]


def test_the_form_reports_bad_lines_by_number_and_sends_nothing(
    owner_client, provider, django_capture_on_commit_callbacks
):
    pasted = "\n".join(
        [
            "ada@example.com",
            "bob@example.org",
            "<script>alert(1)</script>@x",
            "cy@example.net",
            "ADA@example.com",
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(_url(provider), {"addresses": pasted})
    assert response.status_code == 200
    body = response.content.decode()
    assert "There is a problem" in body
    assert "Line 3: “&lt;script&gt;alert(1)&lt;/script&gt;@x” is not a valid email address." in body
    assert "<script>alert(1)" not in body
    assert "Line 5: “ADA@example.com” is a duplicate of line 1." in body
    assert 'href="#id_addresses"' in body  # the summary leads to the box
    assert "bob@example.org" in body  # what they pasted is kept for them to correct
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_csv_upload_with_an_email_column(
    owner_client, provider, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile(
        "customers.csv",
        b"Name,Email,Visit\nAda Lovelace,ada@example.com,2026-03-01\nBob,bob@example.org,\n",
        content_type="text/csv",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(_url(provider), {"upload": upload})
    assert response.status_code == 302
    assert sorted(Invitation.objects.values_list("email", flat=True)) == [
        "ada@example.com",
        "bob@example.org",
    ]
    assert len(mail.outbox) == 2


def test_csv_problems_are_reported_by_file_line(owner_client, provider):
    upload = SimpleUploadedFile(
        "customers.csv", b"Name,Email\nAda,ada@example.com\nBob,bob@\nAda again,ada@example.com\n"
    )
    body = owner_client.post(_url(provider), {"upload": upload}).content.decode()
    assert "Line 3: “bob@” is not a valid email address." in body
    assert "Line 4: “ada@example.com” is a duplicate of line 2." in body
    assert 'href="#id_upload"' in body
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Paste at least one email address, or upload a file."),
        (
            {"addresses": "a@example.com", "upload": SimpleUploadedFile("c.csv", b"b@example.com")},
            "Paste addresses or upload a file, not both.",
        ),
        ({"upload": SimpleUploadedFile("c.xlsx", b"PK\x03\x04")}, "File extension"),
    ],
)
def test_the_form_explains_what_it_needs(owner_client, provider, data, message):
    response = owner_client.post(_url(provider), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_single_link_is_shown_once_to_copy(owner_client, provider, mailoutbox):
    response = owner_client.post(_url(provider), {"create_link": "1"})
    [invitation] = Invitation.objects.all()
    assert response.status_code == 302
    assert response["Location"] == f"{_url(provider)}?new={invitation.pk}#new-link"
    body = owner_client.get(response["Location"]).content.decode()
    assert _link(invitation) in body
    assert "Link given in person" in body
    assert _link(invitation) not in owner_client.get(_url(provider)).content.decode()
    assert mailoutbox == []


def test_responders_see_the_page_read_only_and_cannot_send(client, provider, responder):
    InvitationFactory(provider=provider, email="ada@example.com")
    client.force_login(responder)
    body = client.get(_url(provider)).content.decode()
    assert "ada@example.com" in body
    assert "What your customers receive" in body
    assert "Only owners and managers of this business can send invitations" in body
    assert 'name="addresses"' not in body and "Create a single link" not in body
    assert client.post(_url(provider), {"addresses": "bob@example.org"}).status_code == 403
    assert client.post(_url(provider), {"create_link": "1"}).status_code == 403
    assert client.post(_url(provider), {}).status_code == 403
    assert Invitation.objects.count() == 1


def test_a_member_of_another_business_gets_404(client, provider, other_provider):
    client.force_login(_member(other_provider, Role.OWNER))
    assert client.get(_url(provider)).status_code == 404
    assert client.post(_url(provider), {"addresses": "a@example.com"}).status_code == 404
    assert client.post(_url(provider), {"create_link": "1"}).status_code == 404
    assert not Invitation.objects.exists()


def test_a_customer_gets_404(client_logged_in, provider):
    assert client_logged_in.get(_url(provider)).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, provider):
    for response in (client.get(_url(provider)), client.post(_url(provider), {"create_link": 1})):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    assert not Invitation.objects.exists()


def test_the_list_shows_each_status_and_hides_when_a_link_was_used(
    owner_client, provider, customer
):
    InvitationFactory(provider=provider, email="waiting@example.com")
    InvitationFactory(
        provider=provider,
        email="late@example.com",
        expires_at=timezone.now() - dt.timedelta(minutes=1),
    )
    used = InvitationFactory(provider=provider, email="done@example.com")
    _submit(customer, provider, invitation=used)
    body = owner_client.get(_url(provider)).content.decode()
    assert "waiting@example.com" in body and "done@example.com" in body
    assert ">Sent<" in body and ">Expired<" in body and ">Used<" in body
    assert "Quick and friendly" not in body  # no way from an address to its review


def test_the_page_runs_the_same_few_queries_for_3_and_40_invitations(owner_client, provider):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get(_url(provider)).status_code == 200
        return len(queries)

    InvitationFactory.create_batch(3, provider=provider)
    owner_client.get(_url(provider))  # the first request warms the session cache
    few = count()
    InvitationFactory.create_batch(37, provider=provider)
    many = count()
    assert few == many
    assert many <= 8


# --- the customer's side ----------------------------------------------------------------
def test_a_review_through_the_link_is_invited_through_sign_in_and_publication(
    client, provider, customer, password, moderator
):
    invitation = InvitationFactory(provider=provider)
    response = client.get(f"/invite/{invitation.token}/")
    assert response.status_code == 302
    assert response["Location"] == f"/providers/{provider.slug}/review/"
    response = client.get(response["Location"])
    assert response["Location"].startswith("/accounts/login/")
    # The token survives signing in: the session carries it.
    client.post(
        "/accounts/login/",
        {"login": customer.email, "password": password},
    )
    body = client.get(f"/providers/{provider.slug}/review/").content.decode()
    assert "You were invited by Elm Tree Surgery to review them." in body
    assert "Your review will be labelled Invited." in body
    response = client.post(f"/providers/{provider.slug}/review/", _review_form())
    assert response.status_code == 302
    review = Review.objects.get()
    assert review.source == ReviewSource.INVITED
    invitation.refresh_from_db()
    assert invitation.used_at is not None and invitation.review == review
    assert INVITATION_SESSION_KEY not in client.session
    publish(review, moderator)
    provider.refresh_from_db()
    assert provider.invited_count == 1 and provider.invited_sum == 4
    body = client.get(provider.get_absolute_url()).content.decode()
    assert "badge--invited" in body and ">Invited<" in body


def test_the_link_is_single_use(client, provider, customer, other_customer):
    invitation = InvitationFactory(provider=provider)
    client.force_login(other_customer)
    client.get(f"/invite/{invitation.token}/")  # opened, not used yet
    _submit(customer, provider, invitation=invitation)
    # Someone else opening it now is told why and offered an ordinary review.
    response = client.get(f"/invite/{invitation.token}/")
    assert response.status_code == 410
    body = response.content.decode()
    assert "This invitation has already been used." in body
    assert f"/providers/{provider.slug}/review/" in body
    # The visitor who opened it before it was used writes an ordinary review instead.
    response = client.post(f"/providers/{provider.slug}/review/", _review_form())
    assert response.status_code == 200  # not sent as organic without them seeing why
    assert "This invitation has already been used." in response.content.decode()
    assert "has not been sent yet" in response.content.decode()
    assert INVITATION_SESSION_KEY not in client.session
    response = client.post(f"/providers/{provider.slug}/review/", _review_form())
    assert response.status_code == 302
    second = Review.objects.get(author=other_customer)
    assert second.source == ReviewSource.ORGANIC
    assert Review.objects.filter(source=ReviewSource.INVITED).count() == 1
    with pytest.raises(ValidationError, match="already been used"):
        _submit(UserFactory(), provider, invitation=invitation)


def test_a_link_spent_between_form_and_submit_is_refused_in_the_service(
    client, provider, customer, other_customer, monkeypatch
):
    """The view saw a usable invitation; the service, holding the lock, finds it used."""
    invitation = InvitationFactory(provider=provider)
    client.force_login(other_customer)
    client.get(f"/invite/{invitation.token}/")
    monkeypatch.setattr(
        "reviews.views.invitation_get_usable", lambda **kwargs: invitation
    )  # the stale copy the view read before the other submission
    _submit(customer, provider, invitation=Invitation.objects.get(pk=invitation.pk))
    response = client.post(f"/providers/{provider.slug}/review/", _review_form())
    assert response.status_code == 200
    assert "This invitation has already been used." in response.content.decode()
    assert not Review.objects.filter(author=other_customer).exists()
    assert INVITATION_SESSION_KEY not in client.session


def test_the_link_expires_after_30_days(client, provider, customer):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        invitation = InvitationFactory(
            provider=provider, expires_at=timezone.now() + dt.timedelta(days=30)
        )
    with time_machine.travel(start + dt.timedelta(days=29, hours=23), tick=False):
        assert invitation_redeem_check(token=invitation.token) == invitation
    with time_machine.travel(start + dt.timedelta(days=30, minutes=1), tick=False):
        response = client.get(f"/invite/{invitation.token}/")
        assert response.status_code == 410
        assert "This invitation expired on 1 April 2026." in response.content.decode()
        with pytest.raises(ValidationError, match="expired"):
            _submit(customer, provider, invitation=invitation)
    assert not Review.objects.exists()
    invitation.refresh_from_db()
    assert invitation.used_at is None


def test_an_expired_link_in_the_session_leaves_an_organic_review(client, provider, customer):
    invitation = InvitationFactory(provider=provider)
    client.force_login(customer)
    client.get(f"/invite/{invitation.token}/")
    # It runs out while they are on their way (aged in the table: travelling a month ahead
    # would expire the session too).
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    body = client.get(f"/providers/{provider.slug}/review/").content.decode()
    assert "This invitation expired on" in body
    assert "Your review will not be labelled Invited." in body
    assert "You were invited by" not in body
    assert INVITATION_SESSION_KEY not in client.session
    assert client.post(f"/providers/{provider.slug}/review/", _review_form()).status_code == 302
    assert Review.objects.get().source == ReviewSource.ORGANIC


def test_the_link_cannot_be_used_for_another_business(client, provider, other_provider, customer):
    invitation = InvitationFactory(provider=provider)
    with pytest.raises(ValidationError, match="another business"):
        invitation_redeem_check(token=invitation.token, provider=other_provider)
    with pytest.raises(ValidationError, match="another business"):
        _submit(customer, other_provider, invitation=invitation)
    assert not Review.objects.exists()
    # Through the pages: no banner at the other business, an organic review there, and the
    # link still waits for the business it is for.
    client.force_login(customer)
    client.get(f"/invite/{invitation.token}/")
    body = client.get(f"/providers/{other_provider.slug}/review/").content.decode()
    assert "You were invited" not in body and "not be labelled" not in body
    client.post(f"/providers/{other_provider.slug}/review/", _review_form())
    assert Review.objects.get().source == ReviewSource.ORGANIC
    assert client.session[INVITATION_SESSION_KEY] == invitation.token
    invitation.refresh_from_db()
    assert invitation.used_at is None


def test_an_unknown_link_gets_a_friendly_page(client, db):
    response = client.get("/invite/not-a-real-token/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "This invitation cannot be used" in body
    assert "not valid" in body
    assert INVITATION_SESSION_KEY not in client.session


def test_a_link_of_a_delisted_business_is_explained(client, provider):
    invitation = InvitationFactory(provider=provider)
    provider.is_active = False
    provider.save()
    response = client.get(f"/invite/{invitation.token}/")
    assert response.status_code == 410
    assert "no longer listed" in response.content.decode()


def test_a_failed_submission_leaves_the_invitation_unused(provider, customer):
    invitation = InvitationFactory(provider=provider)
    with pytest.raises(ValidationError):
        review_submit(
            author=customer,
            provider=provider,
            rating=4,
            title="Short",
            body="Too short",
            visit_month=this_month(),
            invitation=invitation,
        )
    invitation.refresh_from_db()
    assert invitation.used_at is None and invitation.review is None


def test_the_policy_page_explains_invitations(client, db):
    body = client.get("/reviews-policy/").content.decode()
    assert 'id="invitations"' in body
    for text in ("Every customer", "neutral", "30 days", "Invited", "No incentives"):
        assert text in body


# --- concurrency (PostgreSQL) ----------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_submissions_through_one_link_make_one_invited_review(provider, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no row locks, and serialises writers anyway")
    invitation = InvitationFactory(provider=provider)
    authors = UserFactory.create_batch(2)
    from reviews.services import content

    real_flags = content.checks.review_flags

    def slow_flags(**kwargs):
        time.sleep(0.3)  # widen the window between the check and the write
        return real_flags(**kwargs)

    monkeypatch.setattr(content.checks, "review_flags", slow_flags)
    barrier = threading.Barrier(2)
    outcomes = []

    def submit(author):
        try:
            barrier.wait(timeout=10)
            _submit(author, provider, invitation=invitation)  # both hold the same stale copy
            outcomes.append("ok")
        except ValidationError as error:
            outcomes.append(error.messages[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(a,)) for a in authors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["This invitation has already been used.", "ok"]
    assert Review.objects.filter(source=ReviewSource.INVITED).count() == 1
    assert Review.objects.count() == 1
    invitation.refresh_from_db()
    assert invitation.review == Review.objects.get()
