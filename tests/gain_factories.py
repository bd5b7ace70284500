"""Factory functions for gain plans and entries, through followup.gains.services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from contracts.auth.models import User
from contracts.register.models import Contract
from followup.gains import services
from followup.gains.models import GainEntry, GainMethod, GainPlan, GainType, PeriodKind
from tests.conftest import TODAY


def plan_values(**overrides: Any) -> dict[str, Any]:
    """A price-difference plan of 2026 by month: (120 - 100) x 12 000 = 240 000 NOK a year."""
    values: dict[str, Any] = {
        "gain_type": GainType.LOWER_PRICE,
        "description": "Lavere pris på kopipapir",
        "baseline_value": Decimal("1440000"),
        "baseline_date": date(2025, 12, 31),
        "baseline_source": "Fakturaer 2025",
        "target_per_year": Decimal("240000"),
        "method": GainMethod.PRICE_DIFFERENCE,
        "baseline_unit_price": Decimal("120"),
        "contract_unit_price": Decimal("100"),
        "annual_volume": Decimal("12000"),
        "entry_period": PeriodKind.MONTH,
        "period_start": date(2026, 1, 1),
        "period_end": date(2026, 12, 31),
    }
    values.update(overrides)
    return values


def make_gain_plan(contract: Contract, user: User | None = None, **overrides: Any) -> GainPlan:
    return services.create_plan(contract, plan_values(**overrides), user)


def qualitative_values(**overrides: Any) -> dict[str, Any]:
    """Fewer tonnes of CO₂, recorded by hand per quarter."""
    values = plan_values(
        gain_type=GainType.ENVIRONMENT,
        description="Mindre utslipp fra transport",
        baseline_value=Decimal("40"),
        target_per_year=Decimal("8"),
        unit="tonn CO₂",
        method=GainMethod.MANUAL,
        baseline_unit_price=None,
        contract_unit_price=None,
        annual_volume=None,
        entry_period=PeriodKind.QUARTER,
    )
    values.update(overrides)
    return values


def make_entry(plan: GainPlan, user: User, **overrides: Any) -> GainEntry:
    values: dict[str, Any] = {
        "period_start": date(2026, 1, 1),
        "period_end": date(2026, 1, 31),
        "value": Decimal("20000"),
    }
    values.update(overrides)
    confirm = values.pop("confirm", False)
    return services.record_entry(plan, values, user, TODAY, confirm=confirm)
