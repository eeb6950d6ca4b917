"""Providers, their reviews, and everything said about a review (revisions, votes, reports,
moderation decisions). State changes live in `reviews/services.py`."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.models import AppendOnlyModel, new_token

RATING_VALUES = (1, 2, 3, 4, 5)


class Category(models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self):
        return self.name


class AspectQuestion(models.Model):
    """A question asked of every review in a category, e.g. "Ease of getting an appointment"."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="aspects")
    code = models.SlugField(
        max_length=40, help_text=_("Short key stored with each answer; never change it once used.")
    )
    text = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("aspect question")
        verbose_name_plural = _("aspect questions")
        ordering = ["category", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="aspect_code_unique"),
        ]

    def __str__(self):
        return self.text


def prior_score() -> float:
    """A provider with no reviews scores the prior mean, as the formula gives for n = 0."""
    return float(settings.RATING_PRIOR_MEAN)


class ProviderQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Provider(models.Model):
    name = models.CharField(max_length=160)
    slug = models.SlugField(max_length=180, unique=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="providers")
    address_line1 = models.CharField(max_length=160, blank=True)
    address_line2 = models.CharField(max_length=160, blank=True)
    town = models.CharField(max_length=80, db_index=True)
    postcode = models.CharField(max_length=10, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    website = models.URLField(blank=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    is_claimed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Stored aggregates over published reviews. Changed only by reviews.services (in the
    # transaction that publishes, withdraws, removes or revises a review) and by
    # `recompute_provider_stats`; the two must always agree.
    review_count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    rating_1 = models.PositiveIntegerField(default=0)
    rating_2 = models.PositiveIntegerField(default=0)
    rating_3 = models.PositiveIntegerField(default=0)
    rating_4 = models.PositiveIntegerField(default=0)
    rating_5 = models.PositiveIntegerField(default=0)
    aspect_totals = models.JSONField(default=dict, blank=True)  # {code: [sum, count]}
    recommend_yes = models.PositiveIntegerField(default=0)
    recommend_answers = models.PositiveIntegerField(default=0)
    invited_count = models.PositiveIntegerField(default=0)
    invited_sum = models.PositiveIntegerField(default=0)
    score = models.FloatField(default=prior_score, db_index=True)

    objects = ProviderQuerySet.as_manager()

    class Meta:
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["-score", "name"], name="provider_score_idx"),
            models.Index(fields=["-review_count", "name"], name="provider_count_idx"),
            models.Index(fields=["category", "-score"], name="provider_cat_score_idx"),
            # The directory sorted by name, and its town filter (a case-insensitive match),
            # best score first within the town.
            models.Index(fields=["name"], name="provider_name_idx"),
            models.Index(Upper("town"), F("score").desc(), name="provider_town_score_idx"),
            # The sitemap counts, dates and lists active providers from this alone (index-only
            # scans of a few MB, not the whole table). Keys rather than INCLUDE: SQLite has no
            # covering indexes, and Django warns (models.W040) about them there.
            models.Index(
                fields=["id", "slug", "updated_at"],
                condition=Q(is_active=True),
                name="provider_sitemap_idx",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("reviews:provider_detail", kwargs={"slug": self.slug})

    # Derived figures for display; nothing here is stored twice.
    @property
    def rating_average(self) -> float | None:
        return self.rating_sum / self.review_count if self.review_count else None

    @property
    def rating_distribution(self) -> dict[str, int]:
        return {str(r): getattr(self, f"rating_{r}") for r in RATING_VALUES}

    @property
    def organic_count(self) -> int:
        return self.review_count - self.invited_count

    @property
    def organic_average(self) -> float | None:
        n = self.organic_count
        return (self.rating_sum - self.invited_sum) / n if n else None

    @property
    def invited_average(self) -> float | None:
        return self.invited_sum / self.invited_count if self.invited_count else None

    @property
    def recommend_percent(self) -> int | None:
        if not self.recommend_answers:
            return None
        return round(100 * self.recommend_yes / self.recommend_answers)

    def aspect_averages(self) -> dict[str, float]:
        return {code: s / n for code, (s, n) in self.aspect_totals.items() if n}

    @property
    def address(self) -> str:
        parts = [self.address_line1, self.address_line2, self.town, self.postcode]
        return ", ".join(p for p in parts if p)


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for moderation")
    PUBLISHED = "published", _("Published")
    REJECTED = "rejected", _("Not published")
    WITHDRAWN = "withdrawn", _("Withdrawn by the author")
    REMOVED = "removed", _("Removed by moderators")


# A customer may have one of these per provider in any 12 months.
LIVE_STATUSES = (ReviewStatus.PENDING, ReviewStatus.PUBLISHED)


class ReviewSource(models.TextChoices):
    ORGANIC = "organic", _("Organic")
    INVITED = "invited", _("Invited")


class ReviewQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=ReviewStatus.PUBLISHED)

    def live(self):
        return self.filter(status__in=LIVE_STATUSES)


class Review(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="reviews")
    # Nullable so that an erased account leaves a de-identified review ("Former member").
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=120)
    body = models.TextField(max_length=5000)
    visit_month = models.DateField(help_text=_("First day of the month of the visit."))
    aspects = models.JSONField(default=dict, blank=True)  # {aspect code: 1..5}
    would_recommend = models.BooleanField(null=True, blank=True)
    wants_resolution = models.BooleanField(default=False)
    status = models.CharField(
        max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    source = models.CharField(
        max_length=10, choices=ReviewSource.choices, default=ReviewSource.ORGANIC
    )
    flags = models.JSONField(default=list, blank=True)  # automatic-check codes, for moderators
    helpful_count = models.PositiveIntegerField(default=0)
    # Hidden from the public (text replaced by a notice) while a "harmful or illegal" report
    # is decided; it stays published and counted, so nothing is decided before a person does.
    is_hidden = models.BooleanField(default=False)
    submitted_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-submitted_at"]
        permissions = [("moderate_content", "Can moderate reviews, replies and reports")]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="review_rating_1_to_5"
            ),
        ]
        indexes = [
            # The provider page's orderings and the rating filter, published reviews only.
            # Each ends in the id, so a deep page finds its ids by an index-only scan
            # (portal.pagination) and fetches just those rows.
            models.Index(
                fields=["provider", "-published_at", "-id"],
                condition=Q(status="published"),
                name="review_pub_newest_idx",
            ),
            models.Index(
                fields=["provider", "-helpful_count", "-published_at", "-id"],
                condition=Q(status="published"),
                name="review_pub_helpful_idx",
            ),
            # "Lowest rating" and the rating filter (then newest first)…
            models.Index(
                fields=["provider", "rating", "-published_at", "-id"],
                condition=Q(status="published"),
                name="review_pub_rating_idx",
            ),
            # …and "Highest rating", which a backward scan of the one above cannot give
            # (it would put the oldest first within a rating).
            models.Index(
                fields=["provider", "-rating", "-published_at", "-id"],
                condition=Q(status="published"),
                name="review_pub_rating_desc_idx",
            ),
            models.Index(fields=["status", "submitted_at"], name="review_queue_idx"),
            models.Index(fields=["author", "provider", "submitted_at"], name="review_author_idx"),
            # The admin's list of every review, newest first: its ordering, ending in the id.
            models.Index(fields=["-submitted_at", "-id"], name="review_newest_idx"),
            # …and filtered to the few reviews hidden until a report is decided.
            models.Index(
                fields=["-submitted_at", "-id"],
                condition=Q(is_hidden=True),
                name="review_hidden_idx",
            ),
            # The queue of waiting reviews filtered by rating or source: counted and listed,
            # oldest first, from this alone rather than from every waiting row of the table.
            models.Index(
                fields=["submitted_at", "rating", "source"],
                condition=Q(status="pending"),
                name="review_pending_idx",
            ),
            # The staff analytics join a month of decisions (~70,000 at scale) to their reviews
            # for the rating and the submission time: probes of this index alone instead of a
            # hash join over the whole table. Keys rather than INCLUDE, as provider_sitemap_idx.
            models.Index(fields=["id", "rating", "submitted_at"], name="review_id_rating_idx"),
        ]

    def __str__(self):
        return f"{self.title} ({self.rating}★, {self.provider})"

    def get_absolute_url(self):
        return reverse("reviews:review_detail", kwargs={"pk": self.pk})

    @property
    def author_name(self) -> str:
        return self.author.display_name if self.author_id else str(_("Former member"))

    @property
    def is_published(self) -> bool:
        return self.status == ReviewStatus.PUBLISHED


class Invitation(models.Model):
    """A single-use, expiring link a business sends to a customer (every customer, with the
    same neutral wording); a review written through it is labelled "Invited"."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(blank=True)  # empty for a link handed over in person
    token = models.CharField(max_length=64, unique=True, default=new_token)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    review = models.OneToOneField(
        "Review", on_delete=models.SET_NULL, null=True, blank=True, related_name="invitation"
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["provider", "-created_at"], name="invitation_provider_idx")]

    def __str__(self):
        return gettext("Invitation to review %(provider)s") % {"provider": self.provider}


class RevisionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for moderation")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Not approved")
    SUPERSEDED = "superseded", _("Replaced by a later edit")


class ReviewRevision(models.Model):
    """An author's edit of a published review; the published text stays until approved."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="revisions")
    rating = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=120)
    body = models.TextField(max_length=5000)
    visit_month = models.DateField()
    aspects = models.JSONField(default=dict, blank=True)
    would_recommend = models.BooleanField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=RevisionStatus.choices, default=RevisionStatus.PENDING
    )
    flags = models.JSONField(default=list, blank=True)
    submitted_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("review revision")
        verbose_name_plural = _("review revisions")
        ordering = ["-submitted_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="revision_rating_1_to_5"
            ),
            models.UniqueConstraint(
                fields=["review"],
                condition=Q(status="pending"),
                name="one_pending_revision_per_review",
            ),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"], name="revision_queue_idx")]

    def __str__(self):
        return gettext("Edit of review %(id)s") % {"id": self.review_id}


class HelpfulVote(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="helpful_votes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="helpful_votes"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("helpful vote")
        verbose_name_plural = _("helpful votes")
        constraints = [
            models.UniqueConstraint(fields=["review", "user"], name="one_vote_per_user"),
        ]

    def __str__(self):
        return gettext("Helpful vote on review %(id)s") % {"id": self.review_id}


class ReportReason(models.TextChoices):
    PERSONAL_INFORMATION = "personal_information", _("It contains personal information")
    OFFENSIVE = "offensive", _("It is offensive or hateful")
    NOT_GENUINE = "not_genuine", _("It is not a genuine experience")
    CONFLICT_OF_INTEREST = "conflict_of_interest", _("It is written with a conflict of interest")
    SPAM = "spam", _("It is spam or advertising")
    HARMFUL_OR_ILLEGAL = "harmful_or_illegal", _("It is harmful or illegal")
    LEGAL_DEMAND = "legal_demand", _("A legal demand to remove it (decided by senior staff)")
    OTHER = "other", _("Something else")


# Reports that hide the content at once, pending a decision (everything else stays visible).
HIDING_REPORT_REASONS = (ReportReason.HARMFUL_OR_ILLEGAL,)
# Reports only superusers may decide.
SUPERUSER_REPORT_REASONS = (ReportReason.LEGAL_DEMAND,)


class ReportStatus(models.TextChoices):
    OPEN = "open", _("Open")
    UPHELD = "upheld", _("Upheld")
    DISMISSED = "dismissed", _("Dismissed")


class Report(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="reports"
    )
    reason = models.CharField(max_length=24, choices=ReportReason.choices)
    detail = models.TextField(max_length=2000, blank=True)
    status = models.CharField(
        max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="report_queue_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "reporter"],
                condition=Q(status="open"),
                name="one_open_report_per_reporter",
            ),
        ]

    def __str__(self):
        return gettext("Report on review %(id)s: %(reason)s") % {
            "id": self.review_id,
            "reason": self.get_reason_display(),
        }


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approved")
    REJECT = "reject", _("Rejected")
    UPHOLD = "uphold", _("Report upheld")
    DISMISS = "dismiss", _("Report dismissed")
    REMOVE = "remove", _("Removed")
    ALERT = "alert", _("Consumer alert placed")
    LIFT_ALERT = "lift_alert", _("Consumer alert lifted")


class RejectionReason(models.TextChoices):
    PERSONAL_INFORMATION = "personal_information", _("Contains personal information")
    OFFENSIVE = "offensive", _("Offensive or abusive")
    NOT_GENUINE = "not_genuine", _("Not a genuine experience")
    CONFLICT_OF_INTEREST = "conflict_of_interest", _("Conflict of interest")
    ADVERTISING = "advertising", _("Advertising or spam")
    NAMES_INDIVIDUAL = "names_individual", _("Names an individual")
    HARMFUL_OR_ILLEGAL = "harmful_or_illegal", _("Harmful or illegal")
    LEGAL = "legal", _("Unlawful (legal demand upheld)")
    NOT_VERIFIED = "not_verified", _("Could not be verified")
    OTHER = "other", _("Other")


class ModerationDecision(AppendOnlyModel):
    """Every moderation decision, kept forever: what, who, when, which way and why."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    # The review concerned (directly or through a revision or report), for its history.
    review = models.ForeignKey(
        Review, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="moderation_decisions",
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.CharField(max_length=24, choices=RejectionReason.choices, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("moderation decision")
        verbose_name_plural = _("moderation decisions")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="decision_target_idx"),
            # the decision log, the admin index figures and /stats/ read it by time
            models.Index(fields=["created_at"], name="decision_time_idx"),
            # The staff analytics' decisions by reason: only the few that give one (rejections,
            # removals, upheld reports), not every approval in the period.
            models.Index(
                fields=["created_at", "reason"],
                condition=~Q(reason=""),
                name="decision_reason_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_decision_display()} {self.content_type.model} {self.object_id}"


class ConsumerAlertQuerySet(models.QuerySet):
    def active(self, now):
        return self.filter(starts_at__lte=now, ends_at__gt=now, lifted_at__isnull=True)


class ConsumerAlert(models.Model):
    """A public warning on a provider's page that staff found it manipulating reviews.

    It runs for at least 90 days from placing (reviews.services.alerts) and then simply ends.
    It is never shortened because the business asks or improves; only senior staff can lift
    it early, to correct a mistake, with the reason on record. Placing and lifting are both
    in the decision log (ModerationDecision); the lifting fields are the only ones that ever
    change after the row is written.
    """

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="alerts")
    reason = models.TextField(
        max_length=1000, help_text=_("Shown publicly on the provider's page, as written.")
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    lift_reason = models.TextField(max_length=1000, blank=True)

    objects = ConsumerAlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("consumer alert")
        verbose_name_plural = _("consumer alerts")
        ordering = ["-starts_at", "-pk"]
        permissions = [("place_consumer_alert", "Can place a consumer alert on a provider")]
        indexes = [models.Index(fields=["provider", "ends_at"], name="alert_provider_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="alert_ends_later"
            ),
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True) | ~Q(lift_reason=""),
                name="alert_lift_has_reason",
            ),
        ]

    def __str__(self):
        return gettext("Consumer alert on %(provider)s") % {"provider": self.provider}


# --- Moderation queues: proxies so that each queue is its own admin changelist ---------------
class PendingReview(Review):
    class Meta:
        proxy = True
        verbose_name = _("pending review")
        verbose_name_plural = _("queue: reviews waiting")


class PendingRevision(ReviewRevision):
    class Meta:
        proxy = True
        verbose_name = _("pending edit")
        verbose_name_plural = _("queue: edits waiting")


class OpenReport(Report):
    class Meta:
        proxy = True
        verbose_name = _("open report")
        verbose_name_plural = _("queue: open reports")
