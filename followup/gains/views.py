"""Gain pages: a contract's gain plans and entries, the plan and entry forms, and the page
the reminder e-mail links to, where the owner confirms or corrects an estimate.

What a user may see follows the register (a contract they may not see is not found);
what they may change is decided by followup.gains.services (403 otherwise).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from contracts.auth.services import active_users
from contracts.clock import today
from contracts.db import Session
from contracts.register.models import Contract
from contracts.register.services import get_visible_contract
from followup.gains import services
from followup.gains.forms import (
    ConfirmEntryForm,
    CorrectEntryForm,
    DeletePlanForm,
    GainEntryForm,
    GainPlanForm,
)
from followup.gains.labels import template_globals
from followup.gains.models import GainEntry, GainMethod, GainPlan, GainType, PeriodKind

bp = Blueprint("gains", __name__)


@bp.record_once
def _install_template_globals(state) -> None:
    state.app.jinja_env.globals.update(template_globals())


# --- lookups ------------------------------------------------------------------------------


def _contract(contract_id: int, *, live: bool = False) -> Contract:
    """The contract if the user may see it; `live` refuses deleted ones (for changes)."""
    contract = get_visible_contract(contract_id, current_user)
    if contract is None or (live and contract.deleted_at is not None):
        abort(404)
    return contract


def _plan(gain_plan_id: int, *, live: bool = False) -> GainPlan:
    plan = Session.get(GainPlan, gain_plan_id)
    if plan is None:
        abort(404)
    _contract(plan.contract_id, live=live)
    return plan


def _entry(entry_id: int, *, live: bool = False) -> GainEntry:
    entry = Session.get(GainEntry, entry_id)
    if entry is None:
        abort(404)
    _contract(entry.plan.contract_id, live=live)
    return entry


def _allowed(allowed: bool) -> None:
    if not allowed:
        abort(403)


def _back(contract_id: int, anchor: str | None = None):
    return redirect(url_for("gains.gain_list", contract_id=contract_id, _anchor=anchor))


# --- the contract's gains -----------------------------------------------------------------


@bp.get("/contracts/<int:contract_id>/gains")
@login_required
def gain_list(contract_id: int):
    contract = _contract(contract_id)
    day = today()
    plans = services.plans_of(contract.id)
    live = contract.deleted_at is None
    return render_template(
        "followup/gains/list.html",
        contract=contract,
        plans=plans,
        realised={plan.id: services.realised(plan, day) for plan in plans},
        may_record=live and services.may_record(contract, current_user),
        may_record_entries={
            plan.id: live and services.may_record_entries(plan, current_user) for plan in plans
        },
        may_confirm=live and services.may_confirm(contract, current_user),
        may_delete=live and services.may_delete_plans(current_user),
        delete_form=DeletePlanForm(formdata=None),
        today=day,
    )


def _plan_page(contract: Contract, form: GainPlanForm, plan: GainPlan | None, status: int = 200):
    page = render_template("followup/gains/plan_form.html", contract=contract, form=form, plan=plan)
    return page, status


def _save_plan(form: GainPlanForm, contract: Contract, plan: GainPlan | None):
    """Check and save the form's plan; None and the errors on the form if refused."""
    values = form.values()
    values["gain_type"] = GainType(values["gain_type"])
    values["method"] = GainMethod(values["method"])
    values["entry_period"] = PeriodKind(values["entry_period"])
    try:
        if plan is None:
            return services.create_plan(contract, values, current_user)
        services.update_plan(plan, values, current_user)
        return plan
    except services.GainError as refused:
        Session.rollback()
        form.add_errors(refused.errors)
        return None


@bp.route("/contracts/<int:contract_id>/gains/new", methods=["GET", "POST"])
@login_required
def plan_new(contract_id: int):
    contract = _contract(contract_id, live=True)
    _allowed(services.may_record(contract, current_user))
    form = GainPlanForm(users=active_users())
    if request.method == "GET":
        form.period_start.data = contract.start_date
        form.period_end.data = contract.current_end_date or contract.end_date
        form.responsible_id.data = contract.owner_id
    elif form.validate_on_submit():
        plan = _save_plan(form, contract, None)
        if plan is not None:
            Session.commit()
            flash(_("The gain plan is saved."), "success")
            return _back(contract.id, f"plan-{plan.id}")
    return _plan_page(contract, form, None, 422 if form.errors else 200)


@bp.route("/gains/plans/<int:gain_plan_id>/edit", methods=["GET", "POST"])
@login_required
def plan_edit(gain_plan_id: int):
    plan = _plan(gain_plan_id, live=True)
    contract = plan.contract
    _allowed(services.may_record(contract, current_user))
    form = GainPlanForm(obj=plan if request.method == "GET" else None, users=active_users())
    submitted = request.method == "POST" and form.validate_on_submit()
    if submitted and _save_plan(form, contract, plan) is not None:
        Session.commit()
        flash(_("The gain plan is saved."), "success")
        return _back(contract.id, f"plan-{plan.id}")
    return _plan_page(contract, form, plan, 422 if form.errors else 200)


@bp.post("/gains/plans/<int:gain_plan_id>/delete")
@login_required
def plan_delete(gain_plan_id: int):
    plan = _plan(gain_plan_id, live=True)
    _allowed(services.may_delete_plans(current_user))
    contract_id = plan.contract_id
    if DeletePlanForm().validate_on_submit():
        services.delete_plan(plan)
        Session.commit()
        flash(_("The gain plan and its entries are deleted."), "success")
    return _back(contract_id)


# --- entries ------------------------------------------------------------------------------


def _entry_page(plan: GainPlan, form: GainEntryForm, entry: GainEntry | None, status: int = 200):
    page = render_template(
        "followup/gains/entry_form.html",
        contract=plan.contract,
        plan=plan,
        entry=entry,
        form=form,
        may_confirm=services.may_confirm(plan.contract, current_user),
    )
    return page, status


@bp.route("/gains/plans/<int:gain_plan_id>/entries/new", methods=["GET", "POST"])
@login_required
def entry_new(gain_plan_id: int):
    plan = _plan(gain_plan_id, live=True)
    _allowed(services.may_record_entries(plan, current_user))
    form = GainEntryForm()
    if request.method == "GET":
        form.period_start.data, form.period_end.data = services.next_period(plan, today())
        form.unit.data = plan.unit
    elif form.validate_on_submit():
        confirm = form.confirm.data and services.may_confirm(plan.contract, current_user)
        try:
            entry = services.record_entry(
                plan, form.values(), current_user, today(), confirm=confirm
            )
            Session.commit()
        except services.GainError as refused:
            Session.rollback()
            form.add_errors(refused.errors)
        except IntegrityError:  # someone recorded the same period at the same moment
            Session.rollback()
            form.add_errors({"period_start": _("This plan already has an entry for the period.")})
        else:
            flash(_("The gain is recorded."), "success")
            return _back(plan.contract_id, f"entry-{entry.id}")
    return _entry_page(plan, form, None, 422 if form.errors else 200)


@bp.route("/gains/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@login_required
def entry_edit(entry_id: int):
    entry = _entry(entry_id, live=True)
    plan = entry.plan
    _allowed(services.may_record_entries(plan, current_user))
    form = GainEntryForm(obj=entry if request.method == "GET" else None)
    if request.method == "GET":
        form.correction_reason.data = None
    elif form.validate_on_submit():
        confirm = form.confirm.data and services.may_confirm(plan.contract, current_user)
        values = form.values() | {"correction_reason": form.correction_reason.data}
        try:
            services.update_entry(entry, values, current_user, today(), confirm=confirm)
            Session.commit()
        except services.GainError as refused:
            Session.rollback()
            form.add_errors(refused.errors)
        except IntegrityError:
            Session.rollback()
            form.add_errors({"period_start": _("This plan already has an entry for the period.")})
        else:
            flash(_("The entry is saved."), "success")
            return _back(plan.contract_id, f"entry-{entry.id}")
    return _entry_page(plan, form, entry, 422 if form.errors else 200)


# --- confirming (the link in the e-mail) --------------------------------------------------


def _confirm_page(entry: GainEntry, correct_form: CorrectEntryForm | None = None, status=200):
    page = render_template(
        "followup/gains/confirm.html",
        entry=entry,
        plan=entry.plan,
        contract=entry.plan.contract,
        explained=services.explain(entry),
        confirm_form=ConfirmEntryForm(formdata=None),
        correct_form=correct_form or CorrectEntryForm(formdata=None),
    )
    return page, status


def _confirmable(entry_id: int, *, live: bool = False) -> GainEntry:
    """An entry whose contract the user may see (else 404) and confirm (else 403)."""
    entry = _entry(entry_id, live=live)
    _allowed(services.may_confirm(entry.plan.contract, current_user))
    return entry


@bp.route("/gains/entries/<int:entry_id>/confirm", methods=["GET", "POST"])
@login_required
def entry_confirm(entry_id: int):
    """GET: the entry and how it was estimated; POST: confirm it as it stands."""
    if request.method == "GET":
        return _confirm_page(_confirmable(entry_id))
    entry = _confirmable(entry_id, live=True)
    if ConfirmEntryForm().validate_on_submit():
        if services.confirm_entry(entry, current_user):
            Session.commit()
            flash(_("The gain is confirmed."), "success")
        else:
            flash(_("The gain was confirmed already."), "info")
    return _back(entry.plan.contract_id, f"entry-{entry.id}")


@bp.post("/gains/entries/<int:entry_id>/correct")
@login_required
def entry_correct(entry_id: int):
    """Confirm the entry with a corrected value and the reason."""
    entry = _confirmable(entry_id, live=True)
    form = CorrectEntryForm()
    if form.validate_on_submit():
        try:
            services.confirm_entry(
                entry,
                current_user,
                corrected=form.value.data,
                reason=form.correction_reason.data,
            )
        except services.GainError as refused:
            Session.rollback()
            form.add_errors(refused.errors)
        else:
            Session.commit()
            flash(_("The gain is corrected and confirmed."), "success")
            return _back(entry.plan.contract_id, f"entry-{entry.id}")
    return _confirm_page(entry, form, 422)
