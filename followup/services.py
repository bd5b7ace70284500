"""Follow-up operations: assess categories, keep templates, build and rebuild plans,
complete activities, record deviations. Services flush and audit; views commit once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, insert, select
from sqlalchemy.orm import selectinload

from contracts.audit import services as audit
from contracts.auth.models import Role, User
from contracts.db import Session, utcnow
from contracts.register.models import Contract
from contracts.register.services import visible_contracts
from followup.models import (
    Activity,
    ActivityStatus,
    CategoryAssessment,
    Deviation,
    DeviationStatus,
    FollowUpPlan,
    MethodTemplate,
    ResponsibleRole,
    TemplateRule,
    criticality_for,
    quadrant_for,
)
from followup.planning import ContractFacts, Planned, schedule

DEFAULT_FAMILY = "dfo-standard"
# Columns of a rule copied into each new version of a template.
RULE_FIELDS = (
    "kind",
    "title",
    "guidance",
    "checklist",
    "anchor",
    "offset_days",
    "recurrence",
    "responsible",
    "only_framework",
    "only_wage_conditions",
    "min_value",
    "min_criticality",
    "max_criticality",
)


# --- category assessments -----------------------------------------------------------------


def assess_category(
    category_id: int,
    *,
    assessed_on: date,
    supply_risk: int,
    financial_impact: int,
    wage_risk: int,
    rationale: str,
    assessed_by: User | None,
) -> CategoryAssessment:
    assessment = CategoryAssessment(
        category_id=category_id,
        assessed_on=assessed_on,
        supply_risk=supply_risk,
        financial_impact=financial_impact,
        wage_risk=wage_risk,
        rationale=rationale.strip(),
        quadrant=quadrant_for(supply_risk, financial_impact),
        criticality=int(criticality_for(supply_risk, financial_impact, wage_risk)),
        assessed_by_id=assessed_by.id if assessed_by else None,
    )
    Session.add(assessment)
    Session.flush()
    audit.record_create(assessment, summary=str(assessment))
    return assessment


def latest_assessments() -> Select:
    """The newest assessment of each category (by date, then by id)."""
    newest = (
        select(
            CategoryAssessment.id,
            func.row_number()
            .over(
                partition_by=CategoryAssessment.category_id,
                order_by=(CategoryAssessment.assessed_on.desc(), CategoryAssessment.id.desc()),
            )
            .label("rank"),
        )
    ).subquery()
    return select(CategoryAssessment).join(
        newest, and_(newest.c.id == CategoryAssessment.id, newest.c.rank == 1)
    )


def criticality_by_category() -> dict[int, int]:
    return {a.category_id: a.criticality for a in Session.scalars(latest_assessments())}


# --- templates ----------------------------------------------------------------------------


def current_templates() -> list[MethodTemplate]:
    return list(
        Session.scalars(
            select(MethodTemplate)
            .where(MethodTemplate.is_current.is_(True))
            .order_by(MethodTemplate.family != DEFAULT_FAMILY, MethodTemplate.name)
        )
    )


def default_template() -> MethodTemplate | None:
    return Session.scalar(
        select(MethodTemplate).where(
            MethodTemplate.family == DEFAULT_FAMILY, MethodTemplate.is_current.is_(True)
        )
    )


def rule_values(rule: TemplateRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


def new_version(
    template: MethodTemplate,
    rules: Sequence[dict[str, Any]],
    *,
    change_note: str,
    user: User | None,
    name: str | None = None,
    description: str | None = None,
) -> MethodTemplate:
    """Save a template's next version with these rules; the old version stays for the
    plans built from it."""
    template.is_current = False
    version = MethodTemplate(
        family=template.family,
        version=template.version + 1,
        name=name or template.name,
        description=template.description if description is None else description,
        change_note=change_note,
        is_current=True,
        created_by_id=user.id if user else None,
        rules=[TemplateRule(position=i, **values) for i, values in enumerate(rules)],
    )
    Session.add(version)
    Session.flush()
    audit.record(
        "create",
        version,
        summary=f"{version} ({change_note})",
        after={**audit.snapshot(version), "rules": [_plain_rule(r) for r in version.rules]},
    )
    return version


def create_template(
    *, family: str, name: str, description: str | None, user: User | None
) -> MethodTemplate:
    template = MethodTemplate(
        family=family,
        version=1,
        name=name,
        description=description,
        is_current=True,
        created_by_id=user.id if user else None,
    )
    Session.add(template)
    Session.flush()
    audit.record_create(template, summary=str(template))
    return template


def _plain_rule(rule: TemplateRule) -> dict[str, Any]:
    return {name: audit.snapshot(rule).get(name) for name in RULE_FIELDS}


# --- plans --------------------------------------------------------------------------------


def facts_for(contract: Contract, criticality: dict[int, int] | None = None) -> ContractFacts:
    levels = criticality if criticality is not None else criticality_by_category()
    return ContractFacts.of(contract, levels.get(contract.category_id))


def preview(contract: Contract, template: MethodTemplate, today: date) -> list[Planned]:
    """The activities a plan from this template would get, due from today on."""
    return schedule(template.rules, facts_for(contract), today, since=today)


def responsible_for(contract: Contract, role: ResponsibleRole) -> int | None:
    """The person who does an activity: the owner, or the manager (else the owner); the
    procurement office is no single person."""
    if role == ResponsibleRole.OWNER:
        return contract.owner_id
    if role == ResponsibleRole.MANAGER:
        return contract.manager_id or contract.owner_id
    return None


def _activity_values(contract_id: int, owner_id, manager_id, item: Planned) -> dict[str, Any]:
    rule = item.rule
    role = ResponsibleRole(rule.responsible)
    responsible = {
        ResponsibleRole.OWNER: owner_id,
        ResponsibleRole.MANAGER: manager_id or owner_id,
    }.get(role)
    return {
        "contract_id": contract_id,
        "rule_id": item.rule_id,
        "occurrence": item.occurrence,
        "kind": rule.kind,
        "title": rule.title,
        "guidance": rule.guidance,
        "checklist": rule.checklist,
        "due_date": item.due,
        "responsible_role": role,
        "responsible_id": responsible,
        "status": ActivityStatus.OPEN,
        "edited": False,
    }


def plan_for(contract_id: int) -> FollowUpPlan | None:
    return Session.scalar(select(FollowUpPlan).where(FollowUpPlan.contract_id == contract_id))


class PlanExistsError(ValueError):
    """The contract already has a plan."""


def build_plan(
    contract: Contract, template: MethodTemplate, today: date, user: User | None
) -> FollowUpPlan:
    """Give one contract a plan from a template, with its activities due from today."""
    if plan_for(contract.id) is not None:
        raise PlanExistsError(contract.reference)
    plan = FollowUpPlan(
        contract_id=contract.id,
        template_id=template.id,
        created_by_id=user.id if user else None,
    )
    Session.add(plan)
    for item in preview(contract, template, today):
        values = _activity_values(contract.id, contract.owner_id, contract.manager_id, item)
        plan.activities.append(Activity(**values))
    Session.flush()
    audit.record_create(
        plan,
        contract_id=contract.id,
        summary=f"{template}: {len(plan.activities)} aktiviteter",
    )
    return plan


@dataclass
class BulkResult:
    plans: int = 0
    activities: int = 0


def contracts_without_plan(contract_query: Select) -> Select:
    """The contracts of a query that have no plan yet."""
    has_plan = select(FollowUpPlan.id).where(FollowUpPlan.contract_id == Contract.id).exists()
    return contract_query.where(~has_plan)


BATCH_SIZE = 500


def build_plans(
    contract_ids: Iterable[int], template: MethodTemplate, today: date, user: User | None
) -> BulkResult:
    """Plans for many contracts at once, in batches with a fixed number of statements
    each: contracts and options read together, plans, activities and audit events
    inserted as multi-row inserts. Contracts that got a plan meanwhile are skipped."""
    ids = list(contract_ids)
    rules = list(template.rules)
    levels = criticality_by_category()
    result = BulkResult()
    chain = audit.ChainAppender()
    plan_keys = audit.audited_keys(FollowUpPlan)
    for start in range(0, len(ids), BATCH_SIZE):
        batch = ids[start : start + BATCH_SIZE]
        contracts = Session.scalars(
            contracts_without_plan(select(Contract))
            .where(Contract.id.in_(batch))
            .options(selectinload(Contract.options))
            .order_by(Contract.id)
        ).all()
        if not contracts:
            continue
        now = utcnow()
        plan_rows = [
            {
                "contract_id": c.id,
                "template_id": template.id,
                "created_by_id": user.id if user else None,
                "created_at": now,
                "updated_at": now,
            }
            for c in contracts
        ]
        # One multi-row insert, then the ids by contract (a plan per contract): RETURNING in
        # parameter order makes SQLite insert row by row.
        Session.execute(insert(FollowUpPlan.__table__), plan_rows)
        plan_by_contract = dict(
            Session.execute(
                select(FollowUpPlan.contract_id, FollowUpPlan.id).where(
                    FollowUpPlan.contract_id.in_([c.id for c in contracts])
                )
            ).all()
        )
        plan_ids = [plan_by_contract[c.id] for c in contracts]
        activity_rows = []
        for contract, plan_id, row in zip(contracts, plan_ids, plan_rows, strict=True):
            row["id"] = plan_id
            planned = schedule(rules, ContractFacts.of(contract, levels.get(contract.category_id)),
                               today, since=today)  # fmt: skip
            for item in planned:
                values = _activity_values(contract.id, contract.owner_id, contract.manager_id, item)
                activity_rows.append({**values, "plan_id": plan_id, "created_at": now})
            chain.add(
                "create",
                "followup_plans",
                plan_id,
                contract_id=contract.id,
                after=audit.snapshot_values(plan_keys, row),
                summary=f"{template}: {len(planned)} aktiviteter",
            )
        if activity_rows:
            Session.execute(insert(Activity.__table__), activity_rows)
        chain.flush()
        result.plans += len(contracts)
        result.activities += len(activity_rows)
        # The ORM must not hold the batch's contracts while the next one is read.
        Session.expunge_all()
    return result


@dataclass
class RebuildResult:
    added: int = 0
    moved: int = 0
    removed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.moved or self.removed)


def rebuild_plan(plan: FollowUpPlan, today: date) -> RebuildResult:
    """Bring a plan's future open activities in line with the contract's dates.

    Done, skipped and hand-edited activities stay as they are, and so do open ones that
    are already overdue: the work is still owed. Open future activities move to their
    new dates, disappear if their date is gone (an option decided, the contract ended
    early) and new ones are added.
    """
    contract = plan.contract
    wanted = {
        (item.rule_id, item.occurrence): item
        for item in schedule(plan.template.rules, facts_for(contract), today, since=today)
    }
    result = RebuildResult()
    for activity in list(plan.activities):
        key = (activity.rule_id, activity.occurrence)
        item = wanted.pop(key, None)
        if activity.status != ActivityStatus.OPEN or activity.edited or activity.rule_id is None:
            continue
        if item is None:
            if activity.due_date >= today:
                plan.activities.remove(activity)
                result.removed += 1
            continue
        values = _activity_values(contract.id, contract.owner_id, contract.manager_id, item)
        if (activity.due_date, activity.responsible_id) != (
            values["due_date"],
            values["responsible_id"],
        ):
            activity.due_date = values["due_date"]
            activity.responsible_id = values["responsible_id"]
            result.moved += 1
    for item in wanted.values():
        values = _activity_values(contract.id, contract.owner_id, contract.manager_id, item)
        plan.activities.append(Activity(**values))
        result.added += 1
    if result.changed:
        plan.updated_at = utcnow()
        Session.flush()
        audit.record(
            "plan_rebuilt",
            plan,
            contract_id=contract.id,
            after={"added": result.added, "moved": result.moved, "removed": result.removed},
            summary=str(plan),
        )
    return result


# --- activities ---------------------------------------------------------------------------


def can_complete(activity: Activity, user: User) -> bool:
    """Editors, the person responsible, and the contract's owner and manager; never an
    auditor, even one named on the contract (auditors only read)."""
    if user.role == Role.AUDITOR:
        return False
    if user.can_edit:
        return True
    contract = activity.contract
    return user.id in {activity.responsible_id, contract.owner_id, contract.manager_id}


def complete_activity(
    activity: Activity,
    *,
    status: ActivityStatus,
    user: User,
    notes: str | None = None,
    evidence: str | None = None,
    evidence_url: str | None = None,
    skip_reason: str | None = None,
) -> None:
    """Mark an activity done or skipped (with a reason), or open it again."""
    before = audit.snapshot(activity)
    activity.status = status
    if status == ActivityStatus.OPEN:
        activity.completed_at = None
        activity.completed_by_id = None
        activity.skip_reason = None
    else:
        activity.completed_at = utcnow()
        activity.completed_by_id = user.id
        activity.skip_reason = skip_reason if status == ActivityStatus.SKIPPED else None
    if notes is not None:
        activity.notes = notes or None
    if evidence is not None:
        activity.evidence = evidence or None
    if evidence_url is not None:
        activity.evidence_url = evidence_url or None
    Session.flush()
    audit.record_update(
        activity, before, action=f"activity_{status.value}", contract_id=activity.contract_id
    )


def edit_activity(activity: Activity, values: dict[str, Any]) -> None:
    """Change an activity by hand; moving its date or person keeps it out of rebuilds."""
    before = audit.snapshot(activity)
    planned = (activity.due_date, activity.responsible_id)
    for key in ("title", "due_date", "responsible_id", "notes", "guidance"):
        if key in values:
            setattr(activity, key, values[key])
    if (activity.due_date, activity.responsible_id) != planned:
        activity.edited = True
    Session.flush()
    audit.record_update(activity, before, contract_id=activity.contract_id)


def my_activities(user: User, today: date) -> Select:
    """Open activities the user answers for, on contracts they may see; overdue first,
    then by due date.

    That is: the user is the person responsible, or owns or manages the contract, or, for
    procurement officers, the task is the procurement office's (no single person).
    """
    mine = (Activity.responsible_id == user.id) | Activity.contract_id.in_(
        select(Contract.id).where((Contract.owner_id == user.id) | (Contract.manager_id == user.id))
    )
    if user.role == Role.PROCUREMENT:
        mine = mine | (Activity.responsible_role == ResponsibleRole.PROCUREMENT)
    # An editor may name anyone responsible, even on a confidential contract the person
    # cannot open: the register's visibility rules decide what is listed.
    visible = visible_contracts(user).whereclause
    return (
        select(Activity)
        .join(Contract, Contract.id == Activity.contract_id)
        .where(Activity.status == ActivityStatus.OPEN, mine, visible)
        .order_by(Activity.due_date, Activity.id)
    )


# --- deviations ---------------------------------------------------------------------------


def record_deviation(contract: Contract, values: dict[str, Any], user: User) -> Deviation:
    deviation = Deviation(contract_id=contract.id, recorded_by_id=user.id, **values)
    Session.add(deviation)
    Session.flush()
    audit.record_create(deviation, contract_id=contract.id, summary=deviation.description[:120])
    return deviation


def close_deviation(deviation: Deviation, closed_on: date, resolution: str | None) -> None:
    before = audit.snapshot(deviation)
    deviation.status = DeviationStatus.CLOSED
    deviation.closed_on = closed_on
    deviation.resolution = resolution or None
    Session.flush()
    audit.record_update(
        deviation, before, action="deviation_closed", contract_id=deviation.contract_id
    )


def open_deviations(contract_id: int) -> list[Deviation]:
    return list(
        Session.scalars(
            select(Deviation)
            .where(Deviation.contract_id == contract_id, Deviation.status == DeviationStatus.OPEN)
            .order_by(Deviation.occurred_on.desc())
        )
    )
