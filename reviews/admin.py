"""The moderation desk for reviews: queues (new reviews, edits, reports), every review for
look-ups and removal, and the permanent, read-only log of decisions.

Status fields are never editable: the only way to change one is an action, which calls the
service in reviews.services (the same functions the tests, commands and API use).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Count, OuterRef, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from portal.csvexport import stream_csv
from portal.moderation import (
    ModerationQueueAdmin,
    Queue,
    ReadOnlyAdmin,
    flag_badges,
    highlight,
    register_queue,
    word_diff,
)
from reviews import services
from reviews.checks import HIGHLIGHT_RE, Flag
from reviews.models import (
    RATING_VALUES,
    AspectQuestion,
    Category,
    ConsumerAlert,
    Decision,
    ModerationDecision,
    OpenReport,
    PendingReview,
    PendingRevision,
    Provider,
    RejectionReason,
    ReportStatus,
    Review,
    ReviewStatus,
    RevisionStatus,
)
from reviews.services.alerts import (
    ALERT_MAX_DAYS,
    ALERT_MIN_DAYS,
    can_lift_consumer_alert,
    can_place_consumer_alert,
    consumer_alert_check,
    consumer_alert_lift,
    consumer_alert_place,
)
from reviews.services.directory import provider_save

REVIEW_REJECTION_REASONS = [
    (value, label)
    for value, label in RejectionReason.choices
    if value
    not in (RejectionReason.LEGAL, RejectionReason.HARMFUL_OR_ILLEGAL, RejectionReason.NOT_VERIFIED)
]


def _author_history(author_ref: str):
    """Subqueries: the author's other reviews and how many were rejected (no N+1)."""
    base = Review.objects.filter(author=OuterRef(author_ref)).order_by().values("author")
    total = base.annotate(n=Count("pk")).values("n")[:1]
    rejected = base.filter(status=ReviewStatus.REJECTED).annotate(n=Count("pk")).values("n")[:1]
    return {
        "_author_reviews": Coalesce(Subquery(total), 0),
        "_author_rejections": Coalesce(Subquery(rejected), 0),
    }


def _history_cell(obj):
    text = ngettext(
        "%(n)s review, %(rejected)s rejected",
        "%(n)s reviews, %(rejected)s rejected",
        obj._author_reviews,
    ) % {"n": obj._author_reviews, "rejected": obj._author_rejections}
    return format_html('<span class="mod-history">{}</span>', text)


class RatingFilter(admin.SimpleListFilter):
    """The star rating, from the fixed 1–5. Django's own filter for the field would ask the
    database for its distinct values first: a scan of every review to list five known
    numbers."""

    title = _("rating")
    parameter_name = "rating"

    def lookups(self, request, model_admin):
        return [
            (str(stars), ngettext("%(n)s star", "%(n)s stars", stars) % {"n": stars})
            for stars in RATING_VALUES
        ]

    def queryset(self, request, queryset):
        if self.value() in {str(stars) for stars in RATING_VALUES}:
            return queryset.filter(rating=int(self.value()))
        return queryset


class ReviewContentMixin:
    @admin.display(description=_("Rating"))
    def stars(self, obj):
        return format_html(
            '<span title="{}">{}</span>',
            gettext("%(n)s out of 5") % {"n": obj.rating},
            "★" * obj.rating,
        )

    @admin.display(description=_("Flags"))
    def flag_list(self, obj):
        return flag_badges(obj.flags, Flag.LABELS)


# --- queues ----------------------------------------------------------------------------------
@admin.register(PendingReview)
class PendingReviewAdmin(ReviewContentMixin, ModerationQueueAdmin):
    age_field = "submitted_at"
    reasons = REVIEW_REJECTION_REASONS
    list_display = ["waiting", "provider", "stars", "text", "flag_list", "author_history"]
    list_filter = [RatingFilter, "source"]
    search_fields = ["title", "body", "provider__name"]
    fields = ["provider", "author", "rating", "title", "body", "visit_month", "source", "flags"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status=ReviewStatus.PENDING)
            .select_related("provider", "author")
            .annotate(**_author_history("author"))
        )

    @admin.display(description=_("Review"))
    def text(self, obj):
        return format_html(
            '<strong>{}</strong><div class="mod-excerpt">{}</div>',
            highlight(obj.title, HIGHLIGHT_RE),
            highlight(obj.body, HIGHLIGHT_RE),
        )

    @admin.display(description=_("Author's history"))
    def author_history(self, obj):
        return _history_cell(obj)

    def decide(self, obj, *, moderator, decision, reason, note):
        services.review_moderate(
            review=obj, moderator=moderator, decision=decision, reason=reason, note=note
        )


@admin.register(PendingRevision)
class PendingRevisionAdmin(ReviewContentMixin, ModerationQueueAdmin):
    age_field = "submitted_at"
    reasons = REVIEW_REJECTION_REASONS
    approve_label = _("Approve selected edits (they replace the published text)")
    reject_label = _("Reject selected edits (the published text stays; asks for the reason)")
    list_display = [
        "waiting",
        "provider",
        "rating_change",
        "changes",
        "flag_list",
        "author_history",
    ]
    fields = ["review", "rating", "title", "body", "visit_month", "flags"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status=RevisionStatus.PENDING)
            .select_related("review__provider", "review__author")
            .annotate(**_author_history("review__author"))
        )

    @admin.display(description=_("Provider"))
    def provider(self, obj):
        return obj.review.provider

    @admin.display(description=_("Rating"))
    def rating_change(self, obj):
        if obj.rating == obj.review.rating:
            return "★" * obj.rating
        return format_html("{} → {}", "★" * obj.review.rating, "★" * obj.rating)

    @admin.display(description=_("Edit against the published text"))
    def changes(self, obj):
        return format_html(
            '<strong class="mod-diff">{}</strong><div class="mod-excerpt mod-diff">{}</div>',
            word_diff(obj.review.title, obj.title),
            word_diff(obj.review.body, obj.body),
        )

    @admin.display(description=_("Author's history"))
    def author_history(self, obj):
        return _history_cell(obj)

    def decide(self, obj, *, moderator, decision, reason, note):
        services.revision_moderate(
            revision=obj, moderator=moderator, decision=decision, reason=reason, note=note
        )


@admin.register(OpenReport)
class OpenReportAdmin(ModerationQueueAdmin):
    age_field = "created_at"
    reasons = RejectionReason.choices
    # Upholding removes the review, so it needs the reason the author will be given;
    # dismissing leaves everything as it was.
    approve_decision = Decision.UPHOLD
    reject_decision = Decision.DISMISS
    approve_needs_reason = True
    reject_needs_reason = False
    approve_label = _("Uphold selected: remove the review (asks for the reason)")
    reject_label = _("Dismiss selected (the review stays)")
    list_display = ["waiting", "reason_cell", "reported_review", "detail", "reporter"]
    list_filter = ["reason"]
    fields = ["review", "reporter", "reason", "detail", "created_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status=ReportStatus.OPEN)
            .select_related("review__provider", "reporter")
        )

    @admin.display(description=_("Reason"), ordering="reason")
    def reason_cell(self, obj):
        text = obj.get_reason_display()
        if obj.review.is_hidden:
            return format_html("{}<br><strong>{}</strong>", text, gettext("Hidden until decided"))
        return text

    @admin.display(description=_("Reported review"))
    def reported_review(self, obj):
        review = obj.review
        return format_html(
            '<a href="{}">{}</a> ({}★, {})<div class="mod-excerpt">{}</div>',
            reverse("admin:reviews_review_change", args=[review.pk]),
            review.title,
            review.rating,
            review.provider,
            highlight(review.body, HIGHLIGHT_RE),
        )

    def decide(self, obj, *, moderator, decision, reason, note):
        services.report_decide(
            report=obj, moderator=moderator, decision=decision, reason=reason, note=note
        )


register_queue(
    Queue(
        label=_("Reviews waiting"),
        admin_url_name="admin:reviews_pendingreview_changelist",
        queryset=lambda: Review.objects.filter(status=ReviewStatus.PENDING),
        age_field="submitted_at",
        position=10,
    )
)
register_queue(
    Queue(
        label=_("Edits to published reviews waiting"),
        admin_url_name="admin:reviews_pendingrevision_changelist",
        queryset=lambda: PendingRevision.objects.filter(status=RevisionStatus.PENDING),
        age_field="submitted_at",
        position=20,
    )
)
register_queue(
    Queue(
        label=_("Open reports"),
        admin_url_name="admin:reviews_openreport_changelist",
        queryset=lambda: OpenReport.objects.filter(status=ReportStatus.OPEN),
        age_field="created_at",
        position=30,
    )
)


# --- every review (look-up and removal) -------------------------------------------------------
@admin.register(Review)
class ReviewAdmin(ReviewContentMixin, ModerationQueueAdmin):
    age_field = "submitted_at"
    reasons = REVIEW_REJECTION_REASONS
    actions = ["reject_selected"]
    reject_label = _("Remove selected published reviews (asks for the reason)")
    list_display = ["title", "provider", "stars", "status", "source", "submitted_at", "flag_list"]
    list_filter = ["status", RatingFilter, "source", "is_hidden"]
    search_fields = ["title", "provider__name", "author__email", "author__display_name"]
    list_select_related = ["provider", "author"]
    readonly_fields = [f.name for f in Review._meta.fields]
    # A million rows: no second count of the whole table, no counts per filter choice.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_ordering(self, request):
        return ["-submitted_at", "-pk"]  # review_newest_idx

    def decide(self, obj, *, moderator, decision, reason, note):
        services.review_remove(review=obj, moderator=moderator, reason=reason, note=note)


# --- the decision log: read-only for everyone, exportable -------------------------------------
LOOSE_INDEX_SCAN = (
    "WITH RECURSIVE found(value) AS ("
    "SELECT MIN({column}) FROM {table} "
    "UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > found.value) "
    "FROM found WHERE found.value IS NOT NULL"
    ") SELECT value FROM found WHERE value IS NOT NULL"
)


def _distinct_values_sql(model, field_name: str) -> str:
    """The distinct non-null values of an indexed column, by skipping through its index: one
    probe per value (a loose index scan), where SELECT DISTINCT reads every row."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field_name).column)
    # Table and column names from the model's own metadata, quoted: nothing from the request.
    return LOOSE_INDEX_SCAN.format(table=table, column=column)


class DecidedByFilter(admin.RelatedFieldListFilter):
    """The people who have decided something (and "—" for the system), not every account:
    Django's filter lists all users (hundreds of thousands), and its "related only" variant
    finds the moderators with a DISTINCT over every decision. Here they are found a few
    index probes at a time."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        deciders = RawSQL(_distinct_values_sql(ModerationDecision, "moderator"), ())  # noqa: S611
        return field.get_choices(
            include_blank=False, limit_choices_to={"pk__in": deciders}, ordering=ordering
        )


class _ExportChangeList(ChangeList):
    """The changelist's filters, search and ordering, without counting the rows or fetching a
    page of them: the export reads the rows itself."""

    def get_results(self, request):
        self.result_count = self.full_result_count = None
        self.result_list = self.queryset.none()


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "moderator", "decision", "reason", "target_label", "note"]
    # The date filter offers fixed periods (today, past 7 days, this month, this year), where a
    # date hierarchy would list the years by sorting every decision.
    list_filter = [
        "decision",
        "reason",
        ("moderator", DecidedByFilter),
        "created_at",
        "content_type",
    ]
    search_fields = ["note", "moderator__email", "review__title"]
    list_select_related = ["moderator", "content_type", "review"]
    readonly_fields = [f.name for f in ModerationDecision._meta.fields]
    change_list_template = "admin/reviews/moderationdecision/change_list.html"
    actions = None
    # Close to a million rows: no second count of the whole log, no counts per filter choice.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_ordering(self, request):
        return ["-created_at", "-pk"]  # decision_time_idx

    def get_changelist(self, request, **kwargs):
        if getattr(request, "_decision_export", False):
            return _ExportChangeList
        return super().get_changelist(request, **kwargs)

    @admin.display(description=_("Concerning"))
    def target_label(self, obj):
        label = f"{obj.content_type.model} {obj.object_id}"  # codes, as the log stores them
        if obj.review_id:
            return gettext("%(target)s (review “%(title)s”)") % {
                "target": label,
                "title": obj.review.title,
            }
        return label

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_csv),
                name="reviews_moderationdecision_export",
            ),
            *super().get_urls(),
        ]

    def export_csv(self, request):
        """The decisions the changelist shows (its filters apply), as compliance evidence."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        request._decision_export = True
        queryset = self.get_changelist_instance(request).queryset
        # Values, not model instances (nor the reviews the list shows titles of), streamed
        # from a server-side cursor in chunks: memory stays flat however many rows match.
        values = queryset.order_by("created_at", "pk").values_list(
            "created_at",
            "moderator__email",
            "decision",
            "reason",
            "content_type__model",
            "object_id",
            "review_id",
            "note",
        )
        rows = (
            (
                decided_at.isoformat(),
                email if email is not None else "system",
                decision,
                reason,
                model,
                object_id,
                review_id or "",
                note,
            )
            for decided_at, email, decision, reason, model, object_id, review_id, note in (
                values.iterator(chunk_size=2000)
            )
        )
        return stream_csv(
            header=[
                "decided_at",
                "moderator",
                "decision",
                "reason",
                "object_type",
                "object_id",
                "review_id",
                "note",
            ],
            rows=rows,
            filename="moderation-decisions.csv",
        )


# --- consumer alerts: placed through the service, read-only afterwards -----------------------
class ConsumerAlertAddForm(forms.ModelForm):
    days = forms.IntegerField(
        label=_("Days shown"),
        initial=ALERT_MIN_DAYS,
        min_value=ALERT_MIN_DAYS,
        max_value=ALERT_MAX_DAYS,
        help_text=format_lazy(
            _(
                "At least {days}. Only a superuser can lift it before it ends, "
                "to correct a mistake."
            ),
            days=ALERT_MIN_DAYS,
        ),
    )

    class Meta:
        model = ConsumerAlert
        fields = ["provider", "reason"]
        labels = {"reason": _("What was found (shown publicly)")}
        help_texts = {
            "reason": _(
                "Shown as written on the provider's page, so state facts, e.g. “We removed "
                "14 reviews written by people connected to the business in March 2026.”"
            )
        }

    def clean(self):
        data = super().clean()
        try:
            data["reason"], data["days"] = consumer_alert_check(
                reason=data.get("reason", ""), days=data.get("days")
            )
        except ValidationError as error:
            for field, errors in error.error_dict.items():
                if field not in self.errors:
                    self.add_error(field, errors)
        return data

    def _post_clean(self):
        pass  # the service builds and checks the row; the form only collects input


class LiftForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it is lifted before it ends (recorded)"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=1000,
    )


@admin.register(ConsumerAlert)
class ConsumerAlertAdmin(admin.ModelAdmin):
    list_display = ["provider", "state", "starts_at", "ends_at", "created_by", "short_reason"]
    list_filter = ["starts_at", "ends_at"]
    search_fields = ["provider__name", "reason"]
    list_select_related = ["provider", "created_by"]
    autocomplete_fields = ["provider"]
    actions = ["lift_selected"]
    readonly_fields = [
        "provider",
        "reason",
        "starts_at",
        "ends_at",
        "created_by",
        "created_at",
        "lifted_at",
        "lifted_by",
        "lift_reason",
    ]

    def has_add_permission(self, request):
        return can_place_consumer_alert(request.user)

    def has_change_permission(self, request, obj=None):
        return False  # read-only once placed; lifting early is an action (the service)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_lift_permission(self, request):
        return can_lift_consumer_alert(request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ConsumerAlertAddForm
            kwargs["fields"] = ["provider", "reason", "days"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ["provider", "reason", "days"]

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        alert = consumer_alert_place(
            provider=form.cleaned_data["provider"],
            staff=request.user,
            reason=form.cleaned_data["reason"],
            days=form.cleaned_data["days"],
        )
        # The admin goes on with `obj` (its message, its log entry): make it the placed row.
        for field in ConsumerAlert._meta.concrete_fields:
            setattr(obj, field.attname, getattr(alert, field.attname))
        obj._state.adding, obj._state.db = False, alert._state.db

    def save_related(self, request, form, formsets, change):
        pass  # nothing related; the service wrote everything

    @admin.display(description=_("State"))
    def state(self, obj):
        if obj.lifted_at:
            return gettext("Lifted early")
        return gettext("Shown") if obj.ends_at > timezone.now() else gettext("Ended")

    @admin.display(description=_("Reason"))
    def short_reason(self, obj):
        return obj.reason if len(obj.reason) <= 80 else f"{obj.reason[:79]}…"

    @admin.action(permissions=["lift"], description=_("Lift selected alerts early (asks why)"))
    def lift_selected(self, request, queryset):
        form = LiftForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            for alert in queryset:
                try:
                    consumer_alert_lift(
                        alert=alert, staff=request.user, reason=form.cleaned_data["reason"]
                    )
                except (ValidationError, PermissionDenied) as error:
                    text = " ".join(getattr(error, "messages", [str(error)]))
                    self.message_user(request, f"{alert}: {text}", messages.ERROR)
                else:
                    self.message_user(
                        request, gettext("%(alert)s: lifted.") % {"alert": alert}, messages.SUCCESS
                    )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Lift consumer alerts early: give the reason"),
            "objects": queryset,
            "form": form,
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/reviews/consumeralert/lift.html", context)


# --- categories and providers --------------------------------------------------------------
class AspectQuestionInline(admin.StackedInline):
    # Stacked, not tabular: a tabular inline's inputs have only a column heading, no label
    # (WCAG 1.3.1, 4.1.2).
    model = AspectQuestion
    extra = 1
    fields = ["position", "code", "text"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "question_count"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    inlines = [AspectQuestionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_questions=Count("aspects"))

    @admin.display(description=_("Questions"), ordering="_questions")
    def question_count(self, obj):
        return obj._questions


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "town", "review_count", "score", "is_active", "is_claimed"]
    list_filter = ["is_active", "is_claimed", "category"]
    list_select_related = ["category"]
    # 100,000 providers at scale: no second count of the table, no counts per filter choice.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    search_fields = ["name", "town", "postcode"]
    prepopulated_fields = {"slug": ["name"]}
    # The figures are kept by the services; nobody types them in.
    readonly_fields = [*services.STAT_FIELDS, "is_claimed", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "category", "description", "is_active", "is_claimed"]}),
        (
            _("Contact"),
            {"fields": ["address_line1", "address_line2", "town", "postcode", "phone", "website"]},
        ),
        (
            _("Figures (from published reviews)"),
            {"fields": services.STAT_FIELDS, "classes": ["collapse"]},
        ),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        # Through the service, so the provider's cached pages are refreshed on commit.
        provider_save(provider=obj, actor=request.user, changed=list(form.changed_data))
