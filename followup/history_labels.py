"""Words for follow-up events in a contract's change history (the register shows them)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from contracts.labels import ACTION_LABELS, ENTITY_LABELS

ACTIONS = {
    "activity_done": _l("Activity done"),
    "activity_skipped": _l("Activity skipped"),
    "activity_open": _l("Activity reopened"),
    "activity_attachment": _l("Attachment added"),
    "deviation_closed": _l("Deviation closed"),
    "plan_rebuilt": _l("Plan moved with the contract's dates"),
}
ENTITIES = {
    "followup_plans": _l("Follow-up plan"),
    "activities": _l("Activity"),
    "deviations": _l("Deviation"),
    "category_assessments": _l("Criticality assessment"),
    "method_templates": _l("Method template"),
}


def register() -> None:
    ACTION_LABELS.update(ACTIONS)
    ENTITY_LABELS.update(ENTITIES)
