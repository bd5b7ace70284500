"""The OpenAPI 3.1 document of /api/v1, built here next to the code it describes.

Schemas are JSON Schema 2020-12 (as OpenAPI 3.1 uses it); the tests validate the document
and check every response the API gives against it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.api.forms import CONTRACT_MEMBERS, MAX_ID, Kind
from contracts.fields import MAX_AMOUNT
from contracts.parties.models import CategoryKind
from contracts.register.models import ContractStatus, OptionDecision
from contracts.register.search import SORT_COLUMNS
from contracts.rules.models import Procedure

PREFIX = "/api/v1"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Any], required: list[str] | None = None, **extra: Any):
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        **extra,
    }


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
DATE = {"type": "string", "format": "date"}
TIMESTAMP = {"type": "string", "format": "date-time"}
AMOUNT_OUT = {
    "type": "string",
    "pattern": r"^-?[0-9]+\.[0-9]{2}$",
    "description": "NOK excluding VAT, as a decimal string with two decimals.",
}
URL = {"type": "string", "format": "uri"}
TEXT = {"type": "string"}
NULLABLE_TEXT = _nullable(TEXT)
# Text that must hold more than white space (the forms' DataRequired).
FILLED = r"\S"


def _links(*names: str) -> dict[str, Any]:
    return _object({name: URL for name in names})


def _reference_to(*extra: str) -> dict[str, Any]:
    properties = {"id": ID, "name": TEXT}
    for name in extra:
        properties[name] = {
            "org_number": _nullable({"type": "string", "pattern": "^[0-9]{9}$"}),
            "kind": {"type": "string", "enum": [k.value for k in CategoryKind]},
        }[name]
    return _object(properties)


def _schemas() -> dict[str, Any]:
    option = _object(
        {
            "id": ID,
            "extension_months": {"type": "integer", "minimum": 1},
            "exercise_deadline": DATE,
            "decision": {"type": "string", "enum": [d.value for d in OptionDecision]},
            "decided_on": _nullable(DATE),
        }
    )
    amendment = _object(
        {
            "id": ID,
            "amended_on": DATE,
            "description": TEXT,
            "value_change": _nullable(AMOUNT_OUT),
        }
    )
    contract = _object(
        {
            "id": ID,
            "reference": TEXT,
            "title": TEXT,
            "description": NULLABLE_TEXT,
            "supplier": _reference_to("org_number"),
            "unit": _reference_to(),
            "category": _reference_to("kind"),
            "owner": _nullable(_reference_to()),
            "manager": _nullable(_reference_to()),
            "procedure": {"type": "string", "enum": [p.value for p in Procedure]},
            "is_framework": {"type": "boolean"},
            "estimated_value": _nullable(AMOUNT_OUT),
            "annual_value": _nullable(AMOUNT_OUT),
            "signed_on": _nullable(DATE),
            "start_date": DATE,
            "end_date": _nullable(DATE),
            "notice_months": _nullable({"type": "integer", "minimum": 0}),
            "price_adjustment_index": NULLABLE_TEXT,
            "price_adjustment_month": _nullable({"type": "integer", "minimum": 1, "maximum": 12}),
            "has_wage_conditions": {"type": "boolean"},
            "is_confidential": {"type": "boolean"},
            "notes": NULLABLE_TEXT,
            "terminated_on": _nullable(DATE),
            "termination_reason": NULLABLE_TEXT,
            "status": {
                "type": "string",
                "enum": [s.value for s in ContractStatus],
                "description": "Derived from the dates on the day of the request.",
            },
            "current_end_date": _nullable(DATE),
            "max_end_date": _nullable(DATE),
            "last_notice_day": _nullable(DATE),
            "next_option_deadline": _nullable(DATE),
            "options": {"type": "array", "items": _ref("Option")},
            "amendments": {"type": "array", "items": _ref("Amendment")},
            "total_amendment_value": AMOUNT_OUT,
            "version": {
                "type": "integer",
                "minimum": 1,
                "description": "Goes up with every change; send it back with PATCH.",
            },
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
            "links": _links("self", "html"),
        },
        description=(
            "A contract. Dates are ISO 8601 (YYYY-MM-DD); amounts are decimal strings in "
            "NOK excluding VAT. current_end_date is the end date plus exercised options, "
            "max_end_date the end date plus every option not declined, last_notice_day the "
            "last day to give notice so the contract ends on current_end_date."
        ),
    )
    supplier = _object(
        {
            "id": ID,
            "name": TEXT,
            "org_number": _nullable({"type": "string", "pattern": "^[0-9]{9}$"}),
            "contact_email": NULLABLE_TEXT,
            "contact_phone": NULLABLE_TEXT,
            "notes": NULLABLE_TEXT,
            "created_at": TIMESTAMP,
            "links": _links("self", "html"),
        }
    )
    unit = _object(
        {"id": ID, "name": TEXT, "contact_email": NULLABLE_TEXT, "links": _links("self")}
    )
    category = _object(
        {
            "id": ID,
            "name": TEXT,
            "cpv_code": NULLABLE_TEXT,
            "kind": {"type": "string", "enum": [k.value for k in CategoryKind]},
            "links": _links("self"),
        }
    )
    error = _object(
        {
            "error": _object(
                {
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "code": {
                        "type": "string",
                        "description": "The HTTP status as a word, e.g. unprocessable_entity.",
                    },
                    "message": {"type": "string", "description": "In the user's language."},
                    "fields": {
                        "type": "object",
                        "description": "Per member of the body or query string: its errors.",
                        "additionalProperties": {"type": "array", "items": TEXT},
                    },
                    "current_version": {
                        "anyOf": [{"type": "integer"}, {"type": "null"}],
                        "description": "409 only: the contract's version now.",
                    },
                },
                required=["status", "code", "message"],
            )
        }
    )

    def page_of(item: str, **extra: Any) -> dict[str, Any]:
        return _object(
            {
                "items": {"type": "array", "items": _ref(item)},
                "total": {"type": "integer", "minimum": 0},
                **extra,
            }
        )

    cursor_links = {
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        "next": _nullable(URL),
        "previous": _nullable(URL),
    }
    return {
        "Contract": contract,
        "Option": option,
        "Amendment": amendment,
        "ContractPage": page_of("Contract", **cursor_links),
        "ContractCreate": _contract_input(create=True),
        "ContractPatch": _contract_input(create=False),
        "Supplier": supplier,
        "SupplierPage": page_of("Supplier", page={"type": "integer", "minimum": 1}, **cursor_links),
        "SupplierCreate": _object(
            {
                "name": {"type": "string", "maxLength": 200, "pattern": FILLED},
                "org_number": _nullable(
                    {
                        "type": "string",
                        "maxLength": 20,
                        "description": "Nine digits with a valid MOD11 check; spaces allowed.",
                    }
                ),
                "contact_email": _nullable({"type": "string", "maxLength": 254}),
                "contact_phone": _nullable({"type": "string", "maxLength": 40}),
                "notes": _nullable({"type": "string", "maxLength": 5000}),
            },
            required=["name"],
        ),
        "Unit": unit,
        "UnitList": page_of("Unit"),
        "Category": category,
        "CategoryList": page_of("Category"),
        "Error": error,
    }


# The schema of each kind of input member (see forms.CONTRACT_MEMBERS).
_INPUT_TYPES: dict[Kind, dict[str, Any]] = {
    Kind.TEXT: NULLABLE_TEXT,
    Kind.ID: _nullable(ID),
    Kind.INTEGER: _nullable({"type": "integer"}),
    Kind.BOOL: {"type": "boolean"},
    Kind.AMOUNT: {
        "anyOf": [
            {"type": "number", "minimum": 0, "maximum": float(MAX_AMOUNT)},
            {
                "type": "string",
                "description": 'As the form takes it: "1 250 000,50", "1250000.50".',
            },
            {"type": "null"},
        ]
    },
    Kind.DATE: _nullable(
        {"type": "string", "format": "date", "description": "1900-01-01 to 2200-12-31."}
    ),
}
# Members whose schema says more than their kind.
_INPUT_DETAILS: dict[str, dict[str, Any]] = {
    "reference": {"type": "string", "maxLength": 60, "pattern": FILLED},
    "title": {"type": "string", "maxLength": 300, "pattern": FILLED},
    "description": _nullable({"type": "string", "maxLength": 10000}),
    "supplier": {
        "type": "string",
        "maxLength": 250,
        "pattern": FILLED,
        "description": 'Organisation number, "Name (123456789)" or the exact name.',
    },
    "supplier_id": {**ID, "description": "The supplier's id; instead of supplier."},
    "category_id": ID,
    "unit_id": ID,
    "procedure": {"type": "string", "enum": [p.value for p in Procedure]},
    "start_date": {"type": "string", "format": "date"},
    "notice_months": _nullable({"type": "integer", "minimum": 0, "maximum": 120}),
    "price_adjustment_index": _nullable({"type": "string", "maxLength": 120}),
    "price_adjustment_month": _nullable({"type": "integer", "minimum": 1, "maximum": 12}),
    "notes": _nullable({"type": "string", "maxLength": 10000}),
}


def _contract_input(create: bool) -> dict[str, Any]:
    properties = {
        name: _INPUT_DETAILS.get(name, _INPUT_TYPES[kind])
        for name, kind in CONTRACT_MEMBERS.items()
    }
    one_supplier = {"not": {"required": ["supplier", "supplier_id"]}}
    if create:
        return _object(
            properties,
            required=["reference", "title", "category_id", "unit_id", "start_date"],
            allOf=[
                one_supplier,
                {"anyOf": [{"required": ["supplier_id"]}, {"required": ["supplier"]}]},
            ],
            description=(
                "A new contract, validated exactly like the registration form. "
                "procedure defaults to unknown; checkboxes left out are false."
            ),
        )
    properties["version"] = {
        "type": "integer",
        "minimum": 0,
        "description": "The version that was changed (or send it as If-Match).",
    }
    return _object(
        properties,
        required=[],
        allOf=[one_supplier],
        description=(
            "The members to change; the others keep their values. Validated like the edit "
            "form, on the whole contract after the change."
        ),
    )


# --- operations ----------------------------------------------------------------------

_ERROR_TEXT = {
    400: "The request could not be read (bad JSON, a NUL byte, a bad If-Match).",
    401: "No token, or a token that is unknown, revoked or of a deactivated user.",
    403: "The token's user may not do this (only administrators and procurement officers "
    "change the register).",
    404: "Not found, or not visible to the token's user.",
    405: "Method not allowed.",
    409: "The contract changed after the version sent.",
    413: "The body is too large.",
    415: "The body is not JSON (Content-Type: application/json).",
    422: "Invalid input: `fields` names each member of the body or query with its errors.",
    428: "PATCH without a version (in the body or as If-Match).",
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _responses(ok: dict[str, Any], *errors: int) -> dict[str, Any]:
    responses = dict(ok)
    # Every operation may meet a bad request, a missing token, a wrong method and unknown
    # query parameters (422).
    for code in sorted({400, 401, 405, 422, *errors}):
        responses[str(code)] = {"$ref": f"#/components/responses/E{code}"}
    return responses


def _ok(
    schema: str, status: int = 200, description: str = "OK", headers: dict | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": _json(_ref(schema))}
    if headers:
        response["headers"] = headers
    return {str(status): response}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID}


LIMIT = _query(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    "Items per page.",
)
ETAG = {
    "ETag": {
        "description": 'The contract\'s version in quotes, like "3": send it back as If-Match.',
        "schema": {"type": "string"},
        "required": True,
    }
}
CHALLENGE = {
    "WWW-Authenticate": {
        "description": 'Bearer, with error="invalid_token" when a token was sent.',
        "schema": {"type": "string"},
        "required": True,
    }
}
LOCATION = {"Location": {"description": "The new resource.", "schema": URL, "required": True}}


def _contract_parameters() -> list[dict[str, Any]]:
    return [
        _query(
            "q",
            {"type": "string", "maxLength": 200},
            "Free text: contract number, title, supplier name or organisation number; every "
            "word must match (as on the contract list page).",
        ),
        _query(
            "status", {"type": "string", "enum": [s.value for s in ContractStatus]}, "Status today."
        ),
        _query("unit", ID, "Unit id."),
        _query("category", ID, "Category id."),
        _query("owner", ID, "Contract owner's user id."),
        _query(
            "expires_within",
            {"type": "integer", "minimum": 0, "maximum": 36500},
            "Current end date from today to this many days ahead.",
        ),
        _query("framework", {"type": "boolean"}, "Framework agreements only, or none."),
        _query(
            "sort",
            {"type": "string", "enum": list(SORT_COLUMNS), "default": "reference"},
            "Sort key; open-ended contracts sort after every end date, unknown values last.",
        ),
        _query(
            "direction",
            {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
            "Sort direction.",
        ),
        _query("after", TEXT, "Cursor from a `next` link."),
        _query("before", TEXT, "Cursor from a `previous` link."),
        LIMIT,
    ]


def _paths() -> dict[str, Any]:
    contract_body = {
        "required": True,
        "content": _json(_ref("ContractCreate")),
    }
    return {
        f"{PREFIX}/contracts": {
            "get": {
                "operationId": "listContracts",
                "summary": "Contracts visible to the token's user, filtered and sorted",
                "description": (
                    "Keyset pagination: follow `next` and `previous` (null at the ends). "
                    "Confidential contracts appear only for those who may see them."
                ),
                "parameters": _contract_parameters(),
                "responses": _responses(_ok("ContractPage"), 422),
            },
            "post": {
                "operationId": "createContract",
                "summary": "Register a contract (administrators and procurement officers)",
                "requestBody": contract_body,
                "responses": _responses(
                    _ok("Contract", 201, "Created", {**ETAG, **LOCATION}),
                    403,
                    413,
                    415,
                    422,
                ),
            },
        },
        f"{PREFIX}/contracts/{{contract_id}}": {
            "parameters": [_path_id("contract_id")],
            "get": {
                "operationId": "getContract",
                "summary": "One contract",
                "responses": _responses(_ok("Contract", headers=ETAG), 404),
            },
            "patch": {
                "operationId": "updateContract",
                "summary": "Change some members of a contract",
                "description": (
                    "Send the version you changed, as `version` in the body or as an "
                    "If-Match header with the ETag. A stale version gives 409 and changes "
                    "nothing; no version gives 428."
                ),
                "parameters": [
                    {
                        "name": "If-Match",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": 'The ETag of the version changed, like "3".',
                    }
                ],
                "requestBody": {"required": True, "content": _json(_ref("ContractPatch"))},
                "responses": _responses(
                    _ok("Contract", headers=ETAG), 403, 404, 409, 413, 415, 422, 428
                ),
            },
        },
        f"{PREFIX}/suppliers": {
            "get": {
                "operationId": "listSuppliers",
                "summary": "Suppliers by name, a page at a time",
                "parameters": [
                    _query(
                        "q",
                        {"type": "string", "maxLength": 200},
                        "Part of the name or organisation number.",
                    ),
                    _query(
                        "page",
                        {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1},
                        "Page number.",
                    ),
                    LIMIT,
                ],
                "responses": _responses(_ok("SupplierPage"), 422),
            },
            "post": {
                "operationId": "createSupplier",
                "summary": "Register a supplier (administrators and procurement officers)",
                "requestBody": {"required": True, "content": _json(_ref("SupplierCreate"))},
                "responses": _responses(
                    _ok("Supplier", 201, "Created", LOCATION), 403, 413, 415, 422
                ),
            },
        },
        f"{PREFIX}/suppliers/{{supplier_id}}": {
            "parameters": [_path_id("supplier_id")],
            "get": {
                "operationId": "getSupplier",
                "summary": "One supplier",
                "responses": _responses(_ok("Supplier"), 404),
            },
        },
        f"{PREFIX}/units": {
            "get": {
                "operationId": "listUnits",
                "summary": "Every unit",
                "responses": _responses(_ok("UnitList")),
            }
        },
        f"{PREFIX}/units/{{unit_id}}": {
            "parameters": [_path_id("unit_id")],
            "get": {
                "operationId": "getUnit",
                "summary": "One unit",
                "responses": _responses(_ok("Unit"), 404),
            },
        },
        f"{PREFIX}/categories": {
            "get": {
                "operationId": "listCategories",
                "summary": "Every procurement category",
                "responses": _responses(_ok("CategoryList")),
            }
        },
        f"{PREFIX}/categories/{{category_id}}": {
            "parameters": [_path_id("category_id")],
            "get": {
                "operationId": "getCategory",
                "summary": "One category",
                "responses": _responses(_ok("Category"), 404),
            },
        },
        f"{PREFIX}/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document (no token needed)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "400": {"$ref": "#/components/responses/E400"},
                    "405": {"$ref": "#/components/responses/E405"},
                },
            }
        },
    }


# Packages that build on the register (contracts <- followup) serve endpoints of their own
# under /api/v1 with the API's bearer authentication and JSON errors, and describe them here:
# each function returns (paths, schemas) to merge into the document. Error responses can
# point at "#/components/responses/E<status>".
Extension = Callable[[], tuple[dict[str, Any], dict[str, Any]]]
_extensions: list[Extension] = []


def add_paths(describe: Extension) -> None:
    """Merge describe()'s paths and schemas into the document (adding it again is harmless)."""
    if describe not in _extensions:
        _extensions.append(describe)


def _with_extensions(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    for describe in _extensions:
        more_paths, more_schemas = describe()
        for target, more in ((paths, more_paths), (schemas, more_schemas)):
            taken = set(target) & set(more)
            if taken:
                raise ValueError(f"the OpenAPI document already describes {sorted(taken)}")
            target.update(more)


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API."""
    paths, schemas = _paths(), _schemas()
    _with_extensions(paths, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kontraktsregister API",
            "version": "1.0.0",
            "description": (
                "The contract register as JSON. Create a token on /profile and send it as "
                "`Authorization: Bearer <token>`; it acts with its user's role and sees what "
                "the user sees. Errors are JSON: "
                '`{"error": {"status", "code", "message", "fields"}}`, with messages in the '
                "user's language (bokmål unless the user chose English)."
            ),
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from the profile page (kr_...).",
                }
            },
            "schemas": schemas,
            "responses": {
                f"E{code}": {
                    "description": text,
                    "content": _json(_ref("Error")),
                    **({"headers": CHALLENGE} if code == 401 else {}),
                }
                for code, text in _ERROR_TEXT.items()
            },
        },
    }
