"""`flask demo seed`: a realistic register of a Norwegian municipality, inserted in bulk."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, insert, select
from stdnum.no import orgnr

from contracts.audit import services as audit
from contracts.auth.models import Role, User
from contracts.auth.passwords import generate as generate_password
from contracts.auth.services import create_user
from contracts.clock import today
from contracts.db import Base, Session
from contracts.dbcli import analyze
from contracts.parties.models import Category, CategoryKind, Supplier, Unit
from contracts.register.dates import add_months
from contracts.register.models import Amendment, Contract, ContractOption, OptionDecision
from contracts.rules.models import Procedure

demo_cli = AppGroup("demo", help="Demo data.")

UNITS = [
    ("Oppvekst", "oppvekst"),
    ("Helse og omsorg", "helse"),
    ("Teknisk", "teknisk"),
    ("Kultur og fritid", "kultur"),
    ("Samfunnsutvikling", "samfunn"),
    ("Organisasjon og HR", "hr"),
    ("Økonomi", "okonomi"),
    ("Eiendom", "eiendom"),
]
CATEGORIES = [
    # name, CPV, kind, title patterns
    (
        "Renhold",
        "90910000-9",
        CategoryKind.SERVICES,
        ["Renhold av {place}", "Vinduspuss {place}", "Matteservice {place}"],
    ),
    (
        "Matvarer",
        "15000000-8",
        CategoryKind.GOODS,
        ["Matvarer til {unit}", "Frukt og grønt til {place}", "Meieriprodukter"],
    ),
    (
        "IKT-tjenester",
        "72000000-5",
        CategoryKind.SERVICES,
        ["Drift av {system}", "Lisenser til {system}", "Brukerstøtte {unit}"],
    ),
    (
        "Bygg og anlegg",
        "45000000-7",
        CategoryKind.WORKS,
        ["Rehabilitering av {place}", "Nybygg {place}", "Rammeavtale tømrerarbeid"],
    ),
    (
        "Transport",
        "60000000-8",
        CategoryKind.SERVICES,
        ["Skoleskyss {area}", "TT-transport", "Varetransport {unit}"],
    ),
    (
        "Konsulenttjenester",
        "79400000-8",
        CategoryKind.SERVICES,
        ["Rådgivning {topic}", "Juridisk bistand {topic}", "Prosjektledelse {place}"],
    ),
    (
        "Medisinsk forbruksmateriell",
        "33140000-3",
        CategoryKind.GOODS,
        ["Inkontinensprodukter", "Sårbehandling", "Medisinsk forbruksmateriell {unit}"],
    ),
    (
        "Energi",
        "09310000-5",
        CategoryKind.GOODS,
        ["Kraftleveranse", "Fjernvarme {place}", "Drivstoff til kommunale biler"],
    ),
    (
        "Vakt og sikkerhet",
        "79710000-4",
        CategoryKind.SERVICES,
        ["Vakthold {place}", "Låsesmedtjenester", "Brannalarmkontroll {place}"],
    ),
    (
        "Kontorrekvisita",
        "30190000-7",
        CategoryKind.GOODS,
        ["Kontorrekvisita", "Papir og trykksaker", "Møbler til {place}"],
    ),
]
PLACES = [
    "Østre Aasen skole",
    "Vestre Lien barnehage",
    "rådhuset",
    "Bakkehaugen sykehjem",
    "Fjordheim omsorgssenter",
    "kulturhuset",
    "Nordby ungdomsskole",
    "Sentrum bibliotek",
    "Åsen idrettshall",
    "Søndre Vik barnehage",
    "Strandvegen bofellesskap",
    "brannstasjonen",
]
SYSTEMS = [
    "sak- og arkivsystem",
    "fagsystem for helse",
    "skoleadministrasjon",
    "økonomisystem",
    "nettsider",
    "telefoni",
    "nettverk og Wi-Fi",
]
AREAS = ["nord", "sør", "øst", "vest", "sentrum"]
TOPICS = [
    "plan og bygg",
    "arbeidsrett",
    "offentlige anskaffelser",
    "klima og miljø",
    "digitalisering",
]
NAME_PARTS = [
    "Nordre",
    "Østre",
    "Vestre",
    "Søndre",
    "Fjord",
    "Fjell",
    "Skog",
    "Aasen",
    "Bakke",
    "Lien",
    "Berg",
    "Dal",
    "Vik",
    "Haug",
    "Holm",
    "Strand",
    "Moe",
    "Bø",
    "Sæther",
    "Ås",
    "Nes",
    "Tangen",
    "Lund",
    "Hagen",
    "Øverby",
]
TRADES = [
    "Renhold",
    "Bygg",
    "IKT",
    "Transport",
    "Mat",
    "Rådgivning",
    "Elektro",
    "Rør",
    "Maskin",
    "Data",
    "Catering",
    "Vakt",
    "Miljø",
    "Eiendom",
    "Helse",
    "Kontor",
]
TOWNS = [
    "Asker",
    "Bærum",
    "Drammen",
    "Oslo",
    "Hamar",
    "Tromsø",
    "Bergen",
    "Ålesund",
    "Bodø",
    "Skien",
    "Moss",
    "Lillestrøm",
    "Kongsberg",
    "Gjøvik",
    "Molde",
    "Førde",
    "Steinkjer",
    "Arendal",
    "Harstad",
    "Røros",
]
SUFFIXES = ["AS", "AS", "AS", "AS", "ASA", "SA"]
PROCEDURE_WEIGHTS = [
    (Procedure.DIRECT_AWARD, 20),
    (Procedure.OPEN_COMPETITION, 25),
    (Procedure.OPEN_PROCEDURE, 20),
    (Procedure.RESTRICTED_PROCEDURE, 5),
    (Procedure.NEGOTIATED_WITH_NOTICE, 10),
    (Procedure.FRAMEWORK_CALL_OFF, 10),
    (Procedure.MINI_COMPETITION, 5),
    (Procedure.SOCIAL_SERVICES, 3),
    (Procedure.UNKNOWN, 2),
]
DEMO_ACCOUNTS = [
    ("admin@demo.kommune.no", "Ada Administrator", Role.ADMIN, None),
    ("innkjop@demo.kommune.no", "Ingrid Innkjøper", Role.PROCUREMENT, None),
    ("eier@demo.kommune.no", "Ola Avtaleeier", Role.OWNER, "Oppvekst"),
    ("revisor@demo.kommune.no", "Randi Revisor", Role.AUDITOR, None),
]
EXTRA_OWNERS = [
    "Kari Nordmann",
    "Per Hansen",
    "Aud Østby",
    "Jon Aasen",
    "Siri Bakken",
    "Lars Ødegård",
    "Mette Lie",
    "Håkon Berg",
]


def valid_org_number(rng: random.Random, used: set[str]) -> str:
    """A random organisation number that passes the MOD11 check (and starts with 8 or 9)."""
    while True:
        body = str(rng.choice((8, 9))) + "".join(str(rng.randrange(10)) for _ in range(7))
        check = -orgnr.checksum(body + "0") % 11  # the weight of the check digit is 1
        if check == 10:
            continue
        number = body + str(check)
        if orgnr.is_valid(number) and number not in used:
            used.add(number)
            return number


def _title(rng: random.Random, patterns: list[str], unit: str) -> str:
    return rng.choice(patterns).format(
        place=rng.choice(PLACES),
        unit=unit.lower(),
        system=rng.choice(SYSTEMS),
        area=rng.choice(AREAS),
        topic=rng.choice(TOPICS),
    )


def _money(rng: random.Random, low: float, high: float) -> Decimal:
    value = math.exp(rng.uniform(math.log(low), math.log(high)))
    return Decimal(round(value, -3)).quantize(Decimal("0.01"))


def _next_id(model: Any) -> int:
    return (Session.scalar(select(func.max(model.id))) or 0) + 1


def _fix_sequences(tables: list[str]) -> None:
    # Rows were inserted with explicit ids; move PostgreSQL's sequences past them.
    if Session.get_bind().dialect.name != "postgresql":
        return
    for name in tables:
        table = Base.metadata.tables[name]
        highest = select(func.coalesce(func.max(table.c.id), 1)).scalar_subquery()
        Session.execute(select(func.setval(func.pg_get_serial_sequence(name, "id"), highest)))


# Other packages add their own demo data after the register's (contracts <- followup):
# each seeder gets a random generator and today, and returns counts to report.
Seeder = Callable[[random.Random, date], dict[str, int]]
_seeders: list[Seeder] = []


def add_seeder(seeder: Seeder) -> None:
    if seeder not in _seeders:
        _seeders.append(seeder)


def seed(
    contracts: int, suppliers: int, seed_value: int = 2017, *, extras: bool = True
) -> dict[str, Any]:
    """Insert demo units, categories, users, suppliers and contracts; returns what it made.

    With extras, the other packages' seeders add theirs (assessments, plans …)."""
    rng = random.Random(seed_value)
    day = today()
    units = {u.name: u for u in Session.scalars(select(Unit))}
    for name, _slug in UNITS:
        if name not in units:
            units[name] = Unit(name=name, contact_email=f"post.{_slug}@demo.kommune.no")
            Session.add(units[name])
    categories = {c.name: c for c in Session.scalars(select(Category))}
    for name, cpv, kind, _patterns in CATEGORIES:
        if name not in categories:
            categories[name] = Category(name=name, cpv_code=cpv, kind=kind)
            Session.add(categories[name])
    Session.flush()

    passwords: dict[str, str] = {}
    people: list[User] = []
    for email, name, role, unit_name in DEMO_ACCOUNTS:
        user = Session.scalar(select(User).where(User.email == email))
        if user is None:
            password = generate_password()
            user = create_user(
                email=email,
                name=name,
                role=role,
                password=password,
                unit_id=units[unit_name].id if unit_name else None,
            )
            passwords[email] = password
        people.append(user)
    for i, name in enumerate(EXTRA_OWNERS):
        email = f"eier{i + 1}@demo.kommune.no"
        user = Session.scalar(select(User).where(User.email == email))
        if user is None:
            user = create_user(
                email=email,
                name=name,
                role=Role.OWNER,
                password=None,  # owners who only receive reminders until given a password
                unit_id=units[UNITS[i % len(UNITS)][0]].id,
            )
        people.append(user)
    owners = [p for p in people if p.role in (Role.OWNER, Role.PROCUREMENT)]

    used = set(Session.scalars(select(Supplier.org_number).where(Supplier.org_number.is_not(None))))
    first_supplier = _next_id(Supplier)
    supplier_rows = []
    for i in range(suppliers):
        name = (
            f"{rng.choice(NAME_PARTS)} {rng.choice(TRADES)} {rng.choice(TOWNS)} "
            f"{rng.choice(SUFFIXES)}"
        )
        supplier_rows.append(
            {
                "id": first_supplier + i,
                "name": name,
                "org_number": valid_org_number(rng, used),
                "contact_email": None,
                "contact_phone": None,
                "notes": None,
                "created_at": audit.utcnow(),
            }
        )
    if supplier_rows:
        Session.execute(insert(Supplier.__table__), supplier_rows)

    first_contract = _next_id(Contract)
    first_option = _next_id(ContractOption)
    existing_refs = set(Session.scalars(select(Contract.reference)))
    contract_rows: list[dict[str, Any]] = []
    option_rows: list[dict[str, Any]] = []
    procedures = [p for p, _w in PROCEDURE_WEIGHTS]
    weights = [w for _p, w in PROCEDURE_WEIGHTS]
    unit_list = list(units.values())
    now = audit.utcnow()
    for i in range(contracts):
        cid = first_contract + i
        supplier = supplier_rows[rng.randrange(len(supplier_rows))] if supplier_rows else None
        if supplier is None:
            break
        cat_name, _cpv, kind, patterns = rng.choice(CATEGORIES)
        unit = rng.choice(unit_list)
        start = day - timedelta(days=rng.randint(-120, 6 * 365))
        years = rng.choice((1, 2, 2, 3, 3, 4, 4, 5))
        end = add_months(start, 12 * years) - timedelta(days=1)
        year = start.year
        reference = f"{year}/{cid:06d}"
        while reference in existing_refs:
            reference += "-D"
        existing_refs.add(reference)
        value = _money(rng, 40_000, 90_000_000 if kind == CategoryKind.WORKS else 12_000_000)
        is_draft = rng.random() < 0.04
        terminated_on = None
        if not is_draft and rng.random() < 0.02 and start < day:
            terminated_on = min(end, start + timedelta(days=rng.randint(60, 700)))
        exercised_months = possible_months = 0
        if rng.random() < 0.45:
            for n in range(rng.choice((1, 1, 2))):
                months = 12
                deadline = add_months(end, 12 * n) - timedelta(days=rng.choice((90, 120, 180)))
                decision = OptionDecision.PENDING
                if deadline < day and not is_draft:
                    decision = (
                        OptionDecision.EXERCISED if rng.random() < 0.75 else OptionDecision.DECLINED
                    )
                if decision == OptionDecision.EXERCISED:
                    exercised_months += months
                if decision != OptionDecision.DECLINED:
                    possible_months += months
                option_rows.append(
                    {
                        "id": first_option + len(option_rows),
                        "contract_id": cid,
                        "extension_months": months,
                        "exercise_deadline": deadline,
                        "decision": decision.value,
                        "decided_on": deadline - timedelta(days=10)
                        if decision != OptionDecision.PENDING
                        else None,
                        "decided_by_id": None,
                    }
                )
        current_end = add_months(end, exercised_months)
        max_end = add_months(end, possible_months)
        if terminated_on:
            current_end, max_end = min(current_end, terminated_on), min(max_end, terminated_on)
        title = _title(rng, patterns, unit.name)
        owner = rng.choice(owners)
        contract_rows.append(
            {
                "id": cid,
                "reference": reference,
                "title": title,
                "description": None,
                "supplier_id": supplier["id"],
                "category_id": categories[cat_name].id,
                "unit_id": unit.id,
                "owner_id": owner.id,
                "manager_id": rng.choice(owners).id if rng.random() < 0.7 else None,
                "procedure": rng.choices(procedures, weights)[0].value,
                "is_framework": rng.random() < 0.25,
                "estimated_value": value,
                "annual_value": (value / years).quantize(Decimal("0.01")),
                "signed_on": None if is_draft else start - timedelta(days=rng.randint(10, 60)),
                "start_date": start,
                "end_date": end,
                "notice_months": rng.choice((None, 1, 3, 3, 6)),
                "price_adjustment_index": rng.choice(
                    (None, "KPI", "KPI", "SSB byggekostnadsindeks")
                ),
                "price_adjustment_month": rng.choice((None, 1, 1, 7)),
                "has_wage_conditions": kind != CategoryKind.GOODS and rng.random() < 0.5,
                "is_confidential": rng.random() < 0.03,
                "notes": None,
                "terminated_on": terminated_on,
                "termination_reason": "Vesentlig mislighold" if terminated_on else None,
                "current_end_date": current_end,
                "end_sort_date": current_end,
                "max_end_date": max_end,
                "search_text": " ".join(
                    (reference, title, supplier["name"], supplier["org_number"])
                ).lower(),
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
            }
        )
    chunk = 5000
    for start_at in range(0, len(contract_rows), chunk):
        Session.execute(insert(Contract.__table__), contract_rows[start_at : start_at + chunk])
    for start_at in range(0, len(option_rows), chunk):
        Session.execute(insert(ContractOption.__table__), option_rows[start_at : start_at + chunk])
    amendment_rows = _amendments(contract_rows, day, now, random.Random(seed_value + 1))
    for start_at in range(0, len(amendment_rows), chunk):
        Session.execute(insert(Amendment.__table__), amendment_rows[start_at : start_at + chunk])
    _fix_sequences(["suppliers", "contracts", "contract_options"])
    audit.record(
        "demo_seed",
        entity_type="app",
        summary=f"Demo data: {len(contract_rows)} contracts, {len(supplier_rows)} suppliers",
        after={
            "contracts": len(contract_rows),
            "suppliers": len(supplier_rows),
            "options": len(option_rows),
            "amendments": len(amendment_rows),
        },
    )
    made: dict[str, Any] = {
        "contracts": len(contract_rows),
        "suppliers": len(supplier_rows),
        "passwords": passwords,
    }
    if extras:
        Session.flush()
        for seeder in _seeders:
            made.update(seeder(random.Random(seed_value + 2), day))
    return made


AMENDMENTS = [
    "Utvidet omfang: to nye bygg lagt til",
    "Justert leveringstid etter avtale",
    "Nytt vedlegg om rapportering",
    "Redusert omfang etter budsjettvedtak",
    "Endret kontaktperson og fakturaadresse",
]


def _amendments(
    contracts: list[dict[str, Any]], day: date, now: datetime, rng: random.Random
) -> list[dict[str, Any]]:
    """A dated change on about one in twelve signed, started contracts."""
    rows = []
    for contract in contracts:
        start, end = contract["start_date"], contract["end_date"]
        if contract["signed_on"] is None or start >= day or rng.random() > 1 / 12:
            continue
        latest = min(day, end)
        amended_on = start + timedelta(days=rng.randint(0, max((latest - start).days, 0)))
        description = rng.choice(AMENDMENTS)
        share = Decimal(rng.randint(1, 10)) / 100
        sign = -1 if description.startswith("Redusert") else 1
        change = (contract["estimated_value"] * share * sign).quantize(Decimal("0.01"))
        rows.append(
            {
                "contract_id": contract["id"],
                "amended_on": amended_on,
                "description": description,
                "value_change": change if "omfang" in description else None,
                "created_by_id": None,
                "created_at": now,
            }
        )
    return rows


def _write_accounts(passwords: dict[str, str]) -> Path:
    path = Path(current_app.instance_path) / "demo-accounts.txt"
    lines = [f"{email}\t{password}" for email, password in passwords.items()]
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


@demo_cli.command("seed")
@click.option("--contracts", "n_contracts", default=400, show_default=True, type=click.IntRange(0))
@click.option(
    "--suppliers",
    "n_suppliers",
    default=None,
    type=click.IntRange(1),
    help="Default: one supplier per five contracts, at least 40.",
)
@click.option("--if-empty", is_flag=True, help="Do nothing when the register has users.")
def seed_command(n_contracts: int, n_suppliers: int | None, if_empty: bool) -> None:
    """Create demo units, categories, users, suppliers and contracts."""
    if if_empty and Session.scalar(select(func.count()).select_from(User)):
        click.echo("The register already has data; no demo data added.")
        return
    n_suppliers = n_suppliers or max(40, n_contracts // 5)
    result = seed(n_contracts, n_suppliers)
    Session.commit()
    analyze()
    extras = {k: v for k, v in result.items() if k not in ("contracts", "suppliers", "passwords")}
    click.echo(f"Demo data: {result['contracts']} contracts, {result['suppliers']} suppliers.")
    if extras:
        click.echo("Also: " + ", ".join(f"{value} {name}" for name, value in extras.items()) + ".")
    if result["passwords"]:
        path = _write_accounts(result["passwords"])
        click.echo(f"Demo accounts (also saved in {path}):")
        for email, password in result["passwords"].items():
            click.echo(f"  {email}  password: {password}")
