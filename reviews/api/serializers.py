"""What the reviews API shows and accepts. Output serializers never carry another person's
email or IP; input serializers are separate and only check shapes (the services decide)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reviews.models import Category, Provider, ReportReason, Review
from reviews.services import TITLE_MAX


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["slug", "name", "description"]


class ProviderSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    rating_average = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Provider
        fields = [
            "slug",
            "name",
            "category",
            "category_name",
            "town",
            "postcode",
            "rating_average",
            "review_count",
            "score",
        ]


class ResponsivenessSerializer(serializers.Serializer):
    """The composite responsiveness score over the last 12 months (see /reviews-policy/)."""

    score = serializers.IntegerField(
        allow_null=True, help_text="0–100, or null when there is not enough data yet."
    )
    band = serializers.CharField(help_text='In words, e.g. "Very responsive".')
    reply_rate = serializers.IntegerField(allow_null=True)
    median_reply_hours = serializers.FloatField(allow_null=True)
    complaints_confirmed_resolved = serializers.IntegerField(
        allow_null=True, help_text="% of due complaints the customer confirmed as resolved."
    )
    put_right_answers = serializers.DictField(child=serializers.IntegerField())
    replies = serializers.IntegerField()
    tickets = serializers.IntegerField()


class ProviderDetailSerializer(ProviderSerializer):
    rating_distribution = serializers.SerializerMethodField()
    reply_rate = serializers.SerializerMethodField()
    median_first_response_hours = serializers.SerializerMethodField()
    responsiveness = serializers.SerializerMethodField()

    class Meta(ProviderSerializer.Meta):
        fields = [
            *ProviderSerializer.Meta.fields,
            "address",
            "phone",
            "website",
            "description",
            "is_claimed",
            "rating_distribution",
            "reply_rate",
            "median_first_response_hours",
            "responsiveness",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "properties": {str(n): {"type": "integer"} for n in range(1, 6)},
            "required": [str(n) for n in range(1, 6)],
        }
    )
    def get_rating_distribution(self, provider) -> dict:
        return provider.rating_distribution

    # The figures come from the responsiveness figures, computed once by the view.
    def get_reply_rate(self, provider) -> int | None:
        return self.context["response"]["reply_rate"]

    def get_median_first_response_hours(self, provider) -> float | None:
        return self.context["response"]["median_reply_hours"]

    @extend_schema_field(ResponsivenessSerializer)
    def get_responsiveness(self, provider) -> dict:
        return self.context["responsiveness"].as_dict()


class ReplySerializer(serializers.Serializer):
    body = serializers.CharField()
    responder_name = serializers.CharField()
    responder_title = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)


class ComplaintSerializer(serializers.Serializer):
    status = serializers.CharField()
    outcome = serializers.CharField(source="public_outcome")
    change_made = serializers.CharField()


class ReviewSerializer(serializers.ModelSerializer):
    """A review as the public page shows it: a review hidden after a report shows neither its
    text nor its reply, exactly as the HTML card does."""

    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    author_name = serializers.CharField(read_only=True)
    title = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    reply = serializers.SerializerMethodField()
    complaint = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "provider",
            "author_name",
            "rating",
            "title",
            "body",
            "visit_month",
            "aspects",
            "would_recommend",
            "source",
            "status",
            "is_hidden",
            "helpful_count",
            "submitted_at",
            "published_at",
            "reply",
            "complaint",
        ]
        read_only_fields = fields

    def get_title(self, review) -> str:
        return _("Review hidden while it is checked") if review.is_hidden else review.title

    def get_body(self, review) -> str:
        if review.is_hidden:
            return _(
                "Someone reported this review as harmful or illegal, so it is hidden until a "
                "moderator decides. Its rating still counts."
            )
        return review.body

    @extend_schema_field(ReplySerializer(allow_null=True))
    def get_reply(self, review):
        reply = getattr(review, "reply", None)  # a missing reverse one-to-one is an AttributeError
        if reply is None or reply.status != "published" or review.is_hidden:
            return None
        return ReplySerializer(reply).data

    @extend_schema_field(ComplaintSerializer(allow_null=True))
    def get_complaint(self, review):
        ticket = getattr(review, "ticket", None)
        if ticket is None or review.is_hidden:
            return None
        return ComplaintSerializer(ticket).data


class RefuseOtherFields:
    """Refuse fields the caller may not set (status, author, provider, counts) with a 400
    rather than ignore them silently."""

    def validate(self, attrs):
        extra = sorted(set(self.initial_data) - set(self.fields))
        if extra:
            raise serializers.ValidationError(
                {name: [_("This field cannot be set here.")] for name in extra}
            )
        return attrs


class ReviewInput(RefuseOtherFields, serializers.Serializer):
    """A new review. Only shapes are checked here; review_submit checks the rest (dates,
    lengths, one live review per provider, conflicts of interest)."""

    provider = serializers.CharField(help_text="The provider's slug.")
    rating = serializers.IntegerField(min_value=1, max_value=5)
    title = serializers.CharField(max_length=TITLE_MAX)
    body = serializers.CharField()
    visit_date = serializers.DateField(help_text="A day of the visit; its month is kept.")
    aspects = serializers.DictField(
        child=serializers.IntegerField(min_value=1, max_value=5), required=False
    )
    would_recommend = serializers.BooleanField(required=False, allow_null=True, default=None)
    wants_resolution = serializers.BooleanField(required=False, default=False)
    invitation_token = serializers.CharField(required=False, allow_blank=True, max_length=64)


class ReviewPatchInput(RefuseOtherFields, serializers.Serializer):
    """An edit by the author; fields left out keep their current value."""

    rating = serializers.IntegerField(min_value=1, max_value=5, required=False)
    title = serializers.CharField(max_length=TITLE_MAX, required=False)
    body = serializers.CharField(required=False)
    visit_date = serializers.DateField(required=False)
    aspects = serializers.DictField(
        child=serializers.IntegerField(min_value=1, max_value=5), required=False
    )
    would_recommend = serializers.BooleanField(required=False, allow_null=True)


class ReviewEditResult(serializers.Serializer):
    """What an edit made: the review, and the edit waiting for moderation if it was published."""

    review = ReviewSerializer()
    pending_edit = serializers.DictField(allow_null=True)


class HelpfulResult(serializers.Serializer):
    helpful_count = serializers.IntegerField()
    voted = serializers.BooleanField()


class ReportInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    detail = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ReportResult(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()
    status = serializers.CharField()


class ReplyInput(serializers.Serializer):
    body = serializers.CharField()


class ReplyResult(serializers.Serializer):
    """A reply sent to the moderators, or an edit of a published one (`kind`)."""

    kind = serializers.ChoiceField(choices=["reply", "revision"])
    status = serializers.CharField()
    body = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
