"""GET /api/v1/gains/report: the gains report's figures as JSON, the same as the page's.

The register's API (contracts/api) cannot import follow-up, so this is a blueprint of its
own under /api/v1 that reuses the API's pieces: its bearer-token authentication (the same
before_request function: the session cookie counts for nothing), its JSON errors, and its
OpenAPI document, which describes this endpoint through contracts.api.openapi.add_paths.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from contracts.api.errors import ApiError
from contracts.api.openapi import AMOUNT_OUT, ID, PREFIX, URL
from contracts.api.views import api_error, authenticate
from contracts.clock import today
from contracts.extensions import csrf
from followup.gains import reports
from followup.gains.labels import GAIN_TYPE_LABELS
from followup.gains.models import GainType
from followup.gains.reports import Figures, Report

bp = Blueprint("gains_api", __name__, url_prefix=f"{PREFIX}/gains")
csrf.exempt(bp)
# The API's own authentication first, so a request without a token is 401 before anything.
bp.before_request(authenticate)
bp.register_error_handler(HTTPException, api_error)

PARAMETERS = {"gains_api.report": reports.FILTER_PARAMETERS}


@bp.before_request
def refuse_unknown_parameters():
    """A misspelt filter would silently widen the report: name it instead."""
    unknown = sorted(set(request.args) - set(PARAMETERS.get(request.endpoint or "", ())))
    if unknown:
        raise ApiError(
            422,
            _("The request has errors."),
            fields={name: [_("Unknown parameter.")] for name in unknown},
        )


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _figures(figures: Figures) -> dict[str, str]:
    return {
        "target": _amount(figures.target),
        "estimated": _amount(figures.estimated),
        "confirmed": _amount(figures.confirmed),
    }


def report_json(report: Report) -> dict[str, Any]:
    """The report as the API answers it (amounts as strings with two decimals)."""
    flt = report.filter
    return {
        "year": flt.year,
        "group": flt.group,
        "filters": {
            "unit": flt.unit_id,
            "category": flt.category_id,
            "type": flt.gain_type.value if flt.gain_type else None,
        },
        "currency": "NOK",
        "groups": [
            {
                "key": row.key.value if isinstance(row.key, GainType) else row.key,
                "name": row.label,
                **_figures(row.figures),
            }
            for row in report.groups
        ],
        "total": _figures(report.total),
        "qualitative": [
            {
                "type": row.gain_type.value,
                "name": str(GAIN_TYPE_LABELS[row.gain_type]),
                "unit": row.measure,
                **_figures(row.figures),
            }
            for row in report.qualitative
        ],
        "links": {
            "self": url_for("gains_api.report", **flt.args(), _external=True),
            "html": url_for("followup.gains_report", **flt.args(), _external=True),
        },
    }


@bp.get("/report")
def report():
    flt, errors = reports.parse_filter(request.args, today(), blank_is_none=False)
    if errors:
        raise ApiError(422, _("The request has errors."), fields=errors)
    return jsonify(report_json(reports.gains_report(current_user, flt)))


# --- the OpenAPI description ---------------------------------------------------------


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        **extra,
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


SIGNED_AMOUNT = {
    **AMOUNT_OUT,
    "description": "A decimal string with two decimals: NOK excluding VAT for economic "
    "gains, a quantity in `unit` for qualitative ones. Negative for a loss.",
}
FIGURES = {"target": SIGNED_AMOUNT, "estimated": SIGNED_AMOUNT, "confirmed": SIGNED_AMOUNT}
GAIN_TYPES = [t.value for t in GainType]


def openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """The endpoint's path and schemas, for contracts.api.openapi.add_paths."""
    schemas = {
        "GainFigures": _object(FIGURES),
        "GainsReport": _object(
            {
                "year": {
                    "type": "integer",
                    "minimum": reports.MIN_YEAR,
                    "maximum": reports.MAX_YEAR,
                },
                "group": {"type": "string", "enum": list(reports.GROUPS)},
                "filters": _object(
                    {
                        "unit": {"anyOf": [ID, {"type": "null"}]},
                        "category": {"anyOf": [ID, {"type": "null"}]},
                        "type": {
                            "anyOf": [{"type": "string", "enum": GAIN_TYPES}, {"type": "null"}]
                        },
                    }
                ),
                "currency": {"const": "NOK"},
                "groups": {
                    "type": "array",
                    "items": _object(
                        {
                            "key": {
                                "anyOf": [ID, {"type": "string", "enum": GAIN_TYPES}],
                                "description": "The unit's or category's id, or the gain type.",
                            },
                            "name": {"type": "string", "description": "In the user's language."},
                            **FIGURES,
                        }
                    ),
                    "description": "Economic gains (NOK) per group, ordered by name.",
                },
                "total": {"$ref": "#/components/schemas/GainFigures"},
                "qualitative": {
                    "type": "array",
                    "items": _object(
                        {
                            "type": {"type": "string", "enum": GAIN_TYPES},
                            "name": {"type": "string"},
                            "unit": {"type": "string", "description": "The unit of measure."},
                            **FIGURES,
                        }
                    ),
                    "description": "Qualitative gains per gain type and unit of measure.",
                },
                "links": _object({"self": URL, "html": URL}),
            },
            description=(
                "The gains report for one year, counting only the contracts the token's user "
                "may see. target: each plan's target per year times the share of the year its "
                "period covers. estimated and confirmed: the sums of the recorded gains with "
                "that status whose period starts in the year (losses are negative)."
            ),
        ),
    }
    errors = {
        str(code): {"$ref": f"#/components/responses/E{code}"} for code in (400, 401, 405, 422)
    }
    paths = {
        f"{PREFIX}/gains/report": {
            "get": {
                "operationId": "getGainsReport",
                "summary": "Target, estimated and confirmed gains of a year, by group",
                "description": "The same figures as the report page /gains/report.",
                "parameters": [
                    _query(
                        "year",
                        {
                            "type": "integer",
                            "minimum": reports.MIN_YEAR,
                            "maximum": reports.MAX_YEAR,
                        },
                        "The year; this year when left out.",
                    ),
                    _query(
                        "group",
                        {"type": "string", "enum": list(reports.GROUPS), "default": "unit"},
                        "Group the economic gains by unit, category or gain type.",
                    ),
                    _query("unit", ID, "Only contracts of this unit (id)."),
                    _query("category", ID, "Only contracts in this category (id)."),
                    _query("type", {"type": "string", "enum": GAIN_TYPES}, "Only this gain type."),
                ],
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/GainsReport"}
                            }
                        },
                    },
                    **errors,
                },
            }
        }
    }
    return paths, schemas
