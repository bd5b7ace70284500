"""A reminder kind for impartiality declarations that are missing.

The kinds are a VARCHAR with a named CHECK constraint (ck_<table>_reminder_kind) in three
tables. SQLite cannot change a CHECK constraint in place, so its tables are rebuilt
(batch mode, recreate="always"); PostgreSQL drops and adds the constraint.

Revision ID: e3c9a2f4b7d1
Revises: d2b8f1e2f6b2
Create Date: 2026-11-28 08:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e3c9a2f4b7d1"
down_revision = "d2b8f1e2f6b2"
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
    "gains_to_confirm",
    "qualitative_gains",
)
NEW_KINDS = (*OLD_KINDS, "declaration_due")
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
