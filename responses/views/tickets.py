"""Complaint tickets on the site: the ticket page (customer and business), the business's queue,
the customer's own list and the private complaint form.

Every ticket is found through `ticket_list_visible_to` or `ticket_get_visible`, so anyone else's
ticket is a 404, and every change goes through responses.services.tickets, which decides who may
do what: a refusal there is a 403 (not yours to do), a clear message (not allowed now) or a form
error."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from accounts.models import User
from portal.ratelimits import rate_limited_form, with_retry_after
from responses.access import member_provider_get, membership_get
from responses.forms_team import ServiceErrorsMixin
from responses.models import ActorRole, EventKind, PutRight, TicketStatus
from responses.selectors import (
    DEADLINE_RUNNING,
    ticket_events_for,
    ticket_get_visible,
    ticket_list_visible_to,
    ticket_next_due,
)
from responses.services.tickets import (
    MESSAGE_MAX,
    TransitionNotAllowed,
    complaint_submit,
    ticket_answer_put_right,
    ticket_assign,
    ticket_message,
    ticket_record_change,
    ticket_role_for,
    ticket_transition,
)
from responses.transitions import moves_for
from reviews.models import ReviewStatus
from reviews.selectors import provider_get_public

PER_PAGE = 20
# Writing to the other side (or the team's notes) is what a script would repeat.
RATE_LIMITED_ACTIONS = ("message", "note")
REVIEW_EDITABLE = (ReviewStatus.PENDING, ReviewStatus.PUBLISHED, ReviewStatus.REJECTED)


# --- forms (a valid form hands its data to a service; the service has the last word) -------
class _TextForm(ServiceErrorsMixin, forms.Form):
    """One text box whose label and hint depend on who writes (customer or business)."""

    def __init__(self, *args, label=None, help_text="", required=None, **kwargs):
        super().__init__(*args, **kwargs)
        (field,) = self.fields.values()
        field.label = label or field.label
        field.help_text = help_text
        if required is not None:
            # Say so on the form when the service will insist (a resolution needs a summary).
            field.required = required
            field.error_messages["required"] = gettext_lazy("Say what was done to resolve it.")


class MessageForm(_TextForm):
    body = forms.CharField(
        label=gettext_lazy("Your message"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=MESSAGE_MAX,
        error_messages={"required": gettext_lazy("Write your message.")},
    )


class MoveForm(_TextForm):
    """The note that goes with a move; the move itself is the button pressed (`to`)."""

    note = forms.CharField(
        label=gettext_lazy("Add a note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MESSAGE_MAX,
        required=False,
    )


class AssignForm(ServiceErrorsMixin, forms.Form):
    assignee = forms.ModelChoiceField(
        label=gettext_lazy("Assigned to"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Nobody yet"),
    )

    def __init__(self, *args, ticket, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(
            memberships__provider_id=ticket.provider_id
        ).order_by("display_name", "pk")


class ChangeForm(ServiceErrorsMixin, forms.Form):
    change_made = forms.CharField(
        label=gettext_lazy("What did you change because of this complaint?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MESSAGE_MAX,
        help_text=gettext_lazy(
            "Shown publicly on the review and on your page under “You said, we did”. Describe "
            "the change, not the complaint: no names, personal or medical details."
        ),
        error_messages={"required": gettext_lazy("Say what you changed.")},
    )


class PutRightForm(ServiceErrorsMixin, forms.Form):
    answer = forms.ChoiceField(
        label=gettext_lazy("Was this put right?"),
        choices=PutRight.choices,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Answer yes, partly or no.")},
    )


class ComplaintForm(ServiceErrorsMixin, forms.Form):
    subject = forms.CharField(
        label=gettext_lazy("Subject"),
        max_length=160,
        help_text=gettext_lazy("A few words, for example “Prescription not ready twice”."),
        error_messages={"required": gettext_lazy("Give your complaint a short title.")},
    )
    message = forms.CharField(
        label=gettext_lazy("Your complaint"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=MESSAGE_MAX,
        help_text=gettext_lazy(
            "What happened, and what would put it right? Up to 5,000 characters."
        ),
        error_messages={"required": gettext_lazy("Write your complaint.")},
    )


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[
            ("", gettext_lazy("Open (not closed)")),
            *TicketStatus.choices,
            ("all", gettext_lazy("Any status")),
        ],
    )
    overdue = forms.BooleanField(label=gettext_lazy("Only overdue"), required=False)
    mine = forms.BooleanField(label=gettext_lazy("Only assigned to me"), required=False)


# --- the ticket page ---------------------------------------------------------------------------
def _page_forms(ticket, role, provider_name: str) -> dict:
    """Builders for each form the page can show, by the `action` that posts it."""
    if role == ActorRole.CUSTOMER:
        message_label = _("Your message to %(name)s") % {"name": provider_name}
        message_help = _("Only %(name)s sees this.") % {"name": provider_name}
        move_help = _("Optional. %(name)s sees it.") % {"name": provider_name}
    else:
        message_label = _("Your message to the customer")
        message_help = _("The customer sees this and gets it by email.")
        move_help = _("Optional. The customer sees it.")
    return {
        "message": lambda data: MessageForm(
            data, prefix="message", label=message_label, help_text=message_help
        ),
        "note": lambda data: MessageForm(
            data,
            prefix="note",
            label=_("Internal note"),
            help_text=_("Only your team sees this, never the customer."),
        ),
        "move": lambda data: MoveForm(data, prefix="move", help_text=move_help),
        "resolve": lambda data: MoveForm(
            data,
            prefix="resolve",
            label=_("Summary of the resolution"),
            help_text=_("What you did to put it right. The customer is asked to confirm it."),
            required=True,
        ),
        "assign": lambda data: AssignForm(
            data, prefix="assign", ticket=ticket, initial={"assignee": ticket.assignee_id}
        ),
        "change": lambda data: ChangeForm(
            data, prefix="change", initial={"change_made": ticket.change_made}
        ),
        "put_right": lambda data: PutRightForm(data, prefix="put_right"),
    }


def _apply(action: str, form, ticket, request) -> str:
    """Hand a valid form to its service; return what to tell the user."""
    user, data = request.user, form.cleaned_data
    if action in ("move", "resolve"):
        to = request.POST.get("to", "")
        ticket = ticket_transition(ticket=ticket, to=to, actor=user, note=data["note"])
        return _("Done: the ticket is now “%(status)s”.") % {"status": ticket.get_status_display()}
    if action == "message":
        ticket_message(ticket=ticket, actor=user, body=data["body"])
        return _("Message sent.")
    if action == "note":
        ticket_message(ticket=ticket, actor=user, body=data["body"], internal=True)
        return _("Internal note added. Only your team can see it.")
    if action == "assign":
        ticket_assign(ticket=ticket, actor=user, assignee=data["assignee"])
        return _("Assignment saved.")
    if action == "change":
        ticket_record_change(ticket=ticket, actor=user, text=data["change_made"])
        return _("Change recorded. It is shown publicly with the review.")
    ticket_answer_put_right(ticket=ticket, actor=user, answer=data["answer"])
    return _("Thank you for answering.")


@never_cache
@login_required
def ticket_detail(request, pk):
    ticket = ticket_get_visible(user=request.user, pk=pk)
    role = ticket_role_for(request.user, ticket)
    if role not in (ActorRole.CUSTOMER, ActorRole.MEMBER):
        raise Http404("Not a ticket you take part in.")
    builders = _page_forms(ticket, role, ticket.provider.name)
    posted, refusal, wait = {}, "", 0
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in builders:
            return HttpResponseBadRequest(_("Unknown action."))
        form = posted[action] = builders[action](request.POST)
        if action in RATE_LIMITED_ACTIONS:
            wait = rate_limited_form(request, form, "ticket_message")
        if form.is_valid():
            try:
                done = _apply(action, form, ticket, request)
            except TransitionNotAllowed as error:
                refusal = str(error)
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    form.add_service_error(error)
                else:  # about the ticket's state ("closed", "already answered"), not the input
                    refusal = " ".join(error.messages)
            else:
                messages.success(request, done)
                return redirect("responses:ticket_detail", pk=ticket.pk)
        # The page shows the ticket as it is now, whatever the refused form assumed.
        ticket = ticket_get_visible(user=request.user, pk=pk)
    forms_ = {
        name: posted[name] if name in posted else build(None) for name, build in builders.items()
    }
    context = _ticket_context(request, ticket, role, forms_, refusal)
    response = render(
        request, "responses/ticket_detail.html", context, status=409 if refusal else 200
    )
    return with_retry_after(response, wait) if wait else response


def _ticket_context(request, ticket, role, forms_, refusal) -> dict:
    now = timezone.now()
    is_member = role == ActorRole.MEMBER
    moves = moves_for(ticket, role, now)
    closed = ticket.status == TicketStatus.CLOSED
    review = ticket.review
    return {
        "ticket": ticket,
        "role": role,
        "is_member": is_member,
        # The business sees the page inside its dashboard, the customer in the site's layout.
        "layout": "responses/dashboard_base.html" if is_member else "base.html",
        "provider": ticket.provider,
        "membership": membership_get(user=request.user, provider=ticket.provider)
        if is_member
        else None,
        "active_tab": "tickets",
        "forms": forms_,
        "refusal": refusal,
        "plain_moves": [(to, move) for to, move in moves if not move.needs_note],
        "note_moves": [(to, move) for to, move in moves if move.needs_note],
        "events": [_event_row(e, ticket) for e in ticket_events_for(ticket=ticket, role=role)],
        "deadlines": _deadlines(ticket, now),
        "can_write": not closed,
        "ask_put_right": role == ActorRole.CUSTOMER and closed and not ticket.put_right,
        "put_right_label": PutRight(ticket.put_right).label if ticket.put_right else "",
        "review_edit": role == ActorRole.CUSTOMER
        and closed
        and review is not None
        and review.status in REVIEW_EDITABLE,
    }


def _event_row(event, ticket) -> dict:
    """Who wrote it, as the page names them: the customer, the business, Heard staff or the
    site itself (automatic messages must never pass for a person)."""
    if event.actor_role == ActorRole.MEMBER:
        author = ticket.provider.name
    else:
        author = event.get_actor_role_display()
    person = ""
    if event.actor_role in (ActorRole.CUSTOMER, ActorRole.MEMBER) and event.actor is not None:
        person = event.actor.display_name
    answer = ""
    if event.kind == EventKind.PUT_RIGHT and event.body in PutRight.values:
        answer = PutRight(event.body).label
    return {
        "event": event,
        "author": author,
        "person": person,
        "automatic": event.actor_role == ActorRole.SYSTEM,
        "answer": answer,
    }


def _deadline(label, *, due, done_at, running: bool, now) -> dict:
    """One deadline in plain words: met, missed (late or still waiting), due, or not needed."""
    if done_at is not None:
        state = "met" if done_at <= due else "late"
    elif now > due:
        state = "missed" if running else "passed"
    else:
        state = "due" if running else "stopped"
    return {"label": label, "due": due, "done_at": done_at, "state": state}


def _deadlines(ticket, now) -> list[dict]:
    resolved = ticket.resolved_at if ticket.status == TicketStatus.RESOLVED else None
    if ticket.status == TicketStatus.CLOSED:
        resolved = ticket.resolved_at or ticket.closed_at
    running = ticket.status in DEADLINE_RUNNING
    return [
        _deadline(
            _("First response"),
            due=ticket.first_response_due,
            done_at=ticket.first_responded_at,
            running=running,
            now=now,
        ),
        _deadline(
            _("Resolution"), due=ticket.resolution_due, done_at=resolved, running=running, now=now
        ),
    ]


# --- lists -------------------------------------------------------------------------------------
def _queue_tickets(*, provider, user, status: str, overdue: bool, mine: bool, now):
    """The provider's tickets, nearest running deadline first; those with none running (waiting
    for the customer, or closed) come last, newest first."""
    tickets = (
        ticket_list_visible_to(user=user)
        .filter(provider=provider)
        .annotate(next_due=ticket_next_due())
    )
    if status == "":
        tickets = tickets.exclude(status=TicketStatus.CLOSED)
    elif status != "all":
        tickets = tickets.filter(status=status)
    if overdue:
        tickets = tickets.filter(next_due__lt=now)
    if mine:
        tickets = tickets.filter(assignee=user)
    return tickets.order_by(F("next_due").asc(nulls_last=True), "-created_at", "-pk")


@never_cache
@login_required
def ticket_queue(request, slug):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    filters = QueueFilterForm(request.GET)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    now = timezone.now()
    tickets = _queue_tickets(
        provider=provider,
        user=request.user,
        status=chosen.get("status", ""),
        overdue=chosen.get("overdue", False),
        mine=chosen.get("mine", False),
        now=now,
    )
    page = Paginator(tickets, PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "ticket": t,
            "overdue": t.next_due is not None and t.next_due < now,
            "which": _("First response")
            if t.first_responded_at is None and t.next_due == t.first_response_due
            else _("Resolution"),
        }
        for t in page.object_list
    ]
    context = {
        "provider": provider,
        "membership": membership,
        "active_tab": "tickets",
        "filters": filters,
        "page": page,
        "rows": rows,
    }
    return render(request, "responses/ticket_queue.html", context)


@never_cache
@login_required
def my_tickets(request):
    tickets = (
        ticket_list_visible_to(user=request.user)
        .filter(customer=request.user)
        .order_by("-created_at", "-pk")
    )
    page = Paginator(tickets, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "responses/my_tickets.html", {"page": page})


@login_required
def complaint_create(request, slug):
    provider = provider_get_public(slug=slug)
    form = ComplaintForm(request.POST or None)
    wait = rate_limited_form(request, form, "complaint")
    if request.method == "POST" and form.is_valid():
        try:
            ticket = complaint_submit(provider=provider, customer=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                _("Your complaint has been sent privately to %(name)s. It is not published.")
                % {"name": provider.name},
            )
            return redirect("responses:ticket_detail", pk=ticket.pk)
    response = render(
        request, "responses/complaint_form.html", {"provider": provider, "form": form}
    )
    return with_retry_after(response, wait) if wait else response
