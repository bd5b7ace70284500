"""Editing method templates: every change saves a new version through services.new_version,
so the plans built from the old version keep it exactly as it was."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from contracts.auth.models import User
from contracts.db import Session, unicode_lower
from followup import services
from followup.models import FollowUpPlan, MethodTemplate, TemplateRule

FAMILY_LENGTH = 50  # of the column's 60, leaving room for a "-12" suffix


class NotCurrentError(ValueError):
    """Only the current version of a template can be changed."""


def name_taken(name: str, family: str | None) -> bool:
    """Whether a current template of another family has this name (Æ/Ø/Å folded too)."""
    query = select(MethodTemplate.id).where(
        unicode_lower(MethodTemplate.name) == name.strip().lower(),
        MethodTemplate.is_current.is_(True),
    )
    if family is not None:
        query = query.where(MethodTemplate.family != family)
    return Session.scalar(query.limit(1)) is not None


def family_for(name: str) -> str:
    """A stable key for a new template's versions, from its first name: æ/ø/å spelled out."""
    text = name.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:FAMILY_LENGTH].strip("-") or "mal"
    taken = set(
        Session.scalars(select(MethodTemplate.family).where(MethodTemplate.family.like(f"{base}%")))
    )
    family, n = base, 1
    while family in taken:
        n += 1
        family = f"{base}-{n}"
    return family


def versions(family: str) -> list[MethodTemplate]:
    """Every version of a template, newest first."""
    return list(
        Session.scalars(
            select(MethodTemplate)
            .where(MethodTemplate.family == family)
            .order_by(MethodTemplate.version.desc())
        )
    )


def current_version(template: MethodTemplate) -> MethodTemplate | None:
    return Session.scalar(
        select(MethodTemplate).where(
            MethodTemplate.family == template.family, MethodTemplate.is_current.is_(True)
        )
    )


def plan_counts(template_ids: list[int]) -> dict[int, int]:
    """How many plans were built from each template version."""
    if not template_ids:
        return {}
    rows = Session.execute(
        select(FollowUpPlan.template_id, func.count())
        .where(FollowUpPlan.template_id.in_(template_ids))
        .group_by(FollowUpPlan.template_id)
    )
    return dict(rows.all())


def family_plan_counts() -> dict[str, int]:
    """How many plans were built from any version of each template."""
    rows = Session.execute(
        select(MethodTemplate.family, func.count(FollowUpPlan.id))
        .join(FollowUpPlan, FollowUpPlan.template_id == MethodTemplate.id)
        .group_by(MethodTemplate.family)
    )
    return dict(rows.all())


def create(
    name: str, description: str | None, copy_from: MethodTemplate | None, user: User | None
) -> MethodTemplate:
    """A new template. Copying another template's rules makes them its version 2, so the
    first version is always the one created by hand (and the history shows the copy)."""
    template = services.create_template(
        family=family_for(name), name=name.strip(), description=description or None, user=user
    )
    if copy_from is None:
        return template
    return services.new_version(
        template,
        [services.rule_values(rule) for rule in copy_from.rules],
        change_note=_("Rules copied from %(template)s", template=str(copy_from)),
        user=user,
    )


def _rules(template: MethodTemplate) -> list[dict[str, Any]]:
    return [services.rule_values(rule) for rule in template.rules]


def _position(template: MethodTemplate, rule: TemplateRule) -> int:
    return next(i for i, r in enumerate(template.rules) if r.id == rule.id)


def _check_current(template: MethodTemplate) -> None:
    if not template.is_current:
        raise NotCurrentError(str(template))


def add_rule(
    template: MethodTemplate, values: dict[str, Any], note: str | None, user: User | None
) -> MethodTemplate:
    _check_current(template)
    return services.new_version(
        template,
        [*_rules(template), values],
        change_note=note or _("Rule added: %(title)s", title=values["title"]),
        user=user,
    )


def edit_rule(
    template: MethodTemplate,
    rule: TemplateRule,
    values: dict[str, Any],
    note: str | None,
    user: User | None,
) -> MethodTemplate:
    _check_current(template)
    rules = _rules(template)
    rules[_position(template, rule)] = values
    return services.new_version(
        template,
        rules,
        change_note=note or _("Rule changed: %(title)s", title=values["title"]),
        user=user,
    )


def remove_rule(
    template: MethodTemplate, rule: TemplateRule, note: str | None, user: User | None
) -> MethodTemplate:
    _check_current(template)
    rules = _rules(template)
    del rules[_position(template, rule)]
    return services.new_version(
        template,
        rules,
        change_note=note or _("Rule removed: %(title)s", title=rule.title),
        user=user,
    )


def rename(
    template: MethodTemplate,
    name: str,
    description: str | None,
    note: str | None,
    user: User | None,
) -> MethodTemplate:
    _check_current(template)
    return services.new_version(
        template,
        _rules(template),
        change_note=note or _("Name and description changed"),
        user=user,
        name=name.strip(),
        # new_version keeps the old description for None; "" clears it.
        description=(description or "").strip(),
    )
