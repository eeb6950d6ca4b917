"""Forms for replies and reply templates (team and claim forms live in forms_team.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from responses.services.replies import REPLY_MAX


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your public reply"),
        widget=forms.Textarea(attrs={"rows": 9}),
        max_length=REPLY_MAX,
        help_text=_(
            "Shown under the review with your name, your role and the business's name. Do not "
            "include the reviewer's name or any personal or medical details."
        ),
    )


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Template name"), max_length=80)
    body = forms.CharField(
        label=_("Template text"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=REPLY_MAX,
        help_text=_("Put the parts to fill in for each reply in [square brackets]."),
    )
