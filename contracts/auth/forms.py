"""Login and user administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from contracts.auth import passwords
from contracts.auth.passwords import MAX_LENGTH as MAX_PASSWORD_LENGTH
from contracts.auth.passwords import MIN_LENGTH as MIN_PASSWORD_LENGTH
from contracts.labels import ROLE_LABELS, choices


def coerce_optional_int(value: object) -> int | None:
    """Coerce a select value to int, with '' meaning none."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return -1  # never a valid id; pre_validate reports it as an invalid choice


PASSWORD_PROBLEMS = {
    "short": _l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
    "long": _l("The password can have at most %(n)d characters.", n=MAX_PASSWORD_LENGTH),
    "common": _l(
        "The password is too easy to guess: a common password, a name, a word from the "
        "e-mail address, a date or a simple pattern. Several random words make a good one."
    ),
}
PASSWORD_HELP = _l(
    "At least %(n)d characters. Common passwords and simple patterns are refused; "
    "several random words make a good password.",
    n=MIN_PASSWORD_LENGTH,
)


def check_new_password(password: str, email: str | None, name: str | None) -> None:
    """Raise the policy's objection as a form error in the user's language."""
    try:
        passwords.check_password(password, email=email, name=name)
    except passwords.PasswordProblem as problem:
        raise ValidationError(PASSWORD_PROBLEMS[str(problem)]) from None


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(_l("Enter your e-mail address."))],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )


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
        description=PASSWORD_HELP,
        validators=[Optional()],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, *args, units=(), require_password=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.require_password = require_password
        self.unit_id.choices = [(None, _l("(none)"))] + [(u.id, u.name) for u in units]

    def validate_password(self, field):
        if self.require_password and not field.data:
            raise ValidationError(_l("Enter a password."))
        if field.data:
            check_new_password(field.data, self.email.data, self.name.data)


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        description=PASSWORD_HELP,
        validators=[DataRequired(_l("Enter a new password."))],
        render_kw={"autocomplete": "new-password"},
    )
    repeat_password = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(_l("Repeat the new password."))],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_new_password(self, field):
        check_new_password(field.data, self.user.email, self.user.name)

    def validate_repeat_password(self, field):
        if field.data != self.new_password.data:
            raise ValidationError(_l("The two new passwords are not the same."))
