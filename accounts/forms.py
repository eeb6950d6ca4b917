"""Account forms: the extra field Heard asks for at signup, and an accessible honeypot."""

from allauth.account import app_settings as account_settings
from django import forms
from django.utils.translation import gettext_lazy as _

HONEYPOT_TEMPLATE = "allauth/honeypot_field.html"


class SignupForm(forms.Form):
    """Added to allauth's signup form (ACCOUNT_SIGNUP_FORM_CLASS)."""

    display_name = forms.CharField(
        label=_("Display name"),
        max_length=50,
        help_text=_("Shown on your reviews instead of your email. It can be a pseudonym."),
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )

    field_order = ["email", "display_name", "password1", "password2"]

    def clean_display_name(self):
        name = " ".join(self.cleaned_data["display_name"].split())
        if not name:
            raise forms.ValidationError(_("Enter the name to show on your reviews."))
        return name

    def signup(self, request, user):
        user.display_name = self.cleaned_data["display_name"]
        user.save(update_fields=["display_name"])

    def get_context(self):
        # allauth adds its honeypot field after this class's __init__ has run, hidden by an
        # inline style that our Content-Security-Policy blocks, and without a label. Render it
        # instead off-screen and hidden from assistive technology, out of the tab order, with
        # a label, so that people never meet it and bots still fill it in.
        name = account_settings.SIGNUP_FORM_HONEYPOT_FIELD
        if name and name in self.fields:
            field = self.fields[name]
            field.label = _("Leave this field empty")
            field.template_name = HONEYPOT_TEMPLATE
            field.widget.attrs = {"tabindex": "-1", "autocomplete": "off"}
        return super().get_context()
