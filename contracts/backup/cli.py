"""`flask --app wsgi backup ...`: make a backup while the app runs; restore one and check it."""

from __future__ import annotations

import time
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session as OrmSession

from contracts.backup import services
from contracts.backup.manifest import BackupError
from contracts.db import Session
from contracts.dbcli import alembic_config

backup_cli = AppGroup("backup", help="Backups of the database, checked on restore.")


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _unreachable(error: DBAPIError) -> click.ClickException:
    reason = str(error.orig or error).strip().splitlines()[0]
    return click.ClickException(f"cannot use the database in DATABASE_URL: {reason}")


def _revision_note(revision: str | None) -> str | None:
    """What to do when the restored revision is not this code's head, or None."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if revision == head:
        return None
    try:
        script.get_revision(revision)
    except CommandError:
        return (
            f"this code does not know the database's revision {revision}: run the release "
            "that made the backup (or a newer one), then `flask --app wsgi db upgrade`"
        )
    return (
        f"the database is at revision {revision}, this code at {head}: "
        "run `flask --app wsgi db upgrade`"
    )


@backup_cli.command("create")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def create_command(directory: Path) -> None:
    """Back up DATABASE_URL into DIRECTORY and print the backup's path.

    SQLite: a consistent copy through the backup API while the app runs; PostgreSQL:
    pg_dump's custom format. Beside it, <file>.json holds the SHA-256, engine, revision
    and audit chain head that `backup restore` checks.
    """
    started = time.monotonic()
    try:
        manifest = services.create_backup(current_app.extensions["engine"], directory)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except DBAPIError as error:
        raise _unreachable(error) from None
    click.echo(directory / manifest.file)
    click.echo(
        f"{manifest.engine}, revision {manifest.revision}, audit chain at seq "
        f"{manifest.audit_seq}, {_megabytes(manifest.size)}, "
        f"{time.monotonic() - started:.1f} s",
        err=True,
    )


@backup_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the target database even if it has tables.")
def restore_command(file: Path, force: bool) -> None:
    """Restore FILE into DATABASE_URL, then verify the restored audit chain.

    Refuses a file that does not match its manifest (<FILE>.json), another engine's
    backup and, without --force, a database that is not empty. Stop the web app and the
    scheduler first. Exit 1 when refused or when the restored database fails its checks.
    """
    started = time.monotonic()
    engine = current_app.extensions["engine"]
    Session.remove()  # this thread's session lets go of the database being replaced
    try:
        manifest = services.restore_backup(file, engine, force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except DBAPIError as error:
        raise _unreachable(error) from None
    click.echo(
        f"restored {file.name} ({manifest.created_at}) into {services.shown_url(engine)} "
        f"in {time.monotonic() - started:.1f} s"
    )
    with OrmSession(engine) as session:  # only reads; closing rolls back
        check = services.check_restored(session, manifest)
    for problem in check.problems:
        click.echo(f"MISMATCH: {problem}", err=True)
    click.echo(check.chain.line(), err=not check.chain.ok)
    if not check.ok:
        raise SystemExit(1)
    if note := _revision_note(manifest.revision):
        click.echo(note)
