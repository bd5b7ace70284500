"""Downloads of the register in open formats."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
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
from contracts.exchange import importer, ocds, uploads
from contracts.exchange.forms import ImportOptionsForm, UploadForm
from contracts.exchange.headers import find_header_row
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
    return render_template("exchange/upload.html", form=form), 422 if form.errors else 200


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
            counts = importer.apply(plan, options)
            Session.commit()
            uploads.forget(token)
            flash(
                _(
                    "Imported from %(file)s: %(new)d new and %(updated)d updated contracts.",
                    file=filename,
                    new=counts["created"],
                    updated=counts["updated"],
                ),
                "success",
            )
            return redirect(url_for("register.contract_list"))
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
