"""Forms of the reminder pages: a contract's lead times and snoozes, a user's instant kinds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import InputRequired, Length, ValidationError

from contracts.clock import today
from contracts.fields import DateField
from contracts.register.models import Contract, OptionDecision
from jobs.labels import REMINDER_LABELS
from jobs.models import ReminderKind, Snooze
from jobs.settings import (
    AFTER_KINDS,
    CONTRACT_SNOOZE_KINDS,
    MAX_SNOOZE_DAYS,
    PERIOD_KINDS,
    LeadDaysError,
    parse_lead_days,
)

# A snooze target names a subject in one form value: "expiry" (the contract's own) or
# "option_deadline:12" (one option).
Target = tuple[ReminderKind, str, int]


def target_value(kind: ReminderKind, entity_type: str, entity_id: int) -> str:
    return kind.value if entity_type == "contracts" else f"{kind.value}:{entity_id}"


def parse_target(value: str, contract: Contract) -> Target | None:
    """The (kind, entity type, entity id) a form value names on this contract, else None."""
    kind_text, _sep, option_text = (value or "").partition(":")
    if kind_text not in ReminderKind._value2member_map_:
        return None
    kind = ReminderKind(kind_text)
    if not option_text:
        return (kind, "contracts", contract.id) if kind in CONTRACT_SNOOZE_KINDS else None
    if kind != ReminderKind.OPTION_DEADLINE or not option_text.isdigit():
        return None
    if int(option_text) not in {option.id for option in contract.options}:
        return None
    return kind, "contract_options", int(option_text)


def lead_hint(kind: ReminderKind) -> str:
    if kind in PERIOD_KINDS:
        return str(_l("How often, in days."))
    if kind in AFTER_KINDS:
        return str(_l("Days after the due date, for example 1, 7, 14."))
    return str(_l("Days before the date, for example 180, 90, 30."))


class LeadTimesForm(FlaskForm):
    """One text field per kind of reminder (named by the kind); empty means the default."""

    def __init__(self, *args, defaults: Mapping[ReminderKind, list[int]], **kwargs):
        super().__init__(*args, **kwargs)
        self.parsed: dict[ReminderKind, list[int] | None] = {}
        for kind in ReminderKind:
            field = self[kind.value]
            shown = ", ".join(str(day) for day in defaults[kind])
            field.description = _l(
                "%(hint)s Empty: the default (%(days)s).", hint=lead_hint(kind), days=shown
            )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for kind in ReminderKind:
            field = self[kind.value]
            try:
                self.parsed[kind] = parse_lead_days(kind, field.data or "")
            except LeadDaysError as error:
                field.errors = [*field.errors, str(error)]
                valid = False
        return valid

    def kind_fields(self):
        return [self[kind.value] for kind in ReminderKind]


for _kind in ReminderKind:
    setattr(
        LeadTimesForm,
        _kind.value,
        StringField(REMINDER_LABELS[_kind], validators=[Length(max=100)]),
    )


def _option_label(option) -> str:
    what = REMINDER_LABELS[ReminderKind.OPTION_DEADLINE]
    return f"{what} {format_date(option.exercise_deadline, 'dd.MM.yyyy')}"


class SnoozeForm(FlaskForm):
    target = SelectField(_l("Reminder"), validators=[InputRequired(_l("Choose a reminder."))])
    until = DateField(
        _l("Hold until"),
        description=_l("No reminders of it before this date; they come again on the date."),
        validators=[InputRequired(_l("Enter the date."))],
    )

    def __init__(self, *args, contract: Contract, **kwargs):
        super().__init__(*args, **kwargs)
        self.contract = contract
        self.parsed: Target | None = None
        self.target.choices = [
            (kind.value, str(REMINDER_LABELS[kind])) for kind in CONTRACT_SNOOZE_KINDS
        ] + [
            (target_value(ReminderKind.OPTION_DEADLINE, "contract_options", o.id), _option_label(o))
            for o in contract.options
            if o.decision == OptionDecision.PENDING
        ]

    def validate_target(self, field: SelectField) -> None:
        self.parsed = parse_target(field.data, self.contract)
        if self.parsed is None:
            raise ValidationError(_l("Choose a reminder."))

    def validate_until(self, field: DateField) -> None:
        day = today()
        if field.data is not None and field.data <= day:
            raise ValidationError(_l("The date must be after today."))
        if field.data is not None and field.data > day + timedelta(days=MAX_SNOOZE_DAYS):
            raise ValidationError(_l("A reminder can be held for at most two years."))


class EndSnoozeForm(FlaskForm):
    target = SelectField(_l("Reminder"), validators=[InputRequired(_l("Choose a reminder."))])

    def __init__(self, *args, contract: Contract, snoozed: Sequence[Snooze] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.contract = contract
        self.parsed: Target | None = None
        self.target.choices = [
            (target_value(s.kind, s.entity_type, s.entity_id), s.kind.value) for s in snoozed
        ]
        self.target.validate_choice = False  # checked against the contract below

    def validate_target(self, field: SelectField) -> None:
        self.parsed = parse_target(field.data, self.contract)
        if self.parsed is None:
            raise ValidationError(_l("Choose a reminder."))


class InstantKindsForm(FlaskForm):
    """One checkbox per kind of reminder (named by the kind)."""

    def kind_fields(self):
        return [self[kind.value] for kind in ReminderKind]

    def chosen(self) -> list[str]:
        return [kind.value for kind in ReminderKind if self[kind.value].data]


for _kind in ReminderKind:
    setattr(InstantKindsForm, _kind.value, BooleanField(REMINDER_LABELS[_kind]))
del _kind
