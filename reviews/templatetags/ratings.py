"""Small display helpers for ratings. Everything here returns escaped or constant markup."""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from portal.l10n import number

register = template.Library()


@register.simple_tag
def stars(value, size=""):
    """Five stars filled to the rating (in quarter stars) with a text equivalent.

    The fill width is a CSS class (`stars__fg--70`), not an inline style, so the strict CSP
    (no inline styles) holds.
    """
    if value is None:
        return format_html('<span class="stars stars--none">{}</span>', _("No rating yet"))
    value = max(0.0, min(5.0, float(value)))
    percent = round(value * 4) * 5  # nearest quarter star, as a multiple of 5%
    places = 0 if round(value, 1) == round(value) else 1  # "4 out of 5", "4.5 out of 5"
    label = _("%(value)s out of 5 stars") % {"value": number(value, places)}
    css = f"stars stars--{size}" if size else "stars"
    return format_html(
        '<span class="{}"><span class="stars__glyphs" aria-hidden="true">'
        '<span class="stars__bg">★★★★★</span><span class="stars__fg stars__fg--{}">★★★★★</span>'
        '</span><span class="visually-hidden">{}</span></span>',
        css,
        percent,
        label,
    )


@register.filter
def one_decimal(value):
    return "–" if value is None else number(value, 1)
