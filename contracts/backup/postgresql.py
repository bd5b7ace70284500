"""PostgreSQL backups with pg_dump and pg_restore (custom format).

The connection settings go to the tools as libpq environment variables (PGPASSWORD and
friends), never on the command line, where `ps` shows them to every user of the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess  # nosec B404
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from contracts.backup.manifest import BackupError

MAGIC = b"PGDMP"
# DATABASE_URL query options and the libpq variables that carry them.
_QUERY_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
}
# `pg_restore --list` lines of an extension and of its comment:
# "2; 3079 17363 EXTENSION - pg_trgm" and "3899; 0 0 COMMENT - EXTENSION pg_trgm".
_TOC_EXTENSION = re.compile(r"\d+; \d+ \d+ EXTENSION - (\S+)")
_TOC_EXTENSION_COMMENT = re.compile(r"\d+; \d+ \d+ COMMENT - EXTENSION ")


def program(name: str) -> str:
    """The full path of pg_dump or pg_restore; BackupError when it is not installed."""
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not on PATH: install the PostgreSQL client tools of the server's "
            "major version or newer (Debian: apt-get install postgresql-client)"
        )
    return found


def libpq_environment(url: URL) -> dict[str, str]:
    """This process's environment plus the URL's connection settings as PG* variables."""
    environment = dict(os.environ)
    given = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    for option, value in url.query.items():
        if option not in _QUERY_ENV:
            raise BackupError(f"the DATABASE_URL option {option!r} cannot be given to pg_dump")
        given[_QUERY_ENV[option]] = value if isinstance(value, str) else value[-1]
    environment.update({name: value for name, value in given.items() if value})
    return environment


def _run(argv: list[str], url: URL, what: str) -> str:
    # Safe to run (B603): argv[0] is a resolved path, every argument a list item of its own,
    # no shell, and nothing from the database URL in it but the database name.
    completed = subprocess.run(  # noqa: S603  # nosec B603
        argv, env=libpq_environment(url), capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        detail = " ".join(completed.stderr.split())[-1000:] or f"exit code {completed.returncode}"
        raise BackupError(f"{what} failed: {detail}")
    return completed.stdout


def dump(connection: Connection, url: URL, target: Path) -> None:
    """pg_dump the snapshot of `connection`'s open REPEATABLE READ transaction into `target`,
    so the dump holds exactly what that transaction sees (and the manifest read there)."""
    snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
    argv = [
        program("pg_dump"),
        "--format=custom",
        "--no-password",  # fail instead of waiting for a prompt (cron, systemd)
        f"--snapshot={snapshot}",
        f"--file={target}",
    ]
    _run(argv, url, "pg_dump")


def _extensions(toc: str) -> list[str]:
    return [found.group(1) for line in toc.splitlines() if (found := _TOC_EXTENSION.match(line))]


def restore(backup: Path, engine: Engine, list_file: Path) -> None:
    """pg_restore into the database `engine` points at, in one transaction (a failure leaves
    it as it was). Extensions are created first and left out of the restore: creating,
    dropping or commenting them needs rights the app's role usually lacks."""
    url = engine.url
    restore_tool = program("pg_restore")
    toc = _run([restore_tool, "--list", str(backup)], url, "pg_restore --list")
    for name in _extensions(toc):
        _create_extension(engine, name)
    kept = [
        line
        for line in toc.splitlines()
        if not (_TOC_EXTENSION.match(line) or _TOC_EXTENSION_COMMENT.match(line))
    ]
    list_file.write_text("\n".join(kept) + "\n", encoding="utf-8")
    argv = [
        restore_tool,
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        f"--use-list={list_file}",
        f"--dbname={url.database}",
        str(backup),
    ]
    _run(argv, url, "pg_restore")


def _create_extension(engine: Engine, name: str) -> None:
    quoted = engine.dialect.identifier_preparer.quote(name)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {quoted}"))
    except DBAPIError as error:
        reason = str(error.orig or error).splitlines()[0]
        raise BackupError(
            f"the backup needs the PostgreSQL extension {name}, which this role cannot "
            f"create ({reason}); as a superuser, run in the target database: "
            f"CREATE EXTENSION {quoted};"
        ) from None
