"""Alembic environment: the app's metadata, the URL from the app or DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context

from contracts import models  # noqa: F401  (fills the metadata)
from contracts.config import normalise_database_url
from contracts.db import Base, make_engine
from contracts.dbcli import include_object
from contracts.integrity import declarations as integrity_declarations  # noqa: F401
from contracts.integrity import flags as integrity_flags  # noqa: F401
from followup import models as followup_models  # noqa: F401
from followup.gains import models as gains_models  # noqa: F401
from jobs import models as jobs_models  # noqa: F401

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("Set DATABASE_URL or run through `flask --app wsgi db upgrade`.")
    return normalise_database_url(url)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(database_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported; connect to a database.")
run_migrations_online()
