"""Impartiality declarations: only the person themself declares, declarations are never
edited (only superseded), procurement's review is audited, and who is missing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from contracts.audit.models import AuditEvent
from contracts.auth.models import Role
from contracts.integrity import declarations
from contracts.integrity.declarations import (
    Declaration,
    DeclarationImmutable,
    DeclarationStatus,
    InvolvedPerson,
)
from tests import factories
from tests.conftest import TODAY


@pytest.fixture
def owned(app, login_as):
    """A contract above the national threshold, with its owner logged in."""
    owner = login_as("owner")
    contract = factories.make_contract(
        owner_id=owner.user.id, estimated_value=Decimal("2000000"), signed_on=date(2025, 5, 1)
    )
    return contract, owner


def _events(db) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent))


def test_the_owner_declares_for_themself(owned, db):
    contract, owner = owned
    response = owner.post(f"/contracts/{contract.id}/declarations", data={"conflict": "no"})
    assert response.status_code == 302
    declaration = db.scalar(select(Declaration).where(Declaration.contract_id == contract.id))
    assert declaration.user_id == owner.user.id
    assert declaration.declared_on == TODAY
    assert declaration.has_conflict is False
    assert declaration.status == DeclarationStatus.SUBMITTED
    event = db.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert (event.action, event.entity_type, event.actor_id) == (
        "create",
        "declarations",
        owner.user.id,
    )


def test_a_conflict_needs_a_description_and_measures(owned, db):
    contract, owner = owned
    response = owner.post(f"/contracts/{contract.id}/declarations", data={"conflict": "yes"})
    assert response.status_code == 422
    assert db.scalar(select(func.count()).select_from(Declaration)) == 0
    response = owner.post(
        f"/contracts/{contract.id}/declarations",
        data={"conflict": "yes", "conflict_description": "Eier aksjer", "measures": "Solgt"},
    )
    assert response.status_code == 302
    declaration = db.scalar(select(Declaration))
    assert (declaration.has_conflict, declaration.measures) == (True, "Solgt")


@pytest.mark.parametrize("role", ["owner", "procurement", "admin", "auditor"])
def test_people_not_involved_cannot_declare(owned, login_as, db, role):
    contract, _owner = owned
    response = login_as(role).post(
        f"/contracts/{contract.id}/declarations", data={"conflict": "no"}
    )
    assert response.status_code == 403
    assert db.scalar(select(func.count()).select_from(Declaration)) == 0


def test_an_auditor_named_as_owner_still_cannot_declare(login_as, db):
    auditor = login_as("auditor")
    contract = factories.make_contract(owner_id=auditor.user.id)
    response = auditor.post(f"/contracts/{contract.id}/declarations", data={"conflict": "no"})
    assert response.status_code == 403


def test_declarations_are_superseded_not_edited(owned, db):
    contract, owner = owned
    owner.post(f"/contracts/{contract.id}/declarations", data={"conflict": "no"})
    owner.post(
        f"/contracts/{contract.id}/declarations",
        data={"conflict": "yes", "conflict_description": "Ny rolle", "measures": "Fratrer"},
    )
    rows = db.scalars(select(Declaration).order_by(Declaration.id)).all()
    assert [r.has_conflict for r in rows] == [False, True]  # both kept
    current = declarations.current_declarations([contract.id])[(contract.id, owner.user.id)]
    assert current.id == rows[1].id  # the newest counts

    rows[0].has_conflict = True
    rows[0].conflict_description = "Endret i etterkant"
    rows[0].measures = "Ingen"
    with pytest.raises(DeclarationImmutable):
        db.flush()
    db.rollback()


def test_there_is_no_route_that_edits_a_declaration(app):
    rules = [r for r in app.url_map.iter_rules() if "declaration_id" in r.arguments]
    assert [r.endpoint for r in rules] == ["integrity.declaration_review"]


def test_procurement_reviews_and_the_review_is_audited(owned, login_as, db):
    contract, owner = owned
    declaration = declarations.declare(contract, owner.user, TODAY)
    officer = login_as("procurement")
    before = _events(db)
    response = officer.post(
        f"/integrity/declarations/{declaration.id}/review", data={"decision": "accept"}
    )
    assert response.status_code == 302
    db.expire_all()
    declaration = db.get(Declaration, declaration.id)
    assert declaration.status == DeclarationStatus.ACCEPTED
    assert declaration.reviewed_by_id == officer.user.id
    event = db.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert _events(db) == before + 1
    assert (event.action, event.actor_id, event.contract_id) == (
        "review",
        officer.user.id,
        contract.id,
    )
    assert event.after["status"] == "accepted"


def test_asking_for_a_new_declaration_needs_a_comment(owned, login_as, db):
    contract, owner = owned
    declaration = declarations.declare(contract, owner.user, TODAY)
    officer = login_as("procurement")
    url = f"/integrity/declarations/{declaration.id}/review"
    assert officer.post(url, data={"decision": "renew"}).status_code == 422
    assert officer.post(url, data={"decision": "renew", "comment": "Utdyp"}).status_code == 302
    db.expire_all()
    assert db.get(Declaration, declaration.id).status == DeclarationStatus.RENEWAL_REQUESTED
    assert not declarations.is_complete(db.get(Declaration, declaration.id))


def test_a_superseded_declaration_is_not_reviewed(owned, login_as, db):
    contract, owner = owned
    old = declarations.declare(contract, owner.user, TODAY)
    declarations.declare(contract, owner.user, TODAY)
    response = login_as("procurement").post(
        f"/integrity/declarations/{old.id}/review", data={"decision": "accept"}
    )
    assert response.status_code == 302
    db.expire_all()
    assert db.get(Declaration, old.id).status == DeclarationStatus.SUBMITTED


def test_editor_names_a_person_who_then_must_declare(owned, login_as, db):
    contract, _owner = owned
    person = factories.make_user(Role.OWNER)
    officer = login_as("procurement")
    response = officer.post(
        f"/contracts/{contract.id}/declarations/people",
        data={"user_id": str(person.id), "task": "Evalueringsnemnd"},
    )
    assert response.status_code == 302
    assert declarations.is_involved(contract, person)
    assert person.id in declarations.required_people()[contract.id]
    again = officer.post(
        f"/contracts/{contract.id}/declarations/people", data={"user_id": str(person.id)}
    )
    assert again.status_code == 302  # told, not an error page
    assert db.scalar(select(func.count()).select_from(InvolvedPerson)) == 1
    row = db.scalar(select(InvolvedPerson))
    assert officer.post(f"/integrity/involved/{row.id}/remove").status_code == 302
    assert not declarations.is_involved(contract, person)


def test_the_pages_show_people_and_declarations(owned, login_as, db):
    contract, owner = owned
    page = owner.get(f"/contracts/{contract.id}/declarations").text
    assert 'id="declaration-form"' in page
    assert f'data-user="{owner.user.id}" data-declared="no"' in page
    declarations.declare(contract, owner.user, TODAY, "Nær venn", "Trer til side")
    detail = owner.get(f"/contracts/{contract.id}").text
    assert 'id="declarations-panel"' in detail
    assert 'data-complete="yes"' in detail

    auditor = login_as("auditor")
    assert 'id="declaration-form"' not in auditor.get(f"/contracts/{contract.id}/declarations").text
    conflicts = auditor.get("/integrity/declarations?show=conflict").text
    assert 'data-conflict="yes"' in conflicts
    unreviewed = auditor.get("/integrity/declarations?show=unreviewed").text
    assert 'data-status="submitted"' in unreviewed


def test_the_overview_lists_contracts_missing_declarations(login_as):
    above = factories.make_contract(
        owner_id=factories.make_user(Role.OWNER).id,
        estimated_value=Decimal("1300000"),
        signed_on=date(2025, 5, 1),
    )
    below = factories.make_contract(
        owner_id=factories.make_user(Role.OWNER).id,
        estimated_value=Decimal("1299999.99"),
        signed_on=date(2025, 5, 1),
    )
    page = login_as("auditor").get("/integrity/declarations?show=missing").text
    assert f'data-contract="{above.id}"' in page
    assert f'data-contract="{below.id}"' not in page
