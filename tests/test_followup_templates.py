"""Method templates: reading them, and editing that always makes a new version."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from contracts.audit.models import AuditEvent
from contracts.db import Session
from followup import services, template_edits
from followup.labels import offset_in_words
from followup.models import Anchor, FollowUpPlan, MethodTemplate, TemplateRule
from tests import factories
from tests.conftest import TODAY

RULE = {
    "kind": "status_meeting",
    "title": "Månedlig driftsmøte",
    "guidance": "Gå gjennom driften.",
    "checklist": "  Avvik siden sist \n\n Bemanning  \n",
    "anchor": "start",
    "offset_days": "30",
    "recurrence": "monthly",
    "responsible": "manager",
    "min_value": "",
    "min_criticality": "",
    "max_criticality": "",
    "note": "",
}


@pytest.fixture
def officer(login_as):
    """A procurement officer reading the pages in English (the source language)."""
    client = login_as("procurement")
    client.post("/locale", data={"locale": "en"})
    return client


@pytest.fixture
def default():
    return services.default_template()


def _fresh(template_id: int) -> MethodTemplate:
    Session.expire_all()
    return Session.get(MethodTemplate, template_id)


def _versions(family: str) -> list[MethodTemplate]:
    Session.expire_all()
    return list(
        Session.scalars(
            select(MethodTemplate)
            .where(MethodTemplate.family == family)
            .order_by(MethodTemplate.version)
        )
    )


def _count(model) -> int:
    Session.expire_all()
    return Session.scalar(select(func.count()).select_from(model))


def _rule_snapshot(template: MethodTemplate) -> list[tuple]:
    return [(r.id, r.title, r.offset_days, r.anchor) for r in template.rules]


# --- reading ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "procurement", "owner", "auditor"])
def test_everyone_logged_in_reads_the_templates(login_as, default, role):
    client = login_as(role)
    listing = client.get("/followup/templates")
    assert listing.status_code == 200
    assert f'data-template-id="{default.id}"' in listing.text
    detail = client.get(f"/followup/templates/{default.id}")
    assert detail.status_code == 200
    assert len(re.findall(r'data-rule-id="\d+"', detail.text)) == len(default.rules)
    can_edit = role in ("admin", "procurement")
    assert (f"/followup/templates/{default.id}/rules/new" in detail.text) == can_edit


def test_detail_writes_offsets_in_words(officer, default):
    page = officer.get(f"/followup/templates/{default.id}").text
    assert "14 days after the start" in page  # start-up meeting
    assert "60 days before the option deadline" in page
    assert "60 days before the end" in page  # end evaluation
    assert "on each anniversary" in page  # yearly status meeting
    assert "Only contracts with the wage-conditions clause" in page
    assert "Only criticality High or higher" in page
    assert "Only value of NOK 1,300,000 or more" in page


@pytest.mark.parametrize(
    ("days", "anchor", "words"),
    [
        (14, Anchor.START, "14 days after the start"),
        (1, Anchor.START, "1 day after the start"),
        (-60, Anchor.OPTION_DEADLINE, "60 days before the option deadline"),
        (-1, Anchor.NOTICE_DEADLINE, "1 day before the last day to give notice"),
        (0, Anchor.END, "on the end"),
        (-30, Anchor.PRICE_ADJUSTMENT, "30 days before the price adjustment month"),
    ],
)
def test_offset_in_words(app, days, anchor, words):
    with app.test_request_context(), force_locale("en"):
        assert offset_in_words(days, anchor) == words


def test_detail_counts_the_plans_of_each_version(officer, default):
    contract = factories.make_contract()
    services.build_plan(contract, default, TODAY, None)
    page = officer.get(f"/followup/templates/{default.id}").text
    assert 'id="plan-count" data-plans="1"' in page
    assert f'data-version="{default.version}"' in page


def test_unknown_template_is_not_found(officer):
    assert officer.get("/followup/templates/999999").status_code == 404


# --- creating -----------------------------------------------------------------------------


def test_create_an_empty_template(officer):
    events = _count(AuditEvent)
    response = officer.post(
        "/followup/templates/new",
        data={"name": "Renhold – utvidet oppfølging", "description": "For renhold."},
    )
    assert response.status_code == 302
    template = Session.scalar(
        select(MethodTemplate).where(MethodTemplate.name == "Renhold – utvidet oppfølging")
    )
    assert (template.version, template.is_current, template.rules) == (1, True, [])
    assert template.family == "renhold-utvidet-oppfolging"
    assert template.created_by_id == officer.user.id
    assert response.location.endswith(f"/followup/templates/{template.id}")
    assert _count(AuditEvent) == events + 1


def test_create_a_template_from_another(officer, default):
    response = officer.post(
        "/followup/templates/new", data={"name": "Kopi av standard", "copy_from": default.id}
    )
    assert response.status_code == 302
    versions = _versions(
        Session.scalar(
            select(MethodTemplate.family).where(MethodTemplate.name == "Kopi av standard")
        )
    )
    assert [(v.version, v.is_current, len(v.rules)) for v in versions] == [
        (1, False, 0),
        (2, True, len(default.rules)),
    ]
    assert [r.title for r in versions[1].rules] == [r.title for r in default.rules]
    assert "Standard kontraktsoppfølging" in versions[1].change_note
    assert _fresh(default.id).is_current  # the source is untouched


def test_families_stay_unique(officer):
    for name in ("Bygg", "BYGG!"):
        assert officer.post("/followup/templates/new", data={"name": name}).status_code == 302
    assert {
        t.family
        for t in Session.scalars(select(MethodTemplate).where(MethodTemplate.family.like("bygg%")))
    } == {"bygg", "bygg-2"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Standard kontraktsoppfølging (DFØ)"}, "name"),  # taken
        ({"name": "Ny", "description": "x" * 5001}, "description"),
        ({"name": "Ny", "copy_from": "999999"}, "copy_from"),
    ],
)
def test_invalid_new_template_is_refused(officer, data, field):
    templates, events = _count(MethodTemplate), _count(AuditEvent)
    response = officer.post("/followup/templates/new", data=data)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text
    assert (_count(MethodTemplate), _count(AuditEvent)) == (templates, events)


# --- editing makes a new version ----------------------------------------------------------


def test_adding_a_rule_makes_version_2_and_leaves_version_1(officer, default):
    before = _rule_snapshot(default)
    events = _count(AuditEvent)
    response = officer.post(f"/followup/templates/{default.id}/rules/new", data=RULE)
    assert response.status_code == 302

    v1, v2 = _versions(default.family)
    assert (v1.id, v1.version, v1.is_current) == (default.id, 1, False)
    assert _rule_snapshot(v1) == before
    assert (v2.version, v2.is_current) == (2, True)
    assert response.location.endswith(f"/followup/templates/{v2.id}")
    assert [r.title for r in v2.rules] == [r.title for r in v1.rules] + ["Månedlig driftsmøte"]
    added = v2.rules[-1]
    assert (added.anchor, added.offset_days, added.recurrence) == ("start", 30, "monthly")
    assert added.checklist == "Avvik siden sist\nBemanning"  # one item a line, trimmed
    assert added.min_value is None and added.min_criticality is None
    assert v2.change_note == "Rule added: Månedlig driftsmøte"
    assert v2.created_by_id == officer.user.id
    assert _count(AuditEvent) == events + 1
    event = Session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert (event.entity_type, event.entity_id) == ("method_templates", v2.id)
    assert len(event.after["rules"]) == len(v2.rules)
    assert services.default_template().id == v2.id


def test_editing_a_rule(officer, default):
    rule = next(r for r in default.rules if r.kind == "end_evaluation")
    form = officer.get(f"/followup/templates/{default.id}/rules/{rule.id}/edit")
    assert form.status_code == 200
    assert 'value="-60"' in form.text  # the rule's values fill the form
    data = {
        **RULE,
        "kind": "end_evaluation",
        "title": "Sluttevaluering med leverandøren",
        "anchor": "end",
        "offset_days": "−90",  # a typographic minus
        "recurrence": "once",
        "min_value": "500 000",
        "min_criticality": "2",
        "note": "Tidligere sluttevaluering",
    }
    response = officer.post(f"/followup/templates/{default.id}/rules/{rule.id}/edit", data=data)
    assert response.status_code == 302
    v1, v2 = _versions(default.family)
    position = next(i for i, r in enumerate(v1.rules) if r.id == rule.id)
    changed = v2.rules[position]
    assert (changed.title, changed.offset_days, changed.min_value, changed.min_criticality) == (
        "Sluttevaluering med leverandøren",
        -90,
        Decimal("500000.00"),
        2,
    )
    assert v1.rules[position].title == "Sluttevaluering" and v1.rules[position].offset_days == -60
    assert len(v2.rules) == len(v1.rules)
    assert v2.change_note == "Tidligere sluttevaluering"


def test_removing_a_rule(officer, default):
    rule = default.rules[0]
    response = officer.post(f"/followup/templates/{default.id}/rules/{rule.id}/delete")
    assert response.status_code == 302
    v1, v2 = _versions(default.family)
    assert len(v2.rules) == len(v1.rules) - 1
    assert rule.title not in [r.title for r in v2.rules]
    assert Session.get(TemplateRule, rule.id) is not None  # still in version 1
    assert v2.change_note == f"Rule removed: {rule.title}"


def test_renaming(officer, default):
    form = officer.get(f"/followup/templates/{default.id}/edit")
    assert form.status_code == 200
    assert "Levert med systemet" not in form.text  # the old change note is not offered
    response = officer.post(
        f"/followup/templates/{default.id}/edit",
        data={"name": "Kommunens standardmal", "description": "", "note": ""},
    )
    assert response.status_code == 302
    v1, v2 = _versions(default.family)
    assert (v1.name, v2.name) == ("Standard kontraktsoppfølging (DFØ)", "Kommunens standardmal")
    assert not v2.description
    assert v1.description
    assert len(v2.rules) == len(v1.rules)
    assert v2.change_note == "Name and description changed"


def test_plans_keep_the_version_they_were_built_from(officer, default):
    contract = factories.make_contract()
    plan = services.build_plan(contract, default, TODAY, None)
    titles = [a.title for a in plan.activities]
    rule = next(r for r in default.rules if r.kind == "start_up_meeting")
    data = {**RULE, "kind": "start_up_meeting", "title": "Nytt oppstartsmøte", "recurrence": "once"}
    assert (
        officer.post(
            f"/followup/templates/{default.id}/rules/{rule.id}/edit", data=data
        ).status_code
        == 302
    )
    Session.expire_all()
    plan = Session.get(FollowUpPlan, plan.id)
    assert plan.template_id == default.id
    assert plan.template.version == 1
    assert [a.title for a in plan.activities] == titles
    assert 'data-plans="1"' in officer.get(f"/followup/templates/{default.id}").text


def test_old_versions_cannot_be_edited(officer, default):
    officer.post(f"/followup/templates/{default.id}/rules/new", data=RULE)
    v1, v2 = _versions(default.family)
    rule = v1.rules[0]
    attempts = [
        ("get", f"/followup/templates/{v1.id}/rules/new", None),
        ("post", f"/followup/templates/{v1.id}/rules/new", RULE),
        ("get", f"/followup/templates/{v1.id}/rules/{rule.id}/edit", None),
        ("post", f"/followup/templates/{v1.id}/rules/{rule.id}/edit", RULE),
        ("post", f"/followup/templates/{v1.id}/rules/{rule.id}/delete", {}),
        ("get", f"/followup/templates/{v1.id}/edit", None),
        ("post", f"/followup/templates/{v1.id}/edit", {"name": "Gammel"}),
    ]
    for method, url, data in attempts:
        response = getattr(officer, method)(url, data=data)
        assert response.status_code == 302, url
        assert response.location.endswith(f"/followup/templates/{v2.id}"), url
    assert [v.version for v in _versions(default.family)] == [1, 2]
    page = officer.get(f"/followup/templates/{v2.id}").text
    assert "Version 1 is no longer current; changes are made to version 2." in page
    old = officer.get(f"/followup/templates/{v1.id}").text
    assert 'id="old-version"' in old
    assert f"/followup/templates/{v1.id}/rules/new" not in old


def test_a_rule_of_another_template_is_not_found(officer, default):
    other = template_edits.create("Annen mal", None, default, None)
    rule = other.rules[0]
    url = f"/followup/templates/{default.id}/rules/{rule.id}/edit"
    assert officer.get(url).status_code == 404
    assert officer.post(url, data=RULE).status_code == 404


# --- invalid rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"anchor": "end", "recurrence": "yearly"},
            "recurrence",
            "Only rules counted from the contract start can repeat on their own.",
        ),
        (
            {"anchor": "anniversary", "recurrence": "quarterly"},
            "recurrence",
            "This date already comes back by itself",
        ),
        (
            {"offset_days": "1101"},
            "offset_days",
            "The number of days must be between -1100 and 1100",
        ),
        ({"offset_days": "-5000"}, "offset_days", "between -1100 and 1100"),
        ({"offset_days": "abc"}, "offset_days", "Write a whole number of days"),
        ({"offset_days": ""}, "offset_days", "Enter a number of days"),
        (
            {"min_criticality": "3", "max_criticality": "1"},
            "min_criticality",
            "so the rule can never apply",
        ),
        ({"min_value": "-1 000"}, "min_value", "The value limit cannot be negative."),
        ({"min_value": "mye"}, "min_value", "Write an amount in kroner"),
        ({"title": ""}, "title", "Enter a title."),
        ({"title": "x" * 201}, "title", None),
        ({"guidance": "x" * 5001}, "guidance", None),
        ({"kind": "party"}, "kind", None),
        ({"anchor": "moon"}, "anchor", None),
        ({"responsible": "mayor"}, "responsible", None),
        ({"min_criticality": "7"}, "min_criticality", None),
        ({"note": "x" * 201}, "note", None),
    ],
)
def test_invalid_rules_are_refused_with_a_message(officer, default, changes, field, message):
    versions, rules, events = _count(MethodTemplate), _count(TemplateRule), _count(AuditEvent)
    response = officer.post(f"/followup/templates/{default.id}/rules/new", data={**RULE, **changes})
    assert response.status_code == 422
    assert "data-error-summary" in response.text
    assert f'id="{field}-error"' in response.text
    if message:
        assert message in response.text
    assert (_count(MethodTemplate), _count(TemplateRule), _count(AuditEvent)) == (
        versions,
        rules,
        events,
    )
    assert _fresh(default.id).is_current


def test_each_problem_is_reported(officer, default):
    data = {**RULE, "anchor": "end", "offset_days": "2000", "min_criticality": "3"}
    data["max_criticality"] = "2"
    response = officer.post(f"/followup/templates/{default.id}/rules/new", data=data)
    assert response.status_code == 422
    for field in ("recurrence", "offset_days", "min_criticality"):
        assert f'id="{field}-error"' in response.text


# --- who may edit -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "auditor"])
def test_only_editors_change_templates(login_as, default, role):
    client = login_as(role)
    rule = default.rules[0]
    templates, events = _count(MethodTemplate), factories.audit_changes()
    for url, data in [
        ("/followup/templates/new", {"name": "Min mal"}),
        (f"/followup/templates/{default.id}/edit", {"name": "Nytt navn"}),
        (f"/followup/templates/{default.id}/rules/new", RULE),
        (f"/followup/templates/{default.id}/rules/{rule.id}/edit", RULE),
        (f"/followup/templates/{default.id}/rules/{rule.id}/delete", {}),
    ]:
        assert client.post(url, data=data).status_code == 403, url
        if not url.endswith("/delete"):
            assert client.get(url).status_code == 403, url
    assert (_count(MethodTemplate), factories.audit_changes()) == (templates, events)
    assert _fresh(default.id).is_current


def test_plans_built_after_an_edit_use_the_new_version(officer, default):
    officer.post(f"/followup/templates/{default.id}/rules/new", data=RULE)
    current = services.default_template()
    contract = factories.make_contract(start_date=date(2026, 4, 1))
    plan = services.build_plan(contract, current, TODAY, None)
    assert plan.template.version == 2
    assert "Månedlig driftsmøte" in {a.title for a in plan.activities}


def test_a_version_saved_by_someone_else_meanwhile_is_not_overwritten(officer, default):
    # Another editor's version 2 arrived between reading version 1 and saving.
    Session.add(
        MethodTemplate(
            family=default.family, version=2, name="Samtidig", is_current=False, rules=[]
        )
    )
    Session.flush()
    response = officer.post(f"/followup/templates/{default.id}/rules/new", data=RULE)
    assert response.status_code == 302
    assert response.location.endswith(f"/followup/templates/{default.id}")
    assert [v.name for v in _versions(default.family)] == [default.name, "Samtidig"]
    assert (
        "Someone else changed the template at the same time" in officer.get(response.location).text
    )
