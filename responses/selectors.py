"""Reads for the business dashboard, always for one provider the caller is a member of (the
views get that provider from responses.access first)."""

from django.db.models import Case, Count, DateTimeField, Exists, F, OuterRef, Q, QuerySet, When
from django.db.models.functions import Least

from responses.models import (
    CAN_REPLY,
    ActorRole,
    Membership,
    Reply,
    ReplyRevision,
    ReplyRevisionStatus,
    ReplyStatus,
    ResponseTemplate,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from responses.transitions import OPEN_FOR_WORK
from reviews.models import Review, ReviewStatus

NEEDS_REPLY = Q(reply__isnull=True) | Q(
    reply__status__in=[ReplyStatus.DRAFT, ReplyStatus.WITHDRAWN]
)
TABS = ("inbox", "pending", "replied", "rejected")


def _pending_edit():
    return Exists(
        ReplyRevision.objects.filter(
            reply__review=OuterRef("pk"), status=ReplyRevisionStatus.PENDING
        )
    )


def business_reviews(*, provider, tab: str) -> QuerySet[Review]:
    """Published reviews of the provider in one of the dashboard's tabs, with author and reply.

    inbox: waiting for a reply, oldest first (the one that has waited longest comes first);
    pending: a reply or an edit of one is with the moderators; replied; rejected."""
    qs = (
        Review.objects.filter(provider=provider, status=ReviewStatus.PUBLISHED)
        .select_related("author", "reply")
        .annotate(has_pending_edit=_pending_edit())
    )
    if tab == "pending":
        return qs.filter(Q(reply__status=ReplyStatus.PENDING) | Q(has_pending_edit=True)).order_by(
            "reply__submitted_at", "pk"
        )
    if tab == "replied":
        return qs.filter(reply__status=ReplyStatus.PUBLISHED).order_by(
            "-reply__published_at", "-pk"
        )
    if tab == "rejected":
        return qs.filter(reply__status=ReplyStatus.REJECTED).order_by("-reply__decided_at", "-pk")
    return qs.filter(NEEDS_REPLY).order_by("published_at", "pk")


def business_tab_counts(*, provider) -> dict[str, int]:
    """How many reviews are in each tab, in one query."""
    published = Review.objects.filter(provider=provider, status=ReviewStatus.PUBLISHED)
    return published.annotate(has_pending_edit=_pending_edit()).aggregate(
        inbox=Count("pk", filter=NEEDS_REPLY),
        pending=Count("pk", filter=Q(reply__status=ReplyStatus.PENDING) | Q(has_pending_edit=True)),
        replied=Count("pk", filter=Q(reply__status=ReplyStatus.PUBLISHED)),
        rejected=Count("pk", filter=Q(reply__status=ReplyStatus.REJECTED)),
    )


def awaiting_reply_counts(*, provider_ids) -> dict[int, int]:
    """Reviews waiting for a reply, per provider, in one query (for the dashboard's list)."""
    rows = (
        Review.objects.filter(provider_id__in=provider_ids, status=ReviewStatus.PUBLISHED)
        .filter(NEEDS_REPLY)
        .values("provider_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["provider_id"]: row["n"] for row in rows}


def provider_templates(*, provider) -> QuerySet[ResponseTemplate]:
    return ResponseTemplate.objects.filter(provider=provider).order_by("name")


def recent_reply_bodies(*, provider, exclude_review_id=None, limit: int = 10) -> list[str]:
    """The business's latest submitted replies, to spot copy-and-paste answers."""
    qs = Reply.objects.filter(
        provider=provider, status__in=[ReplyStatus.PENDING, ReplyStatus.PUBLISHED]
    )
    if exclude_review_id:
        qs = qs.exclude(review_id=exclude_review_id)
    return list(qs.order_by("-submitted_at").values_list("body", flat=True)[:limit])


# --- tickets ---------------------------------------------------------------------------------
def ticket_list_visible_to(*, user) -> QuerySet[Ticket]:
    """Tickets the user may see: their own complaints, and those of the businesses they are a
    member of. Everything else is a 404 for them (staff work in the admin)."""
    if not user.is_authenticated:
        return Ticket.objects.none()
    member_of = Membership.objects.filter(
        user=user, role__in=CAN_REPLY, provider__is_active=True
    ).values("provider_id")
    return Ticket.objects.filter(Q(customer=user) | Q(provider_id__in=member_of)).select_related(
        "provider", "customer", "assignee", "review"
    )


def ticket_events_for(*, ticket: Ticket, role: str) -> QuerySet[TicketEvent]:
    """The ticket's history as this participant may see it: customers never see internal
    notes or the business's deadline bookkeeping."""
    events = ticket.events.select_related("actor").order_by("created_at", "pk")
    if role == ActorRole.CUSTOMER:
        events = events.filter(internal=False)
    return events


def provider_changes_made(*, provider, limit: int = 10) -> QuerySet[Ticket]:
    """'You said, we did': the changes the business made because of complaints, newest first."""
    return (
        Ticket.objects.filter(provider=provider, change_made_at__isnull=False)
        .select_related("review")
        .order_by("-change_made_at")[:limit]
    )


# A ticket's deadlines run while the business (or staff) has it: not while it waits for the
# customer's confirmation, and not once it is closed.
DEADLINE_RUNNING = (*OPEN_FOR_WORK, TicketStatus.ESCALATED)


def ticket_next_due():
    """The ticket's nearest running deadline as an expression (None when none runs), for the
    business queue's order and everyone's "overdue" filter."""
    running = Q(status__in=DEADLINE_RUNNING)
    return Case(
        When(
            running & Q(first_responded_at__isnull=True),
            then=Least("first_response_due", "resolution_due"),
        ),
        When(running, then=F("resolution_due")),
        default=None,
        output_field=DateTimeField(),
    )
