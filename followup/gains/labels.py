"""Translated labels (and tag colours) for the enums of gain plans and gain entries."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from followup.gains.models import EntrySource, EntryStatus, GainMethod, GainType, PeriodKind

GAIN_TYPE_LABELS = {
    GainType.LOWER_PRICE: _l("Lower price"),
    GainType.AVOIDED_COST: _l("Avoided cost"),
    GainType.TIME_SAVED: _l("Time saved"),
    GainType.QUALITY: _l("Better quality"),
    GainType.ENVIRONMENT: _l("Environment and climate"),
    GainType.SOCIAL: _l("Social responsibility, wage and working conditions"),
    GainType.INNOVATION: _l("Innovation"),
}

GAIN_METHOD_LABELS = {
    GainMethod.PRO_RATA: _l("Pro rata: the yearly target shared over the period"),
    GainMethod.PRICE_DIFFERENCE: _l("Price difference × volume"),
    GainMethod.HOURS: _l("Hours saved × hourly rate"),
    GainMethod.MANUAL: _l("Measured and recorded by hand"),
}

PERIOD_KIND_LABELS = {
    PeriodKind.MONTH: _l("Month"),
    PeriodKind.QUARTER: _l("Quarter"),
    PeriodKind.YEAR: _l("Year"),
}

ENTRY_STATUS_LABELS = {
    EntryStatus.ESTIMATED: _l("Estimated"),
    EntryStatus.CONFIRMED: _l("Confirmed"),
}

ENTRY_STATUS_COLORS = {
    EntryStatus.ESTIMATED: "warning",
    EntryStatus.CONFIRMED: "success",
}

ENTRY_SOURCE_LABELS = {
    EntrySource.MANUAL: _l("Recorded by hand"),
    EntrySource.JOB: _l("Estimated by the gains job"),
}


def template_globals() -> dict[str, object]:
    """What the gain templates read, installed as Jinja globals once per app."""
    return {
        "GAIN_TYPE_LABELS": GAIN_TYPE_LABELS,
        "GAIN_METHOD_LABELS": GAIN_METHOD_LABELS,
        "PERIOD_KIND_LABELS": PERIOD_KIND_LABELS,
        "ENTRY_STATUS_LABELS": ENTRY_STATUS_LABELS,
        "ENTRY_STATUS_COLORS": ENTRY_STATUS_COLORS,
        "ENTRY_SOURCE_LABELS": ENTRY_SOURCE_LABELS,
    }
