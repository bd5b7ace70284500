"""Forms of the gain pages: a plan, an entry, and confirming or correcting an estimate.

The fields only read what is typed; the rules (decimals, limits, periods, what a method
needs) are checked by followup.gains.services, whose messages are put on the fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from contracts.auth.forms import coerce_optional_int
from contracts.auth.models import User
from contracts.fields import AMOUNT_CHARS, DateField
from contracts.labels import choices
from followup.gains.labels import GAIN_METHOD_LABELS, GAIN_TYPE_LABELS, PERIOD_KIND_LABELS

TEXT_MAX = 10000
NUMBER_MAX_CHARS = 40


def parse_number(raw: str) -> Decimal:
    """A number as Norwegians type it (1 250 000,50; kr 300; 12.5), with every decimal
    kept: whether there are too many is for the service to say."""
    text = AMOUNT_CHARS.sub("", raw).lower().removeprefix("kr").removesuffix(",-").strip()
    if "," in text and "." in text:
        text = text.replace(".", "")  # 1.250.000,50
    value = Decimal(text.replace(",", "."))
    if not value.is_finite():
        raise InvalidOperation
    return value


def show_number(value: Decimal | None) -> str:
    """1250000.5 -> '1 250 000,50'; 12.5000 -> '12,50'; 0.1234 -> '0,1234'."""
    if value is None:
        return ""
    whole, _sep, fraction = f"{value:,f}".partition(".")
    fraction = fraction.rstrip("0")
    if fraction:
        fraction = "," + fraction.ljust(2, "0")
    return whole.replace(",", "\u00a0") + fraction


class NumberField(StringField):
    """A Decimal typed the Norwegian way; empty means none."""

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        self.data = None
        if not self.raw or not self.raw.strip():
            return
        if len(self.raw) > NUMBER_MAX_CHARS:
            raise ValueError(_l("The number is too long."))
        try:
            self.data = parse_number(self.raw)
        except (InvalidOperation, ValueError):
            raise ValueError(_l("Write a number, like 1 250 000,50.")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return show_number(self.data)


def _people(users: Sequence[User]) -> list[tuple[int | None, str]]:
    return [(None, _l("(nobody)"))] + [(u.id, f"{u.name} <{u.email}>") for u in users]


class ServiceErrorsMixin:
    """Put a service's GainError messages on the fields they name."""

    def add_errors(self, errors: Mapping[str, str]) -> None:
        for name, message in errors.items():
            field = self._fields.get(name) or self._fields.get(self.FALLBACK_FIELD)
            field.errors = [*field.errors, message]

    FALLBACK_FIELD = ""


class GainPlanForm(ServiceErrorsMixin, FlaskForm):
    FALLBACK_FIELD = "description"

    # Type and description
    gain_type = SelectField(
        _l("Type of gain"),
        choices=[("", _l("Choose…")), *choices(GAIN_TYPE_LABELS)],
        validators=[DataRequired(_l("Choose the type of gain."))],
    )
    description = TextAreaField(
        _l("Description"),
        description=_l("What the contract should save or improve."),
        validators=[DataRequired(_l("Describe the gain.")), Length(max=2000)],
    )
    # The baseline (nullpunkt)
    baseline_value = NumberField(
        _l("Baseline value"),
        description=_l("The level before the contract: NOK per year, or a quantity in the unit."),
    )
    baseline_date = DateField(_l("Baseline date"), validators=[Optional()])
    baseline_source = StringField(
        _l("Source of the baseline"),
        description=_l("Where the figure comes from: accounts, invoices, a survey …"),
        validators=[Optional(), Length(max=300)],
    )
    baseline_description = TextAreaField(
        _l("What the baseline describes"), validators=[Optional(), Length(max=TEXT_MAX)]
    )
    # Target and method
    target_per_year = NumberField(
        _l("Target per year"),
        description=_l("NOK per year for economic gains; a quantity in the unit otherwise."),
    )
    unit = StringField(
        _l("Unit"),
        description=_l("For qualitative gains: what is counted, e.g. tonnes CO₂ or apprentices."),
        validators=[Optional(), Length(max=40)],
    )
    method = SelectField(
        _l("How the gain is measured"),
        choices=choices(GAIN_METHOD_LABELS),
        default="pro_rata",
        validators=[DataRequired(_l("Choose how the gain is measured."))],
    )
    measurement = TextAreaField(
        _l("Measurement"),
        description=_l("How it is measured, in words."),
        validators=[Optional(), Length(max=TEXT_MAX)],
    )
    # Price gain
    baseline_unit_price = NumberField(_l("Unit price before (baseline)"))
    contract_unit_price = NumberField(_l("Unit price in the contract"))
    annual_volume = NumberField(_l("Expected volume per year"))
    # Time saved
    hours_per_year = NumberField(_l("Hours saved per year"))
    hourly_rate = NumberField(_l("Hourly rate (NOK)"))
    # Period and responsible person
    entry_period = SelectField(
        _l("Gains are recorded per"), choices=choices(PERIOD_KIND_LABELS), default="month"
    )
    period_start = DateField(
        _l("From"), validators=[InputRequired(_l("Enter the first day of the plan."))]
    )
    period_end = DateField(
        _l("To"), validators=[InputRequired(_l("Enter the last day of the plan."))]
    )
    responsible_id = SelectField(_l("Responsible person"), coerce=coerce_optional_int)

    GROUPS = (
        (_l("Type and description"), ("gain_type", "description")),
        (
            _l("Baseline (nullpunkt)"),
            ("baseline_value", "baseline_date", "baseline_source", "baseline_description"),
        ),
        (_l("Target and method"), ("target_per_year", "unit", "method", "measurement")),
        (
            _l("Price gain: price difference × volume"),
            ("baseline_unit_price", "contract_unit_price", "annual_volume"),
        ),
        (_l("Time saved: hours × hourly rate"), ("hours_per_year", "hourly_rate")),
        (
            _l("Period and responsible person"),
            ("entry_period", "period_start", "period_end", "responsible_id"),
        ),
    )

    def __init__(self, *args, users: Sequence[User] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.responsible_id.choices = _people(users)

    def groups(self):
        return [(title, [self[name] for name in names]) for title, names in self.GROUPS]

    def values(self) -> dict:
        """The plan's attributes from the form, by name (the service checks them)."""
        return {
            name: self[name].data
            for _title, names in self.GROUPS
            for name in names
            if name in self._fields
        }


class GainEntryForm(ServiceErrorsMixin, FlaskForm):
    FALLBACK_FIELD = "period_start"

    period_start = DateField(
        _l("Period from"), validators=[InputRequired(_l("Enter the first day of the period."))]
    )
    period_end = DateField(
        _l("Period to"), validators=[InputRequired(_l("Enter the last day of the period."))]
    )
    value = NumberField(
        _l("Realised gain (NOK)"), description=_l("Negative for a loss, e.g. -12 500.")
    )
    quantity = NumberField(_l("Realised quantity"))
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=40)])
    evidence = TextAreaField(
        _l("Evidence"),
        description=_l("Where the documentation is: invoices, reports, a survey …"),
        validators=[Optional(), Length(max=TEXT_MAX)],
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=TEXT_MAX)])
    correction_reason = TextAreaField(
        _l("Reason for the correction"),
        description=_l("The entry is confirmed: say why it is changed."),
        validators=[Optional(), Length(max=TEXT_MAX)],
    )
    confirm = BooleanField(_l("The gain is documented: confirm the entry"))

    def values(self) -> dict:
        names = ("period_start", "period_end", "value", "quantity", "unit", "evidence", "notes")
        return {name: self[name].data for name in names}


class ConfirmEntryForm(FlaskForm):
    """Only the CSRF token: the entry is confirmed as it stands."""


class CorrectEntryForm(ServiceErrorsMixin, FlaskForm):
    FALLBACK_FIELD = "value"

    value = NumberField(
        _l("Correct value"),
        description=_l("Negative for a loss."),
        validators=[InputRequired(_l("Give the correct value."))],
    )
    correction_reason = TextAreaField(
        _l("Why the estimate is corrected"),
        validators=[DataRequired(_l("Say why the value differs from the estimate.")),
                    Length(max=TEXT_MAX)],
    )  # fmt: skip


class DeletePlanForm(FlaskForm):
    """Only the CSRF token."""
