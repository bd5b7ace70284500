"""Login, logout, language choice and the admin pages for users."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from contracts.audit import access
from contracts.audit import services as audit
from contracts.auth import services
from contracts.auth.access import admin_required
from contracts.auth.forms import LoginForm, UserForm
from contracts.auth.models import User
from contracts.db import Session
from contracts.parties.services import all_units

bp = Blueprint("auth", __name__)

USER_ERRORS = {
    "email_taken": ("email", _l("A user with this e-mail address already exists.")),
    "password_short": ("password", _l("The password is too short.")),
}


def _safe_next(target: str | None) -> str | None:
    """Only follow local paths after login, never another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("Wrong e-mail address or password."))
            # The address tried goes into the trail, never the password.
            access.record_now(
                access.LOGIN_FAILED,
                entity_type="users",
                summary=(form.email.data or "")[:254],
                after={"email": (form.email.data or "")[:254]},
                actor=(None, "anonymous"),
            )
        else:
            locale = session.get("locale")
            # A fresh cookie at login: nothing from before the login carries over.
            session.clear()
            if locale:
                session["locale"] = locale
            services.start_session(user, request.remote_addr, request.user_agent.string)
            login_user(user)
            audit.record(access.LOGIN, user, summary=user.email, after={"email": user.email})
            Session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("home.index"))
    return render_template("auth/login.html", form=form), 200 if not form.errors else 422


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        services.end_session(current_user.session_token)
        audit.record(access.LOGOUT, current_user._get_current_object(), summary=current_user.email)
        Session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/locale")
def set_locale():
    from flask import current_app

    locale = request.form.get("locale", "")
    if locale not in current_app.config["LANGUAGES"]:
        abort(400)
    session["locale"] = locale
    if current_user.is_authenticated:
        current_user.locale = locale
        Session.commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("home.index"))


# --- admin: users -------------------------------------------------------------------


@bp.get("/admin/users")
@admin_required
def user_list():
    users = Session.scalars(select(User).order_by(User.is_active.desc(), User.name)).all()
    return render_template("auth/user_list.html", users=users)


def _apply_user_error(form: UserForm, error: services.UserError) -> None:
    field, message = USER_ERRORS.get(str(error), ("email", str(error)))
    getattr(form, field).errors.append(str(message))


@bp.route("/admin/users/new", methods=["GET", "POST"])
@admin_required
def user_new():
    form = UserForm(units=all_units(), require_password=True)
    if form.validate_on_submit():
        try:
            user = services.create_user(
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                password=form.password.data,
                unit_id=form.unit_id.data,
                is_active=form.is_active.data,
            )
        except services.UserError as error:
            Session.rollback()
            _apply_user_error(form, error)
        else:
            Session.commit()
            flash(_("User %(name)s created.", name=user.name), "success")
            return redirect(url_for("auth.user_list"))
    status = 422 if form.errors else 200
    return render_template("auth/user_form.html", form=form, user=None), status


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def user_edit(user_id: int):
    user = Session.get(User, user_id) or abort(404)
    form = UserForm(obj=user, units=all_units())
    if request.method == "GET":
        form.role.data = user.role.value
    if form.validate_on_submit():
        if user.id == current_user.id and (
            form.role.data != user.role.value or not form.is_active.data
        ):
            form.role.errors.append(_("You cannot remove your own administrator access."))
        else:
            try:
                services.update_user(
                    user,
                    email=form.email.data,
                    name=form.name.data,
                    role=form.role.data,
                    unit_id=form.unit_id.data,
                    is_active=form.is_active.data,
                    password=form.password.data or None,
                )
            except services.UserError as error:
                Session.rollback()
                _apply_user_error(form, error)
            else:
                Session.commit()
                flash(_("User %(name)s saved.", name=user.name), "success")
                return redirect(url_for("auth.user_list"))
    status = 422 if form.errors else 200
    return render_template("auth/user_form.html", form=form, user=user), status
