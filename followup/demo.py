"""Demo follow-up: assessed categories, plans for the critical ones, done and overdue work."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from datetime import date as Date
from typing import Any

from sqlalchemy import insert, select, update

from contracts.db import Session
from contracts.parties.models import Category
from contracts.register.models import Contract
from followup import services
from followup.models import (
    CRITICAL,
    Activity,
    ActivityStatus,
    Consequence,
    Deviation,
    DeviationStatus,
    Severity,
)

# Category -> (supply risk, financial impact, wage risk, rationale): four come out critical.
ASSESSMENTS = {
    "Renhold": (3, 3, 5, "Arbeidsintensivt, høy risiko for brudd på lønns- og arbeidsvilkår."),
    "IKT-tjenester": (4, 4, 2, "Kritiske fagsystemer, få leverandører og høy byttekostnad."),
    "Bygg og anlegg": (4, 5, 5, "Store verdier, lange kjeder av underleverandører."),
    "Vakt og sikkerhet": (3, 2, 4, "Arbeidsintensivt; leveransen er viktig for beredskapen."),
    "Transport": (3, 2, 3, "Skoleskyss må fungere hver dag; begrenset marked lokalt."),
    "Matvarer": (2, 3, 2, "Stort volum, godt marked."),
    "Medisinsk forbruksmateriell": (3, 2, 2, "Forsyningssikkerhet viktig, lav verdi per vare."),
    "Energi": (2, 3, 1, "Stor verdi, standardisert vare."),
    "Konsulenttjenester": (2, 2, 2, "Varierende behov, godt marked."),
    "Kontorrekvisita": (1, 1, 1, "Standardvarer i et godt marked."),
}
# Plans are built as if this many days ago, so some activities are already due.
PLANNED_DAYS_AGO = 150
DONE_SHARE = 0.7
DEVIATIONS = [
    ("Renholdet på tre skoler ble ikke utført i uke 6.", Severity.MEDIUM, Consequence.NOTICE),
    ("Vekterne manglet gyldig HMS-kort ved kontroll.", Severity.HIGH, Consequence.REMEDY),
    ("Leveransen kom fem dager for sent.", Severity.LOW, Consequence.LIQUIDATED_DAMAGES),
    ("Fakturaen var ikke i samsvar med avtalt pris.", Severity.MEDIUM, Consequence.PRICE_REDUCTION),
]


def assess_demo_categories(rng: random.Random, day: Date) -> None:
    """The demo categories' assessments, dated in the last months; assessed ones stay."""
    categories = {c.name: c for c in Session.scalars(select(Category))}
    levels = services.criticality_by_category()
    for name, (supply, impact, wage, rationale) in ASSESSMENTS.items():
        category = categories.get(name)
        if category is None or category.id in levels:
            continue
        services.assess_category(
            category.id,
            assessed_on=day - timedelta(days=rng.randint(30, 200)),
            supply_risk=supply,
            financial_impact=impact,
            wage_risk=wage,
            rationale=rationale,
            assessed_by=None,
        )


def seed_followup(rng: random.Random, day: Date) -> dict[str, Any]:
    assess_demo_categories(rng, day)
    levels = services.criticality_by_category()
    critical = [cid for cid, level in levels.items() if level >= CRITICAL]
    ids = Session.scalars(
        services.contracts_without_plan(select(Contract.id)).where(
            Contract.category_id.in_(critical),
            Contract.deleted_at.is_(None),
            Contract.signed_on.is_not(None),
            Contract.terminated_on.is_(None),
            Contract.end_sort_date >= day,
        )
    ).all()
    template = services.default_template()
    if template is None or not ids:
        return {}
    built = services.build_plans(ids, template, day - timedelta(days=PLANNED_DAYS_AGO), None)
    done = _complete_some(rng, day, ids)
    deviations = _deviations(rng, day, ids)
    return {"planned contracts": built.plans, "activities": built.activities,
            "done activities": done, "deviations": deviations}  # fmt: skip


def _complete_some(rng: random.Random, day: Date, contract_ids: list[int]) -> int:
    past = Session.execute(
        select(Activity.id, Activity.due_date, Activity.responsible_id).where(
            Activity.contract_id.in_(contract_ids), Activity.due_date < day
        )
    ).all()
    rows = [
        {
            "id": activity_id,
            "status": ActivityStatus.DONE,
            "completed_at": datetime.combine(
                min(due + timedelta(days=rng.randint(-5, 10)), day), time(12), tzinfo=UTC
            ),
            "completed_by_id": responsible,
            "notes": "Gjennomført.",
        }
        for activity_id, due, responsible in past
        if rng.random() < DONE_SHARE
    ]
    if rows:
        Session.execute(update(Activity), rows)
    return len(rows)


def _deviations(rng: random.Random, day: Date, contract_ids: list[int]) -> int:
    rows = []
    for contract_id in rng.sample(contract_ids, k=max(1, len(contract_ids) // 15)):
        description, severity, consequence = rng.choice(DEVIATIONS)
        occurred = day - timedelta(days=rng.randint(5, 140))
        closed = rng.random() < 0.5
        rows.append(
            {
                "contract_id": contract_id,
                "occurred_on": occurred,
                "description": description,
                "severity": severity,
                "consequence": consequence,
                "status": DeviationStatus.CLOSED if closed else DeviationStatus.OPEN,
                "closed_on": occurred + timedelta(days=rng.randint(1, 4)) if closed else None,
                "resolution": "Leverandøren har rettet forholdet." if closed else None,
                "created_at": datetime.now(UTC),
            }
        )
    Session.execute(insert(Deviation.__table__), rows)
    return len(rows)
