"""Translated labels for the follow-up enums, and the words that describe a rule's timing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from contracts.web import format_nok
from followup.models import (
    ActivityKind,
    Anchor,
    Criticality,
    Quadrant,
    Recurrence,
    ResponsibleRole,
    TemplateRule,
)

QUADRANT_LABELS = {
    Quadrant.STRATEGIC: _l("Strategic"),
    Quadrant.BOTTLENECK: _l("Bottleneck"),
    Quadrant.LEVERAGE: _l("Leverage"),
    Quadrant.NON_CRITICAL: _l("Non-critical"),
}

# What each quadrant means for follow-up, shown next to an assessment.
QUADRANT_EXPLANATIONS = {
    Quadrant.STRATEGIC: _l(
        "High supply risk and high financial impact: few suppliers and much money at stake. "
        "Follow these contracts closely, with regular meetings and a plan for the next "
        "competition."
    ),
    Quadrant.BOTTLENECK: _l(
        "High supply risk but modest financial impact: the supply is vulnerable. Secure "
        "delivery and keep an eye on alternatives."
    ),
    Quadrant.LEVERAGE: _l(
        "Low supply risk but high financial impact: many suppliers compete. Use the market, "
        "and follow up prices and quality."
    ),
    Quadrant.NON_CRITICAL: _l(
        "Low supply risk and low financial impact: keep follow-up simple and efficient."
    ),
}

CRITICALITY_LABELS = {
    Criticality.LOW: _l("Low"),
    Criticality.MEDIUM: _l("Medium"),
    Criticality.HIGH: _l("High"),
}

# Designsystemet colours for the criticality tags.
CRITICALITY_COLORS = {
    Criticality.LOW: "neutral",
    Criticality.MEDIUM: "warning",
    Criticality.HIGH: "danger",
}

CRITICALITY_EXPLANATIONS = {
    Criticality.HIGH: _l(
        "A critical category: its active contracts should get a follow-up plan first."
    ),
    Criticality.MEDIUM: _l("Moderately critical: plans when the critical categories are covered."),
    Criticality.LOW: _l("Low criticality: simple follow-up is enough."),
}

# What a score from 1 to 5 means, for the assessment form.
SCORE_LABELS = {
    1: _l("1 – low"),
    2: _l("2 – moderate"),
    3: _l("3 – significant"),
    4: _l("4 – high"),
    5: _l("5 – very high"),
}

ACTIVITY_KIND_LABELS = {
    ActivityKind.START_UP_MEETING: _l("Start-up meeting"),
    ActivityKind.STATUS_MEETING: _l("Status meeting"),
    ActivityKind.QUALITY_REVIEW: _l("KPI and quality review"),
    ActivityKind.PRICE_ADJUSTMENT: _l("Price adjustment"),
    ActivityKind.WAGE_CONDITIONS_CONTROL: _l("Control of wages and working conditions"),
    ActivityKind.RISK_REVIEW: _l("Risk review"),
    ActivityKind.OPTION_DECISION: _l("Option decision"),
    ActivityKind.END_EVALUATION: _l("End evaluation"),
    ActivityKind.RETENDER_START: _l("Start of new competition"),
    ActivityKind.CUSTOM: _l("Other activity"),
}

ANCHOR_LABELS = {
    Anchor.START: _l("Contract start"),
    Anchor.END: _l("Contract end"),
    Anchor.OPTION_DEADLINE: _l("Each option deadline"),
    Anchor.NOTICE_DEADLINE: _l("Last day to give notice"),
    Anchor.ANNIVERSARY: _l("Each anniversary of the start"),
    Anchor.PRICE_ADJUSTMENT: _l("Each price adjustment month"),
}

# The anchor as the object of "14 days after …", "60 days before …".
ANCHOR_PHRASES = {
    Anchor.START: _l("the start"),
    Anchor.END: _l("the end"),
    Anchor.OPTION_DEADLINE: _l("the option deadline"),
    Anchor.NOTICE_DEADLINE: _l("the last day to give notice"),
    Anchor.ANNIVERSARY: _l("each anniversary"),
    Anchor.PRICE_ADJUSTMENT: _l("the price adjustment month"),
}

RECURRENCE_LABELS = {
    Recurrence.ONCE: _l("Once"),
    Recurrence.MONTHLY: _l("Monthly"),
    Recurrence.QUARTERLY: _l("Quarterly"),
    Recurrence.HALF_YEARLY: _l("Half-yearly"),
    Recurrence.YEARLY: _l("Yearly"),
}

RESPONSIBLE_LABELS = {
    ResponsibleRole.OWNER: _l("Contract owner"),
    ResponsibleRole.MANAGER: _l("Contract manager"),
    ResponsibleRole.PROCUREMENT: _l("Procurement office"),
}


def offset_in_words(offset_days: int, anchor: Anchor | str) -> str:
    """'14 days after the start', '60 days before the option deadline', 'on the end'."""
    phrase = ANCHOR_PHRASES[Anchor(anchor)]
    if offset_days > 0:
        return ngettext(
            "%(num)d day after %(anchor)s",
            "%(num)d days after %(anchor)s",
            offset_days,
            anchor=phrase,
        )
    if offset_days < 0:
        return ngettext(
            "%(num)d day before %(anchor)s",
            "%(num)d days before %(anchor)s",
            -offset_days,
            anchor=phrase,
        )
    return _("on %(anchor)s", anchor=phrase)


def rule_conditions(rule: TemplateRule) -> list[str]:
    """The rule's conditions in words; empty when it applies to every contract."""
    conditions = []
    if rule.only_framework:
        conditions.append(_("Only framework agreements"))
    if rule.only_wage_conditions:
        conditions.append(_("Only contracts with the wage-conditions clause"))
    if rule.min_value is not None:
        amount = format_nok(Decimal(rule.min_value))
        conditions.append(_("Only value of NOK %(amount)s or more", amount=amount))
    if rule.min_criticality is not None:
        level = CRITICALITY_LABELS[Criticality(rule.min_criticality)]
        conditions.append(_("Only criticality %(level)s or higher", level=level))
    if rule.max_criticality is not None:
        level = CRITICALITY_LABELS[Criticality(rule.max_criticality)]
        conditions.append(_("Only criticality %(level)s or lower", level=level))
    return conditions


def template_globals() -> dict[str, Any]:
    """What the follow-up pages use in Jinja, installed once as app globals."""
    return {
        "QUADRANT_LABELS": QUADRANT_LABELS,
        "QUADRANT_EXPLANATIONS": QUADRANT_EXPLANATIONS,
        "CRITICALITY_LABELS": CRITICALITY_LABELS,
        "CRITICALITY_COLORS": CRITICALITY_COLORS,
        "CRITICALITY_EXPLANATIONS": CRITICALITY_EXPLANATIONS,
        "ACTIVITY_KIND_LABELS": ACTIVITY_KIND_LABELS,
        "ANCHOR_LABELS": ANCHOR_LABELS,
        "RECURRENCE_LABELS": RECURRENCE_LABELS,
        "RESPONSIBLE_LABELS": RESPONSIBLE_LABELS,
        "offset_in_words": offset_in_words,
        "rule_conditions": rule_conditions,
    }
