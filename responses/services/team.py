"""A provider's team and settings: owners invite colleagues, change their roles and remove them,
and set the reply target. Each change is one transaction with its BusinessEvent (before and
after in `detail`). A provider is never left without an owner: every change that could remove
one first locks all of the provider's memberships, so two owners cannot demote each other at
the same moment."""

import datetime as dt

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from portal.emails import email_send
from responses.access import require_role
from responses.models import (
    CAN_EDIT_SETTINGS,
    CAN_MANAGE_TEAM,
    DEFAULT_REPLY_TARGET_HOURS,
    BusinessEvent,
    BusinessEventKind,
    Membership,
    ResponseSettings,
    Role,
    TeamInvitation,
)
from reviews.models import Provider

INVITATION_VALID_DAYS = 14
JOB_TITLE_MAX = 80
REPLY_TARGET_MIN_HOURS = 1
REPLY_TARGET_MAX_HOURS = 720  # 30 days

ONLY_OWNERS = gettext_lazy("Only an owner of this business can change its team.")


def _event(*, provider, actor, kind, subject=None, detail=None) -> BusinessEvent:
    return BusinessEvent.objects.create(
        provider=provider, actor=actor, kind=kind, subject=subject, detail=detail or {}
    )


def _state(membership: Membership) -> dict:
    return {"role": membership.role, "job_title": membership.job_title}


def _clean_role_and_title(*, role: str, job_title: str) -> str:
    errors = {}
    if role not in Role.values:
        errors["role"] = [_("Choose a role.")]
    if len(job_title) > JOB_TITLE_MAX:
        errors["job_title"] = [
            _("The job title must be %(max)s characters or fewer.") % {"max": JOB_TITLE_MAX}
        ]
    if errors:
        raise ValidationError(errors)
    return job_title


def _lock_team(*, provider: Provider) -> list[Membership]:
    """Every membership of the provider, locked (in pk order, so lockers never deadlock).

    After the lock is granted the rows are the committed ones: a concurrent removal or
    demotion has either finished (and is seen here) or waits for us.
    """
    return list(
        Membership.objects.select_for_update().filter(provider_id=provider.pk).order_by("pk")
    )


def _owner_in(team: list[Membership], actor: User) -> Membership:
    for membership in team:
        if membership.user_id == actor.pk and membership.role in CAN_MANAGE_TEAM:
            return membership
    raise PermissionDenied(ONLY_OWNERS)


def _target_in(team: list[Membership], membership: Membership) -> Membership:
    for each in team:
        if each.pk == membership.pk:
            return each
    raise ValidationError(_("This person is no longer a member of the team."))


def _owner_count(team: list[Membership]) -> int:
    return sum(1 for m in team if m.role == Role.OWNER)


# --- invitations -----------------------------------------------------------------------------
def _open_invitations(provider: Provider):
    return TeamInvitation.objects.filter(
        provider=provider,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )


@transaction.atomic
def team_invite(
    *, provider: Provider, actor: User, email: str, role: str, job_title: str = ""
) -> TeamInvitation:
    """Invite a colleague by email; they join with the link once signed in with that address."""
    require_role(user=actor, provider=provider, roles=CAN_MANAGE_TEAM, action=ONLY_OWNERS)
    email = (email or "").strip().lower()
    job_title = (job_title or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": [_("Enter an email address, like name@example.com.")]}
        ) from None
    _clean_role_and_title(role=role, job_title=job_title)
    if Membership.objects.filter(provider=provider, user__email__iexact=email).exists():
        raise ValidationError({"email": [_("This person is already a member of the team.")]})
    if _open_invitations(provider).filter(email__iexact=email).exists():
        raise ValidationError(
            {
                "email": [
                    _(
                        "An invitation to this address is still open. Withdraw it first if you "
                        "want to send a new one."
                    )
                ]
            }
        )
    invitation = TeamInvitation.objects.create(
        provider=provider,
        email=email,
        role=role,
        job_title=job_title,
        invited_by=actor,
        expires_at=timezone.now() + dt.timedelta(days=INVITATION_VALID_DAYS),
    )
    _event(
        provider=provider,
        actor=actor,
        kind=BusinessEventKind.MEMBER_INVITED,
        detail={"invitation_id": invitation.pk, "role": role, "job_title": job_title},
    )
    email_send(
        template="team_invitation",
        to=[email],
        context={
            "invitation": invitation,
            "provider": provider,
            "inviter": actor,
            "join_url": settings.SITE_URL
            + reverse("responses:team_join", kwargs={"token": invitation.token}),
        },
    )
    return invitation


@transaction.atomic
def team_invitation_revoke(*, invitation: TeamInvitation, actor: User) -> TeamInvitation:
    """Withdraw an invitation that has not been used yet; its link stops working."""
    invitation = TeamInvitation.objects.select_for_update().get(pk=invitation.pk)
    provider = Provider.objects.get(pk=invitation.provider_id)
    require_role(user=actor, provider=provider, roles=CAN_MANAGE_TEAM, action=ONLY_OWNERS)
    if invitation.accepted_at:
        raise ValidationError(_("This invitation has already been accepted."))
    if invitation.revoked_at:
        raise ValidationError(_("This invitation has already been withdrawn."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    _event(
        provider=provider,
        actor=actor,
        kind=BusinessEventKind.INVITATION_REVOKED,
        detail={"invitation_id": invitation.pk, "role": invitation.role},
    )
    return invitation


def _mask_email(email: str) -> str:
    local, _at, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


def team_invitation_problem(*, invitation: TeamInvitation, user: User) -> str:
    """Why `user` cannot accept `invitation` now, in words for them; "" when they can."""
    if invitation.revoked_at:
        return _("This invitation was withdrawn by the business.")
    if invitation.accepted_at:
        return _("This invitation has already been used.")
    if invitation.expires_at <= timezone.now():
        return _("This invitation has expired. Ask the business to send you a new one.")
    if not invitation.provider.is_active:
        return _("This business is no longer listed.")
    if not EmailAddress.objects.filter(
        user=user, email__iexact=invitation.email, verified=True
    ).exists():
        return _(
            "This invitation was sent to %(email)s, which is not a confirmed address of the "
            "account you are signed in with. Sign in with that address, or add and confirm it "
            "in your account, then open the link again."
        ) % {"email": _mask_email(invitation.email)}
    if Membership.objects.filter(provider_id=invitation.provider_id, user=user).exists():
        return _("You are already a member of this business's team.")
    return ""


@transaction.atomic
def team_join(*, token: str, user: User) -> Membership:
    """Accept a team invitation: valid, unexpired, unrevoked, unused and meant for this user."""
    if not (user and user.is_authenticated and user.is_active):
        raise PermissionDenied(_("Sign in to accept the invitation."))
    # The lock makes a second, simultaneous use of the same link wait and then see it used.
    invitation = (
        TeamInvitation.objects.select_for_update(of=("self",))
        .select_related("provider")
        .filter(token=token)
        .first()
    )
    if invitation is None:
        raise ValidationError({NON_FIELD_ERRORS: [_("This invitation link is not valid.")]})
    problem = team_invitation_problem(invitation=invitation, user=user)
    if problem:
        raise ValidationError({NON_FIELD_ERRORS: [problem]})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                provider=invitation.provider,
                user=user,
                role=invitation.role,
                job_title=invitation.job_title,
            )
    except IntegrityError:
        # A claim approval made them a member at this very moment.
        raise ValidationError(
            {NON_FIELD_ERRORS: [_("You are already a member of this business's team.")]}
        ) from None
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    _event(
        provider=invitation.provider,
        actor=user,
        kind=BusinessEventKind.MEMBER_JOINED,
        subject=user,
        detail={
            "invitation_id": invitation.pk,
            "membership_id": membership.pk,
            "invited_by": invitation.invited_by_id,
            "before": None,
            "after": _state(membership),
        },
    )
    return membership


# --- members ---------------------------------------------------------------------------------
@transaction.atomic
def member_change_role(
    *, membership: Membership, actor: User, role: str, job_title: str = ""
) -> Membership:
    """Change a member's role and public job title; the last owner cannot be demoted."""
    team = _lock_team(provider=membership.provider)
    _owner_in(team, actor)
    target = _target_in(team, membership)
    job_title = _clean_role_and_title(role=role, job_title=(job_title or "").strip())
    if target.role == Role.OWNER and role != Role.OWNER and _owner_count(team) == 1:
        raise ValidationError(
            {
                "role": [
                    _(
                        "%(name)s is the only owner. Make someone else an owner first: a "
                        "business always needs one."
                    )
                    % {"name": target.user}
                ]
            }
        )
    before = _state(target)
    target.role, target.job_title = role, job_title
    if _state(target) == before:
        return target
    target.save(update_fields=["role", "job_title"])
    _event(
        provider=membership.provider,
        actor=actor,
        kind=BusinessEventKind.ROLE_CHANGED,
        subject=target.user,
        detail={"membership_id": target.pk, "before": before, "after": _state(target)},
    )
    return target


@transaction.atomic
def member_remove(*, membership: Membership, actor: User) -> None:
    """Take someone off the team (owners may remove themselves if another owner remains)."""
    team = _lock_team(provider=membership.provider)
    _owner_in(team, actor)
    target = _target_in(team, membership)
    if target.role == Role.OWNER and _owner_count(team) == 1:
        raise ValidationError(
            _(
                "%(name)s is the only owner and cannot be removed. Make someone else an owner "
                "first: a business always needs one."
            )
            % {"name": target.user}
        )
    subject = target.user
    detail = {"membership_id": target.pk, "before": _state(target), "after": None}
    target.delete()
    _event(
        provider=membership.provider,
        actor=actor,
        kind=BusinessEventKind.MEMBER_REMOVED,
        subject=subject,
        detail=detail,
    )


# --- settings --------------------------------------------------------------------------------
def response_settings_get(*, provider: Provider) -> ResponseSettings:
    """The provider's settings, or unsaved defaults when an owner has never changed them."""
    try:
        return provider.response_settings
    except ResponseSettings.DoesNotExist:
        return ResponseSettings(provider=provider, reply_target_hours=DEFAULT_REPLY_TARGET_HOURS)


@transaction.atomic
def settings_update(
    *, provider: Provider, actor: User, reply_target_hours: int
) -> ResponseSettings:
    """Set the reply target (calendar hours, around the clock)."""
    require_role(
        user=actor,
        provider=provider,
        roles=CAN_EDIT_SETTINGS,
        action=_("Only an owner of this business can change its settings."),
    )
    if (
        isinstance(reply_target_hours, bool)
        or not isinstance(reply_target_hours, int)
        or not REPLY_TARGET_MIN_HOURS <= reply_target_hours <= REPLY_TARGET_MAX_HOURS
    ):
        raise ValidationError(
            {
                "reply_target_hours": [
                    _("Enter a whole number of hours from %(min)s to %(max)s.")
                    % {"min": REPLY_TARGET_MIN_HOURS, "max": REPLY_TARGET_MAX_HOURS}
                ]
            }
        )
    response_settings, _created = ResponseSettings.objects.select_for_update().get_or_create(
        provider=provider
    )
    before = {"reply_target_hours": response_settings.reply_target_hours}
    if before["reply_target_hours"] != reply_target_hours:
        response_settings.reply_target_hours = reply_target_hours
        response_settings.save(update_fields=["reply_target_hours", "updated_at"])
        _event(
            provider=provider,
            actor=actor,
            kind=BusinessEventKind.SETTINGS_CHANGED,
            detail={"before": before, "after": {"reply_target_hours": reply_target_hours}},
        )
    # Whoever holds this provider object next sees the new figure, not a cached "none yet".
    provider.response_settings = response_settings
    return response_settings
