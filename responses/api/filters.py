"""Filters for the tickets API (status, provider slug, overdue)."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.api.filters import StrictBooleanFilter, StrictParametersMixin
from responses.models import Ticket, TicketStatus
from responses.selectors import ticket_next_due


class TicketFilter(StrictParametersMixin, django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TicketStatus.choices)
    provider = django_filters.CharFilter(field_name="provider__slug", label=_("Provider (slug)"))
    overdue = StrictBooleanFilter(method="filter_overdue", label=_("Past a deadline"))

    class Meta:
        model = Ticket
        fields = []

    def filter_overdue(self, queryset, name, value):
        queryset = queryset.annotate(next_due=ticket_next_due())
        late = Q(next_due__lt=timezone.now())
        return queryset.filter(late) if value else queryset.exclude(late)
