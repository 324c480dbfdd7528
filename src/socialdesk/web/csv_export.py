"""Tables as CSV downloads (RFC 4180, UTF-8), safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before one) as a
formula, so a tag, an intent or an agent's name typed as `=HYPERLINK(...)` could act on the
reader's machine. Such text cells get a leading apostrophe, which spreadsheets show as text
(OWASP's advice for CSV injection). Numbers are written as numbers: Python never formats one
as a formula.

Columns come from the API's response models, nested models flattened to dotted names
(`first_response.median_seconds`), so a CSV and its JSON say the same thing in the same words.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from starlette.responses import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def cell(value: object) -> str:
    """One value as CSV text: empty for none, ISO for times, text escaped against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def columns(model: type[BaseModel], prefix: str = "") -> list[str]:
    """The model's fields in order, nested models as `outer.inner`."""
    found = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            found += columns(kind, f"{prefix}{name}.")
        else:
            found.append(prefix + name)
    return found


def values(item: BaseModel) -> list[Any]:
    """The item's values in the order of `columns(type(item))`."""
    found: list[Any] = []
    for name in type(item).model_fields:
        value = getattr(item, name)
        found += values(value) if isinstance(value, BaseModel) else [value]
    return found


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    writer.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue()


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A download named `filename` (plain ASCII, made by the caller)."""
    return Response(
        csv_text(header, rows),
        media_type=CSV_MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


def table_response(filename: str, model: type[BaseModel], items: Iterable[BaseModel]) -> Response:
    """Items of one response model as a table: a row each, a column per (flattened) field."""
    return csv_response(filename, columns(model), [values(item) for item in items])
