"""What the follow-up package does when the register changes."""

from __future__ import annotations

from typing import Any

from contracts.clock import today
from contracts.demo import add_seeder
from contracts.integrity.flags import add_usage_source
from contracts.register.models import Contract
from contracts.register.panels import add_panel
from contracts.register.signals import contract_dates_changed
from followup import history_labels, integrity_sources, services
from followup.demo import seed_followup
from followup.gains import history_labels as gain_history_labels
from followup.gains.panel import gains_panel
from followup.gains.report_hooks import connect as connect_gain_reports
from followup.panel import followup_panel


def _rebuild_plan(contract: Contract, **_: Any) -> None:
    plan = services.plan_for(contract.id)
    if plan is not None:
        services.rebuild_plan(plan, today())


def connect() -> None:
    """Listen to the register (called once per app; connecting twice is harmless)."""
    contract_dates_changed.connect(_rebuild_plan, weak=False)
    add_seeder(seed_followup)
    history_labels.register()
    add_panel(followup_panel)
    gain_history_labels.register()
    add_panel(gains_panel)
    connect_gain_reports()
    # Evidence for the red flag "used after its latest possible end".
    add_usage_source("activity", integrity_sources.activities_done)
    add_usage_source("gain_entry", integrity_sources.gain_entries)
