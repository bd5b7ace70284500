"""Reminder settings: lead times (defaults, config, per contract), snoozes and who may set
them, each user's instant kinds, and the bulk readers the reminder job uses."""

from __future__ import annotations

import contextlib
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from contracts.audit.models import AuditEvent
from contracts.auth.models import Role
from contracts.register import services as register_services
from jobs import settings
from jobs.models import LeadTimes, NotificationSettings, ReminderKind, Snooze
from tests import factories
from tests.conftest import TODAY

K = ReminderKind


@contextlib.contextmanager
def statements(db):
    """Count the SQL statements run inside the block."""
    seen: list[str] = []
    connection = db.get_bind()

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


def _events(db, entity_type: str) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == entity_type).order_by(AuditEvent.seq)
        )
    )


# --- lead times: defaults, config, parsing ------------------------------------------------


def test_defaults_are_data_for_every_kind():
    assert set(settings.DEFAULT_LEAD_DAYS) == set(ReminderKind)
    assert settings.lead_days(K.EXPIRY, None) == [180, 90, 30]
    assert settings.lead_days(K.OPTION_DEADLINE, None) == [120, 60, 14]
    assert settings.lead_days(K.NOTICE_DEADLINE, None) == [90, 30, 7]
    assert settings.lead_days(K.PRICE_ADJUSTMENT, None) == [30]
    assert settings.lead_days(K.ACTIVITY_DUE, None) == [7]
    assert settings.lead_days(K.ACTIVITY_OVERDUE, None) == [1, 7, 14, 30, 60, 90]
    assert settings.lead_days(K.ACTIVITY_ESCALATED, None) == [14]
    assert settings.lead_days(K.MISSING_PLAN, None) == [30]


@pytest.mark.parametrize(
    "configured", [{"expiry": [270, 90]}, '{"expiry": [90, 270], "missing_plan": [14]}']
)
def test_config_replaces_the_defaults_of_the_kinds_it_names(app, monkeypatch, configured):
    monkeypatch.setitem(app.config, "REMINDER_LEAD_DAYS", configured)
    contract = factories.make_contract()
    assert settings.lead_days(K.EXPIRY, None) == [270, 90]
    assert settings.lead_days(K.EXPIRY, contract.id) == [270, 90]
    assert settings.lead_days(K.OPTION_DEADLINE, contract.id) == [120, 60, 14]
    if isinstance(configured, str):
        assert settings.lead_days(K.MISSING_PLAN, None) == [14]


@pytest.mark.parametrize(
    "configured",
    ['{"expiry": [270', {"no_such_kind": [1]}, {"expiry": "30"}, {"expiry": [800]}, [1, 2]],
)
def test_a_bad_config_is_an_error_not_ignored(app, monkeypatch, configured):
    monkeypatch.setitem(app.config, "REMINDER_LEAD_DAYS", configured)
    with pytest.raises(ValueError, match="REMINDER_LEAD_DAYS"):
        settings.lead_days(K.EXPIRY, None)


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (K.EXPIRY, "180, 90,30", [180, 90, 30]),
        (K.EXPIRY, "30 90; 180", [180, 90, 30]),
        (K.EXPIRY, " 0 ", [0]),
        (K.EXPIRY, "30, 30, 730", [730, 30]),
        (K.ACTIVITY_OVERDUE, "14, 1, 7", [1, 7, 14]),
        (K.MISSING_PLAN, "60", [60]),
        (K.EXPIRY, "", None),
        (K.EXPIRY, " , ", None),
    ],
)
def test_lead_days_are_read_the_way_people_type_them(kind, text, expected):
    assert settings.parse_lead_days(kind, text) == expected


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (K.EXPIRY, "90, abc", "helt antall dager"),
        (K.EXPIRY, "-5", "helt antall dager"),
        (K.EXPIRY, "1.5", "helt antall dager"),
        (K.EXPIRY, "731", "fra 0 til 730"),
        (K.EXPIRY, "99999999999", "fra 0 til 730"),
        (K.EXPIRY, "1, 2, 3, 4, 5, 6, 7", "høyst 6"),
        (K.EXPIRY, "١٢", "helt antall dager"),  # Arabic-Indic digits are digits to Python
        (K.MISSING_PLAN, "0", "fra 1 til 730"),
        (K.MISSING_PLAN, "30, 60", "ett antall dager"),
    ],
)
def test_bad_lead_days_are_refused_with_a_reason(kind, text, message):
    with pytest.raises(settings.LeadDaysError, match=message):
        settings.parse_lead_days(kind, text)


# --- lead times per contract --------------------------------------------------------------


def test_a_contract_gets_its_own_lead_times_and_goes_back_to_the_default(db):
    contract = factories.make_contract()
    other = factories.make_contract()
    assert settings.set_lead_days(contract, K.EXPIRY, [30, 365]) is True
    assert settings.lead_days(K.EXPIRY, contract.id) == [365, 30]
    assert settings.lead_days(K.EXPIRY, other.id) == [180, 90, 30]
    assert settings.lead_days(K.NOTICE_DEADLINE, contract.id) == [90, 30, 7]
    assert settings.set_lead_days(contract, K.EXPIRY, [365, 30]) is False  # no change
    assert settings.set_lead_days(contract, K.EXPIRY, [60]) is True
    assert settings.set_lead_days(contract, K.EXPIRY, None) is True
    assert settings.lead_days(K.EXPIRY, contract.id) == [180, 90, 30]
    assert settings.set_lead_days(contract, K.EXPIRY, None) is False
    actions = [(e.action, e.contract_id) for e in _events(db, "reminder_lead_times")]
    assert actions == [("create", contract.id), ("update", contract.id), ("delete", contract.id)]


def test_bulk_lead_days_match_the_single_ones_in_one_query(db):
    contracts = [factories.make_contract() for _ in range(4)]
    settings.set_lead_days(contracts[0], K.EXPIRY, [365, 30])
    settings.set_lead_days(contracts[1], K.EXPIRY, [10])
    settings.set_lead_days(contracts[1], K.OPTION_DEADLINE, [200, 100])
    settings.set_lead_days(contracts[2], K.ACTIVITY_OVERDUE, [3])
    db.flush()
    for kind in ReminderKind:
        default = settings.lead_days(kind, None)
        with statements(db) as seen:
            own = settings.lead_days_by_contract(kind)
        assert len(seen) == 1
        for contract in contracts:
            assert own.get(contract.id, default) == settings.lead_days(kind, contract.id)
    assert settings.lead_days_by_contract(K.EXPIRY) == {
        contracts[0].id: [365, 30],
        contracts[1].id: [10],
    }


def test_editor_sets_lead_times_on_the_reminders_page(login_as, db):
    editor = login_as("procurement")
    contract = factories.make_contract()
    response = editor.post(
        f"/contracts/{contract.id}/reminders/lead-times",
        data={"expiry": "365, 180, 30", "option_deadline": "", "activity_overdue": "2, 9"},
    )
    assert response.status_code == 302
    assert response.location.endswith(f"/contracts/{contract.id}/reminders")
    assert settings.lead_days(K.EXPIRY, contract.id) == [365, 180, 30]
    assert settings.lead_days(K.ACTIVITY_OVERDUE, contract.id) == [2, 9]
    assert settings.lead_days(K.OPTION_DEADLINE, contract.id) == [120, 60, 14]

    page = editor.get(f"/contracts/{contract.id}/reminders")
    assert page.status_code == 200
    assert re.search(r'data-kind="expiry" data-own="yes"', page.text)
    assert re.search(r'data-kind="option_deadline" data-own="no"', page.text)
    assert 'value="365, 180, 30"' in page.text  # the form shows the contract's own
    detail = editor.get(f"/contracts/{contract.id}")
    assert 'id="reminders-panel"' in detail.text
    assert re.search(r'data-kind="expiry" data-own="yes"', detail.text)

    # Emptying a field goes back to the default.
    response = editor.post(f"/contracts/{contract.id}/reminders/lead-times", data={"expiry": ""})
    assert response.status_code == 302
    assert settings.lead_days(K.EXPIRY, contract.id) == [180, 90, 30]
    assert settings.lead_days(K.ACTIVITY_OVERDUE, contract.id) == [1, 7, 14, 30, 60, 90]


def test_bad_lead_times_get_422_with_the_errors_and_save_nothing(login_as, db):
    editor = login_as("admin")
    contract = factories.make_contract()
    response = editor.post(
        f"/contracts/{contract.id}/reminders/lead-times",
        data={"expiry": "90, abc", "notice_deadline": "800", "price_adjustment": "14"},
    )
    assert response.status_code == 422
    assert "data-error-summary" in response.text
    assert 'href="#expiry"' in response.text
    assert 'href="#notice_deadline"' in response.text
    assert 'id="expiry-error"' in response.text
    assert 'value="90, abc"' in response.text  # the input comes back
    assert db.scalar(select(LeadTimes).where(LeadTimes.contract_id == contract.id)) is None


@pytest.mark.parametrize("role", ["owner", "auditor"])
def test_only_editors_set_lead_times(login_as, db, role):
    user = login_as(role)
    contract = factories.make_contract(owner_id=user.user.id)
    response = user.post(f"/contracts/{contract.id}/reminders/lead-times", data={"expiry": "5"})
    assert response.status_code == 403
    assert settings.lead_days(K.EXPIRY, contract.id) == [180, 90, 30]
    page = user.get(f"/contracts/{contract.id}/reminders")
    assert page.status_code == 200
    assert "lead-times-form" not in page.text


def test_hidden_contract_is_not_found(login_as):
    contract = factories.make_contract(is_confidential=True)
    other = login_as("owner")
    assert other.get(f"/contracts/{contract.id}/reminders").status_code == 404
    response = other.post(
        f"/contracts/{contract.id}/reminders/snooze",
        data={"target": "expiry", "until": "2026-06-01"},
    )
    assert response.status_code == 404


def test_deleted_contract_takes_no_changes(login_as):
    editor = login_as("procurement")
    contract = factories.make_contract()
    register_services.soft_delete_contract(contract)
    assert editor.get(f"/contracts/{contract.id}/reminders").status_code == 200
    response = editor.post(f"/contracts/{contract.id}/reminders/lead-times", data={"expiry": "5"})
    assert response.status_code == 404


# --- snoozes ------------------------------------------------------------------------------


def _snooze(client, contract_id: int, target: str = "expiry", until: str = "2026-06-01"):
    return client.post(
        f"/contracts/{contract_id}/reminders/snooze", data={"target": target, "until": until}
    )


def test_owner_snoozes_and_ends_the_snooze(login_as, db):
    owner = login_as("owner")
    contract = factories.make_contract(owner_id=owner.user.id)
    response = _snooze(owner, contract.id)
    assert response.status_code == 302
    assert settings.snoozed_until(K.EXPIRY, "contracts", contract.id) == date(2026, 6, 1)
    row = db.scalar(select(Snooze))
    assert row.user_id == owner.user.id

    # Snoozing again moves the date (one snooze per subject).
    assert _snooze(owner, contract.id, until="2026-09-01").status_code == 302
    assert settings.snoozed_until(K.EXPIRY, "contracts", contract.id) == date(2026, 9, 1)
    page = owner.get(f"/contracts/{contract.id}/reminders")
    assert 'data-target="expiry"' in page.text
    detail = owner.get(f"/contracts/{contract.id}")
    assert "01.09.2026" in detail.text

    response = owner.post(
        f"/contracts/{contract.id}/reminders/snooze/end", data={"target": "expiry"}
    )
    assert response.status_code == 302
    assert settings.snoozed_until(K.EXPIRY, "contracts", contract.id) is None
    actions = [(e.action, e.contract_id) for e in _events(db, "reminder_snoozes")]
    assert actions == [("create", contract.id), ("update", contract.id), ("delete", contract.id)]


def test_manager_snoozes_an_option_deadline(app, db):
    manager = factories.make_user(Role.OWNER)
    contract = factories.make_contract(manager_id=manager.id)
    option = register_services.add_option(contract, 12, date(2027, 6, 1))
    client = app.test_client()
    factories.log_in(client, manager)
    response = _snooze(client, contract.id, target=f"option_deadline:{option.id}")
    assert response.status_code == 302
    assert settings.snoozed_until(K.OPTION_DEADLINE, "contract_options", option.id) == date(
        2026, 6, 1
    )
    assert settings.snoozes(K.OPTION_DEADLINE) == {
        ("contract_options", option.id): date(2026, 6, 1)
    }


@pytest.mark.parametrize(
    ("target", "until", "field"),
    [
        ("expiry", TODAY.isoformat(), "until"),  # today holds nothing
        ("expiry", (TODAY - timedelta(days=1)).isoformat(), "until"),
        ("expiry", (TODAY + timedelta(days=731)).isoformat(), "until"),
        ("expiry", "", "until"),
        ("expiry", "31.02.2026", "until"),
        ("activity_due", "2026-06-01", "target"),  # not a subject of the contract itself
        ("no_such_kind", "2026-06-01", "target"),
        ("option_deadline:999999", "2026-06-01", "target"),
    ],
)
def test_bad_snoozes_are_refused(login_as, db, target, until, field):
    editor = login_as("procurement")
    contract = factories.make_contract()
    response = _snooze(editor, contract.id, target=target, until=until)
    assert response.status_code == 422
    assert f'href="#{field}"' in response.text
    assert db.scalar(select(Snooze)) is None


def test_an_option_of_another_contract_cannot_be_snoozed_here(login_as, db):
    owner = login_as("owner")
    mine = factories.make_contract(owner_id=owner.user.id)
    theirs = factories.make_contract()
    option = register_services.add_option(theirs, 12, date(2027, 6, 1))
    response = _snooze(owner, mine.id, target=f"option_deadline:{option.id}")
    assert response.status_code == 422
    assert db.scalar(select(Snooze)) is None


def test_two_years_ahead_is_the_latest_snooze(login_as):
    editor = login_as("admin")
    contract = factories.make_contract()
    latest = TODAY + timedelta(days=730)
    assert _snooze(editor, contract.id, until=latest.isoformat()).status_code == 302
    assert settings.snoozed_until(K.EXPIRY, "contracts", contract.id) == latest


def test_auditor_named_as_owner_cannot_snooze(login_as, db):
    auditor = login_as("auditor")
    contract = factories.make_contract(owner_id=auditor.user.id)
    assert _snooze(auditor, contract.id).status_code == 403
    settings.snooze(K.EXPIRY, "contracts", contract.id, date(2026, 6, 1), auditor.user, contract.id)
    response = auditor.post(
        f"/contracts/{contract.id}/reminders/snooze/end", data={"target": "expiry"}
    )
    assert response.status_code == 403
    assert settings.snoozed_until(K.EXPIRY, "contracts", contract.id) == date(2026, 6, 1)
    page = auditor.get(f"/contracts/{contract.id}/reminders")
    assert page.status_code == 200
    assert "snooze-form" not in page.text


def test_owner_of_another_contract_cannot_snooze(login_as, db):
    owner = login_as("owner")
    factories.make_contract(owner_id=owner.user.id)
    someone_elses = factories.make_contract()
    assert _snooze(owner, someone_elses.id).status_code == 403
    response = owner.post(
        f"/contracts/{someone_elses.id}/reminders/snooze/end", data={"target": "expiry"}
    )
    assert response.status_code == 403
    assert db.scalar(select(Snooze)) is None


def test_bulk_snoozes_match_the_single_ones_in_one_query(db):
    user = factories.make_user(Role.PROCUREMENT)
    a, b = factories.make_contract(), factories.make_contract()
    settings.snooze(K.EXPIRY, "contracts", a.id, date(2026, 5, 1), user, a.id)
    settings.snooze(K.NOTICE_DEADLINE, "contracts", a.id, date(2026, 7, 1), user, a.id)
    settings.snooze(K.EXPIRY, "contracts", b.id, date(2026, 1, 1), user, b.id)  # over
    settings.snooze(K.ACTIVITY_DUE, "activities", 77, date(2026, 4, 1), user, a.id)
    db.flush()
    subjects = [("contracts", a.id), ("contracts", b.id), ("activities", 77), ("activities", 78)]
    for kind in ReminderKind:
        with statements(db) as seen:
            bulk = settings.snoozes(kind)
        assert len(seen) == 1
        for entity_type, entity_id in subjects:
            assert bulk.get((entity_type, entity_id)) == settings.snoozed_until(
                kind, entity_type, entity_id
            )
    assert settings.snoozes(K.EXPIRY) == {
        ("contracts", a.id): date(2026, 5, 1),
        ("contracts", b.id): date(2026, 1, 1),
    }


# --- instant kinds ------------------------------------------------------------------------


def _checked(html: str) -> set[str]:
    boxes = re.findall(r"<input[^>]*type=\"checkbox\"[^>]*>", html)
    return {re.search(r'id="([^"]+)"', box).group(1) for box in boxes if " checked" in box}


def test_notification_page_saves_instant_kinds(login_as, db):
    user = login_as("owner")
    page = user.get("/profile/notifications")
    assert page.status_code == 200
    assert page.text.count('data-color="info" data-size="sm"') == 3  # recommended kinds
    assert 'id="notification-settings"' in user.get("/profile").text

    response = user.post(
        "/profile/notifications",
        data={"option_deadline": "y", "notice_deadline": "y", "not_a_kind": "y"},
    )
    assert response.status_code == 302
    assert settings.instant_kinds(user.user.id) == {"option_deadline", "notice_deadline"}
    assert _checked(user.get("/profile/notifications").text) == {
        "option_deadline",
        "notice_deadline",
    }

    assert user.post("/profile/notifications", data={}).status_code == 302
    assert settings.instant_kinds(user.user.id) == set()
    actions = [e.after for e in _events(db, "notification_settings")]
    assert actions == [
        {"instant_kinds": ["notice_deadline", "option_deadline"]},
        {"instant_kinds": []},
    ]


def test_bulk_instant_kinds_match_the_single_ones_in_one_query(db):
    a, b, c = (factories.make_user(Role.OWNER) for _ in range(3))
    settings.set_instant_kinds(a, ["activity_escalated"])
    settings.set_instant_kinds(b, ["expiry", "option_deadline"])
    db.flush()
    with statements(db) as seen:
        bulk = settings.instant_kinds_by_user()
    assert len(seen) == 1
    for user in (a, b, c):
        assert bulk.get(user.id, set()) == settings.instant_kinds(user.id)
    assert bulk[a.id] == {"activity_escalated"}
    assert c.id not in bulk


def test_unknown_instant_kinds_are_refused():
    user = factories.make_user(Role.OWNER)
    with pytest.raises(ValueError):
        settings.set_instant_kinds(user, ["bogus"])


def test_settings_row_is_per_user(db):
    user = factories.make_user(Role.OWNER)
    settings.set_instant_kinds(user, ["expiry"])
    assert db.get(NotificationSettings, user.id).instant_kinds == ["expiry"]


def test_changes_show_in_the_contracts_history(login_as):
    editor = login_as("procurement")
    contract = factories.make_contract()
    editor.post(f"/contracts/{contract.id}/reminders/lead-times", data={"expiry": "45"})
    _snooze(editor, contract.id, until="2026-08-15")
    page = editor.get(f"/contracts/{contract.id}")
    assert page.status_code == 200
    history = page.text[page.text.index('id="history-h"') :]
    assert "[45]" in history
    assert "15.08.2026" in history
