"""Pages for units, suppliers and categories."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required
from sqlalchemy import func, select

from contracts.auth.access import editor_required
from contracts.db import Session
from contracts.pagination import page_number
from contracts.parties import services
from contracts.parties.forms import CategoryForm, SupplierForm, UnitForm
from contracts.parties.models import Category, Supplier, Unit
from contracts.register.models import Contract

bp = Blueprint("parties", __name__)

# Per kind of master data: model, form, save function and the fields the form maps to.
KINDS = {
    "units": (Unit, UnitForm, services.save_unit, ("name", "contact_email")),
    "categories": (Category, CategoryForm, services.save_category, ("name", "cpv_code", "kind")),
    "suppliers": (
        Supplier,
        SupplierForm,
        services.save_supplier,
        ("name", "org_number", "contact_email", "contact_phone", "notes"),
    ),
}


def _contract_counts(column) -> dict[int, int]:
    rows = Session.execute(
        select(column, func.count()).where(Contract.deleted_at.is_(None)).group_by(column)
    )
    return dict(rows.all())


@bp.get("/units")
@login_required
def unit_list():
    return render_template(
        "parties/unit_list.html",
        units=services.all_units(),
        counts=_contract_counts(Contract.unit_id),
    )


@bp.get("/categories")
@login_required
def category_list():
    return render_template(
        "parties/category_list.html",
        categories=services.all_categories(),
        counts=_contract_counts(Contract.category_id),
    )


@bp.get("/suppliers")
@login_required
def supplier_list():
    term = request.args.get("q", "")[:200]
    page = page_number(request.args.get("page"))
    page_size = current_app.config["PAGE_SIZE"]
    suppliers, total = services.search_suppliers(term, page, page_size)
    return render_template(
        "parties/supplier_list.html",
        suppliers=suppliers,
        total=total,
        term=term,
        page=page,
        pages=max(1, -(-total // page_size)),
    )


SUGGESTIONS = 20


@bp.get("/suppliers/suggest")
@login_required
def supplier_suggest():
    """Suppliers matching what is typed in the contract form, for its suggestion list."""
    from contracts.register.forms import supplier_label

    suppliers = services.suggest_suppliers(request.args.get("q", "")[:200], SUGGESTIONS)
    response = jsonify(
        [
            {"label": supplier_label(s), "name": s.name, "org_number": s.org_number}
            for s in suppliers
        ]
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/suppliers/<int:obj_id>")
@login_required
def supplier_detail(obj_id: int):
    from contracts.register.services import visible_contracts

    supplier = Session.get(Supplier, obj_id) or abort(404)
    contracts = Session.scalars(
        visible_contracts().where(Contract.supplier_id == supplier.id).order_by(Contract.reference)
    ).all()
    return render_template("parties/supplier_detail.html", supplier=supplier, contracts=contracts)


def _edit(kind: str, obj_id: int | None):
    model, form_cls, save, fields = KINDS[kind]
    obj = model() if obj_id is None else (Session.get(model, obj_id) or abort(404))
    form = form_cls(obj=obj if obj_id else None, obj_id=obj_id)
    if form.validate_on_submit():
        save(obj, **{name: getattr(form, name).data for name in fields})
        Session.commit()
        flash(_("%(name)s saved.", name=obj.name), "success")
        return redirect(url_for(_list_endpoint(kind)))
    status = 422 if form.errors else 200
    return render_template(
        "parties/edit.html", form=form, obj=obj if obj_id else None, kind=kind
    ), status


SINGULAR = {"units": "unit", "categories": "category", "suppliers": "supplier"}


def _list_endpoint(kind: str) -> str:
    return f"parties.{SINGULAR[kind]}_list"


def _delete(kind: str, obj_id: int):
    model = KINDS[kind][0]
    obj = Session.get(model, obj_id) or abort(404)
    try:
        services.delete_record(obj)
    except services.InUseError as error:
        Session.rollback()
        count = error.args[0]
        flash(
            ngettext(
                "%(name)s is used by %(num)d contract or user and cannot be deleted.",
                "%(name)s is used by %(num)d contracts or users and cannot be deleted.",
                count,
                name=obj.name,
            ),
            "danger",
        )
    else:
        Session.commit()
        flash(_("%(name)s deleted.", name=obj.name), "success")
    return redirect(url_for(_list_endpoint(kind)))


for _kind in KINDS:

    def _make(kind: str):
        @editor_required
        def new():
            return _edit(kind, None)

        @editor_required
        def edit(obj_id: int):
            return _edit(kind, obj_id)

        @editor_required
        def delete(obj_id: int):
            return _delete(kind, obj_id)

        singular = SINGULAR[kind]
        bp.add_url_rule(f"/{kind}/new", f"{singular}_new", new, methods=["GET", "POST"])
        bp.add_url_rule(
            f"/{kind}/<int:obj_id>/edit", f"{singular}_edit", edit, methods=["GET", "POST"]
        )
        bp.add_url_rule(
            f"/{kind}/<int:obj_id>/delete", f"{singular}_delete", delete, methods=["POST"]
        )

    _make(_kind)
