"""Norwegian (translated) labels for the enums shown on pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from contracts.auth.models import Role
from contracts.parties.models import CategoryKind
from contracts.register.models import ContractStatus, OptionDecision
from contracts.rules.models import Procedure, RegulationPart, ThresholdKind

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.PROCUREMENT: _l("Procurement officer"),
    Role.OWNER: _l("Contract owner"),
    Role.AUDITOR: _l("Auditor"),
}

STATUS_LABELS = {
    ContractStatus.DRAFT: _l("Draft"),
    ContractStatus.ACTIVE: _l("Active"),
    ContractStatus.EXPIRING: _l("Expiring"),
    ContractStatus.EXPIRED: _l("Expired"),
    ContractStatus.TERMINATED: _l("Terminated"),
}

# Designsystemet colours for the status badges.
STATUS_COLORS = {
    ContractStatus.DRAFT: "neutral",
    ContractStatus.ACTIVE: "success",
    ContractStatus.EXPIRING: "warning",
    ContractStatus.EXPIRED: "danger",
    ContractStatus.TERMINATED: "neutral",
}

PROCEDURE_LABELS = {
    Procedure.DIRECT_AWARD: _l("Direct award"),
    Procedure.OPEN_COMPETITION: _l("Open competition (part II)"),
    Procedure.RESTRICTED_COMPETITION: _l("Restricted competition (part II)"),
    Procedure.OPEN_PROCEDURE: _l("Open procedure (part III)"),
    Procedure.RESTRICTED_PROCEDURE: _l("Restricted procedure (part III)"),
    Procedure.NEGOTIATED_WITH_NOTICE: _l("Competitive procedure with negotiation"),
    Procedure.NEGOTIATED_WITHOUT_NOTICE: _l("Negotiated procedure without prior publication"),
    Procedure.COMPETITIVE_DIALOGUE: _l("Competitive dialogue"),
    Procedure.INNOVATION_PARTNERSHIP: _l("Innovation partnership"),
    Procedure.SOCIAL_SERVICES: _l("Health and social services (chapter 7)"),
    Procedure.FRAMEWORK_CALL_OFF: _l("Call-off from framework agreement"),
    Procedure.MINI_COMPETITION: _l("Mini-competition under framework agreement"),
    Procedure.UNKNOWN: _l("Unknown"),
}

CATEGORY_KIND_LABELS = {
    CategoryKind.GOODS: _l("Goods"),
    CategoryKind.SERVICES: _l("Services"),
    CategoryKind.WORKS: _l("Building and construction works"),
}

OPTION_DECISION_LABELS = {
    OptionDecision.PENDING: _l("Not decided"),
    OptionDecision.EXERCISED: _l("Exercised"),
    OptionDecision.DECLINED: _l("Declined"),
}

REGULATION_PART_LABELS = {
    RegulationPart.NOT_COVERED: _l("Below the regulation's lower limit"),
    RegulationPart.PART_I: _l("Part I"),
    RegulationPart.PARTS_I_II: _l("Parts I and II (national procedures)"),
    RegulationPart.PARTS_I_III: _l("Parts I and III (EEA procedures)"),
}

THRESHOLD_KIND_LABELS = {
    ThresholdKind.MINIMUM: _l("Lower limit of the regulation"),
    ThresholdKind.NATIONAL: _l("National threshold"),
    ThresholdKind.EEA_GOODS_SERVICES: _l("EEA threshold, goods and services"),
    ThresholdKind.EEA_WORKS: _l("EEA threshold, works"),
}

ACTION_LABELS = {
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "soft_delete": _l("Deleted"),
    "restore": _l("Restored"),
    "terminate": _l("Terminated"),
    "option_decision": _l("Option decided"),
    "cancel_termination": _l("Termination cancelled"),
    "password_change": _l("Password changed"),
    "demo_seed": _l("Demo data created"),
    "export": _l("Exported"),
    "revoke": _l("Revoked"),
    "import": _l("Import finished"),
    "login": _l("Logged in"),
    "login_failed": _l("Failed login"),
    "login_throttled": _l("Login refused: too many failed attempts"),
    "logout": _l("Logged out"),
    "view_confidential": _l("Viewed confidential contract"),
    "access_refused": _l("Access refused"),
    "audit_verify": _l("Audit trail verified"),
}

ENTITY_LABELS = {
    "contracts": _l("Contract"),
    "contract_options": _l("Option"),
    "amendments": _l("Amendment"),
    "suppliers": _l("Supplier"),
    "units": _l("Unit"),
    "categories": _l("Category"),
    "users": _l("User"),
    "thresholds": _l("Threshold"),
    "api_tokens": _l("API token"),
    "import_jobs": _l("Import"),
    "app": _l("Application"),
    "audit_events": _l("Audit trail"),
}

# Names of the audited columns, for the change history.
FIELD_LABELS = {
    "reference": _l("Contract number"),
    "title": _l("Title"),
    "description": _l("Description"),
    "supplier_id": _l("Supplier"),
    "category_id": _l("Category"),
    "unit_id": _l("Unit"),
    "owner_id": _l("Contract owner"),
    "manager_id": _l("Contract manager"),
    "procedure": _l("Procurement procedure"),
    "is_framework": _l("Framework agreement"),
    "estimated_value": _l("Estimated total value"),
    "annual_value": _l("Annual value"),
    "signed_on": _l("Signed on"),
    "start_date": _l("Start date"),
    "end_date": _l("End date"),
    "notice_months": _l("Notice period (months)"),
    "price_adjustment_index": _l("Price adjustment index"),
    "price_adjustment_month": _l("Price adjustment month"),
    "has_wage_conditions": _l("Clause on wage and working conditions"),
    "is_confidential": _l("Confidential"),
    "notes": _l("Notes"),
    "terminated_on": _l("Terminated, ends on"),
    "termination_reason": _l("Reason"),
    "current_end_date": _l("Current end date"),
    "max_end_date": _l("Latest possible end date"),
    "deleted_at": _l("Deleted"),
    "extension_months": _l("Extension (months)"),
    "exercise_deadline": _l("Exercise deadline"),
    "decision": _l("Decision"),
    "decided_on": _l("Decided on"),
    "decided_by_id": _l("Decided by"),
    "amended_on": _l("Date"),
    "value_change": _l("Change in value (NOK excl. VAT)"),
}


def choices(labels: dict) -> list[tuple[str, str]]:
    """WTForms choices from a label mapping, in its order."""
    return [(key.value, label) for key, label in labels.items()]
