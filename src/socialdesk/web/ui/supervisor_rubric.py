"""The supervisor's rubric page: the rubric in force as a form that saves the next version (add,
remove, rename or reweight criteria), and the versions saved before, read-only. Supervisors and
admins only.

Each save is a new version (services/reviews.save_rubric); reviews keep the version they were
scored on. The rules are the domain's (domain/reviews.new_rubric): this module only turns the
typed rows into the criteria the API takes, numbers where numbers were typed and anything else as
typed, so the domain refuses it in its own words. A refused save names a field by the
criterion's place among those sent (`criteria.2.weight`); the page maps it back to the row it
was typed in, marks that input with the reason beside it, keeps every row as typed, and saves
nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from socialdesk.domain.errors import DomainError
from socialdesk.domain.reviews import MAX_CRITERIA, MAX_LABEL, Criterion
from socialdesk.queries.reviews import list_rubrics
from socialdesk.services import reviews
from socialdesk.web.deps import DeskDep
from socialdesk.web.errors import status_of
from socialdesk.web.ui.auth import SupervisorUser, User, frame
from socialdesk.web.ui.pages import PageRoute, render
from socialdesk.web.ui.supervisor import SupervisorForm

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PATH = "/supervisor/quality/rubric"
SPARE_ROWS = 3  # empty rows to add criteria in (never past MAX_CRITERIA rows)
# Rows are fields criteria.<row>.<part>; two digits bound a posted form to 100 rows.
ROW_FIELD = re.compile(r"^criteria\.(\d{1,2})\.(key|label|weight|max|remove)$")


@dataclass(frozen=True, slots=True)
class RubricRow:
    """One row of the form, as typed or as drawn from a saved criterion."""

    key: str = ""
    label: str = ""
    weight: str = ""
    max: str = ""
    remove: bool = False

    @property
    def blank(self) -> bool:
        """Nothing typed: a spare row left empty, not a criterion."""
        return not any(v.strip() for v in (self.key, self.label, self.weight, self.max))

    @classmethod
    def of(cls, criterion: Criterion) -> RubricRow:
        return cls(criterion.key, criterion.label, str(criterion.weight), str(criterion.max))


def typed_rows(fields: Iterable[tuple[str, object]]) -> list[RubricRow]:
    """The form's rows in their order (other fields ignored)."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    for name, value in fields:
        match = ROW_FIELD.match(name)
        if match is not None and isinstance(value, str):
            found[int(match.group(1))][match.group(2)] = value
    return [
        RubricRow(
            key=row.get("key", ""),
            label=row.get("label", ""),
            weight=row.get("weight", ""),
            max=row.get("max", ""),
            remove="remove" in row,
        )
        for _, row in sorted(found.items())
    ]


def _number(text: str) -> object:
    """A whole number or a decimal as typed; anything else stays text, for the domain to refuse."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def criteria_of(rows: Sequence[RubricRow]) -> tuple[list[dict[str, object]], list[int]]:
    """The criteria to save, from the rows neither blank nor marked for removal, and the row each
    came from. A blank weight is left out, so the domain's default weight applies."""
    criteria: list[dict[str, object]] = []
    origin: list[int] = []
    for index, row in enumerate(rows):
        if row.blank or row.remove:
            continue
        item: dict[str, object] = {"key": row.key.strip(), "label": row.label}
        if row.weight.strip():
            item["weight"] = _number(row.weight)
        item["max"] = _number(row.max)
        criteria.append(item)
        origin.append(index)
    return criteria, origin


def row_field(field: str | None, origin: Sequence[int]) -> str | None:
    """The form's name for a field the domain named by the criterion's place among those sent
    (`criteria.1.weight` → `criteria.3.weight` when rows 1 and 2 were empty or removed)."""
    parts = (field or "").split(".")
    if len(parts) != 3 or parts[0] != "criteria" or not parts[1].isdigit():
        return None
    place = int(parts[1])
    return f"criteria.{origin[place]}.{parts[2]}" if place < len(origin) else None


def rubric_page(
    desk: DeskDep,
    user: User,
    *,
    rows: list[RubricRow] | None = None,
    problem: DomainError | None = None,
    problem_at: str | None = None,
    saved: int | None = None,
) -> HTMLResponse:
    current = reviews.current_rubric(desk.analytics_uow)
    with desk.engine.connect() as conn:
        versions = list_rubrics(conn)
    if rows is None:
        rows = [RubricRow.of(c) for c in current.criteria]
        rows += [RubricRow()] * max(0, min(SPARE_ROWS, MAX_CRITERIA - len(rows)))
    context = frame(
        desk,
        user,
        current=current,
        versions=versions,
        rows=rows,
        problem=problem.message if problem else None,
        problem_at=problem_at,
        done=f"Saved as version {saved}: reviews from now on are scored on it." if saved else None,
        max_criteria=MAX_CRITERIA,
        max_label=MAX_LABEL,
    )
    return render(
        "ui/supervisor/quality_rubric.html", context, status_of(problem) if problem else 200
    )


@router.get(PATH, response_class=HTMLResponse)
def rubric(request: Request, desk: DeskDep, user: SupervisorUser) -> Response:
    saved = request.query_params.get("saved", "")
    return rubric_page(desk, user, saved=int(saved) if saved.isdigit() else None)


@router.post(PATH)
def save(desk: DeskDep, post: SupervisorForm) -> Response:
    rows = typed_rows(post.form.multi_items())
    criteria, origin = criteria_of(rows)
    try:
        saved = reviews.save_rubric(desk.analytics_uow, post.user.agent, criteria, desk.clock.now())
    except DomainError as exc:
        return rubric_page(
            desk, post.user, rows=rows, problem=exc, problem_at=row_field(exc.field, origin)
        )
    return RedirectResponse(f"{PATH}?saved={saved.id}", status_code=303)
