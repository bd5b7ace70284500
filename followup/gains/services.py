"""Gain plans and realised gains: record, change, delete and confirm them.

Services check, flush and audit; views commit once. Every event carries the contract's id,
so it shows in the contract's change history.

Who may do what (the views ask the may_* functions; the services check confirming too):

- read: whoever may see the contract (the register's visibility rules);
- record and change plans and entries: the procurement office and administrators, and the
  contract's owner and manager; entries also the plan's responsible person;
- delete a plan with its entries: the procurement office and administrators;
- confirm an entry (as it is, or corrected): the contract's owner, and the procurement
  office and administrators; the owner answers for the gains, so a manager cannot;
- auditors only read, even when a contract names them.

Limits on numbers (refused with a message that says why):

- NOK amounts and quantities have at most two decimals and at most 999 999 999 999.99
  (the columns); unit prices at most four decimals and 9 999 999 999.9999; hours and
  hourly rates at most 99 999 999.99. Prices, volumes, hours, rates, baselines and
  targets cannot be negative; a realised value or quantity can (a loss).
- An amount in NOK (a yearly target, the yearly gain the method computes, a realised
  value) above PLAUSIBLE_FACTOR (100) times the contract's estimated total value is
  refused as a typing error. Contracts without an estimated value only have the column
  limit.
- A plan covers at most MAX_PLAN_YEARS (20) years. Entries are for whole months, quarters
  or years (the plan's entry period, clipped to the plan's own dates), so two entries of
  a plan never overlap, and one entry per period (the unique key); periods that have not
  started cannot have an entry yet.
- A confirmed entry is changed only with a correction reason. Changed by someone who may
  not confirm, it goes back to estimated for the owner to confirm again.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload, selectinload

from contracts.audit import services as audit
from contracts.auth.models import Role, User
from contracts.db import Session, utcnow
from contracts.register.models import Contract
from followup.gains import compute
from followup.gains.models import (
    ECONOMIC_TYPES,
    EntrySource,
    EntryStatus,
    GainEntry,
    GainMethod,
    GainPlan,
    GainType,
    PeriodKind,
)

MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
MAX_UNIT_PRICE = Decimal("9999999999.9999")  # Numeric(14, 4)
MAX_HOURS = Decimal("99999999.99")  # Numeric(10, 2)
PLAUSIBLE_FACTOR = 100
MAX_PLAN_YEARS = 20

# The attributes a plan form may set; anything else is ignored.
PLAN_FIELDS = (
    "gain_type",
    "description",
    "baseline_value",
    "baseline_date",
    "baseline_source",
    "baseline_description",
    "target_per_year",
    "unit",
    "method",
    "measurement",
    "baseline_unit_price",
    "contract_unit_price",
    "annual_volume",
    "hours_per_year",
    "hourly_rate",
    "entry_period",
    "period_start",
    "period_end",
    "responsible_id",
)
# The attributes an entry form may set.
ENTRY_FIELDS = ("period_start", "period_end", "value", "quantity", "unit", "evidence", "notes")
# Plan numbers: (places, largest value); none of them may be negative.
PLAN_NUMBERS = {
    "baseline_value": (2, MAX_AMOUNT),
    "target_per_year": (2, MAX_AMOUNT),
    "baseline_unit_price": (4, MAX_UNIT_PRICE),
    "contract_unit_price": (4, MAX_UNIT_PRICE),
    "annual_volume": (2, MAX_AMOUNT),
    "hours_per_year": (2, MAX_HOURS),
    "hourly_rate": (2, MAX_HOURS),
}
# Numbers the job can compute the gain from, by method.
METHOD_NUMBERS = {
    GainMethod.PRO_RATA: ("target_per_year",),
    GainMethod.PRICE_DIFFERENCE: ("baseline_unit_price", "contract_unit_price", "annual_volume"),
    GainMethod.HOURS: ("hours_per_year", "hourly_rate"),
    GainMethod.MANUAL: (),
}


class GainError(ValueError):
    """Values that cannot be saved: field name -> message ("" for the form as a whole)."""

    def __init__(self, errors: Mapping[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class NotAllowed(PermissionError):
    """The user may not do this to this contract's gains."""


# --- who may do what ----------------------------------------------------------------------


def may_record(contract: Contract, user: User) -> bool:
    """Plans and entries: editors and the contract's owner and manager; never auditors."""
    if user.role == Role.AUDITOR:
        return False
    return user.can_edit or user.id in {contract.owner_id, contract.manager_id}


def may_record_entries(plan: GainPlan, user: User) -> bool:
    """Entries: whoever may record plans, and the plan's responsible person."""
    if user.role == Role.AUDITOR:
        return False
    return may_record(plan.contract, user) or user.id == plan.responsible_id


def may_delete_plans(user: User) -> bool:
    """Deleting a plan deletes documented gains: the procurement office and admins only."""
    return user.can_edit


def may_confirm(contract: Contract, user: User) -> bool:
    """The contract's owner and the editors; not the manager, never an auditor."""
    if user.role == Role.AUDITOR:
        return False
    return user.can_edit or user.id == contract.owner_id


# --- checks -------------------------------------------------------------------------------


def _day(value: date) -> str:
    return format_date(value, "dd.MM.yyyy")


def _amount(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",").removesuffix(",00")


def plausible_limit(contract: Contract) -> Decimal:
    """The largest NOK amount a plan or entry of this contract may state."""
    estimated = contract.estimated_value
    if estimated is None or estimated <= 0:
        return MAX_AMOUNT
    return min(MAX_AMOUNT, estimated * PLAUSIBLE_FACTOR)


def _decimals(value: Decimal) -> int:
    """How many decimals a number really has (trailing zeros do not count)."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return 0
    places = -exponent
    for digit in reversed(digits):
        if digit != 0 or places == 0:
            break
        places -= 1
    return places


def _number_error(
    value: Decimal | None, places: int, largest: Decimal, *, negative: bool
) -> str | None:
    """Why a number cannot be stored, or None."""
    if value is None:
        return None
    if not value.is_finite():
        return _("Write a number, like 1 250 000,50.")
    if abs(value) > largest:
        return _("The number is too large: at most %(max)s.", max=_amount(largest))
    if _decimals(value) > places:
        if places == 2:
            return _("Give at most two decimals (whole øre).")
        return _("Give at most %(places)d decimals.", places=places)
    if value < 0 and not negative:
        return _("The number cannot be negative.")
    return None


def _plausibility_error(value: Decimal | None, contract: Contract) -> str | None:
    if value is None or contract.estimated_value is None or contract.estimated_value <= 0:
        return None
    if abs(value) > plausible_limit(contract):
        return _(
            "The amount is more than %(factor)d times the contract's estimated value "
            "(%(value)s kr). Check the amount.",
            factor=PLAUSIBLE_FACTOR,
            value=_amount(contract.estimated_value),
        )
    return None


def whole_period(plan: Any, day: date) -> tuple[date, date]:
    """The plan's entry period (month, quarter or year) holding the day, clipped to the plan."""
    start, end = compute.period_containing(day, PeriodKind(plan.entry_period))
    return max(start, plan.period_start), min(end, plan.period_end)


def _period_words(kind: PeriodKind) -> str:
    return {
        PeriodKind.MONTH: _("whole months"),
        PeriodKind.QUARTER: _("whole quarters"),
        PeriodKind.YEAR: _("whole years"),
    }[PeriodKind(kind)]


def _method_needs(method: GainMethod) -> str:
    if method == GainMethod.PRO_RATA:
        return _(
            "The pro-rata method shares the yearly target over the periods: give the "
            "target per year."
        )
    if method == GainMethod.PRICE_DIFFERENCE:
        return _(
            "The price-difference method needs the baseline unit price, the contract unit "
            "price and the annual volume."
        )
    return _("The hours method needs the hours saved per year and the hourly rate.")


@dataclass
class _PlanValues:
    """The plan's values as they would be saved, for the period functions of compute."""

    method: GainMethod
    entry_period: PeriodKind
    period_start: date
    period_end: date
    target_per_year: Decimal | None = None
    baseline_unit_price: Decimal | None = None
    contract_unit_price: Decimal | None = None
    annual_volume: Decimal | None = None
    hours_per_year: Decimal | None = None
    hourly_rate: Decimal | None = None


def check_plan(values: Mapping[str, Any], contract: Contract, plan: GainPlan | None = None) -> None:
    """Raise GainError with every problem of a plan's values (for a new plan or a change)."""
    errors: dict[str, str] = {}
    gain_type = GainType(values["gain_type"])
    method = GainMethod(values["method"])
    qualitative = gain_type not in ECONOMIC_TYPES
    start, end = values["period_start"], values["period_end"]

    if not (values.get("description") or "").strip():
        errors["description"] = _("Describe the gain.")
    if end < start:
        errors["period_end"] = _("The end of the period cannot be before its start.")
    elif end >= date(start.year + MAX_PLAN_YEARS, start.month, 1):
        errors["period_end"] = _(
            "A gain plan can cover at most %(years)d years.", years=MAX_PLAN_YEARS
        )
    for name, (places, largest) in PLAN_NUMBERS.items():
        problem = _number_error(values.get(name), places, largest, negative=False)
        if problem:
            errors[name] = problem

    if qualitative and not (values.get("unit") or "").strip():
        errors["unit"] = _(
            "A qualitative gain is measured in a unit: give it (for example tonnes CO₂, "
            "share of satisfied users or apprentices)."
        )
    if qualitative and method in {GainMethod.PRICE_DIFFERENCE, GainMethod.HOURS}:
        errors["method"] = _(
            "A qualitative gain is measured in its unit: choose pro rata or by hand."
        )
    missing = [name for name in METHOD_NUMBERS[method] if values.get(name) is None]
    if missing:
        needs = _method_needs(method)
        for name in missing:
            errors.setdefault(name, needs)

    if not qualitative and not errors:
        if problem := _plausibility_error(values.get("target_per_year"), contract):
            errors["target_per_year"] = problem
        numbers = _PlanValues(
            method=method,
            entry_period=PeriodKind(values["entry_period"]),
            period_start=start,
            period_end=end,
            **{name: values.get(name) for name in PLAN_NUMBERS if name != "baseline_value"},
        )
        yearly = compute.yearly_gain(numbers)
        if method != GainMethod.PRO_RATA and yearly is not None:
            field = "annual_volume" if method == GainMethod.PRICE_DIFFERENCE else "hours_per_year"
            problem = _plausibility_error(yearly, contract)
            if abs(yearly) > MAX_AMOUNT:
                problem = _("These numbers give a yearly gain too large to store.")
            if problem:
                errors[field] = problem

    if plan is not None and not errors:
        _check_entries_still_fit(plan, values, errors)
    if errors:
        raise GainError(errors)


def _check_entries_still_fit(
    plan: GainPlan, values: Mapping[str, Any], errors: dict[str, str]
) -> None:
    """A changed plan must still hold each of its entries as one whole period."""
    if not plan.entries:
        return
    if PeriodKind(values["entry_period"]) != plan.entry_period:
        errors["entry_period"] = _(
            "The plan has entries for %(kind)s: the entry period cannot change.",
            kind=_period_words(plan.entry_period),
        )
        return
    changed = _PlanValues(
        method=GainMethod(values["method"]),
        entry_period=plan.entry_period,
        period_start=values["period_start"],
        period_end=values["period_end"],
    )
    for entry in plan.entries:
        inside = changed.period_start <= entry.period_start and entry.period_end <= (
            changed.period_end
        )
        if not inside or whole_period(changed, entry.period_start) != (
            entry.period_start,
            entry.period_end,
        ):
            errors["period_start"] = _(
                "The plan has an entry for %(start)s–%(end)s that would no longer be one "
                "of its periods. Keep the plan's period around its entries.",
                start=_day(entry.period_start),
                end=_day(entry.period_end),
            )
            return


def check_entry(
    plan: GainPlan,
    values: Mapping[str, Any],
    today: date,
    entry: GainEntry | None = None,
) -> None:
    """Raise GainError with every problem of an entry's values (new, or a change)."""
    errors: dict[str, str] = {}
    start, end = values["period_start"], values["period_end"]
    if end < start:
        errors["period_end"] = _("The end of the period cannot be before its start.")
    elif start < plan.period_start or end > plan.period_end:
        errors["period_start"] = _(
            "The period must lie within the plan's period, %(start)s–%(end)s.",
            start=_day(plan.period_start),
            end=_day(plan.period_end),
        )
    elif whole_period(plan, start) != (start, end):
        expected = whole_period(plan, start)
        errors["period_start"] = _(
            "Entries of this plan are for %(kind)s (within the plan's period): for this "
            "date, %(start)s–%(end)s.",
            kind=_period_words(plan.entry_period),
            start=_day(expected[0]),
            end=_day(expected[1]),
        )
    elif start > today:
        errors["period_start"] = _("A gain cannot be recorded for a period that has not begun.")
    else:
        taken = Session.scalar(
            select(GainEntry.id).where(
                GainEntry.plan_id == plan.id,
                GainEntry.period_start == start,
                GainEntry.id != (entry.id if entry is not None else -1),
            )
        )
        if taken is not None:
            errors["period_start"] = _(
                "This plan already has an entry for %(start)s–%(end)s: change that one.",
                start=_day(start),
                end=_day(end),
            )

    contract = plan.contract
    value, quantity = values.get("value"), values.get("quantity")
    for name, number in (("value", value), ("quantity", quantity)):
        problem = _number_error(number, 2, MAX_AMOUNT, negative=True)
        if problem:
            errors[name] = problem
    if plan.is_economic:
        if value is None:
            errors.setdefault("value", _("Give the realised gain in kroner (negative for a loss)."))
        elif problem := _plausibility_error(value, contract):
            errors.setdefault("value", problem)
    else:
        if quantity is None and value is None:
            errors.setdefault("quantity", _("Give the realised quantity (or a value in kroner)."))
        if quantity is not None and not ((values.get("unit") or plan.unit or "").strip()):
            errors["unit"] = _("Give the unit the quantity is measured in.")
        if value is not None and (problem := _plausibility_error(value, contract)):
            errors.setdefault("value", problem)

    confirmed = entry is not None and entry.status == EntryStatus.CONFIRMED
    reason = (values.get("correction_reason") or "").strip()
    if confirmed and not reason and _entry_changes(entry, values):
        errors["correction_reason"] = _(
            "The entry is confirmed: give the reason for the correction."
        )
    if errors:
        raise GainError(errors)


def _entry_changes(entry: GainEntry, values: Mapping[str, Any]) -> list[str]:
    return [
        name for name in ENTRY_FIELDS if name in values and values[name] != getattr(entry, name)
    ]


# --- plans --------------------------------------------------------------------------------


def _clean(values: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Only known fields; blank text becomes None, other text is trimmed."""
    result = {}
    for name in fields:
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, str) and not isinstance(value, enum.Enum):
            value = value.strip() or None
        result[name] = value
    return result


def _quantized(fields: dict[str, Any], places: Mapping[str, int]) -> dict[str, Any]:
    """Numbers to the scale of their columns (after the checks: nothing is rounded away),
    so the trail shows them as the database keeps them."""
    for name, scale in places.items():
        if isinstance(fields.get(name), Decimal):
            fields[name] = fields[name].quantize(Decimal(1).scaleb(-scale))
    return fields


def _enums(fields: dict[str, Any]) -> dict[str, Any]:
    """The plan's kinds as enum members, also when given as their text."""
    for name, kind in (
        ("gain_type", GainType),
        ("method", GainMethod),
        ("entry_period", PeriodKind),
    ):
        if fields.get(name) is not None:
            fields[name] = kind(fields[name])
    return fields


PLAN_PLACES = {name: places for name, (places, _largest) in PLAN_NUMBERS.items()}
ENTRY_PLACES = {"value": 2, "quantity": 2}


def create_plan(contract: Contract, values: Mapping[str, Any], user: User | None) -> GainPlan:
    """A new gain plan for the contract, after check_plan."""
    fields = _enums(_clean(values, PLAN_FIELDS))
    check_plan(fields, contract)
    _quantized(fields, PLAN_PLACES)
    plan = GainPlan(
        contract_id=contract.id,
        created_by_id=user.id if user else None,
        **fields,
    )
    plan.contract = contract
    Session.add(plan)
    Session.flush()
    audit.record_create(plan, contract_id=contract.id, summary=plan.description[:120])
    return plan


def update_plan(plan: GainPlan, values: Mapping[str, Any], user: User | None) -> int:
    """Change a plan; the job's unconfirmed estimates follow its new numbers. Returns how
    many estimates changed."""
    fields = _enums(_clean(values, PLAN_FIELDS))
    merged = {name: getattr(plan, name) for name in PLAN_FIELDS} | fields
    check_plan(merged, plan.contract, plan)
    _quantized(fields, PLAN_PLACES)
    before = audit.snapshot(plan)
    for name, value in fields.items():
        setattr(plan, name, value)
    Session.flush()
    audit.record_update(plan, before, contract_id=plan.contract_id, summary=plan.description[:120])
    return _reestimate(plan)


def _reestimate(plan: GainPlan) -> int:
    """Bring the job's unconfirmed estimates in line with the plan's numbers."""
    if compute.yearly_gain(plan) is None:
        return 0
    changed = 0
    for entry in plan.entries:
        if entry.status != EntryStatus.ESTIMATED or entry.source != EntrySource.JOB:
            continue
        estimate = compute.estimate(plan, entry.period_start, entry.period_end)
        if estimate is None or abs(estimate) > MAX_AMOUNT:
            continue
        before = audit.snapshot(entry)
        if plan.is_economic:
            entry.value, entry.quantity, entry.unit = estimate, None, None
        else:
            entry.value, entry.quantity, entry.unit = None, estimate, plan.unit
        Session.flush()
        if audit.record_update(
            entry, before, action="gain_reestimated", contract_id=plan.contract_id
        ):
            changed += 1
    return changed


def delete_plan(plan: GainPlan) -> None:
    """Delete a plan and its entries; the trail keeps them all."""
    contract_id = plan.contract_id
    audit.record(
        "delete",
        plan,
        contract_id=contract_id,
        before={**audit.snapshot(plan), "entries": [audit.snapshot(e) for e in plan.entries]},
        summary=f"{plan.description[:100]} ({len(plan.entries)})",
    )
    Session.delete(plan)
    Session.flush()


# --- entries ------------------------------------------------------------------------------


def _confirm(entry: GainEntry, user: User) -> None:
    entry.status = EntryStatus.CONFIRMED
    entry.confirmed_by_id = user.id
    entry.confirmed_at = utcnow()


def _unconfirm(entry: GainEntry) -> None:
    entry.status = EntryStatus.ESTIMATED
    entry.confirmed_by_id = None
    entry.confirmed_at = None


def _entry_summary(entry: GainEntry, plan: GainPlan) -> str:
    period = f"{_day(entry.period_start)}–{_day(entry.period_end)}"
    return f"{plan.description[:80]}: {period}"


def record_entry(
    plan: GainPlan,
    values: Mapping[str, Any],
    user: User,
    today: date,
    *,
    confirm: bool = False,
) -> GainEntry:
    """Record the gain of one period by hand; `confirm` confirms it at once (the owner)."""
    fields = _clean(values, ENTRY_FIELDS)
    if confirm and not may_confirm(plan.contract, user):
        raise NotAllowed(_("Only the contract's owner or the procurement office can confirm."))
    if fields.get("quantity") is not None and not fields.get("unit"):
        fields["unit"] = plan.unit
    check_entry(plan, fields, today)
    _quantized(fields, ENTRY_PLACES)
    entry = GainEntry(
        plan_id=plan.id,
        period_kind=plan.entry_period,
        source=EntrySource.MANUAL,
        status=EntryStatus.ESTIMATED,
        recorded_by_id=user.id,
        **fields,
    )
    if confirm:
        _confirm(entry, user)
    entry.plan = plan  # also in plan.entries, if they were read
    Session.add(entry)
    Session.flush()
    audit.record_create(entry, contract_id=plan.contract_id, summary=_entry_summary(entry, plan))
    return entry


def update_entry(
    entry: GainEntry,
    values: Mapping[str, Any],
    user: User,
    today: date,
    *,
    confirm: bool = False,
) -> bool:
    """Change an entry. A confirmed one needs a correction reason; changed by someone who
    may not confirm, it is estimated again. Returns whether anything changed."""
    plan = entry.plan
    fields = _clean(values, (*ENTRY_FIELDS, "correction_reason"))
    if confirm and not may_confirm(plan.contract, user):
        raise NotAllowed(_("Only the contract's owner or the procurement office can confirm."))
    merged = {name: getattr(entry, name) for name in ENTRY_FIELDS} | fields
    if merged.get("quantity") is not None and not merged.get("unit"):
        merged["unit"] = fields["unit"] = plan.unit
    check_entry(plan, merged, today, entry)
    _quantized(fields, ENTRY_PLACES)
    changes = _entry_changes(entry, fields)
    before = audit.snapshot(entry)
    was_confirmed = entry.status == EntryStatus.CONFIRMED
    for name in changes:
        setattr(entry, name, fields[name])
    if changes and was_confirmed:
        entry.correction_reason = fields.get("correction_reason")
        if may_confirm(plan.contract, user):
            _confirm(entry, user)
        else:
            _unconfirm(entry)
    confirming = confirm and entry.status == EntryStatus.ESTIMATED
    if confirming:
        _confirm(entry, user)
    if confirming:
        action = "gain_confirmed"
    elif changes and was_confirmed:
        action = "gain_corrected"
    else:
        action = "update"
    Session.flush()
    audit.record_update(
        entry, before, action=action, contract_id=plan.contract_id,
        summary=_entry_summary(entry, plan) if changes or confirming else None,
    )  # fmt: skip
    return bool(changes) or confirming


def confirm_entry(
    entry: GainEntry,
    user: User,
    *,
    corrected: Decimal | None = None,
    reason: str | None = None,
) -> bool:
    """Confirm an entry as it is, or with a corrected value (or quantity, for a
    qualitative plan) and the reason. Returns False if it was confirmed already and
    nothing was corrected."""
    plan = entry.plan
    if not may_confirm(plan.contract, user):
        raise NotAllowed(_("Only the contract's owner or the procurement office can confirm."))
    field = "value" if plan.is_economic or entry.quantity is None else "quantity"
    current = getattr(entry, field)
    correcting = corrected is not None and corrected != current
    reason = (reason or "").strip() or None
    if corrected is not None:
        errors = {}
        problem = _number_error(corrected, 2, MAX_AMOUNT, negative=True)
        if field == "value":
            problem = problem or _plausibility_error(corrected, plan.contract)
        if problem:
            errors["value"] = problem
        if correcting and reason is None:
            errors["correction_reason"] = _("Say why the value differs from the estimate.")
        if errors:
            raise GainError(errors)
    if entry.status == EntryStatus.CONFIRMED and not correcting:
        return False
    before = audit.snapshot(entry)
    if correcting:
        setattr(entry, field, corrected.quantize(compute.CENT))
        entry.correction_reason = reason
    _confirm(entry, user)
    Session.flush()
    audit.record_update(
        entry,
        before,
        action="gain_corrected" if correcting else "gain_confirmed",
        contract_id=plan.contract_id,
        summary=_entry_summary(entry, plan),
    )
    return True


# --- reading ------------------------------------------------------------------------------


def plans_of(contract_id: int) -> list[GainPlan]:
    """The contract's gain plans, oldest first, with their entries."""
    return list(
        Session.scalars(
            select(GainPlan)
            .where(GainPlan.contract_id == contract_id)
            .options(
                selectinload(GainPlan.entries).joinedload(GainEntry.recorded_by),
                selectinload(GainPlan.entries).joinedload(GainEntry.confirmed_by),
                joinedload(GainPlan.responsible),
            )
            .order_by(GainPlan.period_start, GainPlan.id)
        )
    )


@dataclass
class Realised:
    """What a plan has realised so far: sums of its entries by status, and the target."""

    estimated: Decimal
    confirmed: Decimal
    target_to_date: Decimal | None

    @property
    def total(self) -> Decimal:
        return self.estimated + self.confirmed


def realised(plan: GainPlan, today: date) -> Realised:
    """NOK for economic plans, the quantity for qualitative ones; the target is the yearly
    target shared over the plan's days until yesterday."""
    field = "value" if plan.is_economic else "quantity"
    sums = {EntryStatus.ESTIMATED: Decimal(0), EntryStatus.CONFIRMED: Decimal(0)}
    for entry in plan.entries:
        number = getattr(entry, field)
        if number is not None:
            sums[entry.status] += number
    target = None
    last = min(plan.period_end, today - timedelta(days=1))
    if plan.target_per_year is not None and last >= plan.period_start:
        target = (plan.target_per_year * compute.year_share(plan.period_start, last)).quantize(
            compute.CENT
        )
    return Realised(sums[EntryStatus.ESTIMATED], sums[EntryStatus.CONFIRMED], target)


def next_period(plan: GainPlan, today: date) -> tuple[date, date]:
    """The period a new entry most likely is for: the oldest ended one without an entry,
    else the one running today (or the plan's last one)."""
    taken = {entry.period_start for entry in plan.entries}
    for start, end in compute.periods(plan, today):
        if start not in taken:
            return start, end
    day = min(max(today, plan.period_start), plan.period_end)
    return whole_period(plan, day)


def explain(entry: GainEntry) -> dict[str, Any]:
    """How an estimate was computed, as numbers for the confirm page."""
    plan = entry.plan
    share = compute.year_share(entry.period_start, entry.period_end)
    return {
        "method": plan.method,
        "yearly": compute.yearly_gain(plan),
        "share": share,
        "days": (entry.period_end - entry.period_start).days + 1,
        "year_days": 366 if calendar.isleap(entry.period_start.year) else 365,
        "estimate": compute.estimate(plan, entry.period_start, entry.period_end),
    }


def contract_summary(contract_id: int, today: date) -> dict[str, Any]:
    """For the contract page: plans, yearly targets (NOK) and what was realised (NOK), in
    two queries."""
    plans = Session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(
                    case(
                        (GainPlan.gain_type.in_(list(ECONOMIC_TYPES)), GainPlan.target_per_year),
                        else_=None,
                    )
                ),
                0,
            ),
        ).where(GainPlan.contract_id == contract_id)
    ).one()
    economic = GainPlan.gain_type.in_(list(ECONOMIC_TYPES))
    entries = Session.execute(
        select(
            GainEntry.status,
            func.count(),
            func.coalesce(func.sum(case((economic, GainEntry.value), else_=None)), 0),
        )
        .join(GainPlan, GainPlan.id == GainEntry.plan_id)
        .where(GainPlan.contract_id == contract_id)
        .group_by(GainEntry.status)
    ).all()
    by_status = {status: (count, Decimal(total)) for status, count, total in entries}
    return {
        "plans": plans[0],
        "target_per_year": Decimal(plans[1]),
        "estimated": by_status.get(EntryStatus.ESTIMATED, (0, Decimal(0)))[1],
        "confirmed": by_status.get(EntryStatus.CONFIRMED, (0, Decimal(0)))[1],
        "to_confirm": by_status.get(EntryStatus.ESTIMATED, (0, Decimal(0)))[0],
    }
