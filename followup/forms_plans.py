"""Forms of the plan, activity, "My follow-up" and deviation pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from contracts.auth.forms import coerce_optional_int
from contracts.auth.models import User
from contracts.clock import today
from contracts.fields import DateField
from contracts.labels import choices
from followup.attachments import ACCEPTED
from followup.labels import RESPONSIBLE_LABELS
from followup.models import Deviation, MethodTemplate
from followup.plan_labels import CONSEQUENCE_LABELS, SEVERITY_LABELS

TEXT_MAX = 10000


def _people(users: Sequence[User]) -> list[tuple[int | None, str]]:
    return [(None, _l("(nobody)"))] + [(u.id, f"{u.name} <{u.email}>") for u in users]


def _not_in_future(form: FlaskForm, field: DateField) -> None:
    if field.data is not None and field.data > today():
        raise ValidationError(_l("The date cannot be in the future."))


class BuildPlanForm(FlaskForm):
    template_id = SelectField(
        _l("Method template"),
        coerce=coerce_optional_int,
        validators=[InputRequired(_l("Choose a method template."))],
    )

    def __init__(self, *args, templates: Sequence[MethodTemplate] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.template_id.choices = [(t.id, f"{t.name} (v{t.version})") for t in templates]


class CustomActivityForm(FlaskForm):
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=200)]
    )
    due_date = DateField(_l("Due date"), validators=[InputRequired(_l("Enter the due date."))])
    responsible_role = SelectField(_l("Responsible role"))
    responsible_id = SelectField(
        _l("Responsible person"),
        coerce=coerce_optional_int,
        description=_l("Leave empty for the contract's owner or manager, as the role says."),
    )
    guidance = TextAreaField(_l("Guidance"), validators=[Optional(), Length(max=TEXT_MAX)])
    checklist = TextAreaField(
        _l("Checklist"),
        description=_l("One item per line."),
        validators=[Optional(), Length(max=TEXT_MAX)],
    )

    def __init__(self, *args, users: Sequence[User] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.responsible_role.choices = choices(RESPONSIBLE_LABELS)
        self.responsible_id.choices = _people(users)


class ActivityEditForm(FlaskForm):
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("Enter a title.")), Length(max=200)]
    )
    due_date = DateField(_l("Due date"), validators=[InputRequired(_l("Enter the due date."))])
    responsible_id = SelectField(_l("Responsible person"), coerce=coerce_optional_int)

    def __init__(self, *args, users: Sequence[User] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.responsible_id.choices = _people(users)


def web_address(form: FlaskForm, field: StringField) -> None:
    """Only http and https links: a javascript: or file: link must never be shown as evidence."""
    if not field.data:
        return
    parts = urlsplit(field.data)
    if (
        parts.scheme.lower() not in {"http", "https"}
        or not parts.hostname
        or any(c.isspace() for c in field.data)
    ):
        raise ValidationError(_l("Enter a web address starting with https:// or http://."))


class DoneForm(FlaskForm):
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=TEXT_MAX)])
    evidence = TextAreaField(
        _l("Evidence"),
        description=_l("What was done, and where the documentation is kept."),
        validators=[Optional(), Length(max=TEXT_MAX)],
    )
    evidence_url = StringField(
        _l("Link to the evidence"),
        validators=[Optional(), Length(max=500), web_address],
        filters=[lambda value: value.strip() if value else value],
    )
    attachment = FileField(
        _l("Attachment"), description=_l("At most 10 MB: %(types)s.", types=ACCEPTED)
    )
    # Where to go afterwards: "mine" for the one-click button on My follow-up.
    back = HiddenField()


class SkipForm(FlaskForm):
    skip_reason = TextAreaField(
        _l("Why is the activity skipped?"),
        validators=[DataRequired(_l("Give the reason for skipping.")), Length(max=500)],
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: reopening an activity needs nothing else."""


class DeviationForm(FlaskForm):
    occurred_on = DateField(
        _l("Date"),
        validators=[InputRequired(_l("Enter the date of the deviation.")), _not_in_future],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[DataRequired(_l("Describe the deviation.")), Length(max=TEXT_MAX)],
    )
    # No severity is preselected: the person recording must judge it.
    severity = SelectField(
        _l("Severity"),
        choices=[("", _l("Choose…")), *choices(SEVERITY_LABELS)],
        validators=[DataRequired(_l("Choose the severity."))],
    )
    consequence = SelectField(
        _l("Consequence or sanction"), choices=choices(CONSEQUENCE_LABELS), default="none"
    )


class CloseDeviationForm(FlaskForm):
    closed_on = DateField(
        _l("Closed on"),
        validators=[InputRequired(_l("Enter the date it was closed.")), _not_in_future],
    )
    resolution = TextAreaField(
        _l("Resolution"),
        validators=[DataRequired(_l("Describe how it was resolved.")), Length(max=TEXT_MAX)],
    )

    def __init__(self, *args, deviation: Deviation | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.deviation = deviation

    def validate_closed_on(self, field: DateField) -> None:
        occurred: date | None = self.deviation.occurred_on if self.deviation else None
        if field.data is not None and occurred is not None and field.data < occurred:
            raise ValidationError(_l("A deviation cannot be closed before it occurred."))
