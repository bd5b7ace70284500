"""Gain plans (what a contract should save or improve, from a baseline) and the gains
realised per period."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.auth.models import User
from contracts.db import Base, UTCDateTime, str_enum, utcnow
from contracts.register.models import Contract


class GainType(enum.StrEnum):
    """DFØ's and KS's kinds of gain: economic ones in NOK, qualitative ones measured."""

    LOWER_PRICE = "lower_price"
    AVOIDED_COST = "avoided_cost"
    TIME_SAVED = "time_saved"  # hours x hourly rate
    QUALITY = "quality"
    ENVIRONMENT = "environment"
    SOCIAL = "social"  # social responsibility, wage and working conditions
    INNOVATION = "innovation"


ECONOMIC_TYPES = frozenset({GainType.LOWER_PRICE, GainType.AVOIDED_COST, GainType.TIME_SAVED})


class GainMethod(enum.StrEnum):
    """How the realised gain is measured; the first three can be computed by the job."""

    PRO_RATA = "pro_rata"  # the yearly target, shared over the elapsed period
    PRICE_DIFFERENCE = "price_difference"  # (baseline - contract unit price) x volume
    HOURS = "hours"  # hours saved per year x hourly rate
    MANUAL = "manual"  # measured and recorded by people


COMPUTED_METHODS = frozenset({GainMethod.PRO_RATA, GainMethod.PRICE_DIFFERENCE, GainMethod.HOURS})


class PeriodKind(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


PERIOD_MONTHS = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}


class GainPlan(Base):
    """What one contract is expected to gain, measured from a baseline (nullpunkt)."""

    __tablename__ = "gain_plans"
    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("annual_volume IS NULL OR annual_volume >= 0", name="volume_non_negative"),
        CheckConstraint("hours_per_year IS NULL OR hours_per_year >= 0", name="hours_non_negative"),
        CheckConstraint("hourly_rate IS NULL OR hourly_rate >= 0", name="rate_non_negative"),
        Index("ix_gain_plans_contract", "contract_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    gain_type: Mapped[GainType] = mapped_column(str_enum(GainType, "gain_type"))
    description: Mapped[str] = mapped_column(Text)
    # The baseline (nullpunkt): value, date, source and what it describes.
    baseline_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    baseline_date: Mapped[date | None] = mapped_column(Date)
    baseline_source: Mapped[str | None] = mapped_column(String(300))
    baseline_description: Mapped[str | None] = mapped_column(Text)
    # NOK per year for economic gains; a quantity in `unit` for qualitative ones.
    target_per_year: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    unit: Mapped[str | None] = mapped_column(String(40))
    method: Mapped[GainMethod] = mapped_column(str_enum(GainMethod, "gain_method"))
    measurement: Mapped[str | None] = mapped_column(Text)  # how it is measured, in words
    # For price gains: unit prices before and in the contract, and the yearly volume.
    baseline_unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    contract_unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    annual_volume: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # For time saved.
    hours_per_year: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    hourly_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    entry_period: Mapped[PeriodKind] = mapped_column(
        str_enum(PeriodKind, "gain_period"), default=PeriodKind.MONTH
    )
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    contract: Mapped[Contract] = relationship()
    responsible: Mapped[User | None] = relationship(foreign_keys=[responsible_id])
    entries: Mapped[list[GainEntry]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="GainEntry.period_start"
    )

    @property
    def is_economic(self) -> bool:
        return self.gain_type in ECONOMIC_TYPES

    def __str__(self) -> str:
        return f"{self.contract.reference}: {self.description[:60]}"


class EntryStatus(enum.StrEnum):
    ESTIMATED = "estimated"
    CONFIRMED = "confirmed"


class EntrySource(enum.StrEnum):
    MANUAL = "manual"
    JOB = "job"  # estimated by the monthly gains job


class GainEntry(Base):
    """The gain realised in one period of a plan: one entry per plan and period."""

    __tablename__ = "gain_entries"
    __table_args__ = (
        UniqueConstraint("plan_id", "period_start", name="uq_gain_entries_plan_period"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint(
            "(status = 'confirmed') = (confirmed_at IS NOT NULL)", name="confirmed_iff_at"
        ),
        Index("ix_gain_entries_status", "status", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("gain_plans.id", ondelete="CASCADE"))
    period_kind: Mapped[PeriodKind] = mapped_column(str_enum(PeriodKind, "gain_period"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # NOK for economic gains (negative: a loss); a quantity in `unit` for qualitative ones.
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    unit: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[EntryStatus] = mapped_column(
        str_enum(EntryStatus, "gain_entry_status"), default=EntryStatus.ESTIMATED
    )
    source: Mapped[EntrySource] = mapped_column(
        str_enum(EntrySource, "gain_entry_source"), default=EntrySource.MANUAL
    )
    evidence: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    # Why a confirmed entry was changed afterwards (required for such a change).
    correction_reason: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    plan: Mapped[GainPlan] = relationship(back_populates="entries")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])

    def __str__(self) -> str:
        return f"{self.plan_id} {self.period_start:%m.%Y}"
