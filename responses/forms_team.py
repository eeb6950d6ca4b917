"""HTML input for claims, the team and settings. A valid form hands its cleaned data to a
service; the service has the last word, and its refusals come back as errors on the form."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.l10n import lazy_format
from responses.models import Role
from responses.services.claims import EVIDENCE_MAX, EVIDENCE_MIN, ROLE_AT_BUSINESS_MAX
from responses.services.team import JOB_TITLE_MAX, REPLY_TARGET_MAX_HOURS, REPLY_TARGET_MIN_HOURS

ROLE_CHOICES = [
    (Role.OWNER, _("Owner – manages the team and settings, and does everything below")),
    (Role.MANAGER, _("Manager – edits reply templates, invites customers and replies")),
    (Role.RESPONDER, _("Responder – drafts and sends replies to reviews")),
]


class ServiceErrorsMixin:
    def add_service_error(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)


class ClaimForm(ServiceErrorsMixin, forms.Form):
    role_at_business = forms.CharField(
        label=_("Your role at the business"),
        max_length=ROLE_AT_BUSINESS_MAX,
        help_text=_("For example: practice manager, owner, director."),
        error_messages={"required": _("Enter your role at the business.")},
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    work_email = forms.EmailField(
        label=_("Your work email address"),
        help_text=_(
            "An address at the business's own web domain lets us check your claim fastest. "
            "We will not show it publicly."
        ),
        error_messages={
            "required": _("Enter your work email address."),
            "invalid": _("Enter your work email address, like name@business.co.uk."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "work email"}),
    )
    evidence = forms.CharField(
        label=_("How can we check that you speak for this business?"),
        min_length=EVIDENCE_MIN,
        max_length=EVIDENCE_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=lazy_format(
            _(
                "For example: a page on the business's website that names you, your "
                "professional registration number, or the business's public phone number and "
                "when to call. %(min)s to %(max)s characters."
            ),
            min=EVIDENCE_MIN,
            max=EVIDENCE_MAX,
        ),
        error_messages={"required": _("Tell us how we can check your claim.")},
    )


class RoleFields(ServiceErrorsMixin, forms.Form):
    role = forms.ChoiceField(
        label=_("Role"),
        choices=ROLE_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a role."), "invalid_choice": _("Choose a role.")},
    )
    job_title = forms.CharField(
        label=_("Job title"),
        max_length=JOB_TITLE_MAX,
        required=False,
        help_text=_(
            "Shown publicly with their name on the replies they send, "
            "for example “Practice manager”."
        ),
    )


class TeamInviteForm(RoleFields):
    email = forms.EmailField(
        label=_("Their email address"),
        help_text=_("They will need to sign in (or create an account) with this address."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        error_messages={
            "required": _("Enter their email address."),
            "invalid": _("Enter an email address, like name@example.com."),
        },
    )
    field_order = ["email", "role", "job_title"]


class MemberEditForm(RoleFields):
    pass


class SettingsForm(ServiceErrorsMixin, forms.Form):
    reply_target_hours = forms.IntegerField(
        label=_("Reply target, in hours"),
        min_value=REPLY_TARGET_MIN_HOURS,
        max_value=REPLY_TARGET_MAX_HOURS,
        help_text=lazy_format(
            _(
                "How soon your team aims to reply to a published review. Counted in calendar "
                "hours, nights and weekends included: the internet has no opening hours. "
                "From %(min)s to %(max)s."
            ),
            min=REPLY_TARGET_MIN_HOURS,
            max=REPLY_TARGET_MAX_HOURS,
        ),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": _("Enter the reply target in hours."),
            "invalid": _("Enter a whole number of hours, like 48."),
        },
    )
