"""A person's own account: exporting everything Heard holds about them (GDPR Art. 15 and 20)
and erasing it (Art. 17). What is kept, what is erased and why is written down in
docs/security.md and on the privacy page; keep the three in step."""

import datetime as dt

from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.selectors import account_data_export
from portal.emails import email_send
from portal.logs import audit
from reviews.pagecache import providers_pages_changed

# Shown wherever a deleted account's name used to be (Review.author_name says the same).
FORMER_MEMBER = gettext_lazy("Former member")

STAFF_REFUSED = gettext_lazy(
    "Staff accounts cannot be deleted here: an administrator closes them, so that the "
    "moderation record stays intact. Ask another administrator."
)

__all__ = ["FORMER_MEMBER", "account_data_export", "account_delete"]


def _addresses(user: User) -> list[str]:
    """Every address the person used with us, lower-cased."""
    found = {user.email.lower()}
    found.update(
        e.lower() for e in EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    )
    return sorted(a for a in found if a)


def _refuse_if_last_owner(user: User) -> list[int]:
    """A business always needs an owner: the last owner of a team with other members must
    hand over first (as `member_remove` requires). Returns the providers this user is the
    only member of, which go back to unclaimed."""
    from responses.models import Membership, Role

    mine = list(Membership.objects.filter(user=user).select_related("provider"))
    alone = []
    for membership in mine:
        team = list(
            Membership.objects.filter(provider_id=membership.provider_id).values_list(
                "user_id", "role"
            )
        )
        others = [(uid, role) for uid, role in team if uid != user.pk]
        if not others:
            alone.append(membership.provider_id)
        elif membership.role == Role.OWNER and not any(r == Role.OWNER for _u, r in others):
            raise ValidationError(
                _(
                    "You are the only owner of %(name)s. Make another member of its team an "
                    "owner first: a business always needs one."
                )
                % {"name": membership.provider.name}
            )
    return alone


def _withdraw_unpublished_writing(user: User) -> int:
    """Reviews still waiting for moderation are withdrawn (through the review service, so
    tickets and figures stay right); edits waiting for moderation are dropped: neither was
    ever public and nobody needs them any more."""
    from reviews.models import Review, ReviewRevision, ReviewStatus, RevisionStatus
    from reviews.services import review_withdraw

    pending = list(Review.objects.filter(author=user, status=ReviewStatus.PENDING))
    for review in pending:
        review_withdraw(review=review, author=user)
    ReviewRevision.objects.filter(review__author=user, status=RevisionStatus.PENDING).delete()
    return len(pending)


def _remove_votes(user: User) -> int:
    """Through the vote service, so each review's stored helpful_count stays right."""
    from reviews.models import HelpfulVote
    from reviews.services import review_unvote_helpful

    votes = list(HelpfulVote.objects.filter(user=user).select_related("review"))
    for vote in votes:
        review_unvote_helpful(review=vote.review, user=user)
    return len(votes)


def _tell_open_tickets(user: User) -> int:
    """Each open complaint keeps going for the business (it can still propose a resolution,
    which then closes by itself); an automatic message tells the team why nobody answers."""
    from responses.models import (
        OPEN_TICKET_STATUSES,
        ActorRole,
        EventKind,
        Ticket,
        TicketEvent,
    )

    tickets = list(Ticket.objects.filter(customer=user, status__in=OPEN_TICKET_STATUSES))
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket=ticket,
            actor=None,
            actor_role=ActorRole.SYSTEM,
            kind=EventKind.MESSAGE,
            body=str(
                _(
                    "The customer has deleted their Heard account. They will not see new "
                    "messages; you can still record how this was put right."
                )
            ),
        )
        for ticket in tickets
    )
    return len(tickets)


def _leave_business_teams(user: User, alone: list[int]) -> int:
    """Memberships go with the account; each team's own audit trail records the departure.
    Replies they signed keep the business's words but no longer name them."""
    from responses.models import BusinessEvent, BusinessEventKind, Membership, Reply, TeamInvitation
    from reviews.models import Provider

    memberships = list(Membership.objects.filter(user=user))
    BusinessEvent.objects.bulk_create(
        BusinessEvent(
            provider_id=m.provider_id,
            actor=None,
            kind=BusinessEventKind.MEMBER_REMOVED,
            subject=None,
            detail={
                "membership_id": m.pk,
                "before": {"role": m.role, "job_title": m.job_title},
                "after": None,
                "reason": "account_deleted",
            },
        )
        for m in memberships
    )
    Reply.objects.filter(responder=user).update(
        responder_name=str(FORMER_MEMBER), responder_title=""
    )
    Membership.objects.filter(user=user).delete()
    if alone:
        Provider.objects.filter(pk__in=alone).update(is_claimed=False, updated_at=timezone.now())
    # Invitations to join a team were addressed to this person (the ones they sent to
    # colleagues hold the colleagues' addresses and stay, without the sender).
    TeamInvitation.objects.filter(accepted_by=user).delete()
    return len(memberships)


def _forget_addresses(addresses: list[str]) -> None:
    """Addresses a business typed in to invite this person (review or team invitations)."""
    from responses.models import TeamInvitation
    from reviews.models import Invitation

    for address in addresses:
        TeamInvitation.objects.filter(email__iexact=address).delete()
        # A used review invitation still labels its review "Invited"; only the address goes.
        Invitation.objects.filter(email__iexact=address).update(email="")


def _forget_queued_mail(addresses: list[str], name: str) -> int:
    """Tasks on the database queue keep their arguments, for email the address and the whole
    rendered message. Every task that names one of this person's addresses goes, sent or not;
    so does every email already sent or given up that mentions their name (a delivery log,
    nothing reads it). An email still waiting for someone else (a reviewer told that this
    person replied) is left to be delivered: it was theirs to receive. A task a worker is
    running right now is left alone."""
    if not any(app.startswith("django_tasks_db") for app in settings.INSTALLED_APPS):
        return 0
    from django_tasks_db.models import DBTaskResult

    from portal.emails import email_deliver

    tasks = DBTaskResult.objects.exclude(status=TaskResultStatus.RUNNING)
    removed = 0
    for address in addresses:
        removed += tasks.filter(args_kwargs__icontains=address).delete()[0]
    if name:
        removed += tasks.filter(
            task_path=email_deliver.module_path,
            status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
            args_kwargs__icontains=name,
        ).delete()[0]
    return removed


def _forget_deliveries(addresses: list[str], name: str) -> int:
    """Email delivery records keep who was written to and the subject (never the message) for
    a few days. Their addresses go, and a subject naming them; the record stays, sent or not,
    so a task being run for them now still knows whether its email went."""
    from portal.models import EmailDelivery

    query = Q()
    for address in addresses:
        query |= Q(to__icontains=address)
    if name:
        query |= Q(subject__icontains=name)
    if not query:
        return 0
    return EmailDelivery.objects.filter(query).update(to="", subject="")


def _scrub_admin_history(user: User) -> None:
    """The admin's change history names objects by their str(), which for the user, their
    memberships and claims is the display name."""
    from responses.models import Membership, ProviderClaim

    targets = [(User, [user.pk])]
    targets.append(
        (Membership, list(Membership.objects.filter(user=user).values_list("pk", flat=True)))
    )
    targets.append(
        (ProviderClaim, list(ProviderClaim.objects.filter(user=user).values_list("pk", flat=True)))
    )
    for model, pks in targets:
        if pks:
            LogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(model),
                object_id__in=[str(pk) for pk in pks],
            ).update(object_repr=str(FORMER_MEMBER), change_message="")


def _end_sessions_on_commit(user: User, request) -> None:
    """Every session the person is signed in with (allauth.usersessions tracks each one that
    has made a request) is deleted from the session store, cache and database alike."""
    from importlib import import_module

    keys = set(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    if request is not None and getattr(request, "session", None) and request.session.session_key:
        keys.add(request.session.session_key)
    store = import_module(settings.SESSION_ENGINE).SessionStore

    def end():
        for key in keys:
            store(session_key=key).delete()

    transaction.on_commit(end)


@transaction.atomic
def account_delete(*, user: User, request=None) -> dict:
    """Erase an account: reviews stay, de-identified; everything else personal goes.

    Returns counts for the audit log line. Raises ValidationError when the account cannot be
    deleted here (staff; the last owner of a business with a team).
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_staff or user.is_superuser:
        raise ValidationError(STAFF_REFUSED)
    alone = _refuse_if_last_owner(user)

    email, name = user.email, user.display_name
    addresses = _addresses(user)
    # Their reviews will read "Former member": the pages showing them must be drawn afresh.
    providers_pages_changed(user.reviews.values_list("provider_id", flat=True))
    counts = {
        "reviews_deidentified": user.reviews.count(),
        "reviews_withdrawn": _withdraw_unpublished_writing(user),
        "votes_removed": _remove_votes(user),
        "open_tickets": _tell_open_tickets(user),
    }
    _scrub_admin_history(user)
    counts["memberships_removed"] = _leave_business_teams(user, alone)
    _forget_addresses(addresses)
    counts["mail_tasks_removed"] = _forget_queued_mail(addresses, name)
    counts["email_deliveries_deidentified"] = _forget_deliveries(addresses, name)
    _end_sessions_on_commit(user, request)
    user_id = user.pk
    try:
        # SET_NULL does the rest: reviews, reports, tickets, replies, audit rows lose the
        # link; email addresses, second factors, API token and session records cascade.
        user.delete()
    except ProtectedError as error:
        # Someone who once moderated (PROTECT keeps the moderation log whole).
        raise ValidationError(STAFF_REFUSED) from error

    # The last message we send them, and the only one that may remain queued for them.
    email_send(
        template="account_deleted",
        to=[email],
        context={"display_name": name, "deleted_on": timezone.localdate()},
    )
    # The audit record (written on commit): ids and counts, never the email or the name.
    audit("account_deleted", actor=f"user:{user_id}", user_id=user_id, **counts)
    return counts


def export_filename(today: dt.date | None = None) -> str:
    return f"heard-data-{(today or timezone.localdate()).isoformat()}.json"
