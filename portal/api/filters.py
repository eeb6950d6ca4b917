"""Filter pieces shared by the API's filtersets."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); absent means no filter; anything else is an error, where Django's
    NullBooleanField would quietly read "null" or "maybe" as "no filter"."""

    TRUE, FALSE = {"true", "1"}, {"false", "0"}
    widget = forms.TextInput  # the select widget would map unknown words to None first

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(_("Use true or false."), code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class StrictParametersMixin:
    """For API filtersets: a parameter that is not free text (a choice, a number, true/false)
    given with an empty value (`?ordering=`) is an error naming it, where an HTML form would
    treat it as "not chosen". Callers of an API mean what they send."""

    def is_valid(self):
        valid = super().is_valid()
        for name, filter_ in self.filters.items():
            free_text = type(filter_) is django_filters.CharFilter
            if not free_text and name in self.data and self.data.get(name) == "":
                if name not in self.form.errors:
                    self.form.add_error(name, _("Give a value, or leave the parameter out."))
                valid = False
        return valid
