"""The priority list and the worklist: which categories, and then which contracts, get
follow-up plans first.

Every figure comes from a fixed number of grouped queries, however many categories and
contracts there are (100 000 contracts must not mean one query per category or contract).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Numeric,
    Select,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.functions import FunctionElement

from contracts.auth.models import User
from contracts.db import Session
from contracts.parties.models import Category
from contracts.register.models import Contract, ContractStatus
from contracts.register.search import status_filter
from contracts.register.services import visible_contracts
from followup import services
from followup.models import (
    CRITICAL,
    Activity,
    ActivityKind,
    ActivityStatus,
    CategoryAssessment,
    Deviation,
    DeviationStatus,
    FollowUpPlan,
    MethodTemplate,
)
from followup.planning import ContractFacts, schedule

# Contracts read per query when previewing a bulk build (as services.build_plans does).
PREVIEW_BATCH = 500


class days_between(FunctionElement):  # noqa: N801  (reads like the SQL it compiles to)
    """end - start in days; SQLite has no date arithmetic, PostgreSQL subtracts dates."""

    type = Float()
    inherit_cache = True


@compiles(days_between)
def _days_between(element: days_between, compiler: Any, **kw: Any) -> str:
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return f"({end} - {start})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({end}) - julianday({start}))"


def annual_value() -> ColumnElement[Decimal]:
    """A contract's value per year: its annual value, else its estimated total value spread
    over the years from start to the latest possible end (options included, as the
    estimate includes them). A contract of under a year, or without an end date, counts
    its whole estimate as one year's value. Unknown values count as nothing."""
    days = days_between(Contract.max_end_date, Contract.start_date) + 1
    years = case(
        (Contract.max_end_date.is_(None), literal_column("1")),
        (days < 365, literal_column("1")),
        else_=days / literal_column("365.25"),
    )
    spread = func.coalesce(Contract.annual_value, Contract.estimated_value / years)
    return type_coerce(func.coalesce(spread, 0), Numeric(16, 2))


def in_force(today: date) -> ColumnElement[bool]:
    """Signed, not terminated and not yet expired: active, or expiring within 180 days.

    Expiring contracts count as active here: they are still running and owe their most
    important follow-up (end evaluation, the next competition).
    """
    return or_(
        status_filter(ContractStatus.ACTIVE, today),
        status_filter(ContractStatus.EXPIRING, today),
    )


@dataclass
class CategoryPriority:
    """One row of the priority list."""

    category: Category
    assessment: CategoryAssessment | None = None
    active: int = 0
    with_plan: int = 0
    annual_value: Decimal = Decimal(0)
    overdue: int = 0
    open_deviations: int = 0

    @property
    def criticality(self) -> int | None:
        return self.assessment.criticality if self.assessment else None

    @property
    def is_critical(self) -> bool:
        return self.criticality is not None and self.criticality >= CRITICAL

    @property
    def without_plan(self) -> int:
        return self.active - self.with_plan

    def sort_key(self) -> tuple:
        # Highest criticality first, unassessed last; then the largest annual value.
        return (-(self.criticality or 0), -self.annual_value, self.category.name.lower())


def _money(value: Any) -> Decimal:
    """SQLite sums as float: whole kroner are precise enough to rank by."""
    return Decimal(str(value or 0)).quantize(Decimal(1))


def priorities(user: User, today: date) -> list[CategoryPriority]:
    """Every category with its newest assessment and the figures of its contracts, most
    critical first (see CategoryPriority.sort_key). Five queries in all."""
    visible = visible_contracts(user).whereclause
    rows = {
        c.id: CategoryPriority(c) for c in Session.scalars(select(Category).order_by(Category.name))
    }
    for assessment in Session.scalars(services.latest_assessments()):
        rows[assessment.category_id].assessment = assessment

    contracts = Session.execute(
        select(
            Contract.category_id,
            func.count(Contract.id),
            func.count(FollowUpPlan.id),
            func.sum(annual_value()),
        )
        .outerjoin(FollowUpPlan, FollowUpPlan.contract_id == Contract.id)
        .where(visible, in_force(today))
        .group_by(Contract.category_id)
    )
    for category_id, active, with_plan, value in contracts:
        row = rows[category_id]
        row.active, row.with_plan, row.annual_value = active, with_plan, _money(value)

    # Overdue work and open deviations count on every contract of the category, expired
    # ones included: the work is still owed and the deviation still open.
    # Counted per contract first: SQLite then reads the activities' index once instead of
    # probing it for each of 100 000 contracts (120 ms -> 30 ms).
    per_contract = (
        select(Activity.contract_id, func.count().label("n"))
        .where(Activity.status == ActivityStatus.OPEN, Activity.due_date < today)
        .group_by(Activity.contract_id)
        .subquery()
    )
    overdue = Session.execute(
        select(Contract.category_id, func.sum(per_contract.c.n))
        .join(per_contract, per_contract.c.contract_id == Contract.id)
        .where(visible)
        .group_by(Contract.category_id)
    )
    for category_id, count in overdue:
        rows[category_id].overdue = count
    deviations = Session.execute(
        select(Contract.category_id, func.count(Deviation.id))
        .join(Deviation, Deviation.contract_id == Contract.id)
        .where(visible, Deviation.status == DeviationStatus.OPEN)
        .group_by(Contract.category_id)
    )
    for category_id, count in deviations:
        rows[category_id].open_deviations = count
    return sorted(rows.values(), key=CategoryPriority.sort_key)


def critical(rows: Sequence[CategoryPriority]) -> list[CategoryPriority]:
    """The critical categories, in priority order."""
    return [row for row in rows if row.is_critical]


def worklist(
    rows: Sequence[CategoryPriority], user: User, today: date, category_id: int | None = None
) -> Select:
    """Active contracts in critical categories without a plan, in the order they should
    get one: the category's place in the priority list, then the contract's annual value
    (largest first). Optionally only one category."""
    ranked = [r for r in critical(rows) if category_id is None or r.category.id == category_id]
    query = services.contracts_without_plan(visible_contracts(user)).where(in_force(today))
    if not ranked:
        return query.where(false())
    rank = case({row.category.id: i for i, row in enumerate(ranked)}, value=Contract.category_id)
    return query.where(Contract.category_id.in_([row.category.id for row in ranked])).order_by(
        rank, annual_value().desc(), func.coalesce(Contract.estimated_value, 0).desc(), Contract.id
    )


def count(query: Select) -> int:
    return (
        Session.scalar(
            query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
        )
        or 0
    )


def page_of(query: Select, page: int, page_size: int) -> list[Contract]:
    return list(Session.scalars(query.limit(page_size).offset((page - 1) * page_size)))


def contract_ids(query: Select) -> list[int]:
    return list(Session.scalars(query.with_only_columns(Contract.id)))


@dataclass
class BuildPreview:
    """What building plans for these contracts would create (nothing is written)."""

    contracts: int = 0
    activities: int = 0
    by_kind: Counter[ActivityKind] = field(default_factory=Counter)


def preview_build(ids: Sequence[int], template: MethodTemplate, today: date) -> BuildPreview:
    """Count the plans and activities services.build_plans would create, with the same
    scheduling, reading the contracts in batches."""
    rules = list(template.rules)
    levels = services.criticality_by_category()
    result = BuildPreview()
    for start in range(0, len(ids), PREVIEW_BATCH):
        contracts = Session.scalars(
            services.contracts_without_plan(select(Contract))
            .where(Contract.id.in_(ids[start : start + PREVIEW_BATCH]))
            .options(selectinload(Contract.options))
        ).all()
        for contract in contracts:
            facts = ContractFacts.of(contract, levels.get(contract.category_id))
            planned = schedule(rules, facts, today, since=today)
            result.contracts += 1
            result.activities += len(planned)
            result.by_kind.update(ActivityKind(p.rule.kind) for p in planned)
            # Let go of what was read, so a large preview does not hold every contract.
            for option in contract.options:
                Session.expunge(option)
            Session.expunge(contract)
    return result


def assessment_history(category_id: int) -> list[CategoryAssessment]:
    """A category's assessments, newest first (the first one counts)."""
    return list(
        Session.scalars(
            select(CategoryAssessment)
            .where(CategoryAssessment.category_id == category_id)
            .order_by(CategoryAssessment.assessed_on.desc(), CategoryAssessment.id.desc())
            .options(selectinload(CategoryAssessment.assessed_by))
        )
    )
