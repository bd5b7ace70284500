"""The monthly gains job: an estimated entry for every ended period of every gain plan
whose method can be computed (pro rata of the target, price difference x volume, hours x
hourly rate), so the owners have something to confirm or correct.

For each plan, every period that has ended by `today` (compute.periods: whole months,
quarters or years clipped to the plan) and has no entry yet gets one: status estimated,
source job, value compute.estimate() in NOK (negative: a loss), or the quantity in the
plan's unit for a qualitative plan measured pro rata. Periods that begin after the
contract was terminated, and plans of deleted contracts, get none. An estimate too large
for the column (only possible with numbers saved before the plan checks) is skipped and
counted.

Idempotent: the entries are inserted with ON CONFLICT DO NOTHING on the unique
(plan_id, period_start), so a second run, or one racing this one, adds nothing. The
number of statements does not grow with the number of plans: the plans are read in one
query, their entries in another, and the new entries and their audit events are written
as multi-row inserts.

Reminding the owners is the reminder job's part (jobs/reminders.py): gains to confirm, and
from the first run of a new year, the year's qualitative gains to document.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite

from contracts.audit import services as audit
from contracts.db import Session, utcnow
from contracts.register.models import Contract
from followup.gains import compute
from followup.gains.models import (
    COMPUTED_METHODS,
    ECONOMIC_TYPES,
    EntrySource,
    EntryStatus,
    GainEntry,
    GainPlan,
)
from followup.gains.services import MAX_AMOUNT

BATCH = 2000


def _computable_plans(today: date) -> Select:
    """The plans the job estimates, as rows the functions of compute can read."""
    return (
        select(
            GainPlan.id,
            GainPlan.contract_id,
            GainPlan.gain_type,
            GainPlan.method,
            GainPlan.entry_period,
            GainPlan.period_start,
            GainPlan.period_end,
            GainPlan.target_per_year,
            GainPlan.baseline_unit_price,
            GainPlan.contract_unit_price,
            GainPlan.annual_volume,
            GainPlan.hours_per_year,
            GainPlan.hourly_rate,
            GainPlan.unit,
            Contract.terminated_on,
        )
        .join(Contract, Contract.id == GainPlan.contract_id)
        .where(
            GainPlan.method.in_(list(COMPUTED_METHODS)),
            GainPlan.period_start < today,
            Contract.deleted_at.is_(None),
        )
        .order_by(GainPlan.id)
    )


def _existing(today: date) -> set[tuple[int, date]]:
    """(plan, period start) of the entries the computable plans have already."""
    plans = select(GainPlan.id).where(
        GainPlan.method.in_(list(COMPUTED_METHODS)), GainPlan.period_start < today
    )
    rows = Session.execute(
        select(GainEntry.plan_id, GainEntry.period_start).where(GainEntry.plan_id.in_(plans))
    )
    return {(plan_id, start) for plan_id, start in rows}


def new_entries(today: date) -> tuple[list[dict[str, Any]], dict[int, int], int]:
    """The rows to insert, each plan's contract, and how many estimates were too large."""
    existing = _existing(today)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    contract_of: dict[int, int] = {}
    too_large = 0
    for plan in Session.execute(_computable_plans(today)):
        if compute.yearly_gain(plan) is None:
            continue
        contract_of[plan.id] = plan.contract_id
        economic = plan.gain_type in ECONOMIC_TYPES
        for start, end in compute.periods(plan, today):
            if (plan.id, start) in existing:
                continue
            if plan.terminated_on is not None and start > plan.terminated_on:
                break
            estimate = compute.estimate(plan, start, end)
            if estimate is None or abs(estimate) > MAX_AMOUNT:
                too_large += 1
                continue
            rows.append(
                {
                    "plan_id": plan.id,
                    "period_kind": plan.entry_period,
                    "period_start": start,
                    "period_end": end,
                    "value": estimate if economic else None,
                    "quantity": None if economic else estimate,
                    "unit": None if economic else plan.unit,
                    "status": EntryStatus.ESTIMATED,
                    "source": EntrySource.JOB,
                    "evidence": None,
                    "notes": None,
                    "correction_reason": None,
                    "recorded_by_id": None,
                    "recorded_at": now,
                    "confirmed_by_id": None,
                    "confirmed_at": None,
                }
            )
    return rows, contract_of, too_large


def _insert(rows: list[dict[str, Any]]) -> list[Any]:
    """Insert the rows a batch at a time, skipping periods someone filled meanwhile; the
    (id, plan, period start) of those inserted."""
    dialect = Session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = GainEntry.__table__
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["plan_id", "period_start"])
        .returning(table.c.id, table.c.plan_id, table.c.period_start)
    )
    inserted = []
    for first in range(0, len(rows), BATCH):
        inserted.extend(Session.execute(statement, rows[first : first + BATCH]).all())
    return inserted


def estimate_entries(today: date) -> dict[str, Any]:
    """Insert and audit the estimated entries due by today (flushes, never commits)."""
    rows, contract_of, too_large = new_entries(today)
    inserted = _insert(rows) if rows else []
    if inserted:
        by_key = {(row["plan_id"], row["period_start"]): row for row in rows}
        keys = audit.audited_keys(GainEntry)
        chain = audit.ChainAppender()
        for entry_id, plan_id, start in inserted:
            row = by_key[(plan_id, start)] | {"id": entry_id}
            chain.add(
                "create",
                "gain_entries",
                entry_id,
                contract_id=contract_of[plan_id],
                after=audit.snapshot_values(keys, row),
                summary=f"{start:%d.%m.%Y}–{row['period_end']:%d.%m.%Y}: estimert",
            )
        chain.flush()
    return {
        "plans": len(contract_of),
        "created": len(inserted),
        "skipped_too_large": too_large,
    }


def run(today: date) -> dict[str, Any]:
    """The job: estimate the gains of the periods that have ended (commits)."""
    result = estimate_entries(today)
    Session.commit()
    return result
