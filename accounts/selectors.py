"""What Heard holds about one person, read for their own pages and their data download.

Only their own data: other people appear by role or business name, never by email address,
and a business's internal notes on their complaints are not theirs to see. A fixed number
of queries however much there is (one per kind, prefetches for the nested lists)."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.db.models import Prefetch
from rest_framework.authtoken.models import Token

from accounts.models import User


def _when(value):
    return value.isoformat() if value else None


def account_data_summary(*, user: User) -> dict[str, int]:
    """Counts for the data page."""
    from responses.models import Membership, Reply, Ticket
    from reviews.models import HelpfulVote, Report, Review

    return {
        "reviews": Review.objects.filter(author=user).count(),
        "votes": HelpfulVote.objects.filter(user=user).count(),
        "reports": Report.objects.filter(reporter=user).count(),
        "tickets": Ticket.objects.filter(customer=user).count(),
        "memberships": Membership.objects.filter(user=user).count(),
        "replies": Reply.objects.filter(responder=user).count(),
    }


def account_data_export(*, user: User) -> dict:
    """Everything about `user`, as plain JSON-ready data (GDPR Art. 15 and 20)."""
    from responses.models import (
        Membership,
        ProviderClaim,
        Reply,
        ReplyRevision,
        Ticket,
        TicketEvent,
    )
    from reviews.models import HelpfulVote, Invitation, Report, Review, ReviewRevision

    addresses = list(EmailAddress.objects.filter(user=user).order_by("-primary", "email"))
    reviews = (
        Review.objects.filter(author=user)
        .select_related("provider")
        .prefetch_related(
            Prefetch("revisions", queryset=ReviewRevision.objects.order_by("submitted_at"))
        )
        .order_by("submitted_at", "pk")
    )
    tickets = (
        Ticket.objects.filter(customer=user)
        .select_related("provider")
        .prefetch_related(
            Prefetch(
                "events",
                # the business's internal notes are not the customer's to see
                queryset=TicketEvent.objects.filter(internal=False).order_by("created_at", "pk"),
            )
        )
        .order_by("created_at", "pk")
    )
    token = Token.objects.filter(user=user).first()
    return {
        "format": "heard-account-data/1",
        "profile": {
            "id": user.pk,
            "email": user.email,
            "display_name": user.display_name,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
            "is_active": user.is_active,
        },
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary} for a in addresses
        ],
        "reviews": [
            {
                "id": r.pk,
                "provider": r.provider.name,
                "provider_slug": r.provider.slug,
                "rating": r.rating,
                "title": r.title,
                "body": r.body,
                "visit_month": r.visit_month.strftime("%Y-%m"),
                "aspects": r.aspects,
                "would_recommend": r.would_recommend,
                "wants_resolution": r.wants_resolution,
                "status": r.status,
                "source": r.source,
                "helpful_count": r.helpful_count,
                "submitted_at": _when(r.submitted_at),
                "published_at": _when(r.published_at),
                "revisions": [
                    {
                        "rating": v.rating,
                        "title": v.title,
                        "body": v.body,
                        "visit_month": v.visit_month.strftime("%Y-%m"),
                        "aspects": v.aspects,
                        "would_recommend": v.would_recommend,
                        "status": v.status,
                        "submitted_at": _when(v.submitted_at),
                        "decided_at": _when(v.decided_at),
                    }
                    for v in r.revisions.all()
                ],
            }
            for r in reviews
        ],
        "helpful_votes": [
            {
                "review_id": v.review_id,
                "provider": v.review.provider.name,
                "at": _when(v.created_at),
            }
            for v in HelpfulVote.objects.filter(user=user)
            .select_related("review__provider")
            .order_by("created_at", "pk")
        ],
        "reports": [
            {
                "review_id": r.review_id,
                "reason": r.reason,
                "detail": r.detail,
                "status": r.status,
                "created_at": _when(r.created_at),
                "decided_at": _when(r.decided_at),
            }
            for r in Report.objects.filter(reporter=user).order_by("created_at", "pk")
        ],
        "tickets": [
            {
                "id": t.pk,
                "provider": t.provider.name,
                "review_id": t.review_id,
                "source": t.source,
                "subject": t.subject,
                "status": t.status,
                "created_at": _when(t.created_at),
                "first_responded_at": _when(t.first_responded_at),
                "resolved_at": _when(t.resolved_at),
                "closed_at": _when(t.closed_at),
                "resolution_summary": t.resolution_summary,
                "put_right": t.put_right,
                "change_made": t.change_made,
                # who spoke by role (the business by its name), never a staff member's details
                "events": [
                    {
                        "kind": e.kind,
                        "by": t.provider.name if e.actor_role == "member" else e.actor_role,
                        "from_status": e.from_status,
                        "to_status": e.to_status,
                        "body": e.body,
                        "at": _when(e.created_at),
                    }
                    for e in t.events.all()
                ],
            }
            for t in tickets
        ],
        "memberships": [
            {
                "provider": m.provider.name,
                "role": m.role,
                "job_title": m.job_title,
                "since": _when(m.created_at),
            }
            for m in Membership.objects.filter(user=user).select_related("provider")
        ],
        "provider_claims": [
            {
                "provider": c.provider.name,
                "role_at_business": c.role_at_business,
                "work_email": c.work_email,
                "evidence": c.evidence,
                "status": c.status,
                "created_at": _when(c.created_at),
                "decided_at": _when(c.decided_at),
                "decision_note": c.decision_note,
            }
            for c in ProviderClaim.objects.filter(user=user).select_related("provider")
        ],
        "replies": [
            {
                "review_id": r.review_id,
                "provider": r.provider.name,
                "responder_name": r.responder_name,
                "responder_title": r.responder_title,
                "body": r.body,
                "status": r.status,
                "created_at": _when(r.created_at),
                "published_at": _when(r.published_at),
            }
            for r in Reply.objects.filter(responder=user).select_related("provider")
        ],
        "reply_edits": [
            {
                "review_id": e.reply.review_id,
                "body": e.body,
                "status": e.status,
                "submitted_at": _when(e.submitted_at),
            }
            for e in ReplyRevision.objects.filter(submitted_by=user).select_related("reply")
        ],
        "review_invitations_received": [
            {
                "provider": i.provider.name,
                "created_at": _when(i.created_at),
                "used_at": _when(i.used_at),
            }
            for i in Invitation.objects.filter(
                email__in=[a.email for a in addresses] or [user.email]
            ).select_related("provider")
        ],
        "sessions": [
            {
                "ip": s.ip,
                "user_agent": s.user_agent,
                "created_at": _when(s.created_at),
                "last_seen_at": _when(s.last_seen_at),
            }
            for s in UserSession.objects.filter(user=user).order_by("-last_seen_at")
        ],
        "two_factor": [
            {
                "type": a.type,
                "created_at": _when(a.created_at),
                "last_used_at": _when(a.last_used_at),
            }
            for a in Authenticator.objects.filter(user=user)
        ],
        # whether an API token exists, never the secret itself
        "api_token": {"created_at": _when(token.created)} if token else None,
    }
