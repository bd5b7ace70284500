"""Words for gain events in a contract's change history (the register shows them)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from contracts.labels import ACTION_LABELS, ENTITY_LABELS, FIELD_LABELS

ACTIONS = {
    "gain_confirmed": _l("Gain confirmed"),
    "gain_corrected": _l("Gain corrected"),
    "gain_reestimated": _l("Estimate recomputed"),
}
ENTITIES = {
    "gain_plans": _l("Gain plan"),
    "gain_entries": _l("Realised gain"),
}
FIELDS = {
    "gain_type": _l("Type of gain"),
    "baseline_value": _l("Baseline value"),
    "baseline_date": _l("Baseline date"),
    "baseline_source": _l("Source of the baseline"),
    "baseline_description": _l("What the baseline describes"),
    "target_per_year": _l("Target per year"),
    "unit": _l("Unit"),
    "method": _l("How the gain is measured"),
    "measurement": _l("Measurement"),
    "baseline_unit_price": _l("Unit price before (baseline)"),
    "contract_unit_price": _l("Unit price in the contract"),
    "annual_volume": _l("Expected volume per year"),
    "hours_per_year": _l("Hours saved per year"),
    "hourly_rate": _l("Hourly rate (NOK)"),
    "entry_period": _l("Gains are recorded per"),
    "period_start": _l("From"),
    "period_end": _l("To"),
    "period_kind": _l("Period"),
    "value": _l("Realised gain (NOK)"),
    "quantity": _l("Realised quantity"),
    "evidence": _l("Evidence"),
    "correction_reason": _l("Reason for the correction"),
    "recorded_by_id": _l("Recorded by"),
    "confirmed_by_id": _l("Confirmed by"),
    "confirmed_at": _l("Confirmed"),
}


def register() -> None:
    ACTION_LABELS.update(ACTIONS)
    ENTITY_LABELS.update(ENTITIES)
    # Other packages may name the same column already (description, notes, status …).
    for key, label in FIELDS.items():
        FIELD_LABELS.setdefault(key, label)
