"""Security headers on every response (every GET route of the url_map, the error pages
too), and error pages that tell nothing about the error: no exception text, no traceback,
in HTML and in the API's JSON, on an app configured like production."""

from __future__ import annotations

import pytest

from contracts.auth.models import Role
from contracts.db import Session
from jobs import settings as notify_settings
from tests import factories
from tests.test_access import World, is_api, make_world

# What every response must say, page or file, success or error.
REQUIRED_CSP = {
    "script-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def header_problems(response) -> list[str]:
    """What is missing from the response's security headers."""
    problems = []
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {
        name: value.strip()
        for name, _, value in (part.strip().partition(" ") for part in csp.split(";"))
        if name
    }
    for name, value in REQUIRED_CSP.items():
        if directives.get(name) != value:
            problems.append(f"CSP {name}: {directives.get(name)!r}")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append("CSP allows unsafe-inline or unsafe-eval")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options")
    if not response.headers.get("Referrer-Policy"):
        problems.append("Referrer-Policy")
    return problems


def no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


@pytest.fixture
def admin_world(app):
    """An administrator, logged in, with one of everything (and a calendar of their own)."""
    admin = factories.make_user(Role.ADMIN)
    world = make_world(admin)
    calendar_token = notify_settings.create_calendar_token(admin)
    bearer = {"Authorization": f"Bearer {factories.make_api_token(admin)}"}
    client = app.test_client()
    factories.log_in(client, admin)
    Session.commit()
    return client, world, calendar_token, bearer


def _path(app, rule, world: World, calendar_token: str) -> str:
    values = world.arguments(rule.endpoint, set(rule.arguments))
    if rule.endpoint == "notify.calendar_feed":
        values["token"] = calendar_token
    return app.url_map.bind("localhost").build(rule.endpoint, values)


def test_every_get_route_sends_the_security_headers(app, admin_world, monkeypatch):
    client, world, calendar_token, bearer = admin_world
    monkeypatch.setitem(app.config, "OCDS_PUBLIC", True)
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"]
    assert len(rules) >= 80
    failures, statuses = [], {}
    for rule in sorted(rules, key=lambda r: r.endpoint):
        path = _path(app, rule, world, calendar_token)
        response = client.get(path, headers=bearer if is_api(rule.endpoint) else {})
        response.get_data()  # streamed bodies too
        statuses[rule.endpoint] = response.status_code
        problems = header_problems(response)
        if not no_store(response):
            problems.append("Cache-Control: no-store")
        if problems:
            failures.append(f"{rule.endpoint} {path} ({response.status_code}): {problems}")
    assert failures == []
    # The walk saw the pages themselves, not a wall of refusals.
    assert sum(code == 200 for code in statuses.values()) >= 70, statuses


def test_static_files_send_the_security_headers(client):
    response = client.get("/static/app.js")
    response.get_data()
    response.close()
    assert response.status_code == 200
    assert header_problems(response) == []


def test_error_responses_send_the_security_headers(app, client, login_as, monkeypatch):
    owner = login_as("owner")
    responses = {
        "404": client.get("/no/such/page"),
        "404 static": client.get("/static/no-such-file.js"),
        "404 API": client.get("/api/v1/no-such-thing"),
        "401 API": client.get("/api/v1/contracts"),
        "403": owner.get("/admin/users"),
        "405": owner.get("/logout"),
        "405 API": client.delete("/api/v1/contracts"),
        "login redirect": client.get("/contracts"),
    }
    # CSRF is off in the tests' app; Flask-WTF reads the setting per request.
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    responses["400 CSRF"] = owner.post("/profile/tokens", data={"name": "x"})
    expected = {
        "404": 404,
        "404 static": 404,
        "404 API": 404,
        "401 API": 401,
        "403": 403,
        "405": 405,
        "405 API": 405,
        "login redirect": 302,
        "400 CSRF": 400,
    }
    assert {name: r.status_code for name, r in responses.items()} == expected
    failures = {name: header_problems(r) for name, r in responses.items() if header_problems(r)}
    assert failures == {}
    assert [name for name, r in responses.items() if not no_store(r)] == ["404 static"]
    assert responses["405"].headers["Allow"] == "OPTIONS, POST"
    assert "GET" in responses["405 API"].headers["Allow"]


# --- 500: the app's page, never the error -------------------------------------------------

SECRET = "hemmelig-detalj-8f3a in /srv/app/contracts/secret.py"


@pytest.fixture
def production_app(another_app):
    """An app as in production (TESTING and DEBUG off, so errors are handled, not raised
    into the test), with routes that fail, sharing the test's rolled-back connection."""
    app = another_app(TESTING=False, DEBUG=False, WTF_CSRF_ENABLED=True)
    assert not app.testing and not app.debug
    assert not app.config.get("PROPAGATE_EXCEPTIONS")

    def fail():
        raise RuntimeError(SECRET)

    app.add_url_rule("/test-only/fail", "test_only_fail", fail)
    app.add_url_rule("/api/v1/test-only/fail", "test_only_api_fail", fail)
    return app


def _leaks(text: str) -> list[str]:
    return [
        word
        for word in (SECRET, "hemmelig-detalj", "RuntimeError", "Traceback", 'File "', "werkzeug")
        if word in text
    ]


def test_a_failing_page_shows_the_error_page_and_nothing_of_the_error(production_app):
    response = production_app.test_client().get("/test-only/fail")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "Noe gikk galt hos oss" in response.text
    assert "Feilen er logget" in response.text
    assert _leaks(response.text) == []
    assert header_problems(response) == [] and no_store(response)


def test_a_failing_api_call_answers_json_and_nothing_of_the_error(production_app, monkeypatch):
    from contracts.api import views as api_views

    response = production_app.test_client().get("/api/v1/test-only/fail")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": {
            "status": 500,
            "code": "internal_server_error",
            "message": "Noe gikk galt hos oss. Prøv igjen senere.",
        }
    }
    assert header_problems(response) == [] and no_store(response)

    # A real API route, failing inside (behind its own error handler and token check).
    def fail(*_args, **_kwargs):
        raise RuntimeError(SECRET)

    monkeypatch.setattr(api_views, "_contract_query", fail)
    with production_app.app_context():
        token = factories.make_api_token(factories.make_user(Role.PROCUREMENT))
        Session.commit()
    response = production_app.test_client().get(
        "/api/v1/contracts", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_server_error"
    assert _leaks(response.text) == []
