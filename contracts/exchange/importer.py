"""Importing contracts from a spreadsheet: a dry run that reports every row, then a commit.

plan() reads the rows and decides, row by row, what would happen; nothing is written.
apply() writes the accepted rows of a plan in the caller's transaction (flushes only),
each contract with an audit event that names the import.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select

from contracts.audit import services as audit
from contracts.auth import services as auth_services
from contracts.auth.models import Role, User
from contracts.db import Session, unicode_lower, utcnow
from contracts.exchange.columns import FORMULA_STARTS
from contracts.exchange.headers import HeaderRow
from contracts.exchange.values import (
    CellError,
    parse_date,
    parse_money,
    parse_months,
    parse_options,
    parse_org_number,
    parse_yes_no,
)
from contracts.labels import PROCEDURE_LABELS
from contracts.parties import services as parties
from contracts.parties.models import Category, Supplier, Unit
from contracts.register import services as register
from contracts.register.dates import add_months
from contracts.register.models import OPEN_ENDED, Contract, ContractOption, OptionDecision
from contracts.rules.models import Procedure

# Without a date in the sheet, an option must be decided this long before the period ends.
OPTION_LEAD_MONTHS = 3
FLUSH_EVERY = 200
BATCH_SIZE = 1000  # new contracts per multi-row insert
NAME_WITH_EMAIL = re.compile(r"<([^<>@\s]+@[^<>\s]+)>")
MASTER_DATA_ERRORS = {
    "unit": (_l("The unit is missing."), _l("Unknown unit (not in the register):")),
    "category": (
        _l("The category is missing."),
        _l("Unknown category (not in the register):"),
    ),
}


class RowStatus(enum.StrEnum):
    NEW = "new"  # will be registered
    UPDATE = "update"  # will change the contract with this number
    UNCHANGED = "unchanged"  # already in the register; left alone
    REJECTED = "rejected"


# Told (phase, rows done, rows in all) now and then, for a progress bar.
Progress = Callable[[str, int, int], None]
PROGRESS_EVERY = 500


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


@dataclass
class ImportOptions:
    create_missing: bool = False  # units, categories and owners not yet in the register
    update_existing: bool = False  # rows whose contract number exists change the contract
    source: str = "import"  # named in the audit trail
    progress: Progress = _no_progress


@dataclass
class PlannedRow:
    number: int  # as the spreadsheet shows it
    status: RowStatus
    reference: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    supplier: tuple[str, str | None] | None = None  # (name, org number)
    unit: str | None = None
    category: str | None = None
    owner: str | None = None
    manager: str | None = None
    options: list[int] = field(default_factory=list)
    existing_id: int | None = None


@dataclass
class ImportPlan:
    rows: list[PlannedRow]

    def count(self, status: RowStatus) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def accepted(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.status in (RowStatus.NEW, RowStatus.UPDATE)]

    @property
    def rejected(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.status == RowStatus.REJECTED]


def _procedures() -> dict[str, Procedure]:
    """Procedure names as offices write them (Norwegian labels and codes) -> Procedure."""
    names: dict[str, Procedure] = {}
    for procedure, label in PROCEDURE_LABELS.items():
        names[procedure.value] = procedure
        for locale in ("nb", "en"):  # an export in either language reads back
            with force_locale(locale):
                text = str(label).lower()
            names[text] = procedure
            names[text.split(" (")[0]] = procedure
    names.update(
        {
            "direkte": Procedure.DIRECT_AWARD,
            "åpen anbudskonkurranse": Procedure.OPEN_PROCEDURE,
            "begrenset anbudskonkurranse": Procedure.RESTRICTED_PROCEDURE,
            "åpen tilbudskonkurranse": Procedure.OPEN_COMPETITION,
            "begrenset tilbudskonkurranse": Procedure.RESTRICTED_COMPETITION,
            "minikonkurranse": Procedure.MINI_COMPETITION,
            "avrop": Procedure.FRAMEWORK_CALL_OFF,
        }
    )
    return names


def _text(value: object, limit: int) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    if text.startswith("'") and text[1:2] in FORMULA_STARTS:
        text = text[1:]  # the apostrophe our own export puts before formula-like text
    return text[:limit] if text else None


def _cell(row: Sequence[object], columns: dict[str, int], name: str) -> object:
    position = columns.get(name)
    return row[position] if position is not None and position < len(row) else None


class _Lookups:
    """Names and numbers already in the register, read once per plan."""

    def __init__(self) -> None:
        self.units = {n.lower(): i for i, n in Session.execute(select(Unit.id, Unit.name))}
        self.categories = {
            n.lower(): i for i, n in Session.execute(select(Category.id, Category.name))
        }
        self.references = {
            ref: cid
            for cid, ref in Session.execute(
                select(Contract.id, Contract.reference).where(Contract.deleted_at.is_(None))
            )
        }
        self.users = {e.lower(): i for i, e in Session.execute(select(User.id, User.email))}
        self.user_names = {n.lower(): i for i, n in Session.execute(select(User.id, User.name))}
        self.procedures = _procedures()


def _person(value: object, lookups: _Lookups, create: bool, row: PlannedRow, what) -> str | None:
    text = _text(value, 254)
    if not text:
        return None
    if match := NAME_WITH_EMAIL.search(text):  # "Kari Nordmann <kari@kommune.no>", as exported
        text = match.group(1)
    key = text.lower()
    if key in lookups.users or key in lookups.user_names:
        return key
    if "@" in key and create:
        return key
    row.warnings.append(
        str(_l("%(what)s %(value)s is not a user and is left empty.", what=what, value=text))
    )
    return None


def plan(rows: Sequence[Sequence[object]], header: HeaderRow, options: ImportOptions) -> ImportPlan:
    """What importing the rows below the header would do, row by row; writes nothing."""
    columns = {f: position for position, f in header.columns.items()}
    lookups = _Lookups()
    seen: set[str] = set()
    planned: list[PlannedRow] = []
    total = len(rows) - header.index - 1
    for index in range(header.index + 1, len(rows)):
        if (index - header.index) % PROGRESS_EVERY == 0:
            options.progress("checking", index - header.index, total)
        raw = rows[index]
        if not any(str(cell).strip() for cell in raw if cell is not None):
            continue
        planned.append(_plan_row(index + 1, raw, columns, lookups, options, seen))
    return ImportPlan(rows=planned)


def _plan_row(
    number: int,
    raw: Sequence[object],
    columns: dict[str, int],
    lookups: _Lookups,
    options: ImportOptions,
    seen: set[str],
) -> PlannedRow:
    row = PlannedRow(number=number, status=RowStatus.NEW)
    cell = lambda name: _cell(raw, columns, name)  # noqa: E731
    row.reference = _text(cell("reference"), 60) or ""
    title = _text(cell("title"), 300)
    if not row.reference:
        row.errors.append(str(_l("The contract number is missing.")))
    elif row.reference in seen:
        row.errors.append(
            str(_l("The contract number %(ref)s is in the file twice.", ref=row.reference))
        )
    seen.add(row.reference)
    if not title:
        row.errors.append(str(_l("The title is missing.")))

    parsed: dict[str, Any] = {}
    parsers = {
        "start_date": parse_date, "end_date": parse_date, "signed_on": parse_date,
        "estimated_value": parse_money, "annual_value": parse_money, "notice": parse_months,
        "options": parse_options, "is_framework": parse_yes_no,
        "has_wage_conditions": parse_yes_no,
    }  # fmt: skip
    for name, parse in parsers.items():
        try:
            parsed[name] = parse(cell(name))
        except CellError as error:
            row.errors.append(str(error.args[0]))
    if "start_date" in parsed and parsed["start_date"] is None:
        row.errors.append(str(_l("The start date is missing.")))
    start, end = parsed.get("start_date"), parsed.get("end_date")
    if start and end and end < start:
        row.errors.append(str(_l("The end date is before the start date.")))

    supplier_name = _text(cell("supplier"), 200)
    org_number = None
    try:
        org_number = parse_org_number(cell("org_number"))
    except CellError as error:
        row.warnings.append(str(error.args[0]) + " " + str(_l("(matched by name instead)")))
    if not supplier_name and not org_number:
        row.errors.append(str(_l("The supplier is missing.")))
    row.supplier = (supplier_name or org_number or "", org_number)

    for kind, table in (("unit", lookups.units), ("category", lookups.categories)):
        name = _text(cell(kind), 120)
        missing, unknown = MASTER_DATA_ERRORS[kind]
        if not name:
            row.errors.append(str(missing))
        elif name.lower() not in table and not options.create_missing:
            row.errors.append(str(unknown) + " " + name)
        setattr(row, kind, name)

    row.owner = _person(cell("owner"), lookups, options.create_missing, row, _l("Owner"))
    row.manager = _person(cell("manager"), lookups, options.create_missing, row, _l("Manager"))
    procedure_text = _text(cell("procedure"), 200)
    procedure = Procedure.UNKNOWN
    if procedure_text:
        procedure = lookups.procedures.get(procedure_text.lower(), Procedure.UNKNOWN)
        if procedure == Procedure.UNKNOWN:
            row.warnings.append(
                str(_l("Unknown procedure %(name)s, saved as unknown.", name=procedure_text))
            )
    row.options = parsed.get("options") or []
    if row.options and end is None:
        row.errors.append(str(_l("Options need an end date.")))
    elif row.options:
        row.warnings.append(
            str(
                _l(
                    "Option deadlines set to %(n)d months before each period ends.",
                    n=OPTION_LEAD_MONTHS,
                )
            )
        )
    price = _text(cell("price_adjustment"), 120)
    month = None
    try:
        month = parse_months(cell("price_adjustment_month"))
    except CellError:
        month = -1
    if month is not None and not 1 <= month <= 12:
        row.warnings.append(str(_l("The price adjustment month is not 1 to 12 and is left empty.")))
        month = None
    row.values = {
        "reference": row.reference,
        "title": title,
        "procedure": procedure,
        "is_framework": parsed.get("is_framework", False),
        "estimated_value": parsed.get("estimated_value"),
        "annual_value": parsed.get("annual_value"),
        "signed_on": parsed.get("signed_on") or start,
        "start_date": start,
        "end_date": end,
        "notice_months": parsed.get("notice"),
        "price_adjustment_index": price,
        "price_adjustment_month": month,
        "has_wage_conditions": parsed.get("has_wage_conditions", False),
        "notes": _text(cell("notes"), 10000),
    }
    if row.errors:
        row.status = RowStatus.REJECTED
    elif row.reference in lookups.references:
        row.existing_id = lookups.references[row.reference]
        row.status = RowStatus.UPDATE if options.update_existing else RowStatus.UNCHANGED
    return row


# --- writing -------------------------------------------------------------------------


class _Resolver:
    """Finds or creates the suppliers, units, categories and people the rows name."""

    def __init__(self, options: ImportOptions) -> None:
        self.options = options
        self.cache: dict[tuple[str, str], int] = {}
        # All suppliers at once: a lookup per row by lower-cased name would scan the table.
        self.by_org: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        self.supplier_texts: dict[int, tuple[str, str | None]] = {}  # for the search text
        for supplier_id, name, org in Session.execute(
            select(Supplier.id, Supplier.name, Supplier.org_number).order_by(Supplier.id)
        ):
            if org:
                self.by_org[org] = supplier_id
            self.by_name.setdefault(name.lower(), supplier_id)
            self.supplier_texts[supplier_id] = (name, org)

    def supplier(self, name: str, org_number: str | None) -> int:
        found = (self.by_org.get(org_number) if org_number else None) or self.by_name.get(
            name.lower()
        )
        if found is None:
            supplier = parties.save_supplier(
                Supplier(),
                name=name,
                org_number=org_number,
                contact_email=None,
                contact_phone=None,
                notes=None,
            )
            found = supplier.id
            self.supplier_texts[found] = (supplier.name, supplier.org_number)
            if org_number:
                self.by_org[org_number] = found
            self.by_name.setdefault(name.lower(), found)
        return found

    def named(self, model: type[Unit] | type[Category], name: str) -> int:
        key = (model.__tablename__, name.lower())
        if key not in self.cache:
            found = Session.scalar(
                select(model).where(unicode_lower(model.name) == name.lower()).limit(1)
            )
            if found is None:
                if model is Unit:
                    found = parties.save_unit(Unit(), name=name, contact_email=None)
                else:
                    found = parties.save_category(
                        Category(), name=name, cpv_code=None, kind="services"
                    )
            self.cache[key] = found.id
        return self.cache[key]

    def person(self, key: str | None) -> int | None:
        if key is None:
            return None
        if ("user", key) in self.cache:
            return self.cache[("user", key)]
        user = Session.scalar(select(User).where(func.lower(User.email) == key)) or Session.scalar(
            select(User).where(unicode_lower(User.name) == key).limit(1)
        )
        if user is None:
            local = key.split("@")[0].replace(".", " ").title()
            # No password: owners named in a sheet get one from an administrator.
            user = auth_services.create_user(email=key, name=local, role=Role.OWNER, password=None)
        self.cache[("user", key)] = user.id
        return user.id

    def values(self, row: PlannedRow) -> dict[str, Any]:
        """The row's contract values with the ids of what it names (found or created)."""
        values = dict(row.values)
        values["supplier_id"] = self.supplier(*row.supplier)
        values["unit_id"] = self.named(Unit, row.unit)
        values["category_id"] = self.named(Category, row.category)
        values["owner_id"] = self.person(row.owner)
        values["manager_id"] = self.person(row.manager)
        return values


def apply(import_plan: ImportPlan, options: ImportOptions) -> dict[str, int]:
    """Write the accepted rows (flushes, never commits); returns counts by status.

    Updates go through the register's services one by one. New contracts, the bulk of a
    first import, are inserted in batches with their options and audit events: the same
    rows and events the services would write, without a round trip per row.
    """
    resolver = _Resolver(options)
    accepted = import_plan.accepted
    resolved = [(row, resolver.values(row)) for row in accepted]
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    updates = [(row, values) for row, values in resolved if row.status == RowStatus.UPDATE]
    for n, (row, values) in enumerate(updates, start=1):
        if n % FLUSH_EVERY == 0:
            # Every flush looks through all objects in the session; letting go of the rows
            # already written keeps a large update linear instead of quadratic.
            Session.flush()
            Session.expunge_all()
            options.progress("writing", n, len(accepted))
        contract = Session.get(Contract, row.existing_id)
        source = f"{options.source}, rad {row.number}"
        register.update_contract(contract, values, contract.version, source=source)
        counts["updated"] += 1
    Session.flush()
    # A contract registered with the same number since the dry run is left alone.
    taken = set(Session.scalars(select(Contract.reference).where(Contract.deleted_at.is_(None))))
    new = [(row, v) for row, v in resolved if row.status == RowStatus.NEW]
    fresh = [(row, v) for row, v in new if v["reference"] not in taken]
    counts["unchanged"] = len(new) - len(fresh)
    writer = _BulkWriter(resolver.supplier_texts, options.source)
    for start in range(0, len(fresh), BATCH_SIZE):
        options.progress("writing", len(updates) + start, len(accepted))
        writer.write(fresh[start : start + BATCH_SIZE])
    counts["created"] = len(fresh)
    options.progress("writing", len(accepted), len(accepted))
    return counts


class _BulkWriter:
    """Inserts new contracts, their options and their audit events in batches."""

    contract_keys = audit.audited_keys(Contract)
    option_keys = audit.audited_keys(ContractOption)

    def __init__(self, supplier_texts: dict[int, tuple[str, str | None]], source: str):
        self.supplier_texts = supplier_texts
        self.source = source
        self.chain = audit.ChainAppender()
        self.contracts = Contract.__table__
        self.options = ContractOption.__table__

    def _contract_row(self, values: dict[str, Any], months: list[int], now: Any) -> dict:
        row = {key: None for key in self.contracts.columns.keys()}  # noqa: SIM118
        row.pop("id")
        row.update(values)
        end = row["end_date"]
        row["current_end_date"] = end
        row["max_end_date"] = add_months(end, sum(months)) if end else None
        row["end_sort_date"] = end or OPEN_ENDED
        name, org_number = self.supplier_texts[row["supplier_id"]]
        parts = [row["reference"], row["title"], name, org_number or ""]
        row["search_text"] = " ".join(p for p in parts if p).lower()[:700]
        row.update(
            is_confidential=False, version=1, created_at=now, updated_at=now, deleted_at=None
        )
        return row

    def write(self, batch: list[tuple[PlannedRow, dict[str, Any]]]) -> None:
        now = utcnow()
        rows = [self._contract_row(values, row.options, now) for row, values in batch]
        # One multi-row insert, then the ids by reference (unique among live contracts):
        # RETURNING in parameter order makes SQLite insert row by row.
        Session.execute(insert(self.contracts), rows)
        by_reference = dict(
            Session.execute(
                select(Contract.reference, Contract.id).where(
                    Contract.reference.in_([row["reference"] for row in rows]),
                    Contract.deleted_at.is_(None),
                )
            ).all()
        )
        ids = [by_reference[row["reference"]] for row in rows]
        option_rows = []
        for contract_id, contract_row, (planned, _values) in zip(ids, rows, batch, strict=True):
            contract_row["id"] = contract_id
            for extension, deadline in _option_deadlines(contract_row["end_date"], planned.options):
                option_rows.append(
                    {
                        "contract_id": contract_id,
                        "extension_months": extension,
                        "exercise_deadline": deadline,
                        "decision": OptionDecision.PENDING,
                        "decided_on": None,
                        "decided_by_id": None,
                    }
                )
        by_contract: dict[int, list[dict]] = {}
        if option_rows:
            Session.execute(insert(self.options), option_rows)
            # A contract's options get ascending ids in the order they were inserted.
            option_ids: dict[int, list[int]] = {}
            for contract_id, option_id in Session.execute(
                select(ContractOption.contract_id, ContractOption.id)
                .where(ContractOption.contract_id.in_(ids))
                .order_by(ContractOption.id)
            ):
                option_ids.setdefault(contract_id, []).append(option_id)
            for option_row in option_rows:
                option_row["id"] = option_ids[option_row["contract_id"]].pop(0)
                by_contract.setdefault(option_row["contract_id"], []).append(option_row)
        for contract_row, (planned, _values) in zip(rows, batch, strict=True):
            contract_id = contract_row["id"]
            self.chain.add(
                "create",
                "contracts",
                contract_id,
                contract_id=contract_id,
                after=audit.snapshot_values(self.contract_keys, contract_row),
                summary=f"{contract_row['reference']} {contract_row['title']} "
                f"[{self.source}, rad {planned.number}]",
            )
            for option_row in by_contract.get(contract_id, []):
                self.chain.add(
                    "create",
                    "contract_options",
                    option_row["id"],
                    contract_id=contract_id,
                    after=audit.snapshot_values(self.option_keys, option_row),
                )
        self.chain.flush()


def _option_deadlines(end: date | None, months: list[int]) -> list[tuple[int, date]]:
    """Each option's extension and deadline: OPTION_LEAD_MONTHS before its period ends."""
    result = []
    for extension in months:
        if end is None:
            break
        result.append((extension, add_months(end, -OPTION_LEAD_MONTHS)))
        end = add_months(end + timedelta(days=1), extension) - timedelta(days=1)
    return result
