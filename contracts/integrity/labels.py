"""Words for declarations and red flags on pages and in the change history."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from contracts.integrity.declarations import DeclarationStatus, InvolvementRole
from contracts.integrity.flags import Severity

DECLARATION_STATUS_LABELS = {
    DeclarationStatus.SUBMITTED: _l("Not reviewed"),
    DeclarationStatus.ACCEPTED: _l("Accepted"),
    DeclarationStatus.RENEWAL_REQUESTED: _l("New declaration requested"),
}
DECLARATION_STATUS_COLORS = {
    DeclarationStatus.SUBMITTED: "info",
    DeclarationStatus.ACCEPTED: "success",
    DeclarationStatus.RENEWAL_REQUESTED: "warning",
}
INVOLVEMENT_LABELS = {
    InvolvementRole.OWNER: _l("Contract owner"),
    InvolvementRole.MANAGER: _l("Contract manager"),
    InvolvementRole.INVOLVED: _l("Involved in the procurement"),
}
SEVERITY_LABELS = {
    Severity.HIGH: _l("High"),
    Severity.MEDIUM: _l("Medium"),
    Severity.LOW: _l("Low"),
}
SEVERITY_COLORS = {Severity.HIGH: "danger", Severity.MEDIUM: "warning", Severity.LOW: "info"}

# The change history (contracts/labels.py tables, filled by hooks.connect).
ENTITIES = {
    "declarations": _l("Impartiality declaration"),
    "declaration_people": _l("Person involved in the procurement"),
    "red_flags": _l("Red flag"),
}
ACTIONS = {
    "review": _l("Reviewed"),
    "acknowledge": _l("Acknowledged"),
    "recompute": _l("Red flags computed"),
}
FIELDS = {
    "has_conflict": _l("Conflict of interest"),
    "conflict_description": _l("The conflict of interest"),
    "measures": _l("Measures taken"),
    "declared_on": _l("Declared on"),
    "review_comment": _l("Review comment"),
    "reviewed_by_id": _l("Reviewed by"),
    "reviewed_at": _l("Reviewed at"),
    "acknowledgement": _l("Acknowledgement"),
    "acknowledged_by_id": _l("Acknowledged by"),
    "acknowledged_at": _l("Acknowledged at"),
    "task": _l("Task in the procurement"),
}
