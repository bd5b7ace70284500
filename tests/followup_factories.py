"""Factory functions for plans, activities and deviations, through followup.services."""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.auth.models import User
from contracts.clock import today
from contracts.register.models import Contract
from followup import services
from followup.models import Deviation, FollowUpPlan, Severity
from tests import factories


def make_plan(contract: Contract, user: User | None = None) -> FollowUpPlan:
    """The contract's plan from the default template, due from (the tests') today."""
    return services.build_plan(contract, services.default_template(), today(), user)


def make_deviation(contract: Contract, user: User, **values: Any) -> Deviation:
    fields = {
        "occurred_on": date(2026, 2, 1),
        "description": "Renholdet ble ikke utført på fredag",
        "severity": Severity.MEDIUM,
        **values,
    }
    return services.record_deviation(contract, fields, user)


def world_objects(owner: User) -> tuple[int, int]:
    """An activity and a deviation on a contract of `owner`, for the access matrix: the users
    in the matrix are neither responsible for them nor own the contract."""
    contract = factories.make_contract(owner_id=owner.id)
    plan = make_plan(contract)
    return plan.activities[0].id, make_deviation(contract, owner).id


def default_template_id() -> str:
    return str(services.default_template().id)
