"""Reading uploaded spreadsheets and finding their header row."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from contracts.exchange.headers import find_header_row, normalise_header
from contracts.exchange.reading import FileRefused, read_rows, sheet_names
from contracts.exchange.values import (
    parse_date,
    parse_money,
    parse_months,
    parse_options,
    parse_org_number,
    parse_yes_no,
)

DATA = Path(__file__).parent / "data"


def _read(name: str, sheet: str | None = None) -> list[list[object]]:
    return read_rows((DATA / name).read_bytes(), name, sheet)


def test_cp1252_semicolon_csv_with_title_rows():
    rows = _read("kontrakter_oppvekst_cp1252.csv")
    header = find_header_row(rows)
    assert header is not None
    assert header.index == 3  # below two title rows and a blank one: row 4 in Excel
    fields = {field: position for position, field in header.columns.items()}
    assert set(fields) >= {
        "reference", "title", "supplier", "org_number", "category", "unit", "owner",
        "manager", "start_date", "end_date", "options", "notice", "estimated_value",
        "annual_value", "is_framework", "has_wage_conditions", "notes",
    }  # fmt: skip
    first = rows[header.index + 1]
    assert first[fields["title"]] == "Renhold av Østre Aasen skole"
    assert parse_org_number(first[fields["org_number"]]) == "974760673"
    assert parse_date(first[fields["start_date"]]) == date(2019, 1, 1)
    assert parse_options(first[fields["options"]]) == [12]
    assert parse_months(first[fields["notice"]]) == 3
    assert parse_money(first[fields["estimated_value"]]) == Decimal("1250000.50")
    assert parse_money(first[fields["annual_value"]]) == Decimal("300000.00")
    assert parse_yes_no(first[fields["is_framework"]]) is True
    assert parse_yes_no(first[fields["has_wage_conditions"]]) is True


def test_utf8_bom_comma_csv_with_english_headers():
    rows = _read("contracts_utf8_bom.csv")
    header = find_header_row(rows)
    assert header.index == 0
    fields = {field: position for position, field in header.columns.items()}
    assert rows[0][0] == "Contract number"  # the BOM is gone
    assert rows[1][fields["title"]] == "Cleaning, town hall"
    assert parse_yes_no(rows[1][fields["is_framework"]]) is True
    assert parse_money(rows[1][fields["estimated_value"]]) == Decimal("1250000.50")


def test_xlsx_with_typed_cells_and_several_sheets():
    data = (DATA / "kontrakter_teknisk.xlsx").read_bytes()
    assert sheet_names(data) == ["Avtaler 2026", "Notater"]
    rows = _read("kontrakter_teknisk.xlsx")
    header = find_header_row(rows)
    assert header.index == 2
    fields = {field: position for position, field in header.columns.items()}
    first, second = rows[3], rows[4]
    assert isinstance(first[fields["start_date"]], date | datetime)
    assert parse_date(first[fields["start_date"]]) == date(2023, 10, 1)
    assert parse_org_number(first[fields["org_number"]]) == "938740917"
    assert parse_money(first[fields["estimated_value"]]) == Decimal("2400000.00")
    assert parse_options(first[fields["options"]]) == [12, 12]
    assert parse_date(second[fields["start_date"]]) == date(2024, 5, 1)
    assert parse_money(rows[5][fields["estimated_value"]]) == Decimal("95000.50")
    assert find_header_row(_read("kontrakter_teknisk.xlsx", sheet="Notater")) is None


def test_unknown_sheet_is_refused():
    with pytest.raises(FileRefused):
        _read("kontrakter_teknisk.xlsx", sheet="Finnes ikke")


def test_header_synonyms_are_normalised():
    assert normalise_header("Anslått verdi (eks. mva)") == "anslått verdi"
    assert normalise_header(" Lønns- og arbeidsvilkår ") == "lønns og arbeidsvilkår"
    assert normalise_header("Org.nr") == "org nr"
    assert find_header_row([["Tittel", "Leverandør"]]) is None  # no contract number


def _zip(files: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_zip_bomb_is_refused_before_parsing():
    bomb = _zip({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"0" * 50_000_000})
    with pytest.raises(FileRefused):
        read_rows(bomb, "stor.xlsx")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("kontrakter.xlsx", b"Avtalenr;Tittel\r\nA-1;Renhold\r\n"),  # text named .xlsx
        ("kontrakter.csv", b"PK\x03\x04rest-of-a-zip"),  # a workbook named .csv
        ("kontrakter.xlsx", _zip({"word/document.xml": b"<w/>"})),  # a zip, not a workbook
        ("kontrakter.xlsx", b"PK\x03\x04 not really a zip"),
        ("kontrakter.xls", b"\xd0\xcf\x11\xe0 old excel"),
        ("kontrakter.pdf", b"%PDF-1.7"),
        ("kontrakter.csv", b"A\x00v\x00t\x00a\x00l\x00e\x00"),  # UTF-16 / binary
    ],
)
def test_extension_and_content_must_agree(name, data):
    with pytest.raises(FileRefused):
        read_rows(data, name)


def test_xml_entity_attack_does_not_expand(tmp_path):
    """A billion-laughs workbook: refused, or read without expanding the entities."""
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1">'
        b"<si><t>&lol3;</t></si></sst>"
    )
    source = (DATA / "kontrakter_teknisk.xlsx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        parts = {i.filename: archive.read(i.filename) for i in archive.infolist()}
    parts["xl/sharedStrings.xml"] = laughs
    try:
        rows = read_rows(_zip(parts), "angrep.xlsx")
    except FileRefused:
        return
    assert all("lollollol" not in str(cell) for row in rows for cell in row)
