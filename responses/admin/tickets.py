"""The staff side of complaint tickets: the escalated-tickets queue, where staff return a ticket
to the business, close it or write to both sides (always through responses.services.tickets,
with the staff member as the actor), and read-only views of every ticket with its full history
and of the event log itself, which nobody can change here."""

from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.contrib.admin import ActionLocation
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpResponseRedirect
from django.template.defaultfilters import linebreaksbr
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.moderation import ModerationQueueAdmin, Queue, ReadOnlyAdmin, register_queue
from responses.models import (
    OPEN_TICKET_STATUSES,
    ActorRole,
    EscalatedTicket,
    EventKind,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from responses.services.tickets import (
    MESSAGE_MAX,
    TransitionNotAllowed,
    ticket_message,
    ticket_transition,
)

QUEUE_URL_NAME = "admin:responses_escalatedticket_changelist"
# Acting from the ticket's own page (after reading its history) is the usual case; from the list
# for several at once, the less usual one. Django 6.1 offers the same actions in both places.
BOTH_PLACES = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]
CHANGE_FORM_ACTION_FIELD = f"{ActionLocation.CHANGE_FORM.value}-action"


# --- display helpers ---------------------------------------------------------------------------
# What a missed deadline was for: the codes BREACH events store, and how staff read them.
DEADLINES = {"first_response": _("first response"), "resolution": _("resolution")}


def _who(event: TicketEvent) -> str:
    role = ActorRole(event.actor_role).label if event.actor_role else ""
    if event.actor_id is None:
        return str(role)
    return gettext("%(name)s (%(role)s)") % {"name": event.actor.display_name, "role": role}


def _what(event: TicketEvent) -> str:
    label = str(EventKind(event.kind).label)
    if event.kind == EventKind.STATUS:
        frm, to = TicketStatus(event.from_status).label, TicketStatus(event.to_status).label
        return gettext("%(kind)s: %(from)s → %(to)s") % {"kind": label, "from": frm, "to": to}
    if event.kind == EventKind.BREACH and event.subject:
        return gettext("%(kind)s (%(deadline)s)") % {
            "kind": label,
            "deadline": DEADLINES.get(event.subject, event.subject),
        }
    return label


def _seen_by(event: TicketEvent):
    if event.internal:
        # The one thing a moderator must never repeat to the customer: mark it loudly.
        return format_html('<strong class="ticket-internal">{}</strong>', gettext("Internal"))
    return gettext("Customer and business")


def ticket_history(ticket: Ticket):
    """The ticket's whole history in order, internal notes included and marked (one query)."""
    events = ticket.events.select_related("actor").order_by("created_at", "pk")
    rows = format_html_join(
        "\n",
        '<tr><td><time datetime="{}">{}</time></td><td>{}</td><td>{}</td><td>{}</td>'
        "<td>{}</td></tr>",
        (
            (
                event.created_at.isoformat(),
                date_format(timezone.localtime(event.created_at), "SHORT_DATETIME_FORMAT"),
                _who(event),
                _what(event),
                _seen_by(event),
                linebreaksbr(event.body, autoescape=True),
            )
            for event in events
        ),
    )
    if not rows:
        return gettext("No events.")
    return format_html(
        '<table class="ticket-history"><caption class="visually-hidden">{}</caption>'
        '<thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th>'
        '<th scope="col">{}</th><th scope="col">{}</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        gettext("Everything that happened to this ticket, oldest first"),
        gettext("When"),
        gettext("Who"),
        gettext("What"),
        gettext("Seen by"),
        gettext("Text"),
        rows,
    )


TICKET_FIELDSETS = [
    (
        _("Complaint"),
        {"fields": ["provider", "customer", "review", "source", "subject", "status", "assignee"]},
    ),
    (
        _("Deadlines and outcome"),
        {
            "fields": [
                "created_at",
                "first_response_due",
                "first_responded_at",
                "resolution_due",
                "resolved_at",
                "resolution_summary",
                "resolution_rejected_at",
                "escalated_at",
                "closed_at",
                "confirmed_by_customer",
                "put_right",
                "change_made",
                "change_made_at",
            ]
        },
    ),
    (
        _("Deadline watch (check_sla)"),
        {
            "fields": ["holding_sent_at", "first_response_breached_at", "resolution_breached_at"],
            "classes": ["collapse"],
        },
    ),
    (_("History (internal notes included)"), {"fields": ["history"]}),
]
TICKET_READONLY = [f.name for f in Ticket._meta.fields if f.name != "id"] + ["history"]


class TicketDisplayMixin:
    fieldsets = TICKET_FIELDSETS
    readonly_fields = TICKET_READONLY

    @admin.display(description=_("History"))
    def history(self, obj):
        return ticket_history(obj)

    @admin.display(description=_("Customer"), ordering="customer__display_name")
    def customer_name(self, obj):
        return obj.customer.display_name if obj.customer_id else gettext("(account deleted)")


# --- the escalated-tickets queue ---------------------------------------------------------------
@dataclass(frozen=True)
class StaffStep:
    """One thing staff can do to an escalated ticket, and how the page asks for its text."""

    decision: str
    title: str
    field_label: str
    required: bool
    explanation: str
    leaves_queue: bool


RETURN = StaffStep(
    decision="return",
    title=_("Return to the business"),
    field_label=_("Note to the customer and the business (optional)"),
    required=False,
    explanation=_(
        "The ticket goes back to “In progress” for the business to finish; both sides "
        "are told, with your note."
    ),
    leaves_queue=True,
)
CLOSE = StaffStep(
    decision="close",
    title=_("Close the ticket"),
    field_label=_("Why it is closed (sent to the customer and the business)"),
    required=True,
    explanation=_(
        "The ticket is closed for good. Your note is recorded on the ticket with your "
        "name and sent to both sides."
    ),
    leaves_queue=True,
)
MESSAGE = StaffStep(
    decision="message",
    title=_("Send a message to both sides"),
    field_label=_("Message (the customer and the business both see it)"),
    required=True,
    explanation=_(
        "The message is added to the conversation with your name as Heard staff and "
        "emailed to the customer and the business. The ticket stays escalated."
    ),
    leaves_queue=False,
)


class StaffTextForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 70}), max_length=MESSAGE_MAX
    )

    def __init__(self, *args, step: StaffStep, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].label = step.field_label
        self.fields["text"].required = step.required


ESCALATED_BY = {
    ActorRole.CUSTOMER: _("By the customer"),
    ActorRole.SYSTEM: _("Automatic (deadline watch)"),
    ActorRole.STAFF: _("By Heard staff"),
}


def _last_status_event(field: str):
    events = TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=EventKind.STATUS)
    return Subquery(events.order_by("-created_at", "-pk").values(field)[:1])


@admin.register(EscalatedTicket)
class EscalatedTicketAdmin(TicketDisplayMixin, ModerationQueueAdmin):
    age_field = "escalated_at"
    actions = ["return_selected", "close_selected", "message_selected"]
    list_display = [
        "waiting",
        "provider",
        "customer_name",
        "subject",
        "why_escalated",
        "history_link",
    ]
    list_display_links = None
    search_fields = ["subject", "provider__name", "customer__display_name", "customer__email"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status=TicketStatus.ESCALATED)
            .select_related("provider", "customer")
            .annotate(_why=_last_status_event("body"), _why_role=_last_status_event("actor_role"))
        )

    @admin.display(description=_("Why escalated"))
    def why_escalated(self, obj):
        who = ESCALATED_BY.get(obj._why_role, _("Escalated"))
        if obj._why:
            return format_html(
                '<strong>{}</strong><div class="mod-excerpt">{}</div>', who, obj._why
            )
        # A customer's "Ask Heard to step in" button sends no note; say what allowed it.
        if obj.resolution_rejected_at:
            reason = gettext("The customer said the proposed resolution did not resolve things.")
        elif obj.first_responded_at is None:
            reason = gettext("The business had not answered by its first-response deadline.")
        else:
            reason = gettext("A deadline had passed.")
        return format_html("<strong>{}</strong><div>{}</div>", who, reason)

    @admin.display(description=_("History"))
    def history_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:responses_escalatedticket_change", args=[obj.pk]),
            gettext("Full history and actions"),
        )

    def decide(self, obj, *, moderator, decision, reason, note):
        try:
            if decision == RETURN.decision:
                ticket_transition(
                    ticket=obj, to=TicketStatus.IN_PROGRESS, actor=moderator, note=note
                )
            elif decision == CLOSE.decision:
                ticket_transition(ticket=obj, to=TicketStatus.CLOSED, actor=moderator, note=note)
            elif decision == MESSAGE.decision:
                ticket_message(ticket=obj, actor=moderator, body=note)
            else:
                raise ValueError(f"unknown decision {decision!r}")
        except TransitionNotAllowed as error:
            # e.g. another moderator got there first: the base class reports it per ticket.
            raise ValidationError(str(error)) from error

    def _staff_step(self, request, queryset, *, action: str, step: StaffStep):
        """Ask for the text first (each step has some), then apply it ticket by ticket."""
        on_change_form = CHANGE_FORM_ACTION_FIELD in request.POST
        form = StaffTextForm(request.POST if "confirm" in request.POST else None, step=step)
        if form.is_bound and form.is_valid():
            self._apply(request, queryset, decision=step.decision, note=form.cleaned_data["text"])
            if on_change_form and step.leaves_queue:
                # The ticket has left the queue, so its page here would now be a "not found".
                return HttpResponseRedirect(reverse(QUEUE_URL_NAME))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": step.title,
            "step": step,
            "objects": queryset,
            "form": form,
            "action": action,
            "action_field": CHANGE_FORM_ACTION_FIELD if on_change_form else "action",
            "checkbox_name": ACTION_CHECKBOX_NAME,
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "opts": self.model._meta,
            "cancel_url": request.get_full_path(),
        }
        return TemplateResponse(request, "admin/responses/ticket_action.html", context)

    @admin.action(permissions=["moderate"], description=RETURN.title, location=BOTH_PLACES)
    def return_selected(self, request, queryset):
        return self._staff_step(request, queryset, action="return_selected", step=RETURN)

    @admin.action(permissions=["moderate"], description=CLOSE.title, location=BOTH_PLACES)
    def close_selected(self, request, queryset):
        return self._staff_step(request, queryset, action="close_selected", step=CLOSE)

    @admin.action(permissions=["moderate"], description=MESSAGE.title, location=BOTH_PLACES)
    def message_selected(self, request, queryset):
        return self._staff_step(request, queryset, action="message_selected", step=MESSAGE)


register_queue(
    Queue(
        label=_("Escalated tickets"),
        admin_url_name=QUEUE_URL_NAME,
        queryset=lambda: Ticket.objects.filter(status="escalated"),
        age_field="escalated_at",
        position=50,
    )
)


# --- every ticket, and the event log: read-only ----------------------------------------------
class DeadlineFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "late"

    def lookups(self, request, model_admin):
        return [
            ("first_response", gettext("First response late")),
            ("resolution", gettext("Resolution late")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "first_response":
            return queryset.filter(
                status__in=OPEN_TICKET_STATUSES,
                first_responded_at__isnull=True,
                first_response_due__lt=now,
            )
        if self.value() == "resolution":
            return queryset.filter(
                Q(status__in=OPEN_TICKET_STATUSES) & ~Q(status=TicketStatus.RESOLVED),
                resolution_due__lt=now,
            )
        return queryset


@admin.register(Ticket)
class TicketAdmin(TicketDisplayMixin, ReadOnlyAdmin):
    """Every ticket, for look-ups; its page shows the full history. Changes happen only through
    the escalated queue's actions or the customer's and business's own pages."""

    list_display = [
        "pk",
        "subject",
        "provider",
        "customer_name",
        "status",
        "source",
        "created_at",
        "first_responded_at",
        "escalated_at",
    ]
    list_display_links = ["pk", "subject"]
    # A date filter of fixed periods rather than a date hierarchy, whose list of years is a
    # sort of every ticket.
    list_filter = [
        "status",
        "source",
        DeadlineFilter,
        "confirmed_by_customer",
        "put_right",
        "created_at",
    ]
    search_fields = [
        "subject",
        "provider__name",
        "customer__email",
        "customer__display_name",
    ]
    list_select_related = ["provider", "customer"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_ordering(self, request):
        return ["-created_at", "-pk"]  # ticket_newest_idx


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    """The append-only log of everything that happened to tickets: nobody adds, changes or
    deletes a row here, superusers included (ReadOnlyAdmin refuses all three outright)."""

    list_display = [
        "created_at",
        "ticket",
        "kind",
        "actor_role",
        "actor",
        "from_status",
        "to_status",
        "internal",
        "excerpt",
    ]
    list_filter = ["kind", "actor_role", "internal", "created_at"]
    search_fields = ["ticket__subject", "ticket__provider__name", "body", "actor__email"]
    list_select_related = ["ticket", "actor"]
    readonly_fields = [f.name for f in TicketEvent._meta.fields]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_ordering(self, request):
        return ["-created_at", "-pk"]  # ticket_event_newest_idx

    @admin.display(description=_("Text"))
    def excerpt(self, obj):
        return obj.body[:120] + ("…" if len(obj.body) > 120 else "")
