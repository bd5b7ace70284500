"""Follow-up pages (plans): a contract's plan, building one from a template with a
preview, and adding custom activities by hand."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from contracts.auth.access import editor_required
from contracts.auth.services import active_users
from contracts.clock import today
from contracts.db import Session
from contracts.register.models import Contract
from followup import activities as activity_ops
from followup import services
from followup.forms_plans import BuildPlanForm, CustomActivityForm
from followup.models import Activity, FollowUpPlan, MethodTemplate, ResponsibleRole
from followup.plan_labels import template_globals
from followup.views import bp
from followup.views.plan_access import contract_or_404


@bp.record_once
def _install_template_globals(state) -> None:
    state.app.jinja_env.globals.update(template_globals())


def _plan_with_activities(contract_id: int) -> FollowUpPlan | None:
    return Session.scalar(
        select(FollowUpPlan)
        .where(FollowUpPlan.contract_id == contract_id)
        .options(
            selectinload(FollowUpPlan.activities).joinedload(Activity.responsible_user),
            selectinload(FollowUpPlan.template),
        )
    )


def _plan_page(contract: Contract, plan: FollowUpPlan, form: CustomActivityForm | None, status=200):
    return (
        render_template(
            "followup/plans/plan.html",
            contract=contract,
            plan=plan,
            form=form,
            today=today(),
        ),
        status,
    )


@bp.get("/contracts/<int:contract_id>/plan")
@login_required
def plan_detail(contract_id: int):
    """The plan for anyone who may see the contract; editors are sent to build one."""
    contract = contract_or_404(contract_id)
    plan = _plan_with_activities(contract.id)
    if plan is None:
        if current_user.can_edit and contract.deleted_at is None:
            return redirect(url_for("followup.plan_build", contract_id=contract.id))
        return render_template("followup/plans/no_plan.html", contract=contract)
    form = None
    if current_user.can_edit and contract.deleted_at is None:
        form = CustomActivityForm(users=active_users())
    return _plan_page(contract, plan, form)


def _chosen_template(form: BuildPlanForm, templates: list[MethodTemplate]) -> MethodTemplate | None:
    by_id = {t.id: t for t in templates}
    return by_id.get(form.template_id.data)


@bp.route("/contracts/<int:contract_id>/plan/build", methods=["GET", "POST"])
@editor_required
def plan_build(contract_id: int):
    """Choose a template, see the dated activities it gives, then build the plan."""
    contract = contract_or_404(contract_id, live=True)
    if services.plan_for(contract.id) is not None:
        flash(_("This contract already has a follow-up plan."), "warning")
        return redirect(url_for("followup.plan_detail", contract_id=contract.id))
    templates = services.current_templates()
    form = BuildPlanForm(templates=templates)
    if request.method == "GET":
        # The preview follows ?template_id=; the default template until one is chosen.
        wanted = request.args.get("template_id", type=int)
        if wanted not in {t.id for t in templates}:
            default = services.default_template()
            wanted = default.id if default else next((t.id for t in templates), None)
        form.template_id.data = wanted
    elif form.validate_on_submit():
        template = _chosen_template(form, templates)
        try:
            plan = services.build_plan(contract, template, today(), current_user)
            count = len(plan.activities)
            Session.commit()
        # Two editors building at once: the unique contract_id stops the second one.
        except (services.PlanExistsError, IntegrityError):
            Session.rollback()
            flash(_("This contract already has a follow-up plan."), "warning")
        else:
            message = ngettext(
                "The follow-up plan is built with %(num)d activity.",
                "The follow-up plan is built with %(num)d activities.",
                count,
            )
            flash(message, "success")
        return redirect(url_for("followup.plan_detail", contract_id=contract.id))
    template = _chosen_template(form, templates)
    planned = services.preview(contract, template, today()) if template else []
    page = render_template(
        "followup/plans/build.html",
        contract=contract,
        form=form,
        template=template,
        planned=planned,
        people={role: services.responsible_for(contract, role) for role in ResponsibleRole},
        users={u.id: u for u in (contract.owner, contract.manager) if u is not None},
    )
    return page, 422 if form.errors else 200


@bp.post("/contracts/<int:contract_id>/plan/activities")
@editor_required
def activity_add(contract_id: int):
    """A custom activity, kept as it is when the plan is rebuilt."""
    contract = contract_or_404(contract_id, live=True)
    plan = services.plan_for(contract.id)
    if plan is None:
        flash(_("Build a follow-up plan first."), "warning")
        return redirect(url_for("followup.plan_build", contract_id=contract.id))
    form = CustomActivityForm(users=active_users())
    if not form.validate_on_submit():
        return _plan_page(contract, _plan_with_activities(contract.id), form, 422)
    role = ResponsibleRole(form.responsible_role.data)
    activity = activity_ops.add_custom_activity(
        plan,
        {
            "title": form.title.data.strip(),
            "due_date": form.due_date.data,
            "responsible_role": role,
            "responsible_id": form.responsible_id.data or services.responsible_for(contract, role),
            "guidance": form.guidance.data,
            "checklist": form.checklist.data,
        },
    )
    Session.commit()
    flash(_("The activity is added."), "success")
    return redirect(url_for("followup.activity_detail", activity_id=activity.id))


# The other page modules of this feature add their views to bp when imported.
from followup.views import activities, deviations, mine  # noqa: E402, F401
