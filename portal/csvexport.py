"""Streamed CSV downloads that spreadsheets cannot be tricked into running as formulas."""

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """Text that a spreadsheet shows as text: a leading formula character gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value):
        return value


def stream_csv(*, header: list[str], rows: Iterable[Iterable], filename: str):
    """Rows are generated as they are written, so memory stays flat whatever their number.

    A data export, not a page: its header is fixed snake_case column names and its cells hold
    codes and unlocalised numbers and dates, the same in every language, so that the scripts
    and spreadsheets that read it keep working (like the API's field names)."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow([csv_safe(h) for h in header])
        for row in rows:
            yield writer.writerow([csv_safe(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
