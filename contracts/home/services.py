"""What the start page shows: my contracts, my next deadlines, register totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from contracts.auth.models import User
from contracts.db import Session
from contracts.register.models import Contract, ContractStatus
from contracts.register.search import status_filter
from contracts.register.services import visible_contracts

DEADLINE_HORIZON_DAYS = 365
OVERDUE_SHOWN_DAYS = 30


@dataclass(frozen=True)
class Deadline:
    day: date
    kind: str  # "end", "option", "notice"
    contract: Contract


def my_contracts(user: User, today: date) -> list[Contract]:
    """Current contracts the user owns or manages: not ended, drafts included."""
    query = visible_contracts(user).where(
        or_(Contract.owner_id == user.id, Contract.manager_id == user.id),
        Contract.end_sort_date >= today,
    )
    # deadlines() reads each contract's options: load them in a few batches, not one
    # query per contract.
    query = query.options(selectinload(Contract.options))
    return list(Session.scalars(query.order_by(Contract.end_sort_date, Contract.id)).unique())


def deadlines(contracts: list[Contract], today: date) -> list[Deadline]:
    """Expiry, option and notice deadlines of the contracts, from a month ago to a year ahead."""
    start = today - timedelta(days=OVERDUE_SHOWN_DAYS)
    end = today + timedelta(days=DEADLINE_HORIZON_DAYS)
    found: list[Deadline] = []
    for contract in contracts:
        if contract.signed_on is None or (
            contract.terminated_on is not None and contract.terminated_on < today
        ):
            continue
        option = contract.next_option
        candidates = [
            ("end", contract.current_end_date),
            ("option", option.exercise_deadline if option else None),
            ("notice", contract.last_notice_day),
        ]
        found.extend(
            Deadline(day, kind, contract)
            for kind, day in candidates
            if day is not None and start <= day <= end
        )
    return sorted(found, key=lambda d: (d.day, d.contract.reference))


def register_totals(user: User, today: date) -> dict[str, int]:
    """Counts of contracts by status for the start page tiles."""
    base = visible_contracts(user).with_only_columns(func.count(Contract.id))
    return {
        status.value: Session.scalar(base.where(status_filter(status, today))) or 0
        for status in (ContractStatus.ACTIVE, ContractStatus.EXPIRING, ContractStatus.DRAFT)
    }


def database_ok() -> tuple[bool, str | None]:
    """Whether the database answers, and the migration revision it is at."""
    from sqlalchemy import text

    try:
        Session.execute(select(1))
        revision = Session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001  (any failure means "not healthy")
        Session.rollback()
        return False, None
    return True, revision
