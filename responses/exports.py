"""What a business can download about itself as CSV: its published reviews, its replies to them
and its complaint tickets. Each kind is one query (joins, never a query per row) read through
`.iterator()`, so a provider's whole history is never held in memory at once; the rows are
written out by `portal.csvexport.stream_csv` as they arrive."""

from collections.abc import Callable, Iterator
from typing import NamedTuple

from django.utils import timezone
from django.utils.translation import gettext as _

from responses.models import Reply, Ticket
from reviews.models import Provider, Review, ReviewStatus

CHUNK_SIZE = 2000


class Export(NamedTuple):
    header: list[str]
    rows: Iterator[tuple]


def _when(value) -> str:
    """Local time to the second, in the form spreadsheets read as a date; "" when unset."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def _yes_no(value) -> str:
    if value is None:
        return ""
    return "yes" if value else "no"


def _person(name, user_id) -> str:
    # An erased account leaves its reviews and tickets behind, de-identified.
    return name if user_id else _("Former member")


REVIEW_COLUMNS = [
    "review_id",
    "published_at",
    "reviewer_name",
    "rating",
    "title",
    "body",
    "visit_month",
    "source",
    "would_recommend",
    "helpful_count",
    "reply_status",
    "reply_published_at",
    "has_complaint_ticket",
]


def export_reviews(*, provider: Provider) -> Export:
    """The provider's published reviews (what its dashboard shows), oldest first. Never the
    author's email or anything else that is not on the public page."""
    rows = (
        Review.objects.filter(provider=provider, status=ReviewStatus.PUBLISHED)
        .order_by("published_at", "pk")
        .values_list(
            "pk",
            "published_at",
            "author_id",
            "author__display_name",
            "rating",
            "title",
            "body",
            "visit_month",
            "source",
            "would_recommend",
            "helpful_count",
            "reply__status",
            "reply__published_at",
            "ticket__id",
        )
        .iterator(chunk_size=CHUNK_SIZE)
    )

    def lines():
        for (
            pk,
            published_at,
            author_id,
            author_name,
            rating,
            title,
            body,
            visit_month,
            source,
            would_recommend,
            helpful_count,
            reply_status,
            reply_published_at,
            ticket_id,
        ) in rows:
            yield (
                pk,
                _when(published_at),
                _person(author_name, author_id),
                rating,
                title,
                body,
                visit_month.strftime("%Y-%m"),
                source,
                _yes_no(would_recommend),
                helpful_count,
                reply_status or "",
                _when(reply_published_at),
                _yes_no(ticket_id is not None),
            )

    return Export(REVIEW_COLUMNS, lines())


REPLY_COLUMNS = [
    "review_id",
    "responder_name",
    "responder_title",
    "status",
    "body",
    "submitted_at",
    "published_at",
]


def export_replies(*, provider: Provider) -> Export:
    """The business's replies to its published reviews, in every status (drafts, with the
    moderators, published, not published, withdrawn), in the order they were started."""
    rows = (
        Reply.objects.filter(provider=provider, review__status=ReviewStatus.PUBLISHED)
        .order_by("created_at", "pk")
        .values_list(
            "review_id",
            "responder_name",
            "responder_title",
            "status",
            "body",
            "submitted_at",
            "published_at",
        )
        .iterator(chunk_size=CHUNK_SIZE)
    )

    def lines():
        for review_id, name, title, status, body, submitted_at, published_at in rows:
            yield (review_id, name, title, status, body, _when(submitted_at), _when(published_at))

    return Export(REPLY_COLUMNS, lines())


TICKET_COLUMNS = [
    "ticket_id",
    "created_at",
    "source",
    "subject",
    "status",
    "first_response_due",
    "first_responded_at",
    "resolution_due",
    "resolved_at",
    "closed_at",
    "escalated_at",
    "confirmed_by_customer",
    "put_right",
    "change_made",
    "customer_name",
    "review_id",
]


def export_tickets(*, provider: Provider) -> Export:
    """Every complaint ticket of the provider, oldest first: deadlines, outcome and the
    customer's display name (never their email). Messages and internal notes stay on the
    ticket pages."""
    rows = (
        Ticket.objects.filter(provider=provider)
        .order_by("created_at", "pk")
        .values_list(
            "pk",
            "created_at",
            "source",
            "subject",
            "status",
            "first_response_due",
            "first_responded_at",
            "resolution_due",
            "resolved_at",
            "closed_at",
            "escalated_at",
            "confirmed_by_customer",
            "put_right",
            "change_made",
            "customer_id",
            "customer__display_name",
            "review_id",
        )
        .iterator(chunk_size=CHUNK_SIZE)
    )

    def lines():
        for (
            pk,
            created_at,
            source,
            subject,
            status,
            first_response_due,
            first_responded_at,
            resolution_due,
            resolved_at,
            closed_at,
            escalated_at,
            confirmed_by_customer,
            put_right,
            change_made,
            customer_id,
            customer_name,
            review_id,
        ) in rows:
            yield (
                pk,
                _when(created_at),
                source,
                subject,
                status,
                _when(first_response_due),
                _when(first_responded_at),
                _when(resolution_due),
                _when(resolved_at),
                _when(closed_at),
                _when(escalated_at),
                _yes_no(confirmed_by_customer),
                put_right,
                change_made,
                _person(customer_name, customer_id),
                review_id or "",
            )

    return Export(TICKET_COLUMNS, lines())


# The kinds a business can download, by the name used in the URL and the audit record.
EXPORTS: dict[str, Callable[..., Export]] = {
    "reviews": export_reviews,
    "replies": export_replies,
    "tickets": export_tickets,
}
