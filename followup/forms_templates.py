"""Forms for method templates and their activity rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from contracts.auth.forms import coerce_optional_int
from contracts.fields import AmountField
from contracts.labels import choices
from followup import template_edits
from followup.labels import (
    ACTIVITY_KIND_LABELS,
    ANCHOR_LABELS,
    CRITICALITY_LABELS,
    RECURRENCE_LABELS,
    RESPONSIBLE_LABELS,
)
from followup.models import Anchor, MethodTemplate, Recurrence
from followup.planning import rule_problems

# planning.rule_problems() keys: the field each belongs to and what to tell the user.
PROBLEM_MESSAGES = {
    "recurrence_needs_start": (
        "recurrence",
        _l(
            "Only rules counted from the contract start can repeat on their own. Choose "
            "“Contract start” as the date to count from, or “Once”."
        ),
    ),
    "anchor_repeats_itself": (
        "recurrence",
        _l(
            "This date already comes back by itself (each option, anniversary or price "
            "adjustment), so the rule must be “Once”."
        ),
    ),
    "offset_range": (
        "offset_days",
        _l("The number of days must be between -1100 and 1100 (about three years)."),
    ),
    "criticality_never": (
        "min_criticality",
        _l(
            "The lowest criticality is above the highest, so the rule can never apply. "
            "Lower the first or raise the second."
        ),
    ),
    "value_negative": ("min_value", _l("The value limit cannot be negative.")),
}

NOTE_FIELD = {
    "description": _l("Optional: what changed and why. Shown in the list of versions."),
    "validators": [Optional(), Length(max=200)],
}


class DaysField(IntegerField):
    """Whole days, negative before the date; a typographic minus (−) is understood too."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [valuelist[0].replace("\u2212", "-").replace(" ", "")]
        super().process_formdata(valuelist)


def _criticality_choices() -> list[tuple[Any, Any]]:
    return [(None, _l("(any)"))] + [(int(k), label) for k, label in CRITICALITY_LABELS.items()]


class RuleForm(FlaskForm):
    kind = SelectField(_l("Kind of activity"), choices=choices(ACTIVITY_KIND_LABELS))
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=200)]
    )
    guidance = TextAreaField(
        _l("Guidance"),
        description=_l("What to do and why; shown with every activity the rule makes."),
        validators=[Optional(), Length(max=5000)],
    )
    checklist = TextAreaField(
        _l("Checklist"),
        description=_l("One item per line."),
        validators=[Optional(), Length(max=5000)],
    )
    anchor = SelectField(_l("Counted from"), choices=choices(ANCHOR_LABELS))
    offset_days = DaysField(
        _l("Days after the date"),
        description=_l("Negative for days before: -60 is 60 days before the date."),
        validators=[InputRequired(_l("Enter a number of days (0 for the date itself)."))],
        invalid_value_message=_l("Write a whole number of days, like 14 or -60."),
        default=0,
    )
    recurrence = SelectField(
        _l("Repeats"),
        description=_l("Only rules counted from the contract start repeat on their own."),
        choices=choices(RECURRENCE_LABELS),
    )
    responsible = SelectField(_l("Responsible"), choices=choices(RESPONSIBLE_LABELS))
    only_framework = BooleanField(_l("Only framework agreements"))
    only_wage_conditions = BooleanField(
        _l("Only contracts with the clause on wage and working conditions")
    )
    min_value = AmountField(
        _l("Only contracts worth at least (NOK excl. VAT)"),
        description=_l("The estimated total value. Leave empty for every contract."),
        allow_negative=True,  # refused below with the rule's own message
    )
    min_criticality = SelectField(
        _l("Only categories with criticality at least"), coerce=coerce_optional_int
    )
    max_criticality = SelectField(
        _l("Only categories with criticality at most"),
        description=_l("Unassessed categories count as low."),
        coerce=coerce_optional_int,
    )
    note = StringField(_l("Change note"), **NOTE_FIELD)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.min_criticality.choices = _criticality_choices()
        self.max_criticality.choices = _criticality_choices()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.offset_days.errors or self.min_value.errors:
            return False  # the rule cannot be judged without its numbers
        problems = rule_problems(
            Anchor(self.anchor.data) if self.anchor.data in set(Anchor) else Anchor.START,
            Recurrence(self.recurrence.data)
            if self.recurrence.data in set(Recurrence)
            else Recurrence.ONCE,
            self.offset_days.data,
            self.min_criticality.data,
            self.max_criticality.data,
            self.min_value.data,
        )
        for key in problems:
            name, message = PROBLEM_MESSAGES[key]
            self[name].errors.append(message)
        return valid and not problems

    def rule_values(self) -> dict[str, Any]:
        """The rule's columns from the form, explicitly (see services.RULE_FIELDS)."""
        lines = (line.strip() for line in (self.checklist.data or "").splitlines())
        return {
            "kind": self.kind.data,
            "title": self.title.data.strip(),
            "guidance": (self.guidance.data or "").strip() or None,
            "checklist": "\n".join(line for line in lines if line) or None,
            "anchor": self.anchor.data,
            "offset_days": self.offset_days.data,
            "recurrence": self.recurrence.data,
            "responsible": self.responsible.data,
            "only_framework": self.only_framework.data,
            "only_wage_conditions": self.only_wage_conditions.data,
            "min_value": self.min_value.data,
            "min_criticality": self.min_criticality.data,
            "max_criticality": self.max_criticality.data,
        }


class _TemplateNameForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    description = TextAreaField(
        _l("Description"),
        description=_l("What the template is for and when to use it."),
        validators=[Optional(), Length(max=5000)],
    )

    def __init__(self, *args, family: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.family = family

    def validate_name(self, field):
        if template_edits.name_taken(field.data, self.family):
            raise ValidationError(_l("Another template has this name."))


class NewTemplateForm(_TemplateNameForm):
    copy_from = SelectField(
        _l("Start from"),
        description=_l("Copy the rules of a template, or start with none."),
        coerce=coerce_optional_int,
    )

    def __init__(self, *args, templates: Iterable[MethodTemplate] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.copy_from.choices = [(None, _l("No rules"))] + [
            (t.id, f"{t.name} (v{t.version})") for t in templates
        ]


class TemplateEditForm(_TemplateNameForm):
    note = StringField(_l("Change note"), **NOTE_FIELD)


class RemoveRuleForm(FlaskForm):
    note = StringField(_l("Change note"), **NOTE_FIELD)
