"""The clock: the job registry and its bookkeeping, `flask jobs ...`, the scheduler as
built (never started here), the lock that lets one scheduler hold the clock, /healthz.

Lock tests and the scheduled-run test commit for real and need separate connections, so
they use a database of their own (a scratch PostgreSQL database when TEST_DATABASE_URL is
set, else a SQLite file); the rest run in the suite's rolled-back transaction.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import threading
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, select, text

from contracts import clock
from contracts.db import Session, utcnow
from contracts.dbcli import alembic_config, scratch_postgresql_database
from contracts.home import health
from contracts.parties.models import Unit
from jobs import registry, scheduler
from jobs.models import JobRun, SchedulerLock
from jobs.registry import Job
from jobs.scheduler import AdvisoryLock, LeaseLock
from tests.conftest import TODAY

OSLO = ZoneInfo("Europe/Oslo")


def _probe(today: date) -> dict:
    return {"today": today, "clock": clock.today()}


def _fails(today: date) -> dict:
    raise RuntimeError("SMTP login refused for hunter2@kommune.no")


@pytest.fixture
def probe(monkeypatch):
    """A job called "probe" that returns the day it was given and clock.today()."""
    job = Job("probe", _probe, "cron", {"hour": 5}, misfire_grace_time=60, description="Probe")
    monkeypatch.setitem(registry.JOBS, "probe", job)
    return job


def _run(name: str) -> JobRun | None:
    Session.expire_all()
    return Session.get(JobRun, name)


# --- the table ----------------------------------------------------------------------------


def test_the_table_holds_the_reminders_and_the_mail():
    reminders, mail = registry.JOBS["reminders"], registry.JOBS["send-mail"]
    assert reminders.target == "jobs.reminders:run"
    assert (reminders.trigger, dict(reminders.trigger_args)) == ("cron", {"hour": 6, "minute": 30})
    assert reminders.catch_up
    assert (mail.trigger, dict(mail.trigger_args)) == ("interval", {"minutes": 1})
    gains = registry.JOBS["gains"]
    assert gains.target == "jobs.gains:run"
    assert (gains.trigger, dict(gains.trigger_args)) == ("cron", {"day": 1, "hour": 6})
    assert gains.catch_up
    assert all(job.misfire_grace_time > 0 for job in registry.JOBS.values())


def test_a_job_is_checked_when_it_is_made():
    with pytest.raises(ValueError, match="lowercase"):
        Job("Send Mail", _probe, "cron", {}, misfire_grace_time=1)
    with pytest.raises(ValueError, match="trigger"):
        Job("x", _probe, "date", {}, misfire_grace_time=1)
    with pytest.raises(ValueError, match="misfire"):
        Job("x", _probe, "cron", {}, misfire_grace_time=0)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Job("reminders", _probe, "cron", {}, misfire_grace_time=1))


def test_send_mail_sends_on_the_real_clock(monkeypatch):
    from jobs import outbox

    seen = []
    monkeypatch.setattr(outbox, "send_due", lambda now: seen.append(now) or {"sent": 0})
    assert registry.send_mail(date(2020, 1, 1)) == {"sent": 0}
    assert abs(seen[0] - utcnow()) < timedelta(seconds=5)


# --- flask jobs run-once ------------------------------------------------------------------


def test_run_once_runs_the_job_as_of_that_day_and_records_it(app, runner, probe):
    result = runner.invoke(args=["jobs", "run-once", "probe", "--today", "2025-01-15"])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["ok"] is True
    assert outcome["today"] == "2025-01-15"
    assert outcome["result"] == {"today": "2025-01-15", "clock": "2025-01-15"}
    assert app.config["FIXED_TODAY"] == TODAY  # put back
    run = _run("probe")
    assert run.last_started_at <= run.last_success_at
    assert run.last_result == {"today": "2025-01-15", "clock": "2025-01-15"}
    assert run.last_error_at is None


def test_run_once_without_a_day_runs_as_of_today(runner, probe):
    result = runner.invoke(args=["jobs", "run-once", "probe"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"]["today"] == TODAY.isoformat()


def test_a_failing_job_records_the_error_and_exits_non_zero(runner, probe, monkeypatch):
    assert runner.invoke(args=["jobs", "run-once", "probe"]).exit_code == 0
    monkeypatch.setitem(registry.JOBS, "probe", Job("probe", _fails, "cron", {}, 60))
    result = runner.invoke(args=["jobs", "run-once", "probe", "--today", "2025-01-16"])
    assert result.exit_code == 1
    assert "job probe failed: RuntimeError: SMTP login refused" in result.stderr
    assert json.loads(result.stdout)["ok"] is False
    run = _run("probe")
    assert run.last_error.startswith("RuntimeError: SMTP login refused")
    assert run.last_error_at > run.last_success_at
    assert run.last_result == {"today": TODAY.isoformat(), "clock": TODAY.isoformat()}
    assert registry.is_failing(run)


def test_a_missing_module_fails_that_job_only(runner, monkeypatch):
    ghost = Job("ghost", "jobs.no_such_module:run", "cron", {"hour": 1}, misfire_grace_time=60)
    monkeypatch.setitem(registry.JOBS, "ghost", ghost)
    result = runner.invoke(args=["jobs", "run-once", "ghost"])
    assert result.exit_code == 1
    assert "ModuleNotFoundError" in _run("ghost").last_error
    assert runner.invoke(args=["jobs", "list"]).exit_code == 0


def test_an_unknown_job_is_refused_with_the_names(runner, probe):
    result = runner.invoke(args=["jobs", "run-once", "no-such-job"])
    assert result.exit_code == 2
    # Every job by name (other packages add theirs: audit-*, red-flags).
    names = ", ".join(sorted(registry.JOBS))
    assert f"no job called 'no-such-job'; the jobs are: {names}" in " ".join(result.output.split())
    assert _run("no-such-job") is None


def test_run_job_returns_the_outcome_and_never_raises(probe, monkeypatch):
    assert registry.run_job("probe", date(2024, 2, 29))["result"]["today"] == "2024-02-29"
    monkeypatch.setitem(registry.JOBS, "probe", Job("probe", _fails, "cron", {}, 60))
    outcome = registry.run_job("probe", date(2024, 3, 1))
    assert outcome["ok"] is False
    assert outcome["error"].startswith("RuntimeError:")
    with pytest.raises(registry.UnknownJob):
        registry.run_job("no-such-job")


# --- flask jobs list ----------------------------------------------------------------------


def test_jobs_list_shows_each_job_its_trigger_next_run_and_last_runs(runner, probe):
    Session.add(
        JobRun(
            name="reminders",
            last_success_at=datetime(2026, 3, 2, 5, 30, 4, tzinfo=OSLO),
            last_result={"due": 3},
        )
    )
    Session.add(
        JobRun(
            name="send-mail",
            last_error_at=datetime(2026, 3, 2, 9, 0, tzinfo=OSLO),
            last_error="ConnectionRefusedError: [Errno 111] Connection refused",
        )
    )
    Session.flush()
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("clock: free (no scheduler); times in Europe/Oslo")
    blocks = {block.split()[0]: block for block in out.split("\n\n")[1:]}
    assert list(blocks) == sorted(registry.JOBS)
    assert {"gains", "probe", "reminders", "send-mail"} <= set(blocks)
    assert "cron[day='1', hour='6']  misfire grace 21600 s" in blocks["gains"]
    assert "cron[hour='6', minute='30']  misfire grace 21600 s" in blocks["reminders"]
    assert re.search(r"next run: +\d{4}-\d\d-\d\d 06:30:00 CES?T", blocks["reminders"])
    assert 'last success: 2026-03-02 05:30:04 CET  {"due": 3}' in blocks["reminders"]
    assert "last error:   never" in blocks["reminders"]
    assert "interval[0:01:00]  misfire grace 30 s" in blocks["send-mail"]
    assert re.search(r"next run: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T", blocks["send-mail"])
    assert "last success: never" in blocks["send-mail"]
    assert "last error:   2026-03-02 09:00:00 CET  ConnectionRefusedError" in blocks["send-mail"]
    assert "Probe" in blocks["probe"]


# --- the scheduler, built but not started -------------------------------------------------


def test_the_scheduler_is_built_with_the_registry_jobs(app):
    Session.execute(delete(JobRun))
    built = scheduler.build_scheduler(app)
    assert not built.running
    assert built.timezone == OSLO
    jobs = {job.id: job for job in built.get_jobs()}
    assert (
        set(jobs)
        == set(registry.JOBS)
        >= {
            "gains",
            "reminders",
            "send-mail",
            "audit-verify",
            "audit-checkpoint",
            "red-flags",
        }
    )
    for name, job in jobs.items():
        assert job.misfire_grace_time == registry.JOBS[name].misfire_grace_time
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.func is registry.run_scheduled
        assert job.args == (app, name)
    assert isinstance(jobs["reminders"].trigger, CronTrigger)
    assert str(jobs["reminders"].trigger) == "cron[hour='6', minute='30']"
    assert jobs["reminders"].trigger.timezone == OSLO
    assert isinstance(jobs["send-mail"].trigger, IntervalTrigger)
    assert jobs["send-mail"].trigger.interval == timedelta(minutes=1)
    assert (jobs["reminders"].misfire_grace_time, jobs["send-mail"].misfire_grace_time) == (
        6 * 3600,
        30,
    )


def test_with_a_lock_the_scheduler_renews_it_and_stops_when_it_is_lost(app):
    class Lock:
        answer = True

        def renew(self, now=None):
            return self.answer

    lock, lost = Lock(), []
    built = scheduler.build_scheduler(app, lock=lock, on_lost=lambda: lost.append(True))
    renew = built.get_job(scheduler.RENEW_JOB)
    assert isinstance(renew.trigger, IntervalTrigger)
    assert renew.trigger.interval == timedelta(seconds=scheduler.RENEW_SECONDS)
    assert (renew.misfire_grace_time, renew.coalesce, renew.max_instances) == (30, True, 1)
    assert scheduler.LEASE.total_seconds() == scheduler.RENEW_SECONDS * 3
    renew.func()
    assert lost == []
    lock.answer = False
    renew.func()
    assert lost == [True]


def test_a_missed_daily_run_is_caught_up_on_start(app):
    reminders = registry.JOBS["reminders"]
    seven = datetime(2026, 3, 2, 7, 0, tzinfo=OSLO)
    half_past_six = datetime(2026, 3, 2, 6, 30, tzinfo=OSLO)
    assert registry.missed_run(reminders, OSLO, seven, None) == half_past_six
    assert registry.missed_run(reminders, OSLO, seven, half_past_six - timedelta(days=1)) == (
        half_past_six
    )
    assert registry.missed_run(reminders, OSLO, seven, half_past_six) is None
    # Past the grace time, or before today's run: nothing to catch up.
    assert registry.missed_run(reminders, OSLO, seven + timedelta(hours=6), None) is None
    assert registry.missed_run(reminders, OSLO, half_past_six - timedelta(minutes=1), None) is None

    Session.execute(delete(JobRun))
    built = scheduler.build_scheduler(app, now=seven)
    assert built.get_job("reminders").next_run_time == seven
    assert not hasattr(built.get_job("send-mail"), "next_run_time")  # from its trigger

    Session.add(JobRun(name="reminders", last_success_at=seven - timedelta(minutes=20)))
    Session.flush()
    built = scheduler.build_scheduler(app, now=seven)
    assert not hasattr(built.get_job("reminders"), "next_run_time")


def test_a_second_copy_waits_for_the_clock(caplog):
    class Lock:
        answers = [False, False, False, True]

        def acquire(self, now=None):
            return self.answers.pop(0)

    slept: list[float] = []
    with caplog.at_level(logging.INFO, logger="jobs.scheduler"):
        scheduler.wait_for_clock(Lock(), 7, sleep=slept.append)
    assert slept == [7, 7, 7]
    assert caplog.text.count("another scheduler holds the clock; waiting") == 1
    assert "took the clock" in caplog.text


def test_sigterm_and_sigint_stop_once_and_never_during_clean_up():
    signals = scheduler._Signals()
    with pytest.raises(scheduler._Stop, match="SIGTERM"):
        signals(signal.SIGTERM, None)
    signals(signal.SIGINT, None)  # a second signal while stopping is only noted
    assert signals.stop_requested
    cleaning = scheduler._Signals()
    cleaning.deferred = True
    cleaning(signal.SIGINT, None)
    assert cleaning.stop_requested


# --- /healthz -----------------------------------------------------------------------------


def test_healthz_shows_each_job_and_the_clock(client):
    now = utcnow()
    Session.add(JobRun(name="reminders", last_started_at=now, last_success_at=now))
    Session.add(
        JobRun(
            name="send-mail",
            last_success_at=now - timedelta(hours=1),
            last_error_at=now,
            last_error="SMTPAuthenticationError: (535, b'bad password for smtp.kommune.no')",
        )
    )
    Session.flush()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["scheduler"]["clock_held"] is False
    never = {"last_success_at": None, "last_error_at": None, "failing": False, "error": None}
    # Jobs that never ran (gains and those other packages add) show nothing yet.
    assert body["scheduler"]["jobs"] == {name: never for name in registry.JOBS} | {
        "reminders": {
            "last_success_at": now.isoformat(),
            "last_error_at": None,
            "failing": False,
            "error": None,
        },
        "send-mail": {
            "last_success_at": (now - timedelta(hours=1)).isoformat(),
            "last_error_at": now.isoformat(),
            "failing": True,
            "error": "SMTPAuthenticationError",
        },
    }
    assert "bad password" not in response.text
    assert "kommune.no" not in response.text


def test_healthz_shows_no_error_text_it_cannot_read(client):
    Session.add(JobRun(name="send-mail", last_error_at=utcnow(), last_error="password hunter2"))
    Session.flush()
    state = client.get("/healthz").get_json()["scheduler"]["jobs"]["send-mail"]
    assert (state["failing"], state["error"]) == (True, "error")


def test_a_job_that_never_ran_shows_nothing(client):
    Session.execute(delete(JobRun))
    jobs = client.get("/healthz").get_json()["scheduler"]["jobs"]
    assert jobs["reminders"] == {
        "last_success_at": None,
        "last_error_at": None,
        "failing": False,
        "error": None,
    }


def test_a_broken_check_does_not_break_healthz(client, monkeypatch):
    monkeypatch.setitem(health._checks, "broken", lambda: 1 / 0)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["broken"] == {"ok": False}
    assert "scheduler" in response.get_json()


def test_checks_keep_their_names():
    with pytest.raises(ValueError, match="field of its own"):
        health.add_check("database", dict)
    with pytest.raises(ValueError, match="already called"):
        health.add_check("scheduler", dict)
    scheduler.connect()  # the same check again is harmless


# --- committing for real: the lock and a scheduled run ------------------------------------


@pytest.fixture(scope="module")
def clock_database(tmp_path_factory):
    """A database of its own, on the engine the suite runs on, for work that commits."""
    base = os.environ.get("TEST_DATABASE_URL")
    with contextlib.ExitStack() as stack:
        if base:
            url = stack.enter_context(scratch_postgresql_database(base, "kr_clock"))
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('clock') / 'clock.db'}"
        command.upgrade(alembic_config(url), "head")
        yield url


@pytest.fixture(scope="module")
def clock_app(clock_database, tmp_path_factory):
    from wsgi import create_app

    other = create_app({"TESTING": True, "DATABASE_URL": clock_database, "SECRET_KEY": "clock"})
    other.instance_path = str(tmp_path_factory.mktemp("clock-instance"))
    yield other
    other.extensions["engine"].dispose()


@pytest.fixture
def engine(clock_app):
    """The own database's engine, with the scoped session bound to it; emptied after."""
    engine = clock_app.extensions["engine"]
    Session.remove()
    Session.configure(bind=engine)
    try:
        yield engine
    finally:
        Session.remove()
        with engine.begin() as conn:
            for table in (JobRun, SchedulerLock, Unit):
                conn.execute(delete(table))


def _pair(kind: str, engine):
    if kind == "advisory":
        if engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's advisory lock")
        return AdvisoryLock(engine), AdvisoryLock(engine)
    return LeaseLock(engine, holder="one"), LeaseLock(engine, holder="two")


def test_the_engine_picks_the_lock(engine):
    expected = AdvisoryLock if engine.dialect.name == "postgresql" else LeaseLock
    assert isinstance(scheduler.make_lock(engine), expected)


@pytest.mark.parametrize("kind", ["lease", "advisory"])
def test_one_lock_holds_the_clock_until_it_releases_it(engine, kind):
    first, second = _pair(kind, engine)
    try:
        assert first.acquire()
        assert not second.acquire()
        assert first.acquire()  # already ours
        assert first.renew()
        assert not second.renew()
        first.release()
        assert not first.renew()
        assert second.acquire()
        assert not first.acquire()
        second.release()
        second.release()  # twice is harmless
        assert first.acquire()
    finally:
        first.release()
        second.release()


def test_an_expired_lease_can_be_taken(engine):
    first, second = _pair("lease", engine)
    start = utcnow()
    assert first.acquire(now=start)
    assert not second.acquire(now=start + timedelta(seconds=89))
    assert first.renew(now=start + timedelta(seconds=30))  # now until start + 120 s
    assert not second.acquire(now=start + timedelta(seconds=119))
    assert second.acquire(now=start + timedelta(seconds=121))
    assert not first.renew(now=start + timedelta(seconds=122))
    assert not first.acquire(now=start + timedelta(seconds=122))
    second.release()
    assert Session.scalars(select(SchedulerLock)).all() == []


@pytest.mark.parametrize("kind", ["lease", "advisory"])
def test_of_many_trying_at_once_exactly_one_takes_the_clock(engine, kind):
    first, _ = _pair(kind, engine)
    locks = [first] + [
        type(first)(engine, holder=f"copy {i}") if kind == "lease" else AdvisoryLock(engine)
        for i in range(5)
    ]
    barrier = threading.Barrier(len(locks))
    taken: list[bool] = [False] * len(locks)

    def take(i: int) -> None:
        barrier.wait(timeout=10)
        taken[i] = locks[i].acquire()

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(locks))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert taken.count(True) == 1
    finally:
        for lock in locks:
            lock.release()


def test_the_advisory_lock_goes_with_its_session(engine):
    first, second = _pair("advisory", engine)
    try:
        assert first.acquire()
        pid = first._connection.scalar(text("SELECT pg_backend_pid()"))
        with engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        deadline = time.monotonic() + 10
        while not second.acquire() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert second.renew()
        assert not first.renew()
    finally:
        first.release()
        second.release()


def test_healthz_says_whether_a_scheduler_holds_the_clock(clock_app, engine):
    client = clock_app.test_client()
    lock = scheduler.make_lock(engine)
    assert client.get("/healthz").get_json()["scheduler"]["clock_held"] is False
    try:
        assert lock.acquire()
        assert client.get("/healthz").get_json()["scheduler"]["clock_held"] is True
        with clock_app.app_context():
            assert scheduler.clock_held()
    finally:
        lock.release()
    assert client.get("/healthz").get_json()["scheduler"]["clock_held"] is False


def _adds_a_unit(today: date) -> dict:
    Session.add(Unit(name=f"Made {today}"))
    Session.commit()
    return {"made": 1}


def _adds_a_unit_then_fails(today: date) -> dict:
    Session.add(Unit(name="Never kept"))
    Session.flush()
    raise RuntimeError("boom")


def test_a_scheduled_run_keeps_the_work_and_the_record_apart(clock_app, engine, monkeypatch):
    monkeypatch.setitem(registry.JOBS, "works", Job("works", _adds_a_unit, "cron", {}, 60))
    monkeypatch.setitem(
        registry.JOBS, "breaks", Job("breaks", _adds_a_unit_then_fails, "cron", {}, 60)
    )
    errors: list[BaseException] = []

    def scheduler_thread() -> None:
        try:
            registry.run_scheduled(clock_app, "works")
            registry.run_scheduled(clock_app, "breaks")
        except BaseException as error:  # run_scheduled must not raise
            errors.append(error)

    thread = threading.Thread(target=scheduler_thread)
    thread.start()
    thread.join(timeout=60)
    assert errors == []
    with clock_app.app_context():
        today = clock.today()
        assert Session.scalars(select(Unit.name)).all() == [f"Made {today}"]
        works, breaks = Session.get(JobRun, "works"), Session.get(JobRun, "breaks")
        assert works.last_started_at <= works.last_success_at
        assert works.last_result == {"made": 1}
        assert works.last_error is None
        assert breaks.last_started_at is not None  # kept although the job rolled back
        assert breaks.last_success_at is None
        assert breaks.last_error == "RuntimeError: boom"


def test_jobs_due_together_take_turns_on_sqlite_and_all_succeed(clock_app, engine, monkeypatch):
    """The catch-up at start runs several jobs at once; on SQLite (one writer) they must
    not fail each other with "database is locked"."""
    spans: list[tuple[str, float, float]] = []

    def writer(name: str):
        def job(today: date) -> dict:
            start = time.monotonic()
            Session.add(Unit(name=f"{name} {today}"))
            Session.flush()
            time.sleep(0.3)  # holds the write lock a while, as a long job does
            Session.commit()
            spans.append((name, start, time.monotonic()))
            return {"made": 1}

        return job

    for name in ("one", "two", "three"):
        monkeypatch.setitem(registry.JOBS, name, Job(name, writer(name), "cron", {}, 60))
    threads = [
        threading.Thread(target=registry.run_scheduled, args=(clock_app, name))
        for name in ("one", "two", "three")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with clock_app.app_context():
        assert len(Session.scalars(select(Unit.name)).all()) == 3
        assert all(Session.get(JobRun, n).last_error is None for n in ("one", "two", "three"))
        Session.remove()
    if engine.dialect.name == "sqlite":
        ordered = sorted(spans, key=lambda span: span[1])
        assert all(a[2] <= b[1] for a, b in zip(ordered, ordered[1:], strict=False))
