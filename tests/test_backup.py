"""`flask backup create` and `flask backup restore` on the engine the suite runs on.

These commit for real, so they use databases of their own: the source (upgraded and
filled here) and a fresh target (a new SQLite file, or a freshly created, empty
PostgreSQL database), both dropped afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session as OrmSession

from contracts.audit.models import AuditEvent
from contracts.audit.services import record
from contracts.backup import postgresql, services
from contracts.backup.manifest import BackupError, Manifest, manifest_path
from contracts.db import Session
from contracts.dbcli import alembic_config, scratch_postgresql_database
from contracts.register.models import Contract
from tests import factories

BASE = os.environ.get("TEST_DATABASE_URL")
ENGINE = "postgresql" if BASE else "sqlite"


@contextlib.contextmanager
def _database(tmp_path: Path, name: str, *, upgraded: bool) -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        if BASE:
            url = stack.enter_context(scratch_postgresql_database(BASE, f"kr_{name}"))
        else:
            url = f"sqlite:///{tmp_path / f'{name}.db'}"
        if upgraded:
            command.upgrade(alembic_config(url), "head")
        yield url


def _app(url: str, tmp_path: Path, name: str) -> Flask:
    from wsgi import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": name})
    app.instance_path = str(tmp_path / f"{name}-instance")
    return app


@pytest.fixture
def source(tmp_path) -> Iterator[Flask]:
    """An app on a database of its own with three contracts and their audit events."""
    with _database(tmp_path, "backup_source", upgraded=True) as url:
        app = _app(url, tmp_path, "source")
        with _bound(app):
            for _ in range(3):
                factories.make_contract()
            Session.commit()
        yield app
        app.extensions["engine"].dispose()


@pytest.fixture
def target(tmp_path) -> Iterator[Flask]:
    """An app on a fresh database that nothing has touched yet."""
    with _database(tmp_path, "backup_target", upgraded=False) as url:
        app = _app(url, tmp_path, "target")
        yield app
        app.extensions["engine"].dispose()


@contextlib.contextmanager
def _bound(app: Flask) -> Iterator[None]:
    """The scoped session on `app`'s database (the suite binds it to its own transaction;
    fixture `db` binds it back after the test)."""
    Session.remove()
    Session.configure(bind=app.extensions["engine"])
    try:
        with app.app_context():
            yield
    finally:
        Session.remove()


def _cli(app: Flask, *args: str):
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def _create(app: Flask, directory: Path) -> Path:
    result = _cli(app, "backup", "create", str(directory))
    assert result.exit_code == 0, result.output + result.stderr
    return Path(result.stdout.strip())


def _counts(app: Flask) -> tuple[int, int, tuple[int, str] | None]:
    with app.extensions["engine"].connect() as conn:
        contracts = conn.scalar(select(func.count()).select_from(Contract))
        events = conn.scalar(select(func.count()).select_from(AuditEvent))
        head = conn.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
    return contracts, events, tuple(head) if head else None


def _tables(app: Flask) -> list[str]:
    return services.target_tables(app.extensions["engine"])


# --- create, then restore into a fresh database ----------------------------------------------


def test_a_backup_made_while_the_app_writes_restores_into_a_fresh_database(
    source, target, tmp_path
):
    written = [0]
    started, stop = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        # Another connection appends audit events, one commit each, all the time.
        try:
            with source.app_context():
                while not stop.is_set():
                    try:
                        record("update", entity_type="test", entity_id=1, after={"n": written[0]})
                        Session.commit()
                        written[0] += 1
                    except OperationalError:  # SQLite: the single writer is busy
                        Session.rollback()
                        time.sleep(0.005)
                    if written[0] >= 5:
                        started.set()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
            started.set()
        finally:
            Session.remove()

    with _bound(source):
        writer = threading.Thread(target=write)
        writer.start()
        try:
            assert started.wait(30)
            before = _counts(source)[1]
            path = _create(source, tmp_path / "backups")
            after = _counts(source)[1]
        finally:
            stop.set()
            writer.join(30)
    assert not errors
    assert after > before  # the writer went on while the backup was made

    manifest = Manifest(**json.loads(manifest_path(path).read_text()))
    assert path.name.startswith(f"kontraktsregister-{ENGINE}-")
    assert manifest.revision and path.name.endswith(
        f"-{manifest.revision}{services.ENGINES[ENGINE][1]}"
    )
    assert manifest.engine == ENGINE
    assert manifest.size == path.stat().st_size
    assert path.stat().st_mode & 0o077 == 0  # personal data: the owner's only
    assert before <= manifest.audit_seq <= after
    assert manifest.rows["contracts"] == 3

    assert _tables(target) == []
    result = _cli(target, "backup", "restore", str(path))
    assert result.exit_code == 0, result.output + result.stderr
    assert f"OK: {manifest.audit_seq} events, head {manifest.audit_head}" in result.stdout
    assert _counts(target) == (3, manifest.audit_seq, (manifest.audit_seq, manifest.audit_head))

    # The restored database is the source as it was at one moment: a consistent chain.
    with _bound(target):  # `audit verify` reads through the app's scoped session
        verify = _cli(target, "audit", "verify")
    assert verify.exit_code == 0, verify.stderr
    assert verify.stdout.startswith(f"OK: {manifest.audit_seq} events")


def test_a_restore_replaces_a_database_with_data_only_with_force(source, target, tmp_path):
    path = _create(source, tmp_path / "backups")
    assert _cli(target, "backup", "restore", str(path)).exit_code == 0
    with _bound(target):
        factories.make_contract()
        Session.commit()
    changed = _counts(target)

    refused = _cli(target, "backup", "restore", str(path))
    assert refused.exit_code == 1
    assert "is not empty" in refused.stderr and "--force" in refused.stderr
    assert _counts(target) == changed

    forced = _cli(target, "backup", "restore", "--force", str(path))
    assert forced.exit_code == 0, forced.stderr
    assert _counts(target) == _counts(source)


def test_restoring_into_the_source_itself_is_refused(source, tmp_path):
    path = _create(source, tmp_path / "backups")
    result = _cli(source, "backup", "restore", str(path))
    assert result.exit_code == 1
    assert "is not empty" in result.stderr


# --- refused files ---------------------------------------------------------------------------


def test_a_changed_backup_file_is_refused(source, target, tmp_path):
    path = _create(source, tmp_path / "backups")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    result = _cli(target, "backup", "restore", str(path))
    assert result.exit_code == 1
    assert "does not match its manifest" in result.stderr
    assert _tables(target) == []


def test_a_backup_without_its_manifest_is_refused(source, target, tmp_path):
    path = _create(source, tmp_path / "backups")
    manifest_path(path).unlink()
    result = _cli(target, "backup", "restore", str(path))
    assert result.exit_code == 1
    assert "without its manifest" in result.stderr


def _other_engines_backup(directory: Path) -> Path:
    """A well-formed backup of the other engine, with a manifest that matches it."""
    directory.mkdir()
    if ENGINE == "sqlite":
        kind, path = "postgresql", directory / "kontraktsregister-postgresql-x.dump"
        path.write_bytes(postgresql.MAGIC + b"\x01\x0e\x00" + b"\x00" * 64)
    else:
        kind, path = "sqlite", directory / "kontraktsregister-sqlite-x.sqlite3"
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("CREATE TABLE t (x)")
            conn.commit()
    facts = services.Facts("head", 0, None, {})
    services.write_manifest(
        path, Manifest.describe(path, kind, facts, datetime.now(UTC).isoformat())
    )
    return path


def test_another_engines_backup_is_refused(target, tmp_path):
    path = _other_engines_backup(tmp_path / "other")
    result = _cli(target, "backup", "restore", str(path))
    assert result.exit_code == 1
    other = "PostgreSQL" if ENGINE == "sqlite" else "SQLite"
    assert f"is a {other} backup and DATABASE_URL is a" in result.stderr
    assert _tables(target) == []


def test_a_manifest_that_names_another_engine_is_refused(source, target, tmp_path):
    path = _create(source, tmp_path / "backups")
    manifest = json.loads(manifest_path(path).read_text())
    manifest["engine"] = "postgresql" if ENGINE == "sqlite" else "sqlite"
    manifest_path(path).write_text(json.dumps(manifest))
    result = _cli(target, "backup", "restore", str(path))
    assert result.exit_code == 1
    assert "but its manifest says" in result.stderr


def test_an_unreachable_database_is_a_clear_error(source, tmp_path):
    path = _create(source, tmp_path / "backups")
    if ENGINE == "sqlite":
        url = f"sqlite:///{tmp_path / 'no' / 'such' / 'directory' / 'register.db'}"
    else:
        url = make_url(BASE).set(host="127.0.0.1", port=1).render_as_string(hide_password=False)
    nowhere = _app(url, tmp_path, "nowhere")
    try:
        result = _cli(nowhere, "backup", "restore", str(path))
    finally:
        nowhere.extensions["engine"].dispose()
    assert result.exit_code == 1
    assert "cannot use the database in DATABASE_URL: " in result.stderr
    assert "Traceback" not in result.output + result.stderr


# --- the restored chain ----------------------------------------------------------------------


def _break_the_chain(app: Flask) -> None:
    """Edit an audit event behind the append-only triggers' back (as an intruder could)."""
    with app.extensions["engine"].begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET summary = 'edited' WHERE seq = 2"))


def test_a_restored_chain_that_fails_verification_exits_non_zero(source, target, tmp_path):
    _break_the_chain(source)
    path = _create(source, tmp_path / "backups")
    result = _cli(target, "backup", "restore", str(path))
    assert result.exit_code == 1
    assert "BROKEN at seq 2 (edited)" in result.stderr


def test_a_restored_database_is_compared_with_its_manifest(source, target, tmp_path):
    """What the manifest's row counts and table list catch (here: rows and a table added
    after the restore, as a restore that went wrong could leave them)."""
    path = _create(source, tmp_path / "backups")
    assert _cli(target, "backup", "restore", str(path)).exit_code == 0
    manifest = Manifest(**json.loads(manifest_path(path).read_text()))
    engine = target.extensions["engine"]
    with OrmSession(engine) as session:
        assert services.check_restored(session, manifest).ok
    with _bound(target):
        factories.make_unit()
        Session.commit()
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE stray (id INTEGER)"))
    with OrmSession(engine) as session:
        check = services.check_restored(session, manifest)
    assert not check.ok and check.chain.ok
    assert "table units: 4 rows, the backup has 3" in check.problems
    assert "tables the backup does not have: stray" in check.problems


# --- PostgreSQL's tools ----------------------------------------------------------------------


def test_missing_pg_tools_are_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="pg_dump is not on PATH: install the PostgreSQL"):
        postgresql.program("pg_dump")


@pytest.mark.skipif(ENGINE != "postgresql", reason="pg_dump backs up PostgreSQL only")
def test_backup_create_without_pg_dump_says_so(source, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = _cli(source, "backup", "create", str(tmp_path / "backups"))
    assert result.exit_code == 1
    assert "pg_dump is not on PATH" in result.stderr
    assert not list((tmp_path / "backups").iterdir())  # no half-made file left behind


def test_the_password_goes_to_pg_dump_in_the_environment(monkeypatch, tmp_path):
    calls = []

    def run(argv, **kwargs):
        calls.append((argv, kwargs["env"]))
        return postgresql.subprocess.CompletedProcess(argv, 0, "", "")

    class Snapshot:
        def scalar(self, _query):
            return "00000003-00000002-1"

    monkeypatch.setattr(postgresql.subprocess, "run", run)
    monkeypatch.setattr(postgresql.shutil, "which", lambda name: f"/usr/bin/{name}")
    url = make_url(
        "postgresql+psycopg://kontrakt:s3cret@db.kommune.no:5433/register?sslmode=require"
    )
    postgresql.dump(Snapshot(), url, tmp_path / "out.dump")
    [(argv, env)] = calls
    assert argv[0] == "/usr/bin/pg_dump"
    assert "--format=custom" in argv and "--snapshot=00000003-00000002-1" in argv
    assert not any("s3cret" in arg or "kontrakt" in arg or "db.kommune" in arg for arg in argv)
    assert (env["PGPASSWORD"], env["PGUSER"], env["PGHOST"], env["PGPORT"]) == (
        "s3cret",
        "kontrakt",
        "db.kommune.no",
        "5433",
    )
    assert (env["PGDATABASE"], env["PGSSLMODE"]) == ("register", "require")


def test_an_unknown_url_option_is_refused_rather_than_dropped():
    url = make_url("postgresql+psycopg://kontrakt@db/register?frobnicate=1")
    with pytest.raises(BackupError, match="'frobnicate' cannot be given to pg_dump"):
        postgresql.libpq_environment(url)
