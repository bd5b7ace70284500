"""Logging in and out, server-side sessions, the `flask users` command and the admin pages
for users."""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin, urlsplit

import pytest
from sqlalchemy import func, select

from contracts.audit.models import AuditEvent
from contracts.auth import services
from contracts.auth.models import Role, User, UserSession
from tests import factories

WRONG_LOGIN_NB = "Feil e-postadresse eller passord."
NEW_PASSWORD = "a long enough new password"


def _count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def _audit_events(db, **filters) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.seq)
    for name, value in filters.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return list(db.scalars(query))


def _field_errors(html: str) -> dict[str, str]:
    """The error message shown under each form field, by field id."""
    return {
        field: re.sub(r"\s+", " ", message).strip()
        for field, message in re.findall(
            r'<div class="ds-validation-message"[^>]*id="([\w-]+)-error">(.*?)</div>', html, re.S
        )
    }


def _login(client, email: str, password: str, next_: str | None = None):
    url = "/login" if next_ is None else f"/login?next={quote(next_, safe='')}"
    return client.post(url, data={"email": email, "password": password})


def _is_logged_in(client) -> bool:
    response = client.get("/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    return False


# --- logging in ------------------------------------------------------------------------


def test_login_page_is_norwegian(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert 'lang="nb"' in response.text
    assert "Logg inn" in response.text


def test_login_with_the_right_password(client, db):
    user = factories.make_user(Role.OWNER)
    response = _login(client, user.email, factories.PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert _is_logged_in(client)
    assert _count(db, UserSession, UserSession.user_id == user.id) == 1
    db.refresh(user)
    assert user.last_login_at is not None


def test_login_ignores_case_and_spaces_in_the_email(client):
    user = factories.make_user(Role.OWNER)
    response = _login(client, f"  {user.email.upper()} ", factories.PASSWORD)
    assert response.status_code == 302
    assert _is_logged_in(client)


@pytest.mark.parametrize("wrong", ["wrong password", "", "correct horse battery stapl"])
def test_wrong_password_is_refused_in_norwegian(client, db, wrong):
    user = factories.make_user(Role.OWNER)
    response = _login(client, user.email, wrong)
    assert response.status_code == 422
    if wrong:
        assert WRONG_LOGIN_NB in response.text
    else:
        assert "Skriv inn passordet ditt." in response.text
    assert not _is_logged_in(client)
    assert _count(db, UserSession, UserSession.user_id == user.id) == 0


def test_unknown_email_gets_the_same_answer(client):
    response = _login(client, "nobody@test.kommune.no", factories.PASSWORD)
    assert response.status_code == 422
    assert WRONG_LOGIN_NB in response.text
    assert "nobody@test.kommune.no" in response.text  # the e-mail stays filled in
    assert factories.PASSWORD not in response.text  # the password never comes back


def test_deactivated_user_cannot_log_in(client, db):
    user = factories.make_user(Role.OWNER, is_active=False)
    response = _login(client, user.email, factories.PASSWORD)
    assert response.status_code == 422
    assert WRONG_LOGIN_NB in response.text
    assert not _is_logged_in(client)
    assert _count(db, UserSession, UserSession.user_id == user.id) == 0


def test_deactivated_user_loses_an_existing_session(app, db):
    user = factories.make_user(Role.OWNER)
    client = app.test_client()
    factories.log_in(client, user)
    assert _is_logged_in(client)
    user.is_active = False
    db.flush()
    assert not _is_logged_in(client)


@pytest.mark.parametrize("target", ["/contracts", "/contracts?q=renhold&status=active", "/units"])
def test_login_follows_a_local_next(client, target):
    user = factories.make_user(Role.OWNER)
    response = _login(client, user.email, factories.PASSWORD, next_=target)
    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/contracts",
        "http://evil.example/",
        "https://evil.example/login",
        "HTTPS://evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "/\t/evil.example",
        " //evil.example",
    ],
)
def test_login_never_follows_next_to_another_host(client, target):
    user = factories.make_user(Role.OWNER)
    response = _login(client, user.email, factories.PASSWORD, next_=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    # Read the Location the way a browser does (WHATWG URL): tabs and newlines are dropped
    # and a backslash counts as a slash, so "/\\evil.example" would mean "//evil.example".
    as_browser = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    parts = urlsplit(urljoin("https://kommune.example/login", as_browser))
    assert parts.netloc == "kommune.example", location
    assert "evil.example" not in parts.netloc
    assert location == "/" or target.startswith("/")


def test_anonymous_visit_sends_to_login_with_next(client):
    response = client.get("/contracts?q=skole")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fcontracts%3Fq%3Dskole"


def test_logged_in_user_on_login_page_goes_home(login_as):
    client = login_as("owner")
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# --- logging out -----------------------------------------------------------------------


def test_logout_is_post_only(login_as):
    client = login_as("owner")
    assert client.get("/logout").status_code == 405
    assert _is_logged_in(client)


def test_logout_ends_the_session_on_the_server(app, client, db):
    user = factories.make_user(Role.OWNER)
    assert _login(client, user.email, factories.PASSWORD).status_code == 302
    cookie = client.get_cookie("kr_session")
    assert cookie is not None

    # The copied cookie works while the session lives ...
    copy = app.test_client()
    copy.set_cookie("kr_session", cookie.value)
    assert _is_logged_in(copy)

    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not _is_logged_in(client)
    assert _count(db, UserSession, UserSession.user_id == user.id) == 0

    # ... and stops working after logout.
    stolen = app.test_client()
    stolen.set_cookie("kr_session", cookie.value)
    response = stolen.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_logout_ends_every_session_of_the_user(app, db):
    user = factories.make_user(Role.OWNER)
    other = factories.make_user(Role.OWNER)
    phone, laptop, colleague = app.test_client(), app.test_client(), app.test_client()
    factories.log_in(phone, user)
    factories.log_in(laptop, user)
    factories.log_in(colleague, other)
    assert phone.post("/logout").status_code == 302
    assert not _is_logged_in(phone)
    assert not _is_logged_in(laptop)
    assert _count(db, UserSession, UserSession.user_id == user.id) == 0
    assert _is_logged_in(colleague)


# --- passwords -------------------------------------------------------------------------


def test_passwords_are_stored_hashed(db):
    user = services.create_user(
        email="hash@test.kommune.no", name="Hash", role=Role.OWNER, password=NEW_PASSWORD
    )
    db.flush()
    stored = db.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("scrypt:")
    assert NEW_PASSWORD not in stored
    assert services.authenticate("hash@test.kommune.no", NEW_PASSWORD).id == user.id
    assert services.authenticate("hash@test.kommune.no", "not the password") is None


# --- flask users create ----------------------------------------------------------------


def _create(runner, email="cli@test.kommune.no", role="procurement", password=NEW_PASSWORD):
    args = ["users", "create", "--email", email, "--name", "Kari Nordmann", "--role", role]
    if password is not None:
        args += ["--password", password]
    return runner.invoke(args=args)


def test_cli_creates_a_user(runner, db):
    result = _create(runner, email="Kari@Test.Kommune.no")
    assert result.exit_code == 0, result.output
    assert "Created procurement kari@test.kommune.no" in result.output
    user = db.scalar(select(User).where(User.email == "kari@test.kommune.no"))
    assert user.role == Role.PROCUREMENT
    assert user.name == "Kari Nordmann"
    assert user.password_hash.startswith("scrypt:")
    assert services.authenticate("kari@test.kommune.no", NEW_PASSWORD) is not None
    event = _audit_events(db, entity_type="users", entity_id=user.id)[-1]
    assert event.action == "create"
    assert "password_hash" not in event.after


def test_cli_generates_and_prints_a_password(runner, db):
    result = _create(runner, password=None)
    assert result.exit_code == 0, result.output
    password = re.search(r"Password: (\S+)", result.output).group(1)
    assert len(password) >= services.MIN_PASSWORD_LENGTH
    assert services.authenticate("cli@test.kommune.no", password) is not None


def test_cli_refuses_a_duplicate_email(runner, db):
    factories.make_user(Role.OWNER, email="taken@test.kommune.no")
    db.commit()  # the command rolls back on error: keep the first user
    result = _create(runner, email="Taken@test.kommune.no")
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert _count(db, User, User.email == "taken@test.kommune.no") == 1


def test_cli_refuses_an_unknown_role(runner, db):
    result = _create(runner, role="superuser")
    assert result.exit_code != 0
    assert "Invalid value for '--role'" in result.output
    assert _count(db, User, User.email == "cli@test.kommune.no") == 0


def test_cli_refuses_a_common_password(runner, db):
    result = _create(runner, password="kontraktsregister2026")
    assert result.exit_code != 0
    assert "too easy to guess" in result.output
    assert _count(db, User, User.email == "cli@test.kommune.no") == 0


def test_cli_refuses_a_short_password(runner, db):
    result = _create(runner, password="short")
    assert result.exit_code != 0
    assert f"at least {services.MIN_PASSWORD_LENGTH} characters" in result.output
    assert _count(db, User, User.email == "cli@test.kommune.no") == 0


# --- admin: users ----------------------------------------------------------------------


def _user_form(**overrides) -> dict[str, str]:
    data = {
        "email": "ny@test.kommune.no",
        "name": "Ola Nordmann",
        "role": "owner",
        "unit_id": "",
        "is_active": "y",
        "password": NEW_PASSWORD,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_lists_users(login_as):
    admin = login_as("admin")
    other = factories.make_user(Role.AUDITOR, name="Revisor Rita")
    response = admin.get("/admin/users")
    assert response.status_code == 200
    assert "Revisor Rita" in response.text
    assert other.email in response.text


def test_admin_creates_a_user(login_as, db):
    admin = login_as("admin")
    unit = factories.make_unit()
    assert admin.get("/admin/users/new").status_code == 200
    response = admin.post("/admin/users/new", data=_user_form(unit_id=str(unit.id)))
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"

    user = db.scalar(select(User).where(User.email == "ny@test.kommune.no"))
    assert user.role == Role.OWNER
    assert user.unit_id == unit.id
    assert user.is_active
    assert user.password_hash.startswith("scrypt:")
    assert NEW_PASSWORD not in user.password_hash

    event = _audit_events(db, entity_type="users", entity_id=user.id)[-1]
    assert event.action == "create"
    assert event.actor_id == admin.user.id
    assert event.after["role"] == "owner"
    assert "password_hash" not in event.after

    # The new user can log in with the password the admin chose.
    client = admin.application.test_client()
    assert _login(client, "ny@test.kommune.no", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("overrides", "field", "email"),
    [
        ({"email": "not-an-email"}, "email", "not-an-email"),
        ({"email": ""}, "email", ""),
        ({"email": "taken@test.kommune.no"}, "email", "taken@test.kommune.no"),
        ({"email": "TAKEN@test.kommune.no"}, "email", "taken@test.kommune.no"),
        ({"password": "short"}, "password", "ny@test.kommune.no"),
        ({"password": ""}, "password", "ny@test.kommune.no"),
        ({"password": "Passord123456"}, "password", "ny@test.kommune.no"),
        ({"password": "olanordmann2026"}, "password", "ny@test.kommune.no"),
        ({"password": "x7!" * 67}, "password", "ny@test.kommune.no"),
        ({"role": "superuser"}, "role", "ny@test.kommune.no"),
        ({"name": "N" * 121}, "name", "ny@test.kommune.no"),
        ({"name": ""}, "name", "ny@test.kommune.no"),
        ({"unit_id": "999999"}, "unit_id", "ny@test.kommune.no"),
    ],
    ids=[
        "invalid-email",
        "no-email",
        "duplicate-email",
        "duplicate-email-other-case",
        "short-password",
        "no-password",
        "common-password",
        "own-name-password",
        "too-long-password",
        "unknown-role",
        "long-name",
        "no-name",
        "unknown-unit",
    ],
)
def test_admin_create_refuses_bad_input(login_as, db, overrides, field, email):
    admin = login_as("admin")
    factories.make_user(Role.OWNER, email="taken@test.kommune.no")
    users_before = _count(db, User)
    events_before = _count(db, AuditEvent)

    response = admin.post("/admin/users/new", data=_user_form(**overrides))

    assert response.status_code == 422
    errors = _field_errors(response.text)
    assert set(errors) == {field}, errors
    assert errors[field]
    assert 'aria-invalid="true"' in response.text
    assert _count(db, User) == users_before
    assert _count(db, AuditEvent) == events_before
    if email == "taken@test.kommune.no":
        assert _count(db, User, User.email == email) == 1
    else:
        assert _count(db, User, User.email == email) == 0


@pytest.mark.parametrize(
    ("overrides", "field", "english"),
    [
        (
            {"email": "taken@test.kommune.no"},
            "email",
            "A user with this e-mail address already exists.",
        ),
        ({"password": "short"}, "password", "The password must have at least 12 characters."),
        ({"email": "not-an-email"}, "email", "Enter a valid e-mail address."),
        (
            {"password": "Sommerferie2026"},
            "password",
            "The password is too easy to guess: a common password, a name, a word from the "
            "e-mail address, a date or a simple pattern. Several random words make a good one.",
        ),
    ],
    ids=["duplicate-email", "short-password", "invalid-email", "common-password"],
)
def test_admin_form_errors_are_norwegian(login_as, overrides, field, english):
    admin = login_as("admin")
    factories.make_user(Role.OWNER, email="taken@test.kommune.no")
    norwegian = _field_errors(admin.post("/admin/users/new", data=_user_form(**overrides)).text)
    assert admin.post("/locale", data={"locale": "en"}).status_code == 302
    response = admin.post("/admin/users/new", data=_user_form(**overrides))
    assert response.status_code == 422
    assert _field_errors(response.text) == {field: english}
    assert norwegian[field] and norwegian[field] != english


def test_admin_changes_a_role(login_as, db):
    admin = login_as("admin")
    user = factories.make_user(Role.OWNER)
    assert admin.get(f"/admin/users/{user.id}/edit").status_code == 200
    response = admin.post(
        f"/admin/users/{user.id}/edit",
        data=_user_form(email=user.email, name=user.name, role="procurement", password=""),
    )
    assert response.status_code == 302
    db.refresh(user)
    assert user.role == Role.PROCUREMENT
    event = _audit_events(db, entity_type="users", entity_id=user.id)[-1]
    assert event.action == "update"
    assert event.actor_id == admin.user.id
    assert event.before == {"role": "owner"}
    assert event.after == {"role": "procurement"}


def test_admin_deactivation_ends_the_users_sessions(app, login_as, db):
    admin = login_as("admin")
    user = factories.make_user(Role.OWNER)
    victim = app.test_client()
    factories.log_in(victim, user)
    assert _is_logged_in(victim)

    response = admin.post(
        f"/admin/users/{user.id}/edit",
        data=_user_form(email=user.email, name=user.name, is_active=None, password=""),
    )
    assert response.status_code == 302
    db.refresh(user)
    assert not user.is_active
    assert _count(db, UserSession, UserSession.user_id == user.id) == 0
    assert not _is_logged_in(victim)
    event = _audit_events(db, entity_type="users", entity_id=user.id)[-1]
    assert event.after == {"is_active": False}


def test_admin_new_password_ends_sessions_and_is_audited_without_hash(app, login_as, db):
    admin = login_as("admin")
    user = factories.make_user(Role.OWNER)
    victim = app.test_client()
    factories.log_in(victim, user)
    events_before = _count(db, AuditEvent)

    response = admin.post(
        f"/admin/users/{user.id}/edit",
        data=_user_form(email=user.email, name=user.name, password=NEW_PASSWORD),
    )
    assert response.status_code == 302
    assert not _is_logged_in(victim)
    assert _count(db, AuditEvent) == events_before + 1
    event = _audit_events(db, entity_type="users", entity_id=user.id)[-1]
    assert "password_hash" not in (event.before or {})
    assert "password_hash" not in (event.after or {})
    assert services.authenticate(user.email, NEW_PASSWORD) is not None


@pytest.mark.parametrize(
    "change", [{"role": "procurement"}, {"role": "auditor"}, {"is_active": None}]
)
def test_admin_cannot_remove_their_own_admin_access(login_as, db, change):
    admin = login_as("admin")
    me = admin.user
    events_before = _count(db, AuditEvent)
    data = _user_form(email=me.email, name=me.name, role="admin", password="") | change
    response = admin.post(f"/admin/users/{me.id}/edit", data={k: v for k, v in data.items() if v})
    assert response.status_code == 422
    errors = _field_errors(response.text)
    assert errors == {"role": "Du kan ikke fjerne din egen administratortilgang."}
    db.refresh(me)
    assert me.role == Role.ADMIN
    assert me.is_active
    assert _count(db, AuditEvent) == events_before
    assert _is_logged_in(admin)


def test_admin_may_edit_their_own_name(login_as, db):
    admin = login_as("admin")
    me = admin.user
    response = admin.post(
        f"/admin/users/{me.id}/edit",
        data=_user_form(email=me.email, name="Admin Adminsen", role="admin", password=""),
    )
    assert response.status_code == 302
    db.refresh(me)
    assert me.name == "Admin Adminsen"
    assert me.role == Role.ADMIN


def test_admin_edit_refuses_a_duplicate_email(login_as, db):
    admin = login_as("admin")
    factories.make_user(Role.OWNER, email="taken@test.kommune.no")
    user = factories.make_user(Role.OWNER)
    events_before = _count(db, AuditEvent)
    response = admin.post(
        f"/admin/users/{user.id}/edit",
        data=_user_form(email="taken@test.kommune.no", name=user.name, password=""),
    )
    assert response.status_code == 422
    assert set(_field_errors(response.text)) == {"email"}
    db.expire_all()
    assert db.get(User, user.id).email == user.email
    assert _count(db, AuditEvent) == events_before


def test_unknown_user_edit_is_404(login_as):
    admin = login_as("admin")
    assert admin.get("/admin/users/999999/edit").status_code == 404
