"""Benchmark: importing a 10 000-row .xlsx (dry run, then commit with audit events).

Writes a messy Norwegian sheet (title rows above the header, text dates, amounts as
text, options like "1+1 år", org numbers with spaces), then times on a fresh SQLite
database: a bare read with python-calamine and with openpyxl read-only for comparison,
the dry run (read + header + plan) and the commit (read + plan + write + commit). The
issue's target: dry run + commit under 5 s. Prints a table and exits 0.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_S = 5.0
HEADER = [
    "Avtalenr",
    "Avtalenavn",
    "Leverandør",
    "Org.nr",
    "Kategori",
    "Virksomhet",
    "Avtaleeier",
    "Startdato",
    "Sluttdato",
    "Opsjoner",
    "Oppsigelsestid",
    "Anslått verdi (eks. mva)",
    "Årlig verdi",
    "Anskaffelsesprosedyre",
    "Rammeavtale",
    "Lønns- og arbeidsvilkår",
    "Merknad",
]
PROCEDURES = ["Åpen anbudskonkurranse", "Direkte anskaffelse", "Minikonkurranse", "Avrop", ""]


def write_sheet(path: Path, rows: int, seed: int = 11) -> None:
    from openpyxl import Workbook

    from contracts.demo import valid_org_number

    rng = random.Random(seed)
    used: set[str] = set()
    suppliers = [(f"Leverandør {n} AS", valid_org_number(rng, used)) for n in range(1500)]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Avtaler")
    sheet.append(["Avtaleoversikt Eksempel kommune"])
    sheet.append([f"Uttrekk {date(2026, 3, 1):%d.%m.%Y}"])
    sheet.append([])
    sheet.append(HEADER)
    for n in range(rows):
        start = date(2019, 1, 1) + timedelta(days=rng.randrange(2500))
        end = start + timedelta(days=365 * rng.choice((1, 2, 3, 4)) - 1)
        name, org = rng.choice(suppliers)
        value = rng.randrange(50_000, 30_000_000)
        sheet.append(
            [
                f"IMP-{n:06d}",
                f"Rammeavtale nr. {n} om varer og tjenester",
                name,
                f"{org[:3]} {org[3:6]} {org[6:]}" if n % 3 else org,
                f"Kategori {n % 30}",
                f"Enhet {n % 12}",
                f"eier{n % 150}@kommune.no",
                start if n % 2 else start.strftime("%d.%m.%Y"),
                end if n % 2 else end.isoformat(),
                rng.choice(["1+1 år", "2 x 1 år", "ingen", "", "1 år"]),
                rng.choice(["3 mnd", "6 måneder", "", "1"]),
                value if n % 4 else f"kr {value:,}".replace(",", " "),
                f"{value / 4:.2f}".replace(".", ","),
                rng.choice(PROCEDURES),
                rng.choice(["ja", "nei", "x", ""]),
                rng.choice(["ja", "nei", ""]),
                "Importert fra Excel" if n % 5 == 0 else None,
            ]
        )
    workbook.save(path)


def bare_reads(path: Path) -> tuple[float, float]:
    from openpyxl import load_workbook
    from python_calamine import CalamineWorkbook

    start = time.perf_counter()
    CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    calamine = time.perf_counter() - start
    start = time.perf_counter()
    workbook = load_workbook(path, read_only=True, data_only=True)
    for _row in workbook.worksheets[0].iter_rows(values_only=True):
        pass
    workbook.close()
    return calamine, time.perf_counter() - start


def timed_import(app, path: Path, commit: bool) -> tuple[float, dict[str, int]]:
    from contracts.db import Session
    from contracts.exchange import importer
    from contracts.exchange.headers import find_header_row
    from contracts.exchange.reading import read_rows

    with app.app_context():
        start = time.perf_counter()
        rows = read_rows(path.read_bytes(), path.name)
        header = find_header_row(rows)
        options = importer.ImportOptions(create_missing=True, source=f"import {path.name}")
        plan = importer.plan(rows, header, options)
        counts = {status.value: plan.count(status) for status in importer.RowStatus}
        if commit:
            counts.update(importer.apply(plan, options))
            Session.commit()
        elapsed = time.perf_counter() - start
        Session.remove()
    return elapsed, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from contracts.audit.models import AuditEvent
    from contracts.db import Session
    from contracts.register.models import Contract, ContractOption
    from wsgi import create_app

    with tempfile.TemporaryDirectory() as tmp:
        sheet = Path(tmp) / "avtaler.xlsx"
        write_sheet(sheet, args.rows)
        calamine, openpyxl = bare_reads(sheet)
        app = create_app({"DATABASE_URL": f"sqlite:///{Path(tmp) / 'import.db'}"})
        from alembic import command

        from contracts.dbcli import alembic_config

        with app.app_context():
            command.upgrade(alembic_config(), "head")
        dry, counts = timed_import(app, sheet, commit=False)
        full, counts = timed_import(app, sheet, commit=True)
        with app.app_context():
            contracts = Session.scalar(select(func.count()).select_from(Contract))
            options = Session.scalar(select(func.count()).select_from(ContractOption))
            events = Session.scalar(select(func.count()).select_from(AuditEvent))
            Session.remove()

    print()
    print(f"Import of a {args.rows}-row .xlsx (SQLite, create missing units/categories/owners)")
    print(f"{'step':<34} {'seconds':>8}")
    print(f"{'bare read, python-calamine':<34} {calamine:>8.2f}")
    print(f"{'bare read, openpyxl read-only':<34} {openpyxl:>8.2f}")
    print(f"{'dry run (read + plan)':<34} {dry:>8.2f}")
    print(f"{'commit (read + plan + write)':<34} {full:>8.2f}")
    print(f"{'end to end (dry run + commit)':<34} {dry + full:>8.2f}")
    print(f"written: {contracts} contracts, {options} options, {events} audit events; {counts}")
    verdict = "ok" if dry + full <= TARGET_S else "SLOW"
    print(f"target: <= {TARGET_S:.0f} s end to end ({verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
