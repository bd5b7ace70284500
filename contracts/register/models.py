"""Contracts, their options (opsjoner) and amendments (endringer)."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.auth.models import User
from contracts.db import Base, UTCDateTime, non_negative, str_enum, utcnow
from contracts.parties.models import Category, Supplier, Unit
from contracts.register.dates import add_months
from contracts.rules.models import Procedure

# A contract whose current end lies within this many days counts as expiring.
EXPIRING_WITHIN_DAYS = 180
# The sort key of contracts without an end date: after every real date.
OPEN_ENDED = date(9999, 12, 31)


class ContractStatus(enum.StrEnum):
    """Derived from dates; never stored."""

    DRAFT = "draft"
    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class OptionDecision(enum.StrEnum):
    """Whether an option (extension) has been used."""

    PENDING = "pending"
    EXERCISED = "exercised"
    DECLINED = "declined"


class Contract(Base):
    """One signed agreement (kontrakt/avtale) in the register."""

    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        CheckConstraint(
            "price_adjustment_month IS NULL OR price_adjustment_month BETWEEN 1 AND 12",
            name="price_adjustment_month_range",
        ),
        non_negative("estimated_value"),
        non_negative("annual_value"),
        non_negative("notice_months"),
        # References are unique among contracts that are not deleted, so a deleted
        # contract's reference can be reused and the deletion undone only if still free.
        Index(
            "uq_contracts_reference_live",
            "reference",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # Sort by end and, covering the status columns, count a status without the table
        # (on SQLite: 100 ms -> 4 ms for "active" at 100 000 contracts).
        Index(
            "ix_contracts_end_sort_date",
            "end_sort_date",
            "id",
            "signed_on",
            "terminated_on",
            "deleted_at",
        ),
        Index("ix_contracts_deleted_at", "deleted_at"),
        Index("ix_contracts_title", "title", "id"),
        Index("ix_contracts_estimated_value", "estimated_value", "id"),
        Index("ix_contracts_supplier_id", "supplier_id"),
        Index("ix_contracts_category_id", "category_id"),
        Index("ix_contracts_unit_id", "unit_id"),
        Index("ix_contracts_owner_id", "owner_id"),
        Index("ix_contracts_manager_id", "manager_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    procedure: Mapped[Procedure] = mapped_column(
        str_enum(Procedure, "procedure"), default=Procedure.UNKNOWN
    )
    is_framework: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    estimated_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    annual_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    signed_on: Mapped[date | None] = mapped_column(Date)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    notice_months: Mapped[int | None] = mapped_column(Integer)
    price_adjustment_index: Mapped[str | None] = mapped_column(String(120))
    price_adjustment_month: Mapped[int | None] = mapped_column(Integer)
    has_wage_conditions: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    is_confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    notes: Mapped[str | None] = mapped_column(Text)
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(Text)

    # Derived from end date, options and termination; stored so lists can filter and sort
    # on them with an index. Kept current by services.refresh_derived().
    current_end_date: Mapped[date | None] = mapped_column(Date)
    max_end_date: Mapped[date | None] = mapped_column(Date)
    # current_end_date with open-ended contracts as OPEN_ENDED: a NOT NULL key lets the
    # status filters and the sort by end use one index range (an OR IS NULL cannot).
    end_sort_date: Mapped[date] = mapped_column(Date)
    # Lower-cased reference, title, supplier name and organisation number for search;
    # Python's lower() folds Æ/Ø/Å, which SQLite's lower() does not.
    search_text: Mapped[str] = mapped_column(String(700), default="")

    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    supplier: Mapped[Supplier] = relationship(lazy="joined", innerjoin=True)
    category: Mapped[Category] = relationship(lazy="joined", innerjoin=True)
    unit: Mapped[Unit] = relationship(lazy="joined", innerjoin=True)
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id])
    options: Mapped[list[ContractOption]] = relationship(
        back_populates="contract",
        cascade="all, delete-orphan",
        order_by="ContractOption.exercise_deadline",
        passive_deletes=True,
    )
    amendments: Mapped[list[Amendment]] = relationship(
        back_populates="contract",
        cascade="all, delete-orphan",
        order_by="Amendment.amended_on",
        passive_deletes=True,
    )

    __mapper_args__ = {"version_id_col": version}

    def status(self, today: date) -> ContractStatus:
        """The status on a given day, from signing, termination and end dates."""
        if self.signed_on is None:
            return ContractStatus.DRAFT
        if self.terminated_on is not None and self.terminated_on <= today:
            return ContractStatus.TERMINATED
        if self.current_end_date is not None:
            if self.current_end_date < today:
                return ContractStatus.EXPIRED
            if self.current_end_date <= today + timedelta(days=EXPIRING_WITHIN_DAYS):
                return ContractStatus.EXPIRING
        return ContractStatus.ACTIVE

    @property
    def last_notice_day(self) -> date | None:
        """The last day notice can be given so the contract ends at its current end."""
        if self.current_end_date is None or self.notice_months is None:
            return None
        return add_months(self.current_end_date, -self.notice_months)

    @property
    def next_option(self) -> ContractOption | None:
        """The pending option with the earliest exercise deadline."""
        pending = [o for o in self.options if o.decision == OptionDecision.PENDING]
        return min(pending, key=lambda o: o.exercise_deadline, default=None)

    @property
    def total_amendment_value(self) -> Decimal:
        return sum((a.value_change or Decimal(0) for a in self.amendments), Decimal(0))

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"


class ContractOption(Base):
    """An option to extend the contract by some months, to be used before a deadline."""

    __tablename__ = "contract_options"
    __table_args__ = (
        CheckConstraint("extension_months > 0", name="extension_positive"),
        CheckConstraint(
            "(decision = 'pending') = (decided_on IS NULL)", name="decided_on_iff_decided"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    extension_months: Mapped[int] = mapped_column(Integer)
    exercise_deadline: Mapped[date] = mapped_column(Date, index=True)
    decision: Mapped[OptionDecision] = mapped_column(
        str_enum(OptionDecision, "option_decision"), default=OptionDecision.PENDING
    )
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    contract: Mapped[Contract] = relationship(back_populates="options")
    decided_by: Mapped[User | None] = relationship(lazy="joined")


class Amendment(Base):
    """A dated change to the contract (endring), with its effect on the value."""

    __tablename__ = "amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    amended_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    value_change: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contract: Mapped[Contract] = relationship(back_populates="amendments")
