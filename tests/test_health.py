"""/healthz, security headers and the session cookie."""

from __future__ import annotations

import re

from alembic.script import ScriptDirectory

from contracts.dbcli import alembic_config
from tests import factories


def _csp(response) -> dict[str, list[str]]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_healthz_needs_no_login(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["engine"] == app.extensions["engine"].dialect.name
    assert body["database"]["engine"] in {"sqlite", "postgresql"}
    head = ScriptDirectory.from_config(
        alembic_config(app.config["DATABASE_URL"])
    ).get_current_head()
    assert body["database"]["revision"] == head
    assert "Set-Cookie" not in response.headers


def test_healthz_works_when_logged_in_too(login_as):
    response = login_as("auditor").get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_security_headers_on_the_login_page(client):
    response = client.get("/login")
    assert response.status_code == 200
    csp = _csp(response)
    assert csp["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_no_inline_scripts_or_styles_in_pages(login_as):
    """The CSP forbids inline scripts and styles, so pages must not rely on them."""
    client = login_as("admin")
    contract = factories.make_contract()
    pages = ("/", "/contracts", f"/contracts/{contract.id}", "/contracts/new", "/admin/users")
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert not re.search(r"<style|\sstyle=", html), path


def test_logged_in_pages_are_not_cached(login_as):
    client = login_as("procurement")
    contract = factories.make_contract()
    for path in ("/", "/contracts", f"/contracts/{contract.id}", "/suppliers", "/healthz"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response.headers["Cache-Control"], path
        assert "'unsafe-inline'" not in _csp(response)["script-src"], path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path


def test_error_pages_have_the_headers_too(login_as, client):
    for response in (login_as("owner").get("/admin/users"), client.get("/no-such-page")):
        assert response.status_code in {403, 404}
        assert "Content-Security-Policy" in response.headers
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response.headers["Cache-Control"]


def test_session_cookie_is_httponly_and_samesite_lax(client):
    user = factories.make_user()
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("kr_session=")]
    assert len(cookies) == 1
    attributes = {part.strip().split("=")[0].lower(): part for part in cookies[0].split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=lax"
    assert attributes["path"].strip() == "Path=/"

    cookie = client.get_cookie("kr_session")
    assert cookie.http_only
    assert cookie.same_site == "Lax"
