"""Numbers for people to read, in the active language's decimal mark and thousands separator
(1,234.5 in en-GB), and lazily translated text with values in it. Machine formats (JSON, CSV,
JSON-LD, SVG coordinates) never use these."""

from decimal import Decimal

from django.utils import formats
from django.utils.functional import Promise, lazy


def number(value, places: int = 0, *, grouping: bool = True) -> str:
    """`value` to `places` decimals, rounded as Python's "{:.1f}" rounds (Django's own
    number_format cuts floats off instead), then localised exactly as a Decimal."""
    rounded = Decimal(f"{float(value):.{places}f}")
    return formats.number_format(rounded, places, use_l10n=True, force_grouping=grouping)


def _interpolate(message, values: dict) -> str:
    return str(message) % {
        name: number(value) if isinstance(value, int) and not isinstance(value, bool) else value
        for name, value in values.items()
    }


_lazy_interpolate = lazy(_interpolate, str)


def lazy_format(message, **values) -> Promise:
    """`gettext_lazy("… %(max)s …")` with `values` put in when the text is shown, in the
    language of that moment; whole numbers among them are grouped (20,000). At import time,
    `gettext_lazy(…) % {…}` would translate the text there and then, once and for all."""
    return _lazy_interpolate(message, values)
