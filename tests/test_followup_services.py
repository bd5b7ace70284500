"""Building plans from the default template, and moving them when the contract's dates do."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from contracts.audit import services as audit
from contracts.audit.models import AuditEvent
from contracts.auth.models import Role
from contracts.db import Session
from contracts.register import services as register_services
from contracts.register.models import OptionDecision
from followup import services
from followup.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Criticality,
    FollowUpPlan,
    ResponsibleRole,
)
from tests import factories
from tests.conftest import TODAY

DEFAULT_KINDS = set(ActivityKind) - {ActivityKind.CUSTOM}


@pytest.fixture
def template():
    return services.default_template()


@pytest.fixture
def people():
    return factories.make_user(Role.OWNER), factories.make_user(Role.OWNER)


def _contract(people, **fields):
    owner, manager = people
    values = {
        "start_date": date(2026, 4, 1),
        "end_date": date(2029, 3, 31),
        "owner_id": owner.id,
        "manager_id": manager.id,
        "estimated_value": 3_000_000,
    }
    values.update(fields)
    return factories.make_contract(**values)


def _assess(category_id: int, level: Criticality) -> None:
    scores = {
        Criticality.HIGH: (5, 5, 3),
        Criticality.MEDIUM: (3, 1, 1),
        Criticality.LOW: (1, 1, 1),
    }
    supply, impact, wage = scores[level]
    services.assess_category(
        category_id,
        assessed_on=TODAY,
        supply_risk=supply,
        financial_impact=impact,
        wage_risk=wage,
        rationale="Vurdert i innkjøpsteamet",
        assessed_by=None,
    )


def _kinds(plan: FollowUpPlan) -> list[ActivityKind]:
    return [a.kind for a in plan.activities]


def test_the_default_template_ships_with_every_kind_of_activity(template):
    assert template.version == 1 and template.is_current
    assert {r.kind for r in template.rules} == DEFAULT_KINDS
    wage = next(r for r in template.rules if r.kind == ActivityKind.WAGE_CONDITIONS_CONTROL)
    assert wage.only_wage_conditions and len(wage.checklist.splitlines()) >= 5


def test_a_plan_for_a_critical_contract(template, people):
    contract = _contract(people)
    register_services.add_option(contract, 12, date(2028, 12, 31))
    _assess(contract.category_id, Criticality.HIGH)
    plan = services.build_plan(contract, template, TODAY, None)
    kinds = _kinds(plan)
    assert kinds[0] == ActivityKind.START_UP_MEETING
    assert plan.activities[0].due_date == date(2026, 4, 15)
    # Quarterly, 90 days into each quarter: the twelfth would fall after the end.
    assert kinds.count(ActivityKind.STATUS_MEETING) == 11
    assert kinds.count(ActivityKind.WAGE_CONDITIONS_CONTROL) == 2  # yearly, covered contract
    assert kinds.count(ActivityKind.OPTION_DECISION) == 1
    assert ActivityKind.RETENDER_START in kinds  # 3 MNOK is above the threshold in the rule
    owner, manager = people
    by_kind = {a.kind: a for a in plan.activities}
    assert by_kind[ActivityKind.START_UP_MEETING].responsible_id == manager.id
    assert by_kind[ActivityKind.OPTION_DECISION].responsible_id == owner.id
    assert by_kind[ActivityKind.RETENDER_START].responsible_role == ResponsibleRole.PROCUREMENT
    assert by_kind[ActivityKind.RETENDER_START].responsible_id is None
    assert all(a.due_date >= TODAY for a in plan.activities)
    assert plan.template_id == template.id
    event = Session.scalar(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "followup_plans")
        .order_by(AuditEvent.seq.desc())
    )
    assert event.contract_id == contract.id and "aktiviteter" in event.summary


def test_a_plan_for_an_uncritical_small_contract(template, people):
    contract = _contract(people, estimated_value=200_000, has_wage_conditions=False)
    _assess(contract.category_id, Criticality.LOW)
    kinds = _kinds(services.build_plan(contract, template, TODAY, None))
    assert kinds.count(ActivityKind.STATUS_MEETING) == 2  # yearly
    assert ActivityKind.WAGE_CONDITIONS_CONTROL not in kinds
    assert ActivityKind.RETENDER_START not in kinds


def test_an_old_contract_gets_no_overdue_past_activities(template, people):
    contract = _contract(people, start_date=date(2019, 1, 1), end_date=date(2027, 12, 31))
    plan = services.build_plan(contract, template, TODAY, None)
    assert ActivityKind.START_UP_MEETING not in _kinds(plan)
    assert min(a.due_date for a in plan.activities) >= TODAY


def test_a_contract_gets_one_plan(template, people):
    contract = _contract(people)
    services.build_plan(contract, template, TODAY, None)
    with pytest.raises(services.PlanExistsError):
        services.build_plan(contract, template, TODAY, None)


def test_exercising_an_option_moves_the_plan_and_keeps_done_and_edited_work(template, people):
    owner, _manager = people
    contract = _contract(people)
    option = register_services.add_option(contract, 12, date(2028, 12, 31))
    plan = services.build_plan(contract, template, TODAY, None)
    end_eval = next(a for a in plan.activities if a.kind == ActivityKind.END_EVALUATION)
    assert end_eval.due_date == date(2029, 1, 30)
    startup = plan.activities[0]
    services.complete_activity(startup, status=ActivityStatus.DONE, user=owner, notes="Holdt")
    risk = next(a for a in plan.activities if a.kind == ActivityKind.RISK_REVIEW)
    services.edit_activity(risk, {"due_date": date(2027, 2, 1)})
    before = len(plan.activities)

    register_services.decide_option(option, OptionDecision.EXERCISED, TODAY, owner)
    Session.expire_all()
    plan = services.plan_for(contract.id)
    assert next(
        a for a in plan.activities if a.kind == ActivityKind.END_EVALUATION
    ).due_date == date(2030, 1, 30)
    # The option's decision activity went with the decision; a year of activities came.
    assert ActivityKind.OPTION_DECISION not in _kinds(plan)
    assert len(plan.activities) > before
    assert Session.get(Activity, startup.id).status == ActivityStatus.DONE
    assert Session.get(Activity, risk.id).due_date == date(2027, 2, 1)
    rebuilt = Session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "plan_rebuilt")
        .order_by(AuditEvent.seq.desc())
    )
    assert rebuilt.contract_id == contract.id and rebuilt.after["added"] > 0


def test_termination_removes_future_open_activities_but_not_overdue_ones(template, people):
    contract = _contract(people, start_date=date(2026, 1, 1), end_date=date(2028, 12, 31))
    plan = services.build_plan(contract, template, date(2026, 1, 1), None)
    overdue = [a for a in plan.activities if a.due_date < TODAY]
    assert overdue  # the start-up meeting, due before "today"
    register_services.terminate_contract(contract, date(2026, 6, 30), "Heving")
    Session.expire_all()
    plan = services.plan_for(contract.id)
    assert {a.id for a in overdue} <= {a.id for a in plan.activities}
    assert max(a.due_date for a in plan.activities) <= date(2026, 6, 30)


def test_a_rebuild_that_changes_nothing_leaves_no_event(template, people):
    contract = _contract(people)
    plan = services.build_plan(contract, template, TODAY, None)
    count = Session.scalar(select(func.count()).select_from(AuditEvent))
    assert not services.rebuild_plan(plan, TODAY).changed
    assert Session.scalar(select(func.count()).select_from(AuditEvent)) == count


def test_building_many_plans_gives_what_building_one_by_one_gives(template, people):
    contracts = [_contract(people, start_date=date(2026, 4, d)) for d in range(1, 8)]
    register_services.add_option(contracts[0], 12, date(2028, 12, 31))
    _assess(contracts[1].category_id, Criticality.HIGH)
    services.build_plan(contracts[6], template, TODAY, None)  # already has one
    Session.flush()
    result = services.build_plans([c.id for c in contracts], template, TODAY, None)
    assert result.plans == 6
    bulk = _activity_rows(contracts[:6])
    Session.execute(FollowUpPlan.__table__.delete().where(FollowUpPlan.contract_id.in_(
        [c.id for c in contracts[:6]])))  # fmt: skip
    for contract in contracts[:6]:
        services.build_plan(Session.merge(contract), template, TODAY, None)
    Session.flush()
    assert _activity_rows(contracts[:6]) == bulk
    assert result.activities == len(bulk)
    # The audit chain stays whole across the bulk insert.
    events = Session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    for previous, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == previous.hash
        assert audit.compute_hash(event.prev_hash, event) == event.hash


def _activity_rows(contracts) -> list[tuple]:
    Session.expire_all()
    return sorted(
        Session.execute(
            select(
                Activity.contract_id,
                Activity.rule_id,
                Activity.occurrence,
                Activity.kind,
                Activity.due_date,
                Activity.responsible_id,
            ).where(Activity.contract_id.in_([c.id for c in contracts]))
        ).all()
    )


def test_my_activities_are_the_ones_i_answer_for_overdue_first(template, people):
    owner, manager = people
    contract = _contract(people, start_date=date(2026, 1, 1), end_date=date(2028, 12, 31))
    services.build_plan(contract, template, TODAY - timedelta(days=60), None)
    other = _contract((factories.make_user(Role.OWNER), factories.make_user(Role.OWNER)))
    services.build_plan(other, template, TODAY, None)
    mine = Session.scalars(services.my_activities(manager, TODAY)).all()
    assert mine and {a.contract_id for a in mine} == {contract.id}
    assert mine[0].is_overdue(TODAY)
    assert [a.due_date for a in mine] == sorted(a.due_date for a in mine)


def test_editing_only_the_title_keeps_an_activity_in_rebuilds(template, people):
    plan = services.build_plan(_contract(people), template, TODAY, None)
    activity = plan.activities[0]
    services.edit_activity(activity, {"title": "Oppstartsmøte på rådhuset"})
    assert not activity.edited
    services.edit_activity(activity, {"due_date": activity.due_date + timedelta(days=7)})
    assert activity.edited


def test_the_procurement_office_sees_its_own_tasks_and_auditors_complete_nothing(template, people):
    contract = _contract(people)
    services.build_plan(contract, template, TODAY, None)
    officer = factories.make_user(Role.PROCUREMENT)
    office = Session.scalars(services.my_activities(officer, TODAY)).all()
    assert office and {a.responsible_role for a in office} == {ResponsibleRole.PROCUREMENT}
    auditor = factories.make_user(Role.AUDITOR)
    contract.owner_id = auditor.id  # even when named on the contract
    assert not services.can_complete(office[0], auditor)
