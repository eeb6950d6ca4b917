"""Public replies: a member drafts and submits, a moderator publishes or rejects, edits of a
published reply wait as revisions while the published text stays. One reply per review."""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from portal.emails import email_send
from portal.logs import audit
from responses.access import require_role
from responses.checks import reply_flags
from responses.models import (
    CAN_EDIT_TEMPLATES,
    CAN_REPLY,
    BusinessEvent,
    BusinessEventKind,
    Membership,
    Reply,
    ReplyRevision,
    ReplyRevisionStatus,
    ReplyStatus,
    ResponseTemplate,
)
from reviews.models import Decision, ModerationDecision, Provider, RejectionReason, Review
from reviews.pagecache import provider_page_changed
from reviews.services.moderation import _require_moderator

REPLY_MAX = 5000
EDITABLE = (ReplyStatus.DRAFT, ReplyStatus.REJECTED, ReplyStatus.WITHDRAWN)


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": [_("Write your reply.")]})
    if len(body) > REPLY_MAX:
        raise ValidationError(
            {"body": [_("Keep your reply to %(max)s characters or fewer.") % {"max": "5,000"}]}
        )
    return body


def _replying_member(*, actor: User, review: Review) -> Membership:
    return require_role(
        user=actor,
        provider=review.provider,
        roles=CAN_REPLY,
        action=_("Only members of this business can reply to its reviews."),
    )


def _published_review(review: Review) -> Review:
    review = Review.objects.select_related("provider", "author").get(pk=review.pk)
    if review.status != "published":
        raise ValidationError(_("You can only reply to a published review."))
    return review


def _responder_title(membership: Membership) -> str:
    return membership.job_title or membership.get_role_display()


@transaction.atomic
def reply_draft(*, review: Review, actor: User, body: str) -> Reply:
    """Save a draft reply (not public, not in the moderation queue)."""
    review = _published_review(review)
    membership = _replying_member(actor=actor, review=review)
    body = _clean_body(body)
    reply = Reply.objects.select_for_update().filter(review=review).first()
    if reply is None:
        return Reply.objects.create(
            review=review,
            provider=review.provider,
            responder=actor,
            responder_name=actor.display_name,
            responder_title=_responder_title(membership),
            body=body,
            status=ReplyStatus.DRAFT,
        )
    if reply.status not in EDITABLE:
        raise ValidationError(_("This reply is with the moderators or published; edit it instead."))
    reply.body = body
    reply.status = ReplyStatus.DRAFT
    reply.responder = actor
    reply.responder_name = actor.display_name
    reply.responder_title = _responder_title(membership)
    reply.save()
    return reply


@transaction.atomic
def reply_submit(*, review: Review, actor: User, body: str) -> Reply:
    """Send the reply to the moderators; it is published once a person has checked it."""
    reply = reply_draft(review=review, actor=actor, body=body)
    reply = (
        Reply.objects.select_for_update(of=("self",))
        .select_related("review__author")
        .get(pk=reply.pk)
    )
    now = timezone.now()
    reviewer = reply.review.author
    reply.flags = reply_flags(
        body=reply.body, reviewer_name=reviewer.display_name if reviewer else ""
    )
    reply.status = ReplyStatus.PENDING
    # The business's response time runs to its first submission, not to our moderation.
    reply.submitted_at = reply.submitted_at or now
    reply.save()
    return reply


@transaction.atomic
def reply_revise(*, reply: Reply, actor: User, body: str) -> ReplyRevision | Reply:
    """Edit a reply: a published one gets a pending revision (its text stays up until the edit
    is approved); a pending one is changed in place and keeps its place in the queue."""
    reply = (
        Reply.objects.select_for_update(of=("self",))
        .select_related("review__author", "review__provider")
        .get(pk=reply.pk)
    )
    _replying_member(actor=actor, review=reply.review)
    body = _clean_body(body)
    reviewer = reply.review.author
    flags = reply_flags(body=body, reviewer_name=reviewer.display_name if reviewer else "")
    now = timezone.now()
    if reply.status == ReplyStatus.PUBLISHED:
        reply.revisions.filter(status=ReplyRevisionStatus.PENDING).update(
            status=ReplyRevisionStatus.SUPERSEDED, decided_at=now
        )
        return ReplyRevision.objects.create(
            reply=reply, body=body, submitted_by=actor, flags=flags, submitted_at=now
        )
    if reply.status == ReplyStatus.PENDING:
        reply.body = body
        reply.flags = flags
        reply.save(update_fields=["body", "flags", "updated_at"])
        return reply
    raise ValidationError(_("Only a pending or published reply can be edited."))


@transaction.atomic
def reply_withdraw(*, reply: Reply, actor: User) -> Reply:
    """Take a reply down (or out of the queue). The business can write a new one later."""
    reply = (
        Reply.objects.select_for_update(of=("self",))
        .select_related("review__provider")
        .get(pk=reply.pk)
    )
    _replying_member(actor=actor, review=reply.review)
    if reply.status not in (ReplyStatus.PENDING, ReplyStatus.PUBLISHED):
        raise ValidationError(_("This reply is not published or waiting."))
    reply.status = ReplyStatus.WITHDRAWN
    reply.save(update_fields=["status", "updated_at"])
    reply.revisions.filter(status=ReplyRevisionStatus.PENDING).update(
        status=ReplyRevisionStatus.SUPERSEDED, decided_at=timezone.now()
    )
    provider_page_changed(reply.provider_id)
    return reply


# --- moderation ---------------------------------------------------------------------------
def _record(*, target, reply: Reply, moderator: User, decision: str, reason: str, note: str):
    return ModerationDecision.objects.create(
        content_type=ContentType.objects.get_for_model(type(target)),
        object_id=target.pk,
        review_id=reply.review_id,
        moderator=moderator,
        decision=decision,
        reason=reason,
        note=note,
    )


def _decision_checks(decision: str, reason: str) -> str:
    if decision not in (Decision.APPROVE, Decision.REJECT):
        raise ValidationError({"decision": [_("Approve or reject.")]})
    if decision == Decision.REJECT and reason not in RejectionReason.values:
        raise ValidationError({"reason": [_("Choose the reason for this decision.")]})
    return "" if decision == Decision.APPROVE else reason


def _notify(*, reply: Reply, decision: ModerationDecision, edit: bool) -> None:
    review = reply.review
    if decision.decision == Decision.APPROVE and review.author_id and review.author.email:
        email_send(
            template="reply_published",
            to=[review.author.email],
            context={"reply": reply, "review": review, "user": review.author, "edit": edit},
        )
    if reply.responder_id and reply.responder.email:
        email_send(
            template="reply_decided",
            to=[reply.responder.email],
            context={"reply": reply, "review": review, "decision": decision, "edit": edit},
        )


@transaction.atomic
def reply_moderate(
    *, reply: Reply, moderator: User, decision: str, reason: str = "", note: str = ""
) -> Reply:
    """Publish or reject a submitted reply; the reviewer is told when a reply is published."""
    _require_moderator(moderator)
    reason = _decision_checks(decision, reason)
    reply = (
        Reply.objects.select_for_update(of=("self",))
        .select_related("review__author", "review__provider", "responder")
        .get(pk=reply.pk)
    )
    if reply.status != ReplyStatus.PENDING:
        raise ValidationError(_("This reply has already been decided."))
    now = timezone.now()
    reply.decided_at = now
    if decision == Decision.APPROVE:
        reply.status = ReplyStatus.PUBLISHED
        reply.published_at = now
    else:
        reply.status = ReplyStatus.REJECTED
    reply.save(update_fields=["status", "published_at", "decided_at", "updated_at"])
    record = _record(
        target=reply, reply=reply, moderator=moderator, decision=decision, reason=reason, note=note
    )
    _notify(reply=reply, decision=record, edit=False)
    provider_page_changed(reply.provider_id)
    audit(
        "reply_moderated",
        actor=moderator,
        reply_id=reply.pk,
        review_id=reply.review_id,
        provider_id=reply.provider_id,
        decision=decision,
        reason=reason,
        from_status=ReplyStatus.PENDING,
        to_status=reply.status,
        decision_id=record.pk,
    )
    return reply


@transaction.atomic
def reply_revision_moderate(
    *, revision: ReplyRevision, moderator: User, decision: str, reason: str = "", note: str = ""
) -> ReplyRevision:
    """Approve an edit (it replaces the published reply) or reject it (the reply stays)."""
    _require_moderator(moderator)
    reason = _decision_checks(decision, reason)
    revision = ReplyRevision.objects.select_for_update().get(pk=revision.pk)
    reply = (
        Reply.objects.select_for_update(of=("self",))
        .select_related("review__author", "review__provider", "responder")
        .get(pk=revision.reply_id)
    )
    if revision.status != ReplyRevisionStatus.PENDING:
        raise ValidationError(_("This edit has already been decided."))
    now = timezone.now()
    revision.status = (
        ReplyRevisionStatus.APPROVED
        if decision == Decision.APPROVE
        else ReplyRevisionStatus.REJECTED
    )
    revision.decided_at = now
    revision.save(update_fields=["status", "decided_at"])
    if decision == Decision.APPROVE:
        reply.body = revision.body
        reply.flags = revision.flags
        reply.save(update_fields=["body", "flags", "updated_at"])
    record = _record(
        target=revision,
        reply=reply,
        moderator=moderator,
        decision=decision,
        reason=reason,
        note=note,
    )
    _notify(reply=reply, decision=record, edit=True)
    provider_page_changed(reply.provider_id)
    audit(
        "reply_revision_moderated",
        actor=moderator,
        revision_id=revision.pk,
        reply_id=reply.pk,
        provider_id=reply.provider_id,
        decision=decision,
        reason=reason,
        to_status=revision.status,
        decision_id=record.pk,
    )
    return revision


# --- templates ------------------------------------------------------------------------------
def _template_editor(*, provider: Provider, actor: User) -> Membership:
    return require_role(
        user=actor,
        provider=provider,
        roles=CAN_EDIT_TEMPLATES,
        action=_("Only owners and managers can change the reply templates."),
    )


@transaction.atomic
def response_template_save(
    *,
    provider: Provider,
    actor: User,
    name: str,
    body: str,
    template: ResponseTemplate | None = None,
) -> ResponseTemplate:
    _template_editor(provider=provider, actor=actor)
    name, body = (name or "").strip(), (body or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("Give the template a name.")]
    if not body:
        errors["body"] = [_("Write the template text.")]
    if errors:
        raise ValidationError(errors)
    if template is None:
        template = ResponseTemplate(provider=provider)
    elif template.provider_id != provider.pk:
        raise PermissionDenied
    template.name, template.body, template.updated_by = name, body, actor
    template.save()
    BusinessEvent.objects.create(
        provider=provider,
        actor=actor,
        kind=BusinessEventKind.TEMPLATE_SAVED,
        detail={"template_id": template.pk, "name": name},
    )
    return template


@transaction.atomic
def response_template_delete(*, template: ResponseTemplate, actor: User) -> None:
    _template_editor(provider=template.provider, actor=actor)
    BusinessEvent.objects.create(
        provider=template.provider,
        actor=actor,
        kind=BusinessEventKind.TEMPLATE_DELETED,
        detail={"template_id": template.pk, "name": template.name},
    )
    template.delete()
