"""The contract list as CSV (for Norwegian Excel) and XLSX, streamed from the database."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import Select
from sqlalchemy.orm import selectinload

from contracts.db import Session
from contracts.exchange.columns import COLUMNS, Kind, safe_text
from contracts.register.models import Contract

BATCH = 1000
BOM = "\ufeff"


def contracts_in_batches(query: Select) -> Iterator[Contract]:
    """Every contract of a query, fetched a batch at a time so memory stays flat."""
    query = query.options(selectinload(Contract.options)).execution_options(yield_per=BATCH)
    yield from Session.scalars(query)


def _csv_cell(kind: Kind, value: Any) -> str:
    if value is None:
        return ""
    if kind is Kind.AMOUNT:
        return f"{value:.2f}".replace(".", ",")  # decimal comma, as Norwegian Excel reads it
    if kind is Kind.DATE:
        return value.strftime("%d.%m.%Y")
    if kind is Kind.YES_NO:
        return _("Yes") if value else _("No")
    if kind is Kind.NUMBER:
        return str(value)
    return safe_text(value) or ""


def table_csv_chunks(
    headers: Sequence[Any], kinds: Sequence[Kind], rows: Iterable[Sequence[Any]]
) -> Iterator[str]:
    """Any table as CSV text in chunks: semicolons, a BOM so Excel reads UTF-8, CRLF line
    ends, decimal commas, and text that would run as a formula made harmless."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([str(header) for header in headers])
    yield BOM + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_cell(kind, value) for kind, value in zip(kinds, row, strict=True)])
        yield buffer.getvalue()


def csv_chunks(contracts: Iterable[Contract], today: date) -> Iterator[str]:
    """The contracts as CSV text in chunks (see table_csv_chunks)."""
    return table_csv_chunks(
        [column.header for column in COLUMNS],
        [column.kind for column in COLUMNS],
        ([c.value(contract, today) for c in COLUMNS] for contract in contracts),
    )


def _xlsx_cell(sheet, kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind is Kind.YES_NO:
        return _("Yes") if value else _("No")
    if kind is Kind.AMOUNT:
        cell = WriteOnlyCell(sheet, value=value if isinstance(value, Decimal) else Decimal(value))
        cell.number_format = "#,##0.00"
        return cell
    if kind is Kind.DATE:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "DD.MM.YYYY"
        return cell
    if kind is Kind.NUMBER:
        return value
    return safe_text(value)


def table_xlsx_bytes(
    title: str, headers: Sequence[Any], kinds: Sequence[Kind], rows: Iterable[Sequence[Any]]
) -> bytes:
    """Any table as an XLSX workbook of one sheet with a bold header row (openpyxl's
    write-only mode keeps rows on disk)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    bold = Font(bold=True)
    header = []
    for name in headers:
        cell = WriteOnlyCell(sheet, value=str(name))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append(
            [_xlsx_cell(sheet, kind, value) for kind, value in zip(kinds, row, strict=True)]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_bytes(contracts: Iterable[Contract], today: date) -> bytes:
    """An XLSX workbook of the contracts (see table_xlsx_bytes)."""
    return table_xlsx_bytes(
        _("Contracts"),
        [column.header for column in COLUMNS],
        [column.kind for column in COLUMNS],
        ([c.value(contract, today) for c in COLUMNS] for contract in contracts),
    )
