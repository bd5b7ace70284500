"""Red flags: each rule with cases that must and must not flag, at threshold boundaries
and across threshold periods; the job keeps flags idempotently; acknowledging is audited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from contracts.audit import services as audit
from contracts.audit.models import AuditEvent
from contracts.auth.models import Role
from contracts.db import Session
from contracts.integrity import declarations, flags
from contracts.integrity.flags import USAGE_SOURCES, RedFlag
from contracts.parties.models import CategoryKind
from contracts.register import services as register
from contracts.register.models import OptionDecision
from contracts.rules.models import Procedure
from jobs import red_flags as job
from tests import factories
from tests.conftest import TODAY

SHARE = Decimal("0.5")


def found(share: Decimal = SHARE) -> dict[str, tuple[str, flags.Finding]]:
    return flags.compute(TODAY, share)


def flagged(rule: str, contract) -> bool:
    return f"{rule}:{contract.id}" in found()


def contract(value: str, signed_on: date, **values):
    """A signed contract of a value, starting a fortnight after signing."""
    start = values.pop("start_date", date.fromordinal(signed_on.toordinal() + 14))
    values.setdefault("end_date", date(start.year + 3, 12, 31))
    return factories.make_contract(
        estimated_value=Decimal(value), signed_on=signed_on, start_date=start, **values
    )


# --- direct award ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "signed_on", "expected"),
    [
        ("1300000.00", date(2025, 5, 1), True),  # at the national threshold
        ("1299999.99", date(2025, 5, 1), False),
        ("1200000.00", date(2018, 1, 10), True),  # 1 100 000 before 2018-04-06
        ("1100000.00", date(2017, 6, 1), True),
        ("1099999.99", date(2017, 6, 1), False),
        ("1200000.00", date(2018, 4, 6), False),  # 1 300 000 from that day
    ],
)
def test_direct_award_at_or_above_the_national_threshold(value, signed_on, expected):
    c = contract(value, signed_on, procedure=Procedure.DIRECT_AWARD)
    assert flagged("direct_award", c) is expected


def test_competed_contract_above_the_threshold_is_not_a_direct_award():
    c = contract("5000000", date(2025, 5, 1), procedure=Procedure.OPEN_PROCEDURE)
    assert not flagged("direct_award", c)


def test_draft_is_not_judged():
    c = factories.make_contract(
        procedure=Procedure.DIRECT_AWARD, estimated_value=Decimal("5000000"), signed_on=None
    )
    assert not flagged("direct_award", c)


# --- splitting ---------------------------------------------------------------------------


def _pair(first: tuple[str, date], second: tuple[str, date], *, same_supplier: bool = True):
    supplier = factories.make_supplier()
    category = factories.make_category(kind=CategoryKind.GOODS)
    a = contract(first[0], first[1], supplier_id=supplier.id, category_id=category.id)
    other = supplier if same_supplier else factories.make_supplier()
    b = contract(second[0], second[1], supplier_id=other.id, category_id=category.id)
    return a, b


def test_two_contracts_below_the_threshold_that_reach_it_together_are_flagged():
    a, b = _pair(("700000", date(2025, 1, 10)), ("600000", date(2025, 6, 10)))
    result = found()
    assert f"splitting:{b.id}" in result
    finding = result[f"splitting:{b.id}"][1]
    assert finding.other_contract_ids == [a.id]
    assert finding.details["threshold_kind"] == "national"
    assert finding.details["total"] == "1300000.00"
    assert f"splitting:{a.id}" not in result


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # Exactly 12 months apart: not within 12 months.
        (("700000", date(2024, 1, 10)), ("700000", date(2025, 1, 10)), False),
        (("700000", date(2024, 1, 11)), ("700000", date(2025, 1, 10)), True),
        # Together just below the threshold.
        (("700000", date(2025, 1, 10)), ("599999.99", date(2025, 3, 10)), False),
        # The same sum in 2017, when the national threshold was 1 100 000.
        (("600000", date(2017, 3, 1)), ("600000", date(2017, 9, 1)), True),
        (("600000", date(2019, 3, 1)), ("600000", date(2019, 9, 1)), False),
        # One of them at the threshold already: competed, not split.
        (("1300000", date(2025, 1, 10)), ("200000", date(2025, 3, 10)), False),
    ],
)
def test_splitting_boundaries(first, second, expected):
    _a, b = _pair(first, second)
    assert flagged("splitting", b) is expected


def test_different_suppliers_are_not_splitting():
    _a, b = _pair(("700000", date(2025, 1, 10)), ("700000", date(2025, 3, 10)), same_supplier=False)
    assert not flagged("splitting", b)


def test_splitting_below_the_eea_threshold():
    # Each above the national threshold but below the EEA one (2 300 000 from 2024-03-14).
    _a, b = _pair(("1500000", date(2025, 1, 10)), ("800000", date(2025, 3, 10)))
    result = found()
    assert result[f"splitting:{b.id}"][1].details["threshold_kind"] == "eea"


# --- amendments --------------------------------------------------------------------------


def _amended(kind: CategoryKind, value: str, change: str, signed_on=date(2025, 1, 10)):
    category = factories.make_category(kind=kind)
    c = contract(value, signed_on, category_id=category.id)
    user = factories.make_user()
    register.add_amendment(c, date(2025, 6, 1), "Utvidet omfang", Decimal(change), user)
    Session.flush()
    return c


@pytest.mark.parametrize(
    ("kind", "change", "expected"),
    [
        (CategoryKind.GOODS, "100000.00", False),  # exactly 10 %
        (CategoryKind.GOODS, "100000.01", True),
        (CategoryKind.SERVICES, "100000.01", True),
        (CategoryKind.WORKS, "150000.00", False),  # exactly 15 %
        (CategoryKind.WORKS, "150000.01", True),
        (CategoryKind.GOODS, "-300000", False),
    ],
)
def test_amendment_share_limits(kind, change, expected):
    c = _amended(kind, "1000000", change)
    assert flagged("amendment", c) is expected


def test_amendments_are_netted():
    c = _amended(CategoryKind.GOODS, "1000000", "150000")
    register.add_amendment(
        c, date(2025, 7, 1), "Redusert omfang", Decimal("-60000"), factories.make_user()
    )
    assert not flagged("amendment", c)


def test_amendment_pushing_the_total_over_the_eea_threshold():
    # 2 200 000 + 100 000 (4.5 %) reaches the EEA threshold of 2 300 000 (from 2024-03-14).
    c = _amended(CategoryKind.SERVICES, "2200000", "100000")
    result = found()
    assert result[f"amendment:{c.id}"][1].details["reasons"] == ["eea"]
    below = _amended(CategoryKind.SERVICES, "2200000", "99999.99")
    assert not flagged("amendment", below)


# --- framework agreements ----------------------------------------------------------------


def _framework(end: date | None, **values):
    return contract(
        "3000000",
        date(2023, 12, 1),
        start_date=date(2024, 1, 1),
        end_date=end,
        is_framework=True,
        **values,
    )


def test_four_years_exactly_is_allowed():
    assert not flagged("framework", _framework(date(2027, 12, 31)))


def test_an_option_beyond_four_years_flags_and_declining_it_clears():
    c = _framework(date(2027, 12, 31))
    option = register.add_option(c, 12, date(2027, 6, 1))
    assert flagged("framework", c)
    register.decide_option(option, OptionDecision.DECLINED, date(2026, 3, 1), factories.make_user())
    assert not flagged("framework", c)


def test_open_ended_framework_is_flagged_but_not_an_ordinary_contract():
    assert flagged("framework", _framework(None))
    ordinary = contract(
        "3000000", date(2019, 12, 1), start_date=date(2020, 1, 1), end_date=date(2030, 1, 1)
    )
    assert not flagged("framework", ordinary)


# --- used after expiry -------------------------------------------------------------------


def _ended():
    return contract(
        "500000", date(2022, 12, 1), start_date=date(2023, 1, 1), end_date=date(2025, 6, 30)
    )


def test_amendment_on_the_last_day_is_fine_but_not_after():
    c = _ended()
    user = factories.make_user()
    register.add_amendment(c, date(2025, 6, 30), "Siste dag", None, user)
    assert not flagged("used_after_expiry", c)
    register.add_amendment(c, date(2025, 7, 1), "Etter slutt", None, user)
    result = found()
    assert result[f"used_after_expiry:{c.id}"][1].details["evidence"] == {"amendment": "2025-07-01"}


def test_follow_up_adds_its_evidence_through_the_registry():
    assert {"activity", "gain_entry"} <= set(USAGE_SOURCES)


def test_gain_entries_after_expiry_are_evidence():
    from tests import gain_factories

    c = _ended()
    owner = factories.make_user(Role.OWNER)
    plan = gain_factories.make_gain_plan(c, owner)
    gain_factories.make_entry(plan, owner)  # January 2026, after the end
    result = found()
    assert result[f"used_after_expiry:{c.id}"][1].details["evidence"] == {
        "gain_entry": "2026-01-01"
    }


def test_option_keeps_the_contract_alive():
    c = _ended()
    register.add_option(c, 12, date(2025, 3, 1))  # pending: the latest end is 2026-06-30
    register.add_amendment(c, date(2025, 7, 1), "Etter slutt", None, factories.make_user())
    assert not flagged("used_after_expiry", c)


# --- missing declarations ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "signed_on", "expected"),
    [
        ("1300000.00", date(2025, 5, 1), True),
        ("1299999.99", date(2025, 5, 1), False),
        ("1100000.00", date(2018, 4, 5), True),  # 1 100 000 until 2018-04-05
        ("1100000.00", date(2018, 4, 6), False),
    ],
)
def test_missing_declarations_at_the_threshold(value, signed_on, expected):
    owner = factories.make_user(Role.OWNER)
    c = contract(value, signed_on, owner_id=owner.id, end_date=date(2027, 12, 31))
    assert flagged("missing_declarations", c) is expected


def test_declarations_complete_the_contract_and_a_renewal_request_opens_it_again():
    owner = factories.make_user(Role.OWNER)
    manager = factories.make_user(Role.OWNER)
    c = contract("2000000", date(2025, 5, 1), owner_id=owner.id, manager_id=manager.id)
    declarations.declare(c, owner, TODAY)
    result = found()
    assert result[f"missing_declarations:{c.id}"][1].details["missing_user_ids"] == [manager.id]
    second = declarations.declare(c, manager, TODAY, "Kjenner leverandøren", "Trådte til side")
    assert not flagged("missing_declarations", c)  # a declared conflict is declared
    declarations.review(second, factories.make_user(), False, "Utdyp tiltakene")
    assert flagged("missing_declarations", c)


def test_nobody_named_is_missing_and_ended_contracts_are_not_judged():
    c = contract("2000000", date(2025, 5, 1))
    assert found()[f"missing_declarations:{c.id}"][1].details["nobody_named"] is True
    ended = contract("2000000", date(2020, 5, 1), end_date=date(2024, 12, 31))
    assert not flagged("missing_declarations", ended)


# --- four eyes ---------------------------------------------------------------------------


def _registered_by(user, **values):
    with audit.acting_as(user.id, user.email, None):
        return contract("900000", date(2025, 5, 1), **values)


def test_owner_who_registered_and_changed_the_value_is_flagged():
    owner = factories.make_user(Role.PROCUREMENT)
    c = _registered_by(owner, owner_id=owner.id)
    assert not flagged("four_eyes", c)
    with audit.acting_as(owner.id, owner.email, None):
        register.update_contract(c, {"estimated_value": Decimal("1000000.00")}, c.version)
    assert flagged("four_eyes", c)


def test_value_changed_by_someone_else_is_fine():
    owner = factories.make_user(Role.PROCUREMENT)
    other = factories.make_user(Role.PROCUREMENT)
    c = _registered_by(owner, owner_id=owner.id)
    with audit.acting_as(other.id, other.email, None):
        register.update_contract(c, {"estimated_value": Decimal("1000000.00")}, c.version)
    with audit.acting_as(owner.id, owner.email, None):
        register.update_contract(c, {"title": "Nytt navn"}, c.version)
    assert not flagged("four_eyes", c)


def test_amendment_with_a_value_by_the_registering_owner_counts():
    owner = factories.make_user(Role.PROCUREMENT)
    c = _registered_by(owner, owner_id=owner.id)
    with audit.acting_as(owner.id, owner.email, None):
        register.add_amendment(c, date(2025, 9, 1), "Mer", Decimal("1000"), owner)
    assert flagged("four_eyes", c)


# --- supplier share ----------------------------------------------------------------------


def _category_with(*values: str):
    category = factories.make_category()
    suppliers = [factories.make_supplier() for _ in values]
    for supplier, value in zip(suppliers, values, strict=True):
        contract(value, date(2025, 5, 1), supplier_id=supplier.id, category_id=category.id)
    return category, suppliers


def test_supplier_over_half_of_a_category_is_flagged():
    category, (big, small) = _category_with("600000", "400000")
    result = found()
    assert f"supplier_share:{category.id}:{big.id}" in result
    assert f"supplier_share:{category.id}:{small.id}" not in result
    assert result[f"supplier_share:{category.id}:{big.id}"][1].details["share"] == "0.6000"
    assert f"supplier_share:{category.id}:{big.id}" not in found(Decimal("0.7"))


def test_exactly_half_and_single_contract_categories_are_not_flagged():
    half, (a, _b) = _category_with("500000", "500000")
    alone, (only,) = _category_with("900000")
    result = found()
    assert f"supplier_share:{half.id}:{a.id}" not in result
    assert f"supplier_share:{alone.id}:{only.id}" not in result


def test_the_share_comes_from_the_configuration(app, monkeypatch):
    category, (big, _small) = _category_with("700000", "300000")
    monkeypatch.setitem(app.config, "RED_FLAG_SUPPLIER_SHARE", 0.75)
    flags.recompute(TODAY)
    assert not Session.scalar(
        select(RedFlag).where(RedFlag.key == f"supplier_share:{category.id}:{big.id}")
    )


# --- wage conditions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "signed_on", "clause", "expected"),
    [
        (CategoryKind.SERVICES, "2300000.00", date(2025, 5, 1), False, True),
        (CategoryKind.SERVICES, "2299999.99", date(2025, 5, 1), False, False),
        (CategoryKind.SERVICES, "2300000.00", date(2025, 5, 1), True, False),
        (CategoryKind.GOODS, "9000000.00", date(2025, 5, 1), False, False),
        (CategoryKind.WORKS, "57800000.00", date(2025, 5, 1), False, True),
        (CategoryKind.WORKS, "57799999.99", date(2025, 5, 1), False, False),
        (CategoryKind.SERVICES, "2000000.00", date(2019, 5, 1), False, True),  # 2 000 000 then
        (CategoryKind.SERVICES, "1750000.00", date(2017, 6, 1), False, True),  # 1 750 000 then
        (CategoryKind.SERVICES, "1750000.00", date(2018, 4, 6), False, False),
    ],
)
def test_wage_clause(kind, value, signed_on, clause, expected):
    category = factories.make_category(kind=kind)
    c = contract(value, signed_on, category_id=category.id, has_wage_conditions=clause)
    assert flagged("wage_conditions", c) is expected


# --- the job and the kept flags ----------------------------------------------------------


def _events() -> int:
    return Session.scalar(select(func.count()).select_from(AuditEvent))


def _flags() -> list[tuple]:
    return sorted(
        Session.execute(
            select(RedFlag.key, RedFlag.first_seen_on, RedFlag.last_seen_on, RedFlag.resolved_on)
        ).all()
    )


def test_the_job_is_idempotent_and_resolves_a_fixed_contract():
    c = contract("2000000", date(2025, 5, 1), procedure=Procedure.DIRECT_AWARD)
    first = job.run(TODAY)
    assert first["new"] >= 1
    kept, events = _flags(), _events()
    second = job.run(TODAY)
    assert second["new"] == second["resolved"] == second["reopened"] == 0
    assert _flags() == kept
    assert _events() == events  # nothing changed, nothing audited

    register.update_contract(c, {"procedure": Procedure.OPEN_PROCEDURE}, c.version)
    later = date(2026, 3, 3)
    assert job.run(later)["resolved"] == 1
    flag = Session.scalar(select(RedFlag).where(RedFlag.key == f"direct_award:{c.id}"))
    assert flag.resolved_on == later
    assert flag.first_seen_on == TODAY

    # It comes back: the same row opens again.
    register.update_contract(c, {"procedure": Procedure.DIRECT_AWARD}, c.version)
    assert job.run(date(2026, 3, 4))["reopened"] == 1
    Session.refresh(flag)
    assert flag.resolved_on is None
    assert (
        Session.scalar(
            select(func.count()).select_from(RedFlag).where(RedFlag.key == f"direct_award:{c.id}")
        )
        == 1
    )


def test_the_job_is_registered_for_the_night():
    from jobs.registry import JOBS

    assert JOBS["red-flags"].target == "jobs.red_flags:run"
    assert dict(JOBS["red-flags"].trigger_args) == {"hour": 3, "minute": 0}


# --- pages -------------------------------------------------------------------------------


@pytest.fixture
def direct_award_flag():
    c = contract("2000000", date(2025, 5, 1), procedure=Procedure.DIRECT_AWARD)
    flags.recompute(TODAY)
    return Session.scalar(select(RedFlag).where(RedFlag.key == f"direct_award:{c.id}"))


def test_auditor_acknowledges_a_flag_with_a_comment(login_as, direct_award_flag, db):
    auditor = login_as("auditor")
    before = _events()
    response = auditor.post(
        f"/integrity/flags/{direct_award_flag.id}/acknowledge", data={"comment": "Hjemmel: §13-3"}
    )
    assert response.status_code == 302
    db.expire_all()
    flag = db.get(RedFlag, direct_award_flag.id)
    assert flag.acknowledgement == "Hjemmel: §13-3"
    assert flag.acknowledged_by_id == auditor.user.id
    event = db.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert _events() == before + 1
    assert (event.action, event.entity_type, event.actor_id) == (
        "acknowledge",
        "red_flags",
        auditor.user.id,
    )
    assert event.contract_id == flag.contract_id
    assert event.after["acknowledgement"] == "Hjemmel: §13-3"


def test_acknowledging_needs_a_comment(login_as, direct_award_flag, db):
    auditor = login_as("auditor")
    before = _events()
    response = auditor.post(
        f"/integrity/flags/{direct_award_flag.id}/acknowledge", data={"comment": " "}
    )
    assert response.status_code == 422
    assert _events() == before
    db.expire_all()
    assert db.get(RedFlag, direct_award_flag.id).acknowledged_at is None


def test_auditors_may_not_recompute(login_as):
    assert login_as("auditor").post("/integrity/flags/recompute").status_code == 403


def test_officer_recomputes_on_demand(login_as, db):
    c = contract("2000000", date(2025, 5, 1), procedure=Procedure.DIRECT_AWARD)
    response = login_as("procurement").post("/integrity/flags/recompute")
    assert response.status_code == 302
    assert db.scalar(select(RedFlag).where(RedFlag.key == f"direct_award:{c.id}"))


def test_the_list_filters_by_rule_unit_supplier_and_date(login_as, direct_award_flag):
    auditor = login_as("auditor")
    c = direct_award_flag.contract
    marker = f'data-flag="{direct_award_flag.id}"'
    assert marker in auditor.get("/integrity/flags").text
    assert marker in auditor.get("/integrity/flags?rule=direct_award").text
    assert marker not in auditor.get("/integrity/flags?rule=splitting").text
    assert marker in auditor.get(f"/integrity/flags?unit={c.unit_id}").text
    assert marker not in auditor.get(f"/integrity/flags?unit={factories.make_unit().id}").text
    assert marker in auditor.get(f"/integrity/flags?supplier={c.supplier_id}").text
    assert (
        marker not in auditor.get(f"/integrity/flags?supplier={factories.make_supplier().id}").text
    )
    assert marker in auditor.get("/integrity/flags?from=2026-03-01&to=2026-03-02").text
    assert marker not in auditor.get("/integrity/flags?to=2026-03-01").text
    assert marker not in auditor.get("/integrity/flags?state=resolved").text


def test_the_contract_page_lists_its_open_flags(login_as, direct_award_flag):
    page = login_as("auditor").get(f"/contracts/{direct_award_flag.contract_id}").text
    assert 'id="flags-panel"' in page
    assert f'data-flag="{direct_award_flag.id}"' in page
    # Owners do not see the panel.
    assert (
        'id="flags-panel"'
        not in login_as("owner").get(f"/contracts/{direct_award_flag.contract_id}").text
    )


def test_exports_are_formula_escaped_and_audited(login_as, direct_award_flag, db):
    from io import BytesIO

    from openpyxl import load_workbook

    direct_award_flag.acknowledgement = '=HYPERLINK("http://x")'
    db.flush()
    auditor = login_as("auditor")
    before = _events()
    csv = auditor.get("/integrity/flags.csv?rule=direct_award")
    assert csv.status_code == 200
    text = csv.get_data(as_text=True)
    assert "'=HYPERLINK" in text
    assert direct_award_flag.contract.reference in text
    xlsx = auditor.get("/integrity/flags.xlsx?rule=direct_award")
    sheet = load_workbook(BytesIO(xlsx.data)).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert '\'=HYPERLINK("http://x")' in values
    assert _events() == before + 2
