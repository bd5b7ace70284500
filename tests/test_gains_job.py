"""The monthly gains job under a frozen clock: an estimated entry per ended period of each
computable plan, idempotent, in bulk; and the reminders it leads to: gains to confirm in the
owner's digest with the confirm link, and the year's qualitative gains to document."""

from __future__ import annotations

import contextlib
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import event, func, select

from contracts.audit.models import AuditEvent
from contracts.auth.models import Role
from contracts.db import Session
from contracts.register import services as register_services
from followup.gains import services
from followup.gains.models import (
    EntrySource,
    EntryStatus,
    GainEntry,
    GainMethod,
    GainType,
    PeriodKind,
)
from jobs import gains, reminders
from jobs.models import OutboxMessage, Reminder, ReminderKind
from tests import factories
from tests.conftest import TODAY
from tests.gain_factories import make_entry, make_gain_plan, qualitative_values


@pytest.fixture
def owner():
    return factories.make_user(Role.OWNER, name="Ola Avtaleeier")


@pytest.fixture
def contract(owner):
    return factories.make_contract(owner_id=owner.id)


def _entries(plan_id: int) -> list[GainEntry]:
    return list(
        Session.scalars(
            select(GainEntry).where(GainEntry.plan_id == plan_id).order_by(GainEntry.period_start)
        )
    )


def _count(model) -> int:
    return Session.scalar(select(func.count()).select_from(model))


@contextlib.contextmanager
def statements():
    seen: list[str] = []
    connection = Session.get_bind()

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


# --- the estimates --------------------------------------------------------------------------


def test_each_method_across_month_and_year_ends(contract):
    price = make_gain_plan(contract)  # 240 000 a year, 2026 by month
    pro_rata = make_gain_plan(
        contract,
        method=GainMethod.PRO_RATA,
        target_per_year=Decimal("73000"),
        entry_period=PeriodKind.QUARTER,
        period_start=date(2025, 8, 15),
    )
    hours = make_gain_plan(
        contract,
        gain_type=GainType.TIME_SAVED,
        method=GainMethod.HOURS,
        hours_per_year=Decimal("500"),
        hourly_rate=Decimal("650"),
        entry_period=PeriodKind.YEAR,
        period_start=date(2024, 7, 1),
        period_end=date(2026, 6, 30),
    )
    manual = make_gain_plan(contract, method=GainMethod.MANUAL)
    result = gains.run(TODAY)
    assert result == {"plans": 3, "created": 6, "skipped_too_large": 0}

    def summary(plan):
        return [(e.period_start, e.period_end, e.value) for e in _entries(plan.id)]

    assert summary(price) == [
        (date(2026, 1, 1), date(2026, 1, 31), Decimal("20383.56")),  # 240 000 x 31/365
        (date(2026, 2, 1), date(2026, 2, 28), Decimal("18410.96")),  # 240 000 x 28/365
    ]
    assert summary(pro_rata) == [
        (date(2025, 8, 15), date(2025, 9, 30), Decimal("9400.00")),  # 73 000 x 47/365
        (date(2025, 10, 1), date(2025, 12, 31), Decimal("18400.00")),  # 73 000 x 92/365
    ]
    assert summary(hours) == [
        (date(2024, 7, 1), date(2024, 12, 31), Decimal("163387.98")),  # 325 000 x 184/366
        (date(2025, 1, 1), date(2025, 12, 31), Decimal("325000.00")),
    ]
    assert summary(manual) == []
    entry = _entries(price.id)[0]
    assert (entry.status, entry.source, entry.period_kind, entry.recorded_by_id) == (
        EntryStatus.ESTIMATED,
        EntrySource.JOB,
        PeriodKind.MONTH,
        None,
    )


def test_two_runs_give_one_entry_per_period(contract):
    plan = make_gain_plan(contract)
    assert gains.run(TODAY)["created"] == 2
    entries = _count(GainEntry)
    events = _count(AuditEvent)
    assert gains.run(TODAY) == {"plans": 1, "created": 0, "skipped_too_large": 0}
    assert (_count(GainEntry), _count(AuditEvent)) == (entries, events)
    # A month later, March is added and nothing else.
    assert gains.run(date(2026, 4, 1))["created"] == 1
    assert [e.period_start.month for e in _entries(plan.id)] == [1, 2, 3]


def test_a_loss_is_estimated_as_a_negative_value(contract):
    plan = make_gain_plan(contract, contract_unit_price=Decimal("130"), target_per_year=None)
    gains.run(TODAY)
    assert [e.value for e in _entries(plan.id)] == [Decimal("-10191.78"), Decimal("-9205.48")]


def test_a_qualitative_plan_measured_pro_rata_gets_its_quantity(contract):
    plan = make_gain_plan(
        contract, **qualitative_values(method=GainMethod.PRO_RATA, period_start=date(2025, 1, 1))
    )
    gains.run(TODAY)
    entries = _entries(plan.id)
    assert [(e.value, e.quantity, e.unit) for e in entries] == [
        (None, Decimal("1.97"), "tonn CO₂"),  # 8 x 90/365
        (None, Decimal("1.99"), "tonn CO₂"),
        (None, Decimal("2.02"), "tonn CO₂"),
        (None, Decimal("2.02"), "tonn CO₂"),
    ]


def test_periods_with_an_entry_are_left_alone(contract, owner):
    plan = make_gain_plan(contract)
    manual = make_entry(plan, owner, value=Decimal("5000"), confirm=True)
    assert gains.run(TODAY)["created"] == 1
    entries = _entries(plan.id)
    assert [(e.id == manual.id, e.value, e.source) for e in entries] == [
        (True, Decimal("5000.00"), EntrySource.MANUAL),
        (False, Decimal("18410.96"), EntrySource.JOB),
    ]


def test_deleted_and_terminated_contracts(owner):
    deleted = factories.make_contract(owner_id=owner.id)
    gone = make_gain_plan(deleted)
    register_services.soft_delete_contract(deleted)
    terminated = factories.make_contract(owner_id=owner.id)
    ended = make_gain_plan(terminated)
    register_services.terminate_contract(terminated, date(2026, 1, 20), "Mislighold")
    gains.run(TODAY)
    assert _entries(gone.id) == []
    assert [e.period_start for e in _entries(ended.id)] == [date(2026, 1, 1)]


def test_the_number_of_statements_does_not_grow_with_the_plans(owner):
    plans = []

    def run_with(more: int) -> int:
        plans.extend(
            make_gain_plan(factories.make_contract(owner_id=owner.id)) for _ in range(more)
        )
        Session.flush()
        with statements() as seen:
            created = gains.estimate_entries(TODAY)["created"]
        assert created == 2 * len(plans)  # January and February of each
        Session.execute(GainEntry.__table__.delete())
        return len(seen)

    assert run_with(2) == run_with(30)


def test_every_estimate_is_audited_on_its_contract(contract):
    plan = make_gain_plan(contract)
    gains.run(TODAY)
    events = Session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "gain_entries").order_by(AuditEvent.seq)
    ).all()
    assert [e.entity_id for e in events] == [e.id for e in _entries(plan.id)]
    assert {(e.action, e.contract_id, e.actor_label) for e in events} == {
        ("create", contract.id, "system")
    }
    assert events[0].after["value"] == "20383.56"
    assert events[0].after["source"] == "job"


def test_run_once_from_the_command_line(runner, contract):
    make_gain_plan(contract)
    result = runner.invoke(args=["jobs", "run-once", "gains", "--today", "2026-04-01"])
    assert result.exit_code == 0, result.output
    assert '"created": 3' in result.output
    outcome = json.loads(result.output[result.output.index("{") :])
    assert outcome["ok"] is True and outcome["today"] == "2026-04-01"


# --- gains to confirm in the owner's digest -----------------------------------------------


def _gain_reminders(kind: ReminderKind = ReminderKind.GAINS_TO_CONFIRM) -> list[Reminder]:
    return list(
        Session.scalars(select(Reminder).where(Reminder.kind == kind).order_by(Reminder.id))
    )


def test_the_owner_is_reminded_to_confirm_each_estimate_with_a_link(contract, owner):
    plan = make_gain_plan(contract)
    gains.run(TODAY)
    january, february = _entries(plan.id)
    services.confirm_entry(january, owner)
    reminders.run(TODAY)
    found = _gain_reminders()
    assert [(r.entity_type, r.entity_id, r.due_date, r.lead_days, r.user_id) for r in found] == [
        ("gain_entries", february.id, date(2026, 2, 28), 0, owner.id)
    ]
    message = Session.scalar(select(OutboxMessage).where(OutboxMessage.id == found[0].outbox_id))
    assert message.to_address == owner.email
    base = current_app.config["BASE_URL"].rstrip("/")
    assert f"{base}/gains/entries/{february.id}/confirm" in message.body_text
    assert f'href="{base}/gains/entries/{february.id}/confirm"' in message.body_html
    assert contract.reference in message.body_text
    # Running again (today or later) decides nothing new for the same entry.
    reminders.run(TODAY)
    reminders.run(TODAY + timedelta(days=3))
    assert len(_gain_reminders()) == 1


def test_no_reminder_for_old_or_unfinished_estimates(contract, owner):
    plan = make_gain_plan(contract, period_start=date(2024, 1, 1))
    gains.run(TODAY)
    current = make_entry(
        plan, owner, period_start=date(2026, 3, 1), period_end=date(2026, 3, 31)
    )  # estimated, but March has not ended
    due = [d for d in reminders.decide(TODAY) if d.kind == ReminderKind.GAINS_TO_CONFIRM]
    reminded = {d.entity_id for d in due}
    entries = {e.period_start: e.id for e in _entries(plan.id)}
    # Estimates more than a year past their period are left to the gains page.
    assert entries[date(2025, 1, 1)] not in reminded
    assert entries[date(2025, 3, 1)] in reminded
    assert entries[date(2026, 2, 1)] in reminded
    assert current.id not in reminded
    assert len(reminded) == 12  # March 2025 to February 2026


def test_a_contract_without_an_active_owner_goes_to_the_office(owner):
    contract = factories.make_contract(owner_id=None)
    make_gain_plan(contract)
    gains.run(TODAY)
    due = [d for d in reminders.decide(TODAY) if d.kind == ReminderKind.GAINS_TO_CONFIRM]
    assert {(d.user_id, d.to_address) for d in due} == {
        (None, current_app.config["PROCUREMENT_EMAIL"])
    }


# --- the year's qualitative gains ---------------------------------------------------------


def test_at_the_new_year_owners_document_the_years_qualitative_gains(owner):
    undocumented = factories.make_contract(owner_id=owner.id, end_date=date(2028, 12, 31))
    open_plan = make_gain_plan(undocumented, **qualitative_values())
    make_entry(open_plan, owner, period_start=date(2026, 1, 1), period_end=date(2026, 3, 31),
               value=None, quantity=Decimal("2"))  # fmt: skip
    documented = factories.make_contract(owner_id=owner.id, end_date=date(2028, 12, 31))
    done = make_gain_plan(documented, **qualitative_values())
    for month in (1, 4, 7, 10):
        start = date(2026, month, 1)
        end = date(2026, month + 2, 31 if month in (1, 10) else 30)
        Session.add(
            GainEntry(plan_id=done.id, period_kind=PeriodKind.QUARTER, period_start=start,
                      period_end=end, quantity=Decimal(2), unit="tonn CO₂")
        )  # fmt: skip
    make_gain_plan(undocumented)  # economic: the job estimates it
    Session.flush()

    # During the year: nothing yet (2026 has not ended).
    assert _qualitative(date(2026, 12, 31)) == []
    new_year = date(2027, 1, 1)
    assert _qualitative(new_year) == [("gain_plans", open_plan.id, date(2026, 12, 31), 0)]
    reminders.run(new_year)
    found = _gain_reminders(ReminderKind.QUALITATIVE_GAINS)
    assert [(r.entity_id, r.user_id) for r in found] == [(open_plan.id, owner.id)]
    message = Session.get(OutboxMessage, found[0].outbox_id)
    base = current_app.config["BASE_URL"].rstrip("/")
    assert f"{base}/contracts/{undocumented.id}/gains" in message.body_text
    # The first run of the year decided it; later runs do not repeat it.
    reminders.run(date(2027, 1, 2))
    reminders.run(date(2027, 2, 1))
    assert len(_gain_reminders(ReminderKind.QUALITATIVE_GAINS)) == 1


def test_a_plan_of_last_year_is_asked_for_on_the_frozen_day(owner):
    contract = factories.make_contract(owner_id=owner.id)
    plan = make_gain_plan(
        contract,
        **qualitative_values(period_start=date(2025, 3, 1), period_end=date(2025, 12, 31)),
    )
    assert _qualitative(TODAY) == [("gain_plans", plan.id, date(2025, 12, 31), 0)]


def _qualitative(today: date) -> list[tuple]:
    return [
        (d.entity_type, d.entity_id, d.due, d.lead)
        for d in reminders.decide(today)
        if d.kind == ReminderKind.QUALITATIVE_GAINS
    ]
