"""Cell values as Norwegian procurement offices write them in their spreadsheets.

Each parser takes what a reader returns (text, a number, a date) and gives a clean
value, or raises CellError with a message for the import report.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.no import orgnr

from contracts.fields import parse_amount

# Excel counts days from 1899-12-30 (its 1900 leap-year bug included).
EXCEL_EPOCH = date(1899, 12, 30)
DATE_PATTERNS = (
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$"), ("d", "m", "y")),
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{2})$"), ("d", "m", "yy")),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), ("d", "m", "y")),
)
MILLION = re.compile(r"^(?:kr\.?\s*)?([\d\s.,]+)\s*(?:mill(?:ioner)?\.?|mnok|mkr)$", re.I)
THOUSAND = re.compile(r"^(?:kr\.?\s*)?([\d\s.,]+)\s*(?:tusen|k)$", re.I)
MONTHS = re.compile(r"^(\d{1,3})\s*(?:mnd\.?|måned(?:er)?|mån\.?|months?|m)?$", re.I)
YEARS = re.compile(r"^(\d{1,2})\s*(?:år|years?)$", re.I)
OPTION_SUM = re.compile(
    r"^\d+(?:[.,]\d+)?(?:\s*\+\s*\d+(?:[.,]\d+)?)+\s*(år|mnd\.?|måneder)?$", re.I
)
OPTION_ONE = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(år|mnd\.?|måneder)$", re.I)
OPTION_TIMES = re.compile(r"^(\d+)\s*[x×*]\s*(\d+(?:[.,]\d+)?)\s*(år|mnd\.?|måneder)?$", re.I)
YES = {"ja", "j", "x", "yes", "y", "true", "1", "sann"}
NO = {"nei", "n", "no", "false", "0", "usann", "-"}
NONE = {"", "ingen", "nei", "none", "-", "0", "n/a", "ikke aktuelt"}


class CellError(ValueError):
    """A value that cannot be read; the message is shown in the import report."""


def _text(value: object) -> str:
    return re.sub(r"[\s\u00a0\u202f]+", " ", str(value)).strip()


def parse_date(value: object) -> date | None:
    """A date from an Excel date, an Excel serial number, 31.12.2019 or 2019-12-31."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value <= 2_958_465:  # Excel's serial range up to 9999-12-31
            return date.fromordinal(EXCEL_EPOCH.toordinal() + int(value))
        raise CellError(_l("Not a date: %(value)s", value=value))
    text = _text(value)
    if not text:
        return None
    for pattern, order in DATE_PATTERNS:
        if match := pattern.match(text):
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            year = parts.get("y") or 2000 + parts["yy"]
            try:
                return date(year, parts["m"], parts["d"])
            except ValueError:
                break
    raise CellError(_l("Not a date: %(value)s (write 31.12.2026)", value=text))


def parse_money(value: object) -> Decimal | None:
    """An amount in NOK: numbers, 1 250 000,50, kr 300 000, 1,2 mill, 450 tusen."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CellError(_l("Not an amount: %(value)s", value=value))
    if isinstance(value, int):
        return Decimal(value).quantize(Decimal("0.01"))
    if isinstance(value, float):
        # Readers return whole numbers as floats; repr keeps what the cell showed.
        return Decimal(repr(value)).quantize(Decimal("0.01"))
    text = _text(value)
    if not text:
        return None
    factor = Decimal(1)
    if match := MILLION.match(text):
        text, factor = match.group(1), Decimal(1_000_000)
    elif match := THOUSAND.match(text):
        text, factor = match.group(1), Decimal(1_000)
    try:
        amount = parse_amount(text) * factor
    except (InvalidOperation, ValueError):
        raise CellError(_l("Not an amount: %(value)s", value=_text(value))) from None
    if amount < 0:
        raise CellError(_l("The amount cannot be negative: %(value)s", value=_text(value)))
    return amount.quantize(Decimal("0.01"))


def parse_months(value: object) -> int | None:
    """A notice period in months: 3, "3 mnd", "3 måneder", "1 år"."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0 or value != int(value):
            raise CellError(_l("Not a number of months: %(value)s", value=value))
        return int(value)
    text = _text(value).lower()
    if text in NONE and text not in {"0"}:
        return None
    if match := MONTHS.match(text):
        return int(match.group(1))
    if match := YEARS.match(text):
        return int(match.group(1)) * 12
    raise CellError(_l("Not a notice period: %(value)s (write 3 mnd)", value=_text(value)))


def _in_months(amount: str, unit: str | None) -> int:
    number = Decimal(amount.replace(",", "."))
    months = number if unit and unit.lower().startswith(("mnd", "mån")) else number * 12
    if months != int(months) or months <= 0:
        raise CellError(_l("An option must be whole months: %(value)s", value=amount))
    return int(months)


def parse_options(value: object) -> list[int]:
    """Option extensions in months from "1+1 år", "1+1+1", "2 x 1 år", "6+6 mnd", "ingen".

    In "1+1 år" the first number is the main period and the rest are options, as
    Norwegian contracts are written; "2 x 1 år" means two options of a year, and "1 år"
    alone (like a bare number) one option of a year.
    """
    if value is None:
        return []
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value == 0:
            return []
        return [_in_months(str(value), None)]
    text = _text(value).lower()
    if text in NONE:
        return []
    if OPTION_SUM.match(text):
        unit_match = re.search(r"(år|mnd\.?|måneder)\s*$", text)
        unit = unit_match.group(1) if unit_match else None
        parts = re.findall(r"\d+(?:[.,]\d+)?", text)
        return [_in_months(p, unit) for p in parts[1:]]
    if match := OPTION_TIMES.match(text):
        count, each, unit = match.groups()
        return [_in_months(each, unit)] * int(count)
    if match := OPTION_ONE.match(text):
        return [_in_months(*match.groups())]
    raise CellError(_l("Options not understood: %(value)s (write 1+1 år)", value=_text(value)))


def parse_yes_no(value: object) -> bool:
    """Ja/nei, x, yes/no, 1/0; blank is no."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
        raise CellError(_l("Write ja or nei, not %(value)s", value=value))
    text = _text(value).lower().rstrip(".")
    if text == "" or text in NO:
        return False
    if text in YES:
        return True
    raise CellError(_l("Write ja or nei, not %(value)s", value=_text(value)))


def parse_org_number(value: object) -> str | None:
    """A Norwegian organisation number with or without spaces, checked with MOD11."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value == int(value):
        value = int(value)
    text = _text(value).upper().removeprefix("NO").removesuffix("MVA").strip()
    if not text:
        return None
    try:
        return orgnr.validate(text)
    except StdnumError:
        raise CellError(
            _l("Not a valid organisation number: %(value)s", value=_text(value))
        ) from None
