"""Inviting customers to review (the business's page) and the link a customer opens. Thin: the
services in responses.services.invitations decide and write."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.validators import FileExtensionValidator
from django.db.models import Case, CharField, Value, When
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache

from portal.l10n import lazy_format
from portal.ratelimits import rate_limited, rate_limited_form, wait_message, with_retry_after
from responses.access import member_provider_get
from responses.models import CAN_INVITE_CUSTOMERS
from responses.services.invitations import (
    INVITATION_VALID_DAYS,
    MAX_PER_BATCH,
    MAX_PER_DAY,
    invitation_email_preview,
    invitation_link_create,
    invitation_redeem_check,
    invitations_send,
    invitations_sent_recently,
    parse_invitation_upload,
)
from reviews.models import Invitation
from reviews.services.content import INVITATION_UNKNOWN
from reviews.views import INVITATION_SESSION_KEY

INVITATIONS_PER_PAGE = 25


class InvitationUploadForm(forms.Form):
    addresses = forms.CharField(
        label=gettext_lazy("Customers’ email addresses"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
        required=False,
        help_text=lazy_format(
            gettext_lazy(
                "One address per line, or separated by commas or semicolons. "
                "Up to %(max)s at a time."
            ),
            max=MAX_PER_BATCH,
        ),
    )
    upload = forms.FileField(
        label=gettext_lazy("Or upload a CSV file"),
        required=False,
        validators=[FileExtensionValidator(["csv", "txt"])],
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
        help_text=gettext_lazy(
            "We use the column headed “email”, or the first column if none is. Export it from "
            "your booking or till system: every customer, not a selection."
        ),
    )

    def clean(self):
        data = super().clean()
        text, upload = (data.get("addresses") or "").strip(), data.get("upload")
        if self.errors:
            return data
        if text and upload:
            raise ValidationError(_("Paste addresses or upload a file, not both."))
        if not text and not upload:
            self.add_error("addresses", _("Paste at least one email address, or upload a file."))
            return data
        try:
            data["entries"] = parse_invitation_upload(upload or text)
        except ValidationError as error:
            self.add_error(self.source_field, error)
        return data

    @property
    def source_field(self) -> str:
        """Where the service's line-by-line problems belong: the box or the file."""
        return "upload" if self.cleaned_data.get("upload") else "addresses"


def _invitations_with_status(provider, now):
    # The status is worked out in the query so that a page of rows is one query. When an
    # invitation was used is not shown: with it a business could tell which review is whose.
    return (
        Invitation.objects.filter(provider=provider)
        .annotate(
            state=Case(
                When(used_at__isnull=False, then=Value("used")),
                When(expires_at__lte=now, then=Value("expired")),
                default=Value("sent"),
                output_field=CharField(),
            )
        )
        .only("email", "token", "created_at", "expires_at", "used_at", "provider_id")
        .order_by("-created_at", "-id")
    )


def _new_link(provider, raw_pk):
    """The link just created, shown once more so that it can be copied (unused ones only)."""
    if not (raw_pk or "").isdigit():
        return None
    return Invitation.objects.filter(
        provider=provider, pk=int(raw_pk), email="", used_at__isnull=True
    ).first()


@never_cache
@login_required
def invitation_list(request, slug):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    can_invite = membership.role in CAN_INVITE_CUSTOMERS
    form = InvitationUploadForm()
    wait = 0
    if request.method == "POST":
        # The services refuse too; refusing first makes any POST from a responder a 403,
        # whatever it holds.
        if not can_invite:
            raise PermissionDenied(_("Only owners and managers can invite customers."))
        # Bound even when empty (`request.POST or None` would leave an empty POST unbound).
        form = InvitationUploadForm(request.POST, request.FILES)
        if "create_link" in request.POST:
            if not (wait := rate_limited(request, "customer_invite")):
                return _create_link(request, provider)
            messages.error(request, wait_message(wait, form=False))
            form = InvitationUploadForm()  # the link button posts no addresses to keep
        else:
            wait = rate_limited_form(request, form, "customer_invite")
        if form.is_valid():
            try:
                sent = invitations_send(
                    provider=provider, actor=request.user, emails=form.cleaned_data["entries"]
                )
            except ValidationError as error:
                form.add_error(form.source_field, error)
            else:
                messages.success(request, _sent_message(len(sent), sent[0].expires_at))
                return redirect("responses:invitations", slug=provider.slug)
    now = timezone.now()
    page = Paginator(_invitations_with_status(provider, now), INVITATIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "provider": provider,
        "membership": membership,
        "active_tab": "invitations",
        "can_invite": can_invite,
        "form": form,
        "page": page,
        "preview": invitation_email_preview(provider=provider),
        "sent_today": invitations_sent_recently(provider=provider, now=now),
        "max_per_day": MAX_PER_DAY,
        "max_per_batch": MAX_PER_BATCH,
        "valid_days": INVITATION_VALID_DAYS,
        "new_link": _new_link(provider, request.GET.get("new")) if can_invite else None,
        "SITE_URL": settings.SITE_URL,  # links are shown as the emails write them
    }
    response = render(request, "responses/invitations.html", context)
    return with_retry_after(response, wait) if wait else response


def _sent_message(count: int, expires_at) -> str:
    return ngettext(
        "An invitation is on its way to %(n)s customer. The link works once and expires on "
        "%(date)s.",
        "Invitations are on their way to %(n)s customers. Each link works once and expires on "
        "%(date)s.",
        count,
    ) % {
        "n": intcomma(count),
        "date": formats.date_format(timezone.localtime(expires_at), "DATE_FORMAT"),
    }


def _create_link(request, provider):
    try:
        invitation = invitation_link_create(provider=provider, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("responses:invitations", slug=provider.slug)
    url = reverse("responses:invitations", kwargs={"slug": provider.slug})
    return redirect(f"{url}?new={invitation.pk}#new-link")


def invitation_open(request, token):
    """Anyone may open a link: a usable one is remembered in the session (through signing up
    or in) and leads to the review form; any other gets a page saying why."""
    try:
        invitation = invitation_redeem_check(token=token)
    except ValidationError as error:
        found = Invitation.objects.select_related("provider").filter(token=token).first()
        provider = found.provider if found and found.provider.is_active else None
        status = 404 if error.code == INVITATION_UNKNOWN else 410
        context = {
            "reasons": error.messages,
            "provider": provider,
            "valid_days": INVITATION_VALID_DAYS,
        }
        return render(request, "responses/invitation_invalid.html", context, status=status)
    request.session[INVITATION_SESSION_KEY] = invitation.token
    return redirect("reviews:review_create", slug=invitation.provider.slug)
