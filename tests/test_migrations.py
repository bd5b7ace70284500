"""The migrations build, from an empty database, exactly the schema the models describe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

import contracts.integrity.declarations  # noqa: F401
import contracts.integrity.flags  # noqa: F401
import contracts.models  # noqa: F401  (fills the metadata)
import followup.gains.models  # noqa: F401
import followup.models  # noqa: F401
import jobs.models  # noqa: F401
from contracts.db import Base, make_engine
from contracts.dbcli import alembic_config, include_object, scratch_postgresql_database

SEEDED_THRESHOLDS = 16


@pytest.fixture
def empty_database_url(database_url, tmp_path) -> Iterator[str]:
    """A new, empty database on the engine the suite runs on, dropped afterwards."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with scratch_postgresql_database(database_url, "kr_migr") as url:
        yield url


def _schema_diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": include_object, "compare_type": True}
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def _inspect(url: str, check):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return check(conn)
    finally:
        engine.dispose()


def _table_names(url: str) -> set[str]:
    return _inspect(url, lambda conn: set(inspect(conn).get_table_names()))


def _threshold_count(url: str) -> int:
    return _inspect(
        url, lambda conn: conn.execute(text("SELECT count(*) FROM thresholds")).scalar()
    )


def _search_index_exists(url: str) -> bool:
    def check(conn) -> bool:
        if conn.dialect.name == "sqlite":
            query = (
                "SELECT count(*) FROM sqlite_master "
                "WHERE name IN ('contract_search', 'contract_search_words')"
            )
        else:
            query = (
                "SELECT count(*) FROM pg_indexes WHERE indexname IN "
                "('ix_contracts_search_text_trgm', 'ix_contracts_search_words')"
            )
        return conn.execute(text(query)).scalar() == 2

    return _inspect(url, check)


def test_empty_database_upgrades_to_the_models(empty_database_url):
    assert _table_names(empty_database_url) == set()
    config = alembic_config(empty_database_url)
    command.upgrade(config, "head")

    assert _schema_diff(empty_database_url) == []
    # And through migrations/env.py itself: `flask db revision` would find nothing to add.
    command.check(config)
    assert _threshold_count(empty_database_url) == SEEDED_THRESHOLDS
    assert _search_index_exists(empty_database_url)


def test_downgrade_to_base_and_upgrade_again(empty_database_url):
    config = alembic_config(empty_database_url)
    command.upgrade(config, "head")

    command.downgrade(config, "base")
    # Only Alembic's own bookkeeping table may be left behind.
    assert _table_names(empty_database_url) <= {"alembic_version"}
    assert not _search_index_exists(empty_database_url)

    command.upgrade(config, "head")
    assert _schema_diff(empty_database_url) == []
    assert _threshold_count(empty_database_url) == SEEDED_THRESHOLDS
    assert _search_index_exists(empty_database_url)


def _insert_snooze(url: str, kind: str, entity_id: int) -> bool:
    """Whether the database takes a held reminder of this kind (its CHECK constraint)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO reminder_snoozes (kind, entity_type, entity_id, until, created_at)"
                    " VALUES (:kind, 'gain_entries', :id, '2026-01-01', CURRENT_TIMESTAMP)"
                ),
                {"kind": kind, "id": entity_id},
            )
        return True
    except IntegrityError:
        return False
    finally:
        engine.dispose()


def test_the_gain_reminder_kinds_pass_the_check_constraints(empty_database_url):
    config = alembic_config(empty_database_url)
    command.upgrade(config, "head")
    assert _insert_snooze(empty_database_url, "gains_to_confirm", 1)
    assert _insert_snooze(empty_database_url, "qualitative_gains", 2)
    assert not _insert_snooze(empty_database_url, "no_such_kind", 3)

    # Down again: the rows of the new kinds go, and the old constraint is back.
    command.downgrade(config, "8a5491f77714")
    count = _inspect(
        empty_database_url,
        lambda conn: conn.execute(text("SELECT count(*) FROM reminder_snoozes")).scalar(),
    )
    assert count == 0
    assert not _insert_snooze(empty_database_url, "gains_to_confirm", 4)
    assert _insert_snooze(empty_database_url, "expiry", 5)
    command.upgrade(config, "head")
    assert _schema_diff(empty_database_url) == []
