"""One form renderer for the whole site, so every form (ours and allauth's) gets the same
accessible markup: labels, hints and errors linked to the input, and an error summary."""

from django.forms.renderers import TemplatesSetting


class HeardFormRenderer(TemplatesSetting):
    form_template_name = "includes/form.html"
    field_template_name = "includes/field.html"
