"""The reviews API: thin views over reviews.selectors (what is visible) and reviews.services
(every write). Refusals come back as exceptions that portal.api.exceptions turns into HTTP."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from portal.api.exceptions import ServiceValidationError
from portal.api.schema import E400, E401, E429, LIST_ERRORS, READ_ERRORS, WRITE_ERRORS
from portal.api.throttles import (
    ReportThrottle,
    ReviewSubmitIPThrottle,
    ReviewSubmitUserThrottle,
    VoteThrottle,
)
from responses.models import Reply, ReplyStatus
from responses.services.replies import reply_revise, reply_submit
from reviews import selectors, services
from reviews.api import serializers as s
from reviews.api.filters import ProviderApiFilter, ProviderReviewFilter
from reviews.models import Provider, Review, ReviewRevision
from reviews.pagecache import provider_and_version
from reviews.services.content import invitation_get_usable

# The services name the visit's field after the model; the API calls it visit_date.
FIELD_NAMES = {"visit_month": "visit_date"}


@extend_schema_view(
    list=extend_schema(
        summary="Categories of provider",
        responses={200: s.CategorySerializer(many=True), **LIST_ERRORS},
    )
)
class CategoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.CategorySerializer
    queryset = selectors.category_list()
    filter_backends = []


@extend_schema_view(
    list=extend_schema(
        summary="Search the directory",
        responses={200: s.ProviderSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One provider with its figures",
        responses={200: s.ProviderDetailSerializer, **READ_ERRORS},
    ),
)
class ProviderViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_field = "slug"
    serializer_class = s.ProviderSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProviderApiFilter

    def get_queryset(self):
        # The filter (ProviderApiFilter → provider_search) makes the list; this names the
        # model for the schema and the filter backend.
        return Provider.objects.active()

    def get_object(self):
        return selectors.provider_get_public(slug=self.kwargs["slug"])

    def retrieve(self, request, *args, **kwargs):
        provider, version = provider_and_version(self.kwargs["slug"], self.get_object)
        parts = selectors.provider_page_parts(provider=provider, version=version)
        responsiveness = parts["responsiveness"]
        context = {"response": responsiveness.response_figures(), "responsiveness": responsiveness}
        return Response(s.ProviderDetailSerializer(provider, context=context).data)


@extend_schema(
    summary="A provider's published reviews",
    responses={200: s.ReviewSerializer(many=True), **READ_ERRORS, 400: E400},
)
class ProviderReviewList(generics.ListAPIView):
    queryset = Review.objects.none()  # for the schema; the real one needs the provider
    serializer_class = s.ReviewSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProviderReviewFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        provider = self.provider = selectors.provider_get_public(slug=self.kwargs["slug"])
        # Each row names its provider: joined here rather than fetched row by row.
        return selectors.review_list_public(provider=provider).select_related("provider")

    def known_count(self, queryset) -> int | None:
        """The provider's stored figures say how many published reviews it has, in all and
        by rating; only the reply filter needs counting (within this provider)."""
        params = self.request.query_params
        if "has_reply" in params:
            return None
        rating = params.get("rating")
        if rating:
            return self.provider.rating_distribution[rating]  # validated by the filter
        return self.provider.review_count


def _review_values(review, data: dict) -> dict:
    """The review's content with the caller's changes applied (an edit may send only some)."""
    visit = data.get("visit_date", review.visit_month)
    return {
        "rating": data.get("rating", review.rating),
        "title": data.get("title", review.title),
        "body": data.get("body", review.body),
        "visit_month": visit,
        "aspects": data.get("aspects", review.aspects),
        "would_recommend": data.get("would_recommend", review.would_recommend),
    }


REVIEW_EXAMPLE = OpenApiExample(
    "A review",
    request_only=True,
    value={
        "provider": "riverside-dental",
        "rating": 2,
        "title": "Long wait, kind staff",
        "body": "I waited ninety minutes past my appointment time, but the hygienist was kind.",
        "visit_date": "2026-03-14",
        "wants_resolution": True,
    },
)


class ReviewViewSet(
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Review.objects.none()  # for the schema; get_object uses review_get_visible
    lookup_value_regex = r"\d+"
    serializer_class = s.ReviewSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]
    filter_backends = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_object(self):
        try:
            pk = int(self.kwargs["pk"])
        except (TypeError, ValueError):
            raise Http404 from None
        return selectors.review_get_visible(pk=pk, user=self.request.user)

    def get_throttles(self):
        extra = {
            "create": [ReviewSubmitUserThrottle(), ReviewSubmitIPThrottle()],
            "helpful": [VoteThrottle()],
            "reports": [ReportThrottle()],
        }.get(self.action, [])
        return [*super().get_throttles(), *extra]

    @extend_schema(
        summary="One review, with its reply and complaint outcome",
        responses={200: s.ReviewSerializer, **READ_ERRORS},
    )
    def retrieve(self, request, *args, **kwargs):
        return Response(s.ReviewSerializer(self.get_object()).data)

    @extend_schema(
        summary="Write a review (it waits for moderation)",
        request=s.ReviewInput,
        responses={201: s.ReviewSerializer, 400: E400, 401: E401, 429: E429},
        examples=[REVIEW_EXAMPLE],
    )
    def create(self, request):
        data = s.ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        provider = _provider_or_400(values.pop("provider"))
        token = values.pop("invitation_token", "")
        invitation = None
        try:
            if token:
                invitation = invitation_get_usable(token=token, provider=provider)
        except DjangoValidationError as error:
            raise ServiceValidationError(error, rename={"__all__": "invitation_token"}) from error
        try:
            review = services.review_submit(
                author=request.user,
                provider=provider,
                visit_month=values.pop("visit_date"),
                invitation=invitation,
                **values,
            )
        except DjangoValidationError as error:
            raise ServiceValidationError(error, rename=FIELD_NAMES) from error
        return Response(s.ReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Edit your review (a published one gets an edit that waits for moderation)",
        request=s.ReviewPatchInput,
        responses={200: s.ReviewEditResult, **WRITE_ERRORS},
    )
    def partial_update(self, request, *args, **kwargs):
        review = self.get_object()
        data = s.ReviewPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = services.review_revise(
                review=review, author=request.user, **_review_values(review, data.validated_data)
            )
        except DjangoValidationError as error:
            raise ServiceValidationError(error, rename=FIELD_NAMES) from error
        pending = None
        if isinstance(result, ReviewRevision):
            pending = {
                "status": result.status,
                "rating": result.rating,
                "title": result.title,
                "body": result.body,
                "visit_month": result.visit_month.isoformat(),
                "submitted_at": serializers.DateTimeField().to_representation(result.submitted_at),
            }
        review = selectors.review_get_visible(pk=review.pk, user=request.user)
        return Response({"review": s.ReviewSerializer(review).data, "pending_edit": pending})

    @extend_schema(summary="Withdraw your review", responses={204: None, **WRITE_ERRORS})
    def destroy(self, request, *args, **kwargs):
        services.review_withdraw(review=self.get_object(), author=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Mark helpful (POST) or take the mark back (DELETE)",
        request=None,
        responses={200: s.HelpfulResult, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post", "delete"], permission_classes=[IsAuthenticated])
    def helpful(self, request, pk=None):
        review = self.get_object()
        if request.method == "POST":
            review = services.review_vote_helpful(review=review, user=request.user)
        else:
            review = services.review_unvote_helpful(review=review, user=request.user)
        voted = bool(selectors.helpful_review_ids(user=request.user, reviews=[review]))
        return Response({"helpful_count": review.helpful_count, "voted": voted})

    @extend_schema(
        summary="Report a review to the moderators",
        request=s.ReportInput,
        responses={201: s.ReportResult, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def reports(self, request, pk=None):
        review = self.get_object()
        data = s.ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.review_report(review=review, reporter=request.user, **data.validated_data)
        return Response(
            {"id": report.pk, "reason": report.reason, "status": report.status},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Reply for the business (it waits for moderation)",
        request=s.ReplyInput,
        responses={201: s.ReplyResult, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def reply(self, request, pk=None):
        review = self.get_object()
        data = s.ReplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data["body"]
        existing = Reply.objects.filter(review=review).first()
        # A reply with the moderators or in public is edited; any other is (re)submitted.
        if existing is not None and existing.status in (ReplyStatus.PENDING, ReplyStatus.PUBLISHED):
            result = reply_revise(reply=existing, actor=request.user, body=body)
        else:
            result = reply_submit(review=review, actor=request.user, body=body)
        kind = "reply" if isinstance(result, Reply) else "revision"
        return Response(
            {
                "kind": kind,
                "status": result.status,
                "body": result.body,
                "submitted_at": serializers.DateTimeField().to_representation(result.submitted_at)
                if result.submitted_at
                else None,
            },
            status=status.HTTP_201_CREATED,
        )


def _provider_or_400(slug: str):
    try:
        return selectors.provider_get_public(slug=slug)
    except Http404:
        raise serializers.ValidationError(
            {"provider": [_("There is no listed provider with this slug.")]}
        ) from None
