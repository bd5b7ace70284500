"""Red-flag pages: the list with filters and exports, computing them on demand, and the
acknowledgement (the one change auditors may make, because it is their statement)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased

from contracts.audit import services as audit
from contracts.auth.access import editor_required, roles_required
from contracts.auth.models import Role
from contracts.clock import today
from contracts.db import Session
from contracts.exchange import export
from contracts.exchange.columns import Kind
from contracts.integrity import flags
from contracts.integrity.blueprint import bp
from contracts.integrity.flags import RULES, SEVERITY_ORDER, RedFlag
from contracts.integrity.forms_declarations import AcknowledgeForm
from contracts.integrity.labels import SEVERITY_COLORS, SEVERITY_LABELS
from contracts.pagination import page_number
from contracts.parties.models import Supplier, Unit
from contracts.register.forms import ConfirmForm
from contracts.register.models import Contract

PAGE_SIZE = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATES = ("open", "resolved", "unacknowledged", "all")
OFFICE_AND_AUDITORS = (Role.ADMIN, Role.PROCUREMENT, Role.AUDITOR)


@dataclass
class FlagFilter:
    """The list's filters, read from the query string (unknown values are ignored)."""

    rule: str = ""
    unit_id: int | None = None
    supplier_id: int | None = None
    seen_from: date | None = None
    seen_to: date | None = None
    state: str = "open"

    @classmethod
    def from_args(cls, args: Any) -> FlagFilter:
        def number(name: str) -> int | None:
            value = args.get(name, "")
            return int(value) if value.isdigit() else None

        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(args.get(name, ""))
            except ValueError:
                return None

        rule = args.get("rule", "")
        state = args.get("state", "open")
        return cls(
            rule=rule if rule in RULES else "",
            unit_id=number("unit"),
            supplier_id=number("supplier"),
            seen_from=day("from"),
            seen_to=day("to"),
            state=state if state in STATES else "open",
        )

    def args(self) -> dict[str, str]:
        values = {
            "rule": self.rule,
            "unit": self.unit_id,
            "supplier": self.supplier_id,
            "from": self.seen_from.isoformat() if self.seen_from else None,
            "to": self.seen_to.isoformat() if self.seen_to else None,
            "state": self.state,
        }
        return {k: str(v) for k, v in values.items() if v}

    def query(self) -> Select:
        """The flags matching the filters, newest first. A flag's contract gives its unit,
        and its supplier when the flag names none of its own."""
        query = select(RedFlag).outerjoin(Contract, Contract.id == RedFlag.contract_id)
        if self.rule:
            query = query.where(RedFlag.rule == self.rule)
        if self.unit_id:
            query = query.where(Contract.unit_id == self.unit_id)
        if self.supplier_id:
            query = query.where(
                or_(
                    RedFlag.supplier_id == self.supplier_id,
                    Contract.supplier_id == self.supplier_id,
                )
            )
        if self.seen_from:
            query = query.where(RedFlag.last_seen_on >= self.seen_from)
        if self.seen_to:
            query = query.where(RedFlag.first_seen_on <= self.seen_to)
        if self.state == "open":
            query = query.where(RedFlag.resolved_on.is_(None))
        elif self.state == "resolved":
            query = query.where(RedFlag.resolved_on.is_not(None))
        elif self.state == "unacknowledged":
            query = query.where(RedFlag.resolved_on.is_(None), RedFlag.acknowledged_at.is_(None))
        return query.order_by(RedFlag.first_seen_on.desc(), RedFlag.id.desc())


def _counts_by_rule(flt: FlagFilter) -> dict[str, int]:
    counted = FlagFilter(**{**flt.__dict__, "rule": ""}).query().order_by(None).subquery()
    flag = aliased(RedFlag, counted)
    return dict(Session.execute(select(flag.rule, func.count()).group_by(flag.rule)).all())


def _contracts_named(rows: list[RedFlag]) -> dict[int, Contract]:
    ids = {cid for f in rows for cid in (f.other_contract_ids or [])}
    if not ids:
        return {}
    return {c.id: c for c in Session.scalars(select(Contract).where(Contract.id.in_(ids)))}


def _render(
    flt: FlagFilter,
    status: int = 200,
    *,
    form: AcknowledgeForm | None = None,
    failed: int | None = None,
):
    page = page_number(request.args.get("page"))
    rows = Session.scalars(flt.query().limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render_template(
        "integrity/flags.html",
        flt=flt,
        rows=rows,
        page=page,
        more=more,
        rules=sorted(RULES.values(), key=lambda r: (SEVERITY_ORDER[r.severity], r.code)),
        counts=_counts_by_rule(flt),
        named=_contracts_named(rows),
        units=Session.scalars(select(Unit).order_by(Unit.name)).all(),
        supplier=Session.get(Supplier, flt.supplier_id) if flt.supplier_id else None,
        without_supplier={k: v for k, v in flt.args().items() if k != "supplier"},
        states=STATES,
        form=form or AcknowledgeForm(formdata=None),
        failed=failed,
        confirm_form=ConfirmForm(),
        SEVERITY_LABELS=SEVERITY_LABELS,
        SEVERITY_COLORS=SEVERITY_COLORS,
    ), status


@bp.get("/integrity/flags")
@roles_required(*OFFICE_AND_AUDITORS)
def flag_list():
    return _render(FlagFilter.from_args(request.args))


@bp.post("/integrity/flags/recompute")
@editor_required
def flag_recompute():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    counts = flags.recompute(today())
    Session.commit()
    flash(
        _(
            "Red flags computed: %(new)d new, %(resolved)d resolved, %(open)d open.",
            new=counts["new"] + counts["reopened"],
            resolved=counts["resolved"],
            open=counts["open"],
        ),
        "success",
    )
    return redirect(url_for("integrity.flag_list"))


@bp.post("/integrity/flags/<int:flag_id>/acknowledge")
@roles_required(*OFFICE_AND_AUDITORS)
def flag_acknowledge(flag_id: int):
    """Auditors (and the office) acknowledge a flag with a comment; audited."""
    flag = Session.get(RedFlag, flag_id) or abort(404)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return _render(FlagFilter.from_args(request.args), 422, form=form, failed=flag.id)
    flags.acknowledge(flag, current_user, form.comment.data)
    Session.commit()
    flash(_("The red flag is acknowledged."), "success")
    # Back to the filtered list the form was on (only ever a path of this page).
    back = request.form.get("next", "")
    if not back.startswith("/integrity/flags?") and back != "/integrity/flags":
        back = url_for("integrity.flag_list")
    return redirect(back)


# --- exports ---------------------------------------------------------------------------


def _table(flt: FlagFilter):
    headers = [
        _("Rule"),
        _("Code"),
        _("Severity"),
        _("Legal reference"),
        _("Contract number"),
        _("Title"),
        _("Unit"),
        _("Supplier"),
        _("Other contracts"),
        _("Details"),
        _("First seen"),
        _("Last seen"),
        _("Resolved"),
        _("Acknowledged by"),
        _("Acknowledged at"),
        _("Comment"),
    ]
    kinds = [Kind.TEXT] * 10 + [Kind.DATE] * 3 + [Kind.TEXT] * 3

    def rows():
        query = flt.query().execution_options(yield_per=500)
        for flag in Session.scalars(query):
            rule = RULES.get(flag.rule)
            contract = flag.contract
            supplier = flag.supplier or (contract.supplier if contract else None)
            yield [
                str(rule.title) if rule else flag.rule,
                flag.rule,
                str(SEVERITY_LABELS[rule.severity]) if rule else "",
                rule.legal_reference if rule else "",
                contract.reference if contract else "",
                contract.title if contract else (flag.category.name if flag.category else ""),
                contract.unit.name if contract else "",
                supplier.name if supplier else "",
                ", ".join(str(i) for i in flag.other_contract_ids or []),
                json.dumps(flag.details, ensure_ascii=False, sort_keys=True),
                flag.first_seen_on,
                flag.last_seen_on,
                flag.resolved_on,
                flag.acknowledged_by.email if flag.acknowledged_by else "",
                flag.acknowledged_at.strftime("%d.%m.%Y %H:%M") if flag.acknowledged_at else "",
                flag.acknowledgement or "",
            ]

    return headers, kinds, rows()


@bp.get("/integrity/flags.<any(csv, xlsx):fmt>")
@roles_required(*OFFICE_AND_AUDITORS)
def flag_export(fmt: str):
    """The filtered flag list as CSV or XLSX (formula-escaped; the export is audited)."""
    flt = FlagFilter.from_args(request.args)
    audit.record(
        "export",
        entity_type="red_flags",
        summary=f"red flags {fmt} export",
        after={"format": fmt, "query": flt.args()},
    )
    Session.commit()
    headers, kinds, rows = _table(flt)
    disposition = {"Content-Disposition": f'attachment; filename="rode-flagg-{today()}.{fmt}"'}
    if fmt == "csv":
        return Response(
            stream_with_context(export.table_csv_chunks(headers, kinds, rows)),
            mimetype="text/csv",
            headers=disposition,
        )
    return Response(
        export.table_xlsx_bytes(_("Red flags"), headers, kinds, rows),
        mimetype=XLSX,
        headers=disposition,
    )
