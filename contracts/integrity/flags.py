"""Red flags (røde flagg): rule-based integrity warnings, kept so auditors can acknowledge
them.

Each rule (contracts/integrity/flag_rules.py) finds its cases with a fixed number of
grouped queries over the whole register and returns Findings; recompute() turns them into
RedFlag rows: new ones are added, ones still found get last_seen_on, ones no longer found
get resolved_on (and are opened again if they come back). Running it twice on a day
changes nothing the second time.
"""

from __future__ import annotations

import bisect
import enum
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import LazyString
from sqlalchemy import JSON, Date, ForeignKey, Index, Select, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.audit import services as audit
from contracts.auth.models import User
from contracts.db import Base, Session, UTCDateTime, utcnow
from contracts.parties.models import Category, CategoryKind, Supplier
from contracts.register.models import Contract
from contracts.rules.models import Threshold, ThresholdKind


class Severity(enum.StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


DEFAULT_SUPPLIER_SHARE = "0.5"
SEVERITY_ORDER = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}


class RedFlag(Base):
    """One finding of one rule, from the first day it was seen until it is resolved."""

    __tablename__ = "red_flags"
    __table_args__ = (
        Index("ix_red_flags_rule", "rule", "resolved_on"),
        Index("ix_red_flags_contract_id", "contract_id", "resolved_on"),
        Index("ix_red_flags_supplier_id", "supplier_id"),
        Index("ix_red_flags_resolved_on", "resolved_on", "first_seen_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable identity of the finding (rule and subject), so a rerun finds the same row.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    rule: Mapped[str] = mapped_column(String(40))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    other_contract_ids: Mapped[list[int] | None] = mapped_column(JSON)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen_on: Mapped[date] = mapped_column(Date)
    last_seen_on: Mapped[date] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledgement: Mapped[str | None] = mapped_column(Text)

    contract: Mapped[Contract | None] = relationship()
    supplier: Mapped[Supplier | None] = relationship()
    category: Mapped[Category | None] = relationship()
    acknowledged_by: Mapped[User | None] = relationship()

    @property
    def definition(self) -> Rule | None:
        return RULES.get(self.rule)

    @property
    def is_open(self) -> bool:
        return self.resolved_on is None


# --- thresholds by date ------------------------------------------------------------------


class Thresholds:
    """Every dated threshold value, read once; value(kind, day) is the one in force."""

    def __init__(self) -> None:
        self._dates: dict[ThresholdKind, list[date]] = defaultdict(list)
        self._values: dict[ThresholdKind, list[Decimal]] = defaultdict(list)
        for row in Session.scalars(select(Threshold).order_by(Threshold.valid_from)):
            self._dates[row.kind].append(row.valid_from)
            self._values[row.kind].append(row.value)

    def value(self, kind: ThresholdKind, day: date | None) -> Decimal | None:
        if day is None:
            return None
        at = bisect.bisect_right(self._dates[kind], day)
        return self._values[kind][at - 1] if at else None

    def national(self, day: date | None) -> Decimal | None:
        return self.value(ThresholdKind.NATIONAL, day)

    def eea(self, kind: CategoryKind, day: date | None) -> Decimal | None:
        eea = (
            ThresholdKind.EEA_WORKS
            if kind == CategoryKind.WORKS
            else ThresholdKind.EEA_GOODS_SERVICES
        )
        return self.value(eea, day)


# --- rules -------------------------------------------------------------------------------


@dataclass
class Finding:
    """What a rule found about one subject (a contract, or a supplier in a category)."""

    key: str
    contract_id: int | None = None
    other_contract_ids: list[int] | None = None
    supplier_id: int | None = None
    category_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What every rule gets: the day, the thresholds, the app's settings, and a place for
    rows that several rules read (so the register is read once)."""

    today: date
    thresholds: Thresholds
    supplier_share: Decimal
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """A red-flag rule: code, explanation (English source, shown in Norwegian), the legal
    reference, a severity and the function that finds its cases."""

    code: str
    title: LazyString | str
    explanation: LazyString | str
    legal_reference: str
    severity: Severity
    find: Callable[[Context], list[Finding]]


RULES: dict[str, Rule] = {}


def add_rule(rule: Rule) -> Rule:
    RULES[rule.code] = rule
    return rule


# Evidence that a contract is still used: other packages (follow-up activities, gain
# entries) add a function today -> Select of (contract_id, day used) rows, limited to the
# contracts whose latest possible end is before today; the register does not import them.
UsageSource = Callable[[date], Select]
USAGE_SOURCES: dict[str, UsageSource] = {}


def add_usage_source(name: str, source: UsageSource) -> None:
    USAGE_SOURCES[name] = source


# --- computing and keeping the flags ------------------------------------------------------


def supplier_share() -> Decimal:
    """RED_FLAG_SUPPLIER_SHARE: the share of a category above which a supplier is flagged."""
    return Decimal(str(current_app.config.get("RED_FLAG_SUPPLIER_SHARE", DEFAULT_SUPPLIER_SHARE)))


def compute(today: date, supplier_share: Decimal) -> dict[str, tuple[str, Finding]]:
    """Every rule's findings by key: key -> (rule code, finding)."""
    from contracts.integrity import flag_rules  # noqa: F401  (fills RULES)

    context = Context(today, Thresholds(), supplier_share)
    found: dict[str, tuple[str, Finding]] = {}
    for code, rule in RULES.items():
        for finding in rule.find(context):
            found[finding.key] = (code, finding)
    return found


def recompute(today: date, share: Decimal | None = None) -> dict[str, int]:
    """Bring the kept flags in line with what the rules find today (flushes, audits one
    event when anything changed; the caller commits)."""
    found = compute(today, share if share is not None else supplier_share())
    # Every kept flag in one query (resolved ones too, so a finding that comes back
    # reopens its row instead of colliding with the unique key).
    existing = {flag.key: flag for flag in Session.scalars(select(RedFlag))}
    counts = {"new": 0, "reopened": 0, "resolved": 0, "open": len(found)}
    for key, (code, finding) in found.items():
        flag = existing.get(key)
        if flag is None:
            Session.add(
                RedFlag(
                    key=key,
                    rule=code,
                    contract_id=finding.contract_id,
                    other_contract_ids=finding.other_contract_ids,
                    supplier_id=finding.supplier_id,
                    category_id=finding.category_id,
                    details=finding.details,
                    first_seen_on=today,
                    last_seen_on=today,
                )
            )
            counts["new"] += 1
            continue
        if flag.resolved_on is not None:
            flag.resolved_on = None
            counts["reopened"] += 1
        if flag.last_seen_on != today:
            flag.last_seen_on = today
        if flag.details != finding.details:
            flag.details = finding.details
        if flag.other_contract_ids != finding.other_contract_ids:
            flag.other_contract_ids = finding.other_contract_ids
    for key, flag in existing.items():
        if key not in found and flag.resolved_on is None:
            flag.resolved_on = today
            counts["resolved"] += 1
    Session.flush()
    if counts["new"] or counts["reopened"] or counts["resolved"]:
        audit.record(
            "recompute",
            entity_type="red_flags",
            summary=(
                f"Red flags {today}: {counts['new']} new, {counts['reopened']} reopened, "
                f"{counts['resolved']} resolved, {counts['open']} open"
            ),
            after=counts | {"today": today.isoformat()},
        )
    return counts


def acknowledge(flag: RedFlag, user: User, comment: str) -> RedFlag:
    """An auditor or the office has seen the flag and says why or what is done (audited)."""
    comment = comment.strip()
    if not comment:
        raise ValueError("an acknowledgement needs a comment")
    before = audit.snapshot(flag)
    flag.acknowledged_by_id = user.id
    flag.acknowledged_at = utcnow()
    flag.acknowledgement = comment
    audit.record_update(
        flag,
        before,
        action="acknowledge",
        contract_id=flag.contract_id,
        summary=f"{flag.rule}: {comment}",
    )
    return flag


def open_flags_for(contract_id: int) -> list[RedFlag]:
    """The contract's open flags, its own and those that name it among others."""
    flags = Session.scalars(
        select(RedFlag)
        .where(RedFlag.resolved_on.is_(None))
        .where(RedFlag.contract_id == contract_id)
    ).all()
    return sorted(flags, key=lambda f: (SEVERITY_ORDER[f.definition.severity], f.rule))
