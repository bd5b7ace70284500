"""Follow-up pages: method templates and their rules. Every change saves a new version."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from contracts.auth.access import editor_required
from contracts.db import Session
from followup import services, template_edits
from followup.forms_templates import NewTemplateForm, RemoveRuleForm, RuleForm, TemplateEditForm
from followup.models import MethodTemplate, TemplateRule
from followup.views import bp


def _template_or_404(template_id: int) -> MethodTemplate:
    return Session.get(MethodTemplate, template_id) or abort(404)


def _rule_or_404(template: MethodTemplate, rule_id: int) -> TemplateRule:
    rule = Session.get(TemplateRule, rule_id)
    if rule is None or rule.template_id != template.id:
        abort(404)
    return rule


def _detail(template: MethodTemplate):
    return redirect(url_for("followup.template_detail", template_id=template.id))


def _refuse_old_version(template: MethodTemplate):
    """Old versions stay as the plans built from them knew them: send the user to the
    current version instead."""
    current = template_edits.current_version(template) or template
    flash(
        _(
            "Version %(old)d is no longer current; changes are made to version %(new)d.",
            old=template.version,
            new=current.version,
        ),
        "warning",
    )
    return _detail(current)


def _save(change: Callable[[], MethodTemplate]):
    """Run a change that makes a new version, commit, and show the new version."""
    try:
        version = change()
        Session.commit()
    except IntegrityError:
        # Someone else saved the next version first (unique family + version).
        Session.rollback()
        flash(_("Someone else changed the template at the same time. Try again."), "danger")
        return None
    flash(_("Saved as version %(version)d.", version=version.version), "success")
    return _detail(version)


@bp.get("/followup/templates")
@login_required
def template_list():
    return render_template(
        "followup/templates/list.html",
        templates=services.current_templates(),
        plan_counts=template_edits.family_plan_counts(),
    )


@bp.route("/followup/templates/new", methods=["GET", "POST"])
@editor_required
def template_new():
    templates = services.current_templates()
    form = NewTemplateForm(templates=templates)
    if form.validate_on_submit():
        source = Session.get(MethodTemplate, form.copy_from.data) if form.copy_from.data else None
        template = template_edits.create(
            form.name.data, form.description.data, source, current_user
        )
        Session.commit()
        flash(_("%(name)s created.", name=template.name), "success")
        return _detail(template)
    page = render_template("followup/templates/template_form.html", form=form, template=None)
    return page, 422 if form.errors else 200


@bp.get("/followup/templates/<int:template_id>")
@login_required
def template_detail(template_id: int):
    template = _template_or_404(template_id)
    versions = template_edits.versions(template.family)
    return render_template(
        "followup/templates/detail.html",
        template=template,
        versions=versions,
        plan_counts=template_edits.plan_counts([v.id for v in versions]),
    )


@bp.route("/followup/templates/<int:template_id>/edit", methods=["GET", "POST"])
@editor_required
def template_edit(template_id: int):
    template = _template_or_404(template_id)
    if not template.is_current:
        return _refuse_old_version(template)
    form = TemplateEditForm(obj=template, family=template.family)
    if form.validate_on_submit():
        saved = _save(
            lambda: template_edits.rename(
                template,
                form.name.data,
                form.description.data,
                form.note.data,
                current_user,
            )
        )
        return saved or _detail(template)
    page = render_template("followup/templates/template_form.html", form=form, template=template)
    return page, 422 if form.errors else 200


@bp.route("/followup/templates/<int:template_id>/rules/new", methods=["GET", "POST"])
@editor_required
def rule_new(template_id: int):
    template = _template_or_404(template_id)
    if not template.is_current:
        return _refuse_old_version(template)
    form = RuleForm()
    if form.validate_on_submit():
        values = form.rule_values()
        saved = _save(
            lambda: template_edits.add_rule(template, values, form.note.data, current_user)
        )
        return saved or _detail(template)
    page = render_template(
        "followup/templates/rule_form.html", form=form, template=template, rule=None
    )
    return page, 422 if form.errors else 200


@bp.route("/followup/templates/<int:template_id>/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@editor_required
def rule_edit(template_id: int, rule_id: int):
    template = _template_or_404(template_id)
    rule = _rule_or_404(template, rule_id)
    if not template.is_current:
        return _refuse_old_version(template)
    form = RuleForm(obj=rule)
    if form.validate_on_submit():
        values = form.rule_values()
        saved = _save(
            lambda: template_edits.edit_rule(template, rule, values, form.note.data, current_user)
        )
        return saved or _detail(template)
    page = render_template(
        "followup/templates/rule_form.html", form=form, template=template, rule=rule
    )
    return page, 422 if form.errors else 200


@bp.post("/followup/templates/<int:template_id>/rules/<int:rule_id>/delete")
@editor_required
def rule_delete(template_id: int, rule_id: int):
    template = _template_or_404(template_id)
    rule = _rule_or_404(template, rule_id)
    if not template.is_current:
        return _refuse_old_version(template)
    form = RemoveRuleForm()
    if not form.validate_on_submit():
        abort(400)
    saved = _save(lambda: template_edits.remove_rule(template, rule, form.note.data, current_user))
    return saved or _detail(template)
