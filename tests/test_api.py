"""The JSON API at /api/v1: tokens on the profile page, bearer authentication, roles,
confidentiality, the forms' validation, audit events, versions, pagination, JSON errors,
and every response checked against the OpenAPI document."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale, gettext
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from sqlalchemy import func, select

from contracts.api.models import ApiToken
from contracts.api.openapi import document
from contracts.audit.models import AuditEvent
from contracts.auth.models import Role
from contracts.db import Session
from contracts.parties.models import Supplier
from contracts.register import services as register_services
from contracts.register.models import Contract
from tests import factories

BASE = "/api/v1"
BEARER = re.compile(r"^Bearer\b")


# --- helpers ---------------------------------------------------------------------------


class Api:
    """A test client that sends a bearer token and checks every answer against the
    OpenAPI document."""

    def __init__(self, client, token: str | None, user=None):
        self.client = client
        self.token = token
        self.user = user

    def open(self, method: str, path: str, *, json: Any = None, headers=None, **kwargs):
        headers = dict(headers or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        url = path if path.startswith(("/", "http")) else f"{BASE}/{path}"
        response = self.client.open(url, method=method, json=json, headers=headers, **kwargs)
        check_documented(method, url, response)
        return response

    def get(self, path: str, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.open("POST", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self.open("PATCH", path, **kwargs)


_DOCUMENT: dict[str, Any] | None = None


def openapi(app) -> dict[str, Any]:
    global _DOCUMENT
    if _DOCUMENT is None:
        with app.test_request_context():
            _DOCUMENT = document()
    return _DOCUMENT


def _operation(method: str, path: str) -> tuple[dict, dict] | None:
    """The documented operation for a request path, with the whole document."""
    from flask import current_app

    doc = openapi(current_app)
    path = urlsplit(path).path
    for template, item in doc["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return item[method.lower()], doc
    return None


def schema_validator(doc: dict, schema: dict) -> Draft202012Validator:
    root = {**schema, "components": doc["components"]}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_documented(method: str, path: str, response) -> None:
    """The status is documented for the operation and the JSON body matches its schema."""
    found = _operation(method, path)
    if found is None:  # a path the API does not have: still a JSON error
        assert response.status_code in (404, 405), (method, path, response.status_code)
        assert response.is_json
        _validate(openapi_doc(), {"$ref": "#/components/schemas/Error"}, response.get_json())
        return
    operation, doc = found
    status = str(response.status_code)
    assert status in operation["responses"], (method, path, status, response.get_data(True))
    declared = operation["responses"][status]
    if "$ref" in declared:
        declared = doc["components"]["responses"][declared["$ref"].rsplit("/", 1)[1]]
    assert response.mimetype == "application/json"
    _validate(doc, declared["content"]["application/json"]["schema"], response.get_json())
    for header, spec in declared.get("headers", {}).items():
        if spec.get("required"):
            assert header in response.headers, header


def openapi_doc() -> dict[str, Any]:
    from flask import current_app

    return openapi(current_app)


def _validate(doc: dict, schema: dict, instance: Any) -> None:
    errors = sorted(schema_validator(doc, schema).iter_errors(instance), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def nb(message: str, **values: Any) -> str:
    """The bokmål translation of a message, which must differ from the English."""
    with force_locale("nb"):
        text = gettext(message, **values)
    assert text != message % values if values else text != message, f"untranslated: {message}"
    return text


def count(model) -> int:
    return Session.scalar(select(func.count()).select_from(model))


def count_changes() -> int:
    """Audit events other than refused requests (those are recorded, and change nothing)."""
    return Session.scalar(select(func.count()).where(AuditEvent.action != "access_refused"))


@pytest.fixture
def api(app):
    """api(role, **user_fields): an API client with a fresh user's token."""

    def make(role: str = "procurement", **fields: Any) -> Api:
        user = factories.make_user(Role(role), **fields)
        return Api(app.test_client(), factories.make_api_token(user), user)

    return make


@pytest.fixture
def editor(api) -> Api:
    return api("procurement")


@pytest.fixture
def parties():
    """A unit, a category and a supplier to register contracts with."""
    return {
        "unit": factories.make_unit(),
        "category": factories.make_category(),
        "supplier": factories.make_supplier(),
    }


def new_contract(parties, **overrides: Any) -> dict[str, Any]:
    body = {
        "reference": "API-1",
        "title": "Brøyting av kommunale veier",
        "supplier_id": parties["supplier"].id,
        "category_id": parties["category"].id,
        "unit_id": parties["unit"].id,
        "procedure": "open_competition",
        "estimated_value": "1 250 000,50",
        "annual_value": 400000,
        "signed_on": "2025-12-01",
        "start_date": "2026-01-01",
        "end_date": "2027-12-31",
        "notice_months": 3,
        "is_framework": True,
    }
    body.update(overrides)
    return body


# --- the document --------------------------------------------------------------------


def test_openapi_document_is_valid_and_public(app, client):
    response = client.get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    validate_spec(doc)
    assert doc["openapi"].startswith("3.1")
    assert doc == openapi(app)
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_api_route_is_documented(app):
    documented = {
        (re.sub(r"\{[^}]+\}", "<>", path), method.upper())
        for path, item in openapi(app)["paths"].items()
        for method in item
        if method != "parameters"
    }
    routes = {
        (re.sub(r"<[^>]+>", "<>", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(BASE)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == documented


# --- tokens on the profile page --------------------------------------------------------


def test_profile_shows_the_user(login_as):
    unit = factories.make_unit("Oppvekst")
    client = login_as("auditor", name="Rita Revisor", unit_id=unit.id)
    page = client.get("/profile")
    assert page.status_code == 200
    for text in ("Rita Revisor", client.user.email, nb("Auditor"), "Oppvekst"):
        assert text in page.text
    assert nb("My profile") in client.get("/").text


def test_token_is_shown_once_and_stored_hashed(login_as, db):
    client = login_as("auditor")
    response = client.post("/profile/tokens", data={"name": "Revisjonsverktøy"})
    assert response.status_code == 200
    token = re.search(r'data-testid="new-token">([^<]+)<', response.text).group(1)
    assert token.startswith("kr_") and len(token) > 40

    row = db.scalar(select(ApiToken).where(ApiToken.user_id == client.user.id))
    assert row.name == "Revisjonsverktøy"
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith(row.prefix) and row.prefix != token
    # Never again: not on the page, not in the audit trail.
    page = client.get("/profile")
    assert token not in page.text and row.prefix in page.text
    event = db.scalar(select(AuditEvent).where(AuditEvent.entity_type == "api_tokens"))
    assert event.action == "create" and event.actor_id == client.user.id
    assert token not in str(event.after) and row.token_hash not in str(event.after)

    # The auditor's token reads, and cannot change anything.
    api = Api(client.application.test_client(), token)
    assert api.get("contracts").status_code == 200
    assert api.post("suppliers", json={"name": "Ny AS"}).status_code == 403


def test_token_needs_a_name(login_as, db):
    client = login_as("owner")
    response = client.post("/profile/tokens", data={"name": "  "})
    assert response.status_code == 422
    assert nb("Enter a name.") in response.text
    assert count(ApiToken) == 0


def test_revoked_token_stops_working(login_as, app, db):
    client = login_as("procurement")
    text = factories.make_api_token(client.user, "Integrasjon")
    token = db.scalar(select(ApiToken).where(ApiToken.user_id == client.user.id))
    api = Api(app.test_client(), text)
    assert api.get("units").status_code == 200

    response = client.post(f"/profile/tokens/{token.id}/revoke")
    assert response.status_code == 302
    db.expire_all()
    assert db.get(ApiToken, token.id).revoked_at is not None
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "revoke"))
    assert event.entity_id == token.id and event.actor_id == client.user.id
    assert nb("Revoked") in client.get("/profile").text

    response = api.get("units")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_someone_elses_token_cannot_be_revoked(login_as, db):
    owner = factories.make_user(Role.PROCUREMENT)
    factories.make_api_token(owner)
    token = db.scalar(select(ApiToken).where(ApiToken.user_id == owner.id))
    response = login_as("admin").post(f"/profile/tokens/{token.id}/revoke")
    assert response.status_code == 404
    db.expire_all()
    assert db.get(ApiToken, token.id).revoked_at is None


def test_last_use_is_recorded(editor, db):
    token = db.scalar(select(ApiToken).where(ApiToken.user_id == editor.user.id))
    assert token.last_used_at is None
    editor.get("units")
    db.expire_all()
    assert db.get(ApiToken, token.id).last_used_at is not None


# --- authentication ------------------------------------------------------------------


def _assert_401(response, invalid_token: bool = False):
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert BEARER.match(challenge)
    assert ('error="invalid_token"' in challenge) == invalid_token
    assert response.get_json()["error"]["status"] == 401


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "kr_notbearer", "Bearer" + " x" * 200],
)
def test_missing_or_malformed_authorization_is_refused(app, header):
    headers = {} if header is None else {"Authorization": header}
    response = Api(app.test_client(), None).get("contracts", headers=headers)
    assert response.status_code == 401
    assert BEARER.match(response.headers["WWW-Authenticate"])
    assert (
        response.get_json()["error"]["message"]
        == nb("Send an API token in the header Authorization: Bearer <token>.")
        or 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    )


def test_unknown_token_is_refused(app):
    response = Api(app.test_client(), "kr_" + "x" * 43).get("contracts")
    _assert_401(response, invalid_token=True)
    assert response.get_json()["error"]["message"] == nb(
        "The API token is not valid, or it has been revoked."
    )


def test_inactive_users_token_is_refused(api, db):
    client = api("admin")
    assert client.get("contracts").status_code == 200
    client.user.is_active = False
    db.flush()
    _assert_401(client.get("contracts"), invalid_token=True)


def test_the_session_cookie_alone_is_not_accepted(login_as, parties, db):
    """Logged in on the web is not logged in to the API: no cookie, no CSRF question."""
    admin = login_as("admin")
    assert admin.get("/contracts").status_code == 200
    api = Api(admin, None)  # the same client: it sends the session cookie
    _assert_401(api.get("contracts"))
    before = (count(Contract), count(AuditEvent))
    _assert_401(api.post("contracts", json=new_contract(parties)))
    assert (count(Contract), count(AuditEvent)) == before
    # Nor does the cookie help a wrong token along.
    _assert_401(Api(admin, "kr_wrong").get("contracts"), invalid_token=True)


def test_the_api_sets_no_cookie(editor):
    response = editor.get("contracts")
    assert "Set-Cookie" not in response.headers


# --- roles and confidentiality ---------------------------------------------------------


@pytest.mark.parametrize("role", ["auditor", "owner"])
def test_only_editors_change_the_register(api, parties, db, role):
    contract = factories.make_contract()
    client = api(role)
    before = (count(Contract), count(Supplier), count_changes())

    created = client.post("contracts", json=new_contract(parties))
    changed = client.patch(
        f"contracts/{contract.id}", json={"title": "Endret", "version": contract.version}
    )
    supplier = client.post("suppliers", json={"name": "Ny Leverandør AS"})

    for response in (created, changed, supplier):
        assert response.status_code == 403
        assert response.get_json()["error"]["message"] == nb("You do not have access to do this.")
    # Each refusal is in the trail (access events), and nothing else new.
    assert (count(Contract), count(Supplier), count_changes()) == before
    assert client.get(f"contracts/{contract.id}").status_code == 200


@pytest.mark.parametrize("role", ["admin", "procurement"])
def test_editors_may_change_the_register(api, parties, role):
    assert api(role).post("contracts", json=new_contract(parties)).status_code == 201


def test_confidential_contracts_are_hidden(api, db):
    unit = factories.make_unit()
    owner = factories.make_user(Role.OWNER)
    secret = factories.make_contract(
        title="Hemmelig barnevernsavtale", unit_id=unit.id, owner_id=owner.id, is_confidential=True
    )
    public = factories.make_contract(title="Åpen avtale")
    outsider = api("owner", unit_id=factories.make_unit().id)

    assert outsider.get(f"contracts/{secret.id}").status_code == 404
    listed = {c["id"] for c in outsider.get("contracts?limit=200").get_json()["items"]}
    assert public.id in listed and secret.id not in listed
    assert outsider.get("contracts?q=hemmelig").get_json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "next": None,
        "previous": None,
    }
    assert outsider.patch(f"contracts/{secret.id}", json={"version": 1}).status_code == 403

    own = Api(outsider.client, factories.make_api_token(owner), owner)
    assert own.get(f"contracts/{secret.id}").status_code == 200
    colleague = api("owner", unit_id=unit.id)
    assert secret.id in {c["id"] for c in colleague.get("contracts?q=hemmelig").json["items"]}
    assert api("auditor").get(f"contracts/{secret.id}").status_code == 200


def test_deleted_contracts_are_not_found(editor):
    contract = factories.make_contract()
    register_services.soft_delete_contract(contract)
    assert editor.get(f"contracts/{contract.id}").status_code == 404
    response = editor.patch(f"contracts/{contract.id}", json={"version": contract.version})
    assert response.status_code == 404


# --- reading -------------------------------------------------------------------------


def test_contract_json(editor, db):
    owner = factories.make_user(Role.OWNER, name="Olga Eier")
    contract = factories.make_contract(
        owner_id=owner.id, estimated_value=Decimal("1250000.5"), notice_months=3
    )
    register_services.add_option(contract, 12, date(2027, 6, 1))
    db.flush()
    response = editor.get(f"contracts/{contract.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert response.headers["ETag"] == f'"{contract.version}"'
    assert body["reference"] == contract.reference
    assert body["estimated_value"] == "1250000.50"
    assert body["owner"] == {"id": owner.id, "name": "Olga Eier"}
    assert body["supplier"]["org_number"] == contract.supplier.org_number
    assert body["status"] == "active"
    assert body["end_date"] == "2027-12-31"
    assert body["current_end_date"] == "2027-12-31"
    assert body["max_end_date"] == "2028-12-31"
    assert body["last_notice_day"] == "2027-09-30"
    assert body["next_option_deadline"] == "2027-06-01"
    assert body["options"][0]["decision"] == "pending"
    assert body["links"]["self"].endswith(f"{BASE}/contracts/{contract.id}")
    assert body["links"]["html"].endswith(f"/contracts/{contract.id}")


def test_unknown_ids_are_json_404(editor):
    for path in (
        "contracts/999999",
        "contracts/99999999999",
        "contracts/0",
        "suppliers/999999",
        "units/999999",
        "categories/999999",
        "nothing-here",
    ):
        response = editor.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["message"] == nb("Not found.")


def test_units_and_categories(editor):
    unit = factories.make_unit("Teknisk")
    category = factories.make_category("Renhold")
    units = editor.get("units").get_json()
    assert {"Teknisk"} <= {u["name"] for u in units["items"]}
    assert units["total"] == len(units["items"])
    assert editor.get(f"units/{unit.id}").get_json()["name"] == "Teknisk"
    categories = editor.get("categories").get_json()["items"]
    assert "Renhold" in {c["name"] for c in categories}
    assert editor.get(f"categories/{category.id}").get_json()["kind"] == "services"


def test_suppliers_search_and_pages(editor):
    for n in range(5):
        factories.make_supplier(f"Østre Renhold {n} AS")
    factories.make_supplier("Annen AS")
    first = editor.get("suppliers?q=østre&limit=2").get_json()
    assert first["total"] == 5 and len(first["items"]) == 2 and first["previous"] is None
    names = [s["name"] for s in first["items"]]
    page = first
    while page["next"]:
        page = editor.get(page["next"]).get_json()
        names += [s["name"] for s in page["items"]]
    assert names == [f"Østre Renhold {n} AS" for n in range(5)]
    assert editor.get(page["previous"]).get_json()["page"] == 2
    supplier = first["items"][0]
    assert editor.get(f"suppliers/{supplier['id']}").get_json() == supplier


# --- the list: filters and pagination ----------------------------------------------------


@pytest.fixture
def register_world():
    """Contracts across units, categories, owners, statuses and values."""
    units = [factories.make_unit() for _ in range(2)]
    categories = [factories.make_category() for _ in range(2)]
    owner = factories.make_user(Role.OWNER)
    contracts = []
    for n in range(11):
        contracts.append(
            factories.make_contract(
                reference=f"LST-{n:03d}",
                title=f"{'Renhold' if n % 2 else 'Brøyting'} {n}",
                unit_id=units[n % 2].id,
                category_id=categories[n % 3 == 0].id,
                owner_id=owner.id if n % 4 == 0 else None,
                estimated_value=None if n % 5 == 0 else Decimal(1000 * (n % 4 + 1)),
                annual_value=None,
                is_framework=n % 3 == 0,
                signed_on=None if n == 7 else date(2024, 12, 1),
                start_date=date(2025, 1, 1),
                end_date=date(2026, 3 + n, 1) if n < 8 else None,
                is_confidential=n == 9,
            )
        )
    return {"units": units, "categories": categories, "owner": owner, "contracts": contracts}


def _walk(client: Api, url: str) -> list[dict]:
    page = client.get(url).get_json()
    items = list(page["items"])
    seen = 1
    while page["next"]:
        page = client.get(page["next"]).get_json()
        items += page["items"]
        seen += 1
        assert seen < 100
    return items


@pytest.mark.parametrize(
    "query",
    [
        "",
        "sort=title&direction=desc",
        "sort=value",
        "sort=value&direction=desc",
        "sort=end",
        "sort=supplier",
        "q=renhold&sort=end&direction=desc",
    ],
)
def test_next_links_cover_every_visible_contract_once(api, register_world, query):
    client = api("owner", unit_id=register_world["units"][0].id)  # not the confidential one
    everything = client.get(f"contracts?limit=200&{query}").get_json()
    items = _walk(client, f"contracts?limit=3&{query}")
    assert [c["id"] for c in items] == [c["id"] for c in everything["items"]]
    assert len({c["id"] for c in items}) == everything["total"] == len(items)
    assert register_world["contracts"][9].id not in {c["id"] for c in items}

    # And back again with the previous links.
    page = client.get(f"contracts?limit=3&{query}").get_json()
    while page["next"]:
        page = client.get(page["next"]).get_json()
    backwards = list(page["items"])
    while page["previous"]:
        page = client.get(page["previous"]).get_json()
        backwards = page["items"] + backwards
    assert [c["id"] for c in backwards] == [c["id"] for c in items]


def _page_references(client, query: str, references: list[str]) -> list[str]:
    html = client.get(f"/contracts?{query}").text
    return sorted(ref for ref in references if f">{ref}<" in html)


@pytest.mark.parametrize(
    ("page_query", "api_query"),
    [
        ("", ""),
        ("q=renhold", "q=renhold"),
        ("q=LST-00", "q=LST-00"),
        ("status=draft", "status=draft"),
        ("status=expiring", "status=expiring"),
        ("status=expired", "status=expired"),
        ("status=active", "status=active"),
        ("unit={unit}", "unit={unit}"),
        ("category={category}", "category={category}"),
        ("owner={owner}", "owner={owner}"),
        ("expires_within=120", "expires_within=120"),
        ("framework=yes", "framework=true"),
        ("framework=no&unit={unit}", "framework=false&unit={unit}"),
        ("sort=value&dir=desc", "sort=value&direction=desc"),
    ],
)
def test_filters_match_the_page(app, api, register_world, page_query, api_query):
    ids = {
        "unit": register_world["units"][1].id,
        "category": register_world["categories"][1].id,
        "owner": register_world["owner"].id,
    }
    user = factories.make_user(Role.PROCUREMENT)
    web = app.test_client()
    factories.log_in(web, user)
    client = Api(app.test_client(), factories.make_api_token(user), user)

    references = [c.reference for c in register_world["contracts"]]
    items = _walk(client, "contracts?limit=4&" + api_query.format(**ids))
    expected = _page_references(web, page_query.format(**ids), references)
    assert sorted(c["reference"] for c in items) == expected
    assert expected or api_query.startswith("status=")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=bogus", "status"),
        ("unit=abc", "unit"),
        ("unit=-1", "unit"),
        ("owner=99999999999", "owner"),
        ("expires_within=36501", "expires_within"),
        ("framework=yes", "framework"),
        ("sort=price", "sort"),
        ("direction=up", "direction"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("after=not-a-cursor", "after"),
        ("before=%%%", "before"),
        ("q=" + "x" * 201, "q"),
    ],
)
def test_bad_list_parameters_are_422(editor, query, field):
    response = editor.get(f"contracts?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_unknown_parameters_are_named(editor):
    """The page's dir=desc is direction=desc here: a misspelt filter is an error, not a
    silently unfiltered list."""
    response = editor.get("contracts?dir=desc&q=x")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"dir": [nb("Unknown parameter.")]}
    assert editor.get("units?page=2").status_code == 422
    assert editor.get("openapi.json?v=1").status_code == 200


def test_nul_in_the_query_is_a_json_400(editor):
    response = editor.get("contracts?q=a%00b")
    assert response.status_code == 400
    assert response.is_json


# --- creating ------------------------------------------------------------------------


def test_create_contract(editor, parties, db):
    events = count(AuditEvent)
    response = editor.post("contracts", json=new_contract(parties))
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == body["links"]["self"]
    assert body["estimated_value"] == "1250000.50"
    assert body["annual_value"] == "400000.00"
    assert body["is_framework"] is True and body["is_confidential"] is False
    assert body["supplier"]["id"] == parties["supplier"].id
    assert body["version"] == 1

    contract = db.get(Contract, body["id"])
    assert contract.reference == "API-1" and contract.notice_months == 3
    assert count(AuditEvent) == events + 1
    event = db.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert event.action == "create" and event.contract_id == contract.id
    assert event.actor_id == editor.user.id
    assert "API kr_" in event.summary


def test_create_with_supplier_text_like_the_form(editor, parties):
    supplier = parties["supplier"]
    org = supplier.org_number
    body = new_contract(parties, supplier=f"{org[:3]} {org[3:6]} {org[6:]}")
    del body["supplier_id"]
    response = editor.post("contracts", json=body)
    assert response.status_code == 201
    assert response.get_json()["supplier"]["id"] == supplier.id


def test_create_with_form_errors_in_norwegian_saves_nothing(editor, parties, db):
    before = (count(Contract), count(AuditEvent))
    body = new_contract(
        parties,
        reference="",
        title=None,
        start_date="2026-01-01",
        end_date="2025-01-01",
        estimated_value="mye penger",
        annual_value=-5,
        unit_id=999999,
        notice_months=121,
        price_adjustment_month=13,
        supplier_id=999999,
    )
    response = editor.post("contracts", json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["message"] == nb("The contract has errors.")
    fields = error["fields"]
    assert fields["reference"] == [nb("Enter the contract number.")]
    assert fields["title"] == [nb("Enter a title.")]
    assert fields["end_date"] == [nb("The end date cannot be before the start date.")]
    assert fields["estimated_value"] == [nb("Write an amount in kroner, like 1 250 000,50.")]
    assert fields["annual_value"] == [nb("The amount cannot be negative.")]
    assert fields["notice_months"] == [nb("Between 0 and 120 months.")]
    assert fields["supplier_id"] == [
        nb("No supplier found. Register the supplier first, or check the number.")
    ]
    assert set(fields) >= {"unit_id", "price_adjustment_month"}
    assert (count(Contract), count(AuditEvent)) == before


def test_taken_reference_is_422(editor, parties):
    factories.make_contract(reference="DUP-1")
    response = editor.post("contracts", json=new_contract(parties, reference="DUP-1"))
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert fields["reference"] == [nb("Another contract already has this number.")]


def test_messages_follow_the_users_language(api, parties):
    english = api("procurement", locale="en")
    response = english.post("contracts", json=new_contract(parties, title=""))
    assert response.get_json()["error"]["fields"]["title"] == ["Enter a title."]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"title": ["a", "list"]}, "title", "Must be text or null."),
        ({"title": {"an": "object"}}, "title", "Must be text or null."),
        ({"title": 12}, "title", "Must be text or null."),
        ({"unit_id": "1"}, "unit_id", "Must be a whole number or null."),
        ({"unit_id": True}, "unit_id", "Must be a whole number or null."),
        ({"unit_id": 1.5}, "unit_id", "Must be a whole number or null."),
        ({"is_framework": "yes"}, "is_framework", "Must be true or false."),
        ({"is_framework": None}, "is_framework", "Must be true or false."),
        ({"start_date": 20260101}, "start_date", 'Must be a date like "2026-12-31" or null.'),
        ({"surprise": 1}, "surprise", "Unknown field."),
        ({"id": 5}, "id", "Unknown field."),
        ({"title": "a\u0000b"}, "title", "Contains characters that are not allowed."),
        ({"title": "\ud800"}, "title", "Contains characters that are not allowed."),
    ],
)
def test_wrong_json_types_are_422(editor, parties, db, body, field, message):
    before = count(Contract)
    response = editor.post("contracts", json=new_contract(parties) | body)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"][field] == [nb(message)]
    assert count(Contract) == before


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("not json", "application/json", 400),
        ('{"title": NaN}', "application/json", 400),
        ('{"title": Infinity}', "application/json", 400),
        ("[" * 100_000, "application/json", 400),
        (b"\xff\xfe\xfa", "application/json", 400),
        ("", "application/json", 400),
        ("[1, 2]", "application/json", 422),
        ('"text"', "application/json", 422),
        ("null", "application/json", 422),
        ('{"title": "x"}', "text/plain", 415),
        ("title=x", "application/x-www-form-urlencoded", 415),
        ('{"title": "x"}', None, 415),
    ],
)
def test_bodies_that_are_not_json_objects(editor, data, content_type, status):
    headers = {"Content-Type": content_type} if content_type else {}
    for method, path in (("POST", "contracts"), ("POST", "suppliers")):
        response = editor.open(method, path, data=data, headers=headers)
        assert response.status_code == status, (path, response.get_data(True))
        assert response.get_json()["error"]["status"] == status


def test_too_large_body_is_413(editor, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = editor.post("contracts", json={"notes": "x" * 2000})
    assert response.status_code == 413
    assert response.get_json()["error"]["message"] == nb("The request is too large.")


def test_wrong_method_is_a_json_405(editor):
    response = editor.open("DELETE", "contracts")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


# --- updating ------------------------------------------------------------------------


def test_patch_with_the_version_in_the_body(editor, db):
    contract = factories.make_contract(title="Gammel tittel")
    version = contract.version
    events = count(AuditEvent)
    response = editor.patch(
        f"contracts/{contract.id}", json={"title": "Ny tittel", "version": version}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["title"] == "Ny tittel" and body["version"] > version
    assert body["reference"] == contract.reference  # untouched members keep their values
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert count(AuditEvent) == events + 1
    event = db.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert event.action == "update" and event.actor_id == editor.user.id
    assert event.before == {"title": "Gammel tittel"} and event.after == {"title": "Ny tittel"}


def test_patch_with_if_match(editor):
    contract = factories.make_contract()
    etag = editor.get(f"contracts/{contract.id}").headers["ETag"]
    response = editor.patch(
        f"contracts/{contract.id}",
        json={"estimated_value": 2_000_000, "annual_value": None, "supplier_id": None},
        headers={"If-Match": etag},
    )
    assert response.status_code == 422  # supplier_id null: the form wants a supplier
    assert response.get_json()["error"]["fields"]["supplier_id"] == [nb("Enter the supplier.")]
    supplier = factories.make_supplier()
    response = editor.patch(
        f"contracts/{contract.id}",
        json={"estimated_value": 2_000_000, "annual_value": None, "supplier_id": supplier.id},
        headers={"If-Match": etag},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["estimated_value"] == "2000000.00" and body["annual_value"] is None
    assert body["supplier"]["id"] == supplier.id


def test_patch_with_a_stale_version_is_409(editor, db):
    contract = factories.make_contract(title="Før")
    stale = contract.version
    assert editor.patch(f"contracts/{contract.id}", json={"notes": "x", "version": stale})
    events = count(AuditEvent)
    response = editor.patch(f"contracts/{contract.id}", json={"title": "Etter", "version": stale})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["current_version"] > stale
    assert count(AuditEvent) == events
    db.expire_all()
    assert db.get(Contract, contract.id).title == "Før"
    response = editor.patch(
        f"contracts/{contract.id}", json={"title": "Etter"}, headers={"If-Match": f'"{stale}"'}
    )
    assert response.status_code == 409


def test_patch_without_a_version_is_428(editor):
    contract = factories.make_contract()
    response = editor.patch(f"contracts/{contract.id}", json={"title": "Ny"})
    assert response.status_code == 428
    for header, status in (("abc", 400), ('W/"x"', 400), ("", 400)):
        response = editor.patch(
            f"contracts/{contract.id}", json={"title": "Ny"}, headers={"If-Match": header}
        )
        assert response.status_code == status, header
    response = editor.patch(f"contracts/{contract.id}", json={"version": "1"})
    assert response.status_code == 422


def test_patch_is_validated_on_the_whole_contract(editor, db):
    contract = factories.make_contract(start_date=date(2025, 1, 1))
    events = count(AuditEvent)
    response = editor.patch(
        f"contracts/{contract.id}", json={"end_date": "2024-12-31", "version": contract.version}
    )
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert fields == {"end_date": [nb("The end date cannot be before the start date.")]}
    assert count(AuditEvent) == events


def test_patch_that_changes_nothing_leaves_no_event(editor):
    contract = factories.make_contract()
    events = count(AuditEvent)
    response = editor.patch(
        f"contracts/{contract.id}", json={"title": contract.title, "version": contract.version}
    )
    assert response.status_code == 200
    assert response.get_json()["version"] == contract.version
    assert count(AuditEvent) == events


def test_patch_keeps_a_deactivated_owner(editor, db):
    owner = factories.make_user(Role.OWNER, is_active=False)
    contract = factories.make_contract(owner_id=owner.id)
    response = editor.patch(
        f"contracts/{contract.id}", json={"title": "Ny", "version": contract.version}
    )
    assert response.status_code == 200
    assert response.get_json()["owner"]["id"] == owner.id
    response = editor.patch(
        f"contracts/{contract.id}", json={"manager_id": owner.id, "version": contract.version}
    )
    assert response.status_code == 200


# --- suppliers -----------------------------------------------------------------------


def test_create_supplier(editor, db):
    org = factories.org_number()
    events = count(AuditEvent)
    response = editor.post(
        "suppliers",
        json={"name": "Nordic Renhold AS", "org_number": f"{org[:3]} {org[3:6]} {org[6:]}"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["org_number"] == org
    assert response.headers["Location"] == body["links"]["self"]
    assert count(AuditEvent) == events + 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": ""}, "name", "Enter a name."),
        (
            {"name": "X AS", "org_number": "123456789"},
            "org_number",
            "Not a valid Norwegian organisation number (nine digits, MOD11 check).",
        ),
        (
            {"name": "X AS", "contact_email": "nei"},
            "contact_email",
            "Enter a valid e-mail address.",
        ),
        ({"name": "X AS", "website": "x"}, "website", "Unknown field."),
    ],
)
def test_supplier_form_errors(editor, db, body, field, message):
    before = count(Supplier)
    response = editor.post("suppliers", json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"][field] == [nb(message)]
    assert count(Supplier) == before


def test_supplier_with_a_taken_org_number(editor):
    supplier = factories.make_supplier()
    response = editor.post("suppliers", json={"name": "Kopi AS", "org_number": supplier.org_number})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["org_number"] == [
        nb("Another supplier has this organisation number.")
    ]


# --- in a real browser -----------------------------------------------------------------


@pytest.mark.browser
def test_a_person_creates_uses_and_revokes_a_token(page, live_server, app):
    from playwright.sync_api import expect

    from tests.test_browser import log_in

    user = factories.make_user(Role.AUDITOR, name="Rita Revisor")
    Session.flush()
    page.goto("/login")
    log_in(page, user)
    page.get_by_role("link", name="Min profil").click()
    expect(page.get_by_role("heading", name="Min profil")).to_be_visible()

    page.get_by_label(nb("Name of the token")).fill("Revisjonsverktøy")
    page.get_by_role("button", name=nb("Create token")).click()
    token = page.get_by_test_id("new-token").inner_text()
    assert token.startswith("kr_")
    api = Api(app.test_client(), token)
    assert api.get("contracts").status_code == 200

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=nb("Revoke")).click()
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    expect(page.get_by_role("cell", name=re.compile(nb("Revoked")))).to_be_visible()
    assert api.get("contracts").status_code == 401
