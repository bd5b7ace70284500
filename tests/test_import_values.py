"""Reading the values Norwegian procurement offices write in their spreadsheets."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from contracts.exchange.values import (
    CellError,
    parse_date,
    parse_money,
    parse_months,
    parse_options,
    parse_org_number,
    parse_yes_no,
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("31.12.2019", date(2019, 12, 31)),
        ("1.2.2020", date(2020, 2, 1)),
        ("31.12.19", date(2019, 12, 31)),
        ("2019-12-31", date(2019, 12, 31)),
        (" 31.12.2019 ", date(2019, 12, 31)),
        ("31/12/2019", date(2019, 12, 31)),
        (datetime(2019, 12, 31, 0, 0), date(2019, 12, 31)),
        (date(2019, 12, 31), date(2019, 12, 31)),
        (43830, date(2019, 12, 31)),  # an Excel serial number
        (43830.0, date(2019, 12, 31)),
        ("", None),
        (None, None),
    ],
)
def test_dates(cell, expected):
    assert parse_date(cell) == expected


@pytest.mark.parametrize("cell", ["31.02.2020", "2019-13-01", "snart", "12/31/2019", -5, "1.1"])
def test_bad_dates(cell):
    with pytest.raises(CellError):
        parse_date(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1 250 000,50", Decimal("1250000.50")),
        ("1\u00a0250\u00a0000,50", Decimal("1250000.50")),
        ("kr 300 000", Decimal("300000.00")),
        ("kr 300 000,-", Decimal("300000.00")),
        ("1.250.000,50", Decimal("1250000.50")),
        ("1,2 mill", Decimal("1200000.00")),
        ("1,2 mill.", Decimal("1200000.00")),
        ("2 millioner", Decimal("2000000.00")),
        ("450 tusen", Decimal("450000.00")),
        (1250000, Decimal("1250000.00")),
        (1250000.5, Decimal("1250000.50")),
        (1200000.0, Decimal("1200000.00")),
        ("", None),
        (None, None),
    ],
)
def test_amounts(cell, expected):
    assert parse_money(cell) == expected


@pytest.mark.parametrize("cell", ["mange penger", "-5000", "1,2,3 mill", True, "NaN", "Infinity"])
def test_bad_amounts(cell):
    with pytest.raises(CellError):
        parse_money(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1+1 år", [12]),
        ("2+1+1 år", [12, 12]),
        ("2 + 1 + 1", [12, 12]),
        ("2 x 1 år", [12, 12]),
        ("3x1", [12, 12, 12]),
        ("1+0,5 år", [6]),
        ("12+6 mnd", [6]),
        ("1 år", [12]),
        ("6 mnd", [6]),
        (2, [24]),
        ("ingen", []),
        ("Nei", []),
        ("", []),
        (None, []),
        (0, []),
    ],
)
def test_options(cell, expected):
    assert parse_options(cell) == expected


@pytest.mark.parametrize("cell", ["kanskje", "1+0,3 år", "1+x"])
def test_bad_options(cell):
    with pytest.raises(CellError):
        parse_options(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("3 mnd", 3),
        ("3 mnd.", 3),
        ("6 måneder", 6),
        ("1 år", 12),
        (3, 3),
        (3.0, 3),
        ("3", 3),
        ("0", 0),
        ("ingen", None),
        ("", None),
        (None, None),
    ],
)
def test_notice(cell, expected):
    assert parse_months(cell) == expected


@pytest.mark.parametrize("cell", ["tre måneder", -1, 2.5, "3 uker"])
def test_bad_notice(cell):
    with pytest.raises(CellError):
        parse_months(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("ja", True),
        ("Ja", True),
        ("JA", True),
        ("x", True),
        ("X", True),
        ("yes", True),
        (1, True),
        (True, True),
        ("nei", False),
        ("Nei.", False),
        ("", False),
        (None, False),
        (0, False),
        ("-", False),
    ],
)
def test_yes_no(cell, expected):
    assert parse_yes_no(cell) is expected


@pytest.mark.parametrize("cell", ["kanskje", 2, "jo"])
def test_bad_yes_no(cell):
    with pytest.raises(CellError):
        parse_yes_no(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("974 760 673", "974760673"),
        ("974760673", "974760673"),
        (974760673, "974760673"),
        (974760673.0, "974760673"),
        ("NO 974 760 673 MVA", "974760673"),
        ("", None),
        (None, None),
    ],
)
def test_org_numbers(cell, expected):
    assert parse_org_number(cell) == expected


@pytest.mark.parametrize("cell", ["974 760 674", "12345", "abc"])
def test_bad_org_numbers(cell):
    with pytest.raises(CellError):
        parse_org_number(cell)


def test_errors_name_the_value_in_norwegian(app):
    with app.test_request_context():
        with pytest.raises(CellError) as error:
            parse_date("snart")
        assert str(error.value.args[0]) == "Ikke en dato: snart (skriv 31.12.2026)"
        with pytest.raises(CellError) as error:
            parse_org_number("974 760 674")
        assert str(error.value.args[0]) == "Ikke et gyldig organisasjonsnummer: 974 760 674"
