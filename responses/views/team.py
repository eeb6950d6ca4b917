"""The team and settings pages of the business dashboard, and the page where an invited colleague
joins. Every provider-scoped page starts from `member_provider_get`, so another provider's team
is a 404; members whose role may not act see the pages read-only, and their POSTs are refused
(403) before any input is read. The services check the role again and have the last word."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.ratelimits import rate_limited_form, with_retry_after
from responses.access import member_provider_get
from responses.forms_team import MemberEditForm, SettingsForm, TeamInviteForm
from responses.models import (
    CAN_EDIT_SETTINGS,
    CAN_MANAGE_TEAM,
    BusinessEvent,
    BusinessEventKind,
    Membership,
    Role,
    TeamInvitation,
)
from responses.services import team as services

ROLE_ORDER = {Role.OWNER: 0, Role.MANAGER: 1, Role.RESPONDER: 2}
TEAM_EVENT_KINDS = [
    BusinessEventKind.CLAIM_APPROVED,
    BusinessEventKind.MEMBER_INVITED,
    BusinessEventKind.INVITATION_REVOKED,
    BusinessEventKind.MEMBER_JOINED,
    BusinessEventKind.ROLE_CHANGED,
    BusinessEventKind.MEMBER_REMOVED,
    BusinessEventKind.SETTINGS_CHANGED,
]
RECENT_EVENTS = 10


def _page(request, template, *, provider, membership, tab="team", **context):
    context = {"provider": provider, "membership": membership, "active_tab": tab, **context}
    return render(request, f"responses/{template}", context)


def _refuse_unless(membership: Membership, roles) -> None:
    if membership.role not in roles:
        raise PermissionDenied(_("Your role in this business does not allow this."))


def _member_get(provider, membership_id) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, provider=provider
    )


@login_required
def team(request, slug):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    members = sorted(
        Membership.objects.filter(provider=provider).select_related("user"),
        key=lambda m: (ROLE_ORDER.get(m.role, 9), m.created_at, m.pk),
    )
    invitations = list(
        TeamInvitation.objects.filter(
            provider=provider,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).select_related("invited_by")
    )
    events = list(
        BusinessEvent.objects.filter(provider=provider, kind__in=TEAM_EVENT_KINDS)
        .select_related("actor", "subject")
        .order_by("-created_at", "-pk")[:RECENT_EVENTS]
    )
    return _page(
        request,
        "team.html",
        provider=provider,
        membership=membership,
        members=members,
        owner_count=sum(1 for m in members if m.role == Role.OWNER),
        invitations=invitations,
        events=events,
        can_manage=membership.role in CAN_MANAGE_TEAM,
    )


@login_required
def team_invite(request, slug):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    can_manage = membership.role in CAN_MANAGE_TEAM
    if request.method == "POST":
        _refuse_unless(membership, CAN_MANAGE_TEAM)
    form = TeamInviteForm(request.POST or None, initial={"role": Role.RESPONDER})
    wait = rate_limited_form(request, form, "team_invite")
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.team_invite(
                provider=provider, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s. The link works for %(days)s days.")
                % {"email": invitation.email, "days": services.INVITATION_VALID_DAYS},
            )
            return redirect("responses:team", slug=provider.slug)
    response = _page(
        request,
        "team_invite.html",
        provider=provider,
        membership=membership,
        form=form if can_manage else None,
        valid_days=services.INVITATION_VALID_DAYS,
    )
    return with_retry_after(response, wait) if wait else response


@login_required
def member_edit(request, slug, membership_id):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    target = _member_get(provider, membership_id)
    can_manage = membership.role in CAN_MANAGE_TEAM
    if request.method == "POST":
        _refuse_unless(membership, CAN_MANAGE_TEAM)
    form = MemberEditForm(
        request.POST or None, initial={"role": target.role, "job_title": target.job_title}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.member_change_role(membership=target, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request, _("%(name)s's role has been updated.") % {"name": target.user}
            )
            return redirect("responses:team", slug=provider.slug)
    return _page(
        request,
        "member_edit.html",
        provider=provider,
        membership=membership,
        target=target,
        is_last_owner=_is_last_owner(target),
        form=form if can_manage else None,
    )


def _is_last_owner(target: Membership) -> bool:
    return (
        target.role == Role.OWNER
        and not Membership.objects.filter(provider_id=target.provider_id, role=Role.OWNER)
        .exclude(pk=target.pk)
        .exists()
    )


@login_required
def member_remove(request, slug, membership_id):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    target = _member_get(provider, membership_id)
    error = ""
    if request.method == "POST":
        _refuse_unless(membership, CAN_MANAGE_TEAM)
        try:
            services.member_remove(membership=target, actor=request.user)
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        else:
            if target.user_id == request.user.pk:
                messages.success(request, _("You have left the team of %s.") % provider.name)
                return redirect("responses:dashboard")
            messages.success(
                request, _("%(name)s has been removed from the team.") % {"name": target.user}
            )
            return redirect("responses:team", slug=provider.slug)
    return _page(
        request,
        "member_remove.html",
        provider=provider,
        membership=membership,
        target=target,
        is_last_owner=_is_last_owner(target),
        can_manage=membership.role in CAN_MANAGE_TEAM,
        error=error,
    )


@login_required
def team_invitation_revoke(request, slug, invitation_id):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    invitation = get_object_or_404(TeamInvitation, pk=invitation_id, provider=provider)
    if request.method != "POST":
        # The button lives on the team page; a stray GET goes back there.
        return redirect("responses:team", slug=provider.slug)
    _refuse_unless(membership, CAN_MANAGE_TEAM)
    try:
        services.team_invitation_revoke(invitation=invitation, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("The invitation to %(email)s has been withdrawn; its link no longer works.")
            % {"email": invitation.email},
        )
    return redirect("responses:team", slug=provider.slug)


@login_required
def team_join(request, token):
    invitation = get_object_or_404(
        TeamInvitation.objects.select_related("provider", "invited_by"), token=token
    )
    problem = services.team_invitation_problem(invitation=invitation, user=request.user)
    if request.method == "POST" and not problem:
        try:
            services.team_join(token=token, user=request.user)
        except ValidationError as error:
            problem = " ".join(error.messages)
        else:
            messages.success(
                request,
                _("Welcome to the team of %(name)s.") % {"name": invitation.provider.name},
            )
            return redirect("responses:inbox", slug=invitation.provider.slug)
    return render(
        request,
        "responses/team_join.html",
        {"invitation": invitation, "provider": invitation.provider, "problem": problem},
    )


@login_required
def settings_edit(request, slug):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    current = services.response_settings_get(provider=provider)
    can_edit = membership.role in CAN_EDIT_SETTINGS
    if request.method == "POST":
        _refuse_unless(membership, CAN_EDIT_SETTINGS)
    form = SettingsForm(
        request.POST or None, initial={"reply_target_hours": current.reply_target_hours}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.settings_update(provider=provider, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Your settings have been saved."))
            return redirect("responses:settings", slug=provider.slug)
    return _page(
        request,
        "settings.html",
        provider=provider,
        membership=membership,
        tab="settings",
        current=current,
        form=form if can_edit else None,
    )
