"""Moderation queues for public replies and edits of replies, on the shared queue machinery."""

import re

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.moderation import (
    ModerationQueueAdmin,
    Queue,
    ReadOnlyAdmin,
    flag_badges,
    highlight,
    register_queue,
    word_diff,
)
from responses.checks import HIGHLIGHT_RE as REPLY_HIGHLIGHT_RE
from responses.checks import ReplyFlag
from responses.models import (
    PendingReply,
    PendingReplyRevision,
    Reply,
    ReplyRevision,
    ReplyRevisionStatus,
    ReplyStatus,
)
from responses.services.replies import reply_moderate, reply_revision_moderate
from reviews.checks import HIGHLIGHT_RE, Flag
from reviews.models import RejectionReason

FLAG_LABELS = {**Flag.LABELS, **ReplyFlag.LABELS}
REPLY_REJECTION_REASONS = [
    (value, label)
    for value, label in RejectionReason.choices
    if value in ("personal_information", "offensive", "advertising", "names_individual", "other")
]


# Two passes would escape twice; mark what either set of checks finds, in one pass.
COMBINED_HIGHLIGHT_RE = re.compile(
    f"{HIGHLIGHT_RE.pattern}|{REPLY_HIGHLIGHT_RE.pattern}", re.IGNORECASE
)


def _marked(text):
    return highlight(text, COMBINED_HIGHLIGHT_RE)


class ReplyQueueMixin:
    reasons = REPLY_REJECTION_REASONS

    @admin.display(description=_("Flags"))
    def flag_list(self, obj):
        return flag_badges(obj.flags, FLAG_LABELS)

    def _review_cell(self, review):
        return format_html(
            '<strong>{}</strong> ({})<div class="mod-excerpt">{}</div>',
            review.title,
            gettext("%(rating)s★, by %(author)s")
            % {"rating": review.rating, "author": review.author_name},
            review.body[:400],
        )


@admin.register(PendingReply)
class PendingReplyAdmin(ReplyQueueMixin, ModerationQueueAdmin):
    age_field = "submitted_at"
    list_display = ["waiting", "provider", "speaker", "reply_text", "flag_list", "in_reply_to"]
    fields = ["provider", "review", "responder_name", "responder_title", "body", "flags"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status=ReplyStatus.PENDING)
            .select_related("provider", "review__author")
        )

    @admin.display(description=_("Signed"))
    def speaker(self, obj):
        return format_html("{}<br>{}", obj.responder_name, obj.responder_title)

    @admin.display(description=_("Reply"))
    def reply_text(self, obj):
        return format_html('<div class="mod-excerpt">{}</div>', _marked(obj.body))

    @admin.display(description=_("In reply to"))
    def in_reply_to(self, obj):
        return self._review_cell(obj.review)

    def decide(self, obj, *, moderator, decision, reason, note):
        reply_moderate(reply=obj, moderator=moderator, decision=decision, reason=reason, note=note)


@admin.register(PendingReplyRevision)
class PendingReplyRevisionAdmin(ReplyQueueMixin, ModerationQueueAdmin):
    age_field = "submitted_at"
    approve_label = _("Approve selected edits (they replace the published reply)")
    reject_label = _("Reject selected edits (the published reply stays; asks for the reason)")
    list_display = ["waiting", "provider", "changes", "flag_list", "in_reply_to"]
    fields = ["reply", "body", "flags", "submitted_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status=ReplyRevisionStatus.PENDING)
            .select_related("reply__provider", "reply__review__author")
        )

    @admin.display(description=_("Provider"))
    def provider(self, obj):
        return obj.reply.provider

    @admin.display(description=_("Edit against the published reply"))
    def changes(self, obj):
        return format_html(
            '<div class="mod-excerpt mod-diff">{}</div>', word_diff(obj.reply.body, obj.body)
        )

    @admin.display(description=_("In reply to"))
    def in_reply_to(self, obj):
        return self._review_cell(obj.reply.review)

    def decide(self, obj, *, moderator, decision, reason, note):
        reply_revision_moderate(
            revision=obj, moderator=moderator, decision=decision, reason=reason, note=note
        )


@admin.register(Reply)
class ReplyAdmin(ReadOnlyAdmin):
    """Every reply, for look-ups; nothing is edited here."""

    list_display = ["review", "provider", "responder_name", "status", "submitted_at"]
    list_filter = ["status"]
    search_fields = ["body", "provider__name", "responder_name"]
    # A review's name includes its provider's: joined, not fetched row by row.
    list_select_related = ["review__provider", "provider"]
    readonly_fields = [f.name for f in Reply._meta.fields]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_ordering(self, request):
        return ["-created_at", "-pk"]  # reply_newest_idx


register_queue(
    Queue(
        label=_("Replies waiting"),
        admin_url_name="admin:responses_pendingreply_changelist",
        queryset=lambda: Reply.objects.filter(status=ReplyStatus.PENDING),
        age_field="submitted_at",
        position=25,
    )
)
register_queue(
    Queue(
        label=_("Edits to published replies waiting"),
        admin_url_name="admin:responses_pendingreplyrevision_changelist",
        queryset=lambda: ReplyRevision.objects.filter(status=ReplyRevisionStatus.PENDING),
        age_field="submitted_at",
        position=26,
    )
)
