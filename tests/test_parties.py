"""Suppliers, units and categories: validation, editing, deletion, search and audit."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from stdnum.no import orgnr

from contracts.audit.models import AuditEvent
from contracts.db import Session
from contracts.parties.models import Category, CategoryKind, Supplier, Unit
from contracts.register import services as register_services
from tests import factories


@pytest.fixture
def client(login_as):
    return login_as("procurement")


def _count(model) -> int:
    Session.expire_all()
    return Session.scalar(select(func.count()).select_from(model))


def _events() -> list[AuditEvent]:
    Session.expire_all()
    return list(Session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _last_event() -> AuditEvent:
    return _events()[-1]


def _by_name(model, name: str):
    Session.expire_all()
    return Session.scalar(select(model).where(model.name == name))


# --- suppliers ------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["974760673", "974 760 673", " 974760673 "])
def test_create_supplier_with_valid_org_number(client, typed):
    events = len(_events())
    response = client.post(
        "/suppliers/new",
        data={"name": "Aasen Bygg AS", "org_number": typed, "contact_email": "post@aasen.no"},
    )
    assert response.status_code == 302
    supplier = _by_name(Supplier, "Aasen Bygg AS")
    assert supplier.org_number == "974760673"
    assert supplier.contact_email == "post@aasen.no"
    assert len(_events()) == events + 1
    event = _last_event()
    assert event.action == "create"
    assert event.entity_type == "suppliers"
    assert event.entity_id == supplier.id
    assert event.after["org_number"] == "974760673"
    assert event.actor_id == client.user.id


@pytest.mark.parametrize(
    "typed",
    ["974760672", "123456789", "12345678", "1234567890", "abcdefghi", "97476067X"],
)
def test_invalid_org_number_is_refused(client, typed):
    suppliers, events = _count(Supplier), _count(AuditEvent)
    response = client.post("/suppliers/new", data={"name": "Feil AS", "org_number": typed})
    assert response.status_code == 422
    assert 'id="org_number-error"' in response.text
    assert _count(Supplier) == suppliers
    assert _count(AuditEvent) == events


def test_duplicate_org_number_is_refused(client):
    existing = factories.make_supplier(name="Først AS")
    suppliers, events = _count(Supplier), _count(AuditEvent)
    number = existing.org_number
    for typed in (number, f"{number[:3]} {number[3:6]} {number[6:]}"):
        response = client.post("/suppliers/new", data={"name": "Kopi AS", "org_number": typed})
        assert response.status_code == 422
        assert 'id="org_number-error"' in response.text
    assert _count(Supplier) == suppliers
    assert _count(AuditEvent) == events


def test_foreign_suppliers_without_number(client):
    for name in ("Svenska Städ AB", "Dansk Rengøring ApS"):
        response = client.post("/suppliers/new", data={"name": name, "org_number": ""})
        assert response.status_code == 302
        assert _by_name(Supplier, name).org_number is None


def test_supplier_without_name_is_refused(client):
    suppliers = _count(Supplier)
    response = client.post("/suppliers/new", data={"name": "", "org_number": "974760673"})
    assert response.status_code == 422
    assert 'id="name-error"' in response.text
    assert _count(Supplier) == suppliers


def test_supplier_with_bad_email_is_refused(client):
    suppliers = _count(Supplier)
    response = client.post(
        "/suppliers/new", data={"name": "Epost AS", "contact_email": "ikke-epost"}
    )
    assert response.status_code == 422
    assert 'id="contact_email-error"' in response.text
    assert _count(Supplier) == suppliers


def test_edit_supplier(client):
    supplier = factories.make_supplier(name="Gammelt Navn AS")
    old_number = supplier.org_number
    page = client.get(f"/suppliers/{supplier.id}/edit")
    assert page.status_code == 200
    assert 'value="Gammelt Navn AS"' in page.text
    response = client.post(
        f"/suppliers/{supplier.id}/edit",
        data={"name": "Nytt Navn AS", "org_number": old_number, "contact_phone": "+47 22 00 00 00"},
    )
    assert response.status_code == 302
    Session.expire_all()
    saved = Session.get(Supplier, supplier.id)
    assert saved.name == "Nytt Navn AS"
    assert saved.org_number == old_number
    assert saved.contact_phone == "+47 22 00 00 00"
    event = _last_event()
    assert event.action == "update"
    assert event.entity_type == "suppliers"
    assert event.entity_id == supplier.id
    assert event.before == {"name": "Gammelt Navn AS", "contact_phone": None}
    assert event.after == {"name": "Nytt Navn AS", "contact_phone": "+47 22 00 00 00"}


def test_edit_supplier_keeps_its_own_number_but_not_anothers(client):
    one = factories.make_supplier()
    other = factories.make_supplier()
    response = client.post(
        f"/suppliers/{one.id}/edit", data={"name": one.name, "org_number": other.org_number}
    )
    assert response.status_code == 422
    assert 'id="org_number-error"' in response.text
    Session.expire_all()
    assert Session.get(Supplier, one.id).org_number != other.org_number


def test_delete_supplier_refused_while_used(client):
    supplier = factories.make_supplier(name="I Bruk AS")
    contract = factories.make_contract(supplier_id=supplier.id)
    events = _count(AuditEvent)
    response = client.post(f"/suppliers/{supplier.id}/delete")
    assert response.status_code == 302
    assert _by_name(Supplier, "I Bruk AS") is not None
    assert _count(AuditEvent) == events
    # Also while only a deleted (restorable) contract uses it.
    register_services.soft_delete_contract(Session.get(type(contract), contract.id))
    Session.flush()
    events = _count(AuditEvent)
    assert client.post(f"/suppliers/{supplier.id}/delete").status_code == 302
    assert _by_name(Supplier, "I Bruk AS") is not None
    assert _count(AuditEvent) == events


def test_delete_unused_supplier(client):
    supplier = factories.make_supplier(name="Ubrukt AS")
    supplier_id = supplier.id
    response = client.post(f"/suppliers/{supplier_id}/delete")
    assert response.status_code == 302
    Session.expire_all()
    assert Session.get(Supplier, supplier_id) is None
    event = _last_event()
    assert event.action == "delete"
    assert event.entity_type == "suppliers"
    assert event.entity_id == supplier_id
    assert event.before["name"] == "Ubrukt AS"


def test_delete_unknown_supplier_is_404(client):
    assert client.post("/suppliers/999999/delete").status_code == 404
    assert client.get("/suppliers/999999/edit").status_code == 404


def _listed_suppliers(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'href="/suppliers/(\d+)"', page)}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("øst", {"ostre"}),
        ("ØST", {"ostre"}),
        ("østre", {"ostre"}),
        ("ÆRLIG", {"aerlig"}),
        ("ærlig", {"aerlig"}),
        ("ås", {"as"}),
        ("ÅS", {"as"}),
        ("aasen", {"aasen"}),
        ("AASEN", {"aasen"}),
        ("974760673", {"aasen"}),
        ("974 760 673", {"aasen"}),
        ("760", {"aasen"}),
        ("%", set()),
        ("_", set()),
        ("", {"ostre", "aerlig", "as", "aasen", "foreign"}),
    ],
)
def test_supplier_search(client, q, expected):
    made = {
        "ostre": factories.make_supplier(name="Østre Vakt AS", org="923609016"),
        "aerlig": factories.make_supplier(name="Ærlig Handel AS", org="982463718"),
        "as": factories.make_supplier(name="Ås Transport SA", org="971526920"),
        "aasen": factories.make_supplier(name="Aasen Bygg AS", org="974760673"),
        "foreign": factories.make_supplier(name="Svenska Städ AB", org=None),
    }
    assert all(orgnr.is_valid(s.org_number) for s in made.values() if s.org_number)
    response = client.get("/suppliers", query_string={"q": q})
    assert response.status_code == 200
    assert _listed_suppliers(response.text) == {made[k].id for k in expected}


def test_supplier_suggestions_put_names_that_start_with_the_term_first(client):
    factories.make_supplier(name="Bygg og Vakt AS", org="923609016")
    factories.make_supplier(name="Vakt Øst AS", org="982463718")
    factories.make_supplier(name="Ås Transport SA", org="971526920")
    for _ in range(25):
        factories.make_supplier(name=f"Vaktselskap {_:02d} AS", org=None)
    found = client.get("/suppliers/suggest", query_string={"q": "vakt"}).get_json()
    assert len(found) == 20  # a short list, never the whole register
    assert [s["name"] for s in found[:3]] == [
        "Vakt Øst AS",
        "Vaktselskap 00 AS",
        "Vaktselskap 01 AS",
    ]
    assert "Bygg og Vakt AS" not in [s["name"] for s in found]  # after the first twenty
    by_number = client.get("/suppliers/suggest", query_string={"q": "982 463"}).get_json()
    assert by_number == [
        {"label": "Vakt Øst AS (982463718)", "name": "Vakt Øst AS", "org_number": "982463718"}
    ]
    assert client.get("/suppliers/suggest", query_string={"q": "ÅS T"}).get_json()[0]["name"] == (
        "Ås Transport SA"
    )
    for term in ("v", "", "%%", "__"):
        assert client.get("/suppliers/suggest", query_string={"q": term}).get_json() == []


def test_contract_form_lists_few_suppliers_and_asks_the_server_for_many(client, monkeypatch):
    from contracts.parties import services as parties_services

    factories.make_supplier(name="Østre Vakt AS", org="923609016")
    few = client.get("/contracts/new").text
    assert '<option value="Østre Vakt AS (923609016)">' in few
    assert "data-suggest-url" not in few
    monkeypatch.setattr(parties_services, "SUPPLIER_SUGGESTIONS_MAX", 0)
    many = client.get("/contracts/new").text
    assert "Østre Vakt AS (923609016)" not in many
    assert 'data-suggest-url="/suppliers/suggest"' in many and 'list="supplier-options"' in many


def test_supplier_pages_open(client):
    supplier = factories.make_supplier(name="Side AS", org="974760673")
    contract = factories.make_contract(supplier_id=supplier.id)
    listing = client.get("/suppliers").text
    assert "974 760 673" in listing
    detail = client.get(f"/suppliers/{supplier.id}")
    assert detail.status_code == 200
    assert contract.reference in detail.text
    assert client.get("/suppliers/new").status_code == 200


# --- units and categories -----------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "model"), [("units", Unit), ("categories", Category)])
def test_create_edit_and_delete_named_record(client, kind, model):
    extra = {"kind": "services"} if kind == "categories" else {}
    response = client.post(f"/{kind}/new", data={"name": "Oppvekst og læring", **extra})
    assert response.status_code == 302
    record = _by_name(model, "Oppvekst og læring")
    assert record is not None
    created = _last_event()
    assert (created.action, created.entity_type, created.entity_id) == ("create", kind, record.id)

    assert client.get(f"/{kind}/{record.id}/edit").status_code == 200
    response = client.post(f"/{kind}/{record.id}/edit", data={"name": "Oppvekst", **extra})
    assert response.status_code == 302
    assert _by_name(model, "Oppvekst").id == record.id
    updated = _last_event()
    assert updated.action == "update"
    assert updated.entity_id == record.id
    assert updated.before == {"name": "Oppvekst og læring"}
    assert updated.after == {"name": "Oppvekst"}

    # Saving the same name on the record itself is not a duplicate.
    assert (
        client.post(f"/{kind}/{record.id}/edit", data={"name": "OPPVEKST", **extra}).status_code
        == 302
    )

    response = client.post(f"/{kind}/{record.id}/delete")
    assert response.status_code == 302
    Session.expire_all()
    assert Session.get(model, record.id) is None
    deleted = _last_event()
    assert (deleted.action, deleted.entity_type, deleted.entity_id) == ("delete", kind, record.id)
    assert client.get(f"/{kind}").status_code == 200


@pytest.mark.parametrize(("kind", "model"), [("units", Unit), ("categories", Category)])
@pytest.mark.parametrize(
    ("existing", "typed"),
    [
        ("Renhold", "Renhold"),
        ("Renhold", "renhold"),
        ("Renhold", "  RENHOLD "),
        ("Økonomi", "økonomi"),
        ("Økonomi", "ØKONOMI"),
        ("Helse og omsorg", "HELSE OG OMSORG"),
        ("Ærlig ære", "ÆRLIG ÆRE"),
    ],
)
def test_duplicate_name_is_refused(client, kind, model, existing, typed):
    (factories.make_unit if kind == "units" else factories.make_category)(existing)
    records, events = _count(model), _count(AuditEvent)
    extra = {"kind": "goods"} if kind == "categories" else {}
    response = client.post(f"/{kind}/new", data={"name": typed, **extra})
    assert response.status_code == 422
    assert 'id="name-error"' in response.text
    assert _count(model) == records
    assert _count(AuditEvent) == events


@pytest.mark.parametrize(("kind", "model"), [("units", Unit), ("categories", Category)])
def test_rename_to_an_existing_name_is_refused(client, kind, model):
    make = factories.make_unit if kind == "units" else factories.make_category
    make("Østfold")
    other = make("Vestfold")
    extra = {"kind": "services"} if kind == "categories" else {}
    response = client.post(f"/{kind}/{other.id}/edit", data={"name": "østfold", **extra})
    assert response.status_code == 422
    assert 'id="name-error"' in response.text
    Session.expire_all()
    assert Session.get(model, other.id).name == "Vestfold"


@pytest.mark.parametrize(
    "cpv", ["1234", "9091000", "90910000-99", "ABCDEFGH", "90910000 9", "9091-0000"]
)
def test_invalid_cpv_code_is_refused(client, cpv):
    categories, events = _count(Category), _count(AuditEvent)
    response = client.post(
        "/categories/new", data={"name": "Renhold", "cpv_code": cpv, "kind": "services"}
    )
    assert response.status_code == 422
    assert 'id="cpv_code-error"' in response.text
    assert _count(Category) == categories
    assert _count(AuditEvent) == events


@pytest.mark.parametrize("cpv", ["90910000-9", "90910000", ""])
def test_valid_cpv_code(client, cpv):
    response = client.post(
        "/categories/new", data={"name": "Renhold", "cpv_code": cpv, "kind": "works"}
    )
    assert response.status_code == 302
    category = _by_name(Category, "Renhold")
    assert category.cpv_code == (cpv or None)
    assert category.kind == CategoryKind.WORKS


def test_unknown_category_kind_is_refused(client):
    categories = _count(Category)
    response = client.post("/categories/new", data={"name": "Rart", "kind": "magic"})
    assert response.status_code == 422
    assert 'id="kind-error"' in response.text
    assert _count(Category) == categories


def test_delete_unit_refused_when_used_by_contract_or_user(client):
    used_by_contract = factories.make_unit("Brukt av kontrakt")
    factories.make_contract(unit_id=used_by_contract.id)
    used_by_user = factories.make_unit("Brukt av bruker")
    factories.make_user(role="owner", unit_id=used_by_user.id)
    events = _count(AuditEvent)
    for unit in (used_by_contract, used_by_user):
        assert client.post(f"/units/{unit.id}/delete").status_code == 302
        assert _by_name(Unit, unit.name) is not None
    assert _count(AuditEvent) == events


def test_delete_category_refused_when_used(client):
    category = factories.make_category("Brukt kategori")
    factories.make_contract(category_id=category.id)
    events = _count(AuditEvent)
    assert client.post(f"/categories/{category.id}/delete").status_code == 302
    assert _by_name(Category, "Brukt kategori") is not None
    assert _count(AuditEvent) == events


@pytest.mark.parametrize("role", ["owner", "auditor"])
def test_readers_cannot_change_master_data(login_as, role):
    client = login_as(role)
    unit = factories.make_unit("Fast enhet")
    supplier = factories.make_supplier(name="Fast AS")
    events = factories.audit_changes()
    assert client.post("/units/new", data={"name": "Ny"}).status_code == 403
    assert client.post(f"/units/{unit.id}/edit", data={"name": "Endret"}).status_code == 403
    assert client.post(f"/units/{unit.id}/delete").status_code == 403
    assert client.post(f"/suppliers/{supplier.id}/delete").status_code == 403
    assert client.post("/categories/new", data={"name": "Ny", "kind": "goods"}).status_code == 403
    assert _by_name(Unit, "Fast enhet") is not None
    assert _by_name(Supplier, "Fast AS") is not None
    assert factories.audit_changes() == events
    # They can still read the lists.
    for url in ("/units", "/categories", "/suppliers", f"/suppliers/{supplier.id}"):
        assert client.get(url).status_code == 200, url
