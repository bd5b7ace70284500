"""Follow-up pages (deviations): a contract's deviations, recording and closing them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from contracts.db import Session
from contracts.register.models import Contract
from followup import services
from followup.forms_plans import CloseDeviationForm, DeviationForm
from followup.models import Consequence, Deviation, DeviationStatus, Severity
from followup.views import bp
from followup.views.plan_access import contract_or_404, deviation_or_404, may_record_deviations


def _page(
    contract: Contract,
    status: int = 200,
    form: DeviationForm | None = None,
    close_form: CloseDeviationForm | None = None,
    closing: Deviation | None = None,
):
    may_record = may_record_deviations(contract, current_user) and contract.deleted_at is None
    deviations = Session.scalars(
        select(Deviation)
        .where(Deviation.contract_id == contract.id)
        .order_by(
            Deviation.status != DeviationStatus.OPEN,
            Deviation.occurred_on.desc(),
            Deviation.id.desc(),
        )
    ).all()
    page = render_template(
        "followup/plans/deviations.html",
        contract=contract,
        deviations=deviations,
        may_record=may_record,
        form=form or (DeviationForm(formdata=None) if may_record else None),
        close_form=close_form or CloseDeviationForm(formdata=None),
        closing=closing,
    )
    return page, status


def _recordable(contract: Contract) -> None:
    if not may_record_deviations(contract, current_user):
        abort(403)


@bp.get("/contracts/<int:contract_id>/deviations")
@login_required
def deviation_list(contract_id: int):
    return _page(contract_or_404(contract_id))


@bp.post("/contracts/<int:contract_id>/deviations")
@login_required
def deviation_add(contract_id: int):
    contract = contract_or_404(contract_id, live=True)
    _recordable(contract)
    form = DeviationForm()
    if not form.validate_on_submit():
        return _page(contract, 422, form=form)
    services.record_deviation(
        contract,
        {
            "occurred_on": form.occurred_on.data,
            "description": form.description.data.strip(),
            "severity": Severity(form.severity.data),
            "consequence": Consequence(form.consequence.data),
        },
        current_user,
    )
    Session.commit()
    flash(_("The deviation is recorded."), "success")
    return redirect(url_for("followup.deviation_list", contract_id=contract.id))


@bp.post("/followup/deviations/<int:deviation_id>/close")
@login_required
def deviation_close(deviation_id: int):
    deviation = deviation_or_404(deviation_id, live=True)
    contract = deviation.contract
    _recordable(contract)
    if deviation.status == DeviationStatus.CLOSED:
        flash(_("The deviation is already closed."), "warning")
        return redirect(url_for("followup.deviation_list", contract_id=contract.id))
    form = CloseDeviationForm(deviation=deviation)
    if not form.validate_on_submit():
        return _page(contract, 422, close_form=form, closing=deviation)
    services.close_deviation(deviation, form.closed_on.data, form.resolution.data.strip())
    Session.commit()
    flash(_("The deviation is closed."), "success")
    return redirect(url_for("followup.deviation_list", contract_id=contract.id))
