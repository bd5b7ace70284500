"""Factory functions for test data, going through the services like the app does."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from contracts.auth import services as auth_services
from contracts.auth.models import Role, User
from contracts.db import Session
from contracts.exchange.models import ImportJob, JobStatus
from contracts.parties.models import Category, CategoryKind, Supplier, Unit
from contracts.register import services as register_services
from contracts.register.models import Contract
from contracts.rules.models import Procedure

PASSWORD = "correct horse battery staple"
# Hashing is slow on purpose; hash the shared test password once.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="scrypt")
_seq = itertools.count(1)


def org_number(n: int | None = None) -> str:
    """A valid Norwegian organisation number (MOD11), different for each n."""
    from stdnum.no import orgnr

    n = next(_seq) if n is None else n
    base = 91_000_000 + n * 7
    while True:
        body = str(base)
        check = -orgnr.checksum(body + "0") % 11
        if check != 10:
            return body + str(check)
        base += 1


def make_user(role: Role = Role.PROCUREMENT, **fields: Any) -> User:
    n = next(_seq)
    user = User(
        email=fields.pop("email", f"user{n}@test.kommune.no"),
        name=fields.pop("name", f"Test User {n}"),
        role=role,
        password_hash=PASSWORD_HASH,
        **fields,
    )
    Session.add(user)
    Session.flush()
    return user


def log_in(client, user: User) -> None:
    """Give the test client a real server-side session without the slow login POST."""
    token = auth_services.start_session(user, "127.0.0.1", "pytest")
    Session.flush()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True


def make_unit(name: str | None = None) -> Unit:
    unit = Unit(name=name or f"Enhet {next(_seq)}")
    Session.add(unit)
    Session.flush()
    return unit


def make_category(name: str | None = None, kind: CategoryKind = CategoryKind.SERVICES) -> Category:
    category = Category(name=name or f"Kategori {next(_seq)}", kind=kind)
    Session.add(category)
    Session.flush()
    return category


def make_supplier(name: str | None = None, org: str | None = "auto") -> Supplier:
    supplier = Supplier(
        name=name or f"Leverandør {next(_seq)} AS",
        org_number=org_number() if org == "auto" else org,
    )
    Session.add(supplier)
    Session.flush()
    return supplier


def contract_values(**overrides: Any) -> dict[str, Any]:
    """Valid form values for a contract; overrides replace any of them."""
    start = overrides.pop("start_date", date(2025, 1, 1))
    values: dict[str, Any] = {
        "reference": f"TEST-{next(_seq):05d}",
        "title": "Renhold av rådhuset",
        "description": None,
        "supplier_id": None,
        "category_id": None,
        "unit_id": None,
        "owner_id": None,
        "manager_id": None,
        "procedure": Procedure.OPEN_COMPETITION,
        "is_framework": False,
        "estimated_value": Decimal("1500000.00"),
        "annual_value": Decimal("500000.00"),
        "signed_on": start - timedelta(days=14),
        "start_date": start,
        "end_date": date(start.year + 3, start.month, start.day) - timedelta(days=1),
        "notice_months": 3,
        "price_adjustment_index": "KPI",
        "price_adjustment_month": 1,
        "has_wage_conditions": True,
        "is_confidential": False,
        "notes": None,
    }
    values.update(overrides)
    if values["supplier_id"] is None:
        values["supplier_id"] = make_supplier().id
    if values["category_id"] is None:
        values["category_id"] = make_category().id
    if values["unit_id"] is None:
        values["unit_id"] = make_unit().id
    return values


def make_contract(**overrides: Any) -> Contract:
    contract = register_services.create_contract(contract_values(**overrides))
    Session.flush()
    return contract


def make_import_job(**fields) -> ImportJob:
    """A finished import job, as the import page leaves it."""
    values = {
        "upload_token": "imported-already",
        "filename": "kontrakter.xlsx",
        "header_row": 0,
        "mapping": {"0": "reference", "1": "title"},
        "status": JobStatus.DONE,
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        **fields,
    }
    job = ImportJob(**values)
    Session.add(job)
    Session.flush()
    return job


def make_api_token(user: User, name: str = "Test") -> str:
    """A live API token for the user; returns the text to send as Bearer."""
    from contracts.api.services import create_token

    _token, text = create_token(user, name)
    Session.flush()
    return text


# Access events (contracts/audit/access.py) record who came and went, never a change.
ACCESS_ACTIONS = ("login", "login_failed", "logout", "view_confidential", "access_refused")


def audit_changes() -> int:
    """How many audit events record changes (access events left out)."""
    from contracts.audit.models import AuditEvent

    return Session.scalar(select(func.count()).where(AuditEvent.action.not_in(ACCESS_ACTIONS)))
