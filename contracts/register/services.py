"""Contract operations: create, change, options, amendments, termination, deletion.

Services flush and audit; the view commits once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask_login import current_user
from sqlalchemy import Select, func, or_, select

from contracts.audit import services as audit
from contracts.auth.models import ALL_SEEING_ROLES, User
from contracts.db import Session, utcnow
from contracts.parties.models import Supplier
from contracts.register.dates import add_months
from contracts.register.models import (
    OPEN_ENDED,
    Amendment,
    Contract,
    ContractOption,
    OptionDecision,
)
from contracts.register.signals import contract_dates_changed
from contracts.rules.models import Procedure

# The attributes a contract form may set; anything else posted is ignored.
CONTRACT_FIELDS = (
    "reference",
    "title",
    "description",
    "supplier_id",
    "category_id",
    "unit_id",
    "owner_id",
    "manager_id",
    "procedure",
    "is_framework",
    "estimated_value",
    "annual_value",
    "signed_on",
    "start_date",
    "end_date",
    "notice_months",
    "price_adjustment_index",
    "price_adjustment_month",
    "has_wage_conditions",
    "is_confidential",
    "notes",
)


class ConflictError(Exception):
    """Someone else saved the contract after this form was opened."""


class ReferenceTakenError(ValueError):
    """Another live contract already uses the reference."""


def build_search_text(contract: Contract, supplier: Supplier) -> str:
    """What free-text search looks in, lower-cased in Python so Æ/Ø/Å fold on every engine."""
    parts = [contract.reference, contract.title, supplier.name, supplier.org_number or ""]
    return " ".join(p for p in parts if p).lower()[:700]


def refresh_derived(contract: Contract) -> None:
    """Recompute current and maximum end dates and the search text after any change."""
    end = contract.end_date
    if end is None:
        current = maximum = None
    else:
        exercised = sum(
            o.extension_months for o in contract.options if o.decision == OptionDecision.EXERCISED
        )
        possible = sum(
            o.extension_months for o in contract.options if o.decision != OptionDecision.DECLINED
        )
        current, maximum = add_months(end, exercised), add_months(end, possible)
    if contract.terminated_on is not None:
        if current is None or contract.terminated_on < current:
            current = contract.terminated_on
        if maximum is None or contract.terminated_on < maximum:
            maximum = contract.terminated_on
    contract.current_end_date = current
    contract.max_end_date = maximum
    contract.end_sort_date = current or OPEN_ENDED
    # By id, not the relationship: a changed supplier_id is not reflected there before a flush.
    supplier = Session.get(Supplier, contract.supplier_id)
    contract.search_text = build_search_text(contract, supplier)


def refresh_search_text_for_supplier(supplier: Supplier) -> None:
    """A supplier was renamed: rewrite the search text of all its contracts."""
    for contract in Session.scalars(select(Contract).where(Contract.supplier_id == supplier.id)):
        contract.search_text = build_search_text(contract, supplier)
    Session.flush()


def reference_taken(reference: str, contract_id: int | None = None) -> bool:
    query = (
        select(func.count())
        .select_from(Contract)
        .where(Contract.reference == reference.strip(), Contract.deleted_at.is_(None))
    )
    if contract_id is not None:
        query = query.where(Contract.id != contract_id)
    return bool(Session.scalar(query))


def _apply(contract: Contract, values: dict[str, Any]) -> None:
    unknown = set(values) - set(CONTRACT_FIELDS)
    if unknown:
        raise TypeError(f"not contract form fields: {sorted(unknown)}")
    for key in CONTRACT_FIELDS:
        if key in values:
            value = values[key]
            if isinstance(value, str):
                value = value.strip() or None
            setattr(contract, key, value)
    # Forms post the procedure as text (and str.strip() turns a StrEnum into plain text).
    if contract.procedure is not None:
        contract.procedure = Procedure(contract.procedure)
    # The columns keep øre: the same value with other decimals is no change to audit.
    for amount in ("estimated_value", "annual_value"):
        value = getattr(contract, amount)
        if value is not None:
            setattr(contract, amount, Decimal(value).quantize(Decimal("0.01")))
    contract.is_framework = bool(contract.is_framework)
    contract.has_wage_conditions = bool(contract.has_wage_conditions)
    contract.is_confidential = bool(contract.is_confidential)


def create_contract(values: dict[str, Any], source: str | None = None) -> Contract:
    """Register a new contract from form values; source names an import in the trail."""
    if reference_taken(values["reference"]):
        raise ReferenceTakenError(values["reference"])
    contract = Contract()
    _apply(contract, values)
    Session.add(contract)
    refresh_derived(contract)
    Session.flush()
    summary = f"{contract} [{source}]" if source else str(contract)
    audit.record_create(contract, contract_id=contract.id, summary=summary)
    return contract


def update_contract(
    contract: Contract, values: dict[str, Any], expected_version: int, source: str | None = None
) -> Contract:
    """Change a contract unless someone saved it since the form was opened."""
    if contract.version != expected_version:
        raise ConflictError
    if reference_taken(values.get("reference", contract.reference), contract.id):
        raise ReferenceTakenError(values["reference"])
    before = audit.snapshot(contract)
    _apply(contract, values)
    # Derived columns before the one flush (loading the options must not flush first), so
    # a save raises the version by one.
    with Session.no_autoflush:
        refresh_derived(contract)
    Session.flush()
    Session.expire(contract, ["supplier"])  # the relationship follows a new supplier_id
    # An import that changes nothing leaves no event (the summary alone would force one).
    if source is None or audit.diff(before, audit.snapshot(contract))[1]:
        audit.record_update(contract, before, contract_id=contract.id, summary=source)
    contract_dates_changed.send(contract)
    return contract


def terminate_contract(contract: Contract, terminated_on: date, reason: str | None) -> None:
    """Record that the contract ends early (oppsigelse/heving) on a date."""
    before = audit.snapshot(contract)
    contract.terminated_on = terminated_on
    contract.termination_reason = reason or None
    refresh_derived(contract)
    audit.record_update(contract, before, action="terminate", contract_id=contract.id)
    contract_dates_changed.send(contract)


def cancel_termination(contract: Contract) -> None:
    """Undo a termination recorded by mistake."""
    before = audit.snapshot(contract)
    contract.terminated_on = None
    contract.termination_reason = None
    refresh_derived(contract)
    audit.record_update(contract, before, action="cancel_termination", contract_id=contract.id)
    contract_dates_changed.send(contract)


def soft_delete_contract(contract: Contract) -> None:
    """Hide a contract from the register; it can be restored."""
    before = audit.snapshot(contract)
    contract.deleted_at = utcnow()
    audit.record_update(contract, before, action="soft_delete", contract_id=contract.id)


def restore_contract(contract: Contract) -> None:
    """Bring a deleted contract back, if its reference is still free."""
    if reference_taken(contract.reference, contract.id):
        raise ReferenceTakenError(contract.reference)
    before = audit.snapshot(contract)
    contract.deleted_at = None
    audit.record_update(contract, before, action="restore", contract_id=contract.id)
    contract_dates_changed.send(contract)


def add_option(
    contract: Contract, extension_months: int, exercise_deadline: date
) -> ContractOption:
    option = ContractOption(
        contract=contract, extension_months=extension_months, exercise_deadline=exercise_deadline
    )
    Session.add(option)
    Session.flush()
    refresh_derived(contract)
    audit.record_create(option, contract_id=contract.id)
    contract_dates_changed.send(contract)
    return option


def decide_option(
    option: ContractOption, decision: OptionDecision, decided_on: date, user: User
) -> None:
    """Record that an option was exercised or declined (or reset it to undecided)."""
    before = audit.snapshot(option)
    option.decision = decision
    if decision == OptionDecision.PENDING:
        option.decided_on = None
        option.decided_by_id = None
    else:
        option.decided_on = decided_on
        option.decided_by_id = user.id
    Session.flush()
    refresh_derived(option.contract)
    audit.record_update(option, before, action="option_decision", contract_id=option.contract_id)
    contract_dates_changed.send(option.contract)


def delete_option(option: ContractOption) -> None:
    contract = option.contract
    audit.record_delete(option, contract_id=contract.id)
    contract.options.remove(option)
    Session.flush()
    refresh_derived(contract)
    contract_dates_changed.send(contract)


def add_amendment(
    contract: Contract, amended_on: date, description: str, value_change: Decimal | None, user: User
) -> Amendment:
    amendment = Amendment(
        contract=contract,
        amended_on=amended_on,
        description=description.strip(),
        value_change=value_change,
        created_by_id=user.id,
    )
    Session.add(amendment)
    audit.record_create(amendment, contract_id=contract.id)
    return amendment


# --- reading ------------------------------------------------------------------------


def visible_contracts(user: User | None = None, *, deleted: bool = False) -> Select:
    """Contracts the user may see: confidential ones only for the office, auditors and the
    people and unit responsible for them."""
    user = user if user is not None else current_user
    query = select(Contract).where(
        Contract.deleted_at.is_not(None) if deleted else Contract.deleted_at.is_(None)
    )
    if user.role not in ALL_SEEING_ROLES:
        query = query.where(
            or_(
                Contract.is_confidential.is_(False),
                Contract.owner_id == user.id,
                Contract.manager_id == user.id,
                Contract.unit_id == user.unit_id if user.unit_id else False,
            )
        )
    return query


def get_visible_contract(contract_id: int, user: User | None = None) -> Contract | None:
    """The contract when the user may see it; deleted ones only for editors."""
    user = user if user is not None else current_user
    contract = Session.scalar(visible_contracts(user).where(Contract.id == contract_id))
    if contract is None and user.can_edit:
        contract = Session.scalar(
            visible_contracts(user, deleted=True).where(Contract.id == contract_id)
        )
    return contract
