"""HTML input for reviews. A valid form hands its cleaned data to a service; the service has
the last word, and its refusals come back as errors on the same form."""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from portal.l10n import lazy_format
from reviews.models import ReportReason
from reviews.services import BODY_MAX, BODY_MIN, TITLE_MAX, add_months, visit_month_bounds

STAR_CHOICES = [
    ("5", _("5 stars – Excellent")),
    ("4", _("4 stars – Good")),
    ("3", _("3 stars – OK")),
    ("2", _("2 stars – Poor")),
    ("1", _("1 star – Very poor")),
]
RECOMMEND_CHOICES = [("", _("Prefer not to say")), ("yes", _("Yes")), ("no", _("No"))]


class StarRadioSelect(forms.RadioSelect):
    """Native radio buttons (arrow keys move between them), styled as stars by CSS."""

    template_name = "reviews/widgets/stars.html"


def visit_month_choices(today: dt.date | None = None):
    earliest, latest = visit_month_bounds(today)
    months, month = [], latest
    while month >= earliest:
        months.append((month.isoformat(), formats.date_format(month, "YEAR_MONTH_FORMAT")))
        month = add_months(month, -1)
    return [("", _("Choose a month")), *months]


class ReviewForm(forms.Form):
    rating = forms.ChoiceField(
        label=_("Your overall rating"), choices=STAR_CHOICES, widget=StarRadioSelect
    )
    title = forms.CharField(
        label=_("Title"),
        max_length=TITLE_MAX,
        help_text=_("Sum up your experience in a few words."),
    )
    body = forms.CharField(
        label=_("Your review"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=BODY_MAX,
        min_length=BODY_MIN,
        help_text=lazy_format(
            _(
                "Describe your own experience: what happened, what was good, what could be "
                "better. Do not name staff or include personal details. "
                "%(min)s to %(max)s characters."
            ),
            min=BODY_MIN,
            max=BODY_MAX,
        ),
        strip=True,
    )
    visit_month = forms.ChoiceField(label=_("When did you visit?"), choices=())
    would_recommend = forms.ChoiceField(
        label=_("Would you recommend them to a friend?"),
        choices=RECOMMEND_CHOICES,
        required=False,
        widget=forms.RadioSelect,
    )
    wants_resolution = forms.BooleanField(
        label=_("I want the business to resolve this"),
        required=False,
        help_text=_(
            "The business will be asked to respond and put things right, and you can track "
            "it. This never delays or hides your review."
        ),
    )

    def __init__(self, *args, provider, with_resolution: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider = provider
        self.fields["visit_month"].choices = visit_month_choices()
        self.aspect_fields = []
        for aspect in provider.category.aspects.all():
            name = f"aspect_{aspect.code}"
            self.fields[name] = forms.ChoiceField(
                label=aspect.text,
                choices=[("", _("No answer")), *reversed(STAR_CHOICES)],
                required=False,
                widget=forms.Select,
            )
            self.aspect_fields.append(name)
        if not with_resolution:
            del self.fields["wants_resolution"]
        self.order_fields(
            ["rating", *self.aspect_fields, "title", "body", "visit_month", "would_recommend"]
        )

    def clean_visit_month(self):
        return dt.date.fromisoformat(self.cleaned_data["visit_month"])

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "rating": int(data["rating"]),
            "title": data["title"],
            "body": data["body"],
            "visit_month": data["visit_month"],
            "aspects": {
                name.removeprefix("aspect_"): int(data[name])
                for name in self.aspect_fields
                if data.get(name)
            },
            "would_recommend": {"yes": True, "no": False}.get(data.get("would_recommend")),
        }

    def add_service_error(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)

    @classmethod
    def initial_from(cls, review) -> dict:
        initial = {
            "rating": str(review.rating),
            "title": review.title,
            "body": review.body,
            "visit_month": review.visit_month.isoformat(),
            "would_recommend": {True: "yes", False: "no"}.get(review.would_recommend, ""),
        }
        initial.update({f"aspect_{code}": str(v) for code, v in (review.aspects or {}).items()})
        return initial


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why are you reporting this review?"),
        choices=ReportReason.choices,
        widget=forms.RadioSelect,
    )
    detail = forms.CharField(
        label=_("Tell the moderators more"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
        help_text=_("Optional. Do not include personal details."),
    )
