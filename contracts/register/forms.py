"""Forms for contracts, options, amendments and termination."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from contracts.auth.forms import coerce_optional_int
from contracts.db import Session
from contracts.fields import AmountField, DateField
from contracts.labels import OPTION_DECISION_LABELS, PROCEDURE_LABELS, choices
from contracts.parties.models import Supplier
from contracts.register import services

MONTHS = [
    _l("January"),
    _l("February"),
    _l("March"),
    _l("April"),
    _l("May"),
    _l("June"),
    _l("July"),
    _l("August"),
    _l("September"),
    _l("October"),
    _l("November"),
    _l("December"),
]
ORG_NUMBER_IN_TEXT = re.compile(r"(\d{3})\s?(\d{3})\s?(\d{3})")


def find_supplier(text: str) -> Supplier | list[Supplier] | None:
    """Resolve what the user typed: an organisation number, "Name (123456789)" or a name."""
    text = text.strip()
    if match := ORG_NUMBER_IN_TEXT.search(text):
        number = "".join(match.groups())
        found = Session.scalar(select(Supplier).where(Supplier.org_number == number))
        if found is not None:
            return found
    name = re.sub(r"\s*\(.*\)\s*$", "", text).strip().lower()
    matches = Session.scalars(
        select(Supplier).where(func.lower(Supplier.name) == name).limit(5)
    ).all()
    if not matches:
        from contracts.db import unicode_lower

        matches = Session.scalars(
            select(Supplier).where(unicode_lower(Supplier.name) == name).limit(5)
        ).all()
    if len(matches) == 1:
        return matches[0]
    return list(matches) or None


def supplier_label(supplier: Supplier) -> str:
    return f"{supplier.name} ({supplier.org_number})" if supplier.org_number else supplier.name


class ContractForm(FlaskForm):
    reference = StringField(
        _l("Contract number"),
        validators=[DataRequired(_l("Enter the contract number.")), Length(max=60)],
    )
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=300)]
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10000)])
    supplier = StringField(
        _l("Supplier"),
        description=_l("Organisation number or the supplier's exact name."),
        validators=[DataRequired(_l("Enter the supplier.")), Length(max=250)],
    )
    category_id = SelectField(
        _l("Category"),
        coerce=coerce_optional_int,
        validators=[InputRequired(_l("Choose a category."))],
    )
    unit_id = SelectField(
        _l("Unit"), coerce=coerce_optional_int, validators=[InputRequired(_l("Choose a unit."))]
    )
    owner_id = SelectField(_l("Contract owner"), coerce=coerce_optional_int)
    manager_id = SelectField(_l("Contract manager"), coerce=coerce_optional_int)
    procedure = SelectField(_l("Procurement procedure"), choices=choices(PROCEDURE_LABELS))
    is_framework = BooleanField(_l("Framework agreement"))
    estimated_value = AmountField(
        _l("Estimated total value (NOK excl. VAT)"), validators=[Optional()]
    )
    annual_value = AmountField(_l("Annual value (NOK excl. VAT)"), validators=[Optional()])
    signed_on = DateField(
        _l("Signed on"), description=_l("Leave empty while the contract is a draft.")
    )
    start_date = DateField(
        _l("Start date"), validators=[InputRequired(_l("Enter the start date."))]
    )
    end_date = DateField(
        _l("End date"), description=_l("Without options. Leave empty for open-ended contracts.")
    )
    notice_months = IntegerField(
        _l("Notice period (months)"),
        validators=[
            Optional(),
            NumberRange(min=0, max=120, message=_l("Between 0 and 120 months.")),
        ],
    )
    price_adjustment_index = StringField(
        _l("Price adjustment index"),
        description=_l("For example the consumer price index (KPI)."),
        validators=[Optional(), Length(max=120)],
    )
    price_adjustment_month = SelectField(_l("Price adjustment month"), coerce=coerce_optional_int)
    has_wage_conditions = BooleanField(_l("Clause on wage and working conditions"))
    is_confidential = BooleanField(
        _l("Confidential"),
        description=_l(
            "Only the procurement office, auditors and the "
            "contract's unit, owner and manager can see it."
        ),
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=10000)])
    version = HiddenField()

    def __init__(self, *args, units=(), categories=(), users=(), contract_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.contract_id = contract_id
        self.supplier_obj: Supplier | None = None
        none = [(None, _l("(none)"))]
        self.category_id.choices = [(None, _l("Choose…"))] + [(c.id, c.name) for c in categories]
        self.unit_id.choices = [(None, _l("Choose…"))] + [(u.id, u.name) for u in units]
        people = [(u.id, f"{u.name} <{u.email}>") for u in users]
        self.owner_id.choices = none + people
        self.manager_id.choices = none + people
        self.price_adjustment_month.choices = none + [(i + 1, m) for i, m in enumerate(MONTHS)]

    def validate_reference(self, field):
        if services.reference_taken(field.data, self.contract_id):
            raise ValidationError(_l("Another contract already has this number."))

    def validate_supplier(self, field):
        found = find_supplier(field.data or "")
        if found is None:
            raise ValidationError(
                _l("No supplier found. Register the supplier first, or check the number.")
            )
        if isinstance(found, list):
            raise ValidationError(
                _l("Several suppliers have this name. Use the organisation number.")
            )
        self.supplier_obj = found

    def validate_category_id(self, field):
        if field.data is None:
            raise ValidationError(_l("Choose a category."))

    def validate_unit_id(self, field):
        if field.data is None:
            raise ValidationError(_l("Choose a unit."))

    def validate_end_date(self, field):
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The end date cannot be before the start date."))

    def validate_annual_value(self, field):
        total = self.estimated_value.data
        if field.data is not None and total is not None and field.data > total:
            raise ValidationError(_l("The annual value cannot exceed the total value."))

    def values(self) -> dict:
        """The contract attributes this form sets, mapped explicitly."""
        values = {
            name: getattr(self, name).data
            for name in services.CONTRACT_FIELDS
            if name != "supplier_id"
        }
        values["supplier_id"] = self.supplier_obj.id if self.supplier_obj else None
        return values


class OptionForm(FlaskForm):
    extension_months = IntegerField(
        _l("Extension (months)"),
        validators=[
            InputRequired(_l("Enter the length of the extension.")),
            NumberRange(min=1, max=120, message=_l("Between 1 and 120 months.")),
        ],
    )
    exercise_deadline = DateField(
        _l("Exercise deadline"), validators=[InputRequired(_l("Enter the deadline."))]
    )


class OptionDecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=choices(OPTION_DECISION_LABELS))
    decided_on = DateField(_l("Decided on"))

    def validate_decided_on(self, field):
        if self.decision.data != "pending" and field.data is None:
            raise ValidationError(_l("Enter the date of the decision."))


class AmendmentForm(FlaskForm):
    amended_on = DateField(_l("Date"), validators=[InputRequired(_l("Enter the date."))])
    description = TextAreaField(
        _l("What was changed"),
        validators=[DataRequired(_l("Describe the change.")), Length(max=5000)],
    )
    value_change = AmountField(
        _l("Change in value (NOK excl. VAT)"), allow_negative=True, validators=[Optional()]
    )


class TerminateForm(FlaskForm):
    terminated_on = DateField(
        _l("Ends on"), validators=[InputRequired(_l("Enter the date the contract ends."))]
    )
    termination_reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=5000)])


class ConfirmForm(FlaskForm):
    """A bare form for buttons that change something: it carries the CSRF token."""
