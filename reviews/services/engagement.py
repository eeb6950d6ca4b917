"""What readers do with a published review: mark it helpful, report it."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from accounts.models import User
from reviews.models import (
    HIDING_REPORT_REASONS,
    HelpfulVote,
    Report,
    ReportReason,
    Review,
    ReviewStatus,
)
from reviews.pagecache import provider_page_changed


# --- votes and reports ------------------------------------------------------------------
def _published_for_update(review: Review) -> Review:
    review = Review.objects.select_for_update().get(pk=review.pk)
    if review.status != ReviewStatus.PUBLISHED:
        raise ValidationError(_("This review is not published."))
    return review


@transaction.atomic
def review_vote_helpful(*, review: Review, user: User) -> Review:
    """Mark a review helpful (once per person; your own review does not count)."""
    review = _published_for_update(review)
    if review.author_id == user.pk:
        raise ValidationError(_("You cannot vote for your own review."))
    if not HelpfulVote.objects.filter(review=review, user=user).exists():
        HelpfulVote.objects.create(review=review, user=user)
        Review.objects.filter(pk=review.pk).update(helpful_count=F("helpful_count") + 1)
        provider_page_changed(review.provider_id)
    review.refresh_from_db(fields=["helpful_count"])
    return review


@transaction.atomic
def review_unvote_helpful(*, review: Review, user: User) -> Review:
    review = Review.objects.select_for_update().get(pk=review.pk)
    deleted, _details = HelpfulVote.objects.filter(review=review, user=user).delete()
    if deleted:
        Review.objects.filter(pk=review.pk).update(helpful_count=F("helpful_count") - 1)
        provider_page_changed(review.provider_id)
    review.refresh_from_db(fields=["helpful_count"])
    return review


@transaction.atomic
def review_report(*, review: Review, reporter: User, reason: str, detail: str = "") -> Report:
    """Anyone signed in can report a published review to the moderators."""
    if reason not in ReportReason.values:
        raise ValidationError({"reason": [_("Choose why you are reporting this review.")]})
    detail = (detail or "").strip()
    if len(detail) > 2000:
        raise ValidationError({"detail": [_("Keep the detail to 2,000 characters or fewer.")]})
    review = _published_for_update(review)
    if Report.objects.filter(review=review, reporter=reporter, status="open").exists():
        raise ValidationError(_("You have already reported this review; a moderator will look."))
    report = Report.objects.create(review=review, reporter=reporter, reason=reason, detail=detail)
    if reason in HIDING_REPORT_REASONS and not review.is_hidden:
        # Harmful or illegal content comes down at once while a person decides; other
        # reasons leave it up (a report alone is not a reason to suppress a review).
        review.is_hidden = True
        review.save(update_fields=["is_hidden", "updated_at"])
        provider_page_changed(review.provider_id)
    return report
