"""Follow-up pages (My follow-up): the user's open activities and open deviations."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request
from flask_login import current_user, login_required

from contracts.clock import today
from contracts.db import Session
from followup import activities as activity_ops
from followup.views import bp

# Without ?all=1 the list shows what is due within a year (and everything overdue):
# a plan reaches years ahead, and next year's meetings only hide this month's work.
HORIZON_DAYS = 365


@bp.get("/followup/mine")
@login_required
def mine():
    day = today()
    show_all = request.args.get("all") == "1"
    until = None if show_all else day + timedelta(days=HORIZON_DAYS)
    activities = Session.scalars(
        activity_ops.my_open_activities(current_user, day, until=until)
    ).all()
    deviations = Session.scalars(activity_ops.my_open_deviations(current_user)).all()
    return render_template(
        "followup/plans/mine.html",
        activities=activities,
        overdue_count=sum(1 for a in activities if a.due_date < day),
        deviations=deviations,
        show_all=show_all,
        horizon_days=HORIZON_DAYS,
        may_act={a.id: activity_ops.may_act(a, current_user) for a in activities},
        today=day,
    )
