"""The contract page's "Impartiality declarations" and "Red flags" sections."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_login import current_user

from contracts.auth.models import Role
from contracts.integrity import declarations, flags
from contracts.integrity.labels import SEVERITY_COLORS, SEVERITY_LABELS
from contracts.register.models import Contract
from contracts.rules.models import ThresholdKind
from contracts.rules.services import thresholds_on

DECLARATIONS_TEMPLATE = "integrity/_declarations_panel.html"
FLAGS_TEMPLATE = "integrity/_flags_panel.html"


def declarations_panel(contract: Contract, today: date) -> tuple[str, dict[str, Any]]:
    """Who must declare, who has, and whether the contract needs declarations at all."""
    people = declarations.people_for(contract)
    national = (
        thresholds_on(contract.signed_on).get(ThresholdKind.NATIONAL)
        if contract.signed_on
        else None
    )
    return DECLARATIONS_TEMPLATE, {
        "contract": contract,
        "people": people,
        "required": declarations.needs_declarations(contract.estimated_value, national),
        "complete": bool(people) and all(p.is_complete for p in people),
        "mine": next((p for p in people if p.user.id == current_user.id), None),
    }


def flags_panel(contract: Contract, today: date) -> tuple[str, dict[str, Any]] | None:
    """The contract's open red flags, for the office and auditors."""
    if current_user.role not in (Role.ADMIN, Role.PROCUREMENT, Role.AUDITOR):
        return None
    return FLAGS_TEMPLATE, {
        "contract": contract,
        "flags": flags.open_flags_for(contract.id),
        "labels": SEVERITY_LABELS,
        "colors": SEVERITY_COLORS,
    }
