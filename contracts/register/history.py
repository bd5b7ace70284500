"""The change history of a contract, made readable: field names and values in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from contracts.audit.models import AuditEvent
from contracts.auth.models import User
from contracts.db import Session
from contracts.labels import FIELD_LABELS, OPTION_DECISION_LABELS, PROCEDURE_LABELS
from contracts.parties.models import Category, Supplier, Unit
from contracts.register.models import OptionDecision
from contracts.rules.models import Procedure
from contracts.web import format_day, format_nok

# Columns holding ids, and the model whose name stands for the id.
REFERENCES: dict[str, type] = {
    "supplier_id": Supplier,
    "category_id": Category,
    "unit_id": Unit,
    "owner_id": User,
    "manager_id": User,
    "decided_by_id": User,
}
AMOUNTS = frozenset({"estimated_value", "annual_value", "value_change"})
# Columns that are bookkeeping rather than something a reader wants to see.
HIDDEN = frozenset({"id", "contract_id", "created_at", "created_by_id"})


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class HistoryRow:
    event: AuditEvent
    changes: list[Change]


def _names(events: list[AuditEvent]) -> dict[tuple[type, int], str]:
    wanted: dict[type, set[int]] = {}
    for event in events:
        for values in (event.before or {}, event.after or {}):
            for key, value in values.items():
                if key in REFERENCES and isinstance(value, int):
                    wanted.setdefault(REFERENCES[key], set()).add(value)
    names: dict[tuple[type, int], str] = {}
    for model, ids in wanted.items():
        for row_id, name in Session.execute(select(model.id, model.name).where(model.id.in_(ids))):
            names[(model, row_id)] = name
    return names


def _display(key: str, value: Any, names: dict[tuple[type, int], str]) -> str:
    if value is None or value == "":
        return "–"
    if key in REFERENCES:
        return names.get((REFERENCES[key], value), f"#{value}")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if key == "procedure" and value in Procedure._value2member_map_:
        return str(PROCEDURE_LABELS[Procedure(value)])
    if key == "decision" and value in OptionDecision._value2member_map_:
        return str(OPTION_DECISION_LABELS[OptionDecision(value)])
    if key in AMOUNTS:
        try:
            return format_nok(Decimal(str(value)))
        except InvalidOperation:
            return str(value)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return format_day(date.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def readable_history(events: list[AuditEvent]) -> list[HistoryRow]:
    """Each event with its changed fields named and its values shown as on the page."""
    names = _names(events)
    rows = []
    for event in events:
        before, after = event.before or {}, event.after or {}
        keys = [k for k in (after or before) if k not in HIDDEN]
        changes = [
            Change(
                label=str(FIELD_LABELS.get(key, key)),
                before=_display(key, before.get(key), names) if event.action != "create" else "",
                after=_display(key, after.get(key), names),
            )
            for key in keys
        ]
        rows.append(HistoryRow(event=event, changes=changes))
    return rows
