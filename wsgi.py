"""Composition root: create_app() builds the app; `app` is created on first use.

gunicorn: ``gunicorn 'wsgi:app'``; CLI: ``flask --app wsgi ...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

TRANSLATIONS = Path(__file__).resolve().parent / "contracts" / "translations"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app from the environment plus optional config overrides."""
    from contracts.api.profile import bp as profile_bp
    from contracts.api.views import bp as api_bp
    from contracts.audit.cli import audit_cli
    from contracts.audit.hooks import connect as connect_audit
    from contracts.auth.cli import users_cli
    from contracts.auth.lifetime import register as register_session_lifetime
    from contracts.auth.services import load_session
    from contracts.auth.views import bp as auth_bp
    from contracts.backup.cli import backup_cli
    from contracts.config import load_config
    from contracts.db import Session, make_engine
    from contracts.dbcli import db_cli
    from contracts.demo import demo_cli
    from contracts.exchange.cli import contracts_cli
    from contracts.exchange.views import bp as exchange_bp
    from contracts.extensions import babel, csrf, login_manager
    from contracts.home.views import bp as home_bp
    from contracts.integrity import (  # noqa: F401 - their routes join integrity_bp
        views_declarations,
        views_flags,
        views_trail,
    )
    from contracts.integrity.blueprint import bp as integrity_bp
    from contracts.integrity.hooks import connect as connect_integrity
    from contracts.logs import init_app as init_logging
    from contracts.parties.views import bp as parties_bp
    from contracts.register.views import bp as register_bp
    from contracts.rules.views import bp as rules_bp
    from contracts.web import register_web, select_locale
    from followup.gains.api import bp as gains_api_bp
    from followup.gains.views import bp as gains_bp
    from followup.hooks import connect as connect_followup
    from followup.views import bp as followup_bp
    from jobs.cli import jobs_cli
    from jobs.hooks import connect as connect_jobs
    from jobs.scheduler import connect as connect_clock
    from jobs.settings_views import bp as notify_bp
    from jobs.views import bp as jobs_bp

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(load_config(app.instance_path, config))
    init_logging(app)  # first: before anything logs, and its request hooks run outermost
    if proxies := app.config["TRUSTED_PROXY_COUNT"]:
        # Behind nginx: the client's address and scheme come from the X-Forwarded-* headers
        # of the trusted proxies in front (login throttling and the audit trail need them).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    engine = app.config.get("ENGINE") or make_engine(app.config["DATABASE_URL"])
    app.extensions["engine"] = engine
    Session.configure(bind=engine)

    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS),
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.user_loader(load_session)
    register_session_lifetime(app)

    for blueprint in (
        home_bp,
        auth_bp,
        parties_bp,
        register_bp,
        rules_bp,
        exchange_bp,
        profile_bp,
        api_bp,
        followup_bp,
        gains_bp,
        gains_api_bp,
        jobs_bp,
        notify_bp,
        integrity_bp,
    ):
        app.register_blueprint(blueprint)
    for group in (db_cli, users_cli, demo_cli, contracts_cli, jobs_cli, audit_cli, backup_cli):
        app.cli.add_command(group)
    connect_followup()
    connect_integrity()  # after follow-up: its demo data comes last
    connect_clock()
    connect_jobs()
    register_web(app)
    connect_audit(app)
    return app


def __getattr__(name: str) -> Any:
    # `app` is built lazily so importing create_app (tests, tools) has no side effects.
    if name == "app":
        return create_app()
    raise AttributeError(name)
