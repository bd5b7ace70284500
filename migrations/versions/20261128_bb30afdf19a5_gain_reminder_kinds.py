"""Reminder kinds for gains: estimates to confirm, and the year's qualitative gains.

The kinds are a VARCHAR with a named CHECK constraint (ck_<table>_reminder_kind) in three
tables. SQLite cannot change a CHECK constraint in place, so its tables are rebuilt
(batch mode, recreate="always"); PostgreSQL drops and adds the constraint.

Revision ID: bb30afdf19a5
Revises: 8a5491f77714
Create Date: 2026-11-28 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "bb30afdf19a5"
down_revision = "8a5491f77714"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "expiry",
    "option_deadline",
    "notice_deadline",
    "price_adjustment",
    "activity_due",
    "activity_overdue",
    "activity_escalated",
    "missing_plan",
)
NEW_KINDS = (*OLD_KINDS, "gains_to_confirm", "qualitative_gains")
TABLES = ("reminders", "reminder_snoozes", "reminder_lead_times")
LENGTH = max(len(kind) for kind in NEW_KINDS)  # 18, as before: the column keeps its size


def _kind_type(kinds: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *kinds, name="reminder_kind", native_enum=False, create_constraint=True, length=LENGTH
    )


def _check(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _change(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            with op.batch_alter_table(table, recreate="always") as batch_op:
                batch_op.alter_column(
                    "kind",
                    existing_type=_kind_type(old),
                    type_=_kind_type(new),
                    existing_nullable=False,
                )
        return
    for table in TABLES:
        name = op.f(f"ck_{table}_reminder_kind")
        op.drop_constraint(name, table, type_="check")
        op.create_check_constraint(name, table, _check(new))


def upgrade() -> None:
    _change(OLD_KINDS, NEW_KINDS)


def downgrade() -> None:
    # Rows of the new kinds cannot stay under the old constraint.
    added = [kind for kind in NEW_KINDS if kind not in OLD_KINDS]
    for table in TABLES:
        rows = sa.table(table, sa.column("kind"))
        op.execute(rows.delete().where(rows.c.kind.in_(added)))
    _change(NEW_KINDS, OLD_KINDS)
