"""Dated activities from rules: every anchor and recurrence, calendar edge cases, conditions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from followup.models import (
    Anchor,
    Criticality,
    Quadrant,
    Recurrence,
    criticality_for,
    quadrant_for,
)
from followup.planning import ContractFacts, applies, rule_problems, schedule

TODAY = date(2026, 3, 2)


@dataclass
class R:
    """A rule as planning reads it."""

    anchor: Anchor
    offset_days: int = 0
    recurrence: Recurrence = Recurrence.ONCE
    id: int | None = 1
    only_framework: bool = False
    only_wage_conditions: bool = False
    min_value: Decimal | None = None
    min_criticality: int | None = None
    max_criticality: int | None = None


def facts(**overrides) -> ContractFacts:
    values = {"start": date(2026, 1, 1), "end": date(2027, 12, 31)}
    values.update(overrides)
    return ContractFacts(**values)


def dues(rule: R, contract: ContractFacts, since: date | None = None) -> list[date]:
    return [p.due for p in schedule([rule], contract, TODAY, since=since)]


def test_once_from_start_and_from_end():
    assert dues(R(Anchor.START, 14), facts()) == [date(2026, 1, 15)]
    assert dues(R(Anchor.END, -60), facts()) == [date(2027, 11, 1)]
    # An end evaluation after expiry is planned on purpose; other anchors stop at the end.
    assert dues(R(Anchor.END, 30), facts()) == [date(2028, 1, 30)]
    assert dues(R(Anchor.START, 800), facts()) == []


def test_open_ended_contracts_have_no_end_anchors_and_plan_three_years_ahead():
    contract = facts(end=None)
    assert dues(R(Anchor.END, -60), contract) == []
    quarterly = dues(R(Anchor.START, 0, Recurrence.QUARTERLY), contract)
    assert quarterly[0] == date(2026, 1, 1) and quarterly[-1] == date(2029, 1, 1)


@pytest.mark.parametrize(
    ("recurrence", "expected"),
    [
        (Recurrence.MONTHLY, 24),
        (Recurrence.QUARTERLY, 8),
        (Recurrence.HALF_YEARLY, 4),
        (Recurrence.YEARLY, 2),
    ],
)
def test_recurrences_from_the_start_up_to_the_end(recurrence, expected):
    planned = schedule([R(Anchor.START, 0, recurrence)], facts(), TODAY)
    assert len(planned) == expected
    assert [p.occurrence for p in planned] == list(range(expected))
    assert planned[-1].due <= date(2027, 12, 31)


def test_month_ends_clamp_without_drifting():
    contract = facts(start=date(2026, 1, 31), end=date(2026, 12, 31))
    monthly = dues(R(Anchor.START, 0, Recurrence.MONTHLY), contract)
    # February clamps to its last day; March is back on the 31st (counted from the start).
    assert monthly[:4] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]


def test_leap_years():
    contract = facts(start=date(2024, 2, 29), end=date(2029, 3, 31))
    assert dues(R(Anchor.ANNIVERSARY), contract) == [
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
        date(2029, 2, 28),
    ]


def test_a_contract_shorter_than_its_recurrence_gets_only_the_first():
    contract = facts(start=date(2026, 1, 1), end=date(2026, 5, 31))
    assert dues(R(Anchor.START, 10, Recurrence.YEARLY), contract) == [date(2026, 1, 11)]
    assert dues(R(Anchor.ANNIVERSARY), contract) == []


def test_each_undecided_option_gets_its_own_activity_keyed_by_the_option():
    contract = facts(option_deadlines=((7, date(2027, 9, 30)), (8, date(2028, 9, 30))))
    planned = schedule([R(Anchor.OPTION_DEADLINE, -60)], contract, TODAY)
    assert [(p.occurrence, p.due) for p in planned] == [(7, date(2027, 8, 1))]
    # The second option's deadline lies after the current end: not planned until exercised.
    longer = facts(end=date(2028, 12, 31), option_deadlines=contract.option_deadlines)
    assert [p.occurrence for p in schedule([R(Anchor.OPTION_DEADLINE, -60)], longer, TODAY)] == [
        7,
        8,
    ]


def test_notice_deadline_and_price_adjustment_month():
    contract = facts(notice_deadline=date(2027, 9, 30), price_adjustment_month=1)
    assert dues(R(Anchor.NOTICE_DEADLINE, -30), contract) == [date(2027, 8, 31)]
    # The adjustment month after the start: 1 January 2027 (1 January 2026 is the start).
    price = schedule([R(Anchor.PRICE_ADJUSTMENT, -30)], contract, TODAY)
    assert [(p.occurrence, p.due) for p in price] == [(2027, date(2026, 12, 2))]
    assert dues(R(Anchor.PRICE_ADJUSTMENT, -30), facts()) == []  # no adjustment month


def test_a_terminated_contract_plans_nothing_after_it_ends():
    # current_end_date is the termination date once a contract is terminated early.
    contract = facts(end=date(2026, 6, 30))
    assert dues(R(Anchor.START, 0, Recurrence.QUARTERLY), contract) == [
        date(2026, 1, 1),
        date(2026, 4, 1),
    ]


def test_since_leaves_out_what_is_already_past():
    assert dues(R(Anchor.START, 0, Recurrence.QUARTERLY), facts(), since=TODAY)[0] == date(
        2026, 4, 1
    )


@pytest.mark.parametrize(
    ("rule", "contract", "expected"),
    [
        (R(Anchor.START, only_framework=True), facts(), False),
        (R(Anchor.START, only_framework=True), facts(is_framework=True), True),
        (R(Anchor.START, only_wage_conditions=True), facts(has_wage_conditions=True), True),
        (R(Anchor.START, min_value=Decimal(1_300_000)), facts(value=Decimal(1_299_999)), False),
        (R(Anchor.START, min_value=Decimal(1_300_000)), facts(value=Decimal(1_300_000)), True),
        (R(Anchor.START, min_value=Decimal(1)), facts(value=None), False),
        (R(Anchor.START, min_criticality=3), facts(criticality=2), False),
        (R(Anchor.START, min_criticality=3), facts(criticality=3), True),
        (R(Anchor.START, min_criticality=3), facts(criticality=None), False),
        (R(Anchor.START, max_criticality=2), facts(criticality=3), False),
        (R(Anchor.START, max_criticality=2), facts(criticality=None), True),
    ],
)
def test_conditions(rule, contract, expected):
    assert applies(rule, contract) is expected


def test_rules_that_cannot_work_are_named():
    assert rule_problems(Anchor.END, Recurrence.YEARLY, 0, None, None, None) == [
        "recurrence_needs_start"
    ]
    assert rule_problems(Anchor.ANNIVERSARY, Recurrence.YEARLY, 0, None, None, None) == [
        "anchor_repeats_itself"
    ]
    assert rule_problems(Anchor.START, Recurrence.ONCE, 5000, 3, 1, Decimal(-1)) == [
        "offset_range",
        "criticality_never",
        "value_negative",
    ]
    assert rule_problems(Anchor.START, Recurrence.QUARTERLY, -30, 2, 3, None) == []


@pytest.mark.parametrize(
    ("scores", "quadrant", "level"),
    [
        ((5, 5, 1), Quadrant.STRATEGIC, Criticality.HIGH),
        ((3, 1, 1), Quadrant.BOTTLENECK, Criticality.MEDIUM),
        ((1, 3, 1), Quadrant.LEVERAGE, Criticality.MEDIUM),
        ((1, 2, 1), Quadrant.NON_CRITICAL, Criticality.LOW),
        ((1, 1, 4), Quadrant.NON_CRITICAL, Criticality.HIGH),  # wage risk alone
        ((2, 2, 3), Quadrant.NON_CRITICAL, Criticality.MEDIUM),
        ((4, 1, 1), Quadrant.BOTTLENECK, Criticality.HIGH),
    ],
)
def test_quadrant_and_criticality(scores, quadrant, level):
    supply, impact, wage = scores
    assert quadrant_for(supply, impact) == quadrant
    assert criticality_for(supply, impact, wage) == level
