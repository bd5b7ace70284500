"""Verifying the audit chain: tampering by raw SQL is found and the first broken seq named,
signed checkpoints catch rewrites and cut tails, and two writers keep one chain."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
import threading
import time

import pytest
from alembic import command
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import OperationalError

from contracts.audit import checkpoints
from contracts.audit.models import GENESIS_HASH, AuditEvent
from contracts.audit.services import chain_hash, record
from contracts.audit.verify import verify_chain
from contracts.db import Session, utcnow
from contracts.dbcli import alembic_config, scratch_postgresql_database
from jobs import registry

EVENTS = AuditEvent.__table__


def _unlock(db) -> None:
    """Let this test's transaction change audit rows, as an owner of the database could (the
    transaction is rolled back after the test, triggers included)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    else:
        db.execute(text("DROP TRIGGER audit_events_no_update"))
        db.execute(text("DROP TRIGGER audit_events_no_delete"))


def _events(count: int = 6) -> list[AuditEvent]:
    made = [
        record(
            "update",
            entity_type="contracts",
            entity_id=i,
            before={"title": f"Avtale {i}"},
            after={"title": f"Avtale {i} endret", "estimated_value": "1250000.50"},
            summary=f"event {i}",
        )
        for i in range(count)
    ]
    Session.commit()  # only releases the test's savepoint; commands roll back what is open
    return made


def _head(db) -> tuple[int, str]:
    return db.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc())
    ).first()


def _shift(db, from_seq: int, by: int) -> None:
    """Renumber the events from a seq on (in two steps, past the unique seq)."""
    db.execute(update(EVENTS).where(EVENTS.c.seq >= from_seq).values(seq=EVENTS.c.seq + 10**7))
    db.execute(update(EVENTS).where(EVENTS.c.seq >= 10**7).values(seq=EVENTS.c.seq - 10**7 + by))


def _row(db, seq: int) -> dict:
    return dict(db.execute(select(EVENTS).where(EVENTS.c.seq == seq)).one()._mapping)


def test_an_untouched_chain_verifies(db):
    made = _events()
    result = verify_chain(db)
    assert result.ok, result.message
    assert result.count == made[-1].seq == db.scalar(select(func.count()).select_from(AuditEvent))
    assert result.head == made[-1].hash
    assert result.first_bad_seq is None
    assert result.line() == f"OK: {result.count} events, head {made[-1].hash}"


def test_the_database_refuses_updates_and_deletes(db):
    event = _events(1)[0]
    Session.commit()
    for statement in (
        update(EVENTS).where(EVENTS.c.seq == event.seq).values(summary="x"),
        delete(EVENTS).where(EVENTS.c.seq == event.seq),
    ):
        with pytest.raises(Exception), db.begin_nested():  # noqa: B017, PT011
            db.execute(statement)


def test_an_edited_event_is_named(db):
    made = _events()
    _unlock(db)
    target = made[2].seq
    db.execute(update(EVENTS).where(EVENTS.c.seq == target).values(after={"title": "Forfalsket"}))
    result = verify_chain(db)
    assert not result.ok
    assert (result.first_bad_seq, result.reason) == (target, "edited")
    assert result.count == target - 1


def test_an_edited_time_or_actor_is_found(db):
    made = _events()
    _unlock(db)
    db.execute(update(EVENTS).where(EVENTS.c.seq == made[1].seq).values(actor_label="noen@annen"))
    assert (verify_chain(db).first_bad_seq, verify_chain(db).reason) == (made[1].seq, "edited")


def test_a_deleted_event_is_named(db):
    made = _events()
    _unlock(db)
    target = made[3].seq
    db.execute(delete(EVENTS).where(EVENTS.c.seq == target))
    result = verify_chain(db)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, target, "deleted")


def test_a_deleted_event_with_the_rest_renumbered_is_named(db):
    made = _events()
    _unlock(db)
    target = made[3].seq
    db.execute(delete(EVENTS).where(EVENTS.c.seq == target))
    _shift(db, target + 1, -1)
    result = verify_chain(db)
    assert result.first_bad_seq == target
    assert result.reason in {"reordered", "inserted", "edited"}


def test_an_inserted_event_is_named(db):
    made = _events()
    _unlock(db)
    target = made[2].seq
    _shift(db, target, 1)
    forged = _row(db, target + 1) | {"seq": target, "summary": "forfalsket", "id": None}
    forged.pop("id")
    # A forger cannot reuse the real previous hash (prev_hash is unique), so any other.
    forged["prev_hash"] = "f" * 64
    forged["hash"] = chain_hash(forged["prev_hash"], forged)
    db.execute(insert(EVENTS).values(**forged))
    result = verify_chain(db)
    assert (result.first_bad_seq, result.reason) == (target, "inserted")


def test_a_forged_event_appended_without_the_head_is_named(db):
    made = _events()
    seq = made[-1].seq + 1
    forged = {
        "seq": seq,
        "occurred_at": utcnow(),
        "actor_id": None,
        "actor_label": "system",
        "ip": None,
        "action": "create",
        "entity_type": "contracts",
        "entity_id": 1,
        "contract_id": None,
        "summary": None,
        "before": None,
        "after": {"title": "Falsk"},
        "prev_hash": "e" * 64,
    }
    forged["hash"] = chain_hash(forged["prev_hash"], forged)
    db.execute(insert(EVENTS).values(**forged))  # inserting needs no unlocking
    result = verify_chain(db)
    assert (result.first_bad_seq, result.reason) == (seq, "inserted")


def test_two_swapped_events_are_named(db):
    made = _events()
    _unlock(db)
    first = made[2].seq
    db.execute(update(EVENTS).where(EVENTS.c.seq == first).values(seq=-1))
    db.execute(update(EVENTS).where(EVENTS.c.seq == first + 1).values(seq=first))
    db.execute(update(EVENTS).where(EVENTS.c.seq == -1).values(seq=first + 1))
    result = verify_chain(db)
    assert (result.first_bad_seq, result.reason) == (first, "reordered")


def test_a_changed_genesis_is_named(db):
    _events()
    _unlock(db)
    db.execute(update(EVENTS).where(EVENTS.c.seq == 1).values(prev_hash="1" * 64))
    result = verify_chain(db)
    assert (result.first_bad_seq, result.reason) == (1, "genesis")


# --- signed checkpoints --------------------------------------------------------------------


@pytest.fixture
def signing(app, tmp_path, monkeypatch):
    """A key made by keygen in tmp_path, configured with a checkpoint directory."""
    key_path = tmp_path / "keys" / "audit.pem"
    public_key = checkpoints.keygen(key_path)
    directory = tmp_path / "checkpoints"
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", str(key_path))
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(directory))
    monkeypatch.setitem(app.config, "AUDIT_PUBLIC_KEY", "")
    return key_path, public_key, directory


def _checkpoint(db) -> checkpoints.Checkpoint:
    made, path, written = checkpoints.make_checkpoint(db, utcnow())
    assert written and path.name == f"checkpoint-{made.seq}.json"
    return made


def _rewrite_from(db, seq: int) -> None:
    """Edit an event and recompute every hash from it on, as a careful forger would."""
    db.execute(update(EVENTS).where(EVENTS.c.seq == seq).values(summary="omskrevet"))
    prev_hash = _row(db, seq - 1)["hash"] if seq > 1 else GENESIS_HASH
    last = _head(db).seq
    for current in range(seq, last + 1):
        row = _row(db, current) | {"prev_hash": prev_hash}
        new_hash = chain_hash(prev_hash, row)
        db.execute(
            update(EVENTS).where(EVENTS.c.seq == current).values(prev_hash=prev_hash, hash=new_hash)
        )
        prev_hash = new_hash


def test_keygen_writes_a_private_key_only_the_owner_reads(signing):
    key_path, public_key, _directory = signing
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert len(base64.b64decode(public_key)) == 32
    assert checkpoints.public_key_text(checkpoints.load_signing_key().public_key()) == public_key
    with pytest.raises(FileExistsError):
        checkpoints.keygen(key_path)  # never overwritten


def test_a_checkpoint_is_signed_and_lies_on_the_chain(db, signing):
    _key_path, public_key, directory = signing
    made = _events()
    checkpoint = _checkpoint(db)
    assert (checkpoint.seq, checkpoint.head_hash, checkpoint.count) == (
        made[-1].seq,
        made[-1].hash,
        made[-1].seq,
    )
    body = json.loads((directory / f"checkpoint-{checkpoint.seq}.json").read_text())
    assert body["public_key"] == public_key and body["algorithm"] == "Ed25519"
    _events(2)
    result = checkpoints.verify_with_checkpoints(db, directory, public_key)
    assert result.ok and result.checkpoints == 1


def test_a_rewritten_chain_is_caught_by_the_checkpoint(db, signing):
    _key_path, public_key, directory = signing
    made = _events()
    checkpoint = _checkpoint(db)
    _events(2)
    _unlock(db)
    _rewrite_from(db, made[2].seq)
    assert verify_chain(db).ok  # the chain alone cannot tell
    result = checkpoints.verify_with_checkpoints(db, directory, public_key)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, checkpoint.seq, "rewritten")


def test_a_cut_tail_after_a_checkpoint_is_caught(db, signing):
    _key_path, public_key, directory = signing
    made = _events()
    checkpoint = _checkpoint(db)
    _unlock(db)
    keep = made[3].seq
    db.execute(delete(EVENTS).where(EVENTS.c.seq > keep))
    assert verify_chain(db).ok  # the chain alone cannot tell
    result = checkpoints.verify_with_checkpoints(db, directory, public_key)
    assert (result.first_bad_seq, result.reason) == (keep + 1, "truncated")
    assert str(checkpoint.seq) in result.message


def test_a_forged_or_foreign_checkpoint_is_refused(db, signing, tmp_path):
    _key_path, public_key, directory = signing
    _events()
    checkpoint = _checkpoint(db)
    path = directory / f"checkpoint-{checkpoint.seq}.json"
    body = json.loads(path.read_text())
    body["checkpoint"]["head_hash"] = "a" * 64
    path.write_text(json.dumps(body))
    result = checkpoints.verify_with_checkpoints(db, directory, public_key)
    assert (result.ok, result.reason) == (False, "bad_checkpoint")
    assert "signature" in result.message

    other = tmp_path / "other.pem"
    checkpoints.keygen(other)
    path.write_text(
        checkpoints.sign(
            checkpoints.load_signing_key(str(other)),
            checkpoint.seq,
            checkpoint.head_hash,
            utcnow(),
        ).as_json()
    )
    result = checkpoints.verify_with_checkpoints(db, directory, public_key)
    assert (result.ok, result.reason) == (False, "bad_checkpoint")
    assert "another key" in result.message


def test_a_broken_chain_is_never_signed(db, signing):
    made = _events()
    _unlock(db)
    db.execute(update(EVENTS).where(EVENTS.c.seq == made[1].seq).values(summary="x"))
    with pytest.raises(checkpoints.CheckpointError, match=f"seq {made[1].seq}"):
        checkpoints.make_checkpoint(db, utcnow())


def test_a_second_checkpoint_checks_only_what_is_new(db, signing):
    _key_path, public_key, directory = signing
    _events()
    first = _checkpoint(db)
    _events(3)
    second = _checkpoint(db)
    assert second.seq == first.seq + 3
    again, _path, written = checkpoints.make_checkpoint(db, utcnow())
    assert not written and again.seq == second.seq
    result = checkpoints.verify_with_checkpoints(db, directory, public_key)
    assert result.ok and result.checkpoints == 2


# --- the command line -------------------------------------------------------------------------


def test_verify_command_exit_codes(db, runner):
    made = _events()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.strip() == f"OK: {made[-1].seq} events, head {made[-1].hash}"
    _unlock(db)
    db.execute(update(EVENTS).where(EVENTS.c.seq == made[4].seq).values(after={"x": 1}))
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"BROKEN at seq {made[4].seq} (edited)" in broken.output


def test_checkpoint_command_without_a_key_explains(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", "")
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code != 0
    assert "AUDIT_SIGNING_KEY" in result.output and "audit keygen" in result.output


def test_keygen_checkpoint_and_verify_commands(app, db, runner, tmp_path, monkeypatch):
    key_path = tmp_path / "k" / "audit.pem"
    made = runner.invoke(args=["audit", "keygen", str(key_path)])
    assert made.exit_code == 0, made.output
    public_key = made.output.split("public key:")[1].split()[0]
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert runner.invoke(args=["audit", "keygen", str(key_path)]).exit_code != 0

    directory = tmp_path / "cps"
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", str(key_path))
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(directory))
    events = _events()
    signed = runner.invoke(args=["audit", "checkpoint"])
    assert signed.exit_code == 0, signed.output
    assert (directory / f"checkpoint-{events[-1].seq}.json").is_file()

    args = ["audit", "verify", "--checkpoints", str(directory), "--public-key", public_key]
    ok = runner.invoke(args=args)
    assert ok.exit_code == 0, ok.output
    assert "1 checkpoints" in ok.output

    _unlock(db)
    db.execute(delete(EVENTS).where(EVENTS.c.seq == events[-1].seq))
    cut = runner.invoke(args=args)
    assert cut.exit_code == 1
    assert f"BROKEN at seq {events[-1].seq} (truncated)" in cut.output


# --- the nightly jobs ----------------------------------------------------------------------


def test_the_checkpoint_job_fails_clearly_without_a_key(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", "")
    outcome = registry.run_job("audit-checkpoint")
    assert not outcome["ok"]
    assert "AUDIT_SIGNING_KEY" in outcome["error"]
    health = client.get("/healthz").get_json()
    assert health["scheduler"]["jobs"]["audit-checkpoint"]["failing"] is True
    assert health["audit"]["signing_key"] is False


def test_the_jobs_verify_and_sign(app, db, signing):
    _events()
    verified = registry.run_job("audit-verify")
    assert verified["ok"], verified
    assert verified["result"]["ok"] is True
    signed = registry.run_job("audit-checkpoint")
    assert signed["ok"], signed
    assert signed["result"]["written"] is True
    assert registry.run_job("audit-verify")["result"]["checkpoints"] == 1


def test_the_verify_job_fails_on_a_broken_chain(db):
    made = _events()
    _unlock(db)
    db.execute(delete(EVENTS).where(EVENTS.c.seq == made[2].seq))
    outcome = registry.run_job("audit-verify")
    assert not outcome["ok"]
    assert outcome["error"].startswith("ChainBroken:")
    assert f"seq {made[2].seq}" in outcome["error"]


# --- two writers at once ------------------------------------------------------------------------


@pytest.fixture
def own_database(tmp_path):
    """A database of its own, on the engine the suite runs on, for work that commits."""
    base = os.environ.get("TEST_DATABASE_URL")
    with contextlib.ExitStack() as stack:
        if base:
            url = stack.enter_context(scratch_postgresql_database(base, "kr_audit"))
        else:
            url = f"sqlite:///{tmp_path / 'audit.db'}"
        command.upgrade(alembic_config(url), "head")
        yield url


def test_two_writers_append_to_one_chain(own_database, tmp_path, app):
    """Each thread records and commits events one by one on its own connection: appends are
    serialised (advisory lock on PostgreSQL, the single writer on SQLite), so the chain
    stays one line without forks."""
    from wsgi import create_app

    other = create_app({"TESTING": True, "DATABASE_URL": own_database, "SECRET_KEY": "w"})
    other.instance_path = str(tmp_path / "instance")
    engine = other.extensions["engine"]
    Session.remove()
    Session.configure(bind=engine)
    per_thread = 25
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            with other.app_context():
                barrier.wait(timeout=10)
                for i in range(per_thread):
                    for attempt in range(100):
                        try:
                            record("update", entity_type="test", entity_id=worker, after={"i": i})
                            Session.commit()
                            break
                        except OperationalError:  # SQLite: the other writer holds the file
                            Session.rollback()
                            if attempt == 99:
                                raise
                            time.sleep(0.005 * (attempt % 10 + 1))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            Session.remove()

    try:
        with other.app_context():
            before = Session.scalar(select(func.count()).select_from(AuditEvent))
            Session.remove()
        threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        with other.app_context():
            session = Session()
            result = verify_chain(session)
            assert result.ok, result.message
            assert result.count == before + 2 * per_thread
            workers = session.scalars(
                select(AuditEvent.entity_id).where(AuditEvent.entity_type == "test")
            ).all()
            assert sorted(set(workers)) == [0, 1]
            distinct_prev = session.scalar(select(func.count(func.distinct(AuditEvent.prev_hash))))
            assert distinct_prev == result.count  # no two events follow the same one
            Session.remove()
    finally:
        Session.remove()
        engine.dispose()
