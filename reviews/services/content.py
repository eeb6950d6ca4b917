"""What authors do: submit, edit and withdraw reviews, with every rule checked here."""

import calendar
import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from reviews import checks
from reviews.models import (
    LIVE_STATUSES,
    RATING_VALUES,
    Invitation,
    Provider,
    Review,
    ReviewRevision,
    ReviewSource,
    ReviewStatus,
    RevisionStatus,
)
from reviews.services.stats import StatsEntry, provider_stats_apply

TITLE_MAX = 120
BODY_MIN = 30
BODY_MAX = 5000
VISIT_WINDOW_MONTHS = 24
LIVE_WINDOW_DAYS = 365
MODERATE_PERMISSION = "reviews.moderate_content"


# --- validation -----------------------------------------------------------------------
def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def visit_month_bounds(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The earliest and latest month (first days) a visit may be in: within 2 years."""
    today = today or timezone.localdate()
    this_month = today.replace(day=1)
    return add_months(this_month, -VISIT_WINDOW_MONTHS), this_month


def _clean_content(
    *, provider: Provider, rating, title: str, body: str, visit_month, aspects, would_recommend
) -> dict:
    errors: dict[str, list[str]] = {}
    if not isinstance(rating, int) or isinstance(rating, bool) or rating not in RATING_VALUES:
        errors["rating"] = [_("Choose a rating from 1 to 5 stars.")]
    title = (title or "").strip()
    body = (body or "").strip()
    if not title:
        errors["title"] = [_("Give your review a title.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("The title must be %(max)s characters or fewer.") % {"max": TITLE_MAX}]
    if len(body) < BODY_MIN:
        errors["body"] = [
            _("Tell us a little more: your review must be at least %(min)s characters.")
            % {"min": BODY_MIN}
        ]
    elif len(body) > BODY_MAX:
        errors["body"] = [_("Your review must be %(max)s characters or fewer.") % {"max": BODY_MAX}]
    if isinstance(visit_month, dt.datetime):
        visit_month = visit_month.date()
    if not isinstance(visit_month, dt.date):
        errors["visit_month"] = [_("Enter the month of your visit.")]
    else:
        visit_month = visit_month.replace(day=1)
        earliest, latest = visit_month_bounds()
        if visit_month > latest:
            errors["visit_month"] = [_("The visit cannot be in the future.")]
        elif visit_month < earliest:
            errors["visit_month"] = [
                _("We publish experiences from the last 2 years only (since %(month)s).")
                % {"month": formats.date_format(earliest, "YEAR_MONTH_FORMAT")}
            ]
    allowed = set(provider.category.aspects.values_list("code", flat=True))
    clean_aspects = {}
    for code, value in (aspects or {}).items():
        if value in (None, ""):
            continue
        if code not in allowed or isinstance(value, bool) or value not in RATING_VALUES:
            errors["aspects"] = [_("Answer each question with 1 to 5 stars, or leave it blank.")]
            break
        clean_aspects[code] = int(value)
    if would_recommend not in (None, True, False):
        errors["would_recommend"] = [_("Answer yes, no, or leave it blank.")]
    if errors:
        raise ValidationError(errors)
    return {
        "rating": rating,
        "title": title,
        "body": body,
        "visit_month": visit_month,
        "aspects": clean_aspects,
        "would_recommend": would_recommend,
    }


def _has_other_live_review(*, author: User, provider: Provider, exclude_pk=None) -> bool:
    since = timezone.now() - dt.timedelta(days=LIVE_WINDOW_DAYS)
    qs = Review.objects.filter(
        author=author, provider=provider, status__in=LIVE_STATUSES, submitted_at__gte=since
    )
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _lock_author(author: User) -> None:
    """Serialise one author's submissions so that two at once cannot both pass the checks."""
    User.objects.select_for_update().filter(pk=author.pk).values_list("pk", flat=True).first()


DUPLICATE_REVIEW_MESSAGE = gettext_lazy(
    "You have already reviewed this provider in the last 12 months. You can edit that "
    "review from “Your reviews” instead."
)


# --- invitations ---------------------------------------------------------------------------
# Each refusal carries its own code, so that callers can tell "this link is not for this
# business" (keep it for the right one) from "this link is spent" (drop it).
INVITATION_UNKNOWN = "invitation_unknown"
INVITATION_OTHER_PROVIDER = "invitation_other_provider"
INVITATION_USED = "invitation_used"
INVITATION_EXPIRED = "invitation_expired"
INVITATION_PROVIDER_GONE = "invitation_provider_gone"
INVITATION_ERROR_CODES = frozenset(
    {
        INVITATION_UNKNOWN,
        INVITATION_OTHER_PROVIDER,
        INVITATION_USED,
        INVITATION_EXPIRED,
        INVITATION_PROVIDER_GONE,
    }
)


def invitation_ensure_usable(
    *, invitation: Invitation, provider: Provider | None = None, now: dt.datetime | None = None
) -> Invitation:
    """The invitation if a review of `provider` (by default its own) may be written through it
    now; a ValidationError with the reason otherwise."""
    provider = provider or invitation.provider
    if invitation.provider_id != provider.pk:
        raise ValidationError(
            _("This invitation is for another business."), code=INVITATION_OTHER_PROVIDER
        )
    if invitation.used_at is not None:
        raise ValidationError(_("This invitation has already been used."), code=INVITATION_USED)
    if invitation.expires_at <= (now or timezone.now()):
        raise ValidationError(
            _("This invitation expired on %(date)s.")
            % {
                "date": formats.date_format(
                    timezone.localtime(invitation.expires_at), "DATE_FORMAT"
                )
            },
            code=INVITATION_EXPIRED,
        )
    if not provider.is_active:
        raise ValidationError(
            _("This business is no longer listed on Heard."), code=INVITATION_PROVIDER_GONE
        )
    return invitation


def invitation_get_usable(*, token: str, provider: Provider | None = None) -> Invitation:
    """The invitation with this token, checked as `invitation_ensure_usable` does."""
    invitation = (
        Invitation.objects.select_related("provider__category").filter(token=token).first()
        if token
        else None
    )
    if invitation is None:
        raise ValidationError(
            _("This invitation link is not valid. Check that you copied the whole link."),
            code=INVITATION_UNKNOWN,
        )
    return invitation_ensure_usable(invitation=invitation, provider=provider)


def is_invitation_error(error: ValidationError) -> bool:
    """Whether a refusal from `review_submit` was about the invitation (not the review)."""
    return any(e.code in INVITATION_ERROR_CODES for e in getattr(error, "error_list", []))


# --- submitting and editing -----------------------------------------------------------------
@transaction.atomic
def review_submit(
    *,
    author: User,
    provider: Provider,
    rating: int,
    title: str,
    body: str,
    visit_month: dt.date,
    aspects: dict | None = None,
    would_recommend: bool | None = None,
    wants_resolution: bool = False,
    source: str = ReviewSource.ORGANIC,
    invitation: Invitation | None = None,
) -> Review:
    """A customer submits a review; it waits for moderation (never published here).

    Written through an `invitation` (for this provider, unused, unexpired), the review is
    labelled Invited and the invitation is spent in the same transaction.
    """
    if not provider.is_active:
        raise ValidationError(_("This provider is no longer listed."))
    content = _clean_content(
        provider=provider,
        rating=rating,
        title=title,
        body=body,
        visit_month=visit_month,
        aspects=aspects,
        would_recommend=would_recommend,
    )
    # Members speak for the business in replies; they may not rate it (conflict of interest).
    if provider.memberships.filter(user=author).exists():
        raise ValidationError(
            _("You are a member of this business's team, so you cannot review it.")
        )
    _lock_author(author)
    if invitation is not None:
        # Locked and read again: of two submissions through one link, the second waits here
        # and then finds it used.
        locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if locked is None:
            raise ValidationError(_("This invitation no longer exists."), code=INVITATION_UNKNOWN)
        invitation = invitation_ensure_usable(invitation=locked, provider=provider)
        source = ReviewSource.INVITED
    if _has_other_live_review(author=author, provider=provider):
        raise ValidationError(DUPLICATE_REVIEW_MESSAGE)
    now = timezone.now()
    flags = checks.review_flags(
        author=author, provider=provider, title=content["title"], body=content["body"]
    )
    try:
        with transaction.atomic():
            review = Review.objects.create(
                provider=provider,
                author=author,
                status=ReviewStatus.PENDING,
                source=source,
                wants_resolution=bool(wants_resolution),
                flags=flags,
                submitted_at=now,
                **content,
            )
    except IntegrityError as error:  # the database's own one-live-review rule (PostgreSQL)
        raise ValidationError(DUPLICATE_REVIEW_MESSAGE) from error
    if invitation is not None:
        invitation.used_at = now
        invitation.review = review
        invitation.save(update_fields=["used_at", "review"])
    # A complaint becomes a ticket in this same transaction (a 1–2 star review, or one whose
    # author asked for a resolution). Imported here because responses builds on reviews.
    from responses.services.tickets import ticket_open, ticket_source_for_review

    complaint = ticket_source_for_review(review)
    if complaint:
        ticket_open(
            provider=provider,
            customer=author,
            source=complaint,
            subject=review.title,
            message=review.body,
            review=review,
        )
    return review


@transaction.atomic
def review_revise(
    *,
    review: Review,
    author: User,
    rating: int,
    title: str,
    body: str,
    visit_month: dt.date,
    aspects: dict | None = None,
    would_recommend: bool | None = None,
) -> Review | ReviewRevision:
    """The author edits a review.

    A published review gets a pending revision (the public text stays until it is approved);
    a pending or rejected review is changed in place and goes (back) to the moderation queue.
    """
    review = (
        Review.objects.select_for_update(of=("self",))
        .select_related("provider__category")
        .get(pk=review.pk)
    )
    if review.author_id != author.pk:
        raise PermissionDenied(_("Only the author can edit this review."))
    content = _clean_content(
        provider=review.provider,
        rating=rating,
        title=title,
        body=body,
        visit_month=visit_month,
        aspects=aspects,
        would_recommend=would_recommend,
    )
    flags = checks.review_flags(
        author=author,
        provider=review.provider,
        title=content["title"],
        body=content["body"],
        exclude_review=review.pk,
    )
    now = timezone.now()
    if review.status == ReviewStatus.PUBLISHED:
        review.revisions.filter(status=RevisionStatus.PENDING).update(
            status=RevisionStatus.SUPERSEDED, decided_at=now
        )
        return ReviewRevision.objects.create(
            review=review, status=RevisionStatus.PENDING, flags=flags, submitted_at=now, **content
        )
    if review.status not in (ReviewStatus.PENDING, ReviewStatus.REJECTED):
        raise ValidationError(_("This review can no longer be edited."))
    if review.status == ReviewStatus.REJECTED:
        _lock_author(author)
        if _has_other_live_review(author=author, provider=review.provider, exclude_pk=review.pk):
            raise ValidationError(DUPLICATE_REVIEW_MESSAGE)
    for field, value in content.items():
        setattr(review, field, value)
    review.flags = flags
    review.status = ReviewStatus.PENDING
    review.submitted_at = now
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError as error:
        raise ValidationError(DUPLICATE_REVIEW_MESSAGE) from error
    return review


@transaction.atomic
def review_withdraw(*, review: Review, author: User) -> Review:
    """The author takes their review down; a published one leaves the provider's figures."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    if review.author_id != author.pk:
        raise PermissionDenied(_("Only the author can withdraw this review."))
    if review.status not in (ReviewStatus.PENDING, ReviewStatus.PUBLISHED, ReviewStatus.REJECTED):
        raise ValidationError(_("This review has already been taken down."))
    was_published = review.status == ReviewStatus.PUBLISHED
    now = timezone.now()
    review.status = ReviewStatus.WITHDRAWN
    review.save(update_fields=["status", "updated_at"])
    review.revisions.filter(status=RevisionStatus.PENDING).update(
        status=RevisionStatus.SUPERSEDED, decided_at=now
    )
    if was_published:
        provider_stats_apply(provider_id=review.provider_id, removed=StatsEntry.of(review))
    return review
