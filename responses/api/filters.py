"""Filters for the tickets API (status, provider slug, overdue)."""

import django_filters
from django.db.models import Case, DateTimeField, F, Q, When
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from responses.models import Ticket, TicketStatus
from responses.transitions import OPEN_FOR_WORK

# Deadlines run while the business has the ticket (the business queue's definition: see
# responses.views.tickets._queue_tickets, which orders by the same next deadline).
DEADLINE_RUNNING = (*OPEN_FOR_WORK, TicketStatus.ESCALATED)


def next_due():
    running = Q(status__in=DEADLINE_RUNNING)
    return Case(
        When(
            running & Q(first_responded_at__isnull=True),
            then=Least("first_response_due", "resolution_due"),
        ),
        When(running, then=F("resolution_due")),
        default=None,
        output_field=DateTimeField(),
    )


class TicketFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TicketStatus.choices)
    provider = django_filters.CharFilter(field_name="provider__slug", label=_("Provider (slug)"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Past a deadline"))

    class Meta:
        model = Ticket
        fields = []

    def filter_overdue(self, queryset, name, value):
        queryset = queryset.annotate(next_due=next_due())
        late = Q(next_due__lt=timezone.now())
        return queryset.filter(late) if value else queryset.exclude(late)
