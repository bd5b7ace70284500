"""Which part of the procurement regulation a value falls under on a given day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from contracts.audit import services as audit
from contracts.db import Session
from contracts.parties.models import CategoryKind
from contracts.rules.models import RegulationPart, Threshold, ThresholdKind


def thresholds_on(day: date) -> dict[ThresholdKind, Decimal]:
    """The value of each threshold kind in force on the day (the latest valid_from <= day)."""
    rows = Session.scalars(
        select(Threshold).where(Threshold.valid_from <= day).order_by(Threshold.valid_from)
    )
    values: dict[ThresholdKind, Decimal] = {}
    for row in rows:
        values[row.kind] = row.value  # later rows overwrite earlier ones
    return values


def regulation_part(
    value: Decimal | None, day: date, kind: CategoryKind
) -> tuple[RegulationPart | None, dict[ThresholdKind, Decimal]]:
    """The regulation part for an estimated value on a day, with the thresholds used.

    None when the value is unknown or no thresholds were in force on the day.
    """
    thresholds = thresholds_on(day)
    eea_kind = (
        ThresholdKind.EEA_WORKS
        if kind == CategoryKind.WORKS
        else (ThresholdKind.EEA_GOODS_SERVICES)
    )
    needed = (ThresholdKind.MINIMUM, ThresholdKind.NATIONAL, eea_kind)
    if value is None or any(k not in thresholds for k in needed):
        return None, thresholds
    if value < thresholds[ThresholdKind.MINIMUM]:
        part = RegulationPart.NOT_COVERED
    elif value < thresholds[ThresholdKind.NATIONAL]:
        part = RegulationPart.PART_I
    elif value < thresholds[eea_kind]:
        part = RegulationPart.PARTS_I_II
    else:
        part = RegulationPart.PARTS_I_III
    return part, {k: thresholds[k] for k in needed}


def threshold_exists(kind: str, valid_from: date) -> bool:
    return (
        Session.scalar(
            select(Threshold.id).where(Threshold.kind == kind, Threshold.valid_from == valid_from)
        )
        is not None
    )


def add_threshold(kind: str, value: Decimal, valid_from: date, source: str) -> Threshold:
    """Record a new threshold value from a date; earlier values stay for older contracts."""
    threshold = Threshold(
        kind=ThresholdKind(kind), value=value, valid_from=valid_from, source=source.strip()
    )
    Session.add(threshold)
    audit.record_create(threshold, summary=f"{threshold.kind.value} {value} from {valid_from}")
    return threshold


def delete_threshold(threshold: Threshold) -> None:
    """Remove a value entered by mistake."""
    audit.record_delete(threshold)
    Session.delete(threshold)
    Session.flush()
