"""Admin for the reviews app. Categories, their questions and providers' listing details are
edited here; anything that changes what is published goes through reviews.services (the
moderation desk of issue #4 builds on this)."""

from django.contrib import admin

from reviews.models import AspectQuestion, Category, Provider
from reviews.services import STAT_FIELDS


class AspectQuestionInline(admin.TabularInline):
    model = AspectQuestion
    extra = 1
    fields = ["position", "code", "text"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "question_count"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    inlines = [AspectQuestionInline]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_questions=Count("aspects"))

    @admin.display(description="Questions", ordering="_questions")
    def question_count(self, obj):
        return obj._questions


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "town", "review_count", "score", "is_active", "is_claimed"]
    list_filter = ["is_active", "is_claimed", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "town", "postcode"]
    prepopulated_fields = {"slug": ["name"]}
    # The figures are kept by the services; nobody types them in.
    readonly_fields = [*STAT_FIELDS, "is_claimed", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "category", "description", "is_active", "is_claimed"]}),
        (
            "Contact",
            {"fields": ["address_line1", "address_line2", "town", "postcode", "phone", "website"]},
        ),
        ("Figures (from published reviews)", {"fields": STAT_FIELDS, "classes": ["collapse"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
