"""Demo gains: gain plans of every type on about one in four active demo contracts, with
baselines, targets and methods, and the gains recorded for last year and the elapsed periods
of this year (mostly estimated by the job, some confirmed by the owner, a few losses), so the
report and its chart show something real on first start. Inserted in bulk."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from datetime import date as Date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import insert, select

from contracts.db import Session, utcnow
from contracts.parties.models import Category
from contracts.register.models import Contract
from followup.gains import compute
from followup.gains.models import (
    ECONOMIC_TYPES,
    EntrySource,
    EntryStatus,
    GainEntry,
    GainMethod,
    GainPlan,
    GainType,
    PeriodKind,
)

PLAN_SHARE = 4  # one in this many active contracts gets gain plans
SECOND_PLAN_SHARE = 0.35  # ... and some a qualitative plan besides the economic one
CONFIRMED_THIS_YEAR = 0.35
CONFIRMED_LAST_YEAR = 0.8
LOSS_SHARE = 0.04
CENT = Decimal("0.01")

# Price gains per category: what is priced, the unit prices before and in the contract (kr)
# and the yearly volume (lowest, highest).
PRICES = {
    "Renhold": ("timepris for renhold", "time", (520, 470), (4_000, 20_000)),
    "Matvarer": ("pris per kg i varekurven", "kg", (68.5, 62.9), (20_000, 90_000)),
    "IKT-tjenester": ("pris per brukerlisens", "lisens", (1_450, 1_190), (300, 2_500)),
    "Bygg og anlegg": ("timepris for håndverkere", "time", (780, 715), (2_000, 9_000)),
    "Transport": ("pris per kilometer", "km", (28.5, 25.9), (40_000, 220_000)),
    "Konsulenttjenester": ("timepris for rådgivere", "time", (1_450, 1_290), (300, 1_500)),
    "Medisinsk forbruksmateriell": ("pris per pakning", "pakning", (189, 171), (3_000, 15_000)),
    "Energi": ("påslag per kWh", "kWh", (0.045, 0.012), (2_000_000, 9_000_000)),
    "Vakt og sikkerhet": ("timepris for vektere", "time", (610, 575), (2_000, 12_000)),
    "Kontorrekvisita": ("pris på standardsortimentet", "vare", (42, 37.5), (5_000, 30_000)),
}
AVOIDED = [
    ("Unngått leie av midlertidige lokaler", "Leiekostnad i budsjettet for 2025"),
    ("Lavere energikostnader etter tiltak i avtalen", "Energiregnskapet for 2024"),
    ("Færre akuttinnkjøp utenfor avtale", "Fakturaanalyse fra økonomisystemet"),
    ("Unngått vedlikehold av gammelt utstyr", "Vedlikeholdsavtale som ble sagt opp"),
]
TIME_SAVED = [
    ("Mindre tid til manuell bestilling og fakturakontroll", "Tidsregistrering i enheten"),
    ("Raskere saksbehandling med nytt fagsystem", "Saksbehandlingstid målt i fagsystemet"),
    ("Mindre reisetid med samlet levering", "Kjørebok og timelister"),
]
# Qualitative gains: type, description, unit of measure, target per year (low, high),
# entry period, baseline source.
QUALITATIVE = [
    (
        GainType.ENVIRONMENT,
        "Lavere klimagassutslipp fra leveransene",
        "tonn CO2",
        (8, 60),
        PeriodKind.QUARTER,
        "Leverandørens klimaregnskap",
    ),
    (
        GainType.ENVIRONMENT,
        "Høyere andel miljømerkede produkter",
        "andel %",
        (60, 90),
        PeriodKind.YEAR,
        "Leverandørens salgsstatistikk",
    ),
    (
        GainType.SOCIAL,
        "Lærlinger hos leverandøren i kontraktsperioden",
        "antall lærlinger",
        (1, 4),
        PeriodKind.YEAR,
        "Lærlingeklausulen i kontrakten",
    ),
    (
        GainType.QUALITY,
        "Flere fornøyde brukere",
        "andel % fornøyde brukere",
        (80, 95),
        PeriodKind.YEAR,
        "Brukerundersøkelse",
    ),
    (
        GainType.QUALITY,
        "Færre reklamasjoner på leveransene",
        "antall reklamasjoner",
        (5, 25),
        PeriodKind.QUARTER,
        "Avvikslogg for forrige avtale",
    ),
    (
        GainType.INNOVATION,
        "Nye løsninger tatt i bruk sammen med leverandøren",
        "antall nye løsninger",
        (1, 3),
        PeriodKind.YEAR,
        "Innovasjonsplan i tilbudet",
    ),
]
QUALITATIVE_BY_TYPE = {t: [q for q in QUALITATIVE if q[0] == t] for t in GainType}
ECONOMIC_ORDER = [GainType.LOWER_PRICE, GainType.AVOIDED_COST, GainType.TIME_SAVED]
LOSS_NOTES = [
    "Prisøkning fra leverandøren ga merkostnad denne perioden.",
    "Ekstra bestillinger utenfor avtalen til høyere pris.",
    "Forsinket levering førte til innleie til dyrere sats.",
]
EVIDENCE = [
    "Faktura og forbruksrapport fra leverandøren.",
    "Rapport fra økonomisystemet, kontrollert av avtaleeier.",
    "Timelister og månedsrapport.",
]


def _money(value: float | Decimal, step: str = "1") -> Decimal:
    return Decimal(str(value)).quantize(Decimal(step), rounding=ROUND_HALF_UP)


def _active_contracts(day: Date) -> list[Any]:
    """Signed, started, running contracts that have no gain plan yet, in id order."""
    return Session.execute(
        select(
            Contract.id,
            Contract.owner_id,
            Contract.start_date,
            Contract.end_sort_date,
            Contract.annual_value,
            Category.name,
        )
        .join(Category, Category.id == Contract.category_id)
        .where(
            Contract.deleted_at.is_(None),
            Contract.signed_on.is_not(None),
            Contract.terminated_on.is_(None),
            Contract.start_date <= day,
            Contract.end_sort_date >= day,
            ~select(GainPlan.id).where(GainPlan.contract_id == Contract.id).exists(),
        )
        .order_by(Contract.id)
    ).all()


def _economic_plan(rng: random.Random, gain_type: GainType, contract: Any) -> dict[str, Any]:
    annual = contract.annual_value or Decimal(500_000)
    if gain_type == GainType.LOWER_PRICE:
        what, unit, (before, after), (low, high) = PRICES.get(
            contract.name, ("pris per enhet", "enhet", (100, 92), (1_000, 10_000))
        )
        scale = Decimal(str(rng.uniform(0.9, 1.1)))
        baseline_price = _money(Decimal(str(before)) * scale, "0.0001")
        contract_price = _money(Decimal(str(after)) * scale, "0.0001")
        volume = _money(rng.uniform(low, high), "1")
        return {
            "description": f"Lavere {what} enn i forrige avtale",
            "method": GainMethod.PRICE_DIFFERENCE,
            "baseline_unit_price": baseline_price,
            "contract_unit_price": contract_price,
            "annual_volume": volume,
            "target_per_year": _money((baseline_price - contract_price) * volume),
            "baseline_value": _money(baseline_price * volume),
            "baseline_source": "Fakturaer fra forrige avtale (økonomisystemet)",
            "baseline_description": (
                f"Årlig kostnad med forrige avtales {what} ({baseline_price} kr per {unit}) "
                f"og dagens volum ({volume} {unit} per år)."
            ),
            "measurement": (
                f"Prisforskjell per {unit} ganger volumet i perioden, fra leverandørens "
                "forbruksrapport."
            ),
        }
    if gain_type == GainType.AVOIDED_COST:
        description, source = rng.choice(AVOIDED)
        target = _money(annual * Decimal(str(rng.uniform(0.03, 0.1))), "1000")
        return {
            "description": description,
            "method": GainMethod.PRO_RATA,
            "target_per_year": max(target, Decimal(10_000)),
            "baseline_value": _money(annual * Decimal("1.1"), "1000"),
            "baseline_source": source,
            "baseline_description": "Kostnaden kommunen ville hatt uten avtalen, per år.",
            "measurement": "Årlig mål fordelt på perioden; avtaleeier bekrefter ved årsslutt.",
        }
    description, source = rng.choice(TIME_SAVED)
    hours = _money(rng.uniform(200, 2_500), "1")
    rate = _money(rng.choice((550, 620, 680, 750)), "1")
    return {
        "description": description,
        "method": GainMethod.HOURS,
        "hours_per_year": hours,
        "hourly_rate": rate,
        "target_per_year": hours * rate,
        "baseline_value": _money(hours * rate * Decimal("2.5")),
        "baseline_source": source,
        "baseline_description": (
            f"Timer brukt per år før avtalen, ganger timesats {rate} kr (lønn og sosiale "
            "kostnader)."
        ),
        "measurement": "Spart tid per år ganger timesats, fordelt på perioden.",
    }


def _qualitative_plan(rng: random.Random, gain_type: GainType) -> dict[str, Any]:
    _type, description, unit, (low, high), period, source = rng.choice(
        QUALITATIVE_BY_TYPE[gain_type]
    )
    target = _money(rng.uniform(low, high))
    return {
        "description": description,
        "method": GainMethod.MANUAL,
        "unit": unit,
        "entry_period": period,
        "target_per_year": target,
        "baseline_value": _money(Decimal(target) * Decimal(str(rng.uniform(0.3, 0.7)))),
        "baseline_source": source,
        "baseline_description": f"Målt før avtalen, i {unit}.",
        "measurement": f"Rapporteres av leverandøren og kontrolleres av avtaleeier ({unit}).",
    }


def _plan_row(
    rng: random.Random, gain_type: GainType, contract: Any, day: Date, now: datetime
) -> dict[str, Any]:
    values = (
        _economic_plan(rng, gain_type, contract)
        if gain_type in ECONOMIC_TYPES
        else _qualitative_plan(rng, gain_type)
    )
    start = max(contract.start_date, Date(day.year - 1, 1, 1))
    row = {
        "contract_id": contract.id,
        "gain_type": gain_type.value,
        "baseline_date": contract.start_date - timedelta(days=rng.randint(60, 200)),
        "unit": None,
        "measurement": None,
        "baseline_unit_price": None,
        "contract_unit_price": None,
        "annual_volume": None,
        "hours_per_year": None,
        "hourly_rate": None,
        "entry_period": (PeriodKind.MONTH if rng.random() < 0.8 else PeriodKind.QUARTER).value,
        "period_start": start,
        "period_end": contract.end_sort_date,
        "responsible_id": contract.owner_id,
        "created_by_id": None,
        "created_at": now,
        "updated_at": now,
    }
    row.update(values)
    row["method"] = row["method"].value
    row["entry_period"] = PeriodKind(row["entry_period"]).value
    return row


class _PlanView:
    """A plan row seen through the attributes compute.py reads."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.method = GainMethod(row["method"])
        self.entry_period = PeriodKind(row["entry_period"])
        self.period_start = row["period_start"]
        self.period_end = row["period_end"]
        for name in (
            "target_per_year",
            "baseline_unit_price",
            "contract_unit_price",
            "annual_volume",
            "hours_per_year",
            "hourly_rate",
        ):
            setattr(self, name, row[name])


def _entries(
    rng: random.Random, plan_id: int, row: dict[str, Any], owner_id: int | None, day: Date
) -> list[dict[str, Any]]:
    """The plan's entries of last year and this year, for the periods that have ended."""
    plan = _PlanView(row)
    economic = GainType(row["gain_type"]) in ECONOMIC_TYPES
    result = []
    for start, end in compute.periods(plan, day):
        if start.year < day.year - 1:
            continue
        share = compute.year_share(start, end)
        this_year = start.year == day.year
        confirmed = rng.random() < (CONFIRMED_THIS_YEAR if this_year else CONFIRMED_LAST_YEAR)
        source, notes, evidence = EntrySource.JOB, None, None
        value = quantity = unit = None
        if economic:
            value = compute.estimate(plan, start, end)
            if value is None:
                continue
            if rng.random() < LOSS_SHARE:
                value = -_money(abs(value) * Decimal(str(rng.uniform(0.1, 0.6))), "0.01")
                source, notes = EntrySource.MANUAL, rng.choice(LOSS_NOTES)
            elif confirmed:  # the owner corrected the job's estimate to what was measured
                value = _money(value * Decimal(str(rng.uniform(0.85, 1.12))), "0.01")
        else:
            source, unit = EntrySource.MANUAL, row["unit"]
            measured = Decimal(row["target_per_year"]) * Decimal(str(rng.uniform(0.6, 1.2)))
            quantity = _money(measured * share if "%" not in unit else measured, "0.01")
        if confirmed:
            evidence = rng.choice(EVIDENCE)
        recorded = min(end + timedelta(days=1 if source == EntrySource.JOB else 6), day)
        confirmed_on = min(end + timedelta(days=rng.randint(5, 25)), day)
        result.append(
            {
                "plan_id": plan_id,
                "period_kind": row["entry_period"],
                "period_start": start,
                "period_end": end,
                "value": value,
                "quantity": quantity,
                "unit": unit,
                "status": (EntryStatus.CONFIRMED if confirmed else EntryStatus.ESTIMATED).value,
                "source": source.value,
                "evidence": evidence,
                "notes": notes,
                "correction_reason": None,
                "recorded_by_id": None if source == EntrySource.JOB else owner_id,
                "recorded_at": datetime.combine(recorded, time(6, 30), tzinfo=UTC),
                "confirmed_by_id": owner_id if confirmed else None,
                "confirmed_at": (
                    datetime.combine(confirmed_on, time(12), tzinfo=UTC) if confirmed else None
                ),
            }
        )
    return result


def seed_gains(rng: random.Random, day: Date) -> dict[str, Any]:
    """Gain plans on one in four active contracts (at least one of every type when there
    are seven such contracts), and their entries."""
    contracts = _active_contracts(day)
    if not contracts:
        return {}
    count = max(len(contracts) // PLAN_SHARE, min(len(GainType), len(contracts)))
    chosen = sorted(rng.sample(range(len(contracts)), count))
    all_types = list(GainType)
    now = utcnow()
    plan_rows: list[dict[str, Any]] = []
    owners: list[int | None] = []
    for n, index in enumerate(chosen):
        contract = contracts[index]
        if n < len(all_types):  # the first ones take every type in turn
            types = [all_types[n]]
        else:
            types = [rng.choice(ECONOMIC_ORDER)]
            if rng.random() < SECOND_PLAN_SHARE:
                qualitative = [t for t in all_types if t not in ECONOMIC_TYPES]
                types.append(rng.choice(qualitative))
        for gain_type in types:
            plan_rows.append(_plan_row(rng, gain_type, contract, day, now))
            owners.append(contract.owner_id)
    table = GainPlan.__table__
    plan_ids = Session.scalars(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), plan_rows
    ).all()
    entry_rows = [
        entry
        for plan_id, row, owner_id in zip(plan_ids, plan_rows, owners, strict=True)
        for entry in _entries(rng, plan_id, row, owner_id, day)
    ]
    if entry_rows:
        Session.execute(insert(GainEntry.__table__), entry_rows)
    confirmed = sum(1 for e in entry_rows if e["status"] == EntryStatus.CONFIRMED.value)
    return {
        "gain plans": len(plan_rows),
        "gain entries": len(entry_rows),
        "confirmed gain entries": confirmed,
    }
