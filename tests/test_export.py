"""The contract list as CSV and XLSX: what Norwegian Excel opens, nothing it would run."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from contracts.audit.models import AuditEvent
from contracts.db import Session
from tests import factories


@pytest.fixture
def contracts():
    supplier = factories.make_supplier(name="Østre Renhold AS")
    return {
        "plain": factories.make_contract(
            reference="EXP-1",
            title="Renhold av rådhuset",
            supplier_id=supplier.id,
            estimated_value=Decimal("1250000.50"),
            start_date=date(2025, 1, 1),
            end_date=date(2027, 12, 31),
        ),
        "formula": factories.make_contract(
            reference="EXP-2",
            title='=HYPERLINK("http://evil.example","klikk")',
            notes="+47 22 00 00 00",
            estimated_value=None,
        ),
        "minus": factories.make_contract(reference="EXP-3", title="-rabatt", notes="@sum"),
        "secret": factories.make_contract(
            reference="EXP-4", title="Hemmelig", is_confidential=True
        ),
    }


def _csv_rows(response) -> list[list[str]]:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_csv_for_norwegian_excel(login_as, contracts):
    response = login_as("procurement").get("/contracts/export.csv", query_string={"q": "exp"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv_rows(response)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["Avtalenr.", "Tittel", "Leverandør", "Organisasjonsnummer"]
    by_ref = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    assert set(by_ref) == {"EXP-1", "EXP-2", "EXP-3", "EXP-4"}
    plain = by_ref["EXP-1"]
    assert plain["Leverandør"] == "Østre Renhold AS"
    assert plain["Startdato"] == "01.01.2025"
    value_column = next(h for h in header if h.startswith("Estimert totalverdi"))
    assert plain[value_column] == "1250000,50"


def test_cells_that_would_be_formulas_are_escaped(login_as, contracts):
    client = login_as("procurement")
    rows = _csv_rows(client.get("/contracts/export.csv", query_string={"q": "exp"}))
    header = rows[0]
    by_ref = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert by_ref["EXP-2"]["Tittel"].startswith("'=HYPERLINK")
    assert by_ref["EXP-2"]["Merknader"] == "'+47 22 00 00 00"
    assert by_ref["EXP-3"]["Tittel"] == "'-rabatt"
    assert by_ref["EXP-3"]["Merknader"] == "'@sum"

    workbook = load_workbook(
        io.BytesIO(client.get("/contracts/export.xlsx", query_string={"q": "exp"}).data)
    )
    sheet = workbook.active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    titles = {row[0]: row[1] for row in cells[1:]}
    assert titles["EXP-2"].startswith("'=HYPERLINK")
    assert titles["EXP-3"] == "'-rabatt"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_xlsx_keeps_numbers_and_dates_typed(login_as, contracts):
    response = login_as("auditor").get("/contracts/export.xlsx", query_string={"q": "EXP-1"})
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header, row = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert len(rows) == 2
    value_column = next(h for h in header if h.startswith("Estimert totalverdi"))
    assert row[value_column] == pytest.approx(1250000.50)
    assert row["Startdato"].date() == date(2025, 1, 1)


def test_export_follows_the_filters_and_what_the_user_may_see(login_as, contracts):
    owner = login_as("owner")
    rows = _csv_rows(owner.get("/contracts/export.csv", query_string={"q": "exp"}))
    # A confidential contract of another unit is not exported to an owner who cannot see it.
    assert {row[0] for row in rows[1:]} == {"EXP-1", "EXP-2", "EXP-3"}
    only_one = _csv_rows(owner.get("/contracts/export.csv", query_string={"q": "rådhuset"}))
    assert [row[0] for row in only_one[1:]] == ["EXP-1"]


def test_export_is_audited_and_needs_a_login(client, login_as, contracts):
    assert client.get("/contracts/export.csv").status_code == 302
    before = Session.scalar(select(func.count()).select_from(AuditEvent))
    assert login_as("auditor").get("/contracts/export.xlsx").status_code == 200
    after = Session.scalar(select(func.count()).select_from(AuditEvent))
    assert after == before + 1
    event = Session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert event.action == "export" and event.after["format"] == "xlsx"


def test_unknown_format_is_404(login_as):
    assert login_as("procurement").get("/contracts/export.pdf").status_code == 404


def test_list_links_to_the_export_with_the_same_filters(login_as, contracts):
    page = (
        login_as("procurement")
        .get("/contracts", query_string={"q": "exp", "status": "active", "_anchor": "x"})
        .text
    )
    assert "/contracts/export.csv?q=exp&amp;status=active" in page
    assert "/contracts/export.xlsx?q=exp&amp;status=active" in page
    assert "#x" not in page


def test_export_streams_in_batches(login_as, contracts, monkeypatch):
    """More rows than one database batch: every contract comes out once."""
    from contracts.exchange import export

    monkeypatch.setattr(export, "BATCH", 2)
    client = login_as("procurement")
    rows = _csv_rows(client.get("/contracts/export.csv", query_string={"q": "exp"}))
    assert sorted(row[0] for row in rows[1:]) == ["EXP-1", "EXP-2", "EXP-3", "EXP-4"]
    workbook = load_workbook(
        io.BytesIO(client.get("/contracts/export.xlsx", query_string={"q": "exp"}).data)
    )
    assert sorted(row[0].value for row in list(workbook.active.iter_rows())[1:]) == [
        "EXP-1",
        "EXP-2",
        "EXP-3",
        "EXP-4",
    ]
