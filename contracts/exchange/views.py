"""Downloads of the register in open formats."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from contracts.audit import services as audit
from contracts.auth.access import editor_required
from contracts.clock import today
from contracts.db import Session
from contracts.exchange import importer, jobs, ocds, uploads
from contracts.exchange.forms import ImportOptionsForm, UploadForm
from contracts.exchange.headers import find_header_row
from contracts.exchange.models import ImportJob, JobStatus
from contracts.exchange.reading import FileRefused, read_rows
from contracts.register.models import Contract
from contracts.register.services import visible_contracts

bp = Blueprint("exchange", __name__)


def publishable_contracts():
    """What the public may see: signed, not deleted, not confidential."""
    return select(Contract).where(
        Contract.deleted_at.is_(None),
        Contract.signed_on.is_not(None),
        Contract.is_confidential.is_(False),
    )


def _package(query, endpoint: str) -> Response:
    uri = url_for(endpoint, _external=True)
    chunks = ocds.package_chunks(query.order_by(Contract.id), today(), uri)
    return Response(
        stream_with_context(chunks),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="ocds-releases.json"'},
    )


@bp.get("/ocds/releases.json")
@login_required
def ocds_download():
    """Every contract the user may see, as an OCDS release package."""
    audit.record("export", entity_type="contracts", after={"format": "ocds"})
    Session.commit()
    return _package(visible_contracts(), "exchange.ocds_download")


@bp.get("/public/ocds/releases.json")
def ocds_public():
    """The published register, when the municipality has turned publication on."""
    if not current_app.config.get("OCDS_PUBLIC"):
        abort(404)
    return _package(publishable_contracts(), "exchange.ocds_public")


# --- import ----------------------------------------------------------------------------

IMPORT_FIELDS = {
    "reference": _l("Contract number"),
    "title": _l("Title"),
    "supplier": _l("Supplier"),
    "org_number": _l("Organisation number"),
    "category": _l("Category"),
    "unit": _l("Unit"),
    "owner": _l("Contract owner"),
    "manager": _l("Contract manager"),
    "signed_on": _l("Signed on"),
    "start_date": _l("Start date"),
    "end_date": _l("End date"),
    "options": _l("Options"),
    "notice": _l("Notice period (months)"),
    "estimated_value": _l("Estimated total value (NOK excl. VAT)"),
    "annual_value": _l("Annual value (NOK excl. VAT)"),
    "procedure": _l("Procurement procedure"),
    "is_framework": _l("Framework agreement"),
    "has_wage_conditions": _l("Clause on wage and working conditions"),
    "price_adjustment": _l("Price adjustment index"),
    "price_adjustment_month": _l("Price adjustment month"),
    "notes": _l("Notes"),
}
REPORT_ROWS_SHOWN = 500
RECENT_JOBS_SHOWN = 10
JOB_STATUS_LABELS = {
    JobStatus.QUEUED: _l("Waiting"),
    JobStatus.RUNNING: _l("Running"),
    JobStatus.DONE: _l("Done"),
    JobStatus.REFUSED: _l("Nothing imported: rows were rejected"),
    JobStatus.FAILED: _l("Failed: nothing imported"),
}


@bp.route("/contracts/import", methods=["GET", "POST"])
@editor_required
def import_upload():
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        sheet = form.sheet.data or None
        try:
            rows = read_rows(data, upload.filename or "", sheet)
        except FileRefused as error:
            form.file.errors.append(str(error.args[0]))
        else:
            if find_header_row(rows) is None:
                form.file.errors.append(
                    _(
                        "No header row with a contract number and a title was found, for "
                        "example Avtalenr and Avtalenavn."
                    )
                )
            else:
                token = uploads.keep(data, upload.filename, current_user.id)
                return redirect(url_for("exchange.import_preview", token=token, sheet=sheet))
    recent = Session.scalars(
        select(ImportJob).order_by(ImportJob.id.desc()).limit(RECENT_JOBS_SHOWN)
    ).all()
    status = 422 if form.errors else 200
    return render_template(
        "exchange/upload.html", form=form, recent=recent, job_labels=JOB_STATUS_LABELS
    ), status


def _mapping_from_form(width: int) -> dict[int, str]:
    columns: dict[int, str] = {}
    for position in range(width):
        value = request.form.get(f"col-{position}", "")
        if value in IMPORT_FIELDS and value not in columns.values():
            columns[position] = value
    return columns


@bp.route("/contracts/import/<token>", methods=["GET", "POST"])
@editor_required
def import_preview(token: str):
    stored = uploads.load(token, current_user.id)
    if stored is None:
        abort(404)
    data, filename = stored
    sheet = request.values.get("sheet") or None
    try:
        rows = read_rows(data, filename, sheet)
    except FileRefused:
        abort(404)
    header = find_header_row(rows)
    if header is None:
        abort(404)
    options_form = ImportOptionsForm()
    error = None
    if request.method == "POST" and options_form.validate():
        header.columns = _mapping_from_form(len(rows[header.index]))
    options = importer.ImportOptions(
        create_missing=options_form.create_missing.data,
        update_existing=options_form.update_existing.data,
        source=f"import {filename}",
    )
    mapped = set(header.columns.values())
    if not {"reference", "title"} <= mapped:
        error = _("Choose which columns hold the contract number and the title.")
        plan = None
    else:
        plan = importer.plan(rows, header, options)
    if request.method == "POST" and request.form.get("action") == "import" and plan is not None:
        if options_form.all_or_nothing.data and plan.rejected:
            error = _(
                "Some rows are rejected, and you asked for all or nothing: nothing was imported."
            )
        else:
            job = jobs.create(
                token=token,
                filename=filename,
                sheet=sheet,
                header=header,
                options={
                    "create_missing": options.create_missing,
                    "update_existing": options.update_existing,
                    "all_or_nothing": bool(options_form.all_or_nothing.data),
                },
                user_id=current_user.id,
                ip=request.remote_addr,
            )
            Session.commit()
            jobs.start(job.id)
            return redirect(url_for("exchange.import_job", job_id=job.id))
    status = 422 if error else 200
    return render_template(
        "exchange/preview.html",
        token=token,
        sheet=sheet or "",
        filename=filename,
        header=header,
        header_cells=rows[header.index],
        sample=rows[header.index + 1] if header.index + 1 < len(rows) else [],
        fields=IMPORT_FIELDS,
        plan=plan,
        statuses=importer.RowStatus,
        options_form=options_form,
        error=error,
        shown=REPORT_ROWS_SHOWN,
    ), status


def _job_or_404(job_id: int) -> ImportJob:
    job = Session.get(ImportJob, job_id)
    if job is None:
        abort(404)
    if jobs.reconcile(job):
        Session.commit()
    return job


def _job_state(job: ImportJob) -> dict:
    """What the page shows about a job, also polled as JSON by the progress bar."""
    state = {
        "status": job.status.value,
        "label": str(JOB_STATUS_LABELS[job.status]),
        "finished": job.finished,
        "phase": None,
        "done": 0,
        "total": 0,
        "percent": 100 if job.finished else 0,
    }
    last = None if job.finished else jobs.progress(job.id)
    if last:
        # Reading is quick; checking the rows is the first half, writing them the second.
        share = last["done"] / last["total"] if last["total"] else 0
        offset = {"checking": 0, "writing": 50}.get(last["phase"], 0)
        weight = 50 if last["phase"] in ("checking", "writing") else 0
        phase_label = jobs.PHASES.get(last["phase"], "")
        state.update(
            phase=str(phase_label),
            done=last["done"],
            total=last["total"],
            percent=min(99, int(offset + weight * share)),
        )
    return state


@bp.get("/contracts/import/jobs/<int:job_id>")
@editor_required
def import_job(job_id: int):
    job = _job_or_404(job_id)
    can_retry = job.status in (JobStatus.REFUSED, JobStatus.FAILED) and (
        uploads.load(job.upload_token, current_user.id) is not None
    )
    return render_template("exchange/job.html", job=job, state=_job_state(job), can_retry=can_retry)


@bp.get("/contracts/import/jobs/<int:job_id>/status.json")
@editor_required
def import_job_status(job_id: int):
    response = jsonify(_job_state(_job_or_404(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response
