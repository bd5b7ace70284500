"""Impartiality declarations (habilitetserklæringer): who is involved in a contract's
procurement, what each of them declared, and procurement's review of it.

A declaration is never edited after it is submitted: a new one supersedes it (both are
kept; the newest counts). Only the review columns change, and only through review().
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.audit import services as audit
from contracts.auth.models import Role, User
from contracts.db import Base, Session, UTCDateTime, str_enum, utcnow
from contracts.register.models import Contract


class DeclarationStatus(enum.StrEnum):
    """Where procurement's review of a declaration stands."""

    SUBMITTED = "submitted"  # not reviewed yet
    ACCEPTED = "accepted"
    RENEWAL_REQUESTED = "renewal_requested"  # the person is asked for a new declaration


class InvolvementRole(enum.StrEnum):
    """Why a person must declare: they own or manage the contract, or took part."""

    OWNER = "owner"
    MANAGER = "manager"
    INVOLVED = "involved"


class InvolvedPerson(Base):
    """A person an editor named as involved in the procurement, besides owner and manager."""

    __tablename__ = "declaration_people"
    __table_args__ = (
        UniqueConstraint("contract_id", "user_id", name="uq_declaration_people_contract_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    task: Mapped[str | None] = mapped_column(String(200))  # e.g. "evaluation committee"
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)


class Declaration(Base):
    """One person's dated declaration for one contract: no conflict of interest, or the
    conflict and the measures taken."""

    __tablename__ = "declarations"
    __table_args__ = (
        CheckConstraint(
            "NOT has_conflict OR (conflict_description IS NOT NULL AND measures IS NOT NULL)",
            name="conflict_described",
        ),
        CheckConstraint(
            "(status = 'submitted') = (reviewed_at IS NULL)", name="reviewed_iff_not_submitted"
        ),
        Index("ix_declarations_contract_user", "contract_id", "user_id", "id"),
        Index("ix_declarations_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    # RESTRICT: a declaration is evidence; its author cannot vanish from under it.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    declared_on: Mapped[date] = mapped_column(Date)
    has_conflict: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    conflict_description: Mapped[str | None] = mapped_column(Text)
    measures: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[DeclarationStatus] = mapped_column(
        str_enum(DeclarationStatus, "declaration_status"), default=DeclarationStatus.SUBMITTED
    )
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_comment: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    contract: Mapped[Contract] = relationship()


# What the person declared: fixed once submitted (see _refuse_edits).
DECLARED_COLUMNS = (
    "contract_id",
    "user_id",
    "declared_on",
    "has_conflict",
    "conflict_description",
    "measures",
    "submitted_at",
)


class DeclarationImmutable(Exception):
    """Someone tried to change what a submitted declaration says."""


@event.listens_for(Declaration, "before_update")
def _refuse_edits(_mapper, _connection, target: Declaration) -> None:
    state = inspect(target)
    changed = [name for name in DECLARED_COLUMNS if state.attrs[name].history.has_changes()]
    if changed:
        raise DeclarationImmutable(f"declaration {target.id}: {', '.join(changed)}")


# --- who must declare ------------------------------------------------------------------


@dataclass
class Person:
    """One person who must declare for a contract, and their newest declaration."""

    user: User
    roles: list[InvolvementRole] = field(default_factory=list)
    task: str | None = None
    involved_id: int | None = None  # the InvolvedPerson row, when an editor added them
    current: Declaration | None = None

    @property
    def is_complete(self) -> bool:
        return is_complete(self.current)


def is_complete(declaration: Declaration | None) -> bool:
    """A person has declared when their newest declaration is submitted or accepted; asked
    for a new one, they have not (a declared conflict still counts: it is declared)."""
    return declaration is not None and declaration.status != DeclarationStatus.RENEWAL_REQUESTED


def people_for(contract: Contract) -> list[Person]:
    """Owner, manager and the people added as involved, each once, with their newest
    declaration."""
    people: dict[int, Person] = {}
    for role, user in (
        (InvolvementRole.OWNER, contract.owner),
        (InvolvementRole.MANAGER, contract.manager),
    ):
        if user is not None:
            people.setdefault(user.id, Person(user)).roles.append(role)
    for row in Session.scalars(
        select(InvolvedPerson)
        .where(InvolvedPerson.contract_id == contract.id)
        .order_by(InvolvedPerson.id)
    ):
        person = people.setdefault(row.user_id, Person(row.user))
        person.roles.append(InvolvementRole.INVOLVED)
        person.task, person.involved_id = row.task, row.id
    newest = current_declarations([contract.id])
    for person in people.values():
        person.current = newest.get((contract.id, person.user.id))
    return list(people.values())


def is_involved(contract: Contract, user: User) -> bool:
    """Whether the user must declare for the contract."""
    if user.id in (contract.owner_id, contract.manager_id):
        return True
    return (
        Session.scalar(
            select(InvolvedPerson.id).where(
                InvolvedPerson.contract_id == contract.id, InvolvedPerson.user_id == user.id
            )
        )
        is not None
    )


def history(contract_id: int) -> list[Declaration]:
    """Every declaration for the contract, newest first (superseded ones included)."""
    return list(
        Session.scalars(
            select(Declaration)
            .where(Declaration.contract_id == contract_id)
            .order_by(Declaration.id.desc())
        )
    )


def newest_ids() -> select:
    """A subquery of the id of each person's newest declaration per contract."""
    return (
        select(func.max(Declaration.id).label("id"))
        .group_by(Declaration.contract_id, Declaration.user_id)
        .subquery()
    )


def current_declarations(contract_ids: Iterable[int]) -> dict[tuple[int, int], Declaration]:
    """The newest declaration per (contract, person) of the given contracts."""
    ids = list(contract_ids)
    if not ids:
        return {}
    newest = (
        select(func.max(Declaration.id))
        .where(Declaration.contract_id.in_(ids))
        .group_by(Declaration.contract_id, Declaration.user_id)
    )
    rows = Session.scalars(select(Declaration).where(Declaration.id.in_(newest)))
    return {(d.contract_id, d.user_id): d for d in rows}


# --- the missing-declarations rule (shared by the red flag and the auditors' page) -------


def required_people() -> dict[int, set[int]]:
    """Contract id -> the user ids who must declare, for every live contract (two queries:
    owners and managers, then the people added)."""
    required: dict[int, set[int]] = defaultdict(set)
    for cid, owner_id, manager_id in Session.execute(
        select(Contract.id, Contract.owner_id, Contract.manager_id).where(
            Contract.deleted_at.is_(None)
        )
    ):
        required[cid].update(uid for uid in (owner_id, manager_id) if uid is not None)
    for cid, uid in Session.execute(select(InvolvedPerson.contract_id, InvolvedPerson.user_id)):
        required[cid].add(uid)
    return required


def declared_people() -> dict[int, set[int]]:
    """Contract id -> the user ids whose newest declaration is complete (one query)."""
    newest = newest_ids()
    rows = Session.execute(
        select(Declaration.contract_id, Declaration.user_id)
        .join(newest, newest.c.id == Declaration.id)
        .where(Declaration.status != DeclarationStatus.RENEWAL_REQUESTED)
    )
    declared: dict[int, set[int]] = defaultdict(set)
    for cid, uid in rows:
        declared[cid].add(uid)
    return declared


def missing_people(
    required: dict[int, set[int]], declared: dict[int, set[int]], contract_id: int
) -> set[int]:
    """Who has yet to declare for a contract (empty: complete)."""
    return required.get(contract_id, set()) - declared.get(contract_id, set())


def needs_declarations(value: Decimal | None, national: Decimal | None) -> bool:
    """Declarations are required at or above the national threshold on the signing date."""
    return value is not None and national is not None and value >= national


# --- operations (flush and audit; the view commits) -----------------------------------


def declare(
    contract: Contract,
    user: User,
    declared_on: date,
    conflict_description: str | None = None,
    measures: str | None = None,
) -> Declaration:
    """Submit the user's declaration for the contract; it supersedes their earlier ones."""
    conflict_description = (conflict_description or "").strip() or None
    measures = (measures or "").strip() or None
    has_conflict = conflict_description is not None
    if has_conflict and measures is None:
        raise ValueError("a declared conflict needs the measures taken")
    previous = current_declarations([contract.id]).get((contract.id, user.id))
    declaration = Declaration(
        contract_id=contract.id,
        user_id=user.id,
        declared_on=declared_on,
        has_conflict=has_conflict,
        conflict_description=conflict_description,
        measures=measures if has_conflict else None,
    )
    Session.add(declaration)
    audit.record_create(
        declaration,
        contract_id=contract.id,
        summary=f"{user.email}: {'conflict declared' if has_conflict else 'no conflict'}"
        + (f" (supersedes #{previous.id})" if previous else ""),
    )
    return declaration


def review(
    declaration: Declaration, reviewer: User, accepted: bool, comment: str | None
) -> Declaration:
    """Procurement accepts a declaration or asks for a new one (with a comment)."""
    before = audit.snapshot(declaration)
    declaration.status = (
        DeclarationStatus.ACCEPTED if accepted else DeclarationStatus.RENEWAL_REQUESTED
    )
    declaration.reviewed_by_id = reviewer.id
    declaration.reviewed_at = utcnow()
    declaration.review_comment = (comment or "").strip() or None
    audit.record_update(declaration, before, action="review", contract_id=declaration.contract_id)
    return declaration


def add_involved(
    contract: Contract, user: User, task: str | None, added_by: User
) -> InvolvedPerson:
    """Name a person as involved in the procurement, so they must declare."""
    row = InvolvedPerson(
        contract_id=contract.id,
        user_id=user.id,
        task=(task or "").strip() or None,
        added_by_id=added_by.id,
    )
    Session.add(row)
    audit.record_create(row, contract_id=contract.id, summary=f"{user.email} involved")
    return row


def remove_involved(row: InvolvedPerson) -> None:
    """Take back a person added by mistake (their declarations stay)."""
    audit.record_delete(row, contract_id=row.contract_id, summary=f"{row.user.email} not involved")
    Session.delete(row)
    Session.flush()


def candidates() -> list[User]:
    """Active people who can be named as involved (auditors cannot: they check, not buy)."""
    return list(
        Session.scalars(
            select(User)
            .where(User.is_active.is_(True), User.role != Role.AUDITOR)
            .order_by(User.name)
        )
    )
