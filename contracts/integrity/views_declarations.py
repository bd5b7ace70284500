"""Impartiality declaration pages: a contract's declarations (declare, review, name the
people involved) and the auditors' overview of every contract's declarations."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contracts.auth.access import editor_required, roles_required
from contracts.auth.models import Role, User
from contracts.clock import today
from contracts.db import Session
from contracts.integrity import declarations
from contracts.integrity.blueprint import bp
from contracts.integrity.declarations import Declaration, DeclarationStatus, InvolvedPerson
from contracts.integrity.flag_rules import find_missing_declarations
from contracts.integrity.flags import Context, Thresholds, supplier_share
from contracts.integrity.forms_declarations import DeclarationForm, InvolvedForm, ReviewForm
from contracts.integrity.labels import (
    DECLARATION_STATUS_COLORS,
    DECLARATION_STATUS_LABELS,
    INVOLVEMENT_LABELS,
)
from contracts.register.models import Contract
from contracts.register.services import get_visible_contract

OVERVIEW_LIMIT = 500
FILTERS = ("all", "missing", "conflict", "unreviewed")


def _contract_or_404(contract_id: int, *, live: bool = False) -> Contract:
    contract = get_visible_contract(contract_id, current_user)
    if contract is None or (live and contract.deleted_at is not None):
        abort(404)
    return contract


def _may_declare(contract: Contract) -> bool:
    # Auditors check declarations; even when named on a contract they declare nothing here.
    return current_user.role != Role.AUDITOR and declarations.is_involved(contract, current_user)


def _involved_form() -> InvolvedForm:
    form = InvolvedForm()
    form.user_id.choices = [(u.id, f"{u.name} ({u.email})") for u in declarations.candidates()]
    return form


def _page(
    contract: Contract,
    status: int = 200,
    *,
    form: DeclarationForm | None = None,
    review_form: ReviewForm | None = None,
    reviewing: int | None = None,
    involved_form: InvolvedForm | None = None,
):
    may_declare = _may_declare(contract) and contract.deleted_at is None
    can_edit = current_user.can_edit and contract.deleted_at is None
    page = render_template(
        "integrity/declarations.html",
        contract=contract,
        people=declarations.people_for(contract),
        history=declarations.history(contract.id),
        may_declare=may_declare,
        can_edit=can_edit,
        form=form or (DeclarationForm(formdata=None) if may_declare else None),
        review_form=review_form or ReviewForm(formdata=None),
        reviewing=reviewing,
        involved_form=involved_form or (_involved_form() if can_edit else None),
        STATUS=DeclarationStatus,
        DECLARATION_STATUS_LABELS=DECLARATION_STATUS_LABELS,
        DECLARATION_STATUS_COLORS=DECLARATION_STATUS_COLORS,
        INVOLVEMENT_LABELS=INVOLVEMENT_LABELS,
    )
    return page, status


def _back(contract_id: int):
    return redirect(url_for("integrity.declaration_list", contract_id=contract_id))


@bp.get("/contracts/<int:contract_id>/declarations")
@login_required
def declaration_list(contract_id: int):
    return _page(_contract_or_404(contract_id))


@bp.post("/contracts/<int:contract_id>/declarations")
@login_required
def declaration_submit(contract_id: int):
    """The logged-in person declares for themself; nobody declares for someone else."""
    contract = _contract_or_404(contract_id, live=True)
    if not _may_declare(contract):
        abort(403)
    form = DeclarationForm()
    if not form.validate_on_submit():
        return _page(contract, 422, form=form)
    conflict = form.conflict.data == "yes"
    declarations.declare(
        contract,
        current_user,
        today(),
        form.conflict_description.data if conflict else None,
        form.measures.data if conflict else None,
    )
    Session.commit()
    flash(_("Your declaration is submitted."), "success")
    return _back(contract.id)


@bp.post("/integrity/declarations/<int:declaration_id>/review")
@editor_required
def declaration_review(declaration_id: int):
    declaration = Session.get(Declaration, declaration_id) or abort(404)
    contract = _contract_or_404(declaration.contract_id, live=True)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _page(contract, 422, review_form=form, reviewing=declaration.id)
    newest = declarations.current_declarations([contract.id]).get(
        (contract.id, declaration.user_id)
    )
    if newest is None or newest.id != declaration.id:
        flash(_("A newer declaration supersedes this one; review that instead."), "warning")
        return _back(contract.id)
    declarations.review(
        declaration, current_user, form.decision.data == "accept", form.comment.data
    )
    Session.commit()
    flash(_("The review is saved."), "success")
    return _back(contract.id)


@bp.post("/contracts/<int:contract_id>/declarations/people")
@editor_required
def involved_add(contract_id: int):
    contract = _contract_or_404(contract_id, live=True)
    form = _involved_form()
    if not form.validate_on_submit():
        return _page(contract, 422, involved_form=form)
    user = Session.get(User, form.user_id.data) or abort(404)
    try:
        with Session.begin_nested():
            declarations.add_involved(contract, user, form.task.data, current_user)
    except IntegrityError:
        flash(_("%(name)s is already named as involved.", name=user.name), "warning")
        return _back(contract.id)
    Session.commit()
    flash(_("%(name)s must now declare for this contract.", name=user.name), "success")
    return _back(contract.id)


@bp.post("/integrity/involved/<int:involved_id>/remove")
@editor_required
def involved_remove(involved_id: int):
    row = Session.get(InvolvedPerson, involved_id) or abort(404)
    contract = _contract_or_404(row.contract_id, live=True)
    declarations.remove_involved(row)
    Session.commit()
    flash(_("The person is no longer named as involved."), "success")
    return _back(contract.id)


@bp.get("/integrity/declarations")
@roles_required(Role.ADMIN, Role.PROCUREMENT, Role.AUDITOR)
def declaration_overview():
    """Every contract's current declarations, or the contracts missing some."""
    show = request.args.get("show", "all")
    if show not in FILTERS:
        show = "all"
    missing, rows = [], []
    if show == "missing":
        context = Context(today(), Thresholds(), supplier_share())
        findings = find_missing_declarations(context)
        by_id = {
            c.id: c
            for c in Session.scalars(
                select(Contract).where(
                    Contract.id.in_([f.contract_id for f in findings[:OVERVIEW_LIMIT]])
                )
            )
        }
        users = {
            u.id: u
            for u in Session.scalars(
                select(User).where(
                    User.id.in_({uid for f in findings for uid in f.details["missing_user_ids"]})
                )
            )
        }
        missing = [
            (by_id[f.contract_id], [users[uid] for uid in f.details["missing_user_ids"]], f)
            for f in findings[:OVERVIEW_LIMIT]
            if f.contract_id in by_id
        ]
    else:
        newest = declarations.newest_ids()
        query = (
            select(Declaration)
            .join(newest, newest.c.id == Declaration.id)
            .join(Contract, Contract.id == Declaration.contract_id)
            .where(Contract.deleted_at.is_(None))
            .order_by(Declaration.id.desc())
            .limit(OVERVIEW_LIMIT)
        )
        if show == "conflict":
            query = query.where(Declaration.has_conflict.is_(True))
        elif show == "unreviewed":
            query = query.where(Declaration.status == DeclarationStatus.SUBMITTED)
        rows = Session.scalars(query).all()
    return render_template(
        "integrity/declaration_overview.html",
        show=show,
        filters=FILTERS,
        rows=rows,
        missing=missing,
        limit=OVERVIEW_LIMIT,
        DECLARATION_STATUS_LABELS=DECLARATION_STATUS_LABELS,
        DECLARATION_STATUS_COLORS=DECLARATION_STATUS_COLORS,
    )
