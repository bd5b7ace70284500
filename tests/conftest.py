"""Fixtures: one app and one database per test session, each test in a rolled-back
transaction. SQLite by default; PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from flask import request_started
from flask.globals import app_ctx

from contracts.auth.models import Role
from contracts.db import Session
from contracts.dbcli import alembic_config, scratch_postgresql_database
from tests import factories

# Tests run as if today were this day, so statuses and deadlines are predictable.
TODAY = date(2026, 3, 2)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """A fresh database upgraded to head by the migrations (which are tested that way)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if os.environ.get("REQUIRE_POSTGRES") and not base:
        pytest.fail("REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not")
    with contextlib.ExitStack() as stack:
        if base:
            url = stack.enter_context(scratch_postgresql_database(base, "kr_test"))
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        command.upgrade(alembic_config(url), "head")
        yield url


def _start_request(sender, **extra) -> None:
    """Make each test-client request start the way it does in production."""
    # Fixture `db` holds one app context open and Flask reuses it for every test-client
    # request, so `g` (Flask-Login's current user, Babel's locale) would carry over from
    # one client to the next. Each request gets its own `g`.
    app_ctx.g = sender.app_ctx_globals_class()
    # What the test set up exists before the request, so a view's Session.rollback()
    # (error pages, form errors) undoes only the view's own work. Committing only releases
    # the savepoint: the outer transaction is still rolled back after the test.
    Session.commit()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from wsgi import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "WTF_CSRF_ENABLED": False,
            "FIXED_TODAY": TODAY,
            "SERVER_NAME": None,
            "IMPORT_IN_BACKGROUND": False,  # one shared connection; see test_import_jobs
        }
    )
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    request_started.connect(_start_request, app)
    yield app
    app.extensions["engine"].dispose()


@pytest.fixture
def another_app(db, database_url):
    """Build another app sharing the test's rolled-back connection: another worker, or a
    configuration unlike the tests' (CSRF on, HTTPS, TESTING off). Overrides as keywords."""
    from wsgi import create_app

    connection = db.session_factory.kw["bind"]
    built = []

    def build(**overrides):
        config = {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "x",
            "WTF_CSRF_ENABLED": False,
            "FIXED_TODAY": TODAY,
        }
        app = create_app(config | overrides)
        # create_app binds the global Session to its own engine: back to the test's.
        Session.configure(bind=connection)
        built.append(app)
        return app

    yield build
    for app in built:
        app.extensions["engine"].dispose()


@pytest.fixture(autouse=True)
def db(app) -> Iterator[Session]:
    """Bind the session to one connection whose outer transaction is rolled back."""
    engine = app.extensions["engine"]
    connection = engine.connect()
    transaction = connection.begin()
    Session.remove()
    Session.configure(bind=connection, join_transaction_mode="create_savepoint")
    with app.app_context():
        yield Session
    Session.remove()
    transaction.rollback()
    connection.close()
    Session.configure(bind=engine)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login_as(app):
    """Return a test client logged in as a new user with the given role."""

    def login(role: Role | str, **user_fields):
        user = factories.make_user(role=Role(role), **user_fields)
        client = app.test_client()
        factories.log_in(client, user)
        client.user = user
        return client

    return login


# --- the browser ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright. Missing Chromium fails the run, never skips."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Chromium is required for the browser tests: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_server(app):
    """The app on a free local port, one request at a time (tests share one connection)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="nb-NO")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
