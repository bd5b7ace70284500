"""The register pages: create, validate, edit, conflicts, terminate, delete, options, start page."""

from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from contracts.audit.models import AuditEvent
from contracts.db import Session
from contracts.register.models import Amendment, Contract, ContractOption, OptionDecision
from contracts.rules.models import Procedure
from tests import factories

_refs = itertools.count(1)


def _counts() -> tuple[int, int]:
    Session.expire_all()
    contracts = Session.scalar(select(func.count()).select_from(Contract))
    return contracts, factories.audit_changes()


def _fresh(contract_id: int) -> Contract:
    Session.expire_all()
    return Session.get(Contract, contract_id)


def _id_from(response) -> int:
    match = re.search(r"/contracts/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


@pytest.fixture
def parties():
    supplier = factories.make_supplier(name="Østre Renhold AS")
    return supplier, factories.make_category(), factories.make_unit()


def form_data(parties, **overrides) -> dict[str, str]:
    """What a browser posts for a filled-in contract form."""
    supplier, category, unit = parties
    data = {
        "reference": f"2026/V{next(_refs):04d}",
        "title": "Renhold av Østre Aasen skole",
        "description": "Daglig renhold",
        "supplier": supplier.org_number,
        "category_id": str(category.id),
        "unit_id": str(unit.id),
        "owner_id": "",
        "manager_id": "",
        "procedure": "open_competition",
        "is_framework": "y",
        "estimated_value": "1 250 000,50",
        "annual_value": "kr 300 000",
        "signed_on": "2025-12-01",
        "start_date": "2026-01-01",
        "end_date": "31.12.2026",
        "notice_months": "3",
        "price_adjustment_index": "KPI",
        "price_adjustment_month": "1",
        "notes": "",
        "version": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def edit_data(contract: Contract, **overrides) -> dict[str, str]:
    """What the edit page posts for a contract unchanged, plus overrides."""
    data = {
        "reference": contract.reference,
        "title": contract.title,
        "description": contract.description or "",
        "supplier": contract.supplier.org_number,
        "category_id": str(contract.category_id),
        "unit_id": str(contract.unit_id),
        "owner_id": str(contract.owner_id or ""),
        "manager_id": str(contract.manager_id or ""),
        "procedure": contract.procedure.value,
        "estimated_value": str(contract.estimated_value or ""),
        "annual_value": str(contract.annual_value or ""),
        "signed_on": contract.signed_on.isoformat() if contract.signed_on else "",
        "start_date": contract.start_date.isoformat(),
        "end_date": contract.end_date.isoformat() if contract.end_date else "",
        "notice_months": str(contract.notice_months if contract.notice_months is not None else ""),
        "price_adjustment_index": contract.price_adjustment_index or "",
        "price_adjustment_month": str(contract.price_adjustment_month or ""),
        "notes": contract.notes or "",
        "version": str(contract.version),
    }
    for flag in ("is_framework", "has_wage_conditions", "is_confidential"):
        if getattr(contract, flag):
            data[flag] = "y"
    data.update(overrides)
    return data


# --- pages ------------------------------------------------------------------------------


def test_every_register_page_opens_for_procurement(login_as):
    contract = factories.make_contract(title="Renhold av rådhuset")
    client = login_as("procurement")
    for url in (
        "/contracts",
        "/contracts/new",
        f"/contracts/{contract.id}",
        f"/contracts/{contract.id}/edit",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert contract.reference in response.text or url == "/contracts/new"


def test_unknown_contract_is_404(login_as):
    client = login_as("procurement")
    assert client.get("/contracts/999999").status_code == 404
    assert client.get("/contracts/999999/edit").status_code == 404


# --- create -------------------------------------------------------------------------------


def test_create_contract_parses_norwegian_input(login_as, parties):
    client = login_as("procurement")
    before = _counts()
    data = form_data(parties)
    response = client.post("/contracts/new", data=data)
    assert response.status_code == 302
    contract = _fresh(_id_from(response))
    assert contract.reference == data["reference"]
    assert contract.title == "Renhold av Østre Aasen skole"
    assert contract.supplier_id == parties[0].id
    assert contract.estimated_value == Decimal("1250000.50")
    assert contract.annual_value == Decimal("300000.00")
    assert contract.start_date == date(2026, 1, 1)
    assert contract.end_date == date(2026, 12, 31)
    assert contract.current_end_date == date(2026, 12, 31)
    assert contract.signed_on == date(2025, 12, 1)
    assert contract.procedure == Procedure.OPEN_COMPETITION
    assert contract.is_framework is True
    assert contract.has_wage_conditions is False
    assert contract.notice_months == 3
    assert contract.deleted_at is None
    assert _counts() == (before[0] + 1, before[1] + 1)
    assert client.get(response.headers["Location"]).status_code == 200


@pytest.mark.parametrize(
    "typed",
    [
        "{org}",
        "{org_spaced}",
        "{name} ({org})",
        "{name}",
        "  {name}  ",
        "østre renhold as",
        "ØSTRE RENHOLD AS",
    ],
)
def test_supplier_field_accepts_number_label_or_name(login_as, parties, typed):
    supplier = parties[0]
    org = supplier.org_number
    text = typed.format(org=org, org_spaced=f"{org[:3]} {org[3:6]} {org[6:]}", name=supplier.name)
    client = login_as("procurement")
    response = client.post("/contracts/new", data=form_data(parties, supplier=text))
    assert response.status_code == 302, response.text
    assert _fresh(_id_from(response)).supplier_id == supplier.id


def test_dates_typed_either_way(login_as, parties):
    client = login_as("procurement")
    response = client.post(
        "/contracts/new",
        data=form_data(parties, start_date="01.02.2026", end_date="2027-01-31", signed_on=""),
    )
    assert response.status_code == 302
    contract = _fresh(_id_from(response))
    assert contract.start_date == date(2026, 2, 1)
    assert contract.end_date == date(2027, 1, 31)
    assert contract.signed_on is None


def test_supplier_name_shared_by_two_suppliers_is_ambiguous(login_as, parties):
    factories.make_supplier(name="Felles Navn AS")
    factories.make_supplier(name="Felles Navn AS")
    client = login_as("procurement")
    before = _counts()
    response = client.post("/contracts/new", data=form_data(parties, supplier="Felles Navn AS"))
    assert response.status_code == 422
    assert 'id="supplier-error"' in response.text
    assert _counts() == before


BAD_INPUT = [
    ("end_date", {"start_date": "2026-06-01", "end_date": "2026-05-31"}),
    ("estimated_value", {"estimated_value": "-1 000"}),
    ("annual_value", {"annual_value": "-5"}),
    ("estimated_value", {"estimated_value": "mange penger"}),
    ("estimated_value", {"estimated_value": "1,2,3"}),
    ("estimated_value", {"estimated_value": "NaN"}),
    ("estimated_value", {"estimated_value": "Infinity"}),
    ("estimated_value", {"estimated_value": "1e400"}),
    ("estimated_value", {"estimated_value": "9 999 999 999 999"}),
    ("supplier", {"supplier": "123456789"}),  # fails MOD11
    ("supplier", {"supplier": "974760672"}),  # valid-looking, wrong check digit
    ("supplier", {"supplier": "Ingen Slik Leverandør AS"}),
    ("procedure", {"procedure": "bribery"}),
    ("category_id", {"category_id": "999999"}),
    ("category_id", {"category_id": "abc"}),
    ("unit_id", {"unit_id": "999999"}),
    ("owner_id", {"owner_id": "999999"}),
    ("title", {"title": "x" * 301}),
    ("reference", {"reference": "R" * 61}),
    ("reference", {"reference": ""}),
    ("reference", {"reference": "   "}),
    ("title", {"title": ""}),
    ("supplier", {"supplier": ""}),
    ("category_id", {"category_id": ""}),
    ("unit_id", {"unit_id": ""}),
    ("start_date", {"start_date": ""}),
    ("reference", {"reference": None}),
    ("title", {"title": None}),
    ("supplier", {"supplier": None}),
    ("category_id", {"category_id": None}),
    ("unit_id", {"unit_id": None}),
    ("start_date", {"start_date": None}),
    ("notice_months", {"notice_months": "-1"}),
    ("notice_months", {"notice_months": "999"}),
    ("notice_months", {"notice_months": "tre"}),
    ("start_date", {"start_date": "31.02.2026"}),
    ("end_date", {"end_date": "2026-13-01"}),
    ("signed_on", {"signed_on": "i går"}),
    ("start_date", {"start_date": "01.01.1800"}),
    ("annual_value", {"estimated_value": "100 000", "annual_value": "100 000,01"}),
    ("price_adjustment_month", {"price_adjustment_month": "13"}),
]


@pytest.mark.parametrize(("field", "overrides"), BAD_INPUT)
def test_bad_input_is_refused_next_to_the_field(login_as, parties, field, overrides):
    client = login_as("procurement")
    before = _counts()
    response = client.post("/contracts/new", data=form_data(parties, **overrides))
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text
    assert _counts() == before


def test_nul_byte_in_input_is_refused_without_a_crash(login_as, parties):
    client = login_as("procurement")
    before = _counts()
    response = client.post("/contracts/new", data=form_data(parties, title="Renhold\x00skole"))
    assert response.status_code == 400
    assert _counts() == before


def test_duplicate_reference_is_refused(login_as, parties):
    existing = factories.make_contract(reference="2026/0042")
    client = login_as("procurement")
    before = _counts()
    for typed in ("2026/0042", " 2026/0042 "):
        response = client.post("/contracts/new", data=form_data(parties, reference=typed))
        assert response.status_code == 422
        assert 'id="reference-error"' in response.text
    assert _counts() == before
    assert _fresh(existing.id).reference == "2026/0042"


def test_form_keeps_what_was_typed_after_an_error(login_as, parties):
    client = login_as("procurement")
    response = client.post(
        "/contracts/new",
        data=form_data(parties, title="Skoleskyss øst", estimated_value="tull"),
    )
    assert response.status_code == 422
    assert 'value="Skoleskyss øst"' in response.text
    assert 'value="tull"' in response.text


# --- edit -----------------------------------------------------------------------------------


def test_edit_changes_the_contract_and_history_shows_it(login_as):
    contract = factories.make_contract(title="Gammel tittel", estimated_value=Decimal("1000000.00"))
    client = login_as("procurement")
    contract = _fresh(contract.id)
    version = contract.version
    response = client.post(
        f"/contracts/{contract.id}/edit",
        data=edit_data(contract, title="Ny tittel", estimated_value="2 000 000", notice_months="6"),
    )
    assert response.status_code == 302
    saved = _fresh(contract.id)
    assert saved.title == "Ny tittel"
    assert saved.estimated_value == Decimal("2000000.00")
    assert saved.notice_months == 6
    assert saved.version > version

    event = Session.scalars(
        select(AuditEvent).where(AuditEvent.contract_id == contract.id).order_by(AuditEvent.seq)
    ).all()[-1]
    assert event.action == "update"
    assert event.before == {
        "title": "Gammel tittel",
        "estimated_value": "1000000.00",
        "notice_months": 3,
    }
    assert event.after == {
        "title": "Ny tittel",
        "estimated_value": "2000000.00",
        "notice_months": 6,
    }

    page = client.get(f"/contracts/{contract.id}").text
    assert "Gammel tittel → Ny tittel" in page
    space = r"[\s\u00a0\u202f]?"
    million = rf"1{space}000{space}000([.,]00)?"
    assert re.search(rf"{million} → 2{space}000{space}000([.,]00)?", page)
    assert re.search(r"\b3 → 6\b", page)


def test_edit_page_shows_the_saved_values(login_as):
    contract = factories.make_contract(
        title="Vakthold rådhuset", estimated_value=Decimal("1250000.50")
    )
    client = login_as("procurement")
    page = client.get(f"/contracts/{contract.id}/edit").text
    assert 'value="Vakthold rådhuset"' in page
    assert f'value="{contract.supplier.name} ({contract.supplier.org_number})"' in page
    assert _hidden_version(page) == str(_fresh(contract.id).version)


def test_edit_to_a_taken_reference_is_refused(login_as):
    first = factories.make_contract(reference="A-1")
    second = factories.make_contract(reference="B-1")
    client = login_as("procurement")
    before = _counts()
    response = client.post(
        f"/contracts/{second.id}/edit", data=edit_data(_fresh(second.id), reference="A-1")
    )
    assert response.status_code == 422
    assert 'id="reference-error"' in response.text
    assert _counts() == before
    assert _fresh(second.id).reference == "B-1"
    assert _fresh(first.id).reference == "A-1"


def test_edit_with_bad_input_changes_nothing(login_as):
    contract = factories.make_contract(start_date=date(2025, 1, 1))
    client = login_as("procurement")
    before = _counts()
    version = _fresh(contract.id).version
    response = client.post(
        f"/contracts/{contract.id}/edit",
        data=edit_data(_fresh(contract.id), title="Endret", end_date="2024-12-31"),
    )
    assert response.status_code == 422
    assert 'id="end_date-error"' in response.text
    assert _counts() == before
    saved = _fresh(contract.id)
    assert saved.title != "Endret"
    assert saved.version == version


def test_extra_posted_fields_change_nothing(login_as):
    contract = factories.make_contract(title="Før")
    client = login_as("procurement")
    contract = _fresh(contract.id)
    created_at, version = contract.created_at, contract.version
    data = edit_data(
        contract,
        title="Etter",
        deleted_at="2026-01-01T00:00:00",
        search_text="hacked",
        id="424242",
        created_at="2000-01-01T00:00:00",
        current_end_date="2099-12-31",
        terminated_on="2026-01-01",
        supplier_id=str(factories.make_supplier().id),
    )
    response = client.post(f"/contracts/{contract.id}/edit", data=data)
    assert response.status_code == 302
    saved = _fresh(contract.id)
    assert saved.title == "Etter"
    assert saved.deleted_at is None
    assert saved.terminated_on is None
    assert saved.current_end_date == contract.end_date
    assert saved.supplier_id == contract.supplier_id
    assert "hacked" not in saved.search_text
    assert "etter" in saved.search_text
    assert saved.created_at == created_at
    assert version < saved.version < 999
    assert Session.get(Contract, 424242) is None

    # And on create, too.
    parties = (factories.make_supplier(), factories.make_category(), factories.make_unit())
    response = client.post(
        "/contracts/new",
        data=form_data(
            parties, deleted_at="2026-01-01T00:00:00", search_text="hacked", id="535353"
        ),
    )
    assert response.status_code == 302
    created = _fresh(_id_from(response))
    assert created.id != 535353
    assert created.deleted_at is None
    assert "hacked" not in created.search_text


def test_posted_form_without_version_is_a_conflict_and_changes_nothing(login_as):
    # A missing field must not fall back to the contract's current version (obj=contract),
    # or a stale form would save over someone else's change.
    contract = factories.make_contract(title="Før")
    client = login_as("procurement")
    before = _counts()
    version = _fresh(contract.id).version
    data = edit_data(_fresh(contract.id), title="Etter")
    del data["version"]
    response = client.post(f"/contracts/{contract.id}/edit", data=data)
    assert response.status_code == 409
    saved = _fresh(contract.id)
    assert saved.title == "Før"
    assert saved.version == version
    assert _counts() == before


def test_posted_version_999_is_a_conflict_and_changes_nothing(login_as):
    contract = factories.make_contract(title="Før")
    client = login_as("procurement")
    before = _counts()
    version = _fresh(contract.id).version
    response = client.post(
        f"/contracts/{contract.id}/edit",
        data=edit_data(_fresh(contract.id), title="Etter", version="999"),
    )
    assert response.status_code == 409
    saved = _fresh(contract.id)
    assert saved.title == "Før"
    assert saved.version == version
    assert _counts() == before


def _hidden_version(page: str) -> str:
    match = re.search(r'<input[^>]*name="version"[^>]*>', page)
    assert match, "no version field"
    return re.search(r'value="([^"]*)"', match.group(0)).group(1)


def test_concurrent_edit_keeps_the_first_save_and_shows_the_second_users_input(login_as):
    contract = factories.make_contract(title="Originaltittel")
    alice = login_as("procurement")
    bob = login_as("procurement")
    alice_version = _hidden_version(alice.get(f"/contracts/{contract.id}/edit").text)
    bob_version = _hidden_version(bob.get(f"/contracts/{contract.id}/edit").text)
    assert alice_version == bob_version == str(_fresh(contract.id).version)
    opened = _fresh(contract.id)
    alice_data = edit_data(opened, title="Alices tittel", version=alice_version)
    bob_data = edit_data(opened, title="Bobs tittel", notes="Bobs notat", version=bob_version)

    first = alice.post(f"/contracts/{contract.id}/edit", data=alice_data)
    assert first.status_code == 302
    after_first = _counts()
    saved_version = _fresh(contract.id).version
    assert str(saved_version) != bob_version

    second = bob.post(f"/contracts/{contract.id}/edit", data=bob_data)
    assert second.status_code == 409
    assert 'value="Bobs tittel"' in second.text
    assert "Bobs notat" in second.text
    # The form now carries the saved version, so Bob can save again on purpose.
    assert _hidden_version(second.text) == str(saved_version)

    saved = _fresh(contract.id)
    assert saved.title == "Alices tittel"
    assert saved.notes is None
    assert saved.version == saved_version
    assert _counts() == after_first

    # Saving again from the conflict page (with the version it carries) works.
    bob_data["version"] = _hidden_version(second.text)
    third = bob.post(f"/contracts/{contract.id}/edit", data=bob_data)
    assert third.status_code == 302
    assert _fresh(contract.id).title == "Bobs tittel"


# --- terminate, delete, restore --------------------------------------------------------------


def test_terminate_and_cancel_termination(login_as):
    contract = factories.make_contract(start_date=date(2025, 1, 1), end_date=date(2027, 12, 31))
    client = login_as("procurement")
    before = _counts()
    response = client.post(
        f"/contracts/{contract.id}/terminate",
        data={"terminated_on": "2024-12-31", "termination_reason": "For tidlig"},
    )
    # The page comes back with the error at the field and what was typed kept.
    assert response.status_code == 422
    assert 'href="#terminated_on"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert "For tidlig" in response.text
    assert _fresh(contract.id).terminated_on is None
    assert _counts() == before

    response = client.post(
        f"/contracts/{contract.id}/terminate",
        data={"terminated_on": "30.06.2026", "termination_reason": "Mislighold"},
    )
    assert response.status_code == 302
    saved = _fresh(contract.id)
    assert saved.terminated_on == date(2026, 6, 30)
    assert saved.termination_reason == "Mislighold"
    assert saved.current_end_date == date(2026, 6, 30)

    response = client.post(f"/contracts/{contract.id}/cancel-termination")
    assert response.status_code == 302
    saved = _fresh(contract.id)
    assert saved.terminated_on is None
    assert saved.termination_reason is None
    assert saved.current_end_date == date(2027, 12, 31)


def test_terminate_without_a_date_is_refused(login_as):
    contract = factories.make_contract()
    client = login_as("procurement")
    before = _counts()
    response = client.post(f"/contracts/{contract.id}/terminate", data={"terminated_on": ""})
    assert response.status_code == 422
    assert 'href="#terminated_on"' in response.text
    assert _fresh(contract.id).terminated_on is None
    assert _counts() == before


def test_soft_delete_hides_the_contract_and_frees_its_reference(login_as, parties):
    contract = factories.make_contract(reference="SLETT-1", title="Skal slettes")
    client = login_as("procurement")
    assert ">SLETT-1</a>" in client.get("/contracts").text
    response = client.post(f"/contracts/{contract.id}/delete")
    assert response.status_code == 302
    assert _fresh(contract.id).deleted_at is not None
    listing = client.get("/contracts").text
    assert ">SLETT-1</a>" not in listing
    assert ">SLETT-1</a>" not in client.get("/contracts?q=slett").text
    # Editors can still open it (to restore it); its edit page is gone.
    assert client.get(f"/contracts/{contract.id}").status_code == 200
    assert client.get(f"/contracts/{contract.id}/edit").status_code == 404
    assert login_as("owner").get(f"/contracts/{contract.id}").status_code == 404

    # The reference can be reused ...
    response = client.post("/contracts/new", data=form_data(parties, reference="SLETT-1"))
    assert response.status_code == 302
    new_id = _id_from(response)

    # ... and then the deleted one cannot be restored.
    before = _counts()
    response = client.post(f"/contracts/{contract.id}/restore")
    assert response.status_code == 302
    assert _fresh(contract.id).deleted_at is not None
    assert _counts() == before

    # Once the reference is free again, it can.
    assert client.post(f"/contracts/{new_id}/delete").status_code == 302
    assert client.post(f"/contracts/{contract.id}/restore").status_code == 302
    restored = _fresh(contract.id)
    assert restored.deleted_at is None
    assert ">SLETT-1</a>" in client.get("/contracts").text


# --- options and amendments ------------------------------------------------------------------


def test_options_add_decide_and_delete(login_as):
    owner = login_as("owner")
    contract = factories.make_contract(
        start_date=date(2025, 1, 1), end_date=date(2026, 12, 31), owner_id=owner.user.id
    )
    client = login_as("procurement")
    response = client.post(
        f"/contracts/{contract.id}/options",
        data={"extension_months": "12", "exercise_deadline": "01.09.2026"},
    )
    assert response.status_code == 302
    saved = _fresh(contract.id)
    assert len(saved.options) == 1
    option = saved.options[0]
    assert option.extension_months == 12
    assert option.exercise_deadline == date(2026, 9, 1)
    assert saved.current_end_date == date(2026, 12, 31)
    assert saved.max_end_date == date(2027, 12, 31)

    # Bad option input is refused.
    for bad in (
        {"extension_months": "0", "exercise_deadline": "2026-09-01"},
        {"extension_months": "12", "exercise_deadline": ""},
    ):
        response = client.post(f"/contracts/{contract.id}/options", data=bad)
        assert response.status_code == 422
        assert "data-error-summary" in response.text
        assert f'value="{bad["extension_months"]}"' in response.text
    assert len(_fresh(contract.id).options) == 1

    # A decision that is not one of the choices is refused; the summary links to its row.
    response = client.post(
        f"/contracts/{contract.id}/options/{option.id}/decision",
        data={"decision": "maybe", "decided_on": "2026-03-01"},
    )
    assert response.status_code == 422
    assert f'href="#decision-{option.id}"' in response.text
    assert Session.get(ContractOption, option.id).decision == OptionDecision.PENDING

    # Another owner may not decide.
    stranger = login_as("owner")
    url = f"/contracts/{contract.id}/options/{option.id}/decision"
    response = stranger.post(url, data={"decision": "exercised", "decided_on": "2026-03-01"})
    assert response.status_code == 403
    assert Session.get(ContractOption, option.id).decision == OptionDecision.PENDING

    # The contract's owner may.
    response = owner.post(url, data={"decision": "exercised", "decided_on": "2026-03-01"})
    assert response.status_code == 302
    Session.expire_all()
    decided = Session.get(ContractOption, option.id)
    assert decided.decision == OptionDecision.EXERCISED
    assert decided.decided_on == date(2026, 3, 1)
    assert decided.decided_by_id == owner.user.id
    assert _fresh(contract.id).current_end_date == date(2027, 12, 31)

    # Owners cannot delete options; editors can.
    assert owner.post(f"/contracts/{contract.id}/options/{option.id}/delete").status_code == 403
    response = client.post(f"/contracts/{contract.id}/options/{option.id}/delete")
    assert response.status_code == 302
    saved = _fresh(contract.id)
    assert saved.options == []
    assert saved.current_end_date == date(2026, 12, 31)


def test_option_of_another_contract_is_404(login_as):
    one = factories.make_contract()
    other = factories.make_contract()
    from contracts.register import services

    option = services.add_option(other, 12, date(2027, 1, 1))
    client = login_as("procurement")
    response = client.post(
        f"/contracts/{one.id}/options/{option.id}/decision",
        data={"decision": "declined", "decided_on": "2026-03-01"},
    )
    assert response.status_code == 404
    assert Session.get(ContractOption, option.id).decision == OptionDecision.PENDING


def test_amendment_with_negative_value(login_as):
    contract = factories.make_contract()
    client = login_as("procurement")
    response = client.post(
        f"/contracts/{contract.id}/amendments",
        data={
            "amended_on": "15.02.2026",
            "description": "Redusert omfang",
            "value_change": "-50 000,50",
        },
    )
    assert response.status_code == 302
    Session.expire_all()
    amendments = Session.scalars(
        select(Amendment).where(Amendment.contract_id == contract.id)
    ).all()
    assert len(amendments) == 1
    assert amendments[0].value_change == Decimal("-50000.50")
    assert amendments[0].amended_on == date(2026, 2, 15)
    assert amendments[0].created_by_id == client.user.id
    assert _fresh(contract.id).total_amendment_value == Decimal("-50000.50")

    before = _counts()
    response = client.post(
        f"/contracts/{contract.id}/amendments",
        data={"amended_on": "2026-02-15", "description": "", "value_change": "x"},
    )
    assert response.status_code == 422
    assert 'href="#description"' in response.text
    assert 'href="#value_change"' in response.text
    assert (
        Session.scalar(
            select(func.count()).select_from(Amendment).where(Amendment.contract_id == contract.id)
        )
        == 1
    )
    assert _counts() == before


# --- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "auditor"])
def test_readers_cannot_create_or_edit(login_as, parties, role):
    contract = factories.make_contract(title="Uendret")
    client = login_as(role)
    before = _counts()
    assert client.get("/contracts/new").status_code == 403
    assert client.post("/contracts/new", data=form_data(parties)).status_code == 403
    assert client.get(f"/contracts/{contract.id}/edit").status_code == 403
    response = client.post(
        f"/contracts/{contract.id}/edit", data=edit_data(_fresh(contract.id), title="Endret")
    )
    assert response.status_code == 403
    assert client.post(f"/contracts/{contract.id}/delete").status_code == 403
    assert (
        client.post(
            f"/contracts/{contract.id}/terminate", data={"terminated_on": "2026-06-30"}
        ).status_code
        == 403
    )
    assert _fresh(contract.id).title == "Uendret"
    assert _fresh(contract.id).deleted_at is None
    assert _counts() == before


# --- start page -----------------------------------------------------------------------------


def test_start_page_lists_the_owners_contracts_and_deadlines_in_date_order(login_as):
    client = login_as("owner")
    me = client.user.id
    first = factories.make_contract(
        reference="EIER-A",
        title="Kontrakt A",
        start_date=date(2025, 7, 1),
        end_date=date(2026, 6, 30),
        notice_months=3,
        owner_id=me,
    )
    second = factories.make_contract(
        reference="EIER-B",
        title="Kontrakt B",
        start_date=date(2024, 1, 1),
        end_date=date(2026, 12, 31),
        notice_months=1,
        owner_id=me,
    )
    from contracts.register import services

    services.add_option(second, 12, date(2026, 5, 1))
    factories.make_contract(reference="ANNEN-EIER", owner_id=factories.make_user(role="owner").id)
    Session.flush()

    page = client.get("/").text
    tables = re.findall(r"<table.*?</table>", page, flags=re.S)
    assert len(tables) == 2
    deadlines, mine = tables
    expected = [
        ("30.03.2026", "EIER-A"),  # notice: 30 June minus 3 months
        ("01.05.2026", "EIER-B"),  # option deadline
        ("30.06.2026", "EIER-A"),  # end
        ("30.11.2026", "EIER-B"),  # notice: 31 December minus 1 month
        ("31.12.2026", "EIER-B"),  # end
    ]
    rows = re.findall(
        r"<tr[^>]*>\s*<td>(\d\d\.\d\d\.\d{4}).*?</td>.*?(EIER-[AB])", deadlines, flags=re.S
    )
    assert rows == expected
    assert "ANNEN-EIER" not in page
    assert "EIER-A" in mine and "EIER-B" in mine
    # My contracts are listed by current end date.
    assert mine.index("EIER-A") < mine.index("EIER-B")
    assert first.id != second.id


def test_start_page_shows_the_nearest_rows_and_counts_the_rest(login_as, monkeypatch):
    from contracts.home import views as home_views

    monkeypatch.setattr(home_views, "START_PAGE_ROWS", 2)
    client = login_as("owner")
    for number, end in enumerate((date(2026, 9, 30), date(2026, 6, 30), date(2027, 3, 31))):
        factories.make_contract(
            reference=f"MANGE-{number}",
            start_date=date(2025, 1, 1),
            end_date=end,
            notice_months=1,
            owner_id=client.user.id,
        )
    Session.flush()
    page = client.get("/").text
    deadlines, mine = re.findall(r"<table.*?</table>", page, flags=re.S)
    # Ends and notice days within a year (all but the last end): five, two shown.
    assert re.findall(r"MANGE-\d", deadlines) == ["MANGE-1", "MANGE-1"]
    assert "De 2 nærmeste av 5 fristene." in page
    assert re.findall(r"MANGE-\d", mine) == ["MANGE-1", "MANGE-0"]
    assert "De 2 som slutter først av dine 3 løpende kontrakter." in page


def test_start_page_finds_deadlines_of_contracts_ending_years_ahead(login_as):
    client = login_as("owner")
    long_notice = factories.make_contract(
        reference="LANG-VARSEL",
        start_date=date(2024, 1, 1),
        end_date=date(2028, 1, 31),
        notice_months=18,  # notice by 31.07.2026, well within the year
        owner_id=client.user.id,
    )
    with_option = factories.make_contract(
        reference="OPSJON-SNART",
        start_date=date(2024, 1, 1),
        end_date=date(2029, 12, 31),
        owner_id=client.user.id,
    )
    from contracts.register import services

    services.add_option(with_option, 12, date(2026, 9, 1))
    factories.make_contract(
        reference="FJERN",
        start_date=date(2024, 1, 1),
        end_date=date(2029, 12, 31),
        notice_months=3,
        owner_id=client.user.id,
    )
    Session.flush()
    deadlines = re.findall(r"<table.*?</table>", client.get("/").text, flags=re.S)[0]
    rows = re.findall(
        r"<tr[^>]*>\s*<td>(\d\d\.\d\d\.\d{4}).*?</td>.*?([A-Z]+-[A-Z]+)", deadlines, flags=re.S
    )
    assert rows == [("31.07.2026", "LANG-VARSEL"), ("01.09.2026", "OPSJON-SNART")]
    assert long_notice.id != with_option.id


def test_start_page_leaves_out_contracts_that_have_ended(login_as):
    client = login_as("owner")
    factories.make_contract(
        reference="GAMMEL",
        start_date=date(2020, 1, 1),
        end_date=date(2022, 12, 31),
        owner_id=client.user.id,
    )
    factories.make_contract(
        reference="LOPENDE",
        start_date=date(2025, 1, 1),
        end_date=date(2027, 12, 31),
        owner_id=client.user.id,
    )
    Session.flush()

    page = client.get("/").text

    assert "LOPENDE" in page
    assert "GAMMEL" not in page
    # The ended one is one click away, in the list filtered on the owner.
    assert f"/contracts?owner={client.user.id}" in page
    assert "GAMMEL" in client.get(f"/contracts?owner={client.user.id}").text


def test_contract_form_suggests_suppliers_in_the_format_it_reads(login_as, parties):
    supplier = parties[0]
    client = login_as("procurement")
    page = client.get("/contracts/new").text
    assert 'list="supplier-options"' in page
    label = f"Østre Renhold AS ({supplier.org_number})"
    assert f'<option value="{label}">' in page
    # What a suggestion puts in the field is what the form reads.
    response = client.post("/contracts/new", data=form_data(parties, supplier=label))
    assert response.status_code == 302, response.text
    assert _fresh(_id_from(response)).supplier_id == supplier.id
