"""Every change to providers' reviews: one function per operation, each in one transaction,
each writing its audit record (where there is one) in that same transaction."""

import calendar
import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from portal.emails import email_send
from reviews import checks
from reviews.models import (
    HIDING_REPORT_REASONS,
    LIVE_STATUSES,
    RATING_VALUES,
    SUPERUSER_REPORT_REASONS,
    Decision,
    HelpfulVote,
    ModerationDecision,
    Provider,
    RejectionReason,
    Report,
    ReportReason,
    ReportStatus,
    Review,
    ReviewRevision,
    ReviewSource,
    ReviewStatus,
    RevisionStatus,
)

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
                % {"month": earliest.strftime("%B %Y")}
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


def _require_moderator(user: User) -> None:
    if not (user and user.is_active and user.is_staff and user.has_perm(MODERATE_PERMISSION)):
        raise PermissionDenied(_("Only moderators can do this."))


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


DUPLICATE_REVIEW_MESSAGE = _(
    "You have already reviewed this provider in the last 12 months. You can edit that "
    "review from “Your reviews” instead."
)


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
) -> Review:
    """A customer submits a review; it waits for moderation (never published here)."""
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
    _lock_author(author)
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
    return review


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
    review.refresh_from_db(fields=["helpful_count"])
    return review


@transaction.atomic
def review_unvote_helpful(*, review: Review, user: User) -> Review:
    review = Review.objects.select_for_update().get(pk=review.pk)
    deleted, _details = HelpfulVote.objects.filter(review=review, user=user).delete()
    if deleted:
        Review.objects.filter(pk=review.pk).update(helpful_count=F("helpful_count") - 1)
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
    return report


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
    return report


# --- provider aggregates ------------------------------------------------------------------
@dataclass(frozen=True)
class StatsEntry:
    """What one published review contributes to its provider's figures."""

    rating: int
    aspects: dict
    would_recommend: bool | None
    invited: bool

    @classmethod
    def of(cls, review: Review) -> "StatsEntry":
        return cls(
            rating=review.rating,
            aspects=dict(review.aspects or {}),
            would_recommend=review.would_recommend,
            invited=review.source == ReviewSource.INVITED,
        )


def bayesian_score(*, rating_sum: int, review_count: int) -> float:
    c, m = settings.RATING_PRIOR_WEIGHT, settings.RATING_PRIOR_MEAN
    return round((c * m + rating_sum) / (c + review_count), 6)


def provider_stats_apply(
    *, provider_id: int, added: StatsEntry | None = None, removed: StatsEntry | None = None
) -> Provider:
    """Change a provider's stored figures by one review coming into or leaving publication.

    Called only by the services above, inside their transaction; the provider row is locked so
    concurrent publications add up.
    """
    provider = Provider.objects.select_for_update().get(pk=provider_id)
    aspect_totals = {code: list(pair) for code, pair in provider.aspect_totals.items()}
    for entry, sign in ((removed, -1), (added, +1)):
        if entry is None:
            continue
        provider.review_count += sign
        provider.rating_sum += sign * entry.rating
        field = f"rating_{entry.rating}"
        setattr(provider, field, getattr(provider, field) + sign)
        if entry.invited:
            provider.invited_count += sign
            provider.invited_sum += sign * entry.rating
        if entry.would_recommend is not None:
            provider.recommend_answers += sign
            provider.recommend_yes += sign * int(entry.would_recommend)
        for code, value in entry.aspects.items():
            total = aspect_totals.setdefault(code, [0, 0])
            total[0] += sign * value
            total[1] += sign
            if total[1] == 0:
                del aspect_totals[code]
    provider.aspect_totals = aspect_totals
    provider.score = bayesian_score(
        rating_sum=provider.rating_sum, review_count=provider.review_count
    )
    provider.save(update_fields=[*STAT_FIELDS, "updated_at"])
    return provider


STAT_FIELDS = [
    "review_count",
    "rating_sum",
    *(f"rating_{r}" for r in RATING_VALUES),
    "aspect_totals",
    "recommend_yes",
    "recommend_answers",
    "invited_count",
    "invited_sum",
    "score",
]


def provider_stats_compute(*, provider_ids=None) -> dict[int, dict]:
    """Figures computed from scratch from published reviews, keyed by provider id."""
    providers = Provider.objects.all()
    if provider_ids is not None:
        providers = providers.filter(pk__in=provider_ids)
    empty = {
        **dict.fromkeys(STAT_FIELDS, 0),
        "aspect_totals": {},
        "score": bayesian_score(rating_sum=0, review_count=0),
    }
    figures = {pk: {**empty, "aspect_totals": {}} for pk in providers.values_list("pk", flat=True)}
    published = Review.objects.published().filter(provider_id__in=figures.keys())
    rows = published.values("provider_id").annotate(
        review_count=Count("id"),
        rating_sum=Sum("rating"),
        **{f"rating_{r}": Count("id", filter=Q(rating=r)) for r in RATING_VALUES},
        recommend_yes=Count("id", filter=Q(would_recommend=True)),
        recommend_answers=Count("id", filter=Q(would_recommend__isnull=False)),
        invited_count=Count("id", filter=Q(source=ReviewSource.INVITED)),
        invited_sum=Sum("rating", filter=Q(source=ReviewSource.INVITED), default=0),
    )
    for row in rows.order_by():
        pk = row.pop("provider_id")
        figures[pk].update(row)
        figures[pk]["score"] = bayesian_score(
            rating_sum=row["rating_sum"], review_count=row["review_count"]
        )
    with_aspects = published.exclude(aspects={}).values_list("provider_id", "aspects")
    for pk, aspects in with_aspects.order_by().iterator(chunk_size=5000):
        totals = figures[pk]["aspect_totals"]
        for code, value in aspects.items():
            pair = totals.setdefault(code, [0, 0])
            pair[0] += value
            pair[1] += 1
    return figures


@transaction.atomic
def provider_stats_recompute(*, provider_ids=None, batch_size: int = 2000) -> int:
    """Overwrite stored figures with a from-scratch computation; returns providers changed."""
    figures = provider_stats_compute(provider_ids=provider_ids)
    changed = []
    for provider in Provider.objects.filter(pk__in=figures.keys()).select_for_update():
        new = figures[provider.pk]
        if any(getattr(provider, f) != new[f] for f in STAT_FIELDS):
            for field in STAT_FIELDS:
                setattr(provider, field, new[field])
            changed.append(provider)
    Provider.objects.bulk_update(changed, STAT_FIELDS, batch_size=batch_size)
    return len(changed)
