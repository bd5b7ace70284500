"""Category assessments, the priority list, the worklist and building plans in bulk."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from contracts.audit.models import AuditEvent
from contracts.db import Session
from contracts.register import services as register_services
from followup import priorities as prio
from followup import services
from followup.models import (
    Activity,
    ActivityStatus,
    CategoryAssessment,
    Criticality,
    DeviationStatus,
    FollowUpPlan,
    Quadrant,
    Severity,
    criticality_for,
    quadrant_for,
)
from tests import factories
from tests.conftest import TODAY

SCORES = {Criticality.HIGH: (4, 4, 2), Criticality.MEDIUM: (3, 1, 1), Criticality.LOW: (1, 1, 1)}


def _assess(category, level: Criticality, on: date = TODAY) -> CategoryAssessment:
    supply, impact, wage = SCORES[level]
    return services.assess_category(
        category.id,
        assessed_on=on,
        supply_risk=supply,
        financial_impact=impact,
        wage_risk=wage,
        rationale="Vurdert av innkjøp",
        assessed_by=None,
    )


def _count(model) -> int:
    Session.expire_all()
    return Session.scalar(select(func.count()).select_from(model))


def _ids(html: str, attribute: str) -> list[int]:
    return [int(n) for n in re.findall(rf'{attribute}="(\d+)"', html)]


@pytest.fixture
def officer(login_as):
    """A procurement officer reading the pages in English (the source language)."""
    client = login_as("procurement")
    client.post("/locale", data={"locale": "en"})
    return client


# --- quadrant and criticality -------------------------------------------------------------


@pytest.mark.parametrize(
    ("supply", "impact", "wage", "quadrant", "level"),
    [
        (5, 5, 1, Quadrant.STRATEGIC, Criticality.HIGH),
        (3, 3, 1, Quadrant.STRATEGIC, Criticality.HIGH),
        (3, 2, 1, Quadrant.BOTTLENECK, Criticality.MEDIUM),
        (4, 1, 1, Quadrant.BOTTLENECK, Criticality.HIGH),
        (2, 3, 1, Quadrant.LEVERAGE, Criticality.MEDIUM),
        (1, 5, 1, Quadrant.LEVERAGE, Criticality.HIGH),
        (2, 2, 2, Quadrant.NON_CRITICAL, Criticality.LOW),
        (1, 1, 3, Quadrant.NON_CRITICAL, Criticality.MEDIUM),
        # A high risk of breaches of wage conditions alone makes the category critical.
        (1, 1, 4, Quadrant.NON_CRITICAL, Criticality.HIGH),
    ],
)
def test_quadrant_and_criticality_from_scores(supply, impact, wage, quadrant, level):
    assert quadrant_for(supply, impact) == quadrant
    assert criticality_for(supply, impact, wage) == level


# --- the assessment form ------------------------------------------------------------------

VALID = {
    "supply_risk": "4",
    "financial_impact": "2",
    "wage_risk": "5",
    "rationale": "Få leverandører og mange underleverandører i bransjen.",
    "assessed_on": "15.02.2026",
}


def test_assessment_is_saved_with_its_result_and_audited(officer):
    category = factories.make_category()
    events = _count(AuditEvent)
    response = officer.post(f"/followup/categories/{category.id}/assess", data=VALID)
    assert response.status_code == 302
    assert response.location.endswith(f"/followup/categories/{category.id}/assess")

    assessment = Session.scalar(
        select(CategoryAssessment).where(CategoryAssessment.category_id == category.id)
    )
    assert (assessment.supply_risk, assessment.financial_impact, assessment.wage_risk) == (4, 2, 5)
    assert assessment.assessed_on == date(2026, 2, 15)  # a Norwegian date
    assert assessment.quadrant == Quadrant.BOTTLENECK
    assert assessment.criticality == Criticality.HIGH
    assert assessment.assessed_by_id == officer.user.id
    assert _count(AuditEvent) == events + 1
    event_ = Session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert (event_.action, event_.entity_type, event_.entity_id) == (
        "create",
        "category_assessments",
        assessment.id,
    )
    assert event_.actor_id == officer.user.id
    assert event_.after["wage_risk"] == 5

    page = officer.get(response.location)
    assert page.status_code == 200
    assert 'data-quadrant="bottleneck"' in page.text
    assert 'data-level="3"' in page.text
    assert f'data-assessment-id="{assessment.id}"' in page.text
    assert officer.user.name in page.text


def test_assessment_form_defaults_to_today(officer):
    category = factories.make_category()
    page = officer.get(f"/followup/categories/{category.id}/assess")
    assert page.status_code == 200
    assert f'value="{TODAY.isoformat()}"' in page.text
    assert 'id="not-assessed"' in page.text
    assert page.text.count('type="radio"') == 15


def test_history_lists_newest_first(officer):
    category = factories.make_category()
    old = _assess(category, Criticality.LOW, on=date(2025, 1, 10))
    new = _assess(category, Criticality.HIGH, on=date(2026, 1, 10))
    page = officer.get(f"/followup/categories/{category.id}/assess")
    assert _ids(page.text, "data-assessment-id") == [new.id, old.id]
    assert 'data-level="3"' in page.text  # the newest one counts


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"supply_risk": "0"}, "supply_risk"),
        ({"supply_risk": "6"}, "supply_risk"),
        ({"financial_impact": "x"}, "financial_impact"),
        ({"wage_risk": None}, "wage_risk"),
        ({"rationale": ""}, "rationale"),
        ({"rationale": "   "}, "rationale"),
        ({"rationale": "x" * 5001}, "rationale"),
        ({"assessed_on": ""}, "assessed_on"),
        ({"assessed_on": "31.02.2026"}, "assessed_on"),
        ({"assessed_on": (TODAY + timedelta(days=1)).isoformat()}, "assessed_on"),
    ],
)
def test_invalid_assessment_is_refused_and_nothing_saved(officer, changes, field):
    category = factories.make_category()
    data = {k: v for k, v in {**VALID, **changes}.items() if v is not None}
    assessments, events = _count(CategoryAssessment), _count(AuditEvent)
    response = officer.post(f"/followup/categories/{category.id}/assess", data=data)
    assert response.status_code == 422
    assert "data-error-summary" in response.text
    # The summary links to the field, or to the first radio button of a score.
    assert re.search(rf'href="#{field}(-0)?"', response.text)
    assert f'id="{field}-error"' in response.text
    assert _count(CategoryAssessment) == assessments
    assert _count(AuditEvent) == events


def test_score_error_says_what_to_choose(officer):
    category = factories.make_category()
    response = officer.post(
        f"/followup/categories/{category.id}/assess", data={**VALID, "supply_risk": "9"}
    )
    assert "Choose a score from 1 (low) to 5 (very high)." in response.text


def test_unknown_category_is_not_found(officer):
    assert officer.get("/followup/categories/999999/assess").status_code == 404


@pytest.mark.parametrize("role", ["owner", "auditor"])
def test_only_editors_assess(login_as, role):
    category = factories.make_category()
    client = login_as(role)
    assessments = _count(CategoryAssessment)
    assert client.get(f"/followup/categories/{category.id}/assess").status_code == 403
    response = client.post(f"/followup/categories/{category.id}/assess", data=VALID)
    assert response.status_code == 403
    assert _count(CategoryAssessment) == assessments


# --- the priority list --------------------------------------------------------------------


def test_priority_order_is_criticality_then_annual_value(officer):
    names = {}
    for key, level, values in [
        ("high_small", Criticality.HIGH, [1_000_000]),
        ("high_large", Criticality.HIGH, [2_000_000, 1_500_000]),
        ("medium_huge", Criticality.MEDIUM, [9_000_000]),
        ("low", Criticality.LOW, [5_000_000]),
        ("unassessed", None, [50_000_000]),
    ]:
        category = factories.make_category()
        names[key] = category.id
        if level is not None:
            _assess(category, level)
        for value in values:
            factories.make_contract(category_id=category.id, annual_value=Decimal(value))

    expected = [names[k] for k in ("high_small", "high_large", "medium_huge", "low", "unassessed")]
    expected[0], expected[1] = expected[1], expected[0]  # the larger value first
    rows = prio.priorities(officer.user, TODAY)
    assert [r.category.id for r in rows if r.category.id in expected] == expected

    page = officer.get("/followup/priorities")
    assert page.status_code == 200
    shown = [i for i in _ids(page.text, "data-category-id") if i in expected]
    assert shown == expected


def test_an_older_assessment_does_not_count(officer):
    category = factories.make_category()
    _assess(category, Criticality.HIGH, on=date(2025, 6, 1))
    _assess(category, Criticality.LOW, on=date(2026, 1, 1))
    row = next(r for r in prio.priorities(officer.user, TODAY) if r.category.id == category.id)
    assert row.criticality == Criticality.LOW
    assert not row.is_critical


def test_priority_counts_active_contracts_plans_overdue_work_and_deviations(officer):
    category = factories.make_category()
    _assess(category, Criticality.HIGH)
    planned = factories.make_contract(category_id=category.id, annual_value=Decimal(100_000))
    factories.make_contract(category_id=category.id, annual_value=Decimal(200_000))
    # Expiring within 180 days: still running, so still active here.
    factories.make_contract(
        category_id=category.id,
        annual_value=Decimal(300_000),
        start_date=date(2023, 6, 1),
        end_date=date(2026, 5, 31),
    )
    expired = factories.make_contract(
        category_id=category.id, annual_value=Decimal(1_000_000), start_date=date(2021, 1, 1)
    )
    factories.make_contract(category_id=category.id, signed_on=None, annual_value=Decimal(1))
    terminated = factories.make_contract(category_id=category.id, annual_value=Decimal(1))
    register_services.terminate_contract(terminated, date(2026, 2, 1), "Heving")
    deleted = factories.make_contract(category_id=category.id, annual_value=Decimal(1))
    register_services.soft_delete_contract(deleted)

    plan = services.build_plan(planned, services.default_template(), TODAY, None)
    plan.activities[0].due_date = TODAY - timedelta(days=1)  # overdue
    plan.activities[1].due_date = TODAY  # due today: not overdue yet
    # Overdue work on an expired contract is still owed.
    expired_plan = services.build_plan(expired, services.default_template(), date(2023, 1, 1), None)
    owed = next(a for a in expired_plan.activities if a.due_date < TODAY)
    done = next(a for a in expired_plan.activities if a.due_date < TODAY and a is not owed)
    services.complete_activity(done, status=ActivityStatus.DONE, user=officer.user)
    user = officer.user
    for contract in (planned, expired):
        services.record_deviation(
            contract,
            {"occurred_on": date(2026, 2, 1), "description": "Mangler", "severity": Severity.LOW},
            user,
        )
    closed = services.record_deviation(
        planned,
        {"occurred_on": date(2026, 2, 1), "description": "Rettet", "severity": Severity.LOW},
        user,
    )
    services.close_deviation(closed, date(2026, 2, 20), "Rettet")
    deleted_deviation = services.record_deviation(
        deleted,
        {"occurred_on": date(2026, 2, 1), "description": "Slettet", "severity": Severity.LOW},
        user,
    )
    Session.flush()
    overdue_expected = Session.scalar(
        select(func.count())
        .select_from(Activity)
        .where(
            Activity.contract_id.in_([planned.id, expired.id]),
            Activity.status == ActivityStatus.OPEN,
            Activity.due_date < TODAY,
        )
    )
    assert owed.status == ActivityStatus.OPEN and overdue_expected >= 2
    assert deleted_deviation.status == DeviationStatus.OPEN

    row = next(r for r in prio.priorities(user, TODAY) if r.category.id == category.id)
    assert (row.active, row.with_plan, row.without_plan) == (3, 1, 2)
    assert row.annual_value == Decimal(600_000)
    assert row.overdue == overdue_expected
    assert row.open_deviations == 2

    page = officer.get("/followup/priorities")
    html = page.text.split(f'data-category-id="{category.id}"')[1].split("</tr>")[0]
    assert 'data-active="3"' in html
    assert 'data-with-plan="1"' in html
    assert f'data-overdue="{overdue_expected}"' in html
    assert 'data-deviations="2"' in html
    assert f"/followup/categories/{category.id}/assess" in html
    assert f"/followup/worklist?category={category.id}" in html


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # The annual value when known.
        ({"annual_value": Decimal(400_000), "estimated_value": Decimal(9_000_000)}, 400_000),
        # Else the estimate spread over the years from start to the latest possible end.
        ({"annual_value": None, "estimated_value": Decimal(3_000_000)}, 1_000_000),
        # Open-ended, or shorter than a year: the estimate counts as one year.
        ({"annual_value": None, "estimated_value": Decimal(800_000), "end_date": None}, 800_000),
        (
            {
                "annual_value": None,
                "estimated_value": Decimal(500_000),
                "start_date": date(2026, 1, 1),
                "end_date": date(2026, 6, 30),
            },
            500_000,
        ),
        ({"annual_value": None, "estimated_value": None}, 0),
    ],
)
def test_annual_value_of_a_contract(officer, fields, expected):
    category = factories.make_category()
    factories.make_contract(category_id=category.id, **{"start_date": date(2025, 1, 1), **fields})
    row = next(r for r in prio.priorities(officer.user, TODAY) if r.category.id == category.id)
    assert row.active == 1
    assert abs(row.annual_value - expected) <= Decimal(1000)  # 365.25-day years


def test_options_lengthen_the_years_the_estimate_is_spread_over(officer):
    category = factories.make_category()
    contract = factories.make_contract(
        category_id=category.id,
        annual_value=None,
        estimated_value=Decimal(4_000_000),
        start_date=date(2025, 1, 1),
    )
    register_services.add_option(contract, 12, date(2027, 6, 1))  # 3 + 1 years
    row = next(r for r in prio.priorities(officer.user, TODAY) if r.category.id == category.id)
    assert abs(row.annual_value - 1_000_000) <= 1000


def _statements(app, client, path: str) -> int:
    engine = app.extensions["engine"]
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def _critical_category_with_contracts(n: int) -> None:
    category = factories.make_category()
    _assess(category, Criticality.HIGH)
    for _ in range(n):
        factories.make_contract(category_id=category.id)


@pytest.mark.parametrize("path", ["/followup/priorities", "/followup/worklist"])
def test_pages_use_a_constant_number_of_queries(app, officer, path):
    _critical_category_with_contracts(2)
    few = _statements(app, officer, path)
    for _ in range(8):
        _critical_category_with_contracts(3)
    assert _statements(app, officer, path) == few


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_read_the_priorities(login_as, role):
    category = factories.make_category()
    _assess(category, Criticality.HIGH)
    client = login_as(role)
    page = client.get("/followup/priorities")
    assert page.status_code == 200
    assess_link = f"/followup/categories/{category.id}/assess"
    assert (assess_link in page.text) == (role == "admin")
    assert client.get("/followup/worklist").status_code == 200


def test_owners_do_not_see_the_priorities(login_as):
    owner = login_as("owner")
    assert owner.get("/followup/priorities").status_code == 403
    assert owner.get("/followup/worklist").status_code == 403
    assert "/followup/priorities" not in owner.get("/").text


def test_nav_links_to_the_priorities(officer):
    assert 'href="/followup/priorities"' in officer.get("/").text


# --- the worklist -------------------------------------------------------------------------


@pytest.fixture
def worklist_world():
    """Two critical categories, a medium one, and contracts that must be left out."""
    first, second, medium = (factories.make_category() for _ in range(3))
    _assess(first, Criticality.HIGH)
    _assess(second, Criticality.HIGH)
    _assess(medium, Criticality.MEDIUM)

    def contract(category, value, **fields):
        return factories.make_contract(
            category_id=category.id, annual_value=Decimal(value), **fields
        )

    # The first category is worth more in a year, so its contracts come first.
    a = contract(first, 3_000_000)
    b = contract(first, 1_000_000, estimated_value=Decimal(5_000_000))
    c = contract(first, 1_000_000, estimated_value=Decimal(2_000_000))
    d = contract(second, 2_500_000)
    e = contract(second, 100_000)
    with_plan = contract(second, 900_000)
    services.build_plan(with_plan, services.default_template(), TODAY, None)
    left_out = [
        with_plan,
        contract(first, 10_000_000, start_date=date(2021, 1, 1)),  # expired
        contract(first, 10_000_000, signed_on=None),  # draft
        contract(medium, 10_000_000),  # not a critical category
    ]
    terminated = contract(first, 10_000_000)
    register_services.terminate_contract(terminated, date(2026, 3, 1), "Oppsagt")
    deleted = contract(first, 10_000_000)
    register_services.soft_delete_contract(deleted)
    left_out += [terminated, deleted]
    Session.flush()
    return {
        "first": first,
        "second": second,
        "medium": medium,
        "order": [a.id, b.id, c.id, d.id, e.id],
        "left_out": [x.id for x in left_out],
    }


def test_worklist_order_and_exclusions(officer, worklist_world):
    page = officer.get("/followup/worklist")
    assert page.status_code == 200
    shown = _ids(page.text, "data-contract-id")
    assert [i for i in shown if i in worklist_world["order"]] == worklist_world["order"]
    assert not set(shown) & set(worklist_world["left_out"])


def test_worklist_filtered_on_a_category(officer, worklist_world):
    second = worklist_world["second"]
    page = officer.get(f"/followup/worklist?category={second.id}")
    assert _ids(page.text, "data-contract-id") == worklist_world["order"][3:]
    assert 'data-total="2"' in page.text


def test_worklist_of_a_category_that_is_not_critical_is_empty(officer, worklist_world):
    page = officer.get(f"/followup/worklist?category={worklist_world['medium'].id}")
    assert page.status_code == 200
    assert _ids(page.text, "data-contract-id") == []
    assert "Only categories assessed as critical have a worklist" in page.text


def test_worklist_pages(app, officer, worklist_world, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    order = worklist_world["order"]
    shown = []
    for page_no in (1, 2, 3):
        page = officer.get(f"/followup/worklist?page={page_no}")
        shown += [i for i in _ids(page.text, "data-contract-id") if i in order]
    assert shown == order
    assert "Page 1 of" in officer.get("/followup/worklist?page=1").text


# --- building plans from the worklist -----------------------------------------------------


def _preview_numbers(html: str) -> tuple[int, int]:
    match = re.search(r'data-contracts="(\d+)" data-activities="(\d+)"', html)
    assert match, html
    return int(match[1]), int(match[2])


def _plans_of(ids: list[int]) -> list[FollowUpPlan]:
    Session.expire_all()
    return list(Session.scalars(select(FollowUpPlan).where(FollowUpPlan.contract_id.in_(ids))))


@pytest.mark.parametrize("scope", ["all", "second"])
def test_bulk_preview_counts_what_the_build_creates(officer, worklist_world, scope):
    template = services.default_template()
    category = "" if scope == "all" else str(worklist_world["second"].id)
    expected_ids = worklist_world["order"] if scope == "all" else worklist_world["order"][3:]
    plans, activities, events = _count(FollowUpPlan), _count(Activity), _count(AuditEvent)

    preview = officer.get(
        f"/followup/worklist/build?category_id={category}&template_id={template.id}"
    )
    assert preview.status_code == 200
    contracts, planned = _preview_numbers(preview.text)
    assert contracts == len(expected_ids)
    assert planned > contracts
    # The preview wrote nothing.
    assert (_count(FollowUpPlan), _count(Activity), _count(AuditEvent)) == (
        plans,
        activities,
        events,
    )

    response = officer.post(
        "/followup/worklist/build", data={"category_id": category, "template_id": template.id}
    )
    assert response.status_code == 302
    assert "/followup/worklist" in response.location
    built = _plans_of(worklist_world["order"])
    assert sorted(p.contract_id for p in built) == sorted(expected_ids)
    assert {p.template_id for p in built} == {template.id}
    assert _count(FollowUpPlan) == plans + contracts
    assert _count(Activity) == activities + planned
    assert _count(AuditEvent) == events + contracts
    assert not _plans_of(worklist_world["left_out"][1:])  # only the one planned before

    page = officer.get(response.location)
    assert f"{contracts} plans built" in page.text
    after = officer.get("/followup/worklist").text
    assert not set(_ids(after, "data-contract-id")) & set(expected_ids)


def test_worklist_offers_the_default_template(officer, worklist_world):
    page = officer.get("/followup/worklist").text
    default = services.default_template()
    assert re.search(rf'<option selected value="{default.id}">|value="{default.id}" selected', page)


@pytest.mark.parametrize(
    "query",
    [
        "template_id=",
        "template_id=999999",
        "template_id={old}",
        "template_id={current}&category_id={medium}",
        "template_id={current}&category_id=abc",
    ],
)
def test_bulk_preview_refuses_bad_choices(officer, worklist_world, query):
    current = services.default_template()
    old = services.new_version(
        current, [services.rule_values(r) for r in current.rules], change_note="v2", user=None
    )
    old, current = current, old
    url = "/followup/worklist/build?" + query.format(
        old=old.id, current=current.id, medium=worklist_world["medium"].id
    )
    response = officer.get(url)
    assert response.status_code == 422
    assert "data-error-summary" in response.text
    plans = _count(FollowUpPlan)
    data = dict(pair.split("=") for pair in url.split("?")[1].split("&"))
    assert officer.post("/followup/worklist/build", data=data).status_code == 422
    assert _count(FollowUpPlan) == plans


@pytest.mark.parametrize("role", ["auditor", "owner"])
def test_only_editors_build_plans(login_as, worklist_world, role):
    client = login_as(role)
    template = services.default_template()
    plans = _count(FollowUpPlan)
    query = f"template_id={template.id}"
    assert client.get(f"/followup/worklist/build?{query}").status_code == 403
    response = client.post("/followup/worklist/build", data={"template_id": template.id})
    assert response.status_code == 403
    assert _count(FollowUpPlan) == plans


def test_auditors_see_the_worklist_without_the_build_form(login_as, worklist_world):
    page = login_as("auditor").get("/followup/worklist")
    assert page.status_code == 200
    assert worklist_world["order"][0] in _ids(page.text, "data-contract-id")
    assert "/followup/worklist/build" not in page.text
