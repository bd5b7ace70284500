"""The audit trail becomes append-only in the database: UPDATE and DELETE of audit rows
are refused by triggers (SQLite and PostgreSQL), whoever sends them.

Revision ID: c1a7e0d1e5a1
Revises: bb30afdf19a5
Create Date: 2026-11-28 08:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "c1a7e0d1e5a1"
down_revision = "bb30afdf19a5"
branch_labels = None
depends_on = None

MESSAGE = "audit_events is append-only"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE "
            "ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        # TRUNCATE skips row triggers: refuse it with a statement trigger.
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_events_no_{event.lower()} BEFORE {event} ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER audit_events_no_update_delete ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
        return
    for event in ("update", "delete"):
        op.execute(f"DROP TRIGGER audit_events_no_{event}")
