"""Impartiality declarations (and the people involved besides owner and manager) and the
red flags kept by the rules engine.

Revision ID: d2b8f1e2f6b2
Revises: c1a7e0d1e5a1
Create Date: 2026-11-28 08:16:01.774948
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d2b8f1e2f6b2"
down_revision = "c1a7e0d1e5a1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "declaration_people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=True),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["users.id"],
            name=op.f("fk_declaration_people_added_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_declaration_people_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_declaration_people_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declaration_people")),
        sa.UniqueConstraint("contract_id", "user_id", name="uq_declaration_people_contract_user"),
    )
    with op.batch_alter_table("declaration_people", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_declaration_people_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "declarations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("declared_on", sa.Date(), nullable=False),
        sa.Column("has_conflict", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("conflict_description", sa.Text(), nullable=True),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "accepted",
                "renewal_requested",
                name="declaration_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(status = 'submitted') = (reviewed_at IS NULL)",
            name=op.f("ck_declarations_reviewed_iff_not_submitted"),
        ),
        sa.CheckConstraint(
            "NOT has_conflict OR (conflict_description IS NOT NULL AND measures IS NOT NULL)",
            name=op.f("ck_declarations_conflict_described"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_declarations_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_declarations_reviewed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_declarations_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declarations")),
    )
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_declarations_contract_user", ["contract_id", "user_id", "id"], unique=False
        )
        batch_op.create_index("ix_declarations_user_id", ["user_id"], unique=False)

    op.create_table(
        "red_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("other_contract_ids", sa.JSON(), nullable=True),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("first_seen_on", sa.Date(), nullable=False),
        sa.Column("last_seen_on", sa.Date(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledgement", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["users.id"],
            name=op.f("fk_red_flags_acknowledged_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_red_flags_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_red_flags_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_red_flags_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_red_flags")),
        sa.UniqueConstraint("key", name=op.f("uq_red_flags_key")),
    )
    with op.batch_alter_table("red_flags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_red_flags_contract_id", ["contract_id", "resolved_on"], unique=False
        )
        batch_op.create_index(
            "ix_red_flags_resolved_on", ["resolved_on", "first_seen_on"], unique=False
        )
        batch_op.create_index("ix_red_flags_rule", ["rule", "resolved_on"], unique=False)
        batch_op.create_index("ix_red_flags_supplier_id", ["supplier_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("red_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_red_flags_supplier_id")
        batch_op.drop_index("ix_red_flags_rule")
        batch_op.drop_index("ix_red_flags_resolved_on")
        batch_op.drop_index("ix_red_flags_contract_id")

    op.drop_table("red_flags")
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.drop_index("ix_declarations_user_id")
        batch_op.drop_index("ix_declarations_contract_user")

    op.drop_table("declarations")
    with op.batch_alter_table("declaration_people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_declaration_people_user_id"))

    op.drop_table("declaration_people")
