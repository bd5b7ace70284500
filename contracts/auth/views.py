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
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from contracts.audit import access
from contracts.audit import services as audit
from contracts.auth import services, throttle
from contracts.auth.access import admin_required
from contracts.auth.forms import PASSWORD_PROBLEMS, LoginForm, PasswordChangeForm, UserForm
from contracts.auth.models import User
from contracts.db import Session
from contracts.parties.services import all_units

bp = Blueprint("auth", __name__)

USER_ERRORS = {
    "email_taken": ("email", _l("A user with this e-mail address already exists.")),
    **{f"password_{problem}": ("password", text) for problem, text in PASSWORD_PROBLEMS.items()},
}


def _safe_next(target: str | None) -> str | None:
    """Only follow local paths after login, never another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _client_ip() -> str:
    # Behind a reverse proxy, ProxyFix (TRUSTED_PROXY_COUNT) has put the client's address here.
    return request.remote_addr or "unknown"


def _refuse_blocked(form: LoginForm, block: throttle.Block, email: str):
    form.password.errors.append(
        _(
            "Too many failed log-in attempts. Wait %(minutes)d minutes and try again, "
            "or ask an administrator to set a new password.",
            minutes=block.minutes_left,
        )
    )
    access.record_now(
        access.LOGIN_THROTTLED,
        entity_type="users",
        summary=email,
        after={"email": email, "by": block.by},
        actor=(None, "anonymous"),
    )
    return render_template("auth/login.html", form=form), 429


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "")[:254]
        if block := throttle.check(email, _client_ip()):
            return _refuse_blocked(form, block, email)
        user = services.authenticate(email, form.password.data)
        throttle.record(email, _client_ip(), succeeded=user is not None)
        if user is None:
            form.password.errors.append(_("Wrong e-mail address or password."))
            # The address tried goes into the trail, never the password.
            access.record_now(
                access.LOGIN_FAILED,
                entity_type="users",
                summary=email,
                after={"email": email},
                actor=(None, "anonymous"),
            )
        else:
            locale = session.get("locale")
            # A fresh cookie at login: nothing from before the login carries over.
            session.clear()
            if locale:
                session["locale"] = locale
            services.start_session(user, _client_ip(), request.user_agent.string)
            login_user(user)
            audit.record(access.LOGIN, user, summary=user.email, after={"email": user.email})
            Session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("home.index"))
    return render_template("auth/login.html", form=form), 200 if not form.errors else 422


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Every login of the user ends, on every device: a forgotten session elsewhere
        # should not outlive the user's decision to log out.
        user = current_user._get_current_object()
        services.end_all_sessions(user)
        audit.record(access.LOGOUT, user, summary=user.email)
        Session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/profile/password", methods=["GET", "POST"])
@login_required
def password_change():
    user = current_user._get_current_object()
    form = PasswordChangeForm(user=user)
    if form.validate_on_submit():
        if block := throttle.check(user.email, _client_ip()):
            form.current_password.errors.append(
                _(
                    "Too many wrong passwords. Wait %(minutes)d minutes and try again.",
                    minutes=block.minutes_left,
                )
            )
            return render_template("auth/password.html", form=form), 429
        try:
            changed = services.change_own_password(
                user, form.current_password.data, form.new_password.data
            )
        except services.UserError as error:  # the form checked the policy already
            Session.rollback()
            form.new_password.errors.append(str(USER_ERRORS[str(error)][1]))
            return render_template("auth/password.html", form=form), 422
        # A wrong current password counts as a failed login: it would otherwise be a way
        # around the login throttle for someone holding a stolen session.
        throttle.record(user.email, _client_ip(), succeeded=changed)
        if changed:
            Session.commit()
            flash(_("Your password is changed. You are logged out on other devices."), "success")
            return redirect(url_for("profile.show"))
        form.current_password.errors.append(_("The current password is wrong."))
        access.record_now(
            access.LOGIN_FAILED,
            entity_type="users",
            entity_id=user.id,
            summary=user.email,
            after={"email": user.email, "where": "password_change"},
        )
    status = 422 if form.errors else 200
    return render_template("auth/password.html", form=form), status


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
