"""Object-level access: an owner of another unit reaches nothing of a confidential
contract. The routes come from the url_map by their argument names (anything that names
a contract or an object of one), every method of each; the other routes, lists and
exports, must not show it either. test_access.py has the role matrix and the contract's
own pages."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import pytest
from sqlalchemy import String, cast, func, literal, select, update

from contracts.audit.models import AuditEvent
from contracts.auth.models import Role, User
from contracts.db import Session
from contracts.register import services as register_services
from contracts.register.models import Contract
from followup.gains.models import GainPlan
from followup.models import Activity, Deviation
from jobs import settings as notify_settings
from tests import factories
from tests.test_access import (
    ACCESS,
    EXTRA_ALLOWED,
    World,
    is_api,
    make_world,
    valid_api_body,
    valid_form_data,
)

# URL arguments that name a contract or something that belongs to one.
CONTRACT_BOUND = {
    "contract_id",
    "option_id",
    "activity_id",
    "deviation_id",
    "gain_plan_id",
    "entry_id",
    "declaration_id",
    "involved_id",
    "flag_id",
}
SECRET = "HEMMELIG"
ACCESS_ACTIONS = ("login", "login_failed", "logout", "view_confidential", "access_refused")


@dataclass
class Secret:
    world: World
    unit_id: int
    other: User  # an owner in another unit
    member: User  # an owner in the contracts' unit (sees them: the control)
    calendar_token: str  # the other owner's


@pytest.fixture
def secret() -> Secret:
    """make_world() with every contract (and its text) confidential to one unit."""
    world = make_world()
    unit = factories.make_unit()
    Session.execute(
        update(Contract).values(
            is_confidential=True,
            unit_id=unit.id,
            title=literal(f"{SECRET} avtale ", String) + cast(Contract.id, String),
        )
    )
    for model, column in (
        (Activity, "title"),
        (Deviation, "description"),
        (GainPlan, "description"),
    ):
        Session.execute(update(model).values({column: f"{SECRET} {column}"}))
    other = factories.make_user(Role.OWNER, unit_id=factories.make_unit().id)
    member = factories.make_user(Role.OWNER, unit_id=unit.id)
    token = notify_settings.create_calendar_token(other)
    Session.commit()
    Session.expire_all()
    return Secret(world, unit.id, other, member, token)


def _bound_routes(app) -> list[tuple[str, str]]:
    return sorted(
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if set(rule.arguments) & CONTRACT_BOUND
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


def _path(app, endpoint: str, values: dict) -> str:
    return app.url_map.bind("localhost").build(endpoint, values)


def _arguments(app, endpoint: str, world: World) -> dict:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return world.arguments(endpoint, set(rule.arguments))


def _client(app, user: User):
    client = app.test_client()
    factories.log_in(client, user)
    Session.commit()
    return client


def _bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {factories.make_api_token(user)}"}


def _changes() -> int:
    return Session.scalar(select(func.count()).where(AuditEvent.action.not_in(ACCESS_ACTIONS)))


def _request(app, user: User, endpoint: str, method: str, world: World):
    """A request that would change something if it got through; credentials first (making
    a token is audited), so the caller counts changes from here."""
    path = _path(app, endpoint, _arguments(app, endpoint, world))
    if is_api(endpoint):
        client, kwargs = app.test_client(), {"headers": _bearer(user)}
        if method != "GET":
            kwargs["json"] = valid_api_body(endpoint, world)
    else:
        client = _client(app, user)
        kwargs = {"data": valid_form_data(endpoint, world)} if method != "GET" else {}
    Session.commit()
    return lambda: client.open(path, method=method, **kwargs)


def test_the_routes_are_found(app):
    routes = _bound_routes(app)
    assert len(routes) >= 40
    assert {m for _e, m in routes} >= {"GET", "POST", "PATCH"}
    # Each argument of the list names at least one route (the list is not stale).
    names = {a for r in app.url_map.iter_rules() for a in r.arguments}
    assert names >= CONTRACT_BOUND


def test_owner_of_another_unit_reaches_nothing_of_a_confidential_contract(app, secret):
    world = secret.world
    failures, controls = [], 0
    for endpoint, method in _bound_routes(app):
        send = _request(app, secret.other, endpoint, method, world)
        before = _changes()
        response = send()
        if response.status_code not in {403, 404}:
            failures.append(f"{endpoint} {method}: {response.status_code}")
        if SECRET in response.get_data(as_text=True):
            failures.append(f"{endpoint} {method}: shows the contract")
        if _changes() != before:
            failures.append(f"{endpoint} {method}: changed something")

        # The control: an owner in the contracts' unit sees them, where owners may look.
        if method == "GET" and "owner" in ACCESS[(endpoint, method)]:
            response = _request(app, secret.member, endpoint, method, world)()
            allowed = {200, 302} | EXTRA_ALLOWED.get(endpoint, set())
            if response.status_code not in allowed:
                failures.append(f"control {endpoint}: {response.status_code}")
            controls += 1
    assert failures == []
    assert controls >= 10


def test_an_option_of_a_confidential_contract_through_ones_own_contract(app, secret, db):
    """The owner of contract A may decide A's options, and only those: B's option under A's
    URL is not found."""
    own = factories.make_contract(owner_id=secret.other.id)
    register_services.add_option(own, 12, own.end_date)
    Session.commit()
    client = _client(app, secret.other)
    data = {"decision": "exercised", "decided_on": "2026-03-01"}
    before = _changes()
    path = f"/contracts/{own.id}/options/{secret.world.option_id}"
    assert client.get(f"/contracts/{own.id}").status_code == 200
    assert client.post(f"{path}/decision", data=data).status_code == 404
    assert client.post(f"{path}/delete").status_code in {403, 404}  # editors only
    assert _changes() == before


def _texts(response) -> str:
    """A response's text, with the files of a ZIP (XLSX too) unpacked."""
    body = response.get_data()
    if body[:2] != b"PK":
        return body.decode("utf-8", "replace")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())


def test_no_list_or_export_shows_a_confidential_contract_to_another_unit(app, secret, monkeypatch):
    monkeypatch.setitem(app.config, "OCDS_PUBLIC", True)
    client = _client(app, secret.other)
    bearer = _bearer(secret.other)
    Session.commit()
    adapter = app.url_map.bind("localhost")
    leaks, seen = [], 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if set(rule.arguments) & CONTRACT_BOUND:
            continue  # above
        values = secret.world.arguments(rule.endpoint, set(rule.arguments))
        if rule.endpoint == "notify.calendar_feed":
            values["token"] = secret.calendar_token
        variants = [values, values | {"fmt": "xlsx"}] if "fmt" in values else [values]
        for values in variants:
            path = adapter.build(rule.endpoint, values)
            response = client.get(path, headers=bearer if is_api(rule.endpoint) else {})
            seen += response.status_code == 200
            if SECRET in _texts(response):
                leaks.append(path)
    assert leaks == []
    assert seen >= 30

    # The control: the same walk as a member of the unit finds the contracts somewhere.
    member = _client(app, secret.member)
    assert SECRET in member.get("/contracts").text
    assert SECRET in _texts(member.get("/contracts/export.xlsx"))
