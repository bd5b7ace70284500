"""Senders at the same time, committing for real: each message is delivered exactly once.

These run against a database of their own (a scratch PostgreSQL database when
TEST_DATABASE_URL is set, else a SQLite file), because the sender commits and two threads
need two connections. Each thread has its own session (the scoped session is per thread).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter
from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import event, select

from contracts.db import Session, utcnow
from contracts.dbcli import alembic_config, scratch_postgresql_database
from jobs import outbox
from jobs.models import OutboxMessage, OutboxStatus
from tests.smtp_server import smtp_server

MESSAGES = 40
TO = "eier@asker.kommune.no"


@pytest.fixture
def own_database(tmp_path):
    """A database of its own, on the engine the suite runs on, for work that commits."""
    base = os.environ.get("TEST_DATABASE_URL")
    with contextlib.ExitStack() as stack:
        if base:
            url = stack.enter_context(scratch_postgresql_database(base, "kr_outbox"))
        else:
            url = f"sqlite:///{tmp_path / 'outbox.db'}"
        command.upgrade(alembic_config(url), "head")
        yield url


@pytest.fixture
def sender_app(own_database, tmp_path, app):
    """An app on the own database that sends to a running SMTP server: (app, server)."""
    from wsgi import create_app

    with smtp_server() as server:
        other = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": own_database,
                "SECRET_KEY": "senders",
                "MAIL_TIMEOUT": 5,
                **server.config,
            }
        )
        other.instance_path = str(tmp_path / "instance")
        engine = other.extensions["engine"]
        Session.remove()
        Session.configure(bind=engine)
        try:
            yield other, server
        finally:
            Session.remove()
            engine.dispose()


def _in_threads(app, work, count: int = 2) -> list:
    """Run work(i) in `count` threads started together, each in its own app context."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results[i] = work(i)
        except BaseException as error:  # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def _make_first_claims_meet(engine) -> None:
    """Hold each sender's first claim until the other's is as far: both have picked their
    rows (PostgreSQL) or are about to (SQLite) before either marks them. Without the row
    locks or the guarded UPDATE, both would then claim, and send, the same rows."""
    meeting = threading.Barrier(2)
    waited = threading.local()

    def meet() -> None:
        if not getattr(waited, "done", False):
            waited.done = True
            with contextlib.suppress(threading.BrokenBarrierError):
                meeting.wait(timeout=2)

    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "after_cursor_execute")
        def after(conn, cursor, statement, parameters, context, executemany):
            if "FOR UPDATE SKIP LOCKED" in statement:
                meet()  # the rows are picked and locked; the UPDATE comes next

    else:

        @event.listens_for(engine, "before_cursor_execute")
        def before(conn, cursor, statement, parameters, context, executemany):
            if statement.startswith("UPDATE outbox") and "RETURNING" in statement:
                meet()  # one of the two waits for the other's write lock, then re-checks


def test_two_senders_at_once_deliver_each_message_exactly_once(sender_app):
    app, server = sender_app
    with app.app_context():
        for n in range(MESSAGES):
            outbox.enqueue(
                key=f"concurrent:{n}",
                to_address=f"mottaker{n}@asker.kommune.no",
                subject=f"Melding {n}",
                body_text="Tekst",
                due_date=date(2026, 3, 1) + timedelta(days=n),
            )
        Session.commit()

    _make_first_claims_meet(app.extensions["engine"])

    def send_until_done(_i: int) -> list[dict[str, int]]:
        runs = []
        while True:
            counts = outbox.send_due(utcnow(), limit=3)
            runs.append(counts)
            if not any(counts.values()):
                return runs

    results = _in_threads(app, send_until_done)

    ids = Counter(message["Message-ID"] for message in server.messages)
    assert len(ids) == MESSAGES and set(ids.values()) == {1}
    sent_by = [sum(run["sent"] for run in runs) for runs in results]
    assert sum(sent_by) == MESSAGES
    assert all(run["retry"] == run["dead"] == 0 for runs in results for run in runs)
    with app.app_context():
        rows = Session.scalars(select(OutboxMessage)).all()
        assert {(m.status, m.attempts) for m in rows} == {(OutboxStatus.SENT, 1)}


def test_a_sender_that_stopped_mid_batch_is_replaced_without_doubles(sender_app):
    """A sender claims a batch and dies before sending; once its lease has run out another
    sender delivers the batch, and nothing already sent goes out again."""
    app, server = sender_app
    now = utcnow()
    with app.app_context():
        for n in range(6):
            outbox.enqueue(key=f"k{n}", to_address=TO, subject=f"M{n}", body_text="Tekst")
        Session.commit()
        assert outbox.send_due(now, limit=2)["sent"] == 2
        ids, _lease = outbox._claim(now, 3)  # claimed and committed, then the process died
        assert len(ids) == 3
        Session.remove()

    with app.app_context():
        assert outbox.send_due(now)["sent"] == 1  # the claimed three wait for the lease
        assert outbox.send_due(now + outbox.CLAIM_LEASE + timedelta(seconds=1))["sent"] == 3
        Session.remove()
    assert len(server.envelopes) == 6
    assert len({m["Message-ID"] for m in server.messages}) == 6


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="SQLite has one writer: two transactions cannot both insert at once",
)
def test_two_transactions_enqueueing_the_same_key_make_one_row(sender_app, monkeypatch):
    """Both look, find nothing, insert: the second waits for the first, hits the unique key
    inside its savepoint and returns the first one's row."""
    app, _server = sender_app
    looked = threading.Barrier(2)
    real_by_key = outbox._by_key
    first_look = threading.local()

    def look_together(key):
        found = real_by_key(key)
        if not getattr(first_look, "done", False):
            first_look.done = True
            looked.wait(timeout=10)
        return found

    monkeypatch.setattr(outbox, "_by_key", look_together)

    def enqueue(i: int) -> int:
        message = outbox.enqueue(key="same", to_address=TO, subject=f"Fra {i}", body_text="T")
        time.sleep(0.2 if i == 0 else 0)  # the first holds its insert open for a moment
        Session.commit()
        return message.id

    first, second = _in_threads(app, enqueue)
    assert first == second
    with app.app_context():
        assert len(Session.scalars(select(OutboxMessage)).all()) == 1
