"""Form fields that read what Norwegian users type: 1 250 000,50 and 31.12.2026."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import Field, StringField
from wtforms.widgets import DateInput

AMOUNT_CHARS = re.compile(r"[\s\u00a0\u202f]")
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y")


def parse_amount(raw: str) -> Decimal:
    """Parse a NOK amount: spaces as thousands separators, comma or point as decimal mark."""
    text = AMOUNT_CHARS.sub("", raw).lower().removeprefix("kr").removesuffix(",-").strip()
    if "," in text and "." in text:
        text = text.replace(".", "")  # 1.250.000,50
    text = text.replace(",", ".")
    value = Decimal(text)
    if not value.is_finite():
        raise InvalidOperation
    return value.quantize(Decimal("0.01"))


class AmountField(StringField):
    """A Decimal amount in NOK; empty means unknown."""

    def __init__(self, label=None, validators=None, allow_negative=False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.allow_negative = allow_negative

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        if not self.raw or not self.raw.strip():
            self.data = None
            return
        try:
            self.data = parse_amount(self.raw)
        except (InvalidOperation, ValueError):
            self.data = None
            raise ValueError(_l("Write an amount in kroner, like 1 250 000,50.")) from None
        if abs(self.data) > MAX_AMOUNT:
            raise ValueError(_l("The amount is too large."))
        if self.data < 0 and not self.allow_negative:
            raise ValueError(_l("The amount cannot be negative."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data:,.2f}".replace(",", " ").replace(".", ",").removesuffix(",00")


class DateField(Field):
    """A date from an <input type=date> (ISO) or typed as 31.12.2026."""

    widget = DateInput()

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not raw:
            return
        for fmt in DATE_FORMATS:
            try:
                self.data = datetime.strptime(raw, fmt).date()  # noqa: DTZ007
            except ValueError:
                continue
            if not date(1900, 1, 1) <= self.data <= date(2200, 12, 31):
                self.data = None
                raise ValueError(_l("The date must be between 1900 and 2200."))
            return
        raise ValueError(_l("Write a date like 31.12.2026."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if self.data else ""
