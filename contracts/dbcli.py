"""`flask db ...`: Alembic migrations, run by hand and never at import or in create_app."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

db_cli = AppGroup("db", help="Database migrations (Alembic).")

# Search indexes made by hand in the migrations, outside the models: SQLite's full-text
# tables (and their shadow tables) and PostgreSQL's trigram and word indexes.
UNMANAGED_TABLE_PREFIXES = ("contract_search",)
UNMANAGED_INDEXES = frozenset({"ix_contracts_search_text_trgm", "ix_contracts_search_words"})


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter: leave the hand-made search indexes out of model comparisons."""
    if type_ == "table" and name and name.startswith(UNMANAGED_TABLE_PREFIXES):
        return False
    return not (type_ == "index" and name in UNMANAGED_INDEXES)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for the app's database (or the given URL)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["database_url"] = url or current_app.config["DATABASE_URL"]
    return config


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Upgrade the database to a revision (default: head)."""
    command.upgrade(alembic_config(), revision)


def analyze() -> None:
    """Refresh the query planner's statistics after a bulk load.

    Not after migrations: statistics of empty tables made SQLite's later bulk inserts
    (through the full-text triggers) three times slower.
    """
    from contracts.db import Session

    Session.execute(text("ANALYZE"))
    Session.commit()


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def downgrade(revision: str) -> None:
    """Downgrade the database by one step or to a revision."""
    command.downgrade(alembic_config(), revision)


@db_cli.command("current")
def current() -> None:
    """Show the revision the database is at."""
    command.current(alembic_config(), verbose=True)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True)
def revision(message: str, autogenerate: bool) -> None:
    """Create a migration; read and correct it by hand before committing."""
    command.revision(alembic_config(), message=message, autogenerate=autogenerate)


@contextlib.contextmanager
def scratch_postgresql_database(server_url: str, prefix: str) -> Iterator[str]:
    """Create an empty database next to the one in server_url; drop it (forcibly) after."""
    from contracts.config import normalise_database_url

    url = make_url(normalise_database_url(server_url))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
