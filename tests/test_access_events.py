"""Access events in the audit trail: logins (success and failure), logouts, exports, views
of confidential contracts and refused authorisations, committed even when the request fails."""

from __future__ import annotations

from sqlalchemy import func, select

from contracts.audit.models import AuditEvent
from contracts.audit.services import canonical_json, event_payload
from contracts.auth.models import Role
from tests import factories


def _events(db, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
    )


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent))


def test_a_login_is_recorded(client, db):
    user = factories.make_user(Role.PROCUREMENT, email="kari@test.kommune.no")
    response = client.post(
        "/login", data={"email": "kari@test.kommune.no", "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    [event] = _events(db, "login")
    assert (event.actor_id, event.actor_label) == (user.id, user.email)
    assert (event.entity_type, event.entity_id) == ("users", user.id)
    assert event.ip == "127.0.0.1"


def test_a_failed_login_is_recorded_with_the_address_but_never_the_password(client, db):
    factories.make_user(Role.PROCUREMENT, email="kari@test.kommune.no")
    wrong = "feil-passord-som-ikke-lagres"
    response = client.post("/login", data={"email": "kari@test.kommune.no", "password": wrong})
    assert response.status_code == 422
    db.rollback()  # the event was committed by the request, not left for the test
    [event] = _events(db, "login_failed")
    assert event.actor_id is None and event.actor_label == "anonymous"
    assert event.after == {"email": "kari@test.kommune.no"}
    assert wrong not in canonical_json(event_payload(event))


def test_a_logout_is_recorded(login_as, db):
    client = login_as("owner")
    assert client.post("/logout").status_code == 302
    [event] = _events(db, "logout")
    assert event.actor_id == client.user.id


def test_each_export_is_recorded_once(login_as, db):
    client = login_as("procurement")
    for path in (
        "/contracts/export.csv",
        "/contracts/export.xlsx",
        "/ocds/releases.json",
        "/gains/report.csv",
        "/gains/report/contracts.xlsx",
    ):
        before = len(_events(db, "export"))
        response = client.get(path)
        assert response.status_code == 200, path
        response.get_data()  # a streamed download runs to its end
        assert len(_events(db, "export")) == before + 1, path


def test_views_of_a_confidential_contract_are_recorded(login_as, db):
    secret = factories.make_contract(is_confidential=True)
    open_contract = factories.make_contract()
    client = login_as("auditor")
    assert client.get(f"/contracts/{open_contract.id}").status_code == 200
    assert _events(db, "view_confidential") == []
    for path in (f"/contracts/{secret.id}", f"/contracts/{secret.id}/plan"):
        assert client.get(path).status_code in {200, 302}
    events = _events(db, "view_confidential")
    assert events, "no view recorded"
    assert {(e.entity_type, e.entity_id, e.actor_id) for e in events} == {
        ("contracts", secret.id, client.user.id)
    }
    assert events[0].summary == f"GET /contracts/{secret.id}"
    # Not in the contract's own change history: that stays about changes.
    assert all(e.contract_id is None for e in events)


def test_a_refused_request_is_recorded_and_committed(login_as, db):
    client = login_as("owner")
    before = _count(db)
    assert client.get("/admin/users").status_code == 403
    db.rollback()
    [event] = _events(db, "access_refused")
    assert _count(db) == before + 1
    assert event.actor_id == client.user.id
    assert event.after == {
        "method": "GET",
        "path": "/admin/users",
        "endpoint": "auth.user_list",
        "status": 403,
    }
    assert event.summary == "GET /admin/users"


def test_a_refused_post_records_only_the_refusal(login_as, db):
    client = login_as("auditor")
    before = _count(db)
    assert client.post("/units/new", data={"name": "Ny enhet"}).status_code == 403
    assert _count(db) == before + 1
    assert [e.after["method"] for e in _events(db, "access_refused")] == ["POST"]


def test_a_hidden_confidential_contract_counts_as_refused(login_as, db):
    secret = factories.make_contract(is_confidential=True)
    client = login_as("owner")
    assert client.get(f"/contracts/{secret.id}").status_code == 404
    [event] = _events(db, "access_refused")
    assert event.after["status"] == 404
    # An id that does not exist is just not found.
    assert client.get("/contracts/99999999").status_code == 404
    assert len(_events(db, "access_refused")) == 1


def test_anonymous_visitors_are_not_recorded(client, db):
    before = _count(db)
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert _count(db) == before


def test_a_refused_api_request_is_recorded(app, db):
    auditor = factories.make_user(Role.AUDITOR)
    token = factories.make_api_token(auditor)
    response = app.test_client().post(
        "/api/v1/suppliers",
        json={"name": "Ny Leverandør AS"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    [event] = _events(db, "access_refused")
    assert event.actor_id == auditor.id
    assert event.after["path"] == "/api/v1/suppliers"
