"""The form for a new threshold value."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from contracts.fields import AmountField, DateField
from contracts.labels import THRESHOLD_KIND_LABELS, choices


class ThresholdForm(FlaskForm):
    kind = SelectField(_l("Threshold"), choices=choices(THRESHOLD_KIND_LABELS))
    value = AmountField(
        _l("Value (NOK excl. VAT)"), validators=[InputRequired(_l("Enter the value."))]
    )
    valid_from = DateField(
        _l("Valid from"), validators=[InputRequired(_l("Enter the date it applies from."))]
    )
    source = StringField(
        _l("Source"),
        description=_l("Where the value is published, e.g. regjeringen.no or a KS notice."),
        validators=[DataRequired(_l("Name the source.")), Length(max=300)],
    )
