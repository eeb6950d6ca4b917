"""What moderators decide: publish or reject reviews and edits, remove reviews, decide
reports. Each decision is recorded (ModerationDecision) in the same transaction and the
people concerned are told why, after commit."""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from portal.emails import email_send
from portal.logs import audit
from reviews.models import (
    HIDING_REPORT_REASONS,
    SUPERUSER_REPORT_REASONS,
    Decision,
    ModerationDecision,
    RejectionReason,
    Report,
    ReportStatus,
    Review,
    ReviewRevision,
    ReviewStatus,
    RevisionStatus,
)
from reviews.pagecache import provider_page_changed
from reviews.services.stats import StatsEntry, provider_stats_apply

MODERATE_PERMISSION = "reviews.moderate_content"


def _require_moderator(user: User) -> None:
    if not (user and user.is_active and user.is_staff and user.has_perm(MODERATE_PERMISSION)):
        raise PermissionDenied(_("Only moderators can do this."))


# --- moderation ---------------------------------------------------------------------------
def _record_decision(*, target, review: Review, moderator: User, decision: str, reason: str, note):
    return ModerationDecision.objects.create(
        content_type=ContentType.objects.get_for_model(type(target)),
        object_id=target.pk,
        review=review,
        moderator=moderator,
        decision=decision,
        reason=reason,
        note=note,
    )


def _check_reason(decision: str, reason: str) -> None:
    if decision in (Decision.REJECT, Decision.REMOVE, Decision.UPHOLD) and (
        reason not in RejectionReason.values
    ):
        raise ValidationError({"reason": [_("Choose the reason for this decision.")]})


def _notify_author(*, review: Review, template: str, decision: ModerationDecision) -> None:
    if review.author_id and review.author.email:
        email_send(
            template=template,
            to=[review.author.email],
            context={"review": review, "decision": decision, "user": review.author},
        )


@transaction.atomic
def review_moderate(
    *, review: Review, moderator: User, decision: str, reason: str = "", note: str = ""
) -> Review:
    """Publish or reject a pending review, with the decision on record and the author told."""
    _require_moderator(moderator)
    if decision not in (Decision.APPROVE, Decision.REJECT):
        raise ValidationError({"decision": [_("Approve or reject.")]})
    _check_reason(decision, reason)
    review = (
        Review.objects.select_for_update(of=("self",)).select_related("author").get(pk=review.pk)
    )
    if review.status != ReviewStatus.PENDING:
        raise ValidationError(_("This review has already been decided."))
    now = timezone.now()
    review.decided_at = now
    if decision == Decision.APPROVE:
        review.status = ReviewStatus.PUBLISHED
        review.published_at = review.published_at or now
        reason = ""
    else:
        review.status = ReviewStatus.REJECTED
    review.save(update_fields=["status", "published_at", "decided_at", "updated_at"])
    if decision == Decision.APPROVE:
        provider_stats_apply(provider_id=review.provider_id, added=StatsEntry.of(review))
    record = _record_decision(
        target=review,
        review=review,
        moderator=moderator,
        decision=decision,
        reason=reason,
        note=note,
    )
    _notify_author(review=review, template="review_decided", decision=record)
    audit(
        "review_moderated",
        actor=moderator,
        review_id=review.pk,
        provider_id=review.provider_id,
        decision=decision,
        reason=reason,
        from_status=ReviewStatus.PENDING,
        to_status=review.status,
        decision_id=record.pk,
    )
    return review


@transaction.atomic
def revision_moderate(
    *, revision: ReviewRevision, moderator: User, decision: str, reason: str = "", note: str = ""
) -> ReviewRevision:
    """Approve an edit (it replaces the public text) or reject it (the public text stays)."""
    _require_moderator(moderator)
    if decision not in (Decision.APPROVE, Decision.REJECT):
        raise ValidationError({"decision": [_("Approve or reject.")]})
    _check_reason(decision, reason)
    revision = ReviewRevision.objects.select_for_update().get(pk=revision.pk)
    review = (
        Review.objects.select_for_update(of=("self",))
        .select_related("author")
        .get(pk=revision.review_id)
    )
    if revision.status != RevisionStatus.PENDING:
        raise ValidationError(_("This edit has already been decided."))
    now = timezone.now()
    revision.status = (
        RevisionStatus.APPROVED if decision == Decision.APPROVE else RevisionStatus.REJECTED
    )
    revision.decided_at = now
    revision.save(update_fields=["status", "decided_at"])
    if decision == Decision.APPROVE:
        reason = ""
        before = StatsEntry.of(review)
        for field in ("rating", "title", "body", "visit_month", "aspects", "would_recommend"):
            setattr(review, field, getattr(revision, field))
        review.flags = revision.flags
        review.save()
        provider_page_changed(review.provider_id)
        if review.status == ReviewStatus.PUBLISHED:
            provider_stats_apply(
                provider_id=review.provider_id, removed=before, added=StatsEntry.of(review)
            )
    record = _record_decision(
        target=revision,
        review=review,
        moderator=moderator,
        decision=decision,
        reason=reason,
        note=note,
    )
    _notify_author(review=review, template="revision_decided", decision=record)
    audit(
        "revision_moderated",
        actor=moderator,
        revision_id=revision.pk,
        review_id=review.pk,
        provider_id=review.provider_id,
        decision=decision,
        reason=reason,
        to_status=revision.status,
        decision_id=record.pk,
    )
    return revision


@transaction.atomic
def review_remove(*, review: Review, moderator: User, reason: str, note: str = "") -> Review:
    """Take a published review down for breaking the rules (usually after an upheld report)."""
    _require_moderator(moderator)
    _check_reason(Decision.REMOVE, reason)
    review = (
        Review.objects.select_for_update(of=("self",)).select_related("author").get(pk=review.pk)
    )
    if review.status != ReviewStatus.PUBLISHED:
        raise ValidationError(_("Only a published review can be removed."))
    review.status = ReviewStatus.REMOVED
    review.decided_at = timezone.now()
    review.save(update_fields=["status", "decided_at", "updated_at"])
    # An edit waiting for a removed review must not be approvable any more.
    review.revisions.filter(status=RevisionStatus.PENDING).update(
        status=RevisionStatus.SUPERSEDED, decided_at=review.decided_at
    )
    provider_stats_apply(provider_id=review.provider_id, removed=StatsEntry.of(review))
    record = _record_decision(
        target=review,
        review=review,
        moderator=moderator,
        decision=Decision.REMOVE,
        reason=reason,
        note=note,
    )
    _notify_author(review=review, template="review_decided", decision=record)
    audit(
        "review_removed",
        actor=moderator,
        review_id=review.pk,
        provider_id=review.provider_id,
        reason=reason,
        from_status=ReviewStatus.PUBLISHED,
        to_status=review.status,
        decision_id=record.pk,
    )
    return review


@transaction.atomic
def report_decide(
    *, report: Report, moderator: User, decision: str, reason: str = "", note: str = ""
) -> Report:
    """Uphold a report (the review is removed, with reasons) or dismiss it (it stays).

    Upholding closes every open report on that review; the author gets the statement of
    reasons and each reporter is told the outcome. Legal demands are for superusers only.
    """
    _require_moderator(moderator)
    if decision not in (Decision.UPHOLD, Decision.DISMISS):
        raise ValidationError({"decision": [_("Uphold or dismiss.")]})
    _check_reason(decision, reason)
    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.reason in SUPERUSER_REPORT_REASONS and not moderator.is_superuser:
        raise PermissionDenied(_("Legal demands are decided by senior staff (superusers)."))
    if report.status != ReportStatus.OPEN:
        raise ValidationError(_("This report has already been decided."))
    review = (
        Review.objects.select_for_update(of=("self",))
        .select_related("author")
        .get(pk=report.review_id)
    )
    now = timezone.now()
    if decision == Decision.UPHOLD:
        closing = list(
            Report.objects.select_for_update().filter(review=review, status=ReportStatus.OPEN)
        )
        if review.status == ReviewStatus.PUBLISHED:
            review_remove(review=review, moderator=moderator, reason=reason, note=note)
        review.refresh_from_db()
        if review.is_hidden:
            review.is_hidden = False
            review.save(update_fields=["is_hidden", "updated_at"])
    else:
        closing = [report]
        reason = ""
        still_hiding = (
            Report.objects.filter(
                review=review, status=ReportStatus.OPEN, reason__in=HIDING_REPORT_REASONS
            )
            .exclude(pk=report.pk)
            .exists()
        )
        if review.is_hidden and not still_hiding:
            review.is_hidden = False
            review.save(update_fields=["is_hidden", "updated_at"])
    provider_page_changed(review.provider_id)
    for each in closing:
        each.status = ReportStatus.UPHELD if decision == Decision.UPHOLD else ReportStatus.DISMISSED
        each.decided_at = now
        each.save(update_fields=["status", "decided_at"])
        record = _record_decision(
            target=each,
            review=review,
            moderator=moderator,
            decision=decision,
            reason=reason,
            note=note,
        )
        if each.reporter_id and each.reporter.email:
            email_send(
                template="report_decided",
                to=[each.reporter.email],
                context={
                    "report": each,
                    "review": review,
                    "decision": record,
                    "user": each.reporter,
                },
            )
    audit(
        "report_decided",
        actor=moderator,
        report_id=report.pk,
        review_id=review.pk,
        provider_id=review.provider_id,
        report_reason=report.reason,
        decision=decision,
        reason=reason,
        to_status=closing[0].status,
        closed_report_ids=[each.pk for each in closing],
    )
    return report
