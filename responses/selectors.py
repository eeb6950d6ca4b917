"""Reads for the business dashboard, always for one provider the caller is a member of (the
views get that provider from responses.access first)."""

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    FilteredRelation,
    Func,
    OuterRef,
    Q,
    QuerySet,
    When,
)
from django.db.models.functions import Least
from django.http import Http404
from django.shortcuts import get_object_or_404

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

TABS = ("inbox", "pending", "replied", "rejected")
# A review needs a reply while it has none, or only a draft or a withdrawn one.
ANSWERED = (ReplyStatus.PENDING, ReplyStatus.PUBLISHED, ReplyStatus.REJECTED)


class _KeptAsFilter(Func):
    """An EXISTS that PostgreSQL keeps as a filter: `(EXISTS …) IS TRUE` (or `IS NOT TRUE`) means
    the same, but the planner does not rewrite it into a (semi- or anti-) join. As a filter it
    reads the subquery once into a hash (a hashed SubPlan) and then tests each review against
    it, so a count hashes the providers' own replies once and a page walks the review index in
    its order and stops at its last row. As a join it would either hash every reply on the site
    or, with the provider's replies, sort all the matching reviews first. Elsewhere it is the
    plain EXISTS or NOT EXISTS."""

    output_field = BooleanField()

    def __init__(self, exists: Exists, *, present: bool):
        self.present = present
        super().__init__(exists)

    def as_sql(self, compiler, connection, **extra):
        template = "%(expressions)s" if self.present else "NOT %(expressions)s"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        test = "IS TRUE" if self.present else "IS NOT TRUE"
        return super().as_sql(compiler, connection, template=f"(%(expressions)s) {test}", **extra)


def review_has_reply(*, statuses, provider_ids=None, present: bool = True):
    """Whether the outer review has (or, `present=False`, has not) a reply in one of
    `statuses`: a condition for filters and counts over reviews, served by the replies' indexes.

    With the providers' ids, only their replies are read (the reply provider index), once per
    query; a review is probed on its own through the reply's unique review index where that is
    cheaper. Without them (every provider, or a caller that does not know which) it is a plain
    EXISTS correlated on the provider as well as the review: the reply's provider is always its
    review's, so for one provider PostgreSQL takes the provider's id from the outer query's own
    filter and still reads only its replies."""
    if provider_ids is None:
        exists = Exists(
            Reply.objects.filter(
                review=OuterRef("pk"), provider=OuterRef("provider"), status__in=statuses
            )
        )
        return exists if present else ~exists
    replies = Reply.objects.filter(
        review=OuterRef("pk"), provider_id__in=provider_ids, status__in=statuses
    )
    return _KeptAsFilter(Exists(replies), present=present)


def _pending_edit(reply: str = "reply"):
    """Whether the outer review's reply (the relation or alias named `reply`) has an edit with
    the moderators: a probe of the pending edits' own small index."""
    return Exists(
        ReplyRevision.objects.filter(reply=OuterRef(reply), status=ReplyRevisionStatus.PENDING)
    )


def business_reviews(*, provider, tab: str) -> QuerySet[Review]:
    """Published reviews of the provider in one of the dashboard's tabs, with author and reply.

    inbox: waiting for a reply, oldest first (the one that has waited longest comes first);
    pending: a reply or an edit of one is with the moderators; replied; rejected.

    The inbox walks the provider's newest-first review index backwards, testing each review
    against the provider's replies (read once, through their index), and stops at the page's
    last row; the other tabs start from the provider's replies, far fewer than its reviews."""
    qs = (
        Review.objects.filter(provider=provider, status=ReviewStatus.PUBLISHED)
        .select_related("author", "reply")
        .annotate(has_pending_edit=_pending_edit())
    )
    if tab == "pending":
        return qs.filter(
            Q(reply__status=ReplyStatus.PENDING) | Q(has_pending_edit=True),
            reply__provider=provider,
        ).order_by("reply__submitted_at", "pk")
    if tab == "replied":
        return qs.filter(reply__provider=provider, reply__status=ReplyStatus.PUBLISHED).order_by(
            "-reply__published_at", "-pk"
        )
    if tab == "rejected":
        return qs.filter(reply__provider=provider, reply__status=ReplyStatus.REJECTED).order_by(
            "-reply__decided_at", "-pk"
        )
    unanswered = review_has_reply(statuses=ANSWERED, provider_ids=[provider.pk], present=False)
    return qs.filter(unanswered).order_by("published_at", "pk")


def business_tab_counts(*, provider) -> dict[str, int]:
    """How many reviews are in each tab, in one query: the provider's reviews (an index-only
    scan) joined to the provider's replies only."""
    own_reply = FilteredRelation("reply", condition=Q(reply__provider=provider))
    return (
        Review.objects.filter(provider=provider, status=ReviewStatus.PUBLISHED)
        .annotate(own_reply=own_reply, has_pending_edit=_pending_edit("own_reply"))
        .aggregate(
            inbox=Count(
                "pk",
                filter=Q(own_reply__isnull=True)
                | Q(own_reply__status__in=[ReplyStatus.DRAFT, ReplyStatus.WITHDRAWN]),
            ),
            pending=Count(
                "pk",
                filter=Q(own_reply__status=ReplyStatus.PENDING) | Q(has_pending_edit=True),
            ),
            replied=Count("pk", filter=Q(own_reply__status=ReplyStatus.PUBLISHED)),
            rejected=Count("pk", filter=Q(own_reply__status=ReplyStatus.REJECTED)),
        )
    )


def awaiting_reply_counts(*, provider_ids) -> dict[int, int]:
    """Reviews waiting for a reply, per provider, in one query (for the dashboard's list)."""
    provider_ids = list(provider_ids)
    rows = (
        Review.objects.filter(provider_id__in=provider_ids, status=ReviewStatus.PUBLISHED)
        .filter(review_has_reply(statuses=ANSWERED, provider_ids=provider_ids, present=False))
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
def _member_of(*, user):
    return Membership.objects.filter(user=user, role__in=CAN_REPLY, provider__is_active=True)


def _visible_tickets(*, user, member_of) -> QuerySet[Ticket]:
    return Ticket.objects.filter(Q(customer=user) | Q(provider_id__in=member_of)).select_related(
        "provider", "customer", "assignee", "review"
    )


def ticket_list_visible_to(*, user) -> QuerySet[Ticket]:
    """Tickets the user may see: their own complaints, and those of the businesses they are a
    member of. Everything else is a 404 for them (staff work in the admin).

    The user's providers are read first (one small query) and the tickets filtered by that
    list: `customer = me OR provider IN (SELECT … membership …)` is a sequential scan of every
    ticket for the count and the page alike, `customer = me OR provider IN (1, 2)` two index
    scans ORed together."""
    if not user.is_authenticated:
        return Ticket.objects.none()
    member_of = list(_member_of(user=user).values_list("provider_id", flat=True))
    return _visible_tickets(user=user, member_of=member_of)


def ticket_get_visible(*, user, pk) -> Ticket:
    """One ticket the user may see (as ticket_list_visible_to decides), or 404. Found by its
    primary key, so the user's providers can stay a subquery: one query."""
    if not user.is_authenticated:
        raise Http404
    member_of = _member_of(user=user).values("provider_id")
    return get_object_or_404(_visible_tickets(user=user, member_of=member_of), pk=pk)


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
