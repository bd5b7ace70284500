"""The daily reminder job under a frozen clock: each kind at each lead, chains that end
with a decision, snoozes, own lead times, digests, instant messages, idempotence."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from contracts.auth.models import Role
from contracts.db import Session
from contracts.register import services as register_services
from contracts.register.models import OptionDecision
from followup import services as followup_services
from followup.models import Activity, ActivityKind, ActivityStatus, Criticality
from jobs import reminders, settings
from jobs.models import (
    LeadTimes,
    NotificationSettings,
    OutboxMessage,
    Reminder,
    ReminderKind,
    Snooze,
)
from tests import factories
from tests.conftest import TODAY


@pytest.fixture
def owner():
    return factories.make_user(Role.OWNER, name="Ola Avtaleeier")


def _contract(owner, **fields):
    values = {
        "owner_id": owner.id,
        "start_date": date(2024, 1, 1),
        "end_date": TODAY + timedelta(days=400),
        "notice_months": None,
        "price_adjustment_month": None,
    }
    values.update(fields)
    return factories.make_contract(**values)


def _due(kind: ReminderKind, today: date = TODAY) -> list[reminders.Due]:
    return [d for d in reminders.decide(today) if d.kind == kind]


def _count(model) -> int:
    return Session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("days_left", "stage"),
    [(181, None), (180, 180), (100, 180), (90, 90), (31, 90), (30, 30), (0, 30), (-1, None)],
)
def test_expiry_reminds_at_the_latest_lead_reached(owner, days_left, stage):
    contract = _contract(owner, end_date=TODAY + timedelta(days=days_left),
                         start_date=TODAY - timedelta(days=800))  # fmt: skip
    found = [d for d in _due(ReminderKind.EXPIRY) if d.contract_id == contract.id]
    assert [d.lead for d in found] == ([stage] if stage else [])
    if stage:
        assert (found[0].user_id, found[0].to_address) == (owner.id, owner.email)


@pytest.mark.parametrize(
    ("days_left", "stage"), [(121, None), (120, 120), (60, 60), (14, 14), (3, 14)]
)
def test_option_deadlines(owner, days_left, stage):
    contract = _contract(owner, end_date=TODAY + timedelta(days=700))
    option = register_services.add_option(contract, 12, TODAY + timedelta(days=days_left))
    found = [d for d in _due(ReminderKind.OPTION_DEADLINE) if d.entity_id == option.id]
    assert [d.lead for d in found] == ([stage] if stage else [])


def test_a_decided_option_ends_its_chain_and_moves_the_expiry_chain(owner):
    end = TODAY + timedelta(days=100)
    contract = _contract(owner, end_date=end)
    option = register_services.add_option(contract, 12, TODAY + timedelta(days=10))
    assert _due(ReminderKind.OPTION_DEADLINE) and _due(ReminderKind.EXPIRY)[0].due == end
    register_services.decide_option(option, OptionDecision.EXERCISED, TODAY, owner)
    assert _due(ReminderKind.OPTION_DEADLINE) == []
    # The contract now ends a year later: outside every lead time, so no expiry reminder.
    assert [d for d in _due(ReminderKind.EXPIRY) if d.contract_id == contract.id] == []


def test_the_last_day_to_give_notice(owner):
    end = date(2026, 12, 31)
    contract = _contract(owner, end_date=end, notice_months=6)  # last day: 30.06.2026
    found = [d for d in _due(ReminderKind.NOTICE_DEADLINE) if d.contract_id == contract.id]
    assert found == []  # 30.06.2026 is 120 days ahead: before the first lead (90 days)
    on_day = _due(ReminderKind.NOTICE_DEADLINE, date(2026, 6, 1))
    assert [(d.due, d.lead) for d in on_day if d.contract_id == contract.id] == [
        (date(2026, 6, 30), 30)
    ]


def test_termination_ends_expiry_and_notice_chains(owner):
    contract = _contract(owner, end_date=TODAY + timedelta(days=60), notice_months=1)
    assert _due(ReminderKind.EXPIRY) and _due(ReminderKind.NOTICE_DEADLINE)
    register_services.terminate_contract(contract, TODAY + timedelta(days=30), "Oppsagt")
    assert _due(ReminderKind.EXPIRY) == [] and _due(ReminderKind.NOTICE_DEADLINE) == []


def test_price_adjustment_in_the_coming_month(owner):
    contract = _contract(owner, price_adjustment_month=4)  # 1 April 2026, 30 days ahead
    found = [d for d in _due(ReminderKind.PRICE_ADJUSTMENT) if d.contract_id == contract.id]
    assert [(d.due, d.lead) for d in found] == [(date(2026, 4, 1), 30)]
    later = _contract(owner, price_adjustment_month=6)
    assert not [d for d in _due(ReminderKind.PRICE_ADJUSTMENT) if d.contract_id == later.id]


def _plan_with_activity(owner, due: date, **contract_fields):
    contract = _contract(owner, **contract_fields)
    plan = followup_services.build_plan(contract, followup_services.default_template(), TODAY, None)
    activity = Activity(
        plan_id=plan.id, contract_id=contract.id, kind=ActivityKind.CUSTOM,
        title="Befaring", due_date=due, responsible_role="owner",
        responsible_id=owner.id, status=ActivityStatus.OPEN, edited=False,
    )  # fmt: skip
    Session.add(activity)
    Session.flush()
    return contract, activity


def test_activities_coming_due_overdue_and_escalated(owner):
    unit = factories.make_unit("Oppvekst")
    unit.contact_email = "post.oppvekst@kommune.no"
    _contract_, soon = _plan_with_activity(owner, TODAY + timedelta(days=7), unit_id=unit.id)
    _c2, late = _plan_with_activity(owner, TODAY - timedelta(days=15), unit_id=unit.id)
    due = [d for d in _due(ReminderKind.ACTIVITY_DUE) if d.entity_id == soon.id]
    assert [(d.lead, d.user_id) for d in due] == [(7, owner.id)]
    overdue = [d for d in _due(ReminderKind.ACTIVITY_OVERDUE) if d.entity_id == late.id]
    assert [d.lead for d in overdue] == [14]  # the latest stage reached: 14 days late
    escalated = [d for d in _due(ReminderKind.ACTIVITY_ESCALATED) if d.entity_id == late.id]
    assert {d.to_address for d in escalated} == {
        "post.oppvekst@kommune.no",
        reminders.current_app.config["PROCUREMENT_EMAIL"],
    }
    followup_services.complete_activity(late, status=ActivityStatus.DONE, user=owner)
    assert not [d for d in _due(ReminderKind.ACTIVITY_OVERDUE) if d.entity_id == late.id]


def test_critical_contracts_without_a_plan_go_to_the_office(owner):
    category = factories.make_category("Renhold")
    followup_services.assess_category(
        category.id, assessed_on=TODAY, supply_risk=5, financial_impact=5, wage_risk=5,
        rationale="Kritisk", assessed_by=None,
    )  # fmt: skip
    assert followup_services.criticality_by_category()[category.id] == Criticality.HIGH
    contract = _contract(owner, category_id=category.id)
    found = [d for d in _due(ReminderKind.MISSING_PLAN) if d.contract_id == contract.id]
    assert len(found) == 1 and found[0].user_id is None
    followup_services.build_plan(contract, followup_services.default_template(), TODAY, None)
    assert not [d for d in _due(ReminderKind.MISSING_PLAN) if d.contract_id == contract.id]


def test_snoozed_until_a_date(owner):
    contract = _contract(owner, end_date=TODAY + timedelta(days=20))
    Session.add(Snooze(kind=ReminderKind.EXPIRY, entity_type="contracts",
                       entity_id=contract.id, until=TODAY + timedelta(days=5)))  # fmt: skip
    Session.flush()
    assert not [d for d in _due(ReminderKind.EXPIRY) if d.contract_id == contract.id]
    later = _due(ReminderKind.EXPIRY, TODAY + timedelta(days=5))
    assert [d.contract_id for d in later if d.contract_id == contract.id] == [contract.id]


def test_a_contract_with_its_own_lead_times(owner):
    contract = _contract(owner, end_date=TODAY + timedelta(days=250))
    assert not [d for d in _due(ReminderKind.EXPIRY) if d.contract_id == contract.id]
    Session.add(LeadTimes(contract_id=contract.id, kind=ReminderKind.EXPIRY, days=[270, 30]))
    Session.flush()
    found = [d for d in _due(ReminderKind.EXPIRY) if d.contract_id == contract.id]
    assert [d.lead for d in found] == [270]


def test_one_digest_per_recipient_and_running_twice_changes_nothing(owner):
    first = _contract(owner, end_date=TODAY + timedelta(days=30), title="Skyss <b>og</b> sånt")
    second = _contract(owner, end_date=TODAY + timedelta(days=90))
    other = factories.make_user(Role.OWNER)
    _contract(other, end_date=TODAY + timedelta(days=10))
    result = reminders.run(TODAY)
    assert result["by_kind"]["expiry"] == 3
    digests = Session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    mine = [m for m in digests if m.to_address == owner.email]
    assert len(mine) == 1 and len(digests) == 2
    message = mine[0]
    assert message.due_date == first.current_end_date
    assert first.reference in message.body_text and second.reference in message.body_text
    assert f"/contracts/{first.id}" in message.body_text
    assert "Skyss &lt;b&gt;og&lt;/b&gt; sånt" in message.body_html
    assert "Kontrakten utløper" in message.body_text and "Påminnelser" in message.subject
    counts = (_count(Reminder), _count(OutboxMessage))
    again = reminders.run(TODAY)
    assert (_count(Reminder), _count(OutboxMessage)) == counts
    assert again["messages"] == 0
    # The next stage of a chain comes in a new digest on its day.
    reminders.run(TODAY + timedelta(days=1))
    assert (_count(Reminder), _count(OutboxMessage)) == counts
    reminders.run(first.current_end_date - timedelta(days=30) + timedelta(days=60))
    assert _count(OutboxMessage) > counts[1]


def test_instant_kinds_come_alone(owner):
    contract = _contract(owner, end_date=TODAY + timedelta(days=700))
    register_services.add_option(contract, 12, TODAY + timedelta(days=14))
    _contract(owner, end_date=TODAY + timedelta(days=30))
    Session.add(NotificationSettings(user_id=owner.id, instant_kinds=["option_deadline"]))
    Session.flush()
    reminders.run(TODAY)
    messages = Session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == owner.email)
    ).all()
    assert len(messages) == 2
    instant = next(m for m in messages if m.key.startswith("instant:"))
    assert "opsjon" in instant.subject.lower()
    assert settings.instant_kinds(owner.id) == {"option_deadline"}


def test_people_who_cannot_get_mail_are_covered_by_the_office(owner):
    contract = _contract(owner, end_date=TODAY + timedelta(days=30))
    owner.is_active = False
    Session.flush()
    found = [d for d in _due(ReminderKind.EXPIRY) if d.contract_id == contract.id]
    assert [(d.user_id, d.to_address) for d in found] == [
        (None, reminders.current_app.config["PROCUREMENT_EMAIL"])
    ]


@pytest.fixture
def smtp(app, monkeypatch):
    from tests.smtp_server import smtp_server

    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 5)
    with smtp_server() as server:
        for key, value in server.config.items():
            monkeypatch.setitem(app.config, key, value)
        yield server


def test_the_owner_gets_the_digest_over_smtp_exactly_once(owner, smtp, runner):
    from contracts.db import utcnow
    from jobs import outbox

    contract = _contract(owner, end_date=TODAY + timedelta(days=30), title="Brøyting\r\nBcc: x@y")
    result = runner.invoke(args=["jobs", "run-once", "reminders", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    outbox.send_due(utcnow())
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == owner.email
    assert message["Subject"] == "Påminnelser fra kontraktsregisteret 02.03.2026 (1)"
    assert message["Bcc"] is None and smtp.envelopes[0].rcpt_tos == [owner.email]
    text = message.get_body(("plain",)).get_content()
    assert contract.reference in text and "Kontrakten utløper: 01.04.2026 (om 30 dager)" in text
    assert f"http://127.0.0.1:5000/contracts/{contract.id}" in text
    html = message.get_body(("html",)).get_content()
    assert "Brøyting" in html
    # The same day again, and the day after: nothing new to send.
    for day in (TODAY, TODAY + timedelta(days=1)):
        again = runner.invoke(args=["jobs", "run-once", "reminders", "--today", day.isoformat()])
        assert again.exit_code == 0, again.output
        outbox.send_due(utcnow())
    assert len(smtp.messages) == 1


def test_people_who_have_not_declared_impartiality_are_reminded_weekly(owner):
    from contracts.integrity import declarations, flags

    manager = factories.make_user(Role.OWNER, name="Kari Forvalter")
    contract = _contract(owner, manager_id=manager.id, estimated_value=5_000_000,
                         signed_on=date(2025, 12, 1))  # fmt: skip
    small = _contract(owner, estimated_value=200_000)  # below the national threshold
    flags.recompute(TODAY)
    found = [d for d in _due(ReminderKind.DECLARATION_DUE) if d.contract_id == contract.id]
    assert sorted(d.user_id for d in found) == sorted([owner.id, manager.id])
    assert not [d for d in _due(ReminderKind.DECLARATION_DUE) if d.contract_id == small.id]
    reminders.run(TODAY)
    digest = Session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == owner.email))
    assert f"/contracts/{contract.id}/declarations" in digest.body_text
    # The owner declares: after the night's recompute only the manager is reminded.
    declarations.declare(contract, owner, TODAY)
    flags.recompute(TODAY + timedelta(days=1))
    later = [d for d in _due(ReminderKind.DECLARATION_DUE, TODAY + timedelta(days=7))
             if d.contract_id == contract.id]  # fmt: skip
    assert [d.user_id for d in later] == [manager.id]
