"""Make a backup with its manifest; restore one and check the result against the manifest.

Both engines: SQLite through the sqlite3 backup API (contracts/backup/sqlite.py),
PostgreSQL through pg_dump/pg_restore (contracts/backup/postgresql.py). Nothing here
commits the app's session: a backup reads, a restore replaces the database under it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, inspect, select, table, text
from sqlalchemy.orm import Session as OrmSession

from contracts.audit.checkpoints import verify_with_checkpoints
from contracts.audit.models import AuditEvent
from contracts.audit.verify import Result
from contracts.backup import postgresql, sqlite
from contracts.backup.manifest import (
    BackupError,
    Facts,
    Manifest,
    check_file,
    create_private,
    fsync_path,
    read_manifest,
    write_manifest,
)
from contracts.db import utcnow

ENGINES = {"sqlite": (sqlite.MAGIC, ".sqlite3"), "postgresql": (postgresql.MAGIC, ".dump")}
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def read_facts(connection: Connection) -> Facts:
    """Revision, audit chain head and each table's row count, in the connection's snapshot."""
    tables = sorted(inspect(connection).get_table_names())
    revision = None
    if "alembic_version" in tables:
        revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    seq, head = 0, None
    if AuditEvent.__tablename__ in tables:
        last = connection.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
        if last is not None:
            seq, head = last
    rows = {
        name: connection.scalar(select(func.count()).select_from(table(name))) for name in tables
    }
    return Facts(revision, seq, head, rows)


def backup_name(engine: str, moment: datetime, revision: str | None) -> str:
    """kontraktsregister-<engine>-<UTC time>-<revision>.<sqlite3|dump>"""
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    return f"kontraktsregister-{engine}-{stamp}-{revision or 'norevision'}{ENGINES[engine][1]}"


def create_backup(engine: Engine, directory: Path, now: datetime | None = None) -> Manifest:
    """Back up the database `engine` points at into `directory`: the backup file (mode
    0600) and its manifest, both flushed to disk. Returns the manifest."""
    moment = now or utcnow()
    kind = engine.dialect.name
    if kind not in ENGINES:
        raise BackupError(f"cannot back up a {kind} database (only SQLite and PostgreSQL)")
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".kontraktsregister-{kind}-{moment:%Y%m%dT%H%M%S%fZ}.partial"
    create_private(partial)
    try:
        facts = _copy_out(engine, partial)
        path = directory / backup_name(kind, moment, facts.revision)
        if path.exists():
            raise BackupError(f"{path} exists already")
        fsync_path(partial)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    manifest = Manifest.describe(path, kind, facts, moment.isoformat())
    write_manifest(path, manifest)
    fsync_path(directory)
    return manifest


def _copy_out(engine: Engine, target: Path) -> Facts:
    if engine.dialect.name == "sqlite":
        sqlite.copy_out(sqlite.database_path(str(engine.url)), target)
        copy = sqlite.reader(target)  # the manifest describes the copy itself
        try:
            with copy.connect() as connection:
                return read_facts(connection)
        finally:
            copy.dispose()
    connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with connection, connection.begin():
        # The first statement fixes the transaction's snapshot; pg_dump shares it.
        postgresql.dump(connection, engine.url, target)
        return read_facts(connection)


def backup_engine(backup: Path) -> str:
    """Which engine made a backup file, from its first bytes."""
    with backup.open("rb") as stream:
        start = stream.read(16)
    for kind, (magic, _suffix) in ENGINES.items():
        if start.startswith(magic):
            return kind
    raise BackupError(f"{backup} is neither a SQLite database nor a pg_dump archive")


def shown_url(engine: Engine) -> str:
    """The engine's URL for messages: without the password and the driver."""
    url = engine.url.set(drivername=engine.url.get_backend_name())
    return url.render_as_string(hide_password=True)


def target_tables(engine: Engine) -> list[str]:
    """The tables in the restore's target database."""
    with engine.connect() as connection:
        return sorted(inspect(connection).get_table_names())


def restore_backup(backup: Path, engine: Engine, *, force: bool = False) -> Manifest:
    """Check a backup file against its manifest and the target, then restore it into the
    database `engine` points at. Refuses (BackupError) a changed file, another engine's
    backup, and a target that has tables unless `force`. The app should be stopped."""
    manifest = read_manifest(backup)
    check_file(backup, manifest)
    kind, target = backup_engine(backup), engine.dialect.name
    if kind != manifest.engine:
        raise BackupError(f"{backup} is a {kind} file, but its manifest says {manifest.engine}")
    if kind != target:
        raise BackupError(
            f"{backup} is a {ENGINE_NAMES[kind]} backup and DATABASE_URL is a "
            f"{ENGINE_NAMES.get(target, target)} database: restore it into {ENGINE_NAMES[kind]}"
        )
    if kind == "postgresql":
        postgresql.program("pg_restore")  # before touching anything
    tables = target_tables(engine)
    if tables and not force:
        raise BackupError(
            f"the target database {shown_url(engine)} is not empty ({len(tables)} tables); "
            "a restore replaces what is in it: add --force to do that"
        )
    engine.dispose()  # no pooled connection keeps the old database open or locked
    if kind == "sqlite":
        sqlite.copy_in(backup, sqlite.database_path(str(engine.url)))
    else:
        with tempfile.TemporaryDirectory(prefix="kr-restore-") as scratch:
            postgresql.restore(backup, engine, Path(scratch) / "toc.list")
    engine.dispose()
    return manifest


@dataclass
class Check:
    """A restored database compared with its manifest, and its audit chain verified."""

    chain: Result
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems


def check_restored(session: OrmSession, manifest: Manifest) -> Check:
    """Compare the restored database with the manifest (revision, chain head, row counts,
    no extra tables) and verify the audit chain the way `flask audit verify` does."""
    facts = read_facts(session.connection())
    problems = []
    if facts.revision != manifest.revision:
        problems.append(f"revision {facts.revision}, the backup has {manifest.revision}")
    if (facts.audit_seq, facts.audit_head) != (manifest.audit_seq, manifest.audit_head):
        problems.append(
            f"audit chain head at seq {facts.audit_seq} ({facts.audit_head}), the backup "
            f"has seq {manifest.audit_seq} ({manifest.audit_head})"
        )
    for name, count in manifest.rows.items():
        if facts.rows.get(name) != count:
            problems.append(f"table {name}: {facts.rows.get(name)} rows, the backup has {count}")
    if extra := sorted(set(facts.rows) - set(manifest.rows)):
        problems.append(f"tables the backup does not have: {', '.join(extra)}")
    return Check(verify_with_checkpoints(session, None, None), problems)
