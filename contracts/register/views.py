"""Pages for the contract register."""

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
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError

from contracts.audit import services as audit
from contracts.audit.services import history_for_contract
from contracts.auth.access import editor_required
from contracts.auth.models import Role
from contracts.auth.services import active_users
from contracts.clock import today
from contracts.db import Session
from contracts.exchange import export
from contracts.parties.services import all_categories, all_units, supplier_options
from contracts.register import services
from contracts.register.forms import (
    AmendmentForm,
    ConfirmForm,
    ContractForm,
    OptionDecisionForm,
    OptionForm,
    TerminateForm,
    supplier_label,
)
from contracts.register.history import readable_history
from contracts.register.models import Contract, ContractOption, ContractStatus, OptionDecision
from contracts.register.panels import panels_for
from contracts.register.search import SORT_COLUMNS, ContractQuery, fetch_page, sorted_query
from contracts.rules.services import regulation_part

bp = Blueprint("register", __name__, url_prefix="/contracts")

LIST_PARAMETERS = frozenset(
    {"q", "status", "unit", "category", "owner", "expires_within", "framework", "sort", "dir"}
)


def _int_arg(name: str, maximum: int = 10**9) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw.isdigit():
        return None
    return min(int(raw), maximum)


def _query_from_args() -> ContractQuery:
    args = request.args
    status = args.get("status", "")
    framework = {"yes": True, "no": False}.get(args.get("framework", ""))
    sort = args.get("sort", "reference")
    return ContractQuery(
        q=args.get("q", "")[:200],
        status=ContractStatus(status) if status in ContractStatus._value2member_map_ else None,
        unit_id=_int_arg("unit"),
        category_id=_int_arg("category"),
        owner_id=_int_arg("owner"),
        expires_within=_int_arg("expires_within", 36500),
        framework=framework,
        sort=sort if sort in SORT_COLUMNS else "reference",
        descending=args.get("dir") == "desc",
        after=args.get("after") or None,
        before=args.get("before") or None,
    )


@bp.get("")
@login_required
def contract_list():
    cq = _query_from_args()
    page = fetch_page(services.visible_contracts(), cq, current_app.config["PAGE_SIZE"], today())
    # Only the known parameters go back into links: url_for treats names like _anchor itself.
    filters = {k: v for k, v in request.args.items() if k in LIST_PARAMETERS and v}
    return render_template(
        "register/contract_list.html",
        page=page,
        cq=cq,
        filters=filters,
        page_no=_int_arg("page", 100000) or 1,
        units=all_units(),
        categories=all_categories(),
        owners=active_users(),
        today=today(),
    )


@bp.get("/export.<any(csv, xlsx):fmt>")
@login_required
def contract_export(fmt: str):
    """The filtered list, every page of it, as CSV or XLSX."""
    cq = _query_from_args()
    query = sorted_query(services.visible_contracts(), cq, today())
    audit.record(
        "export",
        entity_type="contracts",
        summary=f"{fmt} export",
        after={"format": fmt, "query": dict(request.args)},
    )
    Session.commit()
    day = today()
    filename = f"kontrakter-{day.isoformat()}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        chunks = export.csv_chunks(export.contracts_in_batches(query), day)
        return Response(
            stream_with_context(chunks),
            mimetype="text/csv",
            headers=disposition,
        )
    return Response(
        export.xlsx_bytes(export.contracts_in_batches(query), day),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=disposition,
    )


def _contract_or_404(contract_id: int) -> Contract:
    contract = services.get_visible_contract(contract_id)
    if contract is None:
        abort(404)
    return contract


def _contract_form(contract: Contract | None = None, **kwargs) -> ContractForm:
    return ContractForm(
        units=all_units(),
        categories=all_categories(),
        users=active_users(),
        contract_id=contract.id if contract else None,
        **kwargs,
    )


def _form_page(form: ContractForm, contract: Contract | None, status: int, **extra):
    page = render_template(
        "register/contract_form.html",
        form=form,
        contract=contract,
        supplier_options=supplier_options(),
        supplier_label=supplier_label,
        **extra,
    )
    return page, status


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def contract_new():
    form = _contract_form()
    if request.method == "GET":
        form.procedure.data = "unknown"
    if form.validate_on_submit():
        try:
            contract = services.create_contract(form.values())
        except services.ReferenceTakenError:
            Session.rollback()
            form.reference.errors.append(_("Another contract already has this number."))
        else:
            Session.commit()
            flash(_("Contract %(ref)s registered.", ref=contract.reference), "success")
            return redirect(url_for("register.contract_detail", contract_id=contract.id))
    return _form_page(form, None, 422 if form.errors else 200)


def _detail_page(contract: Contract, status: int = 200, *, failed=None, targets=None, **forms):
    """The contract page; after a refused form, with that form's errors and input (422)."""
    day = contract.signed_on or today()
    part, thresholds = regulation_part(contract.estimated_value, day, contract.category.kind)
    page = render_template(
        "register/contract_detail.html",
        contract=contract,
        status=contract.status(today()),
        part=part,
        part_day=day,
        thresholds=thresholds,
        history=readable_history(history_for_contract(contract.id)),
        option_form=forms.get("option_form") or OptionForm(formdata=None),
        amendment_form=forms.get("amendment_form") or AmendmentForm(formdata=None),
        terminate_form=forms.get("terminate_form") or TerminateForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None),
        decision_form=OptionDecisionForm(formdata=None),
        failed_form=failed,
        failed_targets=targets or {},
        can_decide=_can_decide_options(contract),
        today=today(),
        panels=panels_for(contract, today()),
    )
    return page, status


def _refused(contract: Contract, form, **extra):
    # Nothing was changed; the page comes back with the errors and what was typed.
    Session.rollback()
    return _detail_page(contract, 422, failed=form, **extra)


@bp.get("/<int:contract_id>")
@login_required
def contract_detail(contract_id: int):
    return _detail_page(_contract_or_404(contract_id))


@bp.route("/<int:contract_id>/edit", methods=["GET", "POST"])
@editor_required
def contract_edit(contract_id: int):
    contract = _contract_or_404(contract_id)
    if contract.deleted_at is not None:
        abort(404)
    form = _contract_form(contract, obj=contract)
    if request.method == "GET":
        form.supplier.data = supplier_label(contract.supplier)
        form.procedure.data = contract.procedure.value
        form.version.data = str(contract.version)
    elif not isinstance(form.supplier.data, str):
        # Left out of a POST, the field keeps the Supplier object from obj=contract.
        form.supplier.data = ""
    if form.validate_on_submit():
        # The version as posted: left out of a POST, form.version keeps the current one
        # from obj=contract, and a stale save would go through as if it were fresh.
        try:
            expected = int(request.form.get("version", ""))
        except ValueError:
            expected = -1
        try:
            services.update_contract(contract, form.values(), expected)
            Session.commit()
        except (services.ConflictError, StaleDataError):
            Session.rollback()
            fresh = _contract_or_404(contract_id)
            form.version.data = str(fresh.version)
            flash(
                _(
                    "Someone else saved this contract while you were editing. Your changes "
                    "are not saved: compare with the contract and save again."
                ),
                "danger",
            )
            return _form_page(form, fresh, 409, conflict=True)
        except services.ReferenceTakenError:
            Session.rollback()
            form.reference.errors.append(_("Another contract already has this number."))
        else:
            flash(_("Contract %(ref)s saved.", ref=contract.reference), "success")
            return redirect(url_for("register.contract_detail", contract_id=contract.id))
    return _form_page(form, contract, 422 if form.errors else 200)


def _back(contract: Contract):
    return redirect(url_for("register.contract_detail", contract_id=contract.id))


@bp.post("/<int:contract_id>/terminate")
@editor_required
def contract_terminate(contract_id: int):
    contract = _live_contract(contract_id)
    form = TerminateForm()
    if not form.validate_on_submit():
        return _refused(contract, form, terminate_form=form)
    if form.terminated_on.data < contract.start_date:
        form.terminated_on.errors.append(_("The contract cannot end before it starts."))
        return _refused(contract, form, terminate_form=form)
    services.terminate_contract(contract, form.terminated_on.data, form.termination_reason.data)
    Session.commit()
    flash(_("The termination is recorded."), "success")
    return _back(contract)


@bp.post("/<int:contract_id>/cancel-termination")
@editor_required
def contract_cancel_termination(contract_id: int):
    contract = _live_contract(contract_id)
    if ConfirmForm().validate_on_submit() and contract.terminated_on is not None:
        services.cancel_termination(contract)
        Session.commit()
        flash(_("The termination is cancelled."), "success")
    return _back(contract)


@bp.post("/<int:contract_id>/delete")
@editor_required
def contract_delete(contract_id: int):
    contract = _live_contract(contract_id)
    if ConfirmForm().validate_on_submit():
        services.soft_delete_contract(contract)
        Session.commit()
        flash(
            _(
                "Contract %(ref)s deleted. It can be restored from its page.",
                ref=contract.reference,
            ),
            "success",
        )
    return redirect(url_for("register.contract_list"))


@bp.post("/<int:contract_id>/restore")
@editor_required
def contract_restore(contract_id: int):
    contract = _contract_or_404(contract_id)
    if contract.deleted_at is None:
        return _back(contract)
    if ConfirmForm().validate_on_submit():
        try:
            services.restore_contract(contract)
        except services.ReferenceTakenError:
            Session.rollback()
            flash(_("Another contract now has this number, so it cannot be restored."), "danger")
        else:
            Session.commit()
            flash(_("Contract %(ref)s restored.", ref=contract.reference), "success")
    return _back(contract)


def _live_contract(contract_id: int) -> Contract:
    contract = _contract_or_404(contract_id)
    if contract.deleted_at is not None:
        abort(404)
    return contract


@bp.post("/<int:contract_id>/options")
@editor_required
def option_add(contract_id: int):
    contract = _live_contract(contract_id)
    form = OptionForm()
    if not form.validate_on_submit():
        return _refused(contract, form, option_form=form)
    services.add_option(contract, form.extension_months.data, form.exercise_deadline.data)
    Session.commit()
    flash(_("The option is added."), "success")
    return _back(contract)


def _can_decide_options(contract: Contract) -> bool:
    """Editors, and the contract's owner, who decides on extensions; auditors only read."""
    if current_user.role == Role.AUDITOR:
        return False
    return current_user.can_edit or contract.owner_id == current_user.id


def _option_of(contract: Contract, option_id: int) -> ContractOption:
    option = Session.get(ContractOption, option_id)
    if option is None or option.contract_id != contract.id:
        abort(404)
    return option


@bp.post("/<int:contract_id>/options/<int:option_id>/decision")
@login_required
def option_decide(contract_id: int, option_id: int):
    contract = _live_contract(contract_id)
    if not _can_decide_options(contract):
        abort(403)
    option = _option_of(contract, option_id)
    form = OptionDecisionForm()
    if not form.validate_on_submit():
        # The decision form is repeated per option row: the summary links to this row's.
        targets = {"decision": f"decision-{option.id}", "decided_on": f"decided-on-{option.id}"}
        return _refused(contract, form, targets=targets)
    decided_on = form.decided_on.data or today()
    services.decide_option(option, OptionDecision(form.decision.data), decided_on, current_user)
    Session.commit()
    flash(_("The decision is recorded."), "success")
    return _back(contract)


@bp.post("/<int:contract_id>/options/<int:option_id>/delete")
@editor_required
def option_delete(contract_id: int, option_id: int):
    contract = _live_contract(contract_id)
    option = _option_of(contract, option_id)
    if ConfirmForm().validate_on_submit():
        services.delete_option(option)
        Session.commit()
        flash(_("The option is removed."), "success")
    return _back(contract)


@bp.post("/<int:contract_id>/amendments")
@editor_required
def amendment_add(contract_id: int):
    contract = _live_contract(contract_id)
    form = AmendmentForm()
    if not form.validate_on_submit():
        return _refused(contract, form, amendment_form=form)
    services.add_amendment(
        contract, form.amended_on.data, form.description.data, form.value_change.data, current_user
    )
    Session.commit()
    flash(_("The amendment is recorded."), "success")
    return _back(contract)
