"""Cross-cutting web concerns: security headers, error pages, locale, template helpers."""

from __future__ import annotations

from decimal import Decimal

from flask import (
    Flask,
    abort,
    has_request_context,
    make_response,
    render_template,
    request,
    session,
)
from flask_babel import format_date, get_locale
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from contracts.api.errors import error_response as api_error_response
from contracts.api.errors import is_api_request
from contracts.audit import access
from contracts.db import Session
from contracts.labels import (
    ACTION_LABELS,
    CATEGORY_KIND_LABELS,
    ENTITY_LABELS,
    FIELD_LABELS,
    OPTION_DECISION_LABELS,
    PROCEDURE_LABELS,
    REGULATION_PART_LABELS,
    ROLE_LABELS,
    STATUS_COLORS,
    STATUS_LABELS,
    THRESHOLD_KIND_LABELS,
)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


def select_locale() -> str:
    """The user's saved language, else this browser session's choice, else bokmål."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # the command line and jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def format_nok(value: Decimal | None) -> str:
    """1250000.50 -> '1 250 000,50' the Norwegian way (narrow spaces, decimal comma)."""
    if value is None:
        return "–"
    text = f"{value:,.2f}"
    if str(get_locale()) == "nb":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text.removesuffix(",00").removesuffix(".00")


def format_day(value) -> str:
    return format_date(value, "dd.MM.yyyy") if value else "–"


def register_web(app: Flask) -> None:
    """Install headers, error handlers and template globals."""

    @app.before_request
    def refuse_nul_bytes():
        # No browser sends NUL in text; PostgreSQL cannot store or compare it (a 500).
        for values in (request.args, request.form):
            if any("\x00" in value for _key, value in values.items(multi=True)):
                abort(400)

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.teardown_appcontext
    def remove_session(_exc=None):
        Session.remove()

    def error_page(code: int):
        def handler(error):
            Session.rollback()
            # Refusals join the audit trail (committed although the request failed); a 404
            # counts when it hides a confidential contract from this user.
            if code == 403 or (code == 404 and access.hidden_contract_id() is not None):
                access.record_refusal(code)
            if is_api_request():  # also URLs under /api/ that match no route
                return api_error_response(error)
            response = make_response(render_template("errors/error.html", code=code), code)
            if code == 405 and getattr(error, "valid_methods", None):
                response.headers["Allow"] = ", ".join(
                    sorted(error.valid_methods)
                )  # RFC 9110 15.5.6
            return response

        return handler

    for code in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(code, error_page(code))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        Session.rollback()
        return render_template("errors/error.html", code=400, csrf=True), 400

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["nok"] = format_nok
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.globals.update(
        ROLE_LABELS=ROLE_LABELS,
        STATUS_LABELS=STATUS_LABELS,
        STATUS_COLORS=STATUS_COLORS,
        PROCEDURE_LABELS=PROCEDURE_LABELS,
        CATEGORY_KIND_LABELS=CATEGORY_KIND_LABELS,
        OPTION_DECISION_LABELS=OPTION_DECISION_LABELS,
        REGULATION_PART_LABELS=REGULATION_PART_LABELS,
        THRESHOLD_KIND_LABELS=THRESHOLD_KIND_LABELS,
        ACTION_LABELS=ACTION_LABELS,
        ENTITY_LABELS=ENTITY_LABELS,
        FIELD_LABELS=FIELD_LABELS,
        get_locale=get_locale,
    )
