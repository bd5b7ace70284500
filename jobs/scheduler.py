"""The scheduler process (`flask --app wsgi jobs run`) and the lock that lets one copy hold
the clock at a time.

This is the only place a scheduler starts: never in the web workers, never in the tests.
A second copy, started by mistake or on another machine, waits for the lock instead of
running the jobs twice. On PostgreSQL the lock is a session-level advisory lock on a
connection of its own, held for the life of the process (the server drops it when the
process dies); on SQLite it is a row in scheduler_lock with a lease that an internal job
renews. Jobs stay idempotent all the same: a copy that stalls past its lease can overlap
the next holder for a moment before it notices and stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import Connection, Engine, delete, insert, or_, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from contracts.db import Session, utcnow
from contracts.home.health import add_check
from jobs import registry
from jobs.models import SchedulerLock

if TYPE_CHECKING:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)

CLOCK = "clock"  # SchedulerLock.name
# The advisory lock's key: b"kr-clock" read as a bigint. pg_locks shows it as classid
# (high 32 bits), objid (low 32 bits) and objsubid 1.
ADVISORY_KEY = int.from_bytes(b"kr-clock", "big")
LEASE = timedelta(seconds=90)
RENEW_SECONDS = 30  # three renewals per lease: one missed renewal loses nothing
RETRY_SECONDS = 30  # how often a waiting copy tries to take the clock
WORKERS = 4
RENEW_JOB = "_clock-lock"

_ADVISORY_HELD = """
SELECT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 1
      AND classid::bigint = :high AND objid::bigint = :low
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      {only_mine}
)
"""


class ClockLock(Protocol):
    def acquire(self, now: datetime | None = None) -> bool: ...
    def renew(self, now: datetime | None = None) -> bool: ...
    def release(self) -> None: ...


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"[:120]


class LeaseLock:
    """The clock as a row with a lease (SQLite): free when missing or expired. Taking it is
    one guarded UPDATE, or an INSERT that the primary key lets only one process win."""

    def __init__(
        self,
        engine: Engine,
        *,
        holder: str | None = None,
        lease: timedelta = LEASE,
        name: str = CLOCK,
    ) -> None:
        self.engine = engine
        self.holder = (holder or _holder())[:120]
        self.lease = lease
        self.name = name
        self.lease_until: datetime | None = None

    def acquire(self, now: datetime | None = None) -> bool:
        """Take the clock if it is free, expired or already ours."""
        now = now or utcnow()
        until = now + self.lease
        table = SchedulerLock.__table__
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(table)
                .where(
                    table.c.name == self.name,
                    or_(table.c.holder == self.holder, table.c.lease_until < now),
                )
                .values(holder=self.holder, lease_until=until)
            ).rowcount
        if not taken:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(table).values(name=self.name, holder=self.holder, lease_until=until)
                    )
            except IntegrityError:  # the row exists and is someone else's
                return False
        self.lease_until = until
        return True

    def renew(self, now: datetime | None = None) -> bool:
        """Extend the lease; False when the row is gone or someone else holds it."""
        now = now or utcnow()
        until = now + self.lease
        table = SchedulerLock.__table__
        try:
            with self.engine.begin() as conn:
                kept = conn.execute(
                    update(table)
                    .where(table.c.name == self.name, table.c.holder == self.holder)
                    .values(lease_until=until)
                ).rowcount
        except DBAPIError:
            # A busy or unreachable database: the clock is still ours until the lease ends.
            log.warning("could not renew the clock lease", exc_info=True)
            return self.lease_until is not None and now < self.lease_until
        self.lease_until = until if kept else None
        return bool(kept)

    def release(self) -> None:
        """Give the clock up (harmless when it is not ours)."""
        self.lease_until = None
        table = SchedulerLock.__table__
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    delete(table).where(table.c.name == self.name, table.c.holder == self.holder)
                )
        except DBAPIError:
            log.warning("could not release the clock lease; it ends by itself", exc_info=True)


class AdvisoryLock:
    """The clock as a PostgreSQL session-level advisory lock on a connection of its own,
    held until release() or the end of the process."""

    def __init__(self, engine: Engine, *, key: int = ADVISORY_KEY) -> None:
        self.engine = engine
        self.key = key
        self._connection: Connection | None = None

    @property
    def _params(self) -> dict[str, int]:
        return {"key": self.key, "high": self.key >> 32, "low": self.key & 0xFFFFFFFF}

    def acquire(self, now: datetime | None = None) -> bool:
        """Take the clock if no other session holds it (`now` is unused: no lease)."""
        if self._connection is not None:
            return self.renew()
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # Out of the pool: closing it really closes the session, so the lock can never
        # stay behind in a pooled connection.
        connection.detach()
        try:
            taken = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), self._params)
        except BaseException:
            connection.close()
            raise
        if taken:
            self._connection = connection
            return True
        connection.close()
        return False

    def renew(self, now: datetime | None = None) -> bool:
        """Check that the lock's connection is alive and still holds it."""
        if self._connection is None:
            return False
        try:
            held = self._connection.scalar(
                text(_ADVISORY_HELD.format(only_mine="AND pid = pg_backend_pid()")),
                self._params,
            )
        except DBAPIError as error:
            reason = str(error.orig or error).splitlines()[0]
            log.warning("the clock lock's connection is gone: %s", reason)
            held = False
        if not held:
            self._close()
        return bool(held)

    def release(self) -> None:
        """Give the clock up and close the lock's connection."""
        if self._connection is None:
            return
        with contextlib.suppress(DBAPIError):  # closing the session releases it anyway
            self._connection.scalar(text("SELECT pg_advisory_unlock(:key)"), self._params)
        self._close()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except DBAPIError:
                log.debug("closing the clock lock's connection failed", exc_info=True)


def make_lock(engine: Engine) -> ClockLock:
    """The clock lock for the engine: advisory on PostgreSQL, a lease row otherwise."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    return LeaseLock(engine)


def clock_held() -> bool:
    """Whether some scheduler process holds the clock now (through the app's session)."""
    if Session.get_bind().dialect.name == "postgresql":
        key = ADVISORY_KEY
        held = Session.scalar(
            text(_ADVISORY_HELD.format(only_mine="")),
            {"high": key >> 32, "low": key & 0xFFFFFFFF},
        )
        return bool(held)
    lease = Session.scalar(select(SchedulerLock.lease_until).where(SchedulerLock.name == CLOCK))
    return lease is not None and lease > utcnow()


# --- the scheduler ------------------------------------------------------------------------


def build_scheduler(
    app: Flask,
    *,
    lock: ClockLock | None = None,
    on_lost: Callable[[], None] | None = None,
    executor: ThreadPoolExecutor | None = None,
    now: datetime | None = None,
) -> BlockingScheduler:
    """The configured scheduler, not started: the registry's jobs in APP_TIMEZONE with
    their misfire_grace_time, coalescing, one instance each; with a lock, the internal
    job that renews it and, when it is gone, calls on_lost and shuts the scheduler down.

    Needs an app context (it reads JobRun to catch up on missed daily runs).
    """
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    timezone = ZoneInfo(app.config["APP_TIMEZONE"])
    now = now or datetime.now(timezone)
    scheduler = BlockingScheduler(
        timezone=timezone,
        jobstores={"default": MemoryJobStore()},
        executors={"default": executor or ThreadPoolExecutor(max_workers=WORKERS)},
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    successes = _last_successes()
    for job in registry.JOBS.values():
        options: dict[str, Any] = {}
        if job.catch_up:
            missed = registry.missed_run(job, timezone, now, successes.get(job.name))
            if missed is not None:
                log.info("job %s missed its run at %s; running it now", job.name, missed)
                options["next_run_time"] = now
        scheduler.add_job(
            registry.run_scheduled,
            trigger=job.make_trigger(timezone),
            args=(app, job.name),
            id=job.name,
            name=job.name,
            misfire_grace_time=job.misfire_grace_time,
            coalesce=True,
            max_instances=1,
            **options,
        )
    if lock is not None:

        def renew() -> None:
            if lock.renew():
                return
            log.error("lost the clock lock; stopping the jobs")
            if on_lost is not None:
                on_lost()
            if scheduler.running:
                scheduler.shutdown(wait=False)  # from a worker thread: returns at once

        scheduler.add_job(
            renew,
            trigger=IntervalTrigger(seconds=RENEW_SECONDS, timezone=timezone),
            id=RENEW_JOB,
            name="renew the clock lock",
            misfire_grace_time=RENEW_SECONDS,
            coalesce=True,
            max_instances=1,
        )
    return scheduler


def _last_successes() -> dict[str, datetime]:
    try:
        runs = registry.last_runs()
    except DBAPIError:
        log.warning("could not read the last job runs; no catching up", exc_info=True)
        Session.rollback()
        return {}
    return {name: run.last_success_at for name, run in runs.items() if run.last_success_at}


def wait_for_clock(
    lock: ClockLock, retry_seconds: float, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Try to take the clock every retry_seconds until it is ours."""
    told = None
    while True:
        try:
            if lock.acquire():
                log.info("took the clock")
                return
            message = "another scheduler holds the clock; waiting"
        except DBAPIError:
            log.debug("trying the clock lock failed", exc_info=True)
            message = "cannot reach the database to take the clock; waiting"
        if message != told:  # once, not every retry
            log.warning("%s (trying every %s s)", message, retry_seconds)
            told = message
        sleep(retry_seconds)


class _Stop(Exception):
    """SIGTERM or SIGINT arrived."""


class _Signals:
    """SIGTERM and SIGINT raise _Stop in the main thread, once; while cleaning up they
    only note the request, so the lock is always released."""

    def __init__(self) -> None:
        self.stop_requested = False
        self.deferred = False

    def __call__(self, signum: int, _frame: Any) -> None:
        first = not self.stop_requested
        self.stop_requested = True
        if first and not self.deferred:
            raise _Stop(signal.Signals(signum).name)


def serve(
    app: Flask, *, lock: ClockLock | None = None, retry_seconds: float = RETRY_SECONDS
) -> None:
    """Wait for the clock, then run the jobs until SIGTERM or SIGINT; if the lock is lost,
    stop the jobs and wait for it again. Needs an app context (the CLI's)."""
    from apscheduler.executors.pool import ThreadPoolExecutor

    lock = lock or make_lock(app.extensions["engine"])
    signals = _Signals()
    previous = {sig: signal.signal(sig, signals) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            wait_for_clock(lock, retry_seconds)
            lost = threading.Event()
            executor = ThreadPoolExecutor(max_workers=WORKERS)
            scheduler = build_scheduler(app, lock=lock, on_lost=lost.set, executor=executor)
            # End the read build_scheduler made: an open transaction would sit idle for the
            # life of the process (and keep SQLite's WAL from being checkpointed).
            Session.remove()
            try:
                log.info("running jobs: %s", ", ".join(sorted(registry.JOBS)))
                scheduler.start()
            finally:
                signals.deferred = True
                if scheduler.running:
                    scheduler.shutdown(wait=False)
                log.info("stopping; waiting for running jobs to finish")
                executor.shutdown(wait=True)
                lock.release()
                signals.deferred = False
            if signals.stop_requested or not lost.is_set():
                break
            log.warning("waiting to take the clock again")
    except _Stop as stop:
        log.info("stopped by %s", stop)
    finally:
        signals.deferred = True
        lock.release()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("the scheduler has stopped and released the clock")


# --- /healthz -----------------------------------------------------------------------------


def health() -> dict[str, Any]:
    """The clock in /healthz: whether a scheduler holds it, and each job's last runs."""
    return {"clock_held": clock_held(), "jobs": registry.job_states()}


def connect() -> None:
    """Add the clock to /healthz (called once per app; calling twice is harmless)."""
    add_check("scheduler", health)
