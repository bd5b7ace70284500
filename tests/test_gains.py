"""Gain plans and entries: the checks on bad input, who may record and confirm, the audit
trail, the pages, and the period and estimate computation for each method."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from contracts.audit.models import AuditEvent
from contracts.auth.models import Role
from contracts.db import Session
from followup.gains import compute, services
from followup.gains.models import (
    EntrySource,
    EntryStatus,
    GainEntry,
    GainMethod,
    GainPlan,
    GainType,
    PeriodKind,
)
from tests import factories
from tests.conftest import TODAY
from tests.gain_factories import make_entry, make_gain_plan, plan_values, qualitative_values


@pytest.fixture
def owner():
    return factories.make_user(Role.OWNER, name="Ola Avtaleeier")


@pytest.fixture
def manager():
    return factories.make_user(Role.OWNER, name="Mia Forvalter")


@pytest.fixture
def contract(owner, manager):
    # Estimated 1 500 000: amounts above 150 000 000 are implausible.
    return factories.make_contract(owner_id=owner.id, manager_id=manager.id)


@pytest.fixture
def officer():
    return factories.make_user(Role.PROCUREMENT)


def _refused(call, *args, **kwargs) -> set[str]:
    """The fields a GainError names."""
    with pytest.raises(services.GainError) as refused:
        call(*args, **kwargs)
    return set(refused.value.errors)


# --- plans: bad input ----------------------------------------------------------------------


def test_a_valid_price_difference_plan_is_saved_and_audited(contract, officer, db):
    plan = make_gain_plan(contract, officer)
    assert plan.id and plan.created_by_id == officer.id
    assert compute.yearly_gain(plan) == Decimal("240000")
    event = db.scalar(select(AuditEvent).where(AuditEvent.entity_type == "gain_plans"))
    assert (event.action, event.entity_id, event.contract_id) == ("create", plan.id, contract.id)
    assert event.after["annual_volume"] == "12000.00"


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"period_end": date(2025, 12, 31)}, {"period_end"}),
        ({"period_end": date(2046, 1, 1)}, {"period_end"}),  # more than 20 years
        ({"description": "  "}, {"description"}),
        ({"baseline_unit_price": None}, {"baseline_unit_price"}),
        (
            {"baseline_unit_price": None, "contract_unit_price": None, "annual_volume": None},
            {"baseline_unit_price", "contract_unit_price", "annual_volume"},
        ),
        ({"target_per_year": Decimal("100.125")}, {"target_per_year"}),
        ({"baseline_unit_price": Decimal("1.12345")}, {"baseline_unit_price"}),
        ({"annual_volume": Decimal("-5")}, {"annual_volume"}),
        ({"baseline_value": Decimal("1000000000000")}, {"baseline_value"}),
        # More than 100 x the contract's estimated value (1 500 000).
        ({"target_per_year": Decimal("150000000.01")}, {"target_per_year"}),
        ({"annual_volume": Decimal("10000000")}, {"annual_volume"}),  # 200 000 000 a year
        ({"method": GainMethod.PRO_RATA, "target_per_year": None}, {"target_per_year"}),
        (
            {"method": GainMethod.HOURS, "hours_per_year": Decimal("500")},
            {"hourly_rate"},
        ),
    ],
)
def test_plan_checks(contract, officer, overrides, fields):
    assert _refused(make_gain_plan, contract, officer, **overrides) == fields


def test_four_decimals_in_unit_prices_and_trailing_zeros_are_fine(contract, officer):
    plan = make_gain_plan(
        contract,
        officer,
        baseline_unit_price=Decimal("12.3456"),
        target_per_year=Decimal("100.500"),
    )
    assert plan.baseline_unit_price == Decimal("12.3456")


def test_qualitative_plans_need_a_unit_and_a_method_of_their_own(contract, officer):
    assert _refused(make_gain_plan, contract, officer, **qualitative_values(unit=None)) == {"unit"}
    wrong = qualitative_values(method=GainMethod.PRICE_DIFFERENCE)
    assert "method" in _refused(make_gain_plan, contract, officer, **wrong)
    plan = make_gain_plan(contract, officer, **qualitative_values())
    assert plan.unit == "tonn CO₂" and not plan.is_economic


def test_a_contract_without_an_estimated_value_only_has_the_column_limit(officer):
    contract = factories.make_contract(estimated_value=None)
    plan = make_gain_plan(contract, officer, target_per_year=Decimal("999999999999.99"))
    assert plan.target_per_year == Decimal("999999999999.99")
    assert "target_per_year" in _refused(
        make_gain_plan, contract, officer, target_per_year=Decimal("1000000000000")
    )


def test_a_loss_making_price_difference_is_allowed(contract, officer):
    plan = make_gain_plan(contract, officer, contract_unit_price=Decimal("130"))
    assert compute.yearly_gain(plan) == Decimal("-120000")


def test_a_plan_with_entries_keeps_its_entry_period_and_holds_its_entries(contract, officer, owner):
    plan = make_gain_plan(contract, officer)
    make_entry(plan, owner, period_start=date(2026, 2, 1), period_end=date(2026, 2, 28))
    values = plan_values(entry_period=PeriodKind.QUARTER)
    assert _refused(services.update_plan, plan, values, officer) == {"entry_period"}
    values = plan_values(period_start=date(2026, 3, 1))
    assert _refused(services.update_plan, plan, values, officer) == {"period_start"}
    # Starting mid-February would leave the February entry as no whole period of the plan.
    values = plan_values(period_start=date(2026, 2, 10))
    assert _refused(services.update_plan, plan, values, officer) == {"period_start"}
    services.update_plan(plan, plan_values(period_end=date(2027, 6, 30)), officer)
    assert plan.period_end == date(2027, 6, 30)


def test_changing_the_numbers_recomputes_the_jobs_unconfirmed_estimates(
    contract, officer, owner, db
):
    from jobs import gains as gains_job

    plan = make_gain_plan(contract, officer)
    gains_job.estimate_entries(TODAY)  # January and February 2026
    january, february = sorted(plan.entries, key=lambda e: e.period_start)
    services.confirm_entry(january, owner)
    services.update_plan(plan, plan_values(contract_unit_price=Decimal("110")), officer)
    db.refresh(january)
    db.refresh(february)
    assert january.value == Decimal("20383.56")  # confirmed: kept (240 000 x 31/365)
    assert february.value == Decimal("9205.48")  # 120 000 x 28/365
    actions = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.entity_type == "gain_entries", AuditEvent.entity_id == february.id
        )
    ).all()
    assert "gain_reestimated" in actions


# --- entries: bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"period_start": date(2026, 2, 1), "period_end": date(2026, 1, 31)}, {"period_end"}),
        ({"period_start": date(2025, 12, 1), "period_end": date(2025, 12, 31)}, {"period_start"}),
        ({"period_start": date(2026, 1, 1), "period_end": date(2026, 1, 15)}, {"period_start"}),
        ({"period_start": date(2026, 1, 10), "period_end": date(2026, 2, 9)}, {"period_start"}),
        ({"period_start": date(2026, 4, 1), "period_end": date(2026, 4, 30)}, {"period_start"}),
        ({"value": None}, {"value"}),
        ({"value": Decimal("10.005")}, {"value"}),
        ({"value": Decimal("150000000.01")}, {"value"}),
        ({"value": Decimal("-1000000000000")}, {"value"}),
    ],
)
def test_entry_checks(contract, officer, owner, overrides, fields):
    plan = make_gain_plan(contract, officer)
    assert _refused(make_entry, plan, owner, **overrides) == fields


def test_periods_are_whole_and_clipped_to_the_plan_so_they_never_overlap(contract, officer, owner):
    plan = make_gain_plan(
        contract,
        officer,
        period_start=date(2025, 11, 15),
        entry_period=PeriodKind.QUARTER,
    )
    first = make_entry(plan, owner, period_start=date(2025, 11, 15), period_end=date(2025, 12, 31))
    assert first.period_kind == PeriodKind.QUARTER
    # A whole quarter that starts before the plan lies partly outside it.
    fields = _refused(
        make_entry, plan, owner, period_start=date(2025, 10, 1), period_end=date(2025, 12, 31)
    )
    assert fields == {"period_start"}
    # The same period twice: the second is refused with a clear message …
    fields = _refused(
        make_entry, plan, owner, period_start=date(2025, 11, 15), period_end=date(2025, 12, 31)
    )
    assert fields == {"period_start"}
    # … and the database refuses it too (the unique key), should two people race.
    with pytest.raises(IntegrityError), Session.begin_nested():
        Session.add(
            GainEntry(
                plan_id=plan.id,
                period_kind=PeriodKind.QUARTER,
                period_start=date(2025, 11, 15),
                period_end=date(2025, 12, 31),
                value=Decimal(1),
            )
        )
        Session.flush()


def test_a_loss_is_stored_negative_and_shown_as_a_loss(app, contract, officer, owner, login_as):
    plan = make_gain_plan(contract, officer)
    entry = make_entry(plan, owner, value=Decimal("-12500.50"))
    assert entry.value == Decimal("-12500.50") and entry.source == EntrySource.MANUAL
    page = login_as("auditor").get(f"/contracts/{contract.id}/gains")
    assert page.status_code == 200
    assert f'id="entry-{entry.id}"' in page.text
    assert 'data-value="-12500.50" data-loss' in page.text


def test_qualitative_entries_take_a_quantity_in_the_plans_unit(contract, officer, owner):
    plan = make_gain_plan(contract, officer, **qualitative_values())
    quarter = {"period_start": date(2026, 1, 1), "period_end": date(2026, 3, 31)}
    assert _refused(make_entry, plan, owner, **quarter, value=None) == {"quantity"}
    entry = make_entry(plan, owner, **quarter, value=None, quantity=Decimal("-1.5"))
    assert (entry.quantity, entry.unit) == (Decimal("-1.5"), "tonn CO₂")


def test_a_confirmed_entry_is_only_changed_with_a_reason(contract, officer, owner, manager, db):
    plan = make_gain_plan(contract, officer)
    entry = make_entry(plan, owner, confirm=True)
    assert entry.status == EntryStatus.CONFIRMED and entry.confirmed_by_id == owner.id
    changed = {"value": Decimal("21000")}
    assert _refused(services.update_entry, entry, changed, owner, TODAY) == {"correction_reason"}
    # Notes alone are a change as well.
    assert _refused(services.update_entry, entry, {"notes": "x"}, owner, TODAY) == {
        "correction_reason"
    }
    # The owner corrects it: still confirmed, with the reason.
    services.update_entry(entry, changed | {"correction_reason": "Kreditnota"}, owner, TODAY)
    assert (entry.value, entry.status, entry.correction_reason) == (
        Decimal("21000"),
        EntryStatus.CONFIRMED,
        "Kreditnota",
    )
    # The manager may correct too, but the owner must confirm again.
    services.update_entry(
        entry, {"value": Decimal("22000"), "correction_reason": "Ny faktura"}, manager, TODAY
    )
    assert (entry.status, entry.confirmed_by_id, entry.confirmed_at) == (
        EntryStatus.ESTIMATED,
        None,
        None,
    )
    # Saving without changes needs no reason.
    services.confirm_entry(entry, owner)
    assert services.update_entry(entry, {"value": Decimal("22000")}, owner, TODAY) is False
    actions = db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.entity_type == "gain_entries", AuditEvent.entity_id == entry.id)
        .order_by(AuditEvent.seq)
    ).all()
    assert actions == ["create", "gain_corrected", "gain_corrected", "gain_confirmed"]


def test_confirming_with_a_correction_needs_the_reason(contract, officer, owner, db):
    plan = make_gain_plan(contract, officer)
    entry = make_entry(plan, officer)
    fields = _refused(services.confirm_entry, entry, owner, corrected=Decimal("19000"))
    assert fields == {"correction_reason"}
    assert _refused(
        services.confirm_entry, entry, owner, corrected=Decimal("1.001"), reason="x"
    ) == {"value"}
    assert services.confirm_entry(entry, owner, corrected=Decimal("19000"), reason="Lavere volum")
    assert (entry.value, entry.status, entry.confirmed_by_id) == (
        Decimal("19000"),
        EntryStatus.CONFIRMED,
        owner.id,
    )
    event = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "gain_corrected").order_by(AuditEvent.seq)
    )
    assert event.contract_id == contract.id
    assert (event.before["value"], event.after["value"]) == ("20000.00", "19000.00")
    # Confirming it again as it stands changes nothing.
    assert services.confirm_entry(entry, owner) is False


# --- who may do what --------------------------------------------------------------------------


def test_who_may_record_and_confirm(contract, owner, manager, officer):
    auditor = factories.make_user(Role.AUDITOR)
    admin = factories.make_user(Role.ADMIN)
    stranger = factories.make_user(Role.OWNER)
    responsible = factories.make_user(Role.OWNER)
    plan = make_gain_plan(contract, officer, responsible_id=responsible.id)
    may = {
        user.name: (
            services.may_record(contract, user),
            services.may_record_entries(plan, user),
            services.may_confirm(contract, user),
            services.may_delete_plans(user),
        )
        for user in (owner, manager, officer, admin, auditor, stranger, responsible)
    }
    assert may == {
        owner.name: (True, True, True, False),
        manager.name: (True, True, False, False),
        officer.name: (True, True, True, True),
        admin.name: (True, True, True, True),
        auditor.name: (False, False, False, False),
        stranger.name: (False, False, False, False),
        responsible.name: (False, True, False, False),
    }
    named_auditor = factories.make_user(Role.AUDITOR)
    their_contract = factories.make_contract(owner_id=named_auditor.id)
    assert not services.may_record(their_contract, named_auditor)
    assert not services.may_confirm(their_contract, named_auditor)
    entry = make_entry(plan, manager)
    with pytest.raises(services.NotAllowed):
        services.confirm_entry(entry, manager)
    with pytest.raises(services.NotAllowed):
        make_entry(plan, manager, period_start=date(2026, 2, 1), period_end=date(2026, 2, 28),
                   confirm=True)  # fmt: skip


def _plan_form(**overrides) -> dict[str, str]:
    form = {
        "gain_type": "lower_price",
        "description": "Lavere pris på kopipapir",
        "baseline_value": "1 440 000",
        "target_per_year": "240 000",
        "method": "price_difference",
        "baseline_unit_price": "120,50",
        "contract_unit_price": "100",
        "annual_volume": "12 000",
        "entry_period": "month",
        "period_start": "2026-01-01",
        "period_end": "31.12.2026",
    }
    form.update(overrides)
    return form


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 302), ("manager", 302), ("officer", 302), ("stranger", 403), ("auditor", 403)],
)
def test_recording_a_plan_through_the_form(app, contract, owner, manager, officer, who, status):
    users = {"owner": owner, "manager": manager, "officer": officer}
    if who in users:
        client = app.test_client()
        factories.log_in(client, users[who])
    else:
        client = app.test_client()
        factories.log_in(
            client, factories.make_user(Role.AUDITOR if who == "auditor" else Role.OWNER)
        )
    response = client.post(f"/contracts/{contract.id}/gains/new", data=_plan_form())
    assert response.status_code == status
    plans = Session.scalars(select(GainPlan).where(GainPlan.contract_id == contract.id)).all()
    assert len(plans) == (1 if status == 302 else 0)
    if plans:
        assert plans[0].baseline_unit_price == Decimal("120.5")
        assert response.location.endswith(f"/contracts/{contract.id}/gains#plan-{plans[0].id}")


def test_the_plan_form_shows_the_services_messages_on_the_fields(app, contract, owner):
    client = app.test_client()
    factories.log_in(client, owner)
    response = client.post(
        f"/contracts/{contract.id}/gains/new",
        data=_plan_form(annual_volume="", target_per_year="100,123", period_end="2025-01-01"),
    )
    assert response.status_code == 422
    for field in ("annual_volume", "target_per_year", "period_end"):
        assert f'id="{field}-error"' in response.text
    bad = client.post(f"/contracts/{contract.id}/gains/new", data=_plan_form(annual_volume="mye"))
    assert bad.status_code == 422 and 'id="annual_volume-error"' in bad.text
    assert Session.scalar(select(func.count()).select_from(GainPlan)) == 0


def test_editing_a_plan_through_the_form(app, contract, owner, officer):
    plan = make_gain_plan(contract, officer)
    client = app.test_client()
    factories.log_in(client, owner)
    page = client.get(f"/gains/plans/{plan.id}/edit")
    assert page.status_code == 200 and 'value="12\u00a0000"' in page.text
    response = client.post(
        f"/gains/plans/{plan.id}/edit", data=_plan_form(description="Papir og toner")
    )
    assert response.status_code == 302
    Session.refresh(plan)
    assert plan.description == "Papir og toner"


def test_only_editors_delete_a_plan(app, contract, owner, officer, db):
    plan = make_gain_plan(contract, officer)
    make_entry(plan, owner, confirm=True)
    client = app.test_client()
    factories.log_in(client, owner)
    assert client.post(f"/gains/plans/{plan.id}/delete").status_code == 403
    factories.log_in(client, officer)
    assert client.post(f"/gains/plans/{plan.id}/delete").status_code == 302
    assert db.scalar(select(func.count()).select_from(GainEntry)) == 0
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "delete"))
    assert event.entity_type == "gain_plans" and len(event.before["entries"]) == 1


def test_recording_and_editing_an_entry_through_the_form(app, contract, owner, manager, officer):
    plan = make_gain_plan(contract, officer)
    client = app.test_client()
    factories.log_in(client, manager)
    page = client.get(f"/gains/plans/{plan.id}/entries/new")
    assert page.status_code == 200
    assert 'value="2026-01-01"' in page.text and 'value="2026-01-31"' in page.text
    assert 'name="confirm"' not in page.text  # the manager cannot confirm
    response = client.post(
        f"/gains/plans/{plan.id}/entries/new",
        data={"period_start": "2026-01-01", "period_end": "2026-01-31", "value": "-1 250,50",
              "confirm": "y"},
    )  # fmt: skip
    assert response.status_code == 302
    entry = Session.scalar(select(GainEntry).where(GainEntry.plan_id == plan.id))
    assert (entry.value, entry.status) == (Decimal("-1250.50"), EntryStatus.ESTIMATED)
    again = client.post(
        f"/gains/plans/{plan.id}/entries/new",
        data={"period_start": "2026-01-01", "period_end": "2026-01-31", "value": "5"},
    )
    assert again.status_code == 422 and 'id="period_start-error"' in again.text

    factories.log_in(client, owner)
    response = client.post(
        f"/gains/entries/{entry.id}/edit",
        data={"period_start": "2026-01-01", "period_end": "2026-01-31", "value": "1 250,50",
              "confirm": "y"},
    )  # fmt: skip
    assert response.status_code == 302
    Session.refresh(entry)
    assert (entry.value, entry.status, entry.confirmed_by_id) == (
        Decimal("1250.50"),
        EntryStatus.CONFIRMED,
        owner.id,
    )
    refused = client.post(
        f"/gains/entries/{entry.id}/edit",
        data={"period_start": "2026-01-01", "period_end": "2026-01-31", "value": "1 300"},
    )
    assert refused.status_code == 422 and 'id="correction_reason-error"' in refused.text


# --- confirming from the e-mail link ----------------------------------------------------------


def test_the_owner_confirms_in_one_click(app, contract, owner, officer, db):
    plan = make_gain_plan(contract, officer)
    entry = make_entry(plan, officer)
    client = app.test_client()
    path = f"/gains/entries/{entry.id}/confirm"
    # Not logged in: to the login page, which brings the owner back here.
    response = client.get(path)
    assert response.status_code == 302 and "/login?next=" in response.location
    factories.log_in(client, owner)
    page = client.get(path)
    assert page.status_code == 200
    assert 'id="confirm-button"' in page.text and 'id="correct-form"' in page.text
    assert client.post(path).status_code == 302
    db.refresh(entry)
    assert (entry.status, entry.confirmed_by_id) == (EntryStatus.CONFIRMED, owner.id)


def test_the_owner_corrects_and_confirms(app, contract, owner, officer):
    plan = make_gain_plan(contract, officer)
    entry = make_entry(plan, officer)
    client = app.test_client()
    factories.log_in(client, owner)
    refused = client.post(f"/gains/entries/{entry.id}/correct", data={"value": "18 000"})
    assert refused.status_code == 422 and 'id="correction_reason-error"' in refused.text
    response = client.post(
        f"/gains/entries/{entry.id}/correct",
        data={"value": "-18 000", "correction_reason": "Prisøkning i mars"},
    )
    assert response.status_code == 302
    Session.refresh(entry)
    assert (entry.value, entry.status, entry.correction_reason) == (
        Decimal("-18000"),
        EntryStatus.CONFIRMED,
        "Prisøkning i mars",
    )


def test_others_cannot_confirm(app, owner, manager, officer):
    contract = factories.make_contract(owner_id=owner.id, manager_id=manager.id,
                                       is_confidential=True)  # fmt: skip
    plan = make_gain_plan(contract, officer)
    entry = make_entry(plan, officer)
    path = f"/gains/entries/{entry.id}/confirm"
    client = app.test_client()
    factories.log_in(client, manager)  # sees the contract, may not confirm
    assert client.get(path).status_code == 403
    assert client.post(path).status_code == 403
    factories.log_in(client, factories.make_user(Role.OWNER))  # may not see the contract
    assert client.get(path).status_code == 404
    assert client.post(f"/gains/entries/{entry.id}/correct").status_code == 404
    factories.log_in(client, factories.make_user(Role.AUDITOR))
    assert client.get(path).status_code == 403
    Session.refresh(entry)
    assert entry.status == EntryStatus.ESTIMATED


def test_a_deleted_contracts_gains_are_read_only(app, contract, owner, officer):
    from contracts.register import services as register_services

    plan = make_gain_plan(contract, officer)
    entry = make_entry(plan, officer)
    register_services.soft_delete_contract(contract)
    client = app.test_client()
    factories.log_in(client, officer)
    assert client.get(f"/contracts/{contract.id}/gains").status_code == 200
    assert client.post(f"/gains/entries/{entry.id}/confirm").status_code == 404
    assert client.get(f"/gains/plans/{plan.id}/entries/new").status_code == 404


def test_the_contract_page_shows_the_gains_panel_and_history(app, contract, owner, officer):
    plan = make_gain_plan(contract, officer)
    make_entry(plan, officer, value=Decimal("20000"))
    make_entry(plan, officer, period_start=date(2026, 2, 1), period_end=date(2026, 2, 28),
               value=Decimal("-500"), confirm=True)  # fmt: skip
    client = app.test_client()
    factories.log_in(client, owner)
    page = client.get(f"/contracts/{contract.id}")
    assert page.status_code == 200
    assert 'id="gains-panel"' in page.text
    assert 'id="gains-plans">1<' in page.text
    assert 'data-value="-500.00" data-loss' in page.text  # confirmed: a loss
    assert 'data-value="20000.00"' in page.text  # estimated
    assert 'id="gains-to-confirm"' in page.text
    assert f'href="/contracts/{contract.id}/gains"' in page.text
    summary = services.contract_summary(contract.id, TODAY)
    assert (
        summary["plans"],
        summary["estimated"],
        summary["confirmed"],
        summary["to_confirm"],
    ) == (
        1,
        Decimal("20000"),
        Decimal("-500"),
        1,
    )


def test_the_gains_page_sums_what_was_realised(contract, officer, owner):
    plan = make_gain_plan(contract, officer)
    make_entry(plan, officer, value=Decimal("20000"))
    make_entry(plan, officer, period_start=date(2026, 2, 1), period_end=date(2026, 2, 28),
               value=Decimal("18000"), confirm=True)  # fmt: skip
    realised = services.realised(plan, TODAY)
    assert (realised.estimated, realised.confirmed, realised.total) == (
        Decimal("20000"),
        Decimal("18000"),
        Decimal("38000"),
    )
    # The target until today: 240 000 x 60/365 (1 January to 1 March).
    assert realised.target_to_date == Decimal("39452.05")
    # The next entry is for the oldest ended period without one: none left, so March.
    assert services.next_period(plan, TODAY) == (date(2026, 3, 1), date(2026, 3, 31))


# --- the computation, per method, across month and year ends ---------------------------------


def _plan(method=GainMethod.PRO_RATA, kind=PeriodKind.MONTH, start=date(2024, 1, 1),
          end=date(2026, 12, 31), **numbers):  # fmt: skip
    values = {
        "target_per_year": None,
        "baseline_unit_price": None,
        "contract_unit_price": None,
        "annual_volume": None,
        "hours_per_year": None,
        "hourly_rate": None,
        **numbers,
    }
    return SimpleNamespace(method=method, entry_period=kind, period_start=start,
                           period_end=end, **values)  # fmt: skip


def test_periods_count_once_they_have_ended_and_are_clipped_to_the_plan():
    plan = _plan(start=date(2026, 1, 15), end=date(2026, 3, 10))
    assert compute.periods(plan, date(2026, 1, 31)) == []
    assert compute.periods(plan, date(2026, 2, 1)) == [(date(2026, 1, 15), date(2026, 1, 31))]
    assert compute.periods(plan, date(2026, 3, 10)) == [
        (date(2026, 1, 15), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
    ]
    assert compute.periods(plan, date(2026, 3, 11))[-1] == (date(2026, 3, 1), date(2026, 3, 10))
    # Quarters across a year end, the plan starting mid-quarter.
    quarters = _plan(kind=PeriodKind.QUARTER, start=date(2025, 11, 1), end=date(2026, 6, 30))
    assert compute.periods(quarters, TODAY) == [(date(2025, 11, 1), date(2025, 12, 31))]
    assert compute.periods(quarters, date(2026, 4, 1)) == [
        (date(2025, 11, 1), date(2025, 12, 31)),
        (date(2026, 1, 1), date(2026, 3, 31)),
    ]
    # Years, the plan starting and ending mid-year.
    years = _plan(kind=PeriodKind.YEAR, start=date(2024, 7, 1), end=date(2026, 6, 30))
    assert compute.periods(years, TODAY) == [
        (date(2024, 7, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2025, 12, 31)),
    ]
    assert compute.periods(years, date(2026, 7, 1))[-1] == (date(2026, 1, 1), date(2026, 6, 30))


@pytest.mark.parametrize(
    ("plan", "start", "end", "expected"),
    [
        # Pro rata: 365 000 a year is 1 000 a day in a common year …
        (_plan(target_per_year=Decimal("365000")), date(2025, 1, 1), date(2025, 1, 31),
         Decimal("31000.00")),
        (_plan(target_per_year=Decimal("365000")), date(2025, 2, 1), date(2025, 2, 28),
         Decimal("28000.00")),
        # … and 365 000 / 366 a day in a leap year: February 2024 has 29 days.
        (_plan(target_per_year=Decimal("366000")), date(2024, 2, 1), date(2024, 2, 29),
         Decimal("29000.00")),
        (_plan(target_per_year=Decimal("365000")), date(2024, 2, 1), date(2024, 2, 29),
         Decimal("28920.77")),
        # Price difference: (120 - 100) x 12 000 = 240 000 a year.
        (_plan(GainMethod.PRICE_DIFFERENCE, baseline_unit_price=Decimal("120"),
               contract_unit_price=Decimal("100"), annual_volume=Decimal("12000")),
         date(2024, 2, 1), date(2024, 2, 29), Decimal("19016.39")),
        (_plan(GainMethod.PRICE_DIFFERENCE, baseline_unit_price=Decimal("120"),
               contract_unit_price=Decimal("100"), annual_volume=Decimal("12000")),
         date(2025, 12, 1), date(2025, 12, 31), Decimal("20383.56")),
        # A loss: the contract price is above the baseline.
        (_plan(GainMethod.PRICE_DIFFERENCE, baseline_unit_price=Decimal("99.5"),
               contract_unit_price=Decimal("100"), annual_volume=Decimal("36500")),
         date(2026, 1, 1), date(2026, 1, 31), Decimal("-1550.00")),
        # Hours: 500 h x 650 kr = 325 000 a year; Q1 2024 has 91 of 366 days.
        (_plan(GainMethod.HOURS, kind=PeriodKind.QUARTER, hours_per_year=Decimal("500"),
               hourly_rate=Decimal("650")),
         date(2024, 1, 1), date(2024, 3, 31), Decimal("80806.01")),
        # A year clipped to start mid-year: 184 of 366 days of 2024.
        (_plan(GainMethod.HOURS, kind=PeriodKind.YEAR, hours_per_year=Decimal("500"),
               hourly_rate=Decimal("650")),
         date(2024, 7, 1), date(2024, 12, 31), Decimal("163387.98")),
        # Measured by hand: nothing to compute.
        (_plan(GainMethod.MANUAL, target_per_year=Decimal("1000")), date(2025, 1, 1),
         date(2025, 1, 31), None),
        # Price difference without the volume: nothing to compute.
        (_plan(GainMethod.PRICE_DIFFERENCE, baseline_unit_price=Decimal("1"),
               contract_unit_price=Decimal("1")), date(2025, 1, 1), date(2025, 1, 31), None),
    ],
)  # fmt: skip
def test_estimates_by_method(plan, start, end, expected):
    assert compute.estimate(plan, start, end) == expected


def test_a_years_months_add_up_to_the_yearly_gain():
    plan = _plan(GainMethod.HOURS, hours_per_year=Decimal("123.45"), hourly_rate=Decimal("678.9"))
    yearly = compute.yearly_gain(plan)
    for year in (2024, 2025):  # a leap year and a common one
        months = [p for p in compute.periods(plan, date(year + 1, 1, 1)) if p[0].year == year]
        assert len(months) == 12
        total = sum(compute.estimate(plan, start, end) for start, end in months)
        assert abs(total - yearly) <= Decimal("0.06")  # at most half an øre a month
    days = _plan(target_per_year=Decimal("366"), start=date(2024, 2, 28), end=date(2024, 3, 1))
    assert [compute.estimate(days, s, e) for s, e in compute.periods(days, date(2024, 3, 2))] == [
        Decimal("2.00"),
        Decimal("1.00"),
    ]
    assert compute.year_share(date(2024, 12, 1), date(2025, 1, 31)) == (
        Decimal(31) / Decimal(366) + Decimal(31) / Decimal(365)
    )


def test_the_next_period_to_record_is_the_oldest_missing_one(contract, officer, owner):
    plan = make_gain_plan(contract, officer, period_start=date(2025, 11, 15))
    assert services.next_period(plan, TODAY) == (date(2025, 11, 15), date(2025, 11, 30))
    make_entry(plan, owner, period_start=date(2025, 11, 15), period_end=date(2025, 11, 30))
    assert services.next_period(plan, TODAY) == (date(2025, 12, 1), date(2025, 12, 31))
    later = make_gain_plan(contract, officer, period_start=TODAY + timedelta(days=40))
    assert services.next_period(later, TODAY) == (date(2026, 4, 11), date(2026, 4, 30))


def test_history_labels_name_the_gain_events():
    from contracts.labels import ACTION_LABELS, ENTITY_LABELS

    assert {"gain_confirmed", "gain_corrected", "gain_reestimated"} <= set(ACTION_LABELS)
    assert {"gain_plans", "gain_entries"} <= set(ENTITY_LABELS)


def test_gain_types_and_methods_all_have_labels():
    from followup.gains.labels import GAIN_METHOD_LABELS, GAIN_TYPE_LABELS, PERIOD_KIND_LABELS

    assert set(GAIN_TYPE_LABELS) == set(GainType)
    assert set(GAIN_METHOD_LABELS) == set(GainMethod)
    assert set(PERIOD_KIND_LABELS) == set(PeriodKind)
