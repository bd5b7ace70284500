"""Translated labels (and tag colours) for the enums of plans, activities and deviations.

The labels of activity kinds and responsible roles live in followup/labels.py, with the
template pages that define them.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from followup.labels import ACTIVITY_KIND_LABELS, RESPONSIBLE_LABELS
from followup.models import ActivityStatus, Consequence, DeviationStatus, Severity

ACTIVITY_STATUS_LABELS = {
    ActivityStatus.OPEN: _l("Open"),
    ActivityStatus.DONE: _l("Done"),
    ActivityStatus.SKIPPED: _l("Skipped"),
}

# Designsystemet colours for the status tags.
ACTIVITY_STATUS_COLORS = {
    ActivityStatus.OPEN: "info",
    ActivityStatus.DONE: "success",
    ActivityStatus.SKIPPED: "neutral",
}

SEVERITY_LABELS = {
    Severity.LOW: _l("Low"),
    Severity.MEDIUM: _l("Medium"),
    Severity.HIGH: _l("High"),
}

SEVERITY_COLORS = {
    Severity.LOW: "neutral",
    Severity.MEDIUM: "warning",
    Severity.HIGH: "danger",
}

CONSEQUENCE_LABELS = {
    Consequence.NONE: _l("None"),
    Consequence.NOTICE: _l("Notice of defect (reklamasjon)"),
    Consequence.REMEDY: _l("Demand for remedy"),
    Consequence.LIQUIDATED_DAMAGES: _l("Liquidated damages (dagbot)"),
    Consequence.PRICE_REDUCTION: _l("Price reduction (prisavslag)"),
    Consequence.DAMAGES: _l("Damages (erstatning)"),
    Consequence.TERMINATION: _l("Termination (heving)"),
    Consequence.OTHER: _l("Other"),
}

DEVIATION_STATUS_LABELS = {
    DeviationStatus.OPEN: _l("Open"),
    DeviationStatus.CLOSED: _l("Closed"),
}

DEVIATION_STATUS_COLORS = {
    DeviationStatus.OPEN: "warning",
    DeviationStatus.CLOSED: "success",
}


def template_globals() -> dict[str, object]:
    """What the follow-up templates read, installed as Jinja globals once per app."""
    return {
        "ACTIVITY_STATUS_LABELS": ACTIVITY_STATUS_LABELS,
        "ACTIVITY_STATUS_COLORS": ACTIVITY_STATUS_COLORS,
        "SEVERITY_LABELS": SEVERITY_LABELS,
        "SEVERITY_COLORS": SEVERITY_COLORS,
        "CONSEQUENCE_LABELS": CONSEQUENCE_LABELS,
        "DEVIATION_STATUS_LABELS": DEVIATION_STATUS_LABELS,
        "DEVIATION_STATUS_COLORS": DEVIATION_STATUS_COLORS,
        "activity_kind_label": lambda kind: ACTIVITY_KIND_LABELS.get(kind, kind),
        "responsible_role_label": lambda role: RESPONSIBLE_LABELS.get(role, role),
    }
