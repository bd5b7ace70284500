"""The profile page: who you are, and your API tokens (created and revoked here)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from contracts.api import services
from contracts.api.forms import TokenForm
from contracts.api.models import ApiToken
from contracts.db import Session
from contracts.register.forms import ConfirmForm

bp = Blueprint("profile", __name__, url_prefix="/profile")


def _page(form: TokenForm, new_token: str | None = None, status: int = 200):
    return render_template(
        "api/profile.html",
        form=form,
        tokens=services.user_tokens(current_user),
        new_token=new_token,
    ), status


@bp.get("")
@login_required
def show():
    return _page(TokenForm())


@bp.post("/tokens")
@login_required
def token_create():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    token, text = services.create_token(current_user, form.name.data)
    Session.commit()
    # Shown in this response only (no redirect): the text is stored nowhere, not even in
    # the flash messages of the session cookie.
    flash(_("Token %(name)s created.", name=token.name), "success")
    return _page(TokenForm(formdata=None), new_token=text)


@bp.post("/tokens/<int(max=2147483647):token_id>/revoke")
@login_required
def token_revoke(token_id: int):
    token = Session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        services.revoke_token(token)
        Session.commit()
        flash(_("Token %(name)s revoked. It no longer works.", name=token.name), "success")
    return redirect(url_for("profile.show"))
