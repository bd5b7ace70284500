"""Turning a template's activity rules into dated activities for one contract.

Pure functions of the contract's dates and the rules: no database, so the preview, the
plan builder, the rebuild after a date change and the benchmark all compute the same.

Every planned activity carries (rule id, occurrence): which rule made it and which of
that rule's dates it is. The occurrence stays the same when the contract's dates move
(the k-th repetition, the option's id, the year of a price adjustment), so a rebuild
can match new dates to the activities already in the plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from contracts.register.dates import add_months
from contracts.register.models import Contract, OptionDecision
from followup.models import RECURRENCE_MONTHS, Anchor, Recurrence

# An open-ended contract is planned this many years ahead; later runs add the rest.
OPEN_ENDED_YEARS = 3
# Anchors that give one date per option, year or anniversary: the rule repeats with them.
REPEATING_ANCHORS = frozenset({Anchor.OPTION_DEADLINE, Anchor.ANNIVERSARY, Anchor.PRICE_ADJUSTMENT})


class Rule(Protocol):
    """What planning reads from a TemplateRule (or a form's data)."""

    id: int | None
    anchor: Anchor
    offset_days: int
    recurrence: Recurrence
    only_framework: bool
    only_wage_conditions: bool
    min_value: Decimal | None
    min_criticality: int | None
    max_criticality: int | None


@dataclass(frozen=True)
class ContractFacts:
    """The dates and properties of a contract that rules depend on."""

    start: date
    end: date | None  # the current end (options exercised, termination applied)
    option_deadlines: tuple[tuple[int, date], ...] = ()  # (option id, deadline), undecided
    notice_deadline: date | None = None
    price_adjustment_month: int | None = None
    is_framework: bool = False
    has_wage_conditions: bool = False
    value: Decimal | None = None
    criticality: int | None = None  # the category's, from its newest assessment

    @classmethod
    def of(cls, contract: Contract, criticality: int | None) -> ContractFacts:
        return cls(
            start=contract.start_date,
            end=contract.current_end_date,
            option_deadlines=tuple(
                sorted(
                    ((o.id, o.exercise_deadline) for o in contract.options if o.decision
                     == OptionDecision.PENDING),
                    key=lambda pair: (pair[1], pair[0]),
                )
            ),
            notice_deadline=contract.last_notice_day,
            price_adjustment_month=contract.price_adjustment_month,
            is_framework=contract.is_framework,
            has_wage_conditions=contract.has_wage_conditions,
            value=contract.estimated_value,
            criticality=criticality,
        )  # fmt: skip


@dataclass(frozen=True)
class Planned:
    rule_id: int | None
    occurrence: int
    due: date
    rule: Rule = field(compare=False, hash=False, repr=False)


def applies(rule: Rule, facts: ContractFacts) -> bool:
    """Whether the rule's conditions hold for the contract."""
    if rule.only_framework and not facts.is_framework:
        return False
    if rule.only_wage_conditions and not facts.has_wage_conditions:
        return False
    if rule.min_value is not None and (facts.value is None or facts.value < rule.min_value):
        return False
    if rule.min_criticality is not None and (
        facts.criticality is None or facts.criticality < rule.min_criticality
    ):
        return False
    # An unassessed category counts as the lowest level for "below" conditions.
    level = facts.criticality or 1
    return rule.max_criticality is None or level <= rule.max_criticality


def _horizon(facts: ContractFacts, today: date) -> date:
    if facts.end is not None:
        return facts.end
    return add_months(max(today, facts.start), 12 * OPEN_ENDED_YEARS)


def _within(day: date, offset_days: int, horizon: date) -> bool:
    """A repeated date counts while both it and its due date lie within the contract: a
    yearly review before an anniversary that falls after the end is no review."""
    return max(day, day + timedelta(days=offset_days)) <= horizon


def _anchor_dates(rule: Rule, facts: ContractFacts, horizon: date) -> list[tuple[int, date]]:
    """(occurrence, anchor date) pairs before the offset is added."""
    if rule.anchor == Anchor.START:
        step = RECURRENCE_MONTHS[rule.recurrence]
        if step == 0:
            return [(0, facts.start)]
        dates, k = [], 0
        while _within(day := add_months(facts.start, k * step), rule.offset_days, horizon):
            dates.append((k, day))
            k += 1
        return dates
    if rule.anchor == Anchor.END:
        return [(0, facts.end)] if facts.end else []
    if rule.anchor == Anchor.NOTICE_DEADLINE:
        return [(0, facts.notice_deadline)] if facts.notice_deadline else []
    if rule.anchor == Anchor.OPTION_DEADLINE:
        return list(facts.option_deadlines)
    if rule.anchor == Anchor.ANNIVERSARY:
        dates, k = [], 1
        while _within(day := add_months(facts.start, 12 * k), rule.offset_days, horizon):
            dates.append((k, day))
            k += 1
        return dates
    if rule.anchor == Anchor.PRICE_ADJUSTMENT:
        if facts.price_adjustment_month is None:
            return []
        # Yearly on the 1st of the month, from the first such day after the start.
        first = date(facts.start.year, facts.price_adjustment_month, 1)
        if first <= facts.start:
            first = date(first.year + 1, first.month, 1)
        dates, year = [], first.year
        while _within(day := date(year, first.month, 1), rule.offset_days, horizon):
            dates.append((year, day))
            year += 1
        return dates
    raise ValueError(f"unknown anchor {rule.anchor}")


def schedule(
    rules: Iterable[Rule], facts: ContractFacts, today: date, *, since: date | None = None
) -> list[Planned]:
    """Every activity the rules give the contract, due on or after `since`, by date.

    Nothing is planned after the contract's (current) end, except what a rule anchors
    there on purpose with a positive offset (an end evaluation after expiry).
    """
    horizon = _horizon(facts, today)
    planned = []
    for rule in rules:
        if not applies(rule, facts):
            continue
        for occurrence, anchor in _anchor_dates(rule, facts, horizon):
            due = anchor + timedelta(days=rule.offset_days)
            if rule.anchor != Anchor.END and due > horizon:
                continue
            if since is not None and due < since:
                continue
            planned.append(Planned(rule.id, occurrence, due, rule))
    planned.sort(key=lambda p: (p.due, p.rule_id or 0, p.occurrence))
    return planned


def rule_problems(
    anchor: Anchor,
    recurrence: Recurrence,
    offset_days: int,
    min_criticality: int | None,
    max_criticality: int | None,
    min_value: Decimal | None,
) -> Sequence[str]:
    """Why a rule cannot work, as keys the form turns into messages (empty: it is fine)."""
    problems = []
    if recurrence != Recurrence.ONCE and anchor != Anchor.START:
        problems.append("recurrence_needs_start" if anchor not in REPEATING_ANCHORS
                        else "anchor_repeats_itself")  # fmt: skip
    if not -1100 <= offset_days <= 1100:
        problems.append("offset_range")
    if (
        min_criticality is not None
        and max_criticality is not None
        and min_criticality > max_criticality
    ):
        problems.append("criticality_never")
    if min_value is not None and min_value < 0:
        problems.append("value_negative")
    return problems
