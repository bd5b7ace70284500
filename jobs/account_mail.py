"""E-mails about a person's own account: a notice when their password was changed, so that
a change they did not make does not go unnoticed."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from contracts.auth.models import User
from contracts.db import utcnow
from jobs import outbox


def send_password_notice(user: User, *, by_admin: bool) -> None:
    """Queue the notice in the transaction that changed the password."""
    now = utcnow()
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        if by_admin:
            what = _("An administrator has set a new password for your account.")
        else:
            what = _("The password for your account was changed.")
        body = "\n\n".join(
            [
                _("Hello %(name)s,", name=user.name),
                what,
                _(
                    "You have been logged out on every other device. If you did not expect "
                    "this, contact your administrator or the procurement office at once."
                ),
                current_app.config["BASE_URL"].rstrip("/") + "/login",
            ]
        )
        subject = _("Your password in the contract register was changed")
    outbox.enqueue(
        key=f"password-changed:{user.id}:{now.isoformat()}",
        to_address=user.email,
        subject=subject,
        body_text=body + "\n",
        user_id=user.id,
    )
