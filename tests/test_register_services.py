"""Register services: derived dates, status (Python and SQL), regulation part, audit trail."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from contracts.audit import services as audit_services
from contracts.audit.models import GENESIS_HASH, AuditEvent
from contracts.audit.services import compute_hash
from contracts.db import Session
from contracts.parties.models import CategoryKind
from contracts.register import services
from contracts.register.models import Contract, ContractOption, ContractStatus, OptionDecision
from contracts.register.search import status_filter
from contracts.rules.models import RegulationPart, Threshold, ThresholdKind
from contracts.rules.services import regulation_part
from tests import factories
from tests.conftest import TODAY

# --- derived end dates -----------------------------------------------------------------


def _contract_with_options(months_and_decisions, **overrides):
    contract = factories.make_contract(
        start_date=date(2025, 1, 1), end_date=date(2026, 12, 31), **overrides
    )
    user = factories.make_user()
    for i, (months, decision) in enumerate(months_and_decisions):
        option = services.add_option(contract, months, date(2026, 6, 1) + timedelta(days=i))
        if decision != OptionDecision.PENDING:
            services.decide_option(option, decision, TODAY, user)
    return contract


def test_refresh_derived_without_options_uses_end_date():
    contract = factories.make_contract(start_date=date(2025, 1, 1), end_date=date(2026, 12, 31))
    assert contract.current_end_date == date(2026, 12, 31)
    assert contract.max_end_date == date(2026, 12, 31)


def test_refresh_derived_open_ended_contract_has_no_end():
    contract = factories.make_contract(end_date=None)
    assert contract.current_end_date is None
    assert contract.max_end_date is None


def test_current_end_counts_exercised_options_and_max_end_all_not_declined():
    contract = _contract_with_options(
        [
            (12, OptionDecision.EXERCISED),
            (6, OptionDecision.PENDING),
            (24, OptionDecision.DECLINED),
            (3, OptionDecision.EXERCISED),
        ]
    )
    # exercised: 12 + 3 = 15 months; not declined: 12 + 6 + 3 = 21 months
    assert contract.current_end_date == date(2028, 3, 31)
    assert contract.max_end_date == date(2028, 9, 30)


def test_declining_an_option_shrinks_max_end_and_reset_to_pending_restores_it():
    contract = _contract_with_options([(12, OptionDecision.PENDING)])
    assert contract.max_end_date == date(2027, 12, 31)
    option = contract.options[0]
    user = factories.make_user()
    services.decide_option(option, OptionDecision.DECLINED, TODAY, user)
    assert contract.current_end_date == date(2026, 12, 31)
    assert contract.max_end_date == date(2026, 12, 31)
    services.decide_option(option, OptionDecision.PENDING, TODAY, user)
    assert option.decided_on is None and option.decided_by_id is None
    assert contract.max_end_date == date(2027, 12, 31)


def test_deleting_an_option_recomputes_the_dates():
    contract = _contract_with_options([(12, OptionDecision.EXERCISED)])
    assert contract.current_end_date == date(2027, 12, 31)
    services.delete_option(contract.options[0])
    assert contract.current_end_date == date(2026, 12, 31)
    assert contract.max_end_date == date(2026, 12, 31)


def test_termination_caps_current_and_max_end():
    contract = _contract_with_options(
        [(12, OptionDecision.EXERCISED), (12, OptionDecision.PENDING)]
    )
    assert contract.max_end_date == date(2028, 12, 31)
    services.terminate_contract(contract, date(2026, 6, 30), "Mislighold")
    assert contract.current_end_date == date(2026, 6, 30)
    assert contract.max_end_date == date(2026, 6, 30)
    services.cancel_termination(contract)
    assert contract.terminated_on is None
    assert contract.current_end_date == date(2027, 12, 31)
    assert contract.max_end_date == date(2028, 12, 31)


def test_termination_after_the_end_does_not_extend_the_contract():
    contract = factories.make_contract(start_date=date(2025, 1, 1), end_date=date(2026, 12, 31))
    services.terminate_contract(contract, date(2027, 6, 30), None)
    assert contract.current_end_date == date(2026, 12, 31)
    assert contract.max_end_date == date(2026, 12, 31)


def test_termination_of_an_open_ended_contract_sets_the_end():
    contract = factories.make_contract(end_date=None)
    services.terminate_contract(contract, date(2026, 9, 30), None)
    assert contract.current_end_date == date(2026, 9, 30)
    assert contract.max_end_date == date(2026, 9, 30)


def test_month_end_clamping_when_adding_options():
    contract = factories.make_contract(start_date=date(2025, 1, 1), end_date=date(2027, 1, 31))
    services.add_option(contract, 1, date(2026, 10, 1))
    option = contract.options[0]
    services.decide_option(option, OptionDecision.EXERCISED, TODAY, factories.make_user())
    assert contract.current_end_date == date(2027, 2, 28)


# --- last notice day and next option -----------------------------------------------------


@pytest.mark.parametrize(
    ("end", "months", "expected"),
    [
        (date(2026, 12, 31), 3, date(2026, 9, 30)),
        (date(2026, 5, 31), 3, date(2026, 2, 28)),
        (date(2028, 5, 31), 3, date(2028, 2, 29)),  # leap year
        (date(2026, 3, 31), 1, date(2026, 2, 28)),
        (date(2026, 8, 15), 6, date(2026, 2, 15)),
        (date(2027, 1, 31), 12, date(2026, 1, 31)),
        (date(2026, 2, 28), 14, date(2024, 12, 28)),
    ],
)
def test_last_notice_day(end, months, expected):
    contract = Contract(current_end_date=end, notice_months=months)
    assert contract.last_notice_day == expected


def test_last_notice_day_uses_the_current_end_after_options():
    contract = _contract_with_options([(12, OptionDecision.EXERCISED)], notice_months=3)
    assert contract.current_end_date == date(2027, 12, 31)
    assert contract.last_notice_day == date(2027, 9, 30)


def test_no_last_notice_day_without_end_or_notice_period():
    assert Contract(current_end_date=None, notice_months=3).last_notice_day is None
    assert Contract(current_end_date=date(2026, 12, 31), notice_months=None).last_notice_day is None


def test_next_option_is_the_pending_option_with_earliest_deadline():
    contract = factories.make_contract(start_date=date(2025, 1, 1), end_date=date(2026, 12, 31))
    user = factories.make_user()
    early = services.add_option(contract, 12, date(2026, 5, 1))
    late = services.add_option(contract, 12, date(2027, 5, 1))
    middle = services.add_option(contract, 12, date(2026, 9, 1))
    assert contract.next_option is early
    services.decide_option(early, OptionDecision.EXERCISED, TODAY, user)
    assert contract.next_option is middle
    services.decide_option(middle, OptionDecision.DECLINED, TODAY, user)
    assert contract.next_option is late
    services.decide_option(late, OptionDecision.EXERCISED, TODAY, user)
    assert contract.next_option is None


# --- status ---------------------------------------------------------------------------------


def _status_of(**fields):
    defaults = {"signed_on": date(2024, 12, 1), "terminated_on": None, "current_end_date": None}
    defaults.update(fields)
    return Contract(**defaults).status(TODAY)


def test_status_in_python():
    horizon = TODAY + timedelta(days=180)
    assert _status_of(signed_on=None) == ContractStatus.DRAFT
    assert _status_of(signed_on=None, terminated_on=TODAY) == ContractStatus.DRAFT
    assert _status_of(current_end_date=None) == ContractStatus.ACTIVE
    assert _status_of(current_end_date=horizon + timedelta(days=1)) == ContractStatus.ACTIVE
    assert _status_of(current_end_date=horizon) == ContractStatus.EXPIRING
    assert _status_of(current_end_date=TODAY) == ContractStatus.EXPIRING
    assert _status_of(current_end_date=TODAY - timedelta(days=1)) == ContractStatus.EXPIRED
    assert _status_of(terminated_on=TODAY, current_end_date=TODAY) == ContractStatus.TERMINATED
    assert (
        _status_of(terminated_on=TODAY - timedelta(days=30), current_end_date=TODAY)
        == ContractStatus.TERMINATED
    )
    # Terminated from a day in the future: still running until then.
    tomorrow = TODAY + timedelta(days=1)
    assert _status_of(terminated_on=tomorrow, current_end_date=tomorrow) == ContractStatus.EXPIRING


def _boundary_contracts() -> dict[int, ContractStatus]:
    """Contracts around every status boundary, keyed by id with the expected status."""
    horizon = TODAY + timedelta(days=180)
    start = date(2020, 1, 1)
    signed = date(2019, 12, 1)
    cases = [
        # (signed_on, end_date, terminated_on, expected)
        (None, date(2030, 1, 1), None, ContractStatus.DRAFT),
        (None, date(2021, 1, 1), None, ContractStatus.DRAFT),
        (None, None, date(2021, 1, 1), ContractStatus.DRAFT),
        (signed, None, None, ContractStatus.ACTIVE),
        (signed, horizon + timedelta(days=1), None, ContractStatus.ACTIVE),
        (signed, horizon + timedelta(days=400), None, ContractStatus.ACTIVE),
        (signed, horizon, None, ContractStatus.EXPIRING),
        (signed, horizon - timedelta(days=1), None, ContractStatus.EXPIRING),
        (signed, TODAY, None, ContractStatus.EXPIRING),
        (signed, TODAY + timedelta(days=1), None, ContractStatus.EXPIRING),
        (signed, TODAY - timedelta(days=1), None, ContractStatus.EXPIRED),
        (signed, date(2021, 1, 1), None, ContractStatus.EXPIRED),
        (signed, date(2030, 1, 1), TODAY, ContractStatus.TERMINATED),
        (signed, date(2030, 1, 1), TODAY - timedelta(days=1), ContractStatus.TERMINATED),
        (signed, None, TODAY - timedelta(days=100), ContractStatus.TERMINATED),
        (signed, date(2030, 1, 1), TODAY + timedelta(days=1), ContractStatus.EXPIRING),
        (signed, date(2030, 1, 1), horizon + timedelta(days=1), ContractStatus.ACTIVE),
        (signed, None, horizon, ContractStatus.EXPIRING),
    ]
    supplier = factories.make_supplier()
    category = factories.make_category()
    unit = factories.make_unit()
    expected = {}
    for signed_on, end, terminated_on, status in cases:
        contract = factories.make_contract(
            supplier_id=supplier.id,
            category_id=category.id,
            unit_id=unit.id,
            start_date=start,
            signed_on=signed_on,
            end_date=end,
        )
        if terminated_on is not None:
            services.terminate_contract(contract, terminated_on, None)
        expected[contract.id] = status
    Session.flush()
    return expected


def test_status_filter_agrees_with_contract_status():
    expected = _boundary_contracts()
    Session.expire_all()
    contracts = Session.scalars(select(Contract).where(Contract.id.in_(expected))).unique().all()
    python_status = {c.id: c.status(TODAY) for c in contracts}
    assert python_status == expected
    for status in ContractStatus:
        in_sql = set(
            Session.scalars(
                select(Contract.id).where(Contract.id.in_(expected), status_filter(status, TODAY))
            )
        )
        in_python = {cid for cid, s in python_status.items() if s == status}
        assert in_sql == in_python, status
        assert in_python, f"no boundary case for {status}"


# --- regulation part ----------------------------------------------------------------------


GOODS, SERVICES, WORKS = CategoryKind.GOODS, CategoryKind.SERVICES, CategoryKind.WORKS
NONE, PART_I, I_II, I_III = (
    RegulationPart.NOT_COVERED,
    RegulationPart.PART_I,
    RegulationPart.PARTS_I_II,
    RegulationPart.PARTS_I_III,
)
# (value, day, kind, part, national threshold, EEA threshold for the kind)
REGULATION_CASES = [
    # 2017: national 1 100 000, EEA goods/services 1 750 000, EEA works 44 000 000
    ("1200000", date(2017, 6, 1), SERVICES, I_II, 1_100_000, 1_750_000),
    ("1200000", date(2019, 6, 1), SERVICES, PART_I, 1_300_000, 2_000_000),
    ("1200000", date(2018, 4, 5), SERVICES, I_II, 1_100_000, 1_750_000),
    ("1200000", date(2018, 4, 6), SERVICES, PART_I, 1_300_000, 2_000_000),
    ("99999.99", date(2025, 1, 1), SERVICES, NONE, 1_300_000, 2_300_000),
    ("100000", date(2025, 1, 1), GOODS, PART_I, 1_300_000, 2_300_000),
    ("1300000", date(2025, 1, 1), GOODS, I_II, 1_300_000, 2_300_000),
    ("2299999", date(2025, 1, 1), GOODS, I_II, 1_300_000, 2_300_000),
    ("2300000", date(2025, 1, 1), GOODS, I_III, 1_300_000, 2_300_000),
    ("2250000", date(2024, 3, 13), GOODS, I_III, 1_300_000, 2_200_000),
    # Works use the EEA works threshold, not the goods/services one.
    ("45000000", date(2017, 6, 1), WORKS, I_III, 1_100_000, 44_000_000),
    ("45000000", date(2019, 6, 1), WORKS, I_II, 1_300_000, 51_000_000),
    ("45000000", date(2019, 6, 1), SERVICES, I_III, 1_300_000, 2_000_000),
    ("57800000", date(2025, 1, 1), WORKS, I_III, 1_300_000, 57_800_000),
    ("5000000", date(2025, 1, 1), WORKS, I_II, 1_300_000, 57_800_000),
]


@pytest.mark.parametrize(("value", "day", "kind", "part", "national", "eea"), REGULATION_CASES)
def test_regulation_part(value, day, kind, part, national, eea):
    found, thresholds = regulation_part(Decimal(value), day, kind)
    assert found == part
    eea_kind = ThresholdKind.EEA_WORKS if kind == WORKS else ThresholdKind.EEA_GOODS_SERVICES
    assert thresholds[ThresholdKind.NATIONAL] == national
    assert thresholds[eea_kind] == eea
    assert thresholds[ThresholdKind.MINIMUM] == 100_000


def test_regulation_part_unknown_value_or_before_the_regulation():
    assert regulation_part(None, date(2025, 1, 1), CategoryKind.SERVICES)[0] is None
    assert regulation_part(Decimal(5_000_000), date(2016, 12, 31), CategoryKind.SERVICES)[0] is None


def test_thresholds_are_dated_data():
    day = date(2026, 6, 1)
    assert regulation_part(Decimal(1_400_000), day, CategoryKind.SERVICES)[0] == (
        RegulationPart.PARTS_I_II
    )
    Session.add(
        Threshold(
            kind=ThresholdKind.NATIONAL,
            value=Decimal(1_500_000),
            valid_from=date(2026, 5, 1),
            source="test",
        )
    )
    Session.flush()
    part, thresholds = regulation_part(Decimal(1_400_000), day, CategoryKind.SERVICES)
    assert part == RegulationPart.PART_I
    assert thresholds[ThresholdKind.NATIONAL] == 1_500_000
    # The day before the new value, the old one still applies.
    assert regulation_part(Decimal(1_400_000), date(2026, 4, 30), CategoryKind.SERVICES)[0] == (
        RegulationPart.PARTS_I_II
    )


# --- audit trail ------------------------------------------------------------------------------


def _events() -> list[AuditEvent]:
    Session.flush()
    Session.expire_all()
    return list(Session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _last_event() -> AuditEvent:
    return _events()[-1]


def _assert_chain_intact(events: list[AuditEvent]) -> None:
    assert events
    for previous, event in zip([None, *events], events, strict=False):
        if previous is None:
            if event.seq == 1:
                assert event.prev_hash == GENESIS_HASH
        else:
            assert event.seq == previous.seq + 1
            assert event.prev_hash == previous.hash
        assert compute_hash(event.prev_hash, event) == event.hash


def test_create_writes_an_audit_event_with_all_values():
    contract = factories.make_contract(
        title="Renhold av rådhuset", estimated_value=Decimal("1250000.50")
    )
    event = _last_event()
    assert event.action == "create"
    assert event.entity_type == "contracts"
    assert event.entity_id == contract.id
    assert event.contract_id == contract.id
    assert event.before is None
    assert event.after["title"] == "Renhold av rådhuset"
    assert event.after["reference"] == contract.reference
    assert event.after["estimated_value"] == "1250000.50"
    assert event.after["start_date"] == "2025-01-01"
    for noise in ("version", "updated_at", "search_text"):
        assert noise not in event.after


def test_update_audits_only_the_changed_fields():
    contract = factories.make_contract(title="Gammel tittel", estimated_value=Decimal("1000000.00"))
    Session.expire_all()
    contract = Session.get(Contract, contract.id)
    values = {key: getattr(contract, key) for key in services.CONTRACT_FIELDS}
    values["title"] = "Ny tittel"
    values["estimated_value"] = Decimal("2000000.00")
    services.update_contract(contract, values, contract.version)
    event = _last_event()
    assert event.action == "update"
    assert event.contract_id == contract.id
    assert event.before == {"title": "Gammel tittel", "estimated_value": "1000000.00"}
    assert event.after == {"title": "Ny tittel", "estimated_value": "2000000.00"}


def test_update_with_a_stale_version_is_refused():
    contract = factories.make_contract()
    with pytest.raises(services.ConflictError):
        services.update_contract(contract, {"title": "x"}, contract.version - 1)


def test_soft_delete_and_restore_are_audited():
    contract = factories.make_contract()
    services.soft_delete_contract(contract)
    deleted = _last_event()
    assert deleted.action == "soft_delete"
    assert deleted.contract_id == contract.id
    assert set(deleted.after) == {"deleted_at"}
    assert deleted.before == {"deleted_at": None}
    assert deleted.after["deleted_at"] is not None
    contract = Session.get(Contract, contract.id)
    services.restore_contract(contract)
    restored = _last_event()
    assert restored.action == "restore"
    assert restored.contract_id == contract.id
    assert restored.after == {"deleted_at": None}
    assert restored.before == {"deleted_at": deleted.after["deleted_at"]}


def test_terminate_is_audited_with_the_changed_dates():
    contract = factories.make_contract(start_date=date(2025, 1, 1), end_date=date(2027, 12, 31))
    services.terminate_contract(contract, date(2026, 6, 30), "Vesentlig mislighold")
    event = _last_event()
    assert event.action == "terminate"
    assert event.contract_id == contract.id
    assert event.before == {
        "terminated_on": None,
        "termination_reason": None,
        "current_end_date": "2027-12-31",
        "max_end_date": "2027-12-31",
    }
    assert event.after == {
        "terminated_on": "2026-06-30",
        "termination_reason": "Vesentlig mislighold",
        "current_end_date": "2026-06-30",
        "max_end_date": "2026-06-30",
    }


def test_option_add_and_decision_are_audited():
    contract = factories.make_contract(start_date=date(2025, 1, 1), end_date=date(2026, 12, 31))
    option = services.add_option(contract, 12, date(2026, 9, 1))
    added = _last_event()
    assert added.action == "create"
    assert added.entity_type == "contract_options"
    assert added.entity_id == option.id
    assert added.contract_id == contract.id
    assert added.after["extension_months"] == 12
    assert added.after["decision"] == "pending"

    user = factories.make_user()
    option = Session.get(ContractOption, option.id)
    services.decide_option(option, OptionDecision.EXERCISED, date(2026, 3, 1), user)
    decided = _last_event()
    assert decided.action == "option_decision"
    assert decided.entity_type == "contract_options"
    assert decided.entity_id == option.id
    assert decided.contract_id == contract.id
    assert decided.before == {"decision": "pending", "decided_on": None, "decided_by_id": None}
    assert decided.after == {
        "decision": "exercised",
        "decided_on": "2026-03-01",
        "decided_by_id": user.id,
    }


def test_every_change_is_chained_by_hash():
    contract = factories.make_contract()
    values = {key: getattr(contract, key) for key in services.CONTRACT_FIELDS}
    values["title"] = "Endret"
    services.update_contract(contract, values, contract.version)
    option = services.add_option(contract, 12, date(2027, 6, 1))
    services.decide_option(option, OptionDecision.DECLINED, TODAY, factories.make_user())
    services.terminate_contract(contract, date(2026, 12, 31), "Avtalt")
    services.cancel_termination(contract)
    services.soft_delete_contract(contract)
    services.restore_contract(contract)
    services.add_amendment(contract, TODAY, "Ny pris", Decimal("-1000"), factories.make_user())
    events = _events()
    actions = [e.action for e in events if e.contract_id == contract.id]
    assert actions == [
        "create",
        "update",
        "create",
        "option_decision",
        "terminate",
        "cancel_termination",
        "soft_delete",
        "restore",
        "create",
    ]
    _assert_chain_intact(events)


def test_tampering_breaks_the_chain():
    contract = factories.make_contract(title="Original")
    event = _last_event()
    assert compute_hash(event.prev_hash, event) == event.hash
    # What a changed row would hash to (the database itself refuses the change, below).
    forged = {**audit_services.event_payload(event), "after": {**event.after, "title": "X"}}
    assert audit_services.chain_hash(event.prev_hash, forged) != event.hash
    assert contract.title == "Original"


def test_the_database_refuses_to_change_or_delete_audit_rows():
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    factories.make_contract(title="Original")
    seq = _last_event().seq
    for statement in (
        "UPDATE audit_events SET summary = 'forfalsket' WHERE seq = :seq",
        "DELETE FROM audit_events WHERE seq = :seq",
    ):
        nested = Session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            Session.execute(text(statement), {"seq": seq})
        nested.rollback()
    assert _last_event().seq == seq


def test_a_save_raises_the_version_by_one_and_follows_a_new_supplier():
    contract = factories.make_contract()
    version = contract.version
    other = factories.make_supplier(name="Ny Leverandør AS")
    services.update_contract(
        contract, {"title": "Nytt navn", "supplier_id": other.id}, contract.version
    )
    Session.flush()
    assert contract.version == version + 1
    assert "ny leverandør as" in contract.search_text and "nytt navn" in contract.search_text


def test_the_same_amount_with_other_decimals_is_no_change():
    contract = factories.make_contract(estimated_value=Decimal("1500000"))
    assert contract.estimated_value == Decimal("1500000.00")
    before = _last_event().seq
    services.update_contract(contract, {"estimated_value": Decimal("1500000.0")}, contract.version)
    Session.flush()
    assert _last_event().seq == before  # nothing changed, nothing audited
