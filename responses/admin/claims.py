"""The claims queue (staff approve or reject who speaks for a provider) and read-only views of
teams, claims and the business side's audit trail. Decisions go through
responses.services.claims; nothing here edits a row directly."""

from urllib.parse import urlsplit

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.moderation import ModerationQueueAdmin, Queue, ReadOnlyAdmin, highlight, register_queue
from responses.models import (
    BusinessEvent,
    ClaimStatus,
    Membership,
    PendingClaim,
    ProviderClaim,
)
from responses.services.claims import CLAIM_REJECTION_REASONS, claim_decide


def website_domain(website: str) -> str:
    host = (urlsplit(website or "").hostname or "").lower()
    return host.removeprefix("www.")


def work_email_matches(work_email: str, website: str) -> bool:
    """Whether the email is at the provider's own web domain (or a subdomain of it)."""
    site = website_domain(website)
    domain = work_email.rpartition("@")[2].lower()
    return bool(site) and (domain == site or domain.endswith("." + site))


class ClaimDisplayMixin:
    @admin.display(description=_("Claimant"))
    def claimant(self, obj):
        # Staff see who is behind the claim; businesses and the public never do.
        return format_html("{}<br><span>{}</span>", obj.user.display_name, obj.user.email)

    @admin.display(description=_("Provider"))
    def provider_cell(self, obj):
        provider = obj.provider
        # A second claim for a listing that already has a team deserves a closer look.
        note = format_html("<br><strong>{}</strong>", gettext("Already has a team"))
        if not provider.is_claimed:
            note = ""
        website = format_html("<br><span>{}</span>", provider.website) if provider.website else ""
        return format_html(
            '<a href="{}">{}</a>{}{}', provider.get_absolute_url(), provider.name, website, note
        )

    @admin.display(description=_("Work email"))
    def work_email_cell(self, obj):
        if work_email_matches(obj.work_email, obj.provider.website):
            return format_html(
                "{}<br><span>{}</span>", obj.work_email, gettext("Matches the website")
            )
        why = (
            gettext("Not at %(domain)s") % {"domain": website_domain(obj.provider.website)}
            if obj.provider.website
            else gettext("No website to compare")
        )
        return format_html(
            '<mark class="flagged">{}</mark><br><strong>{}</strong>', obj.work_email, why
        )

    @admin.display(description=_("Evidence"))
    def evidence_cell(self, obj):
        return format_html('<div class="mod-excerpt">{}</div>', highlight(obj.evidence, None))


@admin.register(PendingClaim)
class PendingClaimAdmin(ClaimDisplayMixin, ModerationQueueAdmin):
    age_field = "created_at"
    reasons = list(CLAIM_REJECTION_REASONS.items())
    approve_label = _("Approve selected claims (each claimant becomes an owner)")
    reject_label = _("Reject selected claims (asks for the reason)")
    list_display = [
        "waiting",
        "provider_cell",
        "claimant",
        "role_at_business",
        "work_email_cell",
        "evidence_cell",
    ]
    search_fields = ["provider__name", "user__email", "user__display_name", "work_email"]
    fields = ["provider", "user", "role_at_business", "work_email", "evidence", "created_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status=ClaimStatus.PENDING)
            .select_related("provider", "user")
        )

    def decide(self, obj, *, moderator, decision, reason, note):
        claim_decide(claim=obj, moderator=moderator, decision=decision, reason=reason, note=note)


register_queue(
    Queue(
        label=_("Provider claims waiting"),
        admin_url_name="admin:responses_pendingclaim_changelist",
        queryset=lambda: ProviderClaim.objects.filter(status=ClaimStatus.PENDING),
        age_field="created_at",
        position=40,
    )
)


# --- read-only records --------------------------------------------------------------------------
@admin.register(ProviderClaim)
class ProviderClaimAdmin(ClaimDisplayMixin, ReadOnlyAdmin):
    """Every claim and how it was decided (the queue above shows only those waiting)."""

    list_display = [
        "created_at",
        "provider_cell",
        "claimant",
        "role_at_business",
        "work_email_cell",
        "status",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["status", "created_at"]
    search_fields = ["provider__name", "user__email", "user__display_name", "work_email"]
    list_select_related = ["provider", "user", "decided_by"]
    readonly_fields = [f.name for f in ProviderClaim._meta.fields]
    date_hierarchy = "created_at"


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    """Teams change only through their owners (or a claim approval), with an audit trail."""

    list_display = ["provider", "user", "user_email", "role", "job_title", "created_at"]
    list_filter = ["role"]
    search_fields = ["provider__name", "user__email", "user__display_name"]
    list_select_related = ["provider", "user"]
    readonly_fields = [f.name for f in Membership._meta.fields]

    @admin.display(description=_("Email"), ordering="user__email")
    def user_email(self, obj):
        return obj.user.email


@admin.register(BusinessEvent)
class BusinessEventAdmin(ReadOnlyAdmin):
    """The business side's audit trail: append-only, for everyone."""

    list_display = ["created_at", "provider", "kind", "actor", "subject", "detail"]
    list_filter = ["kind", "created_at"]
    search_fields = ["provider__name", "actor__email", "subject__email"]
    list_select_related = ["provider", "actor", "subject"]
    readonly_fields = [f.name for f in BusinessEvent._meta.fields]
    date_hierarchy = "created_at"
