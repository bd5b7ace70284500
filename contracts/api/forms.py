"""The profile page's token form, and JSON bodies turned into the web forms' input.

The API validates with the very forms the pages use: a JSON body becomes the strings a
browser would post (numbers and dates as text, true as a ticked checkbox), so every rule
and message is the form's own. Only the JSON types are checked here.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from contracts.auth.models import User
from contracts.db import Session
from contracts.parties.models import Supplier
from contracts.register.forms import ContractForm, supplier_label
from contracts.register.models import Contract

# Ids are 32-bit integers in the database; larger ones cannot name a row.
MAX_ID = 2**31 - 1


class TokenForm(FlaskForm):
    name = StringField(
        _l("Name of the token"),
        description=_l("What the token is for, for example the system that will use it."),
        validators=[DataRequired(_l("Enter a name.")), Length(max=100)],
    )


class Kind(enum.Enum):
    """The JSON types a member of a body may have."""

    TEXT = "text"
    ID = "id"
    INTEGER = "integer"
    BOOL = "bool"
    AMOUNT = "amount"
    DATE = "date"


TYPE_MESSAGES = {
    Kind.TEXT: _l("Must be text or null."),
    Kind.ID: _l("Must be a whole number or null."),
    Kind.INTEGER: _l("Must be a whole number or null."),
    Kind.BOOL: _l("Must be true or false."),
    Kind.AMOUNT: _l('Must be an amount (a number or text like "1 250 000,50") or null.'),
    Kind.DATE: _l('Must be a date like "2026-12-31" or null.'),
}

# The members of a contract body, with their types. `supplier` is the form's text field
# (organisation number or exact name); `supplier_id` names the supplier by id instead.
CONTRACT_MEMBERS: dict[str, Kind] = {
    "reference": Kind.TEXT,
    "title": Kind.TEXT,
    "description": Kind.TEXT,
    "supplier_id": Kind.ID,
    "supplier": Kind.TEXT,
    "category_id": Kind.ID,
    "unit_id": Kind.ID,
    "owner_id": Kind.ID,
    "manager_id": Kind.ID,
    "procedure": Kind.TEXT,
    "is_framework": Kind.BOOL,
    "estimated_value": Kind.AMOUNT,
    "annual_value": Kind.AMOUNT,
    "signed_on": Kind.DATE,
    "start_date": Kind.DATE,
    "end_date": Kind.DATE,
    "notice_months": Kind.INTEGER,
    "price_adjustment_index": Kind.TEXT,
    "price_adjustment_month": Kind.INTEGER,
    "has_wage_conditions": Kind.BOOL,
    "is_confidential": Kind.BOOL,
    "notes": Kind.TEXT,
}
SUPPLIER_MEMBERS: dict[str, Kind] = {
    "name": Kind.TEXT,
    "org_number": Kind.TEXT,
    "contact_email": Kind.TEXT,
    "contact_phone": Kind.TEXT,
    "notes": Kind.TEXT,
}

FormValue = str | bool


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _storable(text: str) -> bool:
    """Whether the databases can hold the text: no NUL, no lone surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _form_value(value: Any, kind: Kind) -> FormValue:
    """What a browser would post for a JSON value; ValueError with a message if mistyped."""
    if kind is Kind.BOOL:
        if isinstance(value, bool):
            return value
        raise ValueError(TYPE_MESSAGES[kind])
    if value is None:
        return ""
    if isinstance(value, str):
        if kind in (Kind.ID, Kind.INTEGER):
            raise ValueError(TYPE_MESSAGES[kind])
        if not _storable(value):
            raise ValueError(_l("Contains characters that are not allowed."))
        return value
    if _is_int(value) and kind in (Kind.ID, Kind.INTEGER, Kind.AMOUNT):
        return str(value)
    if isinstance(value, Decimal) and kind in (Kind.AMOUNT, Kind.INTEGER):
        # A fraction in a whole-number field is left to the form to refuse.
        return str(value)
    raise ValueError(TYPE_MESSAGES[kind])


def convert(
    body: dict[str, Any], members: dict[str, Kind]
) -> tuple[dict[str, FormValue], dict[str, list[str]]]:
    """Form values for the body's members, and type errors (unknown members too)."""
    values: dict[str, FormValue] = {}
    errors: dict[str, list[str]] = {}
    for key, value in body.items():
        kind = members.get(key)
        if kind is None:
            errors[key] = [str(_l("Unknown field."))]
            continue
        try:
            values[key] = _form_value(value, kind)
        except ValueError as error:
            errors[key] = [str(error.args[0])]
    return values, errors


def formdata(values: dict[str, FormValue]) -> MultiDict:
    """The values as a posted form: an unticked checkbox is simply not sent."""
    data: MultiDict = MultiDict()
    for key, value in values.items():
        if value is True:
            data.add(key, "y")
        elif value is not False:
            data.add(key, value)
    return data


def contract_values(contract: Contract) -> dict[str, FormValue]:
    """A contract's current values as its edit form would post them."""

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    return {
        "reference": contract.reference,
        "title": contract.title,
        "description": text(contract.description),
        "supplier": supplier_label(contract.supplier),
        "category_id": str(contract.category_id),
        "unit_id": str(contract.unit_id),
        "owner_id": text(contract.owner_id),
        "manager_id": text(contract.manager_id),
        "procedure": contract.procedure.value,
        "is_framework": contract.is_framework,
        "estimated_value": text(contract.estimated_value),
        "annual_value": text(contract.annual_value),
        "signed_on": contract.signed_on.isoformat() if contract.signed_on else "",
        "start_date": contract.start_date.isoformat(),
        "end_date": contract.end_date.isoformat() if contract.end_date else "",
        "notice_months": text(contract.notice_months),
        "price_adjustment_index": text(contract.price_adjustment_index),
        "price_adjustment_month": text(contract.price_adjustment_month),
        "has_wage_conditions": contract.has_wage_conditions,
        "is_confidential": contract.is_confidential,
        "notes": text(contract.notes),
    }


def supplier_by_id(value: FormValue) -> Supplier | None:
    """The supplier a body's supplier_id names, if it exists."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return None
    supplier_id = int(value)
    return Session.get(Supplier, supplier_id) if 1 <= supplier_id <= MAX_ID else None


class ApiContractForm(ContractForm):
    """The web's contract form, where the supplier may also be named by id.

    People already on a contract stay valid choices even if they have since been
    deactivated, so changing one field does not force a change of owner.
    """

    def __init__(self, *args, supplier: Supplier | None = None, keep: tuple = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.given_supplier = supplier
        for user in keep:
            if isinstance(user, User):
                for field in (self.owner_id, self.manager_id):
                    if all(value != user.id for value, _label in field.choices):
                        field.choices.append((user.id, f"{user.name} <{user.email}>"))

    def validate_supplier(self, field):
        if self.given_supplier is not None:
            self.supplier_obj = self.given_supplier
            return
        super().validate_supplier(field)
