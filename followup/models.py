"""Category prioritisation, method templates, follow-up plans, activities and deviations."""

from __future__ import annotations

import enum
from datetime import date, datetime
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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.auth.models import User
from contracts.db import Base, UTCDateTime, str_enum, utcnow
from contracts.parties.models import Category
from contracts.register.models import Contract

# --- category prioritisation --------------------------------------------------------------


class Quadrant(enum.StrEnum):
    """Kraljic's matrix: supply risk against financial impact."""

    STRATEGIC = "strategic"  # high risk, high impact
    BOTTLENECK = "bottleneck"  # high risk, low impact
    LEVERAGE = "leverage"  # low risk, high impact
    NON_CRITICAL = "non_critical"  # low risk, low impact


class Criticality(enum.IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3


# A score from 1 to 5 counts as high from this value on.
HIGH_SCORE = 3
# Categories at or above this level are the critical ones that get plans first.
CRITICAL = Criticality.HIGH


def quadrant_for(supply_risk: int, financial_impact: int) -> Quadrant:
    high_risk, high_impact = supply_risk >= HIGH_SCORE, financial_impact >= HIGH_SCORE
    if high_risk:
        return Quadrant.STRATEGIC if high_impact else Quadrant.BOTTLENECK
    return Quadrant.LEVERAGE if high_impact else Quadrant.NON_CRITICAL


def criticality_for(supply_risk: int, financial_impact: int, wage_risk: int) -> Criticality:
    """Strategic categories, and any with a score of 4 or 5, are highly critical.

    A high risk of breaches of wage and working conditions alone makes a category
    critical: the municipality has a control duty for those contracts (FOA §7-2).
    """
    quadrant = quadrant_for(supply_risk, financial_impact)
    if quadrant == Quadrant.STRATEGIC or max(supply_risk, financial_impact, wage_risk) >= 4:
        return Criticality.HIGH
    if quadrant != Quadrant.NON_CRITICAL or wage_risk >= HIGH_SCORE:
        return Criticality.MEDIUM
    return Criticality.LOW


def _score(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} BETWEEN 1 AND 5", name=f"{column}_range")


class CategoryAssessment(Base):
    """A dated criticality assessment of a category; the newest one counts."""

    __tablename__ = "category_assessments"
    __table_args__ = (
        _score("supply_risk"),
        _score("financial_impact"),
        _score("wage_risk"),
        CheckConstraint("criticality BETWEEN 1 AND 3", name="criticality_range"),
        Index("ix_category_assessments_category", "category_id", "assessed_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    assessed_on: Mapped[date] = mapped_column(Date)
    supply_risk: Mapped[int] = mapped_column(Integer)
    financial_impact: Mapped[int] = mapped_column(Integer)
    wage_risk: Mapped[int] = mapped_column(Integer)
    rationale: Mapped[str] = mapped_column(Text)
    # Derived from the scores when saved, so lists can sort and filter on them.
    quadrant: Mapped[Quadrant] = mapped_column(str_enum(Quadrant, "quadrant"))
    criticality: Mapped[int] = mapped_column(Integer)
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    category: Mapped[Category] = relationship()
    assessed_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.category.name} {self.assessed_on:%d.%m.%Y}"


# --- method templates ---------------------------------------------------------------------


class ActivityKind(enum.StrEnum):
    START_UP_MEETING = "start_up_meeting"
    STATUS_MEETING = "status_meeting"
    QUALITY_REVIEW = "quality_review"  # KPI / quality
    PRICE_ADJUSTMENT = "price_adjustment"
    WAGE_CONDITIONS_CONTROL = "wage_conditions_control"
    RISK_REVIEW = "risk_review"
    OPTION_DECISION = "option_decision"
    END_EVALUATION = "end_evaluation"
    RETENDER_START = "retender_start"
    CUSTOM = "custom"


class Anchor(enum.StrEnum):
    """The contract date a rule counts from."""

    START = "start"
    END = "end"  # the current end date (end date plus exercised options)
    OPTION_DEADLINE = "option_deadline"  # each undecided option's deadline
    NOTICE_DEADLINE = "notice_deadline"  # the last day to give notice
    ANNIVERSARY = "anniversary"  # every year on the start date
    PRICE_ADJUSTMENT = "price_adjustment"  # the 1st of the price-adjustment month, yearly


class Recurrence(enum.StrEnum):
    ONCE = "once"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"


RECURRENCE_MONTHS = {
    Recurrence.ONCE: 0,
    Recurrence.MONTHLY: 1,
    Recurrence.QUARTERLY: 3,
    Recurrence.HALF_YEARLY: 6,
    Recurrence.YEARLY: 12,
}


class ResponsibleRole(enum.StrEnum):
    OWNER = "owner"  # avtaleeier
    MANAGER = "manager"  # kontraktsforvalter
    PROCUREMENT = "procurement"  # the procurement office


class MethodTemplate(Base):
    """One version of a method template. Editing makes a new version; old ones stay,
    because plans remember the version they were built from."""

    __tablename__ = "method_templates"
    __table_args__ = (
        UniqueConstraint("family", "version", name="uq_method_templates_family_version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Versions of the same template share a family name (a stable key).
    family: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    change_note: Mapped[str | None] = mapped_column(String(300))
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rules: Mapped[list[TemplateRule]] = relationship(
        back_populates="template",
        cascade="all, delete-orphan",
        order_by="TemplateRule.position",
    )
    created_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class TemplateRule(Base):
    """One activity rule: what to do, counted from which date, how often, by whom, when."""

    __tablename__ = "template_rules"
    __table_args__ = (
        CheckConstraint("offset_days BETWEEN -1100 AND 1100", name="offset_range"),
        CheckConstraint(
            "min_criticality IS NULL OR min_criticality BETWEEN 1 AND 3", name="min_crit_range"
        ),
        CheckConstraint(
            "max_criticality IS NULL OR max_criticality BETWEEN 1 AND 3", name="max_crit_range"
        ),
        CheckConstraint("min_value IS NULL OR min_value >= 0", name="min_value_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("method_templates.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[ActivityKind] = mapped_column(str_enum(ActivityKind, "activity_kind"))
    title: Mapped[str] = mapped_column(String(200))
    guidance: Mapped[str | None] = mapped_column(Text)
    # One checklist item per line (e.g. DFØ's control steps for wage conditions).
    checklist: Mapped[str | None] = mapped_column(Text)
    anchor: Mapped[Anchor] = mapped_column(str_enum(Anchor, "anchor"))
    offset_days: Mapped[int] = mapped_column(Integer, default=0)
    recurrence: Mapped[Recurrence] = mapped_column(
        str_enum(Recurrence, "recurrence"), default=Recurrence.ONCE
    )
    responsible: Mapped[ResponsibleRole] = mapped_column(
        str_enum(ResponsibleRole, "responsible_role")
    )
    only_framework: Mapped[bool] = mapped_column(Boolean, default=False)
    only_wage_conditions: Mapped[bool] = mapped_column(Boolean, default=False)
    min_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    min_criticality: Mapped[int | None] = mapped_column(Integer)
    max_criticality: Mapped[int | None] = mapped_column(Integer)

    template: Mapped[MethodTemplate] = relationship(back_populates="rules")

    def __str__(self) -> str:
        return self.title


# --- plans, activities, deviations --------------------------------------------------------


class FollowUpPlan(Base):
    """A contract's follow-up plan, built from one version of a method template."""

    __tablename__ = "followup_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), unique=True
    )
    template_id: Mapped[int] = mapped_column(ForeignKey("method_templates.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    contract: Mapped[Contract] = relationship()
    template: Mapped[MethodTemplate] = relationship()
    activities: Mapped[list[Activity]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        order_by="(Activity.due_date, Activity.id)",
    )

    def __str__(self) -> str:
        return f"{self.contract.reference}: {self.template}"


class ActivityStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"  # with a reason


class Activity(Base):
    """A dated task in a plan. Rule and occurrence say where it came from, so rebuilding
    the plan after the contract's dates change can match it."""

    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("plan_id", "rule_id", "occurrence", name="uq_activities_rule_occurrence"),
        Index("ix_activities_due", "status", "due_date"),
        Index("ix_activities_responsible", "responsible_id", "status", "due_date"),
        Index("ix_activities_contract", "contract_id", "status", "due_date"),
        CheckConstraint("(status = 'open') = (completed_at IS NULL)", name="completed_iff_closed"),
        CheckConstraint(
            "status != 'skipped' OR skip_reason IS NOT NULL", name="skipped_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("followup_plans.id", ondelete="CASCADE"))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("template_rules.id", ondelete="SET NULL")
    )
    occurrence: Mapped[int | None] = mapped_column(Integer)  # 0, 1, 2 … within the rule
    kind: Mapped[ActivityKind] = mapped_column(str_enum(ActivityKind, "activity_kind"))
    title: Mapped[str] = mapped_column(String(200))
    guidance: Mapped[str | None] = mapped_column(Text)
    checklist: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[date] = mapped_column(Date)
    responsible_role: Mapped[ResponsibleRole] = mapped_column(
        str_enum(ResponsibleRole, "responsible_role")
    )
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[ActivityStatus] = mapped_column(
        str_enum(ActivityStatus, "activity_status"), default=ActivityStatus.OPEN
    )
    skip_reason: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(500))
    attachment_name: Mapped[str | None] = mapped_column(String(255))
    attachment_key: Mapped[str | None] = mapped_column(String(64))  # file in instance/
    # Set when someone moved the date or changed who is responsible by hand: a rebuild
    # after the contract's dates change leaves it as it is.
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[FollowUpPlan] = relationship(back_populates="activities")
    contract: Mapped[Contract] = relationship()
    responsible_user: Mapped[User | None] = relationship(foreign_keys=[responsible_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])

    def is_overdue(self, today: date) -> bool:
        return self.status == ActivityStatus.OPEN and self.due_date < today

    def __str__(self) -> str:
        return f"{self.title} {self.due_date:%d.%m.%Y}"


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Consequence(enum.StrEnum):
    """What the municipality did about a deviation (the contract's remedies)."""

    NONE = "none"
    NOTICE = "notice"  # reklamasjon
    REMEDY = "remedy"  # krav om utbedring
    LIQUIDATED_DAMAGES = "liquidated_damages"  # dagbot
    PRICE_REDUCTION = "price_reduction"  # prisavslag
    DAMAGES = "damages"  # erstatning
    TERMINATION = "termination"  # heving
    OTHER = "other"


class DeviationStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Deviation(Base):
    """A breach or quality problem (avvik) on a contract, and what was done about it."""

    __tablename__ = "deviations"
    __table_args__ = (
        Index("ix_deviations_contract", "contract_id", "status"),
        CheckConstraint(
            "(status = 'closed') = (closed_on IS NOT NULL)", name="closed_on_iff_closed"
        ),
        CheckConstraint("closed_on IS NULL OR closed_on >= occurred_on", name="closed_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    occurred_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "deviation_severity"))
    consequence: Mapped[Consequence] = mapped_column(
        str_enum(Consequence, "deviation_consequence"), default=Consequence.NONE
    )
    status: Mapped[DeviationStatus] = mapped_column(
        str_enum(DeviationStatus, "deviation_status"), default=DeviationStatus.OPEN
    )
    closed_on: Mapped[date | None] = mapped_column(Date)
    resolution: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contract: Mapped[Contract] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.contract.reference}: {self.description[:60]}"
