"""What a gain plan has realised so far, where its method can be computed.

Pure functions of the plan's numbers and the calendar: periods are whole months,
quarters or years, clipped to the plan's own period; a period counts once it has ended.
The share of a year a period stands for is its days over the days of its year, so a
leap year's February is 29/366 and twelve months add up to the yearly figure.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from contracts.register.dates import add_months
from followup.gains.models import PERIOD_MONTHS, GainMethod, PeriodKind

CENT = Decimal("0.01")


class Plan(Protocol):
    method: GainMethod
    entry_period: PeriodKind
    period_start: date
    period_end: date
    target_per_year: Decimal | None
    baseline_unit_price: Decimal | None
    contract_unit_price: Decimal | None
    annual_volume: Decimal | None
    hours_per_year: Decimal | None
    hourly_rate: Decimal | None


def period_containing(day: date, kind: PeriodKind) -> tuple[date, date]:
    """The calendar month, quarter or year that holds the day."""
    months = PERIOD_MONTHS[kind]
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    return start, add_months(start, months) - timedelta(days=1)


def periods(plan: Plan, today: date) -> list[tuple[date, date]]:
    """The plan's periods that have ended by today, clipped to the plan's own dates."""
    result = []
    start, end = period_containing(plan.period_start, plan.entry_period)
    while start <= plan.period_end:
        clipped = (max(start, plan.period_start), min(end, plan.period_end))
        if clipped[1] >= today:
            break
        result.append(clipped)
        start = end + timedelta(days=1)
        end = add_months(start, PERIOD_MONTHS[plan.entry_period]) - timedelta(days=1)
    return result


def year_share(start: date, end: date) -> Decimal:
    """The part of a year the days from start to end (inclusive) stand for."""
    share = Decimal(0)
    day = start
    while day <= end:
        year_end = min(date(day.year, 12, 31), end)
        days_in_year = 366 if calendar.isleap(day.year) else 365
        share += Decimal((year_end - day).days + 1) / Decimal(days_in_year)
        day = year_end + timedelta(days=1)
    return share


def yearly_gain(plan: Plan) -> Decimal | None:
    """The gain of a whole year by the plan's method, or None if it cannot be computed."""
    if plan.method == GainMethod.PRO_RATA:
        return plan.target_per_year
    if plan.method == GainMethod.PRICE_DIFFERENCE:
        prices = (plan.baseline_unit_price, plan.contract_unit_price, plan.annual_volume)
        if None in prices:
            return None
        baseline, contract, volume = prices
        return (baseline - contract) * volume
    if plan.method == GainMethod.HOURS:
        if plan.hours_per_year is None or plan.hourly_rate is None:
            return None
        return plan.hours_per_year * plan.hourly_rate
    return None


def estimate(plan: Plan, start: date, end: date) -> Decimal | None:
    """The estimated gain of one period in NOK (negative for a loss), to the øre."""
    yearly = yearly_gain(plan)
    if yearly is None:
        return None
    return (yearly * year_share(start, end)).quantize(CENT, rounding=ROUND_HALF_UP)
