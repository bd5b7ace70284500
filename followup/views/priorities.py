"""Follow-up pages: category assessments, the priority list, the worklist and building
plans for many contracts at once."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from contracts.auth.access import editor_required, roles_required
from contracts.auth.models import Role
from contracts.clock import today
from contracts.db import Session
from contracts.pagination import page_number
from contracts.parties.models import Category
from followup import labels, services
from followup import priorities as prio
from followup.forms_priorities import AssessmentForm, BuildForm
from followup.labels import CRITICALITY_LABELS, QUADRANT_LABELS
from followup.models import MethodTemplate
from followup.views import bp

# The office plans the work and auditors read it; owners see their own plans elsewhere.
readers_required = roles_required(Role.ADMIN, Role.PROCUREMENT, Role.AUDITOR)


@bp.record_once
def _install_labels(state) -> None:
    # Jinja globals for every follow-up page (and the plan pages of the same blueprint).
    state.app.jinja_env.globals.update(labels.template_globals())


@bp.get("/followup/priorities")
@readers_required
def priorities():
    return render_template("followup/priorities.html", rows=prio.priorities(current_user, today()))


@bp.route("/followup/categories/<int:category_id>/assess", methods=["GET", "POST"])
@editor_required
def category_assess(category_id: int):
    category = Session.get(Category, category_id) or abort(404)
    form = AssessmentForm(assessed_on=today())
    if form.validate_on_submit():
        assessment = services.assess_category(
            category.id,
            assessed_on=form.assessed_on.data,
            supply_risk=form.supply_risk.data,
            financial_impact=form.financial_impact.data,
            wage_risk=form.wage_risk.data,
            rationale=form.rationale.data,
            assessed_by=current_user,
        )
        Session.commit()
        flash(
            _(
                "%(category)s assessed: %(quadrant)s, criticality %(level)s.",
                category=category.name,
                quadrant=QUADRANT_LABELS[assessment.quadrant],
                level=CRITICALITY_LABELS[assessment.criticality],
            ),
            "success",
        )
        return redirect(url_for("followup.category_assess", category_id=category.id))
    history = prio.assessment_history(category.id)
    page = render_template("followup/assess.html", form=form, category=category, history=history)
    return page, 422 if form.errors else 200


def _category_arg(critical: list[prio.CategoryPriority]) -> tuple[int | None, bool]:
    """The category filter from the query string, and whether it names a critical one."""
    raw = request.args.get("category", "")
    if not raw.isdigit():
        return None, True
    category_id = int(raw)
    return category_id, any(row.category.id == category_id for row in critical)


@bp.get("/followup/worklist")
@readers_required
def worklist():
    day = today()
    rows = prio.priorities(current_user, day)
    critical = prio.critical(rows)
    category_id, known = _category_arg(critical)
    query = prio.worklist(rows, current_user, day, category_id)
    page = page_number(request.args.get("page"))
    page_size = current_app.config["PAGE_SIZE"]
    total = prio.count(query)
    templates = services.current_templates()
    default = services.default_template()
    form = BuildForm(
        formdata=None,
        meta={"csrf": False},
        categories=[row.category for row in critical],
        templates=templates,
        category_id=category_id if known else None,
        template_id=default.id if default else None,
    )
    return render_template(
        "followup/worklist.html",
        contracts=prio.page_of(query, page, page_size),
        total=total,
        page=page,
        pages=max(1, -(-total // page_size)),
        critical=critical,
        category_id=category_id,
        known_category=known,
        form=form,
        today=day,
    )


@bp.route("/followup/worklist/build", methods=["GET", "POST"])
@editor_required
def worklist_build():
    """GET previews what building plans would create; POST builds them."""
    day = today()
    rows = prio.priorities(current_user, day)
    critical = prio.critical(rows)
    posted = request.method == "POST"
    # The preview is a GET form (no token in its URL); the build is a POST with CSRF.
    source = {} if posted else {"formdata": request.args, "meta": {"csrf": False}}
    form = BuildForm(
        categories=[row.category for row in critical],
        templates=services.current_templates(),
        **source,
    )
    if not form.validate():
        page = render_template("followup/build_preview.html", form=form, preview=None)
        return page, 422
    template = Session.get(MethodTemplate, form.template_id.data)
    category_id = form.category_id.data
    ids = prio.contract_ids(prio.worklist(rows, current_user, day, category_id))
    back = url_for("followup.worklist", category=category_id)
    if not posted:
        preview = prio.preview_build(ids, template, day)
        return render_template(
            "followup/build_preview.html",
            form=form,
            preview=preview,
            template=template,
            category=Session.get(Category, category_id) if category_id else None,
            back=back,
        )
    template_name = str(template)  # the bulk build lets go of every loaded object
    result = services.build_plans(ids, template, day, current_user)
    Session.commit()
    flash(
        ngettext(
            "%(num)d plan built from %(template)s, with %(activities)d activities.",
            "%(num)d plans built from %(template)s, with %(activities)d activities.",
            result.plans,
            template=template_name,
            activities=result.activities,
        ),
        "success",
    )
    return redirect(back)
