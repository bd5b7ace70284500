"""Admin page for the dated threshold values."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from contracts.auth.access import admin_required, roles_required
from contracts.auth.models import Role
from contracts.db import Session
from contracts.register.forms import ConfirmForm
from contracts.rules import services
from contracts.rules.forms import ThresholdForm
from contracts.rules.models import Threshold

bp = Blueprint("rules", __name__, url_prefix="/admin/thresholds")


def _page(form: ThresholdForm, status: int = 200):
    thresholds = Session.scalars(
        select(Threshold).order_by(Threshold.valid_from.desc(), Threshold.kind)
    ).all()
    return render_template(
        "rules/thresholds.html", thresholds=thresholds, form=form, confirm_form=ConfirmForm()
    ), status


@bp.get("")
@roles_required(Role.ADMIN, Role.PROCUREMENT, Role.AUDITOR)
def threshold_list():
    return _page(ThresholdForm())


@bp.post("")
@admin_required
def threshold_add():
    form = ThresholdForm()
    if form.validate_on_submit():
        if services.threshold_exists(form.kind.data, form.valid_from.data):
            form.valid_from.errors.append(
                _("This threshold already has a value from that date. Delete it first.")
            )
        else:
            services.add_threshold(
                form.kind.data, form.value.data, form.valid_from.data, form.source.data
            )
            Session.commit()
            flash(_("The threshold value is saved."), "success")
            return redirect(url_for("rules.threshold_list"))
    return _page(form, 422)


@bp.post("/<int:threshold_id>/delete")
@admin_required
def threshold_delete(threshold_id: int):
    threshold = Session.get(Threshold, threshold_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        services.delete_threshold(threshold)
        Session.commit()
        flash(_("The threshold value is deleted."), "success")
    return redirect(url_for("rules.threshold_list"))
