"""The "Gains" section on the contract page: two aggregate queries, no plan load."""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.register.models import Contract
from followup.gains import services

TEMPLATE = "followup/gains/_panel.html"


def gains_panel(contract: Contract, today: date) -> tuple[str, dict[str, Any]]:
    """Number of plans, the economic yearly target, and what was estimated and confirmed."""
    return TEMPLATE, {
        "contract": contract,
        "summary": services.contract_summary(contract.id, today),
    }
