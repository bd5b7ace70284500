"""Create, change and delete units, suppliers and categories. Services flush, never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, or_, select
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.no import orgnr

from contracts.audit import services as audit
from contracts.db import Base, Session, escape_like, unicode_lower
from contracts.parties.models import Category, Supplier, Unit


class InUseError(ValueError):
    """The record is still referred to by contracts or users and cannot be deleted."""


def clean_org_number(value: str | None) -> str | None:
    """Validate a Norwegian organisation number (MOD11) and return its 9 digits."""
    if value is None or not value.strip():
        return None
    try:
        return orgnr.validate(value)
    except StdnumError as error:
        raise ValueError(str(error)) from None


def all_units() -> list[Unit]:
    return list(Session.scalars(select(Unit).order_by(Unit.name)))


# Up to this many suppliers the contract form offers them all as suggestions; beyond it the
# page would grow too heavy and the user types the organisation number.
SUPPLIER_SUGGESTIONS_MAX = 2000


def supplier_options() -> list[Supplier]:
    """All suppliers by name for the contract form's suggestions, or none if too many."""
    rows = Session.scalars(
        select(Supplier).order_by(Supplier.name, Supplier.id).limit(SUPPLIER_SUGGESTIONS_MAX + 1)
    ).all()
    return list(rows) if len(rows) <= SUPPLIER_SUGGESTIONS_MAX else []


def all_categories() -> list[Category]:
    return list(Session.scalars(select(Category).order_by(Category.name)))


def _save(obj: Base, values: dict[str, Any]) -> Base:
    """Apply explicit values to a new or existing record and audit the change."""
    is_new = obj.id is None
    before = {} if is_new else audit.snapshot(obj)
    for key, value in values.items():
        setattr(obj, key, value)
    Session.add(obj)
    if is_new:
        audit.record_create(obj, summary=str(obj))
    else:
        audit.record_update(obj, before, summary=None)
    return obj


def save_unit(unit: Unit, *, name: str, contact_email: str | None) -> Unit:
    return _save(unit, {"name": name.strip(), "contact_email": contact_email or None})


def save_category(category: Category, *, name: str, cpv_code: str | None, kind: str) -> Category:
    return _save(category, {"name": name.strip(), "cpv_code": cpv_code or None, "kind": kind})


def save_supplier(
    supplier: Supplier,
    *,
    name: str,
    org_number: str | None,
    contact_email: str | None,
    contact_phone: str | None,
    notes: str | None,
) -> Supplier:
    """Save a supplier; a new name or number is copied into its contracts' search text."""
    from contracts.register.services import refresh_search_text_for_supplier

    old_name, old_number = supplier.name, supplier.org_number
    _save(
        supplier,
        {
            "name": name.strip(),
            "org_number": clean_org_number(org_number),
            "contact_email": contact_email or None,
            "contact_phone": contact_phone or None,
            "notes": notes or None,
        },
    )
    if old_name is not None and (old_name, old_number) != (supplier.name, supplier.org_number):
        refresh_search_text_for_supplier(supplier)
    return supplier


def org_number_taken(org_number: str | None, supplier_id: int | None) -> bool:
    if not org_number:
        return False
    query = select(func.count()).select_from(Supplier).where(Supplier.org_number == org_number)
    if supplier_id is not None:
        query = query.where(Supplier.id != supplier_id)
    return bool(Session.scalar(query))


def name_taken(model: type[Unit] | type[Category], name: str, obj_id: int | None) -> bool:
    query = (
        select(func.count())
        .select_from(model)
        .where(unicode_lower(model.name) == name.strip().lower())  # folds Æ/Ø/Å on SQLite too
    )
    if obj_id is not None:
        query = query.where(model.id != obj_id)
    return bool(Session.scalar(query))


def delete_record(obj: Unit | Supplier | Category) -> None:
    """Delete master data that nothing refers to any more."""
    from contracts.auth.models import User
    from contracts.register.models import Contract

    column = {
        Unit: Contract.unit_id,
        Supplier: Contract.supplier_id,
        Category: Contract.category_id,
    }[type(obj)]
    in_use = Session.scalar(select(func.count()).select_from(Contract).where(column == obj.id))
    if isinstance(obj, Unit):
        in_use += Session.scalar(
            select(func.count()).select_from(User).where(User.unit_id == obj.id)
        )
    if in_use:
        raise InUseError(in_use)
    audit.record_delete(obj, summary=str(obj))
    Session.delete(obj)
    Session.flush()


def suggest_suppliers(term: str, limit: int) -> list[Supplier]:
    """Suppliers for a typed fragment of a name or number: names starting with it first."""
    term = " ".join(term.split())
    if len(term) < 2:
        return []
    lowered = escape_like(term.lower())
    digits = term.replace(" ", "")
    matches = [unicode_lower(Supplier.name).like(f"%{lowered}%", escape="\\")]
    if digits.isdigit():
        matches.append(Supplier.org_number.like(f"%{escape_like(digits)}%", escape="\\"))
    starts = unicode_lower(Supplier.name).like(f"{lowered}%", escape="\\")
    return list(
        Session.scalars(
            select(Supplier)
            .where(or_(*matches))
            .order_by(case((starts, 0), else_=1), Supplier.name, Supplier.id)
            .limit(limit)
        )
    )


def search_suppliers(term: str, page: int, page_size: int) -> tuple[list[Supplier], int]:
    """Suppliers whose name or organisation number contains the term, a page at a time."""
    query = select(Supplier)
    term = term.strip()
    if term:
        pattern = f"%{escape_like(term.lower())}%"
        digits = f"%{escape_like(term.replace(' ', ''))}%"
        query = query.where(
            or_(
                unicode_lower(Supplier.name).like(pattern, escape="\\"),
                Supplier.org_number.like(digits, escape="\\"),
            )
        )
    total = Session.scalar(select(func.count()).select_from(query.subquery()))
    rows = Session.scalars(
        query.order_by(Supplier.name, Supplier.id).limit(page_size).offset((page - 1) * page_size)
    ).all()
    return list(rows), total or 0
