"""Follow-up pages (activities): details, done with evidence, skip, reopen, edit, and the
evidence file."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from contracts.auth.access import editor_required
from contracts.auth.services import active_users
from contracts.clock import today
from contracts.db import Session
from followup import activities as activity_ops
from followup import attachments, services
from followup.forms_plans import ActivityEditForm, ConfirmForm, DoneForm, SkipForm
from followup.models import Activity, ActivityStatus
from followup.views import bp
from followup.views.plan_access import activity_or_404


def _page(activity: Activity, status: int = 200, **forms):
    may_act = activity_ops.may_act(activity, current_user)
    editable = current_user.can_edit and activity.contract.deleted_at is None
    # Forms not being answered start from the activity, not from this request's POST data.
    done_form = skip_form = edit_form = None
    if may_act:
        done_form = forms.get("done_form") or DoneForm(formdata=None, obj=activity)
        skip_form = forms.get("skip_form") or SkipForm(formdata=None)
    if editable:
        edit_form = forms.get("edit_form") or ActivityEditForm(
            formdata=None, obj=activity, users=active_users()
        )
    page = render_template(
        "followup/plans/activity.html",
        activity=activity,
        contract=activity.contract,
        may_act=may_act,
        done_form=done_form,
        skip_form=skip_form,
        edit_form=edit_form,
        checklist=[
            line.strip() for line in (activity.checklist or "").splitlines() if line.strip()
        ],
        today=today(),
    )
    return page, status


def _actionable(activity_id: int) -> Activity:
    """An activity on a live contract that the current user may complete (else 404/403)."""
    activity = activity_or_404(activity_id, live=True)
    if not activity_ops.may_act(activity, current_user):
        abort(403)
    return activity


def _after(activity: Activity, back: str | None = None):
    # Only known places: "back" comes from the form and must not become an open redirect.
    if back == "mine":
        return redirect(url_for("followup.mine"))
    return redirect(url_for("followup.activity_detail", activity_id=activity.id))


def _posted(form, name: str) -> str | None:
    """A field's value if the form sent it, else None so the service keeps what is there
    (the one-click button on My follow-up sends no notes or evidence)."""
    field = getattr(form, name)
    return field.data if field.name in request.form else None


@bp.get("/followup/activities/<int:activity_id>")
@login_required
def activity_detail(activity_id: int):
    return _page(activity_or_404(activity_id))


@bp.post("/followup/activities/<int:activity_id>/done")
@login_required
def activity_done(activity_id: int):
    activity = _actionable(activity_id)
    form = DoneForm()
    if not form.validate_on_submit():
        return _page(activity, 422, done_form=form)
    upload = form.attachment.data
    stored = None
    if upload is not None and upload.filename:
        try:
            stored = attachments.store(upload.filename, upload.stream)
        except attachments.AttachmentRefused as refused:
            form.attachment.errors = [str(refused)]
            return _page(activity, 422, done_form=form)
    services.complete_activity(
        activity,
        status=ActivityStatus.DONE,
        user=current_user,
        notes=_posted(form, "notes"),
        evidence=_posted(form, "evidence"),
        evidence_url=_posted(form, "evidence_url"),
    )
    if stored is not None:
        activity_ops.attach(activity, stored)
    Session.commit()
    flash(_("“%(title)s” is marked as done.", title=activity.title), "success")
    return _after(activity, form.back.data)


@bp.post("/followup/activities/<int:activity_id>/skip")
@login_required
def activity_skip(activity_id: int):
    activity = _actionable(activity_id)
    form = SkipForm()
    if not form.validate_on_submit():
        return _page(activity, 422, skip_form=form)
    services.complete_activity(
        activity,
        status=ActivityStatus.SKIPPED,
        user=current_user,
        skip_reason=form.skip_reason.data.strip(),
    )
    Session.commit()
    flash(_("“%(title)s” is skipped.", title=activity.title), "success")
    return _after(activity)


@bp.post("/followup/activities/<int:activity_id>/reopen")
@login_required
def activity_reopen(activity_id: int):
    activity = _actionable(activity_id)
    if ConfirmForm().validate_on_submit() and activity.status != ActivityStatus.OPEN:
        services.complete_activity(activity, status=ActivityStatus.OPEN, user=current_user)
        Session.commit()
        flash(_("“%(title)s” is open again.", title=activity.title), "success")
    return _after(activity)


@bp.post("/followup/activities/<int:activity_id>/edit")
@editor_required
def activity_edit(activity_id: int):
    """Title, due date and person; moving the date or person keeps it out of rebuilds."""
    activity = activity_or_404(activity_id, live=True)
    form = ActivityEditForm(users=active_users())
    if not form.validate_on_submit():
        return _page(activity, 422, edit_form=form)
    services.edit_activity(
        activity,
        {
            "title": form.title.data.strip(),
            "due_date": form.due_date.data,
            "responsible_id": form.responsible_id.data,
        },
    )
    Session.commit()
    flash(_("The activity is saved."), "success")
    return _after(activity)


@bp.get("/followup/activities/<int:activity_id>/attachment")
@login_required
def activity_attachment(activity_id: int):
    """The evidence file, to whoever may see the contract; always a download, never shown
    inline, so an uploaded file cannot run as a page of this site."""
    activity = activity_or_404(activity_id)
    path = attachments.path_of(activity.attachment_key)
    if path is None or not activity.attachment_name:
        abort(404)
    response = send_file(
        path,
        mimetype=attachments.media_type(activity.attachment_name),
        as_attachment=True,
        download_name=activity.attachment_name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
