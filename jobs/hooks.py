"""What the jobs package adds to the register's pages (called once per app from wsgi)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from contracts.audit.verify import set_last_run_source
from contracts.auth.signals import password_changed
from contracts.labels import ACTION_LABELS, ENTITY_LABELS, FIELD_LABELS
from contracts.register.models import Contract
from contracts.register.panels import add_panel
from jobs import settings
from jobs.account_mail import send_password_notice
from jobs.audit import last_verification
from jobs.labels import REMINDER_LABELS

PANEL_TEMPLATE = "jobs/notify/_panel.html"

# Words for the reminder settings in a contract's change history.
ENTITIES = {
    "reminder_lead_times": _l("Reminder lead times"),
    "reminder_snoozes": _l("Held reminder"),
    "notification_settings": _l("Notification settings"),
    "outbox": _l("E-mail"),
}
ACTIONS = {"resend": _l("Sent again")}
FIELDS = {
    "kind": _l("Kind"),
    "days": _l("Lead times (days)"),
    "until": _l("Held until"),
    "entity_type": _l("Subject"),
    "entity_id": _l("Subject number"),
}


def reminders_panel(contract: Contract, today: date) -> tuple[str, dict[str, Any]]:
    """The "Reminders" section: lead times in force per kind and held reminders."""
    return PANEL_TEMPLATE, {
        "contract": contract,
        "today": today,
        "lead_days": settings.contract_lead_days(contract.id),
        "snoozes": [s for s in settings.contract_snoozes(contract) if s.until > today],
        "labels": REMINDER_LABELS,
    }


def connect() -> None:
    """Add the reminder panel and history words (connecting twice is harmless)."""
    add_panel(reminders_panel)
    set_last_run_source(last_verification)
    password_changed.connect(send_password_notice)
    ENTITY_LABELS.update(ENTITIES)
    ACTION_LABELS.update(ACTIONS)
    for key, label in FIELDS.items():
        FIELD_LABELS.setdefault(key, label)
