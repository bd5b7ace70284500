"""The contract list as CSV (for Norwegian Excel) and XLSX, streamed from the database."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
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


def csv_chunks(contracts: Iterable[Contract], today: date) -> Iterator[str]:
    """CSV text in chunks: semicolons, a BOM so Excel reads UTF-8, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([str(column.header) for column in COLUMNS])
    yield BOM + buffer.getvalue()
    for contract in contracts:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_cell(c.kind, c.value(contract, today)) for c in COLUMNS])
        yield buffer.getvalue()


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


def xlsx_bytes(contracts: Iterable[Contract], today: date) -> bytes:
    """An XLSX workbook of the contracts (openpyxl's write-only mode keeps rows on disk)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Contracts"))
    bold = Font(bold=True)
    header = []
    for column in COLUMNS:
        cell = WriteOnlyCell(sheet, value=str(column.header))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for contract in contracts:
        sheet.append([_xlsx_cell(sheet, c.kind, c.value(contract, today)) for c in COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
