"""The JSON API at /api/v1: contracts, suppliers, units and categories.

Bearer tokens only: the session cookie is never read here, so the blueprint is exempt from
CSRF (a forged cross-site request cannot carry the Authorization header). Writes go through
the web forms and the same services as the pages, which audit every change.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from contracts.api import forms, services
from contracts.api.errors import ApiError, error_response
from contracts.api.openapi import DEFAULT_LIMIT, MAX_LIMIT, document
from contracts.api.representations import (
    category_json,
    contract_json,
    supplier_json,
    unit_json,
)
from contracts.audit import access
from contracts.auth.services import active_users
from contracts.clock import today
from contracts.db import Session
from contracts.extensions import csrf
from contracts.parties import services as parties
from contracts.parties.forms import SupplierForm
from contracts.parties.models import Category, Supplier, Unit
from contracts.register import services as register
from contracts.register.forms import supplier_label
from contracts.register.models import Contract, ContractStatus
from contracts.register.search import SORT_COLUMNS, ContractQuery, decode_cursor, fetch_page

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_QUERY = 200
MAX_PAGE = 100_000
MAX_ID = forms.MAX_ID
DIGITS = re.compile(r"[0-9]{1,10}")
# The list filters, named as on the page (except `direction`, which the page calls dir).
CONTRACT_FILTERS = (
    "q",
    "status",
    "unit",
    "category",
    "owner",
    "expires_within",
    "framework",
    "sort",
    "direction",
)
# The query parameters each endpoint takes; any other is an error.
QUERY_PARAMETERS = {
    "api.contract_list": (*CONTRACT_FILTERS, "after", "before", "limit"),
    "api.supplier_list": ("q", "page", "limit"),
}


# --- authentication and errors -------------------------------------------------------


@bp.before_request
def authenticate():
    """Let the request act as the token's user; the session cookie counts for nothing."""
    # Flask-Login keeps the request's user in g._login_user and only looks at the session
    # when it is unset: setting it first keeps the cookie out of the API entirely.
    g._login_user = current_app.login_manager.anonymous_user()
    if request.endpoint == "api.openapi":
        return
    scheme, _sep, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise ApiError(401)
    found = services.authenticate(credentials.strip())
    if found is None:
        raise ApiError(
            401,
            _("The API token is not valid, or it has been revoked."),
            headers={"WWW-Authenticate": 'Bearer realm="kontraktsregister", error="invalid_token"'},
        )
    user, token = found
    Session.commit()  # last_used_at, before the view's own transaction
    g._login_user = user
    g.api_token = token


@bp.before_request
def refuse_unknown_parameters():
    """A misspelt filter would silently list everything: name it instead."""
    if request.endpoint == "api.openapi":
        return
    known = QUERY_PARAMETERS.get(request.endpoint or "", ())
    unknown = sorted(set(request.args) - set(known))
    if unknown:
        raise _invalid({name: [_("Unknown parameter.")] for name in unknown})


@bp.errorhandler(HTTPException)
def api_error(error: HTTPException):
    """Errors raised in the API's views; routing errors under /api/ go through web.py."""
    Session.rollback()
    if error.code == 403:
        access.record_refusal(403)
    return error_response(error)


def _require_editor() -> None:
    if not current_user.can_edit:
        raise ApiError(403)


def _invalid(fields: dict[str, list[str]], message: str | None = None) -> ApiError:
    return ApiError(422, message or _("The request has errors."), fields=fields)


# --- request bodies and query strings --------------------------------------------------


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_object() -> dict[str, Any]:
    """The request body as a JSON object; 415, 400 or 422 for anything else."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    ):
        raise ApiError(415)
    raw = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: 413
    try:
        # Decimal keeps amounts exact; NaN and Infinity are not JSON.
        body = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, _("The body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise ApiError(422, _("The body must be a JSON object."))
    return body


class _Args:
    """Query-string parameters, checked one by one; errors collected per parameter."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def text(self, name: str, maximum: int = MAX_QUERY) -> str | None:
        value = request.args.get(name)
        if value is not None and len(value) > maximum:
            self.fail(name, _("At most %(n)d characters.", n=maximum))
            return None
        return value

    def integer(self, name: str, minimum: int, maximum: int, default: int | None = None):
        raw = request.args.get(name)
        if raw is None:
            return default
        if not DIGITS.fullmatch(raw) or not minimum <= int(raw) <= maximum:
            self.fail(
                name,
                _("Must be a whole number from %(min)d to %(max)d.", min=minimum, max=maximum),
            )
            return default
        return int(raw)

    def choice(self, name: str, options: tuple[str, ...] | list[str], default=None):
        raw = request.args.get(name)
        if raw is None:
            return default
        if raw not in options:
            self.fail(name, _("Must be one of: %(options)s.", options=", ".join(options)))
            return default
        return raw

    def cursor(self, name: str) -> str | None:
        raw = request.args.get(name)
        if raw is not None and decode_cursor(raw) is None:
            self.fail(name, _("Not a cursor from a next or previous link."))
            return None
        return raw

    def check(self) -> None:
        if self.errors:
            raise _invalid(self.errors)


def _limit(args: _Args) -> int:
    return args.integer("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)


# --- contracts -----------------------------------------------------------------------


def _contract_query(args: _Args) -> ContractQuery:
    """The list page's filters, with the page's meaning; invalid values are errors here."""
    framework = args.choice("framework", ("true", "false"))
    after, before = args.cursor("after"), args.cursor("before")
    if after and before:
        args.fail("before", _("Use either after or before, not both."))
    status = args.choice("status", [s.value for s in ContractStatus])
    return ContractQuery(
        q=args.text("q") or "",
        status=ContractStatus(status) if status else None,
        unit_id=args.integer("unit", 1, MAX_ID),
        category_id=args.integer("category", 1, MAX_ID),
        owner_id=args.integer("owner", 1, MAX_ID),
        expires_within=args.integer("expires_within", 0, 36500),
        framework=None if framework is None else framework == "true",
        sort=args.choice("sort", list(SORT_COLUMNS), "reference"),
        descending=args.choice("direction", ("asc", "desc"), "asc") == "desc",
        after=after,
        before=before,
    )


def _visible_contracts():
    """Contracts the token's user may see, with what the JSON shows loaded in batches."""
    return register.visible_contracts(current_user).options(
        selectinload(Contract.options),
        selectinload(Contract.amendments),
        selectinload(Contract.owner),
        selectinload(Contract.manager),
    )


def _get_or_404(model, obj_id: int):
    # Ids are checked here rather than by the route's converter: with two rules on one path
    # (GET and PATCH), a converter's refusal would turn a missing contract into a 405.
    obj = Session.get(model, obj_id) if 1 <= obj_id <= MAX_ID else None
    if obj is None:
        raise ApiError(404)
    return obj


def _contract_or_404(contract_id: int) -> Contract:
    contract = None
    if 1 <= contract_id <= MAX_ID:
        contract = Session.scalar(_visible_contracts().where(Contract.id == contract_id))
    if contract is None:
        raise ApiError(404)
    return contract


def _contract_response(contract: Contract, status: int = 200):
    response = jsonify(contract_json(contract, today()))
    response.status_code = status
    response.headers["ETag"] = f'"{contract.version}"'
    return response


@bp.get("/contracts")
def contract_list():
    args = _Args()
    cq = _contract_query(args)
    limit = _limit(args)
    args.check()
    day = today()
    page = fetch_page(_visible_contracts(), cq, limit, day)
    filters = {k: v for k, v in request.args.items() if k in CONTRACT_FILTERS}
    if limit != DEFAULT_LIMIT:
        filters["limit"] = str(limit)

    def link(**cursor: str | None) -> str | None:
        if not any(cursor.values()):
            return None
        return url_for("api.contract_list", **filters, **cursor, _external=True)

    return jsonify(
        {
            "items": [contract_json(c, day) for c in page.rows],
            "total": page.total,
            "limit": limit,
            "next": link(after=page.next_cursor),
            "previous": link(before=page.prev_cursor),
        }
    )


@bp.get("/contracts/<int:contract_id>")
def contract_detail(contract_id: int):
    return _contract_response(_contract_or_404(contract_id))


def _supplier_from(values: dict[str, forms.FormValue], errors) -> Supplier | None:
    """Turn a body's supplier_id into the form's supplier text, and return the supplier."""
    if "supplier" in values:
        errors.setdefault("supplier_id", []).append(
            _("Give either supplier_id or supplier, not both.")
        )
    raw = values.pop("supplier_id")
    supplier = forms.supplier_by_id(raw)
    if supplier is not None:
        values["supplier"] = supplier_label(supplier)
    else:
        values["supplier"] = ""  # null: the form says the supplier is missing
        if raw:
            errors.setdefault("supplier_id", []).append(
                _("No supplier found. Register the supplier first, or check the number.")
            )
    return supplier


def _contract_form(
    values: dict[str, forms.FormValue],
    errors: dict[str, list[str]],
    contract: Contract | None = None,
    supplier: Supplier | None = None,
) -> forms.ApiContractForm:
    """Run the web's contract form on the values; raise 422 with every error."""
    by_id = "supplier_id" in values
    if by_id:
        supplier = _supplier_from(values, errors)
    form = forms.ApiContractForm(
        formdata=forms.formdata(values),
        meta={"csrf": False},
        units=parties.all_units(),
        categories=parties.all_categories(),
        users=active_users(),
        contract_id=contract.id if contract else None,
        supplier=supplier,
        keep=(contract.owner, contract.manager) if contract else (),
    )
    form.validate()
    for name, messages in form.errors.items():
        key = "supplier_id" if name == "supplier" and by_id else name
        if key not in errors:  # a type error says more than what the form made of it
            errors[key] = [str(m) for m in messages]
    if errors:
        raise _invalid(errors, _("The contract has errors."))
    return form


def _source() -> str:
    """Names the token in the audit trail's summary of API changes."""
    return f"API {g.api_token.prefix}…"


@bp.post("/contracts")
def contract_create():
    _require_editor()
    body = _json_object()
    values, errors = forms.convert(body, forms.CONTRACT_MEMBERS)
    values.setdefault("procedure", "unknown")  # what the new-contract page starts with
    form = _contract_form(values, errors)
    try:
        contract = register.create_contract(form.values(), source=_source())
        Session.commit()
    except (register.ReferenceTakenError, IntegrityError):
        Session.rollback()
        raise _invalid(
            {"reference": [_("Another contract already has this number.")]},
            _("The contract has errors."),
        ) from None
    response = _contract_response(_contract_or_404(contract.id), 201)
    response.headers["Location"] = url_for(
        "api.contract_detail", contract_id=contract.id, _external=True
    )
    return response


def _expected_version(body: dict[str, Any]) -> int:
    """The version the client changed: from the body, else from If-Match; 428 if neither."""
    if "version" in body:
        version = body.pop("version")
        if isinstance(version, int) and not isinstance(version, bool) and version >= 0:
            return version
        raise _invalid({"version": [_("Must be the contract's version number.")]})
    header = request.headers.get("If-Match")
    if header is None:
        raise ApiError(428)
    tag = header.strip().removeprefix("W/").strip('"')
    if not DIGITS.fullmatch(tag):
        raise ApiError(
            400, _('If-Match must hold the contract\'s version, like "3", as its ETag gives it.')
        )
    return int(tag)


def _conflict(contract_id: int) -> ApiError:
    Session.rollback()
    fresh = Session.scalar(
        register.visible_contracts(current_user).where(Contract.id == contract_id)
    )
    return ApiError(
        409,
        _(
            "Someone else saved this contract after the version you changed. "
            "Nothing is saved: fetch the contract and apply your change again."
        ),
        current_version=fresh.version if fresh else None,
    )


@bp.patch("/contracts/<int:contract_id>")
def contract_update(contract_id: int):
    _require_editor()
    contract = _contract_or_404(contract_id)
    body = _json_object()
    expected = _expected_version(body)
    changes, errors = forms.convert(body, forms.CONTRACT_MEMBERS)
    if contract.version != expected and not errors:
        raise _conflict(contract_id)
    values = forms.contract_values(contract)
    supplier = contract.supplier
    if "supplier_id" in changes or "supplier" in changes:
        del values["supplier"]
        supplier = None
    values.update(changes)
    form = _contract_form(values, errors, contract, supplier)
    try:
        register.update_contract(contract, form.values(), expected, source=_source())
        Session.commit()
    except (register.ConflictError, StaleDataError):
        raise _conflict(contract_id) from None
    except (register.ReferenceTakenError, IntegrityError):
        Session.rollback()
        raise _invalid(
            {"reference": [_("Another contract already has this number.")]},
            _("The contract has errors."),
        ) from None
    return _contract_response(_contract_or_404(contract_id))


# --- suppliers, units, categories ----------------------------------------------------


@bp.get("/suppliers")
def supplier_list():
    args = _Args()
    term = args.text("q") or ""
    page = args.integer("page", 1, MAX_PAGE, 1)
    limit = _limit(args)
    args.check()
    suppliers, total = parties.search_suppliers(term, page, limit)
    query = {"q": term} if term else {}
    if limit != DEFAULT_LIMIT:
        query["limit"] = str(limit)

    def link(number: int) -> str:
        return url_for("api.supplier_list", **query, page=number, _external=True)

    has_next = page * limit < total and page < MAX_PAGE
    return jsonify(
        {
            "items": [supplier_json(s) for s in suppliers],
            "total": total,
            "page": page,
            "limit": limit,
            "next": link(page + 1) if has_next else None,
            "previous": link(page - 1) if page > 1 else None,
        }
    )


@bp.get("/suppliers/<int:supplier_id>")
def supplier_detail(supplier_id: int):
    supplier = _get_or_404(Supplier, supplier_id)
    return jsonify(supplier_json(supplier))


@bp.post("/suppliers")
def supplier_create():
    _require_editor()
    values, errors = forms.convert(_json_object(), forms.SUPPLIER_MEMBERS)
    form = SupplierForm(formdata=forms.formdata(values), meta={"csrf": False})
    form.validate()
    for name, messages in form.errors.items():
        errors.setdefault(name, [str(m) for m in messages])
    if errors:
        raise _invalid(errors, _("The supplier has errors."))
    supplier = Supplier()
    try:
        parties.save_supplier(
            supplier,
            **{name: form[name].data for name in forms.SUPPLIER_MEMBERS},
        )
        Session.commit()
    except IntegrityError:  # the same number registered at the same moment
        Session.rollback()
        raise _invalid(
            {"org_number": [_("Another supplier has this organisation number.")]},
            _("The supplier has errors."),
        ) from None
    response = jsonify(supplier_json(supplier))
    response.status_code = 201
    response.headers["Location"] = url_for(
        "api.supplier_detail", supplier_id=supplier.id, _external=True
    )
    return response


@bp.get("/units")
def unit_list():
    units = parties.all_units()
    return jsonify({"items": [unit_json(u) for u in units], "total": len(units)})


@bp.get("/units/<int:unit_id>")
def unit_detail(unit_id: int):
    unit = _get_or_404(Unit, unit_id)
    return jsonify(unit_json(unit))


@bp.get("/categories")
def category_list():
    categories = parties.all_categories()
    return jsonify({"items": [category_json(c) for c in categories], "total": len(categories)})


@bp.get("/categories/<int:category_id>")
def category_detail(category_id: int):
    category = _get_or_404(Category, category_id)
    return jsonify(category_json(category))


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API; public, it holds no data."""
    return jsonify(document())
