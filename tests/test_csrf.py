"""CSRF protection: with CSRF on (as in production), every POST without a valid token is
refused with 400 and changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import MethodNotAllowed

from contracts.audit.models import AuditEvent
from contracts.auth.models import Role, UserSession
from contracts.db import Base, Session
from contracts.register.models import Contract
from tests import factories
from tests.test_access import (
    EXTRA_ALLOWED,
    World,
    is_api,
    make_world,
    valid_api_body,
    valid_form_data,
)


@pytest.fixture
def csrf_app(another_app):
    """A second app like production: CSRF on, sharing the test's rolled-back connection."""
    return another_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def objects():
    """Something for every URL argument, with an editor's session (the app runs each
    request in its own app context, whose teardown closes the Session: commit first)."""
    admin = factories.make_user(Role.ADMIN)
    world = make_world(admin)
    Session.commit()
    return admin, world


def _path(app, rule, world: World) -> str:
    values = world.arguments(rule.endpoint, set(rule.arguments))
    return app.url_map.bind("localhost").build(rule.endpoint, values)


def _form_data(endpoint: str, admin, world: World) -> dict[str, str]:
    """Valid data, so that each POST would change something if it got through."""
    if endpoint == "auth.login":
        return {"email": admin.email, "password": factories.PASSWORD}
    return valid_form_data(endpoint, world)


def _state(db) -> dict[str, int]:
    """Row counts of every table; every change also appends an audit event."""
    return {
        table.name: db.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def _csrf_token(client, path: str) -> str:
    html = client.get(path).text
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html)
    assert match, f"no csrf_token field on {path}"
    return re.search(r'value="([^"]+)"', match.group(0)).group(1)


def _log_in(app, client, user) -> None:
    """factories.log_in inside this app's context: the context a request or session
    transaction pushes for the app ends with Session.remove(), which would drop the new
    login session unless it is committed first."""
    with app.app_context():
        factories.log_in(client, user)
        Session.commit()


def _logged_in(client) -> bool:
    return client.get("/").status_code == 200


def test_every_post_without_a_token_is_refused(csrf_app, db, objects):
    admin, world = objects
    client = csrf_app.test_client()
    _log_in(csrf_app, client, admin)
    assert _logged_in(client)

    rules = [
        rule
        for rule in csrf_app.url_map.iter_rules()
        if "POST" in rule.methods and rule.endpoint != "static"
    ]
    assert len(rules) >= 20
    failures = []
    for rule in sorted(rules, key=lambda r: r.endpoint):
        path = _path(csrf_app, rule, world)
        data = _form_data(rule.endpoint, admin, world)
        # The JSON API is exempt from CSRF by design: it reads no cookie and takes only a
        # bearer token, which a forged cross-site request cannot carry. With the session
        # cookie alone it is refused as anonymous (401) instead of as forged (400).
        refused = 401 if is_api(rule.endpoint) else 400
        for label, extra in (("no token", {}), ("bad token", {"csrf_token": "forged"})):
            before = _state(db)
            response = client.post(path, data=data | extra)
            after = _state(db)
            if response.status_code != refused:
                failures.append(f"{rule.endpoint} ({label}): {response.status_code}")
            if after != before:
                changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
                failures.append(f"{rule.endpoint} ({label}) changed rows: {changed}")
        # A refused logout leaves the user logged in; a refused change leaves them too.
        if not _logged_in(client):
            failures.append(f"{rule.endpoint}: the admin was logged out")
    assert failures == []

    db.expire_all()
    contract = db.get(Contract, world.contract_id)
    assert contract.deleted_at is None
    assert contract.terminated_on is None


def test_refused_post_shows_an_error_page(csrf_app, objects):
    admin, _world = objects
    client = csrf_app.test_client()
    _log_in(csrf_app, client, admin)
    response = client.post("/units/new", data={"name": "Ny enhet"})
    assert response.status_code == 400
    assert "Content-Security-Policy" in response.headers
    assert "<html" in response.text


def test_post_with_the_token_goes_through(csrf_app, db, objects):
    """The control: the same kind of POST with the page's token does change things."""
    admin, world = objects
    client = csrf_app.test_client()
    _log_in(csrf_app, client, admin)
    events = db.scalar(select(func.count()).select_from(AuditEvent))

    token = _csrf_token(client, "/units/new")
    response = client.post("/units/new", data={"name": "Ny enhet", "csrf_token": token})
    assert response.status_code == 302

    contract_id = world.contract_id
    token = _csrf_token(client, f"/contracts/{contract_id}")
    response = client.post(f"/contracts/{contract_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302

    assert db.scalar(select(func.count()).select_from(AuditEvent)) == events + 2
    db.expire_all()
    assert db.get(Contract, contract_id).deleted_at is not None


def test_every_post_with_the_token_gets_through(csrf_app, db, objects):
    admin, world = objects
    client = csrf_app.test_client()
    _log_in(csrf_app, client, admin)
    token = _csrf_token(client, "/units/new")
    statuses = {}
    rules = sorted(
        (r for r in csrf_app.url_map.iter_rules() if "POST" in r.methods),
        # Deletions after the edits of the same objects (the contract after its option),
        # and logging out last of all.
        key=lambda r: (
            r.endpoint == "auth.logout",
            r.endpoint.endswith("_delete"),
            r.endpoint == "register.contract_delete",
            r.endpoint,
        ),
    )
    for rule in rules:
        if is_api(rule.endpoint):
            continue  # bearer tokens only (see test_api_refuses_the_session_cookie)
        data = _form_data(rule.endpoint, admin, world) | {"csrf_token": token}
        response = client.post(_path(csrf_app, rule, world), data=data)
        statuses[rule.endpoint] = response.status_code
    passed = {200, 302, 409, 422}
    refused = {
        e: code for e, code in statuses.items() if code not in passed | EXTRA_ALLOWED.get(e, set())
    }
    assert refused == {}
    assert not _logged_in(client)


def test_login_without_a_token_is_refused(csrf_app, db):
    user = factories.make_user(Role.OWNER)
    Session.commit()
    client = csrf_app.test_client()

    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert not _logged_in(client)
    assert (
        db.scalar(
            select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id)
        )
        == 0
    )

    token = _csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert _logged_in(client)


def test_api_refuses_the_session_cookie(csrf_app, db, objects):
    """The API is CSRF-exempt because it never reads the session cookie: a logged-in
    browser's cookie, even with a valid CSRF token, gets 401 and changes nothing; a bearer
    token, which no cross-site form can send, goes through without a CSRF token."""
    admin, world = objects
    client = csrf_app.test_client()
    _log_in(csrf_app, client, admin)
    token = _csrf_token(client, "/units/new")
    body = valid_api_body("api.contract_create", world)

    before = _state(db)
    for headers in ({}, {"X-CSRFToken": token}):
        response = client.post("/api/v1/contracts", json=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.post("/api/v1/contracts", data={"csrf_token": token, **body})
    assert response.status_code == 401
    assert _state(db) == before

    with csrf_app.app_context():
        bearer = factories.make_api_token(admin)
        Session.commit()
    response = csrf_app.test_client().post(
        "/api/v1/contracts", json=body, headers={"Authorization": f"Bearer {bearer}"}
    )
    assert response.status_code == 201


# --- state-changing routes refuse a GET ---------------------------------------------------

CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Bookkeeping that any request may write: when a login session or API token was last used.
BOOKKEEPING = {"user_sessions": {"last_seen_at"}, "api_tokens": {"last_used_at"}}


def _contents(db) -> dict[str, list[str]]:
    """Every row of every table (bookkeeping columns left out), so that a GET which
    changed anything shows."""
    contents = {}
    for table in Base.metadata.sorted_tables:
        skip = BOOKKEEPING.get(table.name, set())
        columns = [c for c in table.columns if c.name not in skip]
        contents[table.name] = sorted(map(repr, db.execute(select(*columns)).all()))
    return contents


def test_every_state_changing_route_refuses_a_get(app, login_as, db):
    """From the url_map: a GET to a POST/PUT/PATCH/DELETE URL is 405, or, where the same
    URL also serves a page, changes nothing at all (the audit trail included)."""
    admin = login_as("admin")
    world = make_world(admin.user)
    bearer = {"Authorization": f"Bearer {factories.make_api_token(admin.user)}"}
    Session.commit()
    adapter = app.url_map.bind("localhost")
    rules = [r for r in app.url_map.iter_rules() if r.methods & CHANGING]
    assert len(rules) >= 60
    failures, pages = [], 0
    for rule in sorted(rules, key=lambda r: r.endpoint):
        path = _path(app, rule, world)
        try:
            adapter.match(path, method="GET")
            serves_a_page = True
        except MethodNotAllowed:
            serves_a_page = False
        before = _contents(db)
        response = admin.get(path, headers=bearer if is_api(rule.endpoint) else {})
        response.get_data()
        db.expire_all()
        after = _contents(db)
        if after != before:
            changed = sorted(name for name in before if before[name] != after[name])
            failures.append(f"{rule.endpoint} GET {path} changed {changed}")
        if serves_a_page:
            pages += 1
        elif response.status_code != 405:
            failures.append(f"{rule.endpoint} GET {path}: {response.status_code}")
    assert failures == [], "\n".join(failures)
    assert 0 < pages < len(rules)
    assert _logged_in(admin)  # GET /logout did not log out
