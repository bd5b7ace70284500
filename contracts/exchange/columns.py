"""The columns of a contract spreadsheet, shared by the exports (and the import to come)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from contracts.labels import PROCEDURE_LABELS, STATUS_LABELS
from contracts.register.models import Contract


class Kind(enum.Enum):
    TEXT = "text"
    AMOUNT = "amount"
    DATE = "date"
    NUMBER = "number"
    YES_NO = "yes_no"


@dataclass(frozen=True)
class Column:
    header: Any  # a lazy string: the header follows the user's language
    kind: Kind
    value: Callable[[Contract, date], Any]


def _person(user) -> str | None:
    return f"{user.name} <{user.email}>" if user else None


def _next_option_deadline(contract: Contract, _today: date) -> date | None:
    option = contract.next_option
    return option.exercise_deadline if option else None


COLUMNS: list[Column] = [
    Column(_l("Contract number"), Kind.TEXT, lambda c, t: c.reference),
    Column(_l("Title"), Kind.TEXT, lambda c, t: c.title),
    Column(_l("Supplier"), Kind.TEXT, lambda c, t: c.supplier.name),
    Column(_l("Organisation number"), Kind.TEXT, lambda c, t: c.supplier.org_number),
    Column(_l("Category"), Kind.TEXT, lambda c, t: c.category.name),
    Column(_l("Unit"), Kind.TEXT, lambda c, t: c.unit.name),
    Column(_l("Contract owner"), Kind.TEXT, lambda c, t: _person(c.owner)),
    Column(_l("Contract manager"), Kind.TEXT, lambda c, t: _person(c.manager)),
    Column(_l("Procurement procedure"), Kind.TEXT, lambda c, t: PROCEDURE_LABELS[c.procedure]),
    Column(_l("Framework agreement"), Kind.YES_NO, lambda c, t: c.is_framework),
    Column(
        _l("Estimated total value (NOK excl. VAT)"), Kind.AMOUNT, lambda c, t: c.estimated_value
    ),
    Column(_l("Annual value (NOK excl. VAT)"), Kind.AMOUNT, lambda c, t: c.annual_value),
    Column(_l("Signed on"), Kind.DATE, lambda c, t: c.signed_on),
    Column(_l("Start date"), Kind.DATE, lambda c, t: c.start_date),
    Column(_l("End date"), Kind.DATE, lambda c, t: c.end_date),
    Column(_l("Current end date"), Kind.DATE, lambda c, t: c.current_end_date),
    Column(_l("Latest possible end date"), Kind.DATE, lambda c, t: c.max_end_date),
    Column(_l("Notice period (months)"), Kind.NUMBER, lambda c, t: c.notice_months),
    Column(_l("Last day to give notice"), Kind.DATE, lambda c, t: c.last_notice_day),
    Column(_l("Next option deadline"), Kind.DATE, _next_option_deadline),
    Column(_l("Price adjustment index"), Kind.TEXT, lambda c, t: c.price_adjustment_index),
    Column(_l("Price adjustment month"), Kind.NUMBER, lambda c, t: c.price_adjustment_month),
    Column(
        _l("Clause on wage and working conditions"),
        Kind.YES_NO,
        lambda c, t: c.has_wage_conditions,
    ),
    Column(_l("Confidential"), Kind.YES_NO, lambda c, t: c.is_confidential),
    Column(_l("Status"), Kind.TEXT, lambda c, t: STATUS_LABELS[c.status(t)]),
    Column(_l("Notes"), Kind.TEXT, lambda c, t: c.notes),
]

# Spreadsheet programs run a cell that starts with one of these as a formula (CSV/formula
# injection); a leading apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: Any) -> str | None:
    """User text as a spreadsheet cell that can never become a formula."""
    if value is None:
        return None
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
