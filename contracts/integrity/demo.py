"""Demo data for integrity: declarations (complete, missing, one declared conflict) and one
contract for each red-flag rule, then the flags computed as the nightly job would."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from contracts.audit import services as audit
from contracts.auth.models import User
from contracts.db import Session
from contracts.demo import valid_org_number
from contracts.integrity import declarations, flags
from contracts.integrity.declarations import Declaration
from contracts.parties.models import Category, CategoryKind, Supplier, Unit
from contracts.register import services as register
from contracts.register.dates import add_months
from contracts.register.models import Contract
from contracts.rules.models import Procedure, ThresholdKind
from contracts.rules.services import thresholds_on

PREFIX = "RF-DEMO"


def _supplier(name: str, rng: random.Random) -> Supplier:
    supplier = Session.scalar(select(Supplier).where(Supplier.name == name))
    if supplier is None:
        used = set(
            Session.scalars(select(Supplier.org_number).where(Supplier.org_number.is_not(None)))
        )
        supplier = Supplier(name=name, org_number=valid_org_number(rng, used))
        Session.add(supplier)
        Session.flush()
    return supplier


def _category(name: str, kind: CategoryKind) -> Category:
    category = Session.scalar(select(Category).where(Category.name == name))
    if category is None:
        category = Category(name=name, kind=kind)
        Session.add(category)
        Session.flush()
    return category


def _contract(n: int, title: str, **values: Any) -> Contract:
    start = values.pop("start_date")
    end = values.pop("end_date", add_months(start, 24) - timedelta(days=1))
    base: dict[str, Any] = {
        "reference": f"{PREFIX}-{n:02d}",
        "title": title,
        "procedure": Procedure.OPEN_COMPETITION,
        "signed_on": start - timedelta(days=20),
        "start_date": start,
        "end_date": end,
        "has_wage_conditions": True,
        "annual_value": None,
    }
    return register.create_contract(base | values)


def _flag_contracts(day: date, unit: Unit, owner: User, officer: User, rng: random.Random) -> int:
    """One contract (or pair) for each rule; returns how many contracts were made."""
    if Session.scalar(select(Contract.id).where(Contract.reference == f"{PREFIX}-01")):
        return 0
    services = _category("Snøbrøyting", CategoryKind.SERVICES)
    goods = _category("Arbeidstøy", CategoryKind.GOODS)
    works = _category("Vedlikehold av veier", CategoryKind.WORKS)
    cleaning = _category("Renhold", CategoryKind.SERVICES)
    # Three of the register's suppliers (new ones only in an empty register).
    existing = list(Session.scalars(select(Supplier).order_by(Supplier.id).limit(3)))
    if len(existing) < 3:
        existing = [
            _supplier(name, rng)
            for name in ("Nordre Brøyting AS", "Vestre Arbeidsklær AS", "Søndre Maskin AS")
        ]
    brøyt, tøy, annen = existing
    common = {"unit_id": unit.id, "owner_id": owner.id, "manager_id": officer.id}
    this_year = day - timedelta(days=200)
    made = []
    with audit.acting_as(officer.id, officer.email, None):
        # Direct award of 2.5 MNOK: above the national threshold.
        made.append(
            _contract(
                1,
                "Direkte kjøp av brøytetjenester",
                supplier_id=brøyt.id,
                category_id=services.id,
                procedure=Procedure.DIRECT_AWARD,
                estimated_value=Decimal("2500000"),
                start_date=this_year,
                **common,
            )
        )
        # Two contracts of 0.8 MNOK with one supplier in one category, four months apart.
        for n, months in ((2, 0), (3, 4)):
            made.append(
                _contract(
                    n,
                    f"Arbeidstøy, bestilling {n - 1}",
                    supplier_id=tøy.id,
                    category_id=goods.id,
                    estimated_value=Decimal("800000"),
                    start_date=add_months(this_year, months),
                    **common,
                )
            )
        # A 1 MNOK goods contract with amendments adding 15 %.
        amended = _contract(
            4,
            "Verneutstyr med utvidelse",
            supplier_id=annen.id,
            category_id=goods.id,
            estimated_value=Decimal("1000000"),
            start_date=this_year,
            **common,
        )
        register.add_amendment(
            amended,
            this_year + timedelta(days=60),
            "Utvidet omfang: to nye virksomheter",
            Decimal("150000"),
            officer,
        )
        made.append(amended)
        # A framework agreement of 4 years with a 1-year option.
        framework = _contract(
            5,
            "Rammeavtale veivedlikehold",
            supplier_id=annen.id,
            category_id=works.id,
            is_framework=True,
            estimated_value=Decimal("9000000"),
            start_date=this_year,
            end_date=add_months(this_year, 48) - timedelta(days=1),
            **common,
        )
        register.add_option(framework, 12, add_months(this_year, 44))
        made.append(framework)
        # Ended last year, amended after its end.
        ended = _contract(
            6,
            "Vakthold som fortsatt brukes",
            supplier_id=annen.id,
            category_id=services.id,
            estimated_value=Decimal("600000"),
            start_date=add_months(day, -30),
            end_date=add_months(day, -6),
            **common,
        )
        register.add_amendment(ended, add_months(day, -2), "Forlenget etter avtale", None, officer)
        made.append(ended)
        # Services of 3 MNOK (above the EEA threshold) without the wage clause.
        made.append(
            _contract(
                7,
                "Renhold uten lønnsklausul",
                supplier_id=annen.id,
                category_id=cleaning.id,
                estimated_value=Decimal("3000000"),
                has_wage_conditions=False,
                start_date=this_year,
                **common,
            )
        )
    # Registered by its owner, who also raised its value: no second pair of eyes.
    with audit.acting_as(owner.id, owner.email, None):
        alone = _contract(
            8,
            "Snøbrøyting sentrum",
            supplier_id=brøyt.id,
            category_id=services.id,
            estimated_value=Decimal("700000"),
            start_date=this_year,
            unit_id=unit.id,
            owner_id=owner.id,
        )
        register.update_contract(alone, {"estimated_value": Decimal("900000")}, alone.version)
        made.append(alone)
    # Snøbrøyting: one supplier holds over 90 % of the category (supplier_share).
    with audit.acting_as(officer.id, officer.email, None):
        made.append(
            _contract(
                9,
                "Strøing av fortau",
                supplier_id=annen.id,
                category_id=services.id,
                estimated_value=Decimal("300000"),
                start_date=this_year,
                **common,
            )
        )
    return len(made)


def _declare(contracts: list[Contract], day: date, rng: random.Random, officer: User) -> int:
    """Declarations for most contracts that need them; some missing, one conflict."""
    made = 0
    conflict_done = False
    for contract in contracts:
        people = [u for u in (contract.owner, contract.manager) if u is not None]
        if not people or rng.random() < 0.15:  # left missing on purpose
            continue
        for person in {p.id: p for p in people}.values():
            if rng.random() < 0.1:
                continue  # one of two has declared: incomplete
            with audit.acting_as(person.id, person.email, None):
                if not conflict_done:
                    declaration = declarations.declare(
                        contract,
                        person,
                        day - timedelta(days=rng.randint(1, 200)),
                        "Min svoger er daglig leder hos en av tilbyderne.",
                        "Jeg har trådt til side i evalueringen; innkjøpssjefen vurderer tilbudene.",
                    )
                    conflict_done = True
                else:
                    declaration = declarations.declare(
                        contract, person, day - timedelta(days=rng.randint(1, 400))
                    )
            made += 1
            if rng.random() < 0.6:
                with audit.acting_as(officer.id, officer.email, None):
                    declarations.review(declaration, officer, True, None)
    return made


def seed_integrity(rng: random.Random, day: date) -> dict[str, int]:
    """The demo's declarations, red-flag contracts and flags."""
    officer = Session.scalar(select(User).where(User.email == "innkjop@demo.kommune.no"))
    owner = Session.scalar(select(User).where(User.email == "eier@demo.kommune.no"))
    unit = Session.scalar(select(Unit).order_by(Unit.id))
    if officer is None or owner is None or unit is None:
        return {}
    flag_contracts = _flag_contracts(day, unit, owner, officer, rng)
    declared_before = set(Session.scalars(select(Declaration.contract_id)))
    # Current contracts at or above today's national threshold.
    threshold = thresholds_on(day).get(ThresholdKind.NATIONAL, Decimal(0))
    candidates = [
        c
        for c in Session.scalars(
            select(Contract)
            .where(
                Contract.deleted_at.is_(None),
                Contract.signed_on.is_not(None),
                Contract.estimated_value >= threshold,
                (Contract.current_end_date.is_(None)) | (Contract.current_end_date >= day),
            )
            .order_by(Contract.id)
        )
        if c.id not in declared_before and not c.reference.startswith(PREFIX)
    ]
    made = _declare(candidates, day, rng, officer)
    counts = flags.recompute(day)
    return {
        "red-flag contracts": flag_contracts,
        "declarations": made,
        "red flags": counts["open"],
    }
