"""The calendar feed: the token (made, shown once, replaced, revoked), what the feed holds
for whom, and that it is valid iCalendar whatever the titles contain."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from contracts.auth.models import Role, User
from contracts.register import services as register_services
from contracts.register.models import OptionDecision
from followup import services as followup_services
from followup.models import ActivityStatus
from jobs import calendar, settings
from jobs.models import NotificationSettings
from tests import factories, followup_factories
from tests.conftest import TODAY

BASE_URL = "https://kontrakter.test.kommune.no/register"


@pytest.fixture(autouse=True)
def base_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", BASE_URL + "/")


def _feed_path(token: str) -> str:
    return f"/calendar/{token}.ics"


def _fetch(app, token: str):
    """The feed as a calendar program gets it: no cookies, no login."""
    return app.test_client().get(_feed_path(token))


def _events(response) -> dict[str, dict]:
    assert response.status_code == 200, response.status_code
    parsed = Calendar.from_ical(response.data)
    events = {}
    for component in parsed.walk("VEVENT"):
        uid = str(component["UID"])
        assert uid not in events, f"two events with UID {uid}"
        events[uid.removesuffix("@kontraktsregister")] = {
            "day": component.decoded("DTSTART"),
            "end": component.decoded("DTEND"),
            "summary": str(component["SUMMARY"]),
            "description": str(component["DESCRIPTION"]),
            "url": str(component["URL"]),
            "stamp": component.decoded("DTSTAMP"),
        }
    return events


# --- the token ----------------------------------------------------------------------------


def _make_token(client) -> str:
    response = client.post("/profile/notifications/calendar")
    assert response.status_code == 200
    url = re.search(r'data-testid="feed-url">([^<]+)<', response.text).group(1)
    assert url.startswith(BASE_URL + "/calendar/cal_")
    assert url.endswith(".ics")
    return url.removeprefix(BASE_URL + "/calendar/").removesuffix(".ics")


def test_token_is_shown_once_and_only_its_hash_is_stored(app, login_as, db):
    user = login_as("owner")
    token = _make_token(user)
    row = db.get(NotificationSettings, user.user.id)
    assert row.calendar_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.calendar_token_prefix == token[:10]
    page = user.get("/profile/notifications")
    assert token not in page.text
    assert token[:10] in page.text  # the prefix, so the owner can tell which it is
    assert _fetch(app, token).status_code == 200


def test_a_new_token_stops_the_old_one(app, login_as):
    user = login_as("owner")
    old = _make_token(user)
    new = _make_token(user)
    assert old != new
    assert _fetch(app, old).status_code == 404
    assert _fetch(app, new).status_code == 200


def test_a_revoked_token_is_not_found(app, login_as):
    user = login_as("owner")
    token = _make_token(user)
    response = user.post("/profile/notifications/calendar/revoke")
    assert response.status_code == 302
    assert settings.calendar_token_prefix(user.user.id) is None
    response = _fetch(app, token)
    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers
    assert 'id="calendar-state"' in user.get("/profile/notifications").text


@pytest.mark.parametrize(
    "token", ["cal_unknown", "x" * 101, "cal_%00", "cal_" + "a" * 43, "%20", "cal_ÆØÅ"]
)
def test_unknown_tokens_are_not_found(app, token):
    factories.make_user(Role.OWNER)
    response = _fetch(app, token)
    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers


def test_a_deactivated_user_has_no_feed(app, db):
    user = factories.make_user(Role.OWNER)
    token = settings.create_calendar_token(user)
    assert _fetch(app, token).status_code == 200
    user.is_active = False
    db.flush()
    assert _fetch(app, token).status_code == 404


def test_tokens_are_audited_without_the_secret(db):
    from contracts.audit.models import AuditEvent

    user = factories.make_user(Role.OWNER)
    token = settings.create_calendar_token(user)
    settings.create_calendar_token(user)
    settings.revoke_calendar_token(user)
    events = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "notification_settings")
        .order_by(AuditEvent.seq)
    ).all()
    assert [e.action for e in events] == ["create", "update", "revoke"]
    hashed = hashlib.sha256(token.encode()).hexdigest()
    for event in events:
        assert token not in str(event.after) and hashed not in str(event.after)


# --- what the feed holds ------------------------------------------------------------------


@pytest.fixture
def register():
    """A user with deadlines of every kind, and things that must stay out of their feed."""
    unit = factories.make_unit()
    user = factories.make_user(Role.OWNER, unit_id=unit.id, name="Kari Eier")
    other = factories.make_user(Role.OWNER, unit_id=factories.make_unit().id)

    # Owned: ends 31.12.2027, notice 3 months, price adjustment in January.
    owned = factories.make_contract(owner_id=user.id, title="Renhold av rådhuset")
    pending = register_services.add_option(owned, 12, date(2027, 6, 1))
    declined = register_services.add_option(owned, 12, date(2026, 9, 1))
    register_services.decide_option(declined, OptionDecision.DECLINED, TODAY, user)
    stale = register_services.add_option(owned, 6, TODAY - timedelta(days=31))  # before window
    plan = followup_factories.make_plan(owned)

    # Managed, open-ended, with a title that tries to break the feed.
    managed = factories.make_contract(
        manager_id=user.id,
        title="Vask;\r\nBEGIN:VEVENT\r\nSUMMARY:Falsk, hendelse\\n",
        end_date=None,
        price_adjustment_month=6,
    )
    # Terminated: only its end.
    terminated = factories.make_contract(owner_id=user.id, price_adjustment_month=4)
    register_services.add_option(terminated, 12, date(2027, 6, 1))
    register_services.terminate_contract(terminated, date(2026, 6, 30), "Mislighold")
    # Ending beyond the window: no end, but its notice day and adjustment are inside.
    far = factories.make_contract(
        owner_id=user.id, start_date=date(2026, 1, 1), end_date=date(2029, 12, 31)
    )

    # Not the user's feed: someone else's, deleted, a draft, and an activity the user is
    # named on in a confidential contract of another unit they cannot see.
    others = factories.make_contract(owner_id=other.id)
    deleted = factories.make_contract(owner_id=user.id)
    register_services.soft_delete_contract(deleted)
    draft = factories.make_contract(owner_id=user.id, signed_on=None)
    hidden = factories.make_contract(owner_id=other.id, unit_id=other.unit_id, is_confidential=True)
    hidden_plan = followup_factories.make_plan(hidden)
    hidden_plan.activities[0].responsible_id = user.id

    # One of the user's activities is done, one skipped.
    open_activities = sorted(plan.activities, key=lambda a: a.due_date)
    followup_services.complete_activity(open_activities[0], status=ActivityStatus.DONE, user=user)
    followup_services.complete_activity(
        open_activities[1], status=ActivityStatus.SKIPPED, user=user, skip_reason="Ikke aktuelt"
    )
    return {
        "user": user,
        "other": other,
        "owned": owned,
        "pending": pending,
        "declined": declined,
        "stale": stale,
        "plan": plan,
        "managed": managed,
        "terminated": terminated,
        "far": far,
        "others": others,
        "deleted": deleted,
        "draft": draft,
        "hidden": hidden,
    }


def _expected_activities(plan) -> set[str]:
    start, end = calendar.window(TODAY)
    return {
        f"activity-{a.id}"
        for a in plan.activities
        if a.status == ActivityStatus.OPEN and start <= a.due_date <= end
    }


def test_the_feed_holds_exactly_the_users_deadlines(app, register):
    r = register
    token = settings.create_calendar_token(r["user"])
    response = _fetch(app, token)
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in response.headers["Cache-Control"]
    assert "Set-Cookie" not in response.headers
    events = _events(response)

    owned, managed, terminated, far = r["owned"], r["managed"], r["terminated"], r["far"]
    contract_events = {
        f"expiry-{owned.id}": date(2027, 12, 31),
        f"option-{r['pending'].id}": date(2027, 6, 1),
        f"notice-{owned.id}": date(2027, 9, 30),
        f"price-adjustment-{owned.id}": date(2027, 1, 1),
        f"price-adjustment-{managed.id}": date(2026, 6, 1),
        f"expiry-{terminated.id}": date(2026, 6, 30),
        f"price-adjustment-{far.id}": date(2027, 1, 1),
    }
    activities = _expected_activities(r["plan"])
    assert len(activities) > 3
    assert set(events) == set(contract_events) | activities
    assert f"expiry-{far.id}" not in events  # 31.12.2029 and its notice day are too far
    for uid, day in contract_events.items():
        assert events[uid]["day"] == day, uid
        assert events[uid]["end"] == day + timedelta(days=1), uid
    for activity in r["plan"].activities:
        if f"activity-{activity.id}" in events:
            assert events[f"activity-{activity.id}"]["day"] == activity.due_date

    expiry = events[f"expiry-{owned.id}"]
    assert expiry["url"] == f"{BASE_URL}/contracts/{owned.id}"
    assert owned.reference in expiry["summary"]
    assert owned.reference in expiry["description"]
    assert "Renhold av rådhuset" in expiry["description"]
    assert f"{BASE_URL}/contracts/{owned.id}" in expiry["description"]
    some_activity = next(iter(activities))
    activity_id = int(some_activity.removeprefix("activity-"))
    assert events[some_activity]["url"] == f"{BASE_URL}/followup/activities/{activity_id}"


def test_the_feed_window_is_a_month_back_and_two_years_ahead(app, register):
    user = register["user"]
    start, end = calendar.window(TODAY)
    assert (start, end) == (TODAY - timedelta(days=30), TODAY + timedelta(days=730))
    edge = factories.make_contract(owner_id=user.id, end_date=end, price_adjustment_month=None)
    past = factories.make_contract(
        owner_id=user.id,
        start_date=date(2020, 1, 1),
        end_date=start,
        notice_months=None,
        price_adjustment_month=None,
    )
    beyond = factories.make_contract(
        owner_id=user.id, end_date=end + timedelta(days=1), price_adjustment_month=None
    )
    events = _events(_fetch(app, settings.create_calendar_token(user)))
    assert events[f"expiry-{edge.id}"]["day"] == end
    assert events[f"expiry-{past.id}"]["day"] == start
    assert f"expiry-{beyond.id}" not in events


def test_a_title_with_line_breaks_and_semicolons_survives(app, register):
    managed = register["managed"]
    raw = _fetch(app, settings.create_calendar_token(register["user"])).data
    # Content lines: only the calendar's own BEGIN:VEVENT lines, none from the title.
    lines = raw.split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    events = _events_from(raw)
    expected = len(calendar.deadlines(register["user"], TODAY))
    assert sum(line == b"BEGIN:VEVENT" for line in lines) == len(events) == expected
    summary = events[f"price-adjustment-{managed.id}"]["summary"]
    assert "Vask;\nBEGIN:VEVENT\nSUMMARY:Falsk, hendelse\\n" in summary
    assert not any(
        "Falsk" in e["summary"] for uid, e in events.items() if str(managed.id) not in uid
    )


def _events_from(raw: bytes) -> dict[str, dict]:
    class Fake:
        status_code = 200
        data = raw

    return _events(Fake)


def test_control_characters_are_dropped():
    assert calendar.clean_text("a\x00b\x07c\td\r\ne\rf\x7f") == "abc\td\ne\nf"


def test_uids_stay_the_same_between_fetches(app, register):
    token = settings.create_calendar_token(register["user"])
    first, second = _events(_fetch(app, token)), _events(_fetch(app, token))
    assert set(first) == set(second)
    assert all(event["stamp"] for event in first.values())


def test_another_user_sees_only_their_own(app, register):
    other = register["other"]
    events = _events(_fetch(app, settings.create_calendar_token(other)))
    others, hidden = register["others"], register["hidden"]
    assert f"expiry-{others.id}" in events
    assert f"expiry-{hidden.id}" in events  # their own confidential contract
    owned = register["owned"]
    assert not any(
        uid.endswith(f"-{owned.id}") and not uid.startswith("activity") for uid in events
    )


def test_the_feed_speaks_the_users_language(app, db):
    user = factories.make_user(Role.OWNER, name="Ola", locale="en")
    factories.make_contract(owner_id=user.id)
    raw = _fetch(app, settings.create_calendar_token(user)).data
    parsed = Calendar.from_ical(raw)
    assert str(parsed["X-WR-CALNAME"]) == "Contract deadlines – Ola"
    assert str(parsed["METHOD"]) == "PUBLISH"
    assert str(parsed["VERSION"]) == "2.0"
    assert str(parsed["PRODID"]) == calendar.PRODID
    assert any(str(e["SUMMARY"]).startswith("Contract ends: ") for e in parsed.walk("VEVENT"))


def test_procurement_officers_get_the_office_tasks(app, db):
    officer = factories.make_user(Role.PROCUREMENT)
    contract = factories.make_contract()
    plan = followup_factories.make_plan(contract)
    office = {
        f"activity-{a.id}"
        for a in plan.activities
        if a.responsible_role.value == "procurement" and a.due_date <= TODAY + timedelta(days=730)
    }
    events = _events(_fetch(app, settings.create_calendar_token(officer)))
    assert set(events) == office
    assert f"expiry-{contract.id}" not in events  # the office answers for tasks, not deadlines


def test_next_price_adjustment():
    assert calendar.next_price_adjustment(3, date(2026, 3, 1)) == date(2026, 3, 1)
    assert calendar.next_price_adjustment(3, date(2026, 3, 2)) == date(2027, 3, 1)
    assert calendar.next_price_adjustment(12, date(2026, 3, 2)) == date(2026, 12, 1)


def test_feed_user_lookup_is_by_hash(db):
    user = factories.make_user(Role.OWNER)
    token = settings.create_calendar_token(user)
    assert settings.calendar_user(token) == user
    assert settings.calendar_user(token.upper()) is None
    assert settings.calendar_user("") is None
    assert db.scalar(select(User).where(User.id == user.id)).is_active
