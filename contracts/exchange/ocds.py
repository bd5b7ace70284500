"""The register as an OCDS 1.1 release package, written release by release.

One release per contract (tag "contract"), and one "contractAmendment" release per
amendment. Rows are streamed from the database and each release is serialised on its
own, so memory stays flat however large the register grows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import Select
from sqlalchemy.orm import selectinload

from contracts.db import Session, utcnow
from contracts.labels import PROCEDURE_LABELS
from contracts.register.models import Contract, ContractStatus
from contracts.rules.models import Procedure

BATCH = 1000

# Norwegian procedures onto OCDS's closed method codelist; the Norwegian name goes to
# procurementMethodDetails. Unknown procedures get no method.
PROCUREMENT_METHOD = {
    Procedure.DIRECT_AWARD: "direct",
    Procedure.OPEN_COMPETITION: "open",
    Procedure.RESTRICTED_COMPETITION: "selective",
    Procedure.OPEN_PROCEDURE: "open",
    Procedure.RESTRICTED_PROCEDURE: "selective",
    Procedure.NEGOTIATED_WITH_NOTICE: "selective",
    Procedure.NEGOTIATED_WITHOUT_NOTICE: "limited",
    Procedure.COMPETITIVE_DIALOGUE: "selective",
    Procedure.INNOVATION_PARTNERSHIP: "selective",
    Procedure.SOCIAL_SERVICES: "open",
    Procedure.FRAMEWORK_CALL_OFF: "limited",
    Procedure.MINI_COMPETITION: "selective",
}
CONTRACT_STATUS = {
    ContractStatus.DRAFT: "pending",
    ContractStatus.ACTIVE: "active",
    ContractStatus.EXPIRING: "active",
    ContractStatus.EXPIRED: "terminated",
    ContractStatus.TERMINATED: "terminated",
}


class _NorwegianNames(dict):
    """Procedure names in bokmål whatever the reader's language, looked up once."""

    def __missing__(self, procedure: Procedure) -> str:
        with force_locale("nb"):
            name = self[procedure] = str(PROCEDURE_LABELS[procedure])
        return name


NORWEGIAN_PROCEDURE_NAMES = _NorwegianNames()


def _datetime(day: date | None) -> str | None:
    """OCDS dates are date-times; a calendar date is its midnight in UTC."""
    return None if day is None else f"{day.isoformat()}T00:00:00Z"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(value: Decimal | None) -> dict[str, Any] | None:
    return None if value is None else {"amount": float(value), "currency": "NOK"}


def _fields(**fields: Any) -> dict[str, Any]:
    """An OCDS object without its empty fields: OCDS wants them left out, not null."""
    return {k: v for k, v in fields.items() if v is not None and v != "" and v != {}}


def _buyer() -> dict[str, Any]:
    config = current_app.config
    org_number = config.get("OCDS_BUYER_ORG_NUMBER")
    buyer = {
        "id": f"NO-BRC-{org_number}" if org_number else "buyer",
        "name": config["OCDS_BUYER_NAME"],
    }
    if org_number:
        buyer["identifier"] = {"scheme": "NO-BRC", "id": org_number, "legalName": buyer["name"]}
    return buyer


def _supplier(contract: Contract) -> dict[str, Any]:
    supplier = contract.supplier
    party = {
        "id": f"NO-BRC-{supplier.org_number}" if supplier.org_number else f"supplier-{supplier.id}",
        "name": supplier.name,
    }
    if supplier.org_number:
        party["identifier"] = {
            "scheme": "NO-BRC",
            "id": supplier.org_number,
            "legalName": supplier.name,
        }
    return party


def contract_release(contract: Contract, today: date, ocid_prefix: str) -> dict[str, Any]:
    """The "contract" release of one contract."""
    ocid = f"{ocid_prefix}-{contract.id}"
    buyer, supplier = _buyer(), _supplier(contract)
    value = _amount(contract.estimated_value)
    return _fields(
        ocid=ocid,
        id=f"{ocid}-contract-{contract.version}",
        date=_timestamp(contract.updated_at),
        tag=["contract"],
        initiationType="tender",
        language="nb",
        parties=[
            {**buyer, "roles": ["buyer", "procuringEntity"]},
            {**supplier, "roles": ["supplier"]},
        ],
        buyer={"id": buyer["id"], "name": buyer["name"]},
        tender=_fields(
            id=f"{ocid}-tender",
            title=contract.title,
            procurementMethod=PROCUREMENT_METHOD.get(contract.procedure),
            procurementMethodDetails=NORWEGIAN_PROCEDURE_NAMES[contract.procedure],
            mainProcurementCategory=contract.category.kind.value,
            value=value,
        ),
        awards=[
            _fields(
                id=f"{ocid}-award",
                status="active" if contract.signed_on else "pending",
                date=_datetime(contract.signed_on),
                suppliers=[{"id": supplier["id"], "name": supplier["name"]}],
                value=value,
            )
        ],
        contracts=[
            _fields(
                id=f"{ocid}-contract",
                awardID=f"{ocid}-award",
                title=contract.title,
                description=contract.description,
                status=CONTRACT_STATUS[contract.status(today)],
                period=_fields(
                    startDate=_datetime(contract.start_date),
                    endDate=_datetime(contract.current_end_date),
                    maxExtentDate=_datetime(contract.max_end_date),
                ),
                value=value,
                dateSigned=_datetime(contract.signed_on),
            )
        ],
    )


def amendment_releases(contract: Contract, ocid_prefix: str) -> Iterator[dict[str, Any]]:
    """One "contractAmendment" release per amendment of the contract."""
    ocid = f"{ocid_prefix}-{contract.id}"
    for amendment in contract.amendments:
        yield {
            "ocid": ocid,
            "id": f"{ocid}-amendment-{amendment.id}",
            "date": _timestamp(amendment.created_at),
            "tag": ["contractAmendment"],
            "initiationType": "tender",
            "language": "nb",
            "contracts": [
                {
                    "id": f"{ocid}-contract",
                    "awardID": f"{ocid}-award",
                    "amendments": [
                        {
                            "id": str(amendment.id),
                            "date": _datetime(amendment.amended_on),
                            "description": amendment.description,
                        }
                    ],
                }
            ],
        }


def releases(contracts: Iterable[Contract], today: date) -> Iterator[dict[str, Any]]:
    prefix = current_app.config["OCDS_OCID_PREFIX"]
    for contract in contracts:
        yield contract_release(contract, today, prefix)
        yield from amendment_releases(contract, prefix)


def in_batches(query: Select) -> Iterator[Contract]:
    query = query.options(
        selectinload(Contract.options), selectinload(Contract.amendments)
    ).execution_options(yield_per=BATCH)
    yield from Session.scalars(query)


def package_chunks(query: Select, today: date, uri: str) -> Iterator[str]:
    """The release package as JSON text, one release at a time."""
    config = current_app.config
    head = {
        "uri": uri,
        "version": "1.1",
        "publishedDate": _timestamp(utcnow()),
        "publisher": {"name": config["OCDS_PUBLISHER_NAME"]},
    }
    opening = json.dumps(head, ensure_ascii=False)[:-1] + ',"releases":['
    yield opening
    for n, release in enumerate(releases(in_batches(query), today)):
        yield ("," if n else "") + json.dumps(release, ensure_ascii=False, separators=(",", ":"))
    yield "]}\n"
