"""Login and user administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from contracts.auth.services import MIN_PASSWORD_LENGTH
from contracts.labels import ROLE_LABELS, choices


def coerce_optional_int(value: object) -> int | None:
    """Coerce a select value to int, with '' meaning none."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return -1  # never a valid id; pre_validate reports it as an invalid choice


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(_l("Enter your e-mail address."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


class UserForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(_l("Enter an e-mail address.")),
            Email(_l("Enter a valid e-mail address.")),
            Length(max=254),
        ],
    )
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    role = SelectField(_l("Role"), choices=choices(ROLE_LABELS))
    unit_id = SelectField(_l("Unit"), coerce=coerce_optional_int, validate_choice=True)
    is_active = BooleanField(_l("Active"), default=True)
    password = PasswordField(
        _l("Password"),
        description=_l("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
        validators=[Optional(), Length(max=200)],
    )

    def __init__(self, *args, units=(), require_password=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.require_password = require_password
        self.unit_id.choices = [(None, _l("(none)"))] + [(u.id, u.name) for u in units]

    def validate_password(self, field):
        if self.require_password and not field.data:
            raise ValidationError(_l("Enter a password."))
        if field.data and len(field.data) < MIN_PASSWORD_LENGTH:
            raise ValidationError(
                _l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
            )
