"""The moderation desk's shared machinery: queues registered by each app, a ModelAdmin base
class that turns a queue into a changelist with approve/reject actions (bulk reject asks for
the reason first), and the display helpers that mark flagged text and show edits as diffs.

Every decision goes through the app's service function; this module only collects input and
reports results. Apps register their queues (reviews here; replies, claims and tickets later)
with `register_queue`, and the admin index shows them all.
"""

import dataclasses
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Min, QuerySet, Value
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

MODERATE_PERMISSION = "reviews.moderate_content"


# --- queue registry ------------------------------------------------------------------------
@dataclass(frozen=True)
class Queue:
    label: str  # lazily translated: queues are registered at import time
    admin_url_name: str  # e.g. "admin:reviews_pendingreview_changelist"
    queryset: Callable[[], QuerySet]
    age_field: str
    position: int = 100


QUEUES: list[Queue] = []


def register_queue(queue: Queue) -> None:
    if all(q.admin_url_name != queue.admin_url_name for q in QUEUES):
        QUEUES.append(queue)
        QUEUES.sort(key=lambda q: q.position)


def queue_summaries() -> list[dict]:
    """Each queue's size and the age of its oldest item, in one query: one aggregate row per
    queue, joined with UNION ALL (the desk's index must not cost a query per queue). Exact and
    live: COUNT(*) and MIN(age field) over a queue's (status, age field) index are answered by
    an index-only scan, where COUNT(id) would visit every waiting row in the table."""
    if not QUEUES:
        return []
    now = timezone.now()
    parts = [
        queue.queryset()
        .order_by()
        .values(queue_index=Value(i))
        .annotate(count=Count("*"), oldest=Min(queue.age_field))
        for i, queue in enumerate(QUEUES)
    ]
    first, *rest = parts
    # Ordered, or the combined query would take the first model's default ordering.
    combined = first.union(*rest, all=True).order_by("queue_index") if rest else first
    figures = {row["queue_index"]: row for row in combined}
    rows = []
    for i, queue in enumerate(QUEUES):
        oldest = figures[i]["oldest"]
        rows.append(
            {
                "label": queue.label,
                "url": reverse(queue.admin_url_name),
                "count": figures[i]["count"],
                "oldest": oldest,
                "oldest_age": timesince(oldest, now) if oldest else "",
            }
        )
    return rows


# --- display helpers -----------------------------------------------------------------------
def highlight(text: str, pattern: re.Pattern | None) -> SafeString:
    """Escape `text` and wrap each match of `pattern` in <mark>. User text stays text."""
    if not text:
        return mark_safe("")
    if pattern is None:
        return escape(text)
    parts, last = [], 0
    for match in pattern.finditer(text):
        if match.start() == match.end():
            continue
        parts.append(escape(text[last : match.start()]))
        parts.append(format_html('<mark class="flagged">{}</mark>', match.group(0)))
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 (every piece escaped above)


def word_diff(old: str, new: str) -> SafeString:
    """The edit from `old` to `new`, word by word: removed words in <del>, added in <ins>."""
    a, b = re.split(r"(\s+)", old or ""), re.split(r"(\s+)", new or "")
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(format_html("<del>{}</del>", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(format_html("<ins>{}</ins>", "".join(b[j1:j2])))
    return mark_safe("".join(out))  # noqa: S308 (every piece escaped above)


def flag_badges(flags, labels: dict) -> SafeString:
    if not flags:
        return format_html('<span class="mod-noflags">{}</span>', gettext("none"))
    return format_html_join(
        " ", '<span class="mod-flag">{}</span>', ((labels.get(f, f),) for f in flags)
    )


# --- the queue ModelAdmin --------------------------------------------------------------------
class DecisionForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason (shown to the author)"), choices=())
    note = forms.CharField(
        label=_("Note to the author (optional)"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        required=False,
        max_length=2000,
    )

    def __init__(self, *args, reasons, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [("", gettext("Choose a reason")), *reasons]


class ModerationQueueAdmin(admin.ModelAdmin):
    """A read-only changelist of one queue, oldest first, whose actions call services.

    Subclasses set `age_field`, `reasons` (choices offered when a reason is needed), may
    rename the two decisions and say which needs a reason, and implement
    `decide(obj, *, moderator, decision, reason, note)` by calling their service.
    """

    age_field = "submitted_at"
    reasons: list = []
    approve_decision = "approve"
    reject_decision = "reject"
    approve_needs_reason = False
    reject_needs_reason = True
    approve_label = _("Approve selected")
    reject_label = _("Reject selected (asks for the reason)")
    actions = ["approve_selected", "reject_selected"]
    list_per_page = 50
    show_full_result_count = False

    def get_ordering(self, request):
        return [self.age_field, "pk"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # status changes only through the actions, i.e. the services

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return self.has_moderate_permission(request)

    def has_moderate_permission(self, request):
        return request.user.is_active and request.user.has_perm(MODERATE_PERMISSION)

    def decide(self, obj, *, moderator, decision, reason, note):
        raise NotImplementedError

    def _apply(self, request, queryset, *, decision, reason="", note=""):
        done, refused = 0, []
        for obj in queryset:
            try:
                self.decide(
                    obj, moderator=request.user, decision=decision, reason=reason, note=note
                )
            except (ValidationError, PermissionDenied) as error:
                text = " ".join(getattr(error, "messages", [str(error)]))
                refused.append(f"{obj}: {text}")
            else:
                done += 1
        if done:
            # The decision's code, as the log records it (e.g. "approve", "uphold").
            text = ngettext(
                "%(count)s decided (%(decision)s).", "%(count)s decided (%(decision)s).", done
            ) % {"count": done, "decision": decision}
            self.message_user(request, text, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    def _decide_action(self, request, queryset, *, action, decision, needs_reason, label):
        """Apply at once, or first ask for the reason (bulk included) when one is needed."""
        if not needs_reason:
            self._apply(request, queryset, decision=decision)
            return None
        form = DecisionForm(
            request.POST if "confirm" in request.POST else None, reasons=self.reasons
        )
        if form.is_bound and form.is_valid():
            self._apply(request, queryset, decision=decision, **form.cleaned_data)
            return None
        # The label up to its explanation in brackets, e.g. "Reject selected".
        short_label = str(label).split(" (")[0]
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("%(decision)s: give the reason") % {"decision": short_label},
            "objects": queryset,
            "form": form,
            "action": action,
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "opts": self.model._meta,
            "decision_label": short_label,
        }
        return TemplateResponse(request, "admin/moderation/decide.html", context)

    @admin.action(permissions=["moderate"], description=_("Approve selected"))
    def approve_selected(self, request, queryset):
        return self._decide_action(
            request,
            queryset,
            action="approve_selected",
            decision=self.approve_decision,
            needs_reason=self.approve_needs_reason,
            label=self.approve_label,
        )

    @admin.action(permissions=["moderate"], description=_("Reject selected"))
    def reject_selected(self, request, queryset):
        return self._decide_action(
            request,
            queryset,
            action="reject_selected",
            decision=self.reject_decision,
            needs_reason=self.reject_needs_reason,
            label=self.reject_label,
        )

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        for name, label in (
            ("approve_selected", self.approve_label),
            ("reject_selected", self.reject_label),
        ):
            if name in actions:
                actions[name] = dataclasses.replace(
                    actions[name], description=label, plural_description=label
                )
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("Waiting"))
    def waiting(self, obj):
        value = getattr(obj, self.age_field)
        return format_html(
            '<time datetime="{}">{}</time>', value.isoformat(), timesince(value, timezone.now())
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Look, never touch: audit trails and records that only services may change."""

    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
