"""Forms for category assessments and building plans from the worklist."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from contracts.auth.forms import coerce_optional_int
from contracts.clock import today
from contracts.fields import DateField
from contracts.parties.models import Category
from followup.labels import SCORE_LABELS
from followup.models import MethodTemplate

SCORE_MESSAGE = _l("Choose a score from 1 (low) to 5 (very high).")


def _score(label, description) -> RadioField:
    return RadioField(
        label,
        description=description,
        coerce=int,
        choices=list(SCORE_LABELS.items()),
        invalid_choice_message=SCORE_MESSAGE,
        invalid_value_message=SCORE_MESSAGE,
    )


class AssessmentForm(FlaskForm):
    supply_risk = _score(
        _l("Supply risk"),
        _l(
            "How hard it would be to get the supply elsewhere: few suppliers, high switching "
            "costs, serious consequences if deliveries stop."
        ),
    )
    financial_impact = _score(
        _l("Financial impact"),
        _l("How much money the category involves and how much price and quality matter."),
    )
    wage_risk = _score(
        _l("Risk of breaches of wage and working conditions"),
        _l(
            "High for labour-intensive services and works, long chains of subcontractors and "
            "industries with known problems (cleaning, building, transport, catering)."
        ),
    )
    rationale = TextAreaField(
        _l("Rationale"),
        description=_l("Why these scores: the market, the suppliers, earlier problems."),
        validators=[DataRequired(_l("Explain the assessment.")), Length(max=5000)],
    )
    assessed_on = DateField(
        _l("Assessed on"),
        validators=[InputRequired(_l("Enter the date of the assessment."))],
    )

    def validate_assessed_on(self, field):
        if field.data and field.data > today():
            raise ValidationError(_l("The assessment cannot be dated in the future."))


class BuildForm(FlaskForm):
    """Which critical category (or all of them) and which template to build plans from."""

    category_id = SelectField(
        _l("Category"),
        coerce=coerce_optional_int,
        invalid_choice_message=_l("Choose one of the critical categories."),
    )
    template_id = SelectField(
        _l("Method template"),
        coerce=coerce_optional_int,
        validators=[InputRequired(_l("Choose a method template."))],
        invalid_choice_message=_l("Choose a method template."),
    )

    def __init__(
        self,
        *args,
        categories: Iterable[Category] = (),
        templates: Iterable[MethodTemplate] = (),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.category_id.choices = [(None, _l("All critical categories"))] + [
            (c.id, c.name) for c in categories
        ]
        self.template_id.choices = [(t.id, f"{t.name} (v{t.version})") for t in templates]
