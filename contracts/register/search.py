"""The contract list: free-text search, filters, sorting and keyset pagination.

Search runs on a lower-cased ``search_text`` column. SQLite answers it from an FTS5
trigram index (``contract_search``) and PostgreSQL from a pg_trgm GIN index, since a
plain ``LIKE '%term%'`` scan is too slow at 100 000 contracts (DESIGN.md section 7).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, literal_column, or_, select, text
from sqlalchemy.orm import contains_eager

from contracts.db import Session, escape_like
from contracts.parties.models import Supplier
from contracts.register.models import EXPIRING_WITHIN_DAYS, Contract, ContractStatus

# Sort keys offered to users: key -> (column, nullable).
SORT_COLUMNS: dict[str, tuple[Any, bool]] = {
    "reference": (Contract.reference, False),
    "title": (Contract.title, False),
    "supplier": (Supplier.name, False),
    "end": (Contract.end_sort_date, False),
    "value": (Contract.estimated_value, True),
}
ORG_NUMBER_WITH_SPACES = re.compile(r"\b(\d{3})[ .](\d{3})[ .](\d{3})\b")
TRIGRAM = 3


@dataclass
class ContractQuery:
    """What the user asked the list for; built from the query string."""

    q: str = ""
    status: ContractStatus | None = None
    unit_id: int | None = None
    category_id: int | None = None
    owner_id: int | None = None
    expires_within: int | None = None
    framework: bool | None = None
    sort: str = "reference"
    descending: bool = False
    after: str | None = None
    before: str | None = None


@dataclass
class ContractPage:
    rows: list[Contract]
    total: int
    next_cursor: str | None
    prev_cursor: str | None


def search_terms(q: str) -> list[str]:
    """Lower-cased terms; an organisation number written with spaces stays one term."""
    q = ORG_NUMBER_WITH_SPACES.sub(r"\1\2\3", q.strip())
    return [t for t in q.lower().split() if t][:8]


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _fts_match(table: str, match: str, probe: bool = False) -> ColumnElement[bool]:
    """Contract ids found by an SQLite FTS5 table.

    With probe, the id is wrapped (id + 0) so SQLite cannot drive the query from the
    matches and instead probes them while walking the sort index (see fetch_page).
    """
    column = Contract.id + 0 if probe else Contract.id
    return column.in_(
        select(literal_column("rowid"))
        .select_from(text(table))
        .where(text(f"{table} MATCH :{table}").bindparams(**{table: match}))
    )


def _like(term: str) -> ColumnElement[bool]:
    return Contract.search_text.like(f"%{escape_like(term)}%", escape="\\")


def text_filter(terms: list[str], dialect: str, probe: bool = False) -> ColumnElement[bool] | None:
    """A condition that every term occurs in the contract's search text.

    Terms of three characters or more match anywhere (trigram indexes). Shorter ones match
    the start of a word, which an index can answer and which is what a user typing "ås"
    means (a substring "as" would find every supplier named "... AS"). Short terms that are
    not a word, like "%" or "_", are looked for literally.
    """
    if not terms:
        return None
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    words = [t for t in terms if len(t) < TRIGRAM and t.isalnum()]
    literal = [t for t in terms if len(t) < TRIGRAM and not t.isalnum()]
    conditions: list[ColumnElement[bool]] = []
    if dialect == "sqlite":
        if long_terms:
            match = " AND ".join(_fts_phrase(t) for t in long_terms)
            conditions.append(_fts_match("contract_search", match, probe))
        if words:
            match = " AND ".join(_fts_phrase(t) + "*" for t in words)
            conditions.append(_fts_match("contract_search_words", match, probe))
    elif dialect == "postgresql":
        conditions.extend(_like(t) for t in long_terms)
        if words:
            # The same expression as the index ix_contracts_search_words.
            simple = literal_column("'simple'::regconfig")
            query = " & ".join(f"{t}:*" for t in words)  # alphanumeric: no tsquery syntax
            conditions.append(
                func.to_tsvector(simple, Contract.search_text).bool_op("@@")(
                    func.to_tsquery(simple, query)
                )
            )
    else:
        literal += long_terms + words
    conditions.extend(_like(t) for t in literal)
    return and_(*conditions)


def status_filter(status: ContractStatus, today: date) -> ColumnElement[bool]:
    """The SQL twin of Contract.status(): contracts in the given status on a day."""
    signed = Contract.signed_on.is_not(None)
    terminated = and_(Contract.terminated_on.is_not(None), Contract.terminated_on <= today)
    running = and_(signed, ~terminated)
    horizon = today + timedelta(days=EXPIRING_WITHIN_DAYS)
    end = Contract.end_sort_date  # open-ended contracts sort after every horizon
    match status:
        case ContractStatus.DRAFT:
            return Contract.signed_on.is_(None)
        case ContractStatus.TERMINATED:
            return and_(signed, terminated)
        case ContractStatus.EXPIRED:
            return and_(running, end < today)
        case ContractStatus.EXPIRING:
            return and_(running, end >= today, end <= horizon)
        case ContractStatus.ACTIVE:
            return and_(running, end > horizon)
    return false()


def apply_filters(
    query: Select, cq: ContractQuery, today: date, dialect: str, probe: bool = False
) -> Select:
    """Narrow a contract select by the user's search and filters."""
    condition = text_filter(search_terms(cq.q), dialect, probe)
    if condition is not None:
        query = query.where(condition)
    if cq.status is not None:
        query = query.where(status_filter(cq.status, today))
    if cq.unit_id is not None:
        query = query.where(Contract.unit_id == cq.unit_id)
    if cq.category_id is not None:
        query = query.where(Contract.category_id == cq.category_id)
    if cq.owner_id is not None:
        query = query.where(Contract.owner_id == cq.owner_id)
    if cq.expires_within is not None:
        query = query.where(
            Contract.end_sort_date >= today,
            Contract.end_sort_date <= today + timedelta(days=cq.expires_within),
        )
    if cq.framework is not None:
        query = query.where(Contract.is_framework.is_(cq.framework))
    return query


# --- keyset pagination ---------------------------------------------------------------


def encode_cursor(value: Any, row_id: int) -> str:
    if isinstance(value, date):
        value = {"d": value.isoformat()}
    elif isinstance(value, Decimal):
        value = {"n": str(value)}
    raw = json.dumps([value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, int] | None:
    """The (sort value, id) in a cursor, or None when it was tampered with."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, row_id = json.loads(raw)
        if isinstance(value, dict):
            value = date.fromisoformat(value["d"]) if "d" in value else Decimal(value["n"])
        if not isinstance(row_id, int) or not isinstance(value, str | int | date | Decimal | None):
            return None
        if isinstance(row_id, bool) or isinstance(value, bool):  # JSON true/false
            return None
        # What the database can bind: ids are 32-bit on PostgreSQL, amounts Numeric(14, 2),
        # and PostgreSQL text cannot hold NUL.
        if not -(2**31) <= row_id < 2**31:
            return None
        if isinstance(value, Decimal) and not (value.is_finite() and abs(value) < 10**12):
            return None
        if isinstance(value, str) and ("\x00" in value or len(value) > 700):
            return None
        return value, row_id
    except (ValueError, TypeError, KeyError, binascii.Error, ArithmeticError):
        return None


def _after(column: Any, nullable: bool, value: Any, row_id: int, descending: bool):
    """Rows that come after (value, id) in the order; NULLs sort last in both directions."""
    if value is None:
        # Checked first: SQL cannot compare with NULL (and SQLAlchemy refuses to try).
        return and_(column.is_(None), Contract.id < row_id if descending else Contract.id > row_id)
    beyond = column < value if descending else column > value
    same = and_(column == value, Contract.id < row_id if descending else Contract.id > row_id)
    if not nullable:
        return or_(beyond, same)
    return or_(beyond, same, column.is_(None))


def _order(column: Any, nullable: bool, descending: bool) -> list[Any]:
    col = column.desc() if descending else column.asc()
    if nullable:
        col = col.nulls_last()
    return [col, Contract.id.desc() if descending else Contract.id.asc()]


def sorted_query(base: Select, cq: ContractQuery, today: date) -> Select:
    """All contracts matching the search and filters, in the chosen order (for exports)."""
    query = apply_filters(base, cq, today, Session.get_bind().dialect.name)
    if cq.sort == "supplier":
        query = query.join(Contract.supplier).options(contains_eager(Contract.supplier))
    column, nullable = SORT_COLUMNS.get(cq.sort, SORT_COLUMNS["reference"])
    return query.order_by(*_order(column, nullable, cq.descending))


def fetch_page(base: Select, cq: ContractQuery, page_size: int, today: date) -> ContractPage:
    """One page of contracts with the total, and cursors to the pages beside it."""
    dialect = Session.get_bind().dialect.name
    query = apply_filters(base, cq, today, dialect)
    # Counted on contracts alone: every contract has a supplier, so the join for sorting by
    # supplier name would only slow the count down.
    count = select(func.count()).select_from(Contract)
    if query.whereclause is not None:
        count = count.where(query.whereclause)
    total = Session.scalar(count) or 0
    if dialect == "sqlite" and _walk_sort_index(cq, total, page_size):
        query = apply_filters(base, cq, today, dialect, probe=True)
    if cq.sort == "supplier":
        query = query.join(Contract.supplier).options(contains_eager(Contract.supplier))
    column, nullable = SORT_COLUMNS.get(cq.sort, SORT_COLUMNS["reference"])
    descending = cq.descending
    backwards = False
    cursor = decode_cursor(cq.after) if cq.after else None
    if cq.before and not cq.after:
        cursor = decode_cursor(cq.before)
        backwards = cursor is not None
    if cursor is not None and not _cursor_fits(cursor[0], cq.sort):
        cursor, backwards = None, False  # tampered: PostgreSQL cannot compare, say, a date to text
    if cursor is not None:
        value, row_id = cursor
        if backwards:
            # Walk the reversed order from the cursor, then flip the rows back.
            query = query.where(_before(column, nullable, value, row_id, descending))
        else:
            query = query.where(_after(column, nullable, value, row_id, descending))
    order = (
        _reverse_order(column, nullable, descending)
        if backwards
        else _order(column, nullable, descending)
    )
    rows = list(Session.scalars(query.order_by(*order).limit(page_size + 1)).unique())
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
    key = _sort_value_getter(cq.sort)
    first_page = cursor is None
    next_cursor = prev_cursor = None
    if rows:
        if (has_more and not backwards) or backwards:
            next_cursor = encode_cursor(key(rows[-1]), rows[-1].id)
        if (not first_page and not backwards) or (backwards and has_more):
            prev_cursor = encode_cursor(key(rows[0]), rows[0].id)
    return ContractPage(rows=rows, total=total, next_cursor=next_cursor, prev_cursor=prev_cursor)


# Sorts whose whole order an index gives on SQLite (value sorts NULLs last, which SQLite's
# ascending index cannot; supplier needs a join).
INDEX_ORDERED_SORTS = frozenset({"reference", "title", "end"})


def _walk_sort_index(cq: ContractQuery, total: int, page_size: int) -> bool:
    """Whether SQLite should find a search page by walking the sort index.

    SQLite drives a full-text search from its matches: it fetches every match and sorts
    them, which for a common word (9 000 matches in 100 000) costs 15 ms. Walking the sort
    index and probing the matches stops after about page_size * rows / total entries. The
    walk wins when total * total > page_size * rows.
    """
    if not cq.q.strip() or cq.sort not in INDEX_ORDERED_SORTS:
        return False
    rows = Session.scalar(select(func.max(Contract.id))) or 0
    return total * total > (page_size + 1) * rows


def _cursor_fits(value: Any, sort: str) -> bool:
    """Whether a cursor's sort value has the type of the sort column."""
    if value is None:
        return SORT_COLUMNS.get(sort, SORT_COLUMNS["reference"])[1]
    return isinstance(value, {"end": date, "value": Decimal}.get(sort, str))


def _before(column: Any, nullable: bool, value: Any, row_id: int, descending: bool):
    """Rows that come before (value, id) in the order (the mirror of _after)."""
    if value is None:
        return or_(
            column.is_not(None),
            and_(column.is_(None), Contract.id > row_id if descending else Contract.id < row_id),
        )
    earlier = column > value if descending else column < value
    same = and_(column == value, Contract.id > row_id if descending else Contract.id < row_id)
    if not nullable:
        return or_(earlier, same)
    return and_(column.is_not(None), or_(earlier, same))


def _reverse_order(column: Any, nullable: bool, descending: bool) -> list[Any]:
    col = column.asc() if descending else column.desc()
    if nullable:
        col = col.nulls_first()
    return [col, Contract.id.asc() if descending else Contract.id.desc()]


def _sort_value_getter(sort: str):
    getters = {
        "reference": lambda c: c.reference,
        "title": lambda c: c.title,
        "supplier": lambda c: c.supplier.name,
        "end": lambda c: c.end_sort_date,
        "value": lambda c: c.estimated_value,
    }
    return getters.get(sort, getters["reference"])
