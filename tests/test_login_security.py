"""Login hardening: session renewal and timeouts, cookie flags, throttling kept in the
database, the password policy and changing one's own password."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from contracts.audit.models import AuditEvent
from contracts.auth import passwords, services
from contracts.auth.models import LoginAttempt, Role, User, UserSession
from contracts.db import Session, utcnow
from jobs.models import OutboxMessage
from tests import factories

NEW_PASSWORD = "gul elefant spiser blåbær"
THROTTLED_NB = "For mange mislykkede innloggingsforsøk"


def _count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def _login(client, email: str, password: str, ip: str = "192.0.2.10"):
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )


def _is_logged_in(client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def _events(db, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _set_password_as_admin(admin, user):
    return admin.post(
        f"/admin/users/{user.id}/edit",
        data={
            "email": user.email,
            "name": user.name,
            "role": "owner",
            "unit_id": "",
            "is_active": "y",
            "password": NEW_PASSWORD,
        },
    )


def _age_attempts(db, minutes: float) -> None:
    """Move every recorded attempt back in time, as if the minutes had passed."""
    for attempt in db.scalars(select(LoginAttempt)):
        attempt.at -= timedelta(minutes=minutes)
    db.flush()


# --- sessions ----------------------------------------------------------------------------


def test_login_gives_a_new_session_and_forgets_what_came_before(app, db):
    user = factories.make_user(Role.OWNER)
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["_user_id"] = "a-token-the-attacker-knows"
    assert _login(client, user.email, factories.PASSWORD).status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        token = session["_user_id"]
    assert token != "a-token-the-attacker-knows"

    # A second login (another device) gets a token of its own.
    other = app.test_client()
    assert _login(other, user.email, factories.PASSWORD).status_code == 302
    with other.session_transaction() as session:
        assert session["_user_id"] != token
    assert _count(db, UserSession, UserSession.user_id == user.id) == 2


def test_an_idle_session_ends_and_the_login_page_says_why(app, db):
    user = factories.make_user(Role.OWNER)
    client = app.test_client()
    factories.log_in(client, user)
    assert _is_logged_in(client)
    idle = app.config["SESSION_IDLE_MINUTES"]
    assert idle == 30
    db.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id)
        .values(last_seen_at=utcnow() - timedelta(minutes=idle + 1))
    )
    response = client.get("/contracts")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert _count(db, UserSession, UserSession.user_id == user.id) == 0
    page = client.get("/login")
    assert "Innloggingen din er avsluttet" in page.text


def test_activity_keeps_a_session_alive(app, db):
    user = factories.make_user(Role.OWNER)
    client = app.test_client()
    factories.log_in(client, user)
    almost = utcnow() - timedelta(minutes=29)
    db.execute(
        update(UserSession).where(UserSession.user_id == user.id).values(last_seen_at=almost)
    )
    assert _is_logged_in(client)
    seen = db.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == user.id))
    assert seen > utcnow() - timedelta(minutes=1)

    # Within a minute of the last write nothing is written again.
    assert _is_logged_in(client)
    assert db.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == user.id)) == seen


def test_a_session_ends_after_its_maximum_age_even_when_active(app, db):
    user = factories.make_user(Role.OWNER)
    client = app.test_client()
    factories.log_in(client, user)
    assert app.config["SESSION_MAX_HOURS"] == 12
    db.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id)
        .values(created_at=utcnow() - timedelta(hours=12, minutes=1), last_seen_at=utcnow())
    )
    assert not _is_logged_in(client)
    assert _count(db, UserSession, UserSession.user_id == user.id) == 0


def test_deactivation_ends_every_session_on_the_server(app, login_as, db):
    admin = login_as("admin")
    user = factories.make_user(Role.OWNER)
    phone, laptop = app.test_client(), app.test_client()
    factories.log_in(phone, user)
    factories.log_in(laptop, user)
    response = admin.post(
        f"/admin/users/{user.id}/edit",
        data={"email": user.email, "name": user.name, "role": "owner", "unit_id": ""},
    )
    assert response.status_code == 302
    assert _count(db, UserSession, UserSession.user_id == user.id) == 0
    assert not _is_logged_in(phone)
    assert not _is_logged_in(laptop)


# --- cookies and headers in production ---------------------------------------------------


@pytest.fixture
def https_app(another_app):
    """An app configured as served over HTTPS, sharing the test's connection."""
    return another_app(SESSION_COOKIE_SECURE=True)


def _set_cookie(response) -> str:
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1, cookies
    return cookies[0]


def test_the_session_cookie_over_https_is_secure_host_only_and_prefixed(https_app, db):
    user = factories.make_user(Role.OWNER)
    Session.commit()
    client = https_app.test_client()
    response = client.post(
        "/login",
        data={"email": user.email, "password": factories.PASSWORD},
        base_url="https://kontrakter.kommune.no",
    )
    assert response.status_code == 302
    cookie = _set_cookie(response)
    assert cookie.startswith("__Host-kr_session=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path"} <= attributes
    assert "domain" not in attributes
    assert "; Path=/" in cookie
    assert "SameSite=Lax" in cookie
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_the_session_cookie_in_development_is_httponly_and_lax(client, db):
    user = factories.make_user(Role.OWNER)
    response = _login(client, user.email, factories.PASSWORD)
    cookie = _set_cookie(response)
    assert cookie.startswith("kr_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Strict-Transport-Security" not in response.headers


def test_secure_cookies_follow_an_https_base_url(monkeypatch, tmp_path):
    from contracts.config import load_config

    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.setenv("BASE_URL", "https://kontrakter.kommune.no")
    config = load_config(str(tmp_path), {"SECRET_KEY": "x"})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_NAME"] == "__Host-kr_session"
    monkeypatch.setenv("BASE_URL", "http://127.0.0.1:5000")
    config = load_config(str(tmp_path), {"SECRET_KEY": "x"})
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_NAME"] == "kr_session"


# --- throttling ------------------------------------------------------------------------


def test_ten_failures_lock_the_account_even_for_the_right_password(app, db):
    user = factories.make_user(Role.OWNER)
    client = app.test_client()
    for attempt in range(10):
        # From ten addresses, so only the account's limit can be what stops the 11th.
        response = _login(client, user.email, "wrong password", ip=f"192.0.2.{attempt}")
        assert response.status_code == 422
    response = _login(client, user.email, factories.PASSWORD, ip="198.51.100.1")
    assert response.status_code == 429
    assert THROTTLED_NB in response.text
    assert re.search(r"Vent 15 minutter", response.text)
    assert not _is_logged_in(client)
    assert len(_events(db, "login_failed")) == 10
    throttled = _events(db, "login_throttled")
    assert len(throttled) == 1
    assert throttled[0].after == {"email": user.email, "by": "account"}
    assert throttled[0].ip == "198.51.100.1"

    # The window passes: the right password works again.
    _age_attempts(db, 15)
    assert _login(client, user.email, factories.PASSWORD).status_code == 302
    assert _is_logged_in(client)


def test_ten_failures_from_one_address_lock_that_address_for_every_account(app, db):
    user = factories.make_user(Role.OWNER)
    client = app.test_client()
    for attempt in range(10):
        _login(client, f"guess{attempt}@test.kommune.no", "wrong password", ip="203.0.113.7")
    response = _login(client, user.email, factories.PASSWORD, ip="203.0.113.7")
    assert response.status_code == 429
    assert _events(db, "login_throttled")[0].after["by"] == "ip"
    # The account itself is not locked: from another address its owner gets in.
    assert _login(client, user.email, factories.PASSWORD, ip="203.0.113.8").status_code == 302


def test_a_new_password_from_an_administrator_lifts_the_lock(app, login_as, db):
    user = factories.make_user(Role.OWNER)
    client = app.test_client()
    for attempt in range(10):
        _login(client, user.email, "wrong password", ip=f"192.0.2.{attempt}")
    assert _login(client, user.email, factories.PASSWORD).status_code == 429
    admin = login_as("admin")
    assert _set_password_as_admin(admin, user).status_code == 302
    assert _login(client, user.email, NEW_PASSWORD).status_code == 302


def test_nine_failures_and_a_success_start_the_account_count_again(app, db):
    user = factories.make_user(Role.OWNER)
    client = app.test_client()
    for attempt in range(9):
        _login(client, user.email, "wrong password", ip=f"192.0.2.{attempt}")
    assert _login(client, user.email, factories.PASSWORD, ip="192.0.2.50").status_code == 302
    client.post("/logout")
    for attempt in range(9):
        _login(client, user.email, "wrong password", ip=f"192.0.2.{100 + attempt}")
    assert _login(client, user.email, factories.PASSWORD, ip="192.0.2.51").status_code == 302


def test_throttled_attempts_do_not_extend_the_wait(app, db):
    user = factories.make_user(Role.OWNER)
    client = app.test_client()
    for attempt in range(10):
        _login(client, user.email, "wrong password", ip=f"192.0.2.{attempt}")
    _age_attempts(db, 10)
    for _ in range(5):
        assert _login(client, user.email, "wrong password").status_code == 429
    assert _count(db, LoginAttempt) == 10
    _age_attempts(db, 5)
    assert _login(client, user.email, factories.PASSWORD).status_code == 302


def test_the_limit_holds_across_processes_sharing_the_database(app, https_app, db):
    """Two app instances (two gunicorn workers, or two machines) see the same count."""
    user = factories.make_user(Role.OWNER)
    Session.commit()
    worker_one, worker_two = app.test_client(), https_app.test_client()
    for attempt in range(5):
        _login(worker_one, user.email, "wrong password", ip=f"192.0.2.{attempt}")
        worker_two.post(
            "/login",
            data={"email": user.email, "password": "wrong password"},
            base_url="https://kontrakter.kommune.no",
            environ_base={"REMOTE_ADDR": f"192.0.2.{100 + attempt}"},
        )
    assert _count(db, LoginAttempt, LoginAttempt.succeeded.is_(False)) == 10
    assert _login(worker_one, user.email, factories.PASSWORD).status_code == 429


def test_old_attempts_are_forgotten(app, db):
    client = app.test_client()
    _login(client, "old@test.kommune.no", "wrong password")
    _age_attempts(db, 25 * 60)
    _login(client, "new@test.kommune.no", "wrong password")
    assert db.scalars(select(LoginAttempt.email)).all() == ["new@test.kommune.no"]


# --- the password policy ---------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "passwordpassword",
        "123456789012",
        "qwertyuiopasdf",
        "aaaaaaaaaaaa",
        "Sommerferie2026",
        "Passord123456",
        "Kontraktsregister1",
        "Trondheim1234",
    ],
)
def test_common_passwords_are_refused(password):
    with pytest.raises(passwords.PasswordProblem, match="common"):
        passwords.check_password(password)


def test_words_from_the_persons_own_name_and_address_are_refused():
    passwords.check_password("kari.hansen.2026")
    with pytest.raises(passwords.PasswordProblem, match="common"):
        passwords.check_password(
            "kari.hansen.2026", email="kari.hansen@bergen.kommune.no", name="Kari Hansen"
        )


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "gul elefant spiser blåbær",
        "x8#kQ2!mZ9pL",
        "é" * 3 + "9Qz!x%Lm2#vB",
    ],
)
def test_long_uncommon_passwords_need_no_special_characters(password):
    passwords.check_password(password)  # no composition rules: no error


def test_length_limits():
    with pytest.raises(passwords.PasswordProblem, match="short"):
        passwords.check_password("kQ2!mZ9pLx8")
    with pytest.raises(passwords.PasswordProblem, match="long"):
        passwords.check_password("kQ2!mZ9pL#" * 21)
    passwords.check_password("kQ2!mZ9pL#" * 20)  # 200 characters: allowed


# --- changing one's own password -------------------------------------------------------


def test_change_own_password_ends_other_sessions_and_keeps_this_one(app, db):
    user = factories.make_user(Role.OWNER)
    here, elsewhere = app.test_client(), app.test_client()
    factories.log_in(here, user)
    factories.log_in(elsewhere, user)
    assert here.get("/profile/password").status_code == 200
    response = here.post(
        "/profile/password",
        data={
            "current_password": factories.PASSWORD,
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert _is_logged_in(here)
    assert not _is_logged_in(elsewhere)
    assert services.authenticate(user.email, NEW_PASSWORD) is not None
    assert services.authenticate(user.email, factories.PASSWORD) is None
    event = _events(db, "password_change")[-1]
    assert event.entity_id == user.id
    assert "password_hash" not in (event.after or {})
    [notice] = db.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id))
    assert notice.to_address == user.email
    assert notice.subject == "Passordet ditt i kontraktsregisteret er endret"
    assert "Passordet til kontoen din ble endret." in notice.body_text
    assert NEW_PASSWORD not in notice.body_text


def test_a_password_set_by_an_administrator_is_told_to_its_owner(login_as, db):
    admin = login_as("admin")
    user = factories.make_user(Role.OWNER, name="Kari Nordmann")
    assert _set_password_as_admin(admin, user).status_code == 302
    [notice] = db.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id))
    assert "En administrator har satt et nytt passord" in notice.body_text
    assert notice.body_text.startswith("Hei Kari Nordmann,")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"current_password": "wrong", "new_password": NEW_PASSWORD},
            "current_password",
            "Nåværende passord er feil.",
        ),
        ({"new_password": "Sommerferie2026"}, "new_password", "for lett å gjette"),
        ({"new_password": "kort"}, "new_password", "minst 12 tegn"),
        (
            {"new_password": NEW_PASSWORD, "repeat_password": "something else"},
            "repeat_password",
            "ikke like",
        ),
    ],
    ids=["wrong-current", "common", "short", "not-repeated"],
)
def test_change_own_password_refuses_bad_input(login_as, db, data, field, message):
    client = login_as("owner")
    hash_before = client.user.password_hash
    form = {
        "current_password": factories.PASSWORD,
        "new_password": NEW_PASSWORD,
        "repeat_password": data.get("new_password", NEW_PASSWORD),
    }
    form.update(data)
    response = client.post("/profile/password", data=form)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text
    assert message in response.text
    db.refresh(client.user)
    assert client.user.password_hash == hash_before
    assert _is_logged_in(client)


def test_wrong_current_passwords_count_towards_the_login_limit(login_as, db):
    client = login_as("owner")
    for _ in range(10):
        client.post(
            "/profile/password",
            data={
                "current_password": "guess",
                "new_password": NEW_PASSWORD,
                "repeat_password": NEW_PASSWORD,
            },
        )
    response = client.post(
        "/profile/password",
        data={
            "current_password": factories.PASSWORD,
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 429
    assert db.scalar(select(User.password_hash).where(User.id == client.user.id)) == (
        factories.PASSWORD_HASH
    )
