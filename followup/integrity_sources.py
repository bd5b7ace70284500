"""Evidence that a contract is used after its latest possible end, for the red flag
"used after expiry" (contracts/integrity/flag_rules.py): the register cannot import the
follow-up package, so followup.hooks adds these to contracts.integrity.flags."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, func, select

from contracts.register.models import Contract
from followup.gains.models import GainEntry, GainPlan
from followup.models import Activity, ActivityStatus


def activities_done(today: date) -> Select:
    """Per expired contract, when its latest follow-up activity was done (a timestamp)."""
    return (
        select(Activity.contract_id, func.max(Activity.completed_at))
        .join(Contract, Contract.id == Activity.contract_id)
        .where(Contract.max_end_date < today, Activity.status == ActivityStatus.DONE)
        .group_by(Activity.contract_id)
    )


def gain_entries(today: date) -> Select:
    """Per expired contract, the start of its latest gain period that began after its end."""
    return (
        select(GainPlan.contract_id, func.max(GainEntry.period_start))
        .join(GainEntry, GainEntry.plan_id == GainPlan.id)
        .join(Contract, Contract.id == GainPlan.contract_id)
        .where(Contract.max_end_date < today, GainEntry.period_start > Contract.max_end_date)
        .group_by(GainPlan.contract_id)
    )
