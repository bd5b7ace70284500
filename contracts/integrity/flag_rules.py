"""The red-flag rules. Each reads the register with a fixed number of grouped queries (the
signed contracts are read once and shared) and judges values against the thresholds in
force on the relevant date (contracts/integrity/flags.Thresholds)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from contracts.audit.models import AuditEvent
from contracts.db import Session
from contracts.integrity import declarations
from contracts.integrity.flags import (
    USAGE_SOURCES,
    Context,
    Finding,
    Rule,
    Severity,
    add_rule,
)
from contracts.parties.models import Category, CategoryKind
from contracts.register.dates import add_months
from contracts.register.models import Amendment, Contract
from contracts.rules.models import Procedure

# Amendments may add at most this share of the original value without a new competition.
AMENDMENT_LIMIT = {CategoryKind.WORKS: Decimal("0.15")}
AMENDMENT_LIMIT_DEFAULT = Decimal("0.10")  # goods and services
FRAMEWORK_MAX_MONTHS = 48
SPLITTING_WINDOW_MONTHS = 12


@dataclass(frozen=True)
class Row:
    """What the rules need of a signed, live contract."""

    id: int
    signed_on: date
    value: Decimal | None
    procedure: Procedure
    is_framework: bool
    start_date: date
    end_date: date | None
    current_end_date: date | None
    max_end_date: date | None
    terminated_on: date | None
    supplier_id: int
    category_id: int
    kind: CategoryKind
    has_wage_conditions: bool
    owner_id: int | None

    def in_force(self, today: date) -> bool:
        """Signed, started or not, and neither terminated nor past its current end."""
        if self.terminated_on is not None and self.terminated_on <= today:
            return False
        return self.current_end_date is None or self.current_end_date >= today


def signed_contracts(context: Context) -> list[Row]:
    """Every signed contract that is not deleted (one query, shared by the rules)."""
    if "rows" not in context.cache:
        query = (
            select(
                Contract.id,
                Contract.signed_on,
                Contract.estimated_value,
                Contract.procedure,
                Contract.is_framework,
                Contract.start_date,
                Contract.end_date,
                Contract.current_end_date,
                Contract.max_end_date,
                Contract.terminated_on,
                Contract.supplier_id,
                Contract.category_id,
                Category.kind,
                Contract.has_wage_conditions,
                Contract.owner_id,
            )
            .join(Category, Category.id == Contract.category_id)
            .where(Contract.deleted_at.is_(None), Contract.signed_on.is_not(None))
            .order_by(Contract.id)
        )
        context.cache["rows"] = [Row(*row) for row in Session.execute(query)]
    return context.cache["rows"]


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.01")))


# --- direct award ------------------------------------------------------------------------


def find_direct_awards(context: Context) -> list[Finding]:
    """Direct awards at or above the national threshold on the signing date."""
    found = []
    for row in signed_contracts(context):
        if row.procedure != Procedure.DIRECT_AWARD or row.value is None:
            continue
        national = context.thresholds.national(row.signed_on)
        if national is not None and row.value >= national:
            found.append(
                Finding(
                    key=f"direct_award:{row.id}",
                    contract_id=row.id,
                    details={
                        "value": _money(row.value),
                        "threshold": _money(national),
                        "signed_on": row.signed_on.isoformat(),
                    },
                )
            )
    return found


# --- splitting ---------------------------------------------------------------------------


def find_splitting(context: Context) -> list[Finding]:
    """Contracts with one supplier in one category, signed within 12 months of each other,
    each below a threshold (on the first signing date of the 12 months) but together at or
    above it. The flag sits on the latest contract and names the others."""
    groups: dict[tuple[int, int], list[Row]] = defaultdict(list)
    for row in signed_contracts(context):
        if row.value is not None:
            groups[(row.supplier_id, row.category_id)].append(row)
    found = []
    for (supplier_id, category_id), rows in groups.items():
        if len(rows) < 2:
            continue
        rows.sort(key=lambda r: (r.signed_on, r.id))
        for at, anchor in enumerate(rows):
            since = add_months(anchor.signed_on, -SPLITTING_WINDOW_MONTHS)
            window = [r for r in rows[: at + 1] if r.signed_on > since]
            if len(window) < 2:
                continue
            first_day = window[0].signed_on
            thresholds = (
                ("eea", context.thresholds.eea(anchor.kind, first_day)),
                ("national", context.thresholds.national(first_day)),
            )
            for name, threshold in thresholds:
                if threshold is None or anchor.value >= threshold:
                    continue
                below = [r for r in window if r.value < threshold]
                total = sum((r.value for r in below), Decimal(0))
                if len(below) >= 2 and total >= threshold:
                    found.append(
                        Finding(
                            key=f"splitting:{anchor.id}",
                            contract_id=anchor.id,
                            other_contract_ids=[r.id for r in below if r.id != anchor.id],
                            supplier_id=supplier_id,
                            category_id=category_id,
                            details={
                                "threshold_kind": name,
                                "threshold": _money(threshold),
                                "total": _money(total),
                                "from": first_day.isoformat(),
                                "to": anchor.signed_on.isoformat(),
                            },
                        )
                    )
                    break
    return found


# --- amendments --------------------------------------------------------------------------


def find_amendments(context: Context) -> list[Finding]:
    """Amendments whose net value adds more than 10 % (goods, services) or 15 % (works) to
    the original value, or that take a contract below the EEA threshold (on its signing
    date) to or above it (on the latest amendment's date)."""
    rows = {row.id: row for row in signed_contracts(context)}
    sums = Session.execute(
        select(
            Amendment.contract_id,
            func.sum(Amendment.value_change),
            func.max(Amendment.amended_on),
        )
        .where(Amendment.value_change.is_not(None))
        .group_by(Amendment.contract_id)
    )
    found = []
    for contract_id, net, last_on in sums:
        row = rows.get(contract_id)
        if row is None or row.value is None or net is None:
            continue
        net = Decimal(net)
        limit = AMENDMENT_LIMIT.get(row.kind, AMENDMENT_LIMIT_DEFAULT)
        reasons, details = [], {"original": _money(row.value), "net_change": _money(net)}
        if row.value > 0 and net > row.value * limit:
            reasons.append("share")
            details["share"] = str((net / row.value).quantize(Decimal("0.0001")))
            details["limit"] = str(limit)
        eea_then = context.thresholds.eea(row.kind, row.signed_on)
        eea_now = context.thresholds.eea(row.kind, last_on)
        if (
            eea_then is not None
            and eea_now is not None
            and row.value < eea_then
            and row.value + net >= eea_now
        ):
            reasons.append("eea")
            details["eea_threshold"] = _money(eea_now)
        if reasons:
            details["reasons"] = reasons
            details["last_amended_on"] = last_on.isoformat()
            found.append(Finding(key=f"amendment:{row.id}", contract_id=row.id, details=details))
    return found


# --- framework agreements ----------------------------------------------------------------


def find_long_frameworks(context: Context) -> list[Finding]:
    """Framework agreements that may run longer than 4 years, options included (or have
    no end at all)."""
    found = []
    for row in signed_contracts(context):
        if not row.is_framework:
            continue
        limit = add_months(row.start_date, FRAMEWORK_MAX_MONTHS)
        if row.max_end_date is None and row.terminated_on is None:
            details = {"open_ended": True}
        elif row.max_end_date is not None and row.max_end_date >= limit:
            details = {"max_end_date": row.max_end_date.isoformat()}
        else:
            continue
        details["start_date"] = row.start_date.isoformat()
        found.append(Finding(key=f"framework:{row.id}", contract_id=row.id, details=details))
    return found


# --- still used after the latest possible end ---------------------------------------------


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def find_used_after_expiry(context: Context) -> list[Finding]:
    """Contracts past their latest possible end (options included) with an amendment, or
    evidence from other packages (done activities, gain entries), dated after that end."""
    ended = {
        row.id: row.max_end_date
        for row in signed_contracts(context)
        if row.max_end_date is not None and row.max_end_date < context.today
    }
    if not ended:
        return []
    evidence: dict[int, dict[str, date]] = defaultdict(dict)

    def note(source: str, contract_id: int, used: date | datetime | None) -> None:
        if used is None or contract_id not in ended:
            return
        used = _day(used)
        if used > ended[contract_id] and used > evidence[contract_id].get(source, date.min):
            evidence[contract_id][source] = used

    amendments = (
        select(Amendment.contract_id, func.max(Amendment.amended_on))
        .join(Contract, Contract.id == Amendment.contract_id)
        .where(Contract.max_end_date < context.today, Amendment.amended_on > Contract.max_end_date)
        .group_by(Amendment.contract_id)
    )
    for contract_id, used in Session.execute(amendments):
        note("amendment", contract_id, used)
    for name, source in USAGE_SOURCES.items():
        for contract_id, used in Session.execute(source(context.today)):
            note(name, contract_id, used)
    return [
        Finding(
            key=f"used_after_expiry:{contract_id}",
            contract_id=contract_id,
            details={
                "max_end_date": ended[contract_id].isoformat(),
                "evidence": {k: v.isoformat() for k, v in sorted(found.items())},
            },
        )
        for contract_id, found in sorted(evidence.items())
    ]


# --- impartiality declarations -----------------------------------------------------------


def find_missing_declarations(context: Context) -> list[Finding]:
    """Contracts in force at or above the national threshold (on the signing date) where
    someone involved has not declared, or nobody is named to declare."""
    required = declarations.required_people()
    declared = declarations.declared_people()
    found = []
    for row in signed_contracts(context):
        if not row.in_force(context.today):
            continue
        national = context.thresholds.national(row.signed_on)
        if not declarations.needs_declarations(row.value, national):
            continue
        missing = declarations.missing_people(required, declared, row.id)
        nobody = not required.get(row.id)
        if missing or nobody:
            found.append(
                Finding(
                    key=f"missing_declarations:{row.id}",
                    contract_id=row.id,
                    details={
                        "missing_user_ids": sorted(missing),
                        "nobody_named": nobody,
                        "threshold": _money(national),
                    },
                )
            )
    return found


# --- four eyes ---------------------------------------------------------------------------


def find_four_eyes(context: Context) -> list[Finding]:
    """One person registered the contract, changed its value and is its owner (from the
    audit trail: the contract's create event, and an update of its estimated value or an
    amendment with a value change, by the owner)."""
    owned = (
        select(AuditEvent.contract_id)
        .join(Contract, Contract.id == AuditEvent.contract_id)
        .where(AuditEvent.actor_id == Contract.owner_id, Contract.deleted_at.is_(None))
    )
    created = set(
        Session.scalars(
            owned.where(AuditEvent.entity_type == "contracts", AuditEvent.action == "create")
        )
    )
    if not created:
        return []
    changed_value = set(
        Session.scalars(
            owned.where(
                (
                    (AuditEvent.entity_type == "contracts")
                    & (AuditEvent.action == "update")
                    & AuditEvent.after["estimated_value"].as_string().is_not(None)
                )
                | (
                    (AuditEvent.entity_type == "amendments")
                    & (AuditEvent.action == "create")
                    & AuditEvent.after["value_change"].as_string().is_not(None)
                )
            )
        )
    )
    owners = {row.id: row.owner_id for row in signed_contracts(context)}
    return [
        Finding(
            key=f"four_eyes:{contract_id}",
            contract_id=contract_id,
            details={"user_id": owners[contract_id]},
        )
        for contract_id in sorted(created & changed_value)
        if contract_id in owners
    ]


# --- supplier share ----------------------------------------------------------------------


def find_dominant_suppliers(context: Context) -> list[Finding]:
    """A supplier holding more than the configured share of the estimated value of a
    category's contracts in force (categories with at least two such contracts)."""
    by_category: dict[int, dict[int, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for row in signed_contracts(context):
        if row.in_force(context.today) and row.value:
            by_category[row.category_id][row.supplier_id].append(row)
    found = []
    for category_id, suppliers in by_category.items():
        contracts = [r for rows in suppliers.values() for r in rows]
        total = sum((r.value for r in contracts), Decimal(0))
        if len(contracts) < 2 or total <= 0:
            continue
        for supplier_id, rows in suppliers.items():
            value = sum((r.value for r in rows), Decimal(0))
            share = value / total
            if share > context.supplier_share:
                found.append(
                    Finding(
                        key=f"supplier_share:{category_id}:{supplier_id}",
                        other_contract_ids=sorted(r.id for r in rows),
                        supplier_id=supplier_id,
                        category_id=category_id,
                        details={
                            "share": str(share.quantize(Decimal("0.0001"))),
                            "limit": str(context.supplier_share),
                            "supplier_value": _money(value),
                            "category_value": _money(total),
                        },
                    )
                )
    return found


# --- wage and working conditions ----------------------------------------------------------


def find_missing_wage_clause(context: Context) -> list[Finding]:
    """Service and works contracts at or above the EEA threshold (on the signing date)
    without the wage-conditions clause."""
    found = []
    for row in signed_contracts(context):
        if row.kind == CategoryKind.GOODS or row.has_wage_conditions or row.value is None:
            continue
        threshold = context.thresholds.eea(row.kind, row.signed_on)
        if threshold is not None and row.value >= threshold:
            found.append(
                Finding(
                    key=f"wage_conditions:{row.id}",
                    contract_id=row.id,
                    details={"value": _money(row.value), "threshold": _money(threshold)},
                )
            )
    return found


# --- the table ---------------------------------------------------------------------------

add_rule(
    Rule(
        "direct_award",
        _l("Direct award above the national threshold"),
        _l(
            "The contract was awarded directly, without competition, although its value was at "
            "or above the national threshold on the signing date. That needs a legal basis "
            "for not announcing the competition; without one it is an illegal direct award."
        ),
        "FOA §8-17, kap. 13; LOA §12",
        Severity.HIGH,
        find_direct_awards,
    )
)
add_rule(
    Rule(
        "splitting",
        _l("Possible splitting of a procurement"),
        _l(
            "Contracts with the same supplier in the same category were signed within 12 "
            "months. Each is below a threshold, but together they are at or above it. A "
            "procurement must not be split to stay below a threshold."
        ),
        "FOA §5-4",
        Severity.HIGH,
        find_splitting,
    )
)
add_rule(
    Rule(
        "amendment",
        _l("Substantial amendment"),
        _l(
            "The amendments add more than 10 % (goods and services) or 15 % (works) to the "
            "original value, or take the contract to or above the EEA threshold. Such "
            "changes may need a new competition."
        ),
        "FOA §28-1",
        Severity.MEDIUM,
        find_amendments,
    )
)
add_rule(
    Rule(
        "framework",
        _l("Framework agreement longer than 4 years"),
        _l(
            "The framework agreement can run longer than 4 years, options included, or has no "
            "end date. The main rule is at most 4 years."
        ),
        "FOA §26-1",
        Severity.MEDIUM,
        find_long_frameworks,
    )
)
add_rule(
    Rule(
        "used_after_expiry",
        _l("Used after its latest possible end"),
        _l(
            "The contract is past its latest possible end date, options included, but it is "
            "still used: amendments, follow-up activities or gains are recorded after that "
            "date. Purchases without a valid contract may be illegal direct awards."
        ),
        "FOA §28-1; LOA §12",
        Severity.HIGH,
        find_used_after_expiry,
    )
)
add_rule(
    Rule(
        "missing_declarations",
        _l("Missing impartiality declarations"),
        _l(
            "The contract is at or above the national threshold, but not everyone involved "
            "(owner, manager and others named) has a current impartiality declaration."
        ),
        "fvl. §§6–10; FOA §7-5",
        Severity.MEDIUM,
        find_missing_declarations,
    )
)
add_rule(
    Rule(
        "four_eyes",
        _l("No second pair of eyes"),
        _l(
            "The same person registered the contract, changed its value and is its owner. "
            "Nobody else has been involved in these steps."
        ),
        "koml. §25-1",
        Severity.MEDIUM,
        find_four_eyes,
    )
)
add_rule(
    Rule(
        "supplier_share",
        _l("One supplier dominates a category"),
        _l(
            "One supplier holds more than the configured share of the value of the contracts "
            "in force in a category. Check that competition is real."
        ),
        "LOA §4",
        Severity.LOW,
        find_dominant_suppliers,
    )
)
add_rule(
    Rule(
        "wage_conditions",
        _l("Missing wage-conditions clause"),
        _l(
            "A service or works contract at or above the EEA threshold on the signing date "
            "has no clause on wage and working conditions."
        ),
        "forskrift om lønns- og arbeidsvilkår i offentlige kontrakter §§2, 5",
        Severity.MEDIUM,
        find_missing_wage_clause,
    )
)
