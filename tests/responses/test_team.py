"""Teams and settings: owners invite colleagues (single-use, expiring links bound to an email
address), change roles and remove members — never the last owner — and set the reply target.
Other roles see the pages read-only; other providers' members get 404 everywhere."""

import datetime as dt
import re
import threading

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from responses.models import (
    BusinessEvent,
    Membership,
    ResponseSettings,
    TeamInvitation,
)
from responses.services.team import (
    member_change_role,
    member_remove,
    response_settings_get,
    settings_update,
    team_invitation_revoke,
    team_invite,
    team_join,
)
from tests.factories import (
    MembershipFactory,
    ProviderFactory,
    TeamInvitationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

JOIN_LINK = re.compile(r"(https?://\S+)(/business/join/([\w-]+)/)")


@pytest.fixture
def provider(db):
    return ProviderFactory(name="Green Lane Surgery")


@pytest.fixture
def owner(provider):
    return MembershipFactory(provider=provider, role="owner", user__display_name="Olive Owner")


@pytest.fixture
def manager(provider):
    return MembershipFactory(provider=provider, role="manager", user__display_name="Max Manager")


@pytest.fixture
def responder(provider):
    return MembershipFactory(
        provider=provider, role="responder", user__display_name="Rita Responder"
    )


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(name, provider, **kwargs):
    return reverse(f"responses:{name}", kwargs={"slug": provider.slug, **kwargs})


def _snapshot():
    """Everything a team or settings page could change."""
    return (
        sorted(Membership.objects.values_list("pk", "provider_id", "user_id", "role", "job_title")),
        sorted(TeamInvitation.objects.values_list("pk", "email", "revoked_at", "accepted_at")),
        sorted(ResponseSettings.objects.values_list("provider_id", "reply_target_hours")),
        BusinessEvent.objects.count(),
    )


# --- inviting and joining ------------------------------------------------------------------
def test_an_owner_invites_a_responder_who_joins_from_the_emailed_link(
    owner, provider, django_capture_on_commit_callbacks
):
    invitee = UserFactory(email="new.colleague@example.com", display_name="Nina New")
    owner_client = _as(owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            _url("team_invite", provider),
            {"email": "New.Colleague@Example.com", "role": "responder", "job_title": "Nurse"},
        )
    assert response.status_code == 302
    invitation = TeamInvitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "new.colleague@example.com",
        "responder",
        owner.user,
    )
    expected_expiry = timezone.now() + dt.timedelta(days=14)
    assert abs(invitation.expires_at - expected_expiry) < dt.timedelta(minutes=1)
    assert BusinessEvent.objects.filter(kind="member_invited", actor=owner.user).count() == 1

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.colleague@example.com"]
    assert "Green Lane Surgery" in message.subject
    link = JOIN_LINK.search(message.body)
    assert link and link.group(3) == invitation.token
    assert link.group(2) in message.alternatives[0][0]

    # The invitee, in their own browser session, signed in with the invited address.
    invitee_client = _as(invitee)
    page = invitee_client.get(link.group(2))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Join the team of Green Lane Surgery" in body
    assert "Responder" in body
    assert "Accept and join the team" in body
    assert not Membership.objects.filter(user=invitee).exists()  # a GET changes nothing

    joined = invitee_client.post(link.group(2))
    assert joined.status_code == 302
    assert joined["Location"] == _url("inbox", provider)
    membership = Membership.objects.get(user=invitee)
    assert (membership.provider, membership.role, membership.job_title) == (
        provider,
        "responder",
        "Nurse",
    )
    invitation.refresh_from_db()
    assert (invitation.accepted_by, invitation.accepted_at is not None) == (invitee, True)
    event = BusinessEvent.objects.get(kind="member_joined")
    assert (event.actor, event.subject) == (invitee, invitee)
    assert event.detail["after"] == {"role": "responder", "job_title": "Nurse"}


def test_the_join_link_sends_anonymous_visitors_to_sign_in_and_back(client, provider):
    invitation = TeamInvitationFactory(provider=provider)
    url = reverse("responses:team_join", kwargs={"token": invitation.token})
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=/business/join/" in response["Location"]


def test_an_unknown_token_is_not_found(client_logged_in):
    response = client_logged_in.get(reverse("responses:team_join", kwargs={"token": "nope"}))
    assert response.status_code == 404
    with pytest.raises(ValidationError, match="not valid"):
        team_join(token="nope", user=UserFactory())


def _open_invitation(provider, **kwargs):
    return TeamInvitationFactory(provider=provider, email="invited@example.com", **kwargs)


def _invited_user():
    return UserFactory(email="invited@example.com")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong_email", "not a confirmed address"),
        ("unverified_email", "not a confirmed address"),
        ("expired", "has expired"),
        ("revoked", "withdrawn by the business"),
        ("used", "already been used"),
        ("already_member", "already a member"),
    ],
)
def test_invitations_that_cannot_be_accepted_are_refused(provider, owner, case, message):
    invitation = _open_invitation(provider)
    user = _invited_user()
    if case == "wrong_email":
        user = UserFactory(email="someone.else@example.com")
    elif case == "unverified_email":
        EmailAddress.objects.filter(user=user).update(verified=False)
    elif case == "expired":
        TeamInvitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
    elif case == "revoked":
        team_invitation_revoke(invitation=invitation, actor=owner.user)
    elif case == "used":
        TeamInvitation.objects.filter(pk=invitation.pk).update(
            accepted_at=timezone.now(), accepted_by=UserFactory()
        )
    elif case == "already_member":
        MembershipFactory(provider=provider, user=user, role="manager")
    before = _snapshot()
    client = _as(user)
    url = reverse("responses:team_join", kwargs={"token": invitation.token})

    page = client.get(url).content.decode()
    assert message in page
    assert "Accept and join the team" not in page
    posted = client.post(url)
    assert posted.status_code == 200
    assert message in posted.content.decode()
    with pytest.raises(ValidationError, match=message):
        team_join(token=invitation.token, user=user)
    assert _snapshot() == before


def test_a_link_works_only_once(provider):
    invitation = _open_invitation(provider)
    user = _invited_user()
    team_join(token=invitation.token, user=user)
    # Even for a second account that has confirmed the same address as an extra one.
    other = UserFactory()
    EmailAddress.objects.create(user=other, email="Invited@example.com", verified=True)
    with pytest.raises(ValidationError, match="already been used"):
        team_join(token=invitation.token, user=other)
    assert Membership.objects.filter(provider=provider).count() == 1


def test_a_confirmed_secondary_address_may_accept(provider):
    invitation = _open_invitation(provider)
    user = UserFactory(email="primary@example.com")
    EmailAddress.objects.create(user=user, email="INVITED@example.com", verified=True)
    assert team_join(token=invitation.token, user=user).provider == provider


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter an email address"),
        ({"role": "boss"}, "role", "Choose a role"),
        ({"job_title": "x" * 81}, "job_title", "80 characters"),
    ],
)
def test_bad_invitations_are_refused_with_the_field_named(owner, provider, data, field, message):
    args = {"email": "a@example.com", "role": "responder", "job_title": "", **data}
    with pytest.raises(ValidationError, match=message) as refused:
        team_invite(provider=provider, actor=owner.user, **args)
    assert field in refused.value.error_dict
    assert not TeamInvitation.objects.exists()


def test_inviting_an_existing_member_or_an_open_address_twice_is_refused(
    owner, responder, provider
):
    client = _as(owner.user)
    page = client.post(
        _url("team_invite", provider),
        {"email": responder.user.email.upper(), "role": "manager"},
    )
    assert "already a member of the team" in page.content.decode()
    assert not TeamInvitation.objects.exists()

    team_invite(provider=provider, actor=owner.user, email="x@example.com", role="responder")
    page = client.post(_url("team_invite", provider), {"email": "X@example.com", "role": "owner"})
    assert "still open" in page.content.decode()
    assert TeamInvitation.objects.count() == 1


def test_an_owner_withdraws_an_invitation_and_its_link_stops_working(owner, provider):
    invitation = _open_invitation(provider)
    response = _as(owner.user).post(
        _url("team_invitation_revoke", provider, invitation_id=invitation.pk)
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    event = BusinessEvent.objects.get(kind="invitation_revoked")
    assert (event.actor, event.detail["invitation_id"]) == (owner.user, invitation.pk)
    with pytest.raises(ValidationError, match="withdrawn"):
        team_join(token=invitation.token, user=_invited_user())
    with pytest.raises(ValidationError, match="already been withdrawn"):
        team_invitation_revoke(invitation=invitation, actor=owner.user)


# --- roles and removal ---------------------------------------------------------------------
def test_a_role_change_is_audited_with_before_and_after(owner, responder, provider):
    response = _as(owner.user).post(
        _url("member_edit", provider, membership_id=responder.pk),
        {"role": "manager", "job_title": "Practice manager"},
    )
    assert response.status_code == 302
    responder.refresh_from_db()
    assert (responder.role, responder.job_title) == ("manager", "Practice manager")
    event = BusinessEvent.objects.get(kind="role_changed")
    assert (event.actor, event.subject) == (owner.user, responder.user)
    assert event.detail == {
        "membership_id": responder.pk,
        "before": {"role": "responder", "job_title": ""},
        "after": {"role": "manager", "job_title": "Practice manager"},
    }


def test_saving_without_a_change_writes_no_event(owner, responder):
    member_change_role(membership=responder, actor=owner.user, role="responder", job_title="")
    assert not BusinessEvent.objects.exists()


def test_removal_is_audited(owner, responder, provider):
    response = _as(owner.user).post(_url("member_remove", provider, membership_id=responder.pk))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=responder.pk).exists()
    event = BusinessEvent.objects.get(kind="member_removed")
    assert (event.actor, event.subject) == (owner.user, responder.user)
    assert event.detail == {
        "membership_id": responder.pk,
        "before": {"role": "responder", "job_title": ""},
        "after": None,
    }


def test_the_last_owner_cannot_be_removed_or_demoted_by_the_service(owner, responder):
    with pytest.raises(ValidationError, match="only owner"):
        member_remove(membership=owner, actor=owner.user)
    with pytest.raises(ValidationError, match="only owner"):
        member_change_role(membership=owner, actor=owner.user, role="manager", job_title="")
    owner.refresh_from_db()
    assert owner.role == "owner"
    assert not BusinessEvent.objects.exists()


def test_the_last_owner_cannot_be_removed_or_demoted_through_the_pages(owner, provider):
    client = _as(owner.user)
    before = _snapshot()
    removal = client.post(_url("member_remove", provider, membership_id=owner.pk))
    assert removal.status_code == 200
    assert "only owner" in removal.content.decode()
    demotion = client.post(
        _url("member_edit", provider, membership_id=owner.pk), {"role": "responder"}
    )
    assert demotion.status_code == 200
    assert "only owner" in demotion.content.decode()
    assert _snapshot() == before
    # And the team page offers no way to try.
    team_page = client.get(_url("team", provider)).content.decode()
    assert _url("member_remove", provider, membership_id=owner.pk) not in team_page


def test_an_owner_may_leave_or_step_down_when_another_owner_remains(owner, provider):
    second = MembershipFactory(provider=provider, role="owner")
    member_change_role(membership=owner, actor=owner.user, role="manager", job_title="")
    owner.refresh_from_db()
    assert owner.role == "manager"
    # Now the second owner is the last one: they cannot leave.
    with pytest.raises(ValidationError, match="only owner"):
        member_remove(membership=second, actor=second.user)
    member_change_role(membership=owner, actor=second.user, role="owner", job_title="")
    response = _as(second.user).post(_url("member_remove", provider, membership_id=second.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("responses:dashboard")
    assert list(Membership.objects.values_list("role", flat=True)) == ["owner"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_owners_leaving_at_the_same_moment_leave_one_owner():
    """Both check "is there another owner?" at once; the lock makes the second see the first
    one's departure, so a provider can never end up with no owner."""
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL")
    for _attempt in range(5):
        provider = ProviderFactory()
        first = MembershipFactory(provider=provider, role="owner")
        second = MembershipFactory(provider=provider, role="owner")
        barrier = threading.Barrier(2)
        outcomes = []

        def leave(membership, barrier=barrier, outcomes=outcomes):
            try:
                barrier.wait()
                member_remove(membership=membership, actor=membership.user)
                outcomes.append("left")
            except ValidationError:
                outcomes.append("refused")
            finally:
                connection.close()

        threads = [threading.Thread(target=leave, args=(m,)) for m in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["left", "refused"]
        assert Membership.objects.filter(provider=provider, role="owner").count() == 1


# --- settings --------------------------------------------------------------------------------
def test_an_owner_sets_the_reply_target(owner, provider):
    client = _as(owner.user)
    page = client.get(_url("settings", provider)).content.decode()
    assert 'value="48"' in page
    response = client.post(_url("settings", provider), {"reply_target_hours": "24"})
    assert response.status_code == 302
    assert ResponseSettings.objects.get(provider=provider).reply_target_hours == 24
    event = BusinessEvent.objects.get(kind="settings_changed")
    assert (event.actor, event.detail) == (
        owner.user,
        {"before": {"reply_target_hours": 48}, "after": {"reply_target_hours": 24}},
    )
    provider.refresh_from_db()
    assert response_settings_get(provider=provider).reply_target_hours == 24


def test_settings_default_to_48_hours_without_writing(provider):
    current = response_settings_get(provider=provider)
    assert (current.pk, current.reply_target_hours) == (None, 48)
    assert not ResponseSettings.objects.exists()


@pytest.mark.parametrize("hours", ["0", "721", "-5", "2.5", "soon"])
def test_a_reply_target_outside_1_to_720_hours_is_refused(owner, provider, hours):
    page = _as(owner.user).post(_url("settings", provider), {"reply_target_hours": hours})
    assert page.status_code == 200
    assert "There is a problem" in page.content.decode()
    assert not ResponseSettings.objects.exists()


@pytest.mark.parametrize("hours", [0, 721, True, "24"])
def test_the_service_checks_the_range_too(owner, provider, hours):
    with pytest.raises(ValidationError) as refused:
        settings_update(provider=provider, actor=owner.user, reply_target_hours=hours)
    assert "reply_target_hours" in refused.value.error_dict


@pytest.mark.parametrize("role", ["manager", "responder"])
def test_only_owners_change_settings(provider, owner, role):
    member = MembershipFactory(provider=provider, role=role)
    with pytest.raises(PermissionDenied):
        settings_update(provider=provider, actor=member.user, reply_target_hours=12)
    page = _as(member.user).get(_url("settings", provider)).content.decode()
    assert "48 hours" in page
    assert "Only owners can change the settings." in page
    assert 'name="reply_target_hours"' not in page
    assert not ResponseSettings.objects.exists()


# --- who may do what -----------------------------------------------------------------------
POST_PAGES = ["team_invite", "member_edit", "member_remove", "team_invitation_revoke", "settings"]
ALL_PAGES = ["team", *POST_PAGES]
POST_DATA = {
    "team_invite": {"email": "friend@example.com", "role": "owner", "job_title": ""},
    "member_edit": {"role": "owner", "job_title": "Boss"},
    "member_remove": {},
    "team_invitation_revoke": {},
    "settings": {"reply_target_hours": "1"},
}


def _page_url(name, provider, member, invitation):
    if name in ("member_edit", "member_remove"):
        return _url(name, provider, membership_id=member.pk)
    if name == "team_invitation_revoke":
        return _url(name, provider, invitation_id=invitation.pk)
    return _url(name, provider)


@pytest.mark.parametrize("role", ["manager", "responder"])
@pytest.mark.parametrize("name", POST_PAGES)
def test_only_owners_manage_the_team_and_settings(provider, owner, role, name):
    actor = MembershipFactory(provider=provider, role=role)
    target = MembershipFactory(provider=provider, role="responder")
    invitation = _open_invitation(provider)
    before = _snapshot()
    response = _as(actor.user).post(_page_url(name, provider, target, invitation), POST_DATA[name])
    assert response.status_code == 403
    assert _snapshot() == before


SERVICE_CALLS = {
    "team_invite": lambda p, actor, target, inv: team_invite(
        provider=p, actor=actor, email="friend@example.com", role="owner"
    ),
    "team_invitation_revoke": lambda p, actor, target, inv: team_invitation_revoke(
        invitation=inv, actor=actor
    ),
    "member_change_role": lambda p, actor, target, inv: member_change_role(
        membership=target, actor=actor, role="owner", job_title=""
    ),
    "member_remove": lambda p, actor, target, inv: member_remove(membership=target, actor=actor),
    "settings_update": lambda p, actor, target, inv: settings_update(
        provider=p, actor=actor, reply_target_hours=1
    ),
}


@pytest.mark.parametrize("actor_kind", ["manager", "responder", "outsider", "other_owner"])
@pytest.mark.parametrize("call", sorted(SERVICE_CALLS))
def test_every_team_service_refuses_anyone_but_an_owner_of_that_provider(
    provider, owner, actor_kind, call
):
    """The services check the role themselves, so no entry point can forget it."""
    if actor_kind == "outsider":
        actor = UserFactory()
    elif actor_kind == "other_owner":
        actor = MembershipFactory(role="owner").user
    else:
        actor = MembershipFactory(provider=provider, role=actor_kind).user
    target = MembershipFactory(provider=provider, role="responder")
    invitation = _open_invitation(provider)
    before = _snapshot()
    with pytest.raises(PermissionDenied):
        SERVICE_CALLS[call](provider, actor, target, invitation)
    assert _snapshot() == before


@pytest.mark.parametrize("role", ["manager", "responder"])
def test_other_roles_see_the_team_read_only(provider, owner, role):
    member = MembershipFactory(provider=provider, role=role)
    _open_invitation(provider)
    client = _as(member.user)
    team_page = client.get(_url("team", provider)).content.decode()
    assert "Olive Owner" in team_page
    assert "invited@example.com" in team_page
    assert "Only owners can invite, change or remove team members." in team_page
    assert _url("team_invite", provider) not in team_page
    assert "/revoke/" not in team_page
    assert "Change role" not in team_page
    for name, text in [
        ("team_invite", "Only owners can invite team members."),
        ("member_edit", "Only owners can change team members"),
        ("member_remove", "Only owners can remove team members."),
    ]:
        page = client.get(_page_url(name, provider, owner, None)).content.decode()
        assert text in page
        assert 'method="post" class="form' not in page


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", ALL_PAGES)
def test_a_member_of_another_provider_gets_404_everywhere(provider, owner, name, method):
    other_owner = MembershipFactory(role="owner")  # an owner, of another provider
    invitation = _open_invitation(provider)
    ResponseSettings.objects.create(provider=provider, reply_target_hours=30)
    before = _snapshot()
    client = _as(other_owner.user)
    url = _page_url(name, provider, owner, invitation)
    response = getattr(client, method)(url, POST_DATA.get(name, {}))
    assert response.status_code == 404
    assert _snapshot() == before


@pytest.mark.parametrize("name", ["member_edit", "member_remove", "team_invitation_revoke"])
def test_another_providers_objects_are_404_under_your_own_provider(provider, owner, name):
    elsewhere = MembershipFactory(role="owner")
    invitation = _open_invitation(elsewhere.provider)
    before = _snapshot()
    url = _page_url(name, provider, elsewhere, invitation)  # my slug, their ids
    response = _as(owner.user).post(url, POST_DATA[name])
    assert response.status_code == 404
    assert _snapshot() == before


@pytest.mark.parametrize("name", ALL_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, provider, owner, name):
    invitation = _open_invitation(provider)
    url = _page_url(name, provider, owner, invitation)
    response = client.post(url, POST_DATA.get(name, {}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    response = client.get(url)
    assert response["Location"].startswith(reverse("account_login"))


# --- pages ---------------------------------------------------------------------------------
def _team_of(size):
    provider = ProviderFactory()
    owner = MembershipFactory(provider=provider, role="owner")
    others = [MembershipFactory(provider=provider) for _ in range(size - 1)]
    for member in others:
        member_change_role(membership=member, actor=owner.user, role="manager", job_title="X")
    for n in range(size):
        team_invite(provider=provider, actor=owner.user, email=f"p{n}@example.com", role="owner")
    return provider, owner, others[0]


@pytest.mark.parametrize("size", [2, 12])
def test_team_pages_run_a_constant_number_of_queries(size, django_assert_max_num_queries):
    provider, owner, member = _team_of(size)
    client = _as(owner.user)
    for url in [
        _url("team", provider),
        _url("team_invite", provider),
        _url("member_edit", provider, membership_id=member.pk),
        _url("member_remove", provider, membership_id=member.pk),
        _url("settings", provider),
    ]:
        with django_assert_max_num_queries(7):
            assert client.get(url).status_code == 200


def test_the_team_page_lists_members_owners_first_with_recent_changes(owner, responder, provider):
    member_change_role(
        membership=responder, actor=owner.user, role="responder", job_title="Receptionist"
    )
    body = _as(responder.user).get(_url("team", provider)).content.decode()
    table = body[body.index("<tbody>") :]
    assert table.index("Olive Owner") < table.index("Rita Responder")
    assert "Receptionist" in body
    assert "Role changed" in body
    assert '<th scope="col">' in body
    assert 'aria-current="page"' in body
