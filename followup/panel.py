"""The "Follow-up" section on the contract page: a few indexed queries, no full plan load."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from contracts.db import Session
from contracts.register.models import Contract
from followup.models import Activity, ActivityStatus, Deviation, DeviationStatus, FollowUpPlan

TEMPLATE = "followup/plans/_panel.html"
NEXT_ACTIVITIES = 3


def followup_panel(contract: Contract, today: date) -> tuple[str, dict[str, Any]]:
    """Plan summary (template version, next open activities, overdue) and open deviations."""
    plan = Session.scalar(
        select(FollowUpPlan)
        .where(FollowUpPlan.contract_id == contract.id)
        .options(joinedload(FollowUpPlan.template))
    )
    context: dict[str, Any] = {"contract": contract, "plan": plan, "today": today}
    if plan is not None:
        # Served by ix_activities_contract (contract_id, status, due_date).
        open_activities = (Activity.contract_id == contract.id) & (
            Activity.status == ActivityStatus.OPEN
        )
        counts = Session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((Activity.due_date < today, 1), else_=0)), 0),
            ).where(open_activities)
        ).one()
        context["open_count"], context["overdue_count"] = counts
        context["next_activities"] = Session.scalars(
            select(Activity)
            .where(open_activities)
            .options(joinedload(Activity.responsible_user))
            .order_by(Activity.due_date, Activity.id)
            .limit(NEXT_ACTIVITIES)
        ).all()
    context["open_deviations"] = Session.scalar(
        select(func.count())
        .select_from(Deviation)
        .where(Deviation.contract_id == contract.id, Deviation.status == DeviationStatus.OPEN)
    )
    return TEMPLATE, context
