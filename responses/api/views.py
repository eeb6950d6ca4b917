"""The tickets and business API: every ticket comes from ticket_list_visible_to or
ticket_get_visible (anyone else's is a 404), and every change goes through the ticket and
invitation services."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.exceptions import ServiceValidationError
from portal.api.schema import E400, E401, E403, E404, E409, E429, WRITE_ERRORS
from portal.api.throttles import InvitationThrottle, TicketMessageThrottle
from responses.access import member_provider_get
from responses.api import serializers as s
from responses.api.filters import TicketFilter
from responses.models import ActorRole, Ticket
from responses.selectors import ticket_events_for, ticket_get_visible, ticket_list_visible_to
from responses.services.invitations import invitations_send
from responses.services.tickets import ticket_message, ticket_role_for, ticket_transition
from responses.transitions import moves_for

TICKET_READ_ERRORS = {401: E401, 404: E404, 429: E429}


@extend_schema_view(
    list=extend_schema(
        summary="Your complaints, or your businesses' tickets",
        responses={200: s.TicketSerializer(many=True), 400: E400, **TICKET_READ_ERRORS},
    ),
)
class TicketViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Ticket.objects.none()  # for the schema; get_queryset decides visibility
    lookup_value_regex = r"\d+"
    serializer_class = s.TicketSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = [DjangoFilterBackend]
    filterset_class = TicketFilter

    def get_queryset(self):
        return ticket_list_visible_to(user=self.request.user).order_by("-created_at", "-pk")

    def get_throttles(self):
        extra = [TicketMessageThrottle()] if self.action == "messages" else []
        return [*super().get_throttles(), *extra]

    def get_object(self):
        try:
            pk = int(self.kwargs["pk"])
        except (TypeError, ValueError):
            raise Http404 from None
        return ticket_get_visible(user=self.request.user, pk=pk)

    def _detail(self, ticket):
        role = ticket_role_for(self.request.user, ticket)
        if role not in (ActorRole.CUSTOMER, ActorRole.MEMBER):
            raise Http404
        context = {
            "role": role,
            "moves": moves_for(ticket, role),
            "events": ticket_events_for(ticket=ticket, role=role),
        }
        return s.TicketDetailSerializer(ticket, context=context).data

    @extend_schema(
        summary="A ticket with the events you may see",
        responses={200: s.TicketDetailSerializer, **TICKET_READ_ERRORS},
    )
    def retrieve(self, request, *args, **kwargs):
        return Response(self._detail(self.get_object()))

    @extend_schema(
        summary="Write to the other side (members may write internal notes)",
        request=s.MessageInput,
        responses={201: s.TicketEventSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def messages(self, request, pk=None):
        ticket = self.get_object()
        data = s.MessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        event = ticket_message(ticket=ticket, actor=request.user, **data.validated_data)
        return Response(
            s.TicketEventSerializer(event, context={"provider_name": ticket.provider.name}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Move the ticket (per the transition table)",
        request=s.TransitionInput,
        responses={200: s.TicketDetailSerializer, 409: E409, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Propose a resolution",
                request_only=True,
                value={"to": "resolved", "note": "We refunded the appointment fee."},
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        ticket = self.get_object()
        data = s.TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_transition(ticket=ticket, actor=request.user, **data.validated_data)
        return Response(self._detail(self.get_object()))


class InvitationsView(APIView):
    permission_classes = [IsAuthenticated]

    def get_throttles(self):
        return [*super().get_throttles(), InvitationThrottle()]

    @extend_schema(
        summary="Invite customers to review (owners and managers)",
        request=s.InvitationsInput,
        responses={201: s.InvitationsResult, 403: E403, **WRITE_ERRORS},
    )
    def post(self, request, slug):
        provider, _membership = member_provider_get(user=request.user, slug=slug)
        data = s.InvitationsInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            invitations = invitations_send(
                provider=provider, actor=request.user, emails=data.validated_data["emails"]
            )
        except DjangoValidationError as error:
            # The service lists every problem line by line; they are all about `emails`.
            raise ServiceValidationError(error, rename={"__all__": "emails"}) from error
        return Response(
            {
                "sent": len(invitations),
                "invitations": s.InvitationSerializer(invitations, many=True).data,
            },
            status=status.HTTP_201_CREATED,
        )
