"""Forms for units, suppliers and categories."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from contracts.labels import CATEGORY_KIND_LABELS, choices
from contracts.parties import services
from contracts.parties.models import Category, Unit

CPV_PATTERN = re.compile(r"^\d{8}(-\d)?$")


def _email_field(label):
    return EmailField(
        label,
        validators=[Optional(), Email(_l("Enter a valid e-mail address.")), Length(max=254)],
    )


class _NamedForm(FlaskForm):
    """Shared by units and categories: a unique name."""

    model: type[Unit] | type[Category]

    def __init__(self, *args, obj_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.obj_id = obj_id

    def validate_name(self, field):
        if services.name_taken(self.model, field.data, self.obj_id):
            raise ValidationError(_l("The name is already in use."))


class UnitForm(_NamedForm):
    model = Unit
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    contact_email = _email_field(_l("Contact e-mail"))


class CategoryForm(_NamedForm):
    model = Category
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    cpv_code = StringField(
        _l("CPV code"),
        description=_l("Eight digits, optionally with a check digit: 90910000-9"),
        validators=[Optional(), Length(max=10)],
    )
    kind = SelectField(_l("Kind of procurement"), choices=choices(CATEGORY_KIND_LABELS))

    def validate_cpv_code(self, field):
        if field.data and not CPV_PATTERN.match(field.data.strip()):
            raise ValidationError(_l("A CPV code has eight digits, like 90910000-9."))


class SupplierForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    org_number = StringField(
        _l("Organisation number"),
        description=_l(
            "Nine digits from the Brønnøysund Register Centre. Leave empty for foreign suppliers."
        ),
        validators=[Optional(), Length(max=20)],
    )
    contact_email = _email_field(_l("Contact e-mail"))
    contact_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, obj_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.obj_id = obj_id

    def validate_org_number(self, field):
        if not field.data:
            return
        try:
            number = services.clean_org_number(field.data)
        except ValueError:
            raise ValidationError(
                _l("Not a valid Norwegian organisation number (nine digits, MOD11 check).")
            ) from None
        if services.org_number_taken(number, self.obj_id):
            raise ValidationError(_l("Another supplier has this organisation number."))
