"""What the API answers: plain JSON dicts built explicitly from the models.

Amounts are strings with two decimals ("1250000.50", NOK excl. VAT), so no client parses
money as a float; dates are ISO 8601 (YYYY-MM-DD), timestamps ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import url_for

from contracts.auth.models import User
from contracts.parties.models import Category, Supplier, Unit
from contracts.register.models import Amendment, Contract, ContractOption


def amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def person(user: User | None) -> dict[str, Any] | None:
    # Name only, as the contract page shows it.
    return None if user is None else {"id": user.id, "name": user.name}


def unit_json(unit: Unit) -> dict[str, Any]:
    return {
        "id": unit.id,
        "name": unit.name,
        "contact_email": unit.contact_email,
        "links": {"self": url_for("api.unit_detail", unit_id=unit.id, _external=True)},
    }


def category_json(category: Category) -> dict[str, Any]:
    return {
        "id": category.id,
        "name": category.name,
        "cpv_code": category.cpv_code,
        "kind": category.kind.value,
        "links": {"self": url_for("api.category_detail", category_id=category.id, _external=True)},
    }


def supplier_json(supplier: Supplier) -> dict[str, Any]:
    return {
        "id": supplier.id,
        "name": supplier.name,
        "org_number": supplier.org_number,
        "contact_email": supplier.contact_email,
        "contact_phone": supplier.contact_phone,
        "notes": supplier.notes,
        "created_at": timestamp(supplier.created_at),
        "links": {
            "self": url_for("api.supplier_detail", supplier_id=supplier.id, _external=True),
            "html": url_for("parties.supplier_detail", obj_id=supplier.id, _external=True),
        },
    }


def _option_json(option: ContractOption) -> dict[str, Any]:
    return {
        "id": option.id,
        "extension_months": option.extension_months,
        "exercise_deadline": day(option.exercise_deadline),
        "decision": option.decision.value,
        "decided_on": day(option.decided_on),
    }


def _amendment_json(amendment: Amendment) -> dict[str, Any]:
    return {
        "id": amendment.id,
        "amended_on": day(amendment.amended_on),
        "description": amendment.description,
        "value_change": amount(amendment.value_change),
    }


def contract_json(contract: Contract, today: date) -> dict[str, Any]:
    """A contract with its parties, options, amendments and the dates derived from them."""
    supplier = contract.supplier
    next_option = contract.next_option
    return {
        "id": contract.id,
        "reference": contract.reference,
        "title": contract.title,
        "description": contract.description,
        "supplier": {"id": supplier.id, "name": supplier.name, "org_number": supplier.org_number},
        "unit": {"id": contract.unit.id, "name": contract.unit.name},
        "category": {
            "id": contract.category.id,
            "name": contract.category.name,
            "kind": contract.category.kind.value,
        },
        "owner": person(contract.owner),
        "manager": person(contract.manager),
        "procedure": contract.procedure.value,
        "is_framework": contract.is_framework,
        "estimated_value": amount(contract.estimated_value),
        "annual_value": amount(contract.annual_value),
        "signed_on": day(contract.signed_on),
        "start_date": day(contract.start_date),
        "end_date": day(contract.end_date),
        "notice_months": contract.notice_months,
        "price_adjustment_index": contract.price_adjustment_index,
        "price_adjustment_month": contract.price_adjustment_month,
        "has_wage_conditions": contract.has_wage_conditions,
        "is_confidential": contract.is_confidential,
        "notes": contract.notes,
        "terminated_on": day(contract.terminated_on),
        "termination_reason": contract.termination_reason,
        "status": contract.status(today).value,
        "current_end_date": day(contract.current_end_date),
        "max_end_date": day(contract.max_end_date),
        "last_notice_day": day(contract.last_notice_day),
        "next_option_deadline": day(next_option.exercise_deadline if next_option else None),
        "options": [_option_json(o) for o in contract.options],
        "amendments": [_amendment_json(a) for a in contract.amendments],
        "total_amendment_value": amount(contract.total_amendment_value),
        "version": contract.version,
        "created_at": timestamp(contract.created_at),
        "updated_at": timestamp(contract.updated_at),
        "links": {
            "self": url_for("api.contract_detail", contract_id=contract.id, _external=True),
            "html": url_for("register.contract_detail", contract_id=contract.id, _external=True),
        },
    }
