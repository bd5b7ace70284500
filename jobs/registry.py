"""The jobs the clock runs, by name, and the bookkeeping of each run in JobRun.

A job is a function ``(today: date) -> dict``: it does its own work, commits it itself
(app context → select due rows → mark → commit → deliver → commit), is idempotent
(running it twice for the same day changes nothing the second time) and returns a small
JSON-able summary. Another module adds one with a line in the table at the bottom:

    register(Job("gains", "jobs.gains:run", "cron", {"day": 1, "hour": 7},
                 misfire_grace_time=6 * 3600, description="..."))

The target is "module:function" and is imported only when the job runs, so a module that
is missing or broken fails that job alone (recorded in JobRun), not the app or the clock.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from contracts import clock
from contracts.db import Session, utcnow
from contracts.logs import job_context
from jobs.models import JobRun

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

log = logging.getLogger(__name__)

JobFunction = Callable[[date], Any]
NAME = re.compile(r"^[a-z][a-z0-9-]{0,59}$")  # fits JobRun.name
TRIGGERS = ("cron", "interval")
ERROR_CLASS = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]{0,79}):")


@dataclass(frozen=True)
class Job:
    """One scheduled job: what to call, when (an APScheduler trigger in APP_TIMEZONE), and
    how late a run may still start (misfire_grace_time, seconds) before it is skipped."""

    name: str
    target: str | JobFunction  # "module:function", imported when the job runs
    trigger: str  # "cron" or "interval"
    trigger_args: Mapping[str, Any]
    misfire_grace_time: int
    description: str = ""
    # On start, run at once if the last fire time within misfire_grace_time was missed
    # (the in-memory job store forgets runs that fell while the process was down).
    catch_up: bool = False

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(f"job name {self.name!r}: lowercase letters, digits and '-'")
        if self.trigger not in TRIGGERS:
            raise ValueError(f"job {self.name}: trigger must be one of {TRIGGERS}")
        if self.misfire_grace_time <= 0:
            raise ValueError(f"job {self.name}: misfire_grace_time must be positive")

    def function(self) -> JobFunction:
        """The callable, importing its module now if the target is a "module:function"."""
        if callable(self.target):
            return self.target
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def make_trigger(self, timezone: tzinfo) -> BaseTrigger:
        """A fresh APScheduler trigger in the given time zone."""
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        kind = CronTrigger if self.trigger == "cron" else IntervalTrigger
        return kind(timezone=timezone, **self.trigger_args)


JOBS: dict[str, Job] = {}


def register(job: Job) -> Job:
    """Add a job to the table; a different job under a name already taken is an error."""
    if JOBS.get(job.name, job) != job:
        raise ValueError(f"a different job is already registered as {job.name!r}")
    JOBS[job.name] = job
    return job


class UnknownJob(KeyError):
    """No job has that name."""


def get(name: str) -> Job:
    try:
        return JOBS[name]
    except KeyError:
        raise UnknownJob(name) from None


# --- running one job and recording the run -----------------------------------------------


def run_job(name: str, today: date | None = None) -> dict[str, Any]:
    """Run one job now as of `today` (default: clock.today()) and record the run in JobRun.

    Needs an app context. A failing job is rolled back, logged and recorded, never raised:
    returns {"job", "today", "ok", "seconds", and "result" or "error"}. The bookkeeping
    is committed in a session of its own, so the job's rollback keeps it and the job's
    uncommitted work is never committed by it.
    """
    with job_context(name):  # every record the job writes names it in the `job` field
        return _run_job(name, today)


def _run_job(name: str, today: date | None) -> dict[str, Any]:
    job = get(name)
    day = today or clock.today()
    _record(name, last_started_at=utcnow())
    started = time.monotonic()
    outcome: dict[str, Any] = {"job": name, "today": day.isoformat()}
    try:
        result = _jsonable(job.function()(day))
    except Exception as error:
        outcome["seconds"] = round(time.monotonic() - started, 3)
        _rollback()
        log.exception("job %s failed (today %s)", name, day)
        message = short_error(error)
        _record(name, last_error_at=utcnow(), last_error=message)
        return outcome | {"ok": False, "error": message}
    outcome["seconds"] = round(time.monotonic() - started, 3)
    _record(name, last_success_at=utcnow(), last_result=result)
    log.info("job %s done in %.1f s (today %s): %s", name, outcome["seconds"], day, result)
    return outcome | {"ok": True, "result": result}


# SQLite has one writer: jobs that fall due together (the catch-up at start) take turns
# instead of waiting on each other's write lock until "database is locked".
_SQLITE_TURNS = threading.Lock()


def run_scheduled(app: Flask, name: str) -> None:
    """The scheduler's entry point: today's run of one job in an app context of its own
    (which closes the thread's session after); logs instead of raising."""
    serial = app.extensions["engine"].dialect.name == "sqlite"
    try:
        with _SQLITE_TURNS if serial else contextlib.nullcontext(), app.app_context():
            run_job(name)
    except Exception:
        log.exception("job %s could not be run", name)


def short_error(error: BaseException) -> str:
    """'ExceptionClass: message' on one line, cut to what JobRun.last_error holds."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text[:500]


def _jsonable(result: Any) -> dict[str, Any]:
    """The job's result as a JSON object (dates and Decimals become strings)."""
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        result = {"result": result}
    return json.loads(json.dumps(result, default=str))


def _rollback() -> None:
    try:
        Session.rollback()
    except Exception:
        log.exception("rolling back a failed job failed too")


def _record(name: str, **fields: Any) -> None:
    """Write fields of the job's JobRun row and commit them in a session of their own."""
    for attempt in (1, 2):
        # In production the bind is the engine (a connection of its own); the tests bind
        # the scoped session to one connection, and this session joins it by a savepoint.
        session = OrmSession(
            bind=Session.get_bind(),
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )
        try:
            row = session.get(JobRun, name)
            if row is None:
                row = JobRun(name=name)
                session.add(row)
            for key, value in fields.items():
                setattr(row, key, value)
            session.commit()
            return
        except IntegrityError:  # another process inserted the row first: update it
            session.rollback()
            if attempt == 2:
                log.exception("could not record the run of job %s", name)
        except Exception:
            session.rollback()
            log.exception("could not record the run of job %s", name)
            return
        finally:
            session.close()


# --- what the runs say --------------------------------------------------------------------


def last_runs() -> dict[str, JobRun]:
    """Each job's JobRun row by name (jobs that never ran are missing)."""
    return {run.name: run for run in Session.scalars(select(JobRun))}


def is_failing(run: JobRun | None) -> bool:
    """Whether the job's last outcome was an error."""
    if run is None or run.last_error_at is None:
        return False
    return run.last_success_at is None or run.last_error_at > run.last_success_at


def job_states() -> dict[str, dict[str, Any]]:
    """For /healthz: each job's last success and error times and whether it is failing,
    with only the error's class (error texts can hold addresses or SQL; /healthz is public)."""
    runs = last_runs()
    states = {}
    for name in sorted(JOBS):
        run = runs.get(name)
        failing = is_failing(run)
        states[name] = {
            "last_success_at": _iso(run.last_success_at if run else None),
            "last_error_at": _iso(run.last_error_at if run else None),
            "failing": failing,
            "error": _error_class(run.last_error) if failing else None,
        }
    return states


def _error_class(message: str | None) -> str:
    """The exception class that short_error() put first, or just "error"."""
    found = ERROR_CLASS.match(message or "")
    return found.group(1) if found else "error"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def missed_run(
    job: Job, timezone: tzinfo, now: datetime, last_success: datetime | None
) -> datetime | None:
    """The latest fire time within misfire_grace_time before `now` that has no successful
    run after it, or None."""
    trigger = job.make_trigger(timezone)
    fire = trigger.get_next_fire_time(None, now - timedelta(seconds=job.misfire_grace_time))
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    if latest is None or (last_success is not None and last_success >= latest):
        return None
    return latest


# --- the table ----------------------------------------------------------------------------


def send_mail(today: date) -> dict[str, Any]:
    """Send what is due in the outbox. Sending runs on the real clock (retry waits are
    real time), so `run-once send-mail --today` only pins clock.today() for the job."""
    from jobs.outbox import send_due

    return send_due(utcnow())


register(
    Job(
        "reminders",
        "jobs.reminders:run",
        "cron",
        {"hour": 6, "minute": 30},
        misfire_grace_time=6 * 3600,
        description="Decide today's reminders and queue the e-mails",
        catch_up=True,
    )
)
register(
    Job(
        "gains",
        "jobs.gains:run",
        "cron",
        # Before the reminders at 06:30, so the new estimates reach that morning's digest.
        {"day": 1, "hour": 6},
        misfire_grace_time=6 * 3600,
        description="Estimate the gains of the months, quarters and years that have ended",
        catch_up=True,
    )
)
register(
    Job(
        "send-mail",
        send_mail,
        "interval",
        {"minutes": 1},
        misfire_grace_time=30,
        description="Send due e-mails from the outbox (always on the real clock)",
    )
)
register(
    Job(
        "audit-verify",
        "jobs.audit:verify",
        "cron",
        {"hour": 1, "minute": 30},
        misfire_grace_time=12 * 3600,
        description="Recompute the audit chain and check it against the signed checkpoints",
        catch_up=True,
    )
)
register(
    Job(
        "audit-checkpoint",
        "jobs.audit:checkpoint",
        "cron",
        {"hour": 2, "minute": 0},
        misfire_grace_time=12 * 3600,
        description="Sign the audit chain's head into AUDIT_CHECKPOINT_DIR (AUDIT_SIGNING_KEY)",
        catch_up=True,
    )
)
register(
    Job(
        "red-flags",
        "jobs.red_flags:run",
        "cron",
        {"hour": 3, "minute": 0},
        misfire_grace_time=12 * 3600,
        description="Recompute the red flags (integrity rules) over the whole register",
        catch_up=True,
    )
)
