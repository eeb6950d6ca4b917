"""What the tickets and business API shows and accepts. A customer never gets internal notes
(ticket_events_for leaves them out); nobody gets another person's email address."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from responses.models import ActorRole, Ticket, TicketEvent, TicketStatus


class TicketSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    provider_name = serializers.CharField(source="provider.name", read_only=True)
    customer_name = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "provider",
            "provider_name",
            "customer_name",
            "review",
            "source",
            "subject",
            "status",
            "status_label",
            "created_at",
            "first_response_due",
            "resolution_due",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "escalated_at",
            "resolution_summary",
            "change_made",
        ]
        read_only_fields = fields

    def get_customer_name(self, ticket) -> str:
        return ticket.customer.display_name if ticket.customer_id else _("Former member")


@extend_schema_field(serializers.ChoiceField(choices=TicketStatus.choices, allow_blank=True))
class StatusOrBlankField(serializers.CharField):
    """A ticket status, or "" where an event did not move the ticket (a message, a note)."""


class TicketEventSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    person = serializers.SerializerMethodField()
    from_status = StatusOrBlankField(read_only=True)
    to_status = StatusOrBlankField(read_only=True)

    class Meta:
        model = TicketEvent
        fields = [
            "id",
            "kind",
            "actor_role",
            "author",
            "person",
            "from_status",
            "to_status",
            "body",
            "internal",
            "created_at",
        ]
        read_only_fields = fields

    def get_author(self, event) -> str:
        """Who speaks, as the ticket page names them: the business, the customer, Heard staff
        or the site itself (automatic messages never pass for a person)."""
        if event.actor_role == ActorRole.MEMBER:
            return self.context["provider_name"]
        return event.get_actor_role_display()

    def get_person(self, event) -> str:
        if event.actor_role in (ActorRole.CUSTOMER, ActorRole.MEMBER) and event.actor is not None:
            return event.actor.display_name
        return ""


class MoveSerializer(serializers.Serializer):
    to = serializers.CharField()
    label = serializers.CharField()
    needs_note = serializers.BooleanField()


class TicketDetailSerializer(TicketSerializer):
    role = serializers.SerializerMethodField()
    moves = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "role", "moves", "events"]
        read_only_fields = fields

    def get_role(self, ticket) -> str:
        return self.context["role"]

    @extend_schema_field(MoveSerializer(many=True))
    def get_moves(self, ticket) -> list:
        return [
            {"to": to, "label": str(move.label), "needs_note": move.needs_note}
            for to, move in self.context["moves"]
        ]

    @extend_schema_field(TicketEventSerializer(many=True))
    def get_events(self, ticket) -> list:
        return TicketEventSerializer(
            self.context["events"], many=True, context={"provider_name": ticket.provider.name}
        ).data


class MessageInput(serializers.Serializer):
    body = serializers.CharField(max_length=5000)
    internal = serializers.BooleanField(required=False, default=False)


class TransitionInput(serializers.Serializer):
    to = serializers.ChoiceField(choices=TicketStatus.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class InvitationsInput(serializers.Serializer):
    emails = serializers.ListField(child=serializers.CharField(allow_blank=True), min_length=1)


class InvitationSerializer(serializers.Serializer):
    email = serializers.EmailField()
    expires_at = serializers.DateTimeField()


class InvitationsResult(serializers.Serializer):
    sent = serializers.IntegerField()
    invitations = InvitationSerializer(many=True)
