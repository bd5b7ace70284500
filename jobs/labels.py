"""Words for the kinds of reminder, in messages and pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from jobs.models import ReminderKind

REMINDER_LABELS = {
    ReminderKind.EXPIRY: _l("The contract expires"),
    ReminderKind.OPTION_DEADLINE: _l("Deadline to exercise an option"),
    ReminderKind.NOTICE_DEADLINE: _l("Last day to give notice"),
    ReminderKind.PRICE_ADJUSTMENT: _l("Price adjustment"),
    ReminderKind.ACTIVITY_DUE: _l("Follow-up activity coming due"),
    ReminderKind.ACTIVITY_OVERDUE: _l("Follow-up activity overdue"),
    ReminderKind.ACTIVITY_ESCALATED: _l("Follow-up activity long overdue"),
    ReminderKind.MISSING_PLAN: _l("Critical contract without a follow-up plan"),
    ReminderKind.GAINS_TO_CONFIRM: _l("Gains to confirm"),
    ReminderKind.QUALITATIVE_GAINS: _l("Document the year's qualitative gains"),
    ReminderKind.DECLARATION_DUE: _l("Your impartiality declaration is missing"),
}
