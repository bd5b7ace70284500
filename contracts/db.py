"""Database plumbing: declarative base, the request-scoped session and engine setup."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Enum, MetaData, String, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention so migrations stay stable."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# One session per thread (and so per request); bound to an engine in create_app.
Session = scoped_session(sessionmaker(expire_on_commit=False))


def utcnow() -> datetime:
    """Timezone-aware now in UTC; used as a callable default so it is evaluated per row."""
    return datetime.now(UTC)


def str_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """Store a Python Enum as its value in a VARCHAR guarded by a named CHECK constraint."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


def non_negative(column: str) -> CheckConstraint:
    """A named CHECK that a numeric column is NULL or at least zero."""
    return CheckConstraint(f"{column} IS NULL OR {column} >= 0", name=f"{column}_non_negative")


Email = String(254)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    dbapi_connection.create_function("unicode_lower", 1, _lower, deterministic=True)


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


class unicode_lower(FunctionElement):  # noqa: N801  (reads like the SQL function it is)
    """lower() that folds Æ, Ø and Å too: SQLite's built-in lower() only folds A-Z."""

    type = String()
    inherit_cache = True
    name = "unicode_lower"


@compiles(unicode_lower)
def _compile_unicode_lower(element: unicode_lower, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(unicode_lower, "sqlite")
def _compile_unicode_lower_sqlite(element: unicode_lower, compiler: Any, **kw: Any) -> str:
    return f"unicode_lower({compiler.process(element.clauses, **kw)})"


def escape_like(term: str) -> str:
    """Escape LIKE wildcards with a backslash (use escape='\\\\' in the query)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL and foreign keys, psycopg skips prepared statements."""
    if url.startswith("sqlite"):
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine
    if url.startswith("postgresql"):
        # psycopg switches to a generic server-side plan after 5 runs, which ignores the
        # search term and made the list query 50x slower in measurements (DESIGN.md §7).
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("prepare_threshold", None)
        # JIT compilation pays off for long analytic queries, not for a web app's: it
        # spent 0.2-0.3 s compiling a 0.5 s list query under load (benchmarks/load_test).
        connect_args.setdefault("options", "-c jit=off")
        return create_engine(url, connect_args=connect_args, pool_pre_ping=True, **kwargs)
    return create_engine(url, **kwargs)
