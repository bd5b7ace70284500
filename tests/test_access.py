"""Who may use which route: a role x route matrix over the whole url_map, and who may see a
confidential contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from contracts.audit.models import AuditEvent
from contracts.auth.models import Role, User
from contracts.db import Session
from contracts.register import services as register_services
from contracts.register.models import ContractOption, OptionDecision
from contracts.rules.models import Threshold
from tests import factories

ANONYMOUS = "anonymous"
ROLES = tuple(role.value for role in Role)
LOGGED_IN = frozenset(ROLES)
EVERYONE = LOGGED_IN | {ANONYMOUS}
EDITORS = frozenset({Role.ADMIN.value, Role.PROCUREMENT.value})
ADMIN = frozenset({Role.ADMIN.value})

# Every endpoint and method in the url_map, with the roles allowed to use it. Everyone
# else is refused: anonymous visitors are sent to the login page, logged-in users get 403.
# A new route fails test_every_route_is_in_the_table until it gets a line here.
ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("home.index", "GET"): LOGGED_IN,
    ("home.healthz", "GET"): EVERYONE,
    ("auth.login", "GET"): EVERYONE,
    ("auth.login", "POST"): EVERYONE,
    ("auth.logout", "POST"): EVERYONE,
    ("auth.set_locale", "POST"): EVERYONE,
    ("auth.user_list", "GET"): ADMIN,
    ("auth.user_new", "GET"): ADMIN,
    ("auth.user_new", "POST"): ADMIN,
    ("auth.user_edit", "GET"): ADMIN,
    ("auth.user_edit", "POST"): ADMIN,
    ("parties.unit_list", "GET"): LOGGED_IN,
    ("parties.unit_new", "GET"): EDITORS,
    ("parties.unit_new", "POST"): EDITORS,
    ("parties.unit_edit", "GET"): EDITORS,
    ("parties.unit_edit", "POST"): EDITORS,
    ("parties.unit_delete", "POST"): EDITORS,
    ("parties.category_list", "GET"): LOGGED_IN,
    ("parties.category_new", "GET"): EDITORS,
    ("parties.category_new", "POST"): EDITORS,
    ("parties.category_edit", "GET"): EDITORS,
    ("parties.category_edit", "POST"): EDITORS,
    ("parties.category_delete", "POST"): EDITORS,
    ("parties.supplier_list", "GET"): LOGGED_IN,
    ("parties.supplier_detail", "GET"): LOGGED_IN,
    ("parties.supplier_new", "GET"): EDITORS,
    ("parties.supplier_new", "POST"): EDITORS,
    ("parties.supplier_edit", "GET"): EDITORS,
    ("parties.supplier_edit", "POST"): EDITORS,
    ("parties.supplier_delete", "POST"): EDITORS,
    ("register.contract_list", "GET"): LOGGED_IN,
    ("register.contract_export", "GET"): LOGGED_IN,
    ("exchange.ocds_download", "GET"): LOGGED_IN,
    ("exchange.import_upload", "GET"): EDITORS,
    ("exchange.import_upload", "POST"): EDITORS,
    ("exchange.import_preview", "GET"): EDITORS,
    ("exchange.import_preview", "POST"): EDITORS,
    # Public once the municipality turns publication on (CONFIG below); 404 while off.
    ("exchange.ocds_public", "GET"): EVERYONE,
    ("register.contract_new", "GET"): EDITORS,
    ("register.contract_new", "POST"): EDITORS,
    ("register.contract_detail", "GET"): LOGGED_IN,
    ("register.contract_edit", "GET"): EDITORS,
    ("register.contract_edit", "POST"): EDITORS,
    ("register.contract_terminate", "POST"): EDITORS,
    ("register.contract_cancel_termination", "POST"): EDITORS,
    ("register.contract_delete", "POST"): EDITORS,
    ("register.contract_restore", "POST"): EDITORS,
    ("register.option_add", "POST"): EDITORS,
    # Also the contract's own owner (see test_contract_owner_decides_options); the users
    # in the matrix own nothing.
    ("register.option_decide", "POST"): EDITORS,
    ("register.option_delete", "POST"): EDITORS,
    ("register.amendment_add", "POST"): EDITORS,
    ("rules.threshold_list", "GET"): frozenset(
        {Role.ADMIN.value, Role.PROCUREMENT.value, Role.AUDITOR.value}
    ),
    ("rules.threshold_add", "POST"): ADMIN,
    ("rules.threshold_delete", "POST"): ADMIN,
}

# POSTs that only touch the visitor's own browser session, open to everyone (auditors too).
SESSION_ONLY_POSTS = frozenset(
    {("auth.login", "POST"), ("auth.logout", "POST"), ("auth.set_locale", "POST")}
)

# Minimal form data per POST; the rest post nothing and get a form error or a redirect.
FORM_DATA = {("auth.set_locale", "POST"): {"locale": "nb"}}

_NEW_USER = {
    "email": "ny.bruker@test.kommune.no",
    "name": "Ny Bruker",
    "role": "procurement",
    "unit_id": "",
    "is_active": "y",
    "password": "a long enough password",
}


def valid_form_data(endpoint: str, world: World) -> dict[str, str]:
    """Valid data per POST, so that a request that wrongly got through would change something."""
    contract = {
        "reference": "GYLDIG-1",
        "title": "Brøyting av kommunale veier",
        "supplier": world.supplier_org,
        "category_id": str(world.category_id),
        "unit_id": str(world.unit_id),
        "procedure": "open_competition",
        "start_date": "2026-01-01",
        "end_date": "2027-12-31",
        "version": "1",
    }
    return {
        "auth.set_locale": {"locale": "en"},
        "auth.user_new": _NEW_USER,
        "auth.user_edit": _NEW_USER,
        "parties.unit_new": {"name": "Ny enhet"},
        "parties.unit_edit": {"name": "Nytt enhetsnavn"},
        "parties.category_new": {"name": "Ny kategori", "kind": "services"},
        "parties.category_edit": {"name": "Nytt kategorinavn", "kind": "goods"},
        "parties.supplier_new": {"name": "Ny Leverandør AS"},
        "parties.supplier_edit": {"name": "Nytt Leverandørnavn AS"},
        "register.contract_new": contract,
        "register.contract_edit": contract,
        "register.contract_terminate": {"terminated_on": "2026-06-30"},
        "register.option_add": {"extension_months": "12", "exercise_deadline": "2027-01-01"},
        "register.option_decide": {"decision": "exercised", "decided_on": "2026-03-01"},
        "register.amendment_add": {"amended_on": "2026-03-01", "description": "Ny pris"},
        "rules.threshold_add": {
            "kind": "national",
            "value": "1 400 000",
            "valid_from": "2026-07-01",
            "source": "regjeringen.no",
        },
    }.get(endpoint, {})


# What an allowed request may answer: a page, a redirect, a form error or an edit conflict.
ALLOWED_STATUSES = {200, 302, 409, 422}
# An import token names the user's own upload; any other token is not found (404).
EXTRA_ALLOWED = {"exchange.import_preview": {404}}

CASES = [
    pytest.param(endpoint, method, who, id=f"{endpoint}-{method}-{who}")
    for (endpoint, method) in ACCESS
    for who in (ANONYMOUS, *ROLES)
]


def _routes(app) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


@dataclass
class World:
    """One of everything a URL can point at."""

    contract_id: int
    option_id: int
    unit_id: int
    category_id: int
    supplier_id: int
    supplier_org: str
    user_id: int
    threshold_id: int

    def arguments(self, endpoint: str, names: set[str]) -> dict[str, int | str]:
        by_name = {
            "contract_id": self.contract_id,
            "option_id": self.option_id,
            "user_id": self.user_id,
            "threshold_id": self.threshold_id,
            "fmt": "csv",
            "token": "someone-elses-upload",
        }
        if endpoint.startswith("parties.unit_"):
            by_name["obj_id"] = self.unit_id
        elif endpoint.startswith("parties.category_"):
            by_name["obj_id"] = self.category_id
        elif endpoint.startswith("parties.supplier_"):
            by_name["obj_id"] = self.supplier_id
        missing = names - set(by_name)
        assert not missing, f"no test object for {endpoint} arguments {sorted(missing)}"
        return {name: by_name[name] for name in names}


def make_world(contract_owner: User | None = None) -> World:
    """Create one object for every kind of URL argument."""
    contract_owner = contract_owner or factories.make_user(Role.OWNER)
    contract = factories.make_contract(owner_id=contract_owner.id)
    option = register_services.add_option(contract, 12, date(2027, 6, 1))
    supplier = factories.make_supplier()
    return World(
        contract_id=contract.id,
        option_id=option.id,
        unit_id=factories.make_unit().id,
        category_id=factories.make_category().id,
        supplier_id=supplier.id,
        supplier_org=supplier.org_number,
        user_id=factories.make_user(Role.OWNER).id,
        threshold_id=Session.scalar(select(Threshold.id).limit(1)),
    )


@pytest.fixture
def world() -> World:
    return make_world()


def _url(app, world: World, endpoint: str) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    adapter = app.url_map.bind("localhost")
    return adapter.build(endpoint, world.arguments(endpoint, set(rule.arguments)))


def _is_login_redirect(response, path: str) -> bool:
    if response.status_code != 302:
        return False
    location = urlsplit(response.headers["Location"])
    return location.path == "/login" and parse_qs(location.query).get("next") == [path]


def test_every_route_is_in_the_table(app):
    routes = _routes(app)
    assert routes - set(ACCESS) == set(), "routes without an access entry"
    assert set(ACCESS) - routes == set(), "access entries for routes that no longer exist"


def test_auditors_are_refused_every_state_changing_route():
    changing = {key for key in ACCESS if key[1] != "GET"} - SESSION_ONLY_POSTS
    assert changing
    assert {key for key in changing if Role.AUDITOR.value in ACCESS[key]} == set()


# Settings a route needs to be on at all.
CONFIG = {"exchange.ocds_public": {"OCDS_PUBLIC": True}}


@pytest.mark.parametrize(("endpoint", "method", "who"), CASES)
def test_access_matrix(app, client, login_as, world, endpoint, method, who, monkeypatch):
    for key, value in CONFIG.get(endpoint, {}).items():
        monkeypatch.setitem(app.config, key, value)
    http = client if who == ANONYMOUS else login_as(who)
    path = _url(app, world, endpoint)
    data = FORM_DATA.get((endpoint, method), {})
    response = http.open(path, method=method, data=data if method == "POST" else None)

    if who in ACCESS[(endpoint, method)]:
        allowed = ALLOWED_STATUSES | EXTRA_ALLOWED.get(endpoint, set())
        assert response.status_code in allowed, (who, response.status_code)
        assert not _is_login_redirect(response, path)
    elif who == ANONYMOUS:
        assert _is_login_redirect(response, path), (response.status_code, response.location)
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(
    "endpoint", sorted(e for e, m in set(ACCESS) - SESSION_ONLY_POSTS if m != "GET")
)
def test_refused_auditor_changes_nothing(app, login_as, world, db, endpoint):
    """A refused POST leaves no trace in the audit trail (so nothing was changed)."""
    auditor = login_as("auditor")
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    response = auditor.post(_url(app, world, endpoint), data=valid_form_data(endpoint, world))
    assert response.status_code == 403
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before


# --- the contract's owner and options --------------------------------------------------


def test_contract_owner_decides_options(app, login_as, db):
    owner = login_as("owner")
    contract = factories.make_contract(owner_id=owner.user.id)
    option = register_services.add_option(contract, 12, date(2027, 6, 1))
    response = owner.post(
        f"/contracts/{contract.id}/options/{option.id}/decision",
        data={"decision": "exercised", "decided_on": "2026-03-01"},
    )
    assert response.status_code == 302
    assert db.get(ContractOption, option.id).decision == OptionDecision.EXERCISED


def test_auditor_named_as_owner_still_cannot_decide_options(login_as, db):
    auditor = login_as("auditor")
    contract = factories.make_contract(owner_id=auditor.user.id)
    option = register_services.add_option(contract, 12, date(2027, 6, 1))
    response = auditor.post(
        f"/contracts/{contract.id}/options/{option.id}/decision",
        data={"decision": "exercised", "decided_on": "2026-03-01"},
    )
    assert response.status_code == 403
    db.expire_all()
    assert db.get(ContractOption, option.id).decision == OptionDecision.PENDING


# --- confidential contracts ------------------------------------------------------------


@pytest.fixture
def confidential():
    """A confidential contract of one unit, with its owner and manager."""
    unit = factories.make_unit()
    owner = factories.make_user(Role.OWNER)
    manager = factories.make_user(Role.OWNER)
    contract = factories.make_contract(
        title="Hemmelig barnevernsavtale",
        unit_id=unit.id,
        owner_id=owner.id,
        manager_id=manager.id,
        is_confidential=True,
    )
    return contract, unit, owner, manager


def test_confidential_contract_is_hidden_from_other_owners(app, login_as, confidential):
    contract, _unit, _owner, _manager = confidential
    other = login_as("owner", unit_id=factories.make_unit().id)

    assert other.get(f"/contracts/{contract.id}").status_code == 404
    listing = other.get("/contracts")
    assert listing.status_code == 200
    assert contract.reference not in listing.text
    assert "Hemmelig barnevernsavtale" not in listing.text
    search = other.get("/contracts?q=hemmelig")
    assert search.status_code == 200
    assert "Hemmelig barnevernsavtale" not in search.text
    supplier_page = other.get(f"/suppliers/{contract.supplier_id}")
    assert supplier_page.status_code == 200
    assert contract.reference not in supplier_page.text
    start = other.get("/")
    assert contract.reference not in start.text


def test_confidential_contract_is_hidden_from_owner_without_unit(login_as, confidential):
    contract = confidential[0]
    other = login_as("owner")
    assert other.get(f"/contracts/{contract.id}").status_code == 404
    assert contract.reference not in other.get("/contracts").text


@pytest.mark.parametrize(
    "who", ["owner", "manager", "unit member", *sorted(ADMIN | EDITORS), "auditor"]
)
def test_confidential_contract_is_visible_to_those_responsible(app, login_as, confidential, who):
    contract, unit, owner, manager = confidential
    if who == "owner":
        client = app.test_client()
        factories.log_in(client, owner)
    elif who == "manager":
        client = app.test_client()
        factories.log_in(client, manager)
    elif who == "unit member":
        client = login_as("owner", unit_id=unit.id)
    else:
        client = login_as(who)

    detail = client.get(f"/contracts/{contract.id}")
    assert detail.status_code == 200
    assert "Hemmelig barnevernsavtale" in detail.text
    listing = client.get("/contracts")
    assert contract.reference in listing.text
