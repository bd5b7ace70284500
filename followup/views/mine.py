"""Follow-up pages (My follow-up): the user's open activities and open deviations."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request
from flask_login import current_user, login_required
from sqlalchemy import Select, func, select

from contracts.clock import today
from contracts.db import Session
from contracts.pagination import page_number
from followup import activities as activity_ops
from followup.models import Activity
from followup.views import bp

# Without ?all=1 the list shows what is due within a year (and everything overdue):
# a plan reaches years ahead, and next year's meetings only hide this month's work.
HORIZON_DAYS = 365
PAGE_SIZE = 100
COUNT_CAP = 1000


def _count_up_to(query: Select, cap: int) -> int:
    """How many rows the query gives, counting no further than cap + 1."""
    limited = query.with_only_columns(Activity.id).order_by(None).limit(cap + 1).subquery()
    return Session.scalar(select(func.count()).select_from(limited)) or 0


@bp.get("/followup/mine")
@login_required
def mine():
    day = today()
    show_all = request.args.get("all") == "1"
    page = page_number(request.args.get("page"))
    until = None if show_all else day + timedelta(days=HORIZON_DAYS)
    query = activity_ops.my_open_activities(current_user, day, until=until)
    # A procurement officer answers for the whole office's tasks: thousands of rows in a
    # large register. The page shows them PAGE_SIZE at a time, overdue ones first, and
    # counts up to COUNT_CAP (an exact count of 30 000 rows cost every visit 0.15 s).
    total = _count_up_to(query, COUNT_CAP)
    overdue_count = _count_up_to(query.where(Activity.due_date < day), COUNT_CAP)
    rows = Session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    activities, has_next = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    deviations = Session.scalars(activity_ops.my_open_deviations(current_user)).all()
    return render_template(
        "followup/plans/mine.html",
        activities=activities,
        overdue_count=overdue_count,
        total=total,
        count_cap=COUNT_CAP,
        page=page,
        has_next=has_next,
        deviations=deviations,
        show_all=show_all,
        horizon_days=HORIZON_DAYS,
        may_act={a.id: activity_ops.may_act(a, current_user) for a in activities},
        today=day,
    )
