"""Activity operations the plan pages need beyond followup.services: custom activities,
attachments and the user's own lists. They flush and audit like the services."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from contracts.audit import services as audit
from contracts.auth.models import User
from contracts.db import Session
from contracts.register.models import Contract
from followup import services
from followup.attachments import Stored
from followup.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Deviation,
    DeviationStatus,
    FollowUpPlan,
)


def add_custom_activity(plan: FollowUpPlan, values: dict[str, Any]) -> Activity:
    """An activity added by hand: no rule, so rebuilds of the plan leave it alone."""
    activity = Activity(
        plan_id=plan.id,
        contract_id=plan.contract_id,
        rule_id=None,
        occurrence=None,
        kind=ActivityKind.CUSTOM,
        title=values["title"],
        guidance=values.get("guidance") or None,
        checklist=values.get("checklist") or None,
        due_date=values["due_date"],
        responsible_role=values["responsible_role"],
        responsible_id=values.get("responsible_id"),
        status=ActivityStatus.OPEN,
        edited=False,
    )
    Session.add(activity)
    Session.flush()
    audit.record_create(activity, contract_id=plan.contract_id, summary=activity.title)
    return activity


def attach(activity: Activity, stored: Stored) -> None:
    """Point the activity at a newly stored evidence file. An earlier file stays on disk:
    the audit trail names it, and evidence is not thrown away."""
    before = audit.snapshot(activity)
    activity.attachment_name = stored.name
    activity.attachment_key = stored.key
    audit.record_update(
        activity, before, action="activity_attachment", contract_id=activity.contract_id
    )


def may_act(activity: Activity, user: User) -> bool:
    """Who may complete, skip or reopen an activity (never an auditor)."""
    return services.can_complete(activity, user)


def my_open_activities(user: User, today: date, *, until: date | None) -> Select:
    """services.my_activities, optionally only those due by `until` (overdue ones are
    always included)."""
    query = services.my_activities(user, today)
    if until is not None:
        query = query.where(Activity.due_date <= until)
    return query.options(joinedload(Activity.contract), joinedload(Activity.responsible_user))


def my_open_deviations(user: User) -> Select:
    """Open deviations on the current contracts the user owns or manages."""
    return (
        select(Deviation)
        .join(Contract, Contract.id == Deviation.contract_id)
        .where(
            Deviation.status == DeviationStatus.OPEN,
            (Contract.owner_id == user.id) | (Contract.manager_id == user.id),
            Contract.deleted_at.is_(None),
        )
        .options(joinedload(Deviation.contract))
        .order_by(Deviation.occurred_on, Deviation.id)
    )
