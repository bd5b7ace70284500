"""The clock's pages: the mail outbox for administrators (auditors may read it)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from contracts.auth.access import admin_required, roles_required
from contracts.auth.models import Role
from contracts.db import Session
from contracts.pagination import page_number
from contracts.register.forms import ConfirmForm
from jobs import outbox
from jobs.models import OutboxMessage, OutboxStatus

bp = Blueprint("jobs", __name__)

OUTBOX_STATUS_LABELS = {
    OutboxStatus.PENDING: _l("Waiting"),
    OutboxStatus.SENDING: _l("Being sent"),
    OutboxStatus.SENT: _l("Sent"),
    OutboxStatus.DEAD: _l("Failed"),
}
OUTBOX_STATUS_COLORS = {
    OutboxStatus.PENDING: "info",
    OutboxStatus.SENDING: "warning",
    OutboxStatus.SENT: "success",
    OutboxStatus.DEAD: "danger",
}
RESENDABLE = frozenset({OutboxStatus.SENT, OutboxStatus.DEAD})

# Administrators keep the outbox; auditors may read what was sent to whom.
outbox_readers = roles_required(Role.ADMIN, Role.AUDITOR)


def _template_values() -> dict:
    return {
        "OUTBOX_STATUS_LABELS": OUTBOX_STATUS_LABELS,
        "OUTBOX_STATUS_COLORS": OUTBOX_STATUS_COLORS,
        "mail_configured": bool(current_app.config.get("MAIL_SERVER")),
    }


@bp.get("/admin/outbox")
@outbox_readers
def outbox_list():
    status = request.args.get("status", "")
    chosen = OutboxStatus(status) if status in set(OutboxStatus) else None
    page = page_number(request.args.get("page"))
    page_size = current_app.config["PAGE_SIZE"]
    query = select(OutboxMessage)
    if chosen is not None:
        query = query.where(OutboxMessage.status == chosen)
    total = Session.scalar(select(func.count()).select_from(query.subquery()))
    messages = Session.scalars(
        query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return render_template(
        "jobs/outbox_list.html",
        messages=messages,
        counts=outbox.counts_by_status(),
        status=chosen,
        total=total,
        page=page,
        pages=max(1, -(-total // page_size)),
        **_template_values(),
    )


@bp.get("/admin/outbox/<int:message_id>")
@outbox_readers
def outbox_detail(message_id: int):
    message = Session.get(OutboxMessage, message_id) or abort(404)
    return render_template(
        "jobs/outbox_detail.html",
        message=message,
        can_resend=message.status in RESENDABLE,
        confirm_form=ConfirmForm(),
        **_template_values(),
    )


@bp.post("/admin/outbox/<int:message_id>/resend")
@admin_required
def outbox_resend(message_id: int):
    message = Session.get(OutboxMessage, message_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if message.status not in RESENDABLE:
        flash(_("Only sent and failed messages can be sent again."), "warning")
    else:
        outbox.resend(message)
        Session.commit()
        flash(_("The message waits to be sent again."), "success")
    return redirect(url_for("jobs.outbox_detail", message_id=message.id))
