"""Follow-up: category assessments, method templates, plans, activities, deviations.

Also ships the default method template (version 1 of "dfo-standard"), modelled on DFØ's
guidance on contract follow-up (anskaffelser.no, "Kontraktsoppfølging").

Revision ID: ca879236bf85
Revises: 4c0018d4c540
Create Date: 2026-11-28 06:56:16.723479
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ca879236bf85"
down_revision = "4c0018d4c540"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "category_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("supply_risk", sa.Integer(), nullable=False),
        sa.Column("financial_impact", sa.Integer(), nullable=False),
        sa.Column("wage_risk", sa.Integer(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column(
            "quadrant",
            sa.Enum(
                "strategic",
                "bottleneck",
                "leverage",
                "non_critical",
                name="quadrant",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("criticality", sa.Integer(), nullable=False),
        sa.Column("assessed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "criticality BETWEEN 1 AND 3", name=op.f("ck_category_assessments_criticality_range")
        ),
        sa.CheckConstraint(
            "financial_impact BETWEEN 1 AND 5",
            name=op.f("ck_category_assessments_financial_impact_range"),
        ),
        sa.CheckConstraint(
            "supply_risk BETWEEN 1 AND 5", name=op.f("ck_category_assessments_supply_risk_range")
        ),
        sa.CheckConstraint(
            "wage_risk BETWEEN 1 AND 5", name=op.f("ck_category_assessments_wage_risk_range")
        ),
        sa.ForeignKeyConstraint(
            ["assessed_by_id"],
            ["users.id"],
            name=op.f("fk_category_assessments_assessed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_category_assessments_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category_assessments")),
    )
    with op.batch_alter_table("category_assessments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_category_assessments_category", ["category_id", "assessed_on", "id"], unique=False
        )

    op.create_table(
        "method_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("change_note", sa.String(length=300), nullable=True),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_method_templates_version_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_method_templates_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_method_templates")),
        sa.UniqueConstraint("family", "version", name="uq_method_templates_family_version"),
    )
    op.create_table(
        "deviations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "low",
                "medium",
                "high",
                name="deviation_severity",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "consequence",
            sa.Enum(
                "none",
                "notice",
                "remedy",
                "liquidated_damages",
                "price_reduction",
                "damages",
                "termination",
                "other",
                name="deviation_consequence",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open", "closed", name="deviation_status", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'closed') = (closed_on IS NOT NULL)",
            name=op.f("ck_deviations_closed_on_iff_closed"),
        ),
        sa.CheckConstraint(
            "closed_on IS NULL OR closed_on >= occurred_on", name=op.f("ck_deviations_closed_after")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_deviations_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_deviations_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deviations")),
    )
    with op.batch_alter_table("deviations", schema=None) as batch_op:
        batch_op.create_index("ix_deviations_contract", ["contract_id", "status"], unique=False)

    op.create_table(
        "followup_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_followup_plans_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_followup_plans_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["method_templates.id"],
            name=op.f("fk_followup_plans_template_id_method_templates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_plans")),
        sa.UniqueConstraint("contract_id", name=op.f("uq_followup_plans_contract_id")),
    )
    op.create_table(
        "template_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "start_up_meeting",
                "status_meeting",
                "quality_review",
                "price_adjustment",
                "wage_conditions_control",
                "risk_review",
                "option_decision",
                "end_evaluation",
                "retender_start",
                "custom",
                name="activity_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("guidance", sa.Text(), nullable=True),
        sa.Column("checklist", sa.Text(), nullable=True),
        sa.Column(
            "anchor",
            sa.Enum(
                "start",
                "end",
                "option_deadline",
                "notice_deadline",
                "anniversary",
                "price_adjustment",
                name="anchor",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column(
            "recurrence",
            sa.Enum(
                "once",
                "monthly",
                "quarterly",
                "half_yearly",
                "yearly",
                name="recurrence",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "responsible",
            sa.Enum(
                "owner",
                "manager",
                "procurement",
                name="responsible_role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("only_framework", sa.Boolean(), nullable=False),
        sa.Column("only_wage_conditions", sa.Boolean(), nullable=False),
        sa.Column("min_value", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("min_criticality", sa.Integer(), nullable=True),
        sa.Column("max_criticality", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "max_criticality IS NULL OR max_criticality BETWEEN 1 AND 3",
            name=op.f("ck_template_rules_max_crit_range"),
        ),
        sa.CheckConstraint(
            "min_criticality IS NULL OR min_criticality BETWEEN 1 AND 3",
            name=op.f("ck_template_rules_min_crit_range"),
        ),
        sa.CheckConstraint(
            "min_value IS NULL OR min_value >= 0",
            name=op.f("ck_template_rules_min_value_non_negative"),
        ),
        sa.CheckConstraint(
            "offset_days BETWEEN -1100 AND 1100", name=op.f("ck_template_rules_offset_range")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["method_templates.id"],
            name=op.f("fk_template_rules_template_id_method_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_rules")),
    )
    with op.batch_alter_table("template_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_template_rules_template_id"), ["template_id"], unique=False
        )

    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("occurrence", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "start_up_meeting",
                "status_meeting",
                "quality_review",
                "price_adjustment",
                "wage_conditions_control",
                "risk_review",
                "option_decision",
                "end_evaluation",
                "retender_start",
                "custom",
                name="activity_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("guidance", sa.Text(), nullable=True),
        sa.Column("checklist", sa.Text(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column(
            "responsible_role",
            sa.Enum(
                "owner",
                "manager",
                "procurement",
                name="responsible_role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("responsible_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "done",
                "skipped",
                name="activity_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("skip_reason", sa.String(length=500), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("evidence_url", sa.String(length=500), nullable=True),
        sa.Column("attachment_name", sa.String(length=255), nullable=True),
        sa.Column("attachment_key", sa.String(length=64), nullable=True),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'open') = (completed_at IS NULL)",
            name=op.f("ck_activities_completed_iff_closed"),
        ),
        sa.CheckConstraint(
            "status != 'skipped' OR skip_reason IS NOT NULL",
            name=op.f("ck_activities_skipped_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["completed_by_id"],
            ["users.id"],
            name=op.f("fk_activities_completed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_activities_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["followup_plans.id"],
            name=op.f("fk_activities_plan_id_followup_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["responsible_id"],
            ["users.id"],
            name=op.f("fk_activities_responsible_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["template_rules.id"],
            name=op.f("fk_activities_rule_id_template_rules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
        sa.UniqueConstraint(
            "plan_id", "rule_id", "occurrence", name="uq_activities_rule_occurrence"
        ),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activities_contract", ["contract_id", "status", "due_date"], unique=False
        )
        batch_op.create_index("ix_activities_due", ["status", "due_date"], unique=False)
        batch_op.create_index(
            "ix_activities_responsible", ["responsible_id", "status", "due_date"], unique=False
        )

    seed_default_template()


def downgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_responsible")
        batch_op.drop_index("ix_activities_due")
        batch_op.drop_index("ix_activities_contract")

    op.drop_table("activities")
    with op.batch_alter_table("template_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_rules_template_id"))

    op.drop_table("template_rules")
    op.drop_table("followup_plans")
    with op.batch_alter_table("deviations", schema=None) as batch_op:
        batch_op.drop_index("ix_deviations_contract")

    op.drop_table("deviations")
    op.drop_table("method_templates")
    with op.batch_alter_table("category_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_category_assessments_category")

    op.drop_table("category_assessments")


# --- the default template -----------------------------------------------------------------

WAGE_CHECKLIST = "\n".join(
    [
        "Be leverandøren om dokumentasjon for et utvalg ansatte, også hos underleverandører: "
        "arbeidsavtaler, lønnsslipper og timelister.",
        "Kontroller lønn, arbeidstid og overtid mot allmenngjort tariffavtale eller "
        "landsomfattende tariffavtale for bransjen.",
        "Kontroller HMS-kort for alle som arbeider på bygge- og anleggsplassen.",
        "Kontroller at underleverandørkjeden ikke har flere ledd enn kontrakten tillater.",
        "Dokumenter funnene og gi leverandøren en frist for å rette avvik.",
        "Følg opp rettingen; vurder tilbakehold av betaling, dagbot eller heving.",
        "Registrer avvik i kontraktsregisteret.",
    ]
)

# (kind, title, guidance, checklist, anchor, offset days, recurrence, responsible,
#  only framework, only wage conditions, min value, min criticality, max criticality)
DEFAULT_RULES = [
    ("start_up_meeting", "Oppstartsmøte med leverandøren",
     "Gå gjennom kontrakten med leverandøren: kontaktpersoner, bestilling og fakturering, "
     "kvalitetskrav og KPI-er, rapportering, avviksbehandling, prisregulering og krav til "
     "lønns- og arbeidsvilkår. Avtal tidspunkt for statusmøtene.",
     None, "start", 14, "once", "manager", False, False, None, None, None),
    ("status_meeting", "Statusmøte (kritisk kontrakt)",
     "Kvartalsvis statusmøte for kontrakter i kritiske kategorier: leveranser, KPI-er, "
     "avvik, risiko og endringer siden sist. Skriv referat.",
     None, "start", 90, "quarterly", "manager", False, False, None, 3, None),
    ("status_meeting", "Årlig statusmøte",
     "Årlig statusmøte: leveranser, kvalitet, avvik og samarbeid. Skriv referat.",
     None, "anniversary", 0, "once", "manager", False, False, None, None, 2),
    ("quality_review", "Årlig gjennomgang av KPI-er og kvalitet",
     "Gå gjennom måloppnåelsen på kontraktens KPI-er og kvalitetskrav for året, og "
     "brukertilfredshet der det er relevant. Registrer avvik.",
     None, "anniversary", -30, "once", "manager", False, False, None, None, None),
    ("price_adjustment", "Kontroller prisreguleringen",
     "Kontroller leverandørens krav om prisregulering mot indeksen og reglene i "
     "kontrakten før den nye prisen gjelder.",
     None, "price_adjustment", -30, "once", "manager", False, False, None, None, None),
    ("wage_conditions_control", "Kontroll av lønns- og arbeidsvilkår",
     "Årlig kontroll etter anskaffelsesforskriften § 7-2 og DFØs veiledning. Velg ut "
     "ansatte og underleverandører etter risiko.",
     WAGE_CHECKLIST, "anniversary", -60, "once", "manager", False, True, None, None, None),
    ("risk_review", "Årlig risikogjennomgang",
     "Vurder risiko for leveransen, økonomien, omdømmet og etterlevelsen av kontrakten "
     "det neste året, og tiltak.",
     None, "anniversary", -90, "once", "owner", False, False, None, None, None),
    ("option_decision", "Beslutt om opsjonen skal utløses",
     "Vurder behovet, leverandørens leveranser og markedet, og beslutt om opsjonen "
     "skal utløses. Registrer beslutningen i registeret før fristen.",
     None, "option_deadline", -60, "once", "owner", False, False, None, None, None),
    ("end_evaluation", "Sluttevaluering",
     "Evaluer leveransen og samarbeidet før kontrakten løper ut, og bruk erfaringene i "
     "neste anskaffelse.",
     None, "end", -60, "once", "manager", False, False, None, None, None),
    ("retender_start", "Start ny konkurranse",
     "Start arbeidet med ny anskaffelse: behovsavklaring, markedsdialog og "
     "konkurransegrunnlag. Store kontrakter trenger 9–12 måneder.",
     None, "end", -300, "once", "procurement", False, False, 1_300_000, None, None),
]  # fmt: skip


def seed_default_template() -> None:
    from datetime import UTC, datetime

    templates = sa.table(
        "method_templates",
        sa.column("id", sa.Integer),
        sa.column("family", sa.String),
        sa.column("version", sa.Integer),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("change_note", sa.String),
        sa.column("is_current", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    rules = sa.table(
        "template_rules",
        *(
            sa.column(name)
            for name in (
                "template_id", "position", "kind", "title", "guidance", "checklist", "anchor",
                "offset_days", "recurrence", "responsible", "only_framework",
                "only_wage_conditions", "min_value", "min_criticality", "max_criticality",
            )
        ),
    )  # fmt: skip
    connection = op.get_bind()
    template_id = connection.execute(
        templates.insert()
        .values(
            family="dfo-standard",
            version=1,
            name="Standard kontraktsoppfølging (DFØ)",
            description="Felles metodemal for kontraktsoppfølging, bygget på DFØs veiledning: "
            "oppstart, jevnlige statusmøter, årlig kontroll av kvalitet, risiko og lønns- og "
            "arbeidsvilkår, prisregulering, opsjoner, sluttevaluering og ny konkurranse.",
            change_note="Levert med systemet",
            is_current=True,
            created_at=datetime.now(UTC),
        )
        .returning(templates.c.id)
    ).scalar_one()
    op.bulk_insert(
        rules,
        [
            dict(
                zip(
                    (
                        "kind", "title", "guidance", "checklist", "anchor", "offset_days",
                        "recurrence", "responsible", "only_framework", "only_wage_conditions",
                        "min_value", "min_criticality", "max_criticality",
                    ),
                    rule,
                    strict=True,
                ),
                template_id=template_id,
                position=position,
            )
            for position, rule in enumerate(DEFAULT_RULES)
        ],
    )  # fmt: skip
