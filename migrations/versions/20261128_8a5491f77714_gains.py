"""Documented gains: gain plans with baselines, and the gains realised per period.

Revision ID: 8a5491f77714
Revises: 3bf3502c26f8
Create Date: 2026-11-28 07:41:40.740201
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "8a5491f77714"
down_revision = "3bf3502c26f8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gain_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column(
            "gain_type",
            sa.Enum(
                "lower_price",
                "avoided_cost",
                "time_saved",
                "quality",
                "environment",
                "social",
                "innovation",
                name="gain_type",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("baseline_value", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("baseline_date", sa.Date(), nullable=True),
        sa.Column("baseline_source", sa.String(length=300), nullable=True),
        sa.Column("baseline_description", sa.Text(), nullable=True),
        sa.Column("target_per_year", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=True),
        sa.Column(
            "method",
            sa.Enum(
                "pro_rata",
                "price_difference",
                "hours",
                "manual",
                name="gain_method",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("measurement", sa.Text(), nullable=True),
        sa.Column("baseline_unit_price", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("contract_unit_price", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("annual_volume", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("hours_per_year", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("hourly_rate", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column(
            "entry_period",
            sa.Enum(
                "month",
                "quarter",
                "year",
                name="gain_period",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("responsible_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "annual_volume IS NULL OR annual_volume >= 0",
            name=op.f("ck_gain_plans_volume_non_negative"),
        ),
        sa.CheckConstraint(
            "hourly_rate IS NULL OR hourly_rate >= 0", name=op.f("ck_gain_plans_rate_non_negative")
        ),
        sa.CheckConstraint(
            "hours_per_year IS NULL OR hours_per_year >= 0",
            name=op.f("ck_gain_plans_hours_non_negative"),
        ),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_gain_plans_period_order")),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_gain_plans_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_gain_plans_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["responsible_id"],
            ["users.id"],
            name=op.f("fk_gain_plans_responsible_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gain_plans")),
    )
    with op.batch_alter_table("gain_plans", schema=None) as batch_op:
        batch_op.create_index("ix_gain_plans_contract", ["contract_id"], unique=False)

    op.create_table(
        "gain_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column(
            "period_kind",
            sa.Enum(
                "month",
                "quarter",
                "year",
                name="gain_period",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "estimated",
                "confirmed",
                name="gain_entry_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum(
                "manual", "job", name="gain_entry_source", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'confirmed') = (confirmed_at IS NOT NULL)",
            name=op.f("ck_gain_entries_confirmed_iff_at"),
        ),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_gain_entries_period_order")),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["users.id"],
            name=op.f("fk_gain_entries_confirmed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["gain_plans.id"],
            name=op.f("fk_gain_entries_plan_id_gain_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_gain_entries_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gain_entries")),
        sa.UniqueConstraint("plan_id", "period_start", name="uq_gain_entries_plan_period"),
    )
    with op.batch_alter_table("gain_entries", schema=None) as batch_op:
        batch_op.create_index("ix_gain_entries_status", ["status", "period_start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gain_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_gain_entries_status")

    op.drop_table("gain_entries")
    with op.batch_alter_table("gain_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_gain_plans_contract")

    op.drop_table("gain_plans")
