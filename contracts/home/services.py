"""What the start page shows: my contracts, my next deadlines, register totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, or_, select

from contracts.auth.models import User
from contracts.db import Session
from contracts.register.dates import add_months
from contracts.register.models import Contract, ContractOption, ContractStatus, OptionDecision
from contracts.register.search import status_filter
from contracts.register.services import visible_contracts

DEADLINE_HORIZON_DAYS = 365
OVERDUE_SHOWN_DAYS = 30


@dataclass(frozen=True)
class ContractRef:
    """What the deadline list shows of a contract."""

    id: int
    reference: str
    title: str


@dataclass(frozen=True)
class Deadline:
    day: date
    kind: str  # "end", "option", "notice"
    contract: ContractRef


def _mine(user: User, today: date) -> Select:
    """Current contracts the user owns or manages: not ended, drafts included."""
    return visible_contracts(user).where(
        or_(Contract.owner_id == user.id, Contract.manager_id == user.id),
        Contract.end_sort_date >= today,
    )


def my_contracts(user: User, today: date, limit: int) -> tuple[list[Contract], int]:
    """The `limit` of the user's current contracts that end first, and how many there are."""
    query = _mine(user, today)
    total = Session.scalar(query.with_only_columns(func.count(Contract.id))) or 0
    rows = Session.scalars(query.order_by(Contract.end_sort_date, Contract.id).limit(limit))
    return list(rows), total


def deadlines(user: User, today: date) -> list[Deadline]:
    """Expiry, option and notice deadlines of the user's current contracts, from a month ago
    to a year ahead, nearest first."""
    start = today - timedelta(days=OVERDUE_SHOWN_DAYS)
    end = today + timedelta(days=DEADLINE_HORIZON_DAYS)
    mine = _mine(user, today).where(
        Contract.signed_on.is_not(None),
        or_(Contract.terminated_on.is_(None), Contract.terminated_on >= today),
    )
    # Only contracts that can have a deadline in the window are loaded (someone may answer
    # for thousands): the end in it, or a notice day in it (so the end at most the longest
    # notice period after it), or a pending option's deadline in it. The exact choice is
    # made below, on these few.
    longest_notice = Session.scalar(mine.with_only_columns(func.max(Contract.notice_months)))
    latest_end = add_months(end, longest_notice or 0)
    pending_option = select(ContractOption.contract_id).where(
        ContractOption.decision == OptionDecision.PENDING,
        ContractOption.exercise_deadline.between(start, end),
    )
    candidates = mine.where(
        or_(
            Contract.current_end_date.between(start, latest_end),
            Contract.id.in_(pending_option),
        )
    )
    # Plain rows, not Contract objects: an owner of thousands of contracts has thousands of
    # candidates, and loading each with its options cost the start page a second.
    rows = Session.execute(
        candidates.with_only_columns(
            Contract.id,
            Contract.reference,
            Contract.title,
            Contract.current_end_date,
            Contract.notice_months,
        )
    ).all()
    # The next option is the pending one with the earliest deadline (Contract.next_option).
    next_option = dict(
        Session.execute(
            select(ContractOption.contract_id, func.min(ContractOption.exercise_deadline))
            .where(
                ContractOption.decision == OptionDecision.PENDING,
                ContractOption.contract_id.in_(candidates.with_only_columns(Contract.id)),
            )
            .group_by(ContractOption.contract_id)
        ).all()
    )
    found: list[Deadline] = []
    for row in rows:
        contract = ContractRef(row.id, row.reference, row.title)
        notice = (
            add_months(row.current_end_date, -row.notice_months)
            if row.current_end_date is not None and row.notice_months is not None
            else None
        )
        days = [
            ("end", row.current_end_date),
            ("option", next_option.get(row.id)),
            ("notice", notice),
        ]
        found.extend(
            Deadline(day, kind, contract)
            for kind, day in days
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
