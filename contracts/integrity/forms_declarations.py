"""Forms for impartiality declarations and red-flag acknowledgements."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError


class DeclarationForm(FlaskForm):
    """The logged-in person's declaration: no conflict, or the conflict and the measures.
    It is dated today by the server: nobody backdates a declaration."""

    conflict = RadioField(
        _l("Conflict of interest"),
        choices=[
            ("no", _l("I have no conflict of interest in this procurement")),
            ("yes", _l("I have a conflict of interest, described below")),
        ],
        validators=[InputRequired()],
    )
    conflict_description = TextAreaField(
        _l("The conflict of interest"), validators=[Length(max=5000)]
    )
    measures = TextAreaField(
        _l("Measures taken"),
        description=_l("For example: stepped down from the evaluation, another person decides."),
        validators=[Length(max=5000)],
    )

    # No Optional() on these two: it would stop the checks below from running.
    def validate_conflict_description(self, field) -> None:
        if self.conflict.data == "yes" and not (field.data or "").strip():
            raise ValidationError(_l("Describe the conflict of interest."))

    def validate_measures(self, field) -> None:
        if self.conflict.data == "yes" and not (field.data or "").strip():
            raise ValidationError(_l("Describe the measures taken."))


class ReviewForm(FlaskForm):
    """Procurement's review: accept, or ask for a new declaration (with a comment)."""

    decision = RadioField(
        _l("Review"),
        choices=[("accept", _l("Accept")), ("renew", _l("Ask for a new declaration"))],
        validators=[InputRequired()],
    )
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000)])

    def validate_comment(self, field) -> None:
        if self.decision.data == "renew" and not (field.data or "").strip():
            raise ValidationError(_l("Say why a new declaration is needed."))


class InvolvedForm(FlaskForm):
    """Name a person as involved in the procurement."""

    user_id = SelectField(_l("Person"), coerce=int, validators=[InputRequired()])
    task = StringField(
        _l("Task in the procurement"),
        description=_l("For example: member of the evaluation committee."),
        validators=[Optional(), Length(max=200)],
    )


class AcknowledgeForm(FlaskForm):
    """An acknowledgement of a red flag: the comment is required."""

    comment = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=2000)])
