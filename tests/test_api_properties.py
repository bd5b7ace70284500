"""Property-based tests of the API with schemathesis: requests generated from the OpenAPI
document (valid and invalid ones), sent to the app in-process. No response may be a 5xx,
and every response must be documented: status code, content type, headers and body."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, check
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from contracts.api.forms import CONTRACT_MEMBERS, Kind
from contracts.api.openapi import document
from contracts.auth.models import Role, User
from contracts.db import Session
from contracts.parties.models import Category, Supplier, Unit
from contracts.register import services as register_services
from contracts.register.models import Contract
from tests import factories

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    # Input the document calls invalid is refused: the document is no looser than the API.
    negative_data_rejection,
]


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


# (method, path) of every documented operation. The tests drive schemathesis's strategies
# with Hypothesis directly: its lazy pytest loader does not run on pytest 9.
OPERATIONS = [
    (method.upper(), path)
    for path, item in document()["paths"].items()
    for method in item
    if method != "parameters"
]
# Invalid input needs something to be invalid: parameters or a body.
TAKE_INPUT = {
    (method.upper(), path)
    for path, item in document()["paths"].items()
    for method, operation in item.items()
    if method != "parameters"
    and (item.get("parameters") or operation.get("parameters") or operation.get("requestBody"))
}
CASES = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode.value}")
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or (method, path) in TAKE_INPUT
]
# Examples per operation, mode and kind of user: about 1 000 requests in all.
EXAMPLES = 20


@pytest.fixture
def owner():
    """Some of everything for generated ids to find, and an owner who may see one of the
    two confidential contracts."""
    unit = factories.make_unit()
    owner = factories.make_user(Role.OWNER, unit_id=unit.id)
    for n in range(4):
        contract = factories.make_contract(
            unit_id=unit.id if n < 2 else None,
            owner_id=owner.id if n == 1 else None,
            is_confidential=n >= 2,
            estimated_value=None if n == 2 else Decimal("100000.00"),
        )
        register_services.add_option(contract, 12, date(2028, 1, 1))
    return owner


def _run(api_schema, method: str, path: str, mode: GenerationMode, headers: dict, checks):
    operation = api_schema[path][method]

    # The token goes in as a given header, so that invalid cases never drop it.
    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same requests on every run, so CI cannot flake
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
    def check(case):
        response = case.call()
        case.validate_response(response, checks=checks)

    check()


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
@pytest.mark.parametrize("who", ["procurement", "owner"])
def test_documented_answers_and_no_server_errors(api_schema, owner, who, method, path, mode):
    user = owner if who == "owner" else factories.make_user(Role(who))
    headers = {"Authorization": f"Bearer {factories.make_api_token(user)}"}
    _run(api_schema, method, path, mode, headers, CHECKS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_without_a_token_everything_but_the_document_is_401(api_schema, method, path):
    statuses = []

    def record(ctx, response, case):
        statuses.append(response.status_code)
        return None

    _run(api_schema, method, path, GenerationMode.POSITIVE, {}, [*CHECKS[:-1], check(record)])
    expected = {200} if path.endswith("/openapi.json") else {401}
    assert set(statuses) == expected


# --- realistic input ---------------------------------------------------------------------
#
# Generated ids rarely name a row, so above nearly every create or change stops at a
# validation error. Here the document is narrowed to the ids that exist, dates in this
# century and plain amounts, and PATCH sends the contract's current version: far more
# requests get through the forms and the services to the database.

SANE_DATE = r"^20[2-3][0-9]-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$"


def _realistic_document(contract_ids: list[int]) -> dict:
    doc = copy.deepcopy(document())
    ids = {
        "unit_id": Session.scalars(select(Unit.id)).all(),
        "category_id": Session.scalars(select(Category.id)).all(),
        "supplier_id": Session.scalars(select(Supplier.id)).all(),
        "owner_id": [None, *Session.scalars(select(User.id).where(User.is_active)).all()],
    }
    ids["manager_id"] = ids["owner_id"]
    for name in ("ContractCreate", "ContractPatch"):
        schema = doc["components"]["schemas"][name]
        properties = schema["properties"]
        del properties["supplier"]
        schema.pop("allOf")
        for member, values in ids.items():
            properties[member] = {"enum": values}
        for member, kind in CONTRACT_MEMBERS.items():
            if kind is Kind.DATE:
                properties[member] = {"type": "string", "pattern": SANE_DATE}
            elif kind is Kind.AMOUNT:
                properties[member] = {"type": ["integer", "null"], "minimum": 0, "maximum": 10**9}
    doc["components"]["schemas"]["ContractCreate"]["required"].append("supplier_id")
    path = doc["paths"]["/api/v1/contracts/{contract_id}"]
    path["parameters"][0]["schema"] = {"enum": contract_ids}
    return doc


@pytest.mark.parametrize(
    ("method", "path", "succeeded"),
    [
        ("POST", "/api/v1/contracts", 201),
        ("PATCH", "/api/v1/contracts/{contract_id}", 200),
        ("GET", "/api/v1/contracts/{contract_id}", 200),
    ],
)
@pytest.mark.parametrize("who", ["procurement", "owner"])
def test_realistic_input_is_saved_or_refused_as_documented(
    app, owner, who, method, path, succeeded
):
    contract_ids = Session.scalars(select(Contract.id)).all()
    realistic = schemathesis.openapi.from_dict(_realistic_document(contract_ids))
    realistic.app = app
    user = owner if who == "owner" else factories.make_user(Role(who))
    token = factories.make_api_token(user)
    statuses: list[int] = []

    @check
    def record(ctx, response, case):
        statuses.append(response.status_code)
        return None

    operation = realistic[path][method]

    @given(case=operation.as_strategy(headers={"Authorization": f"Bearer {token}"}))
    @settings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
    def run(case):
        if method == "PATCH" and isinstance(case.body, dict):
            Session.expire_all()
            case.body["version"] = Session.get(
                Contract, case.path_parameters["contract_id"]
            ).version
        response = case.call()
        case.validate_response(response, checks=[*CHECKS[:-1], record])

    run()
    if who == "owner" and method != "GET":
        assert set(statuses) == {403}
    else:
        assert succeeded in statuses, sorted(set(statuses))
