"""The register as an OCDS 1.1 release package, checked against the shared schema."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource

from contracts.db import Session
from contracts.register import services
from contracts.rules.models import Procedure
from tests import factories

SCHEMA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "ocds" / "1.1.5" / "schema"


@pytest.fixture(scope="module")
def validator():
    if not SCHEMA_DIR.is_dir():
        pytest.skip(f"the OCDS schema is not beside the project ({SCHEMA_DIR})")
    schemas = [json.loads(p.read_text("utf-8")) for p in SCHEMA_DIR.glob("*.json")]
    package = next(s for s in schemas if s["id"].endswith("/release-package-schema.json"))
    registry = Registry().with_resources((s["id"], Resource.from_contents(s)) for s in schemas)
    return Draft4Validator(package, format_checker=FormatChecker(), registry=registry)


@pytest.fixture
def register():
    foreign = factories.make_supplier(name="Utenlandsk Leverandør GmbH", org=None)
    with_options = factories.make_contract(
        reference="OCDS-1",
        title="Renhold av rådhuset",
        procedure=Procedure.OPEN_PROCEDURE,
        estimated_value=Decimal("2500000.50"),
        start_date=date(2025, 1, 1),
        end_date=date(2026, 12, 31),
    )
    services.add_option(with_options, 12, date(2026, 9, 1))
    user = factories.make_user()
    services.add_amendment(with_options, date(2025, 6, 1), "Ny pris", Decimal("-1000"), user)
    draft = factories.make_contract(
        reference="OCDS-2", signed_on=None, supplier_id=foreign.id, procedure=Procedure.UNKNOWN
    )
    secret = factories.make_contract(reference="OCDS-3", is_confidential=True)
    Session.flush()
    return {"options": with_options, "draft": draft, "secret": secret}


def _package(response) -> dict:
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))


def _by_ocid(package: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for release in package["releases"]:
        found.setdefault(release["ocid"], []).append(release)
    return found


def test_download_is_a_valid_release_package(login_as, register, validator, app):
    package = _package(login_as("procurement").get("/ocds/releases.json"))
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(package)]
    assert errors == []
    prefix = app.config["OCDS_OCID_PREFIX"]
    releases = _by_ocid(package)[f"{prefix}-{register['options'].id}"]
    contract_release, amendment_release = releases
    assert contract_release["tag"] == ["contract"]
    assert contract_release["tender"]["procurementMethod"] == "open"
    assert contract_release["tender"]["procurementMethodDetails"].startswith("Åpen anbudskonk")
    period = contract_release["contracts"][0]["period"]
    assert period["endDate"] == "2026-12-31T00:00:00Z"
    assert period["maxExtentDate"] == "2027-12-31T00:00:00Z"  # the 12-month option
    supplier = contract_release["parties"][1]
    assert supplier["identifier"]["scheme"] == "NO-BRC"
    assert supplier["id"] == f"NO-BRC-{register['options'].supplier.org_number}"
    assert contract_release["contracts"][0]["value"] == {"amount": 2500000.5, "currency": "NOK"}
    assert amendment_release["tag"] == ["contractAmendment"]
    amendment = amendment_release["contracts"][0]["amendments"][0]
    assert amendment["description"] == "Ny pris" and amendment["date"].startswith("2025-06-01")


def test_drafts_foreign_suppliers_and_unknown_procedures(login_as, register, app):
    package = _package(login_as("auditor").get("/ocds/releases.json"))
    prefix = app.config["OCDS_OCID_PREFIX"]
    (draft,) = _by_ocid(package)[f"{prefix}-{register['draft'].id}"]
    assert draft["contracts"][0]["status"] == "pending"
    assert draft["awards"][0]["status"] == "pending"
    assert "procurementMethod" not in draft["tender"]
    assert "identifier" not in draft["parties"][1]


def test_the_norwegian_procedure_name_stays_norwegian_in_english(login_as, register):
    client = login_as("procurement")
    client.post("/locale", data={"locale": "en"})
    package = _package(client.get("/ocds/releases.json"))
    details = {
        r["tender"]["procurementMethodDetails"] for r in package["releases"] if "tender" in r
    }
    assert "Åpen anbudskonkurranse (del III)" in details


def test_owners_download_only_what_they_may_see(login_as, register, app):
    package = _package(login_as("owner").get("/ocds/releases.json"))
    prefix = app.config["OCDS_OCID_PREFIX"]
    assert f"{prefix}-{register['secret'].id}" not in _by_ocid(package)
    assert f"{prefix}-{register['options'].id}" in _by_ocid(package)


def test_public_feed_is_off_unless_turned_on(client, register, app, monkeypatch, validator):
    assert client.get("/public/ocds/releases.json").status_code == 404
    monkeypatch.setitem(app.config, "OCDS_PUBLIC", True)
    package = _package(client.get("/public/ocds/releases.json"))
    assert list(validator.iter_errors(package)) == []
    prefix = app.config["OCDS_OCID_PREFIX"]
    published = _by_ocid(package)
    assert f"{prefix}-{register['options'].id}" in published
    assert f"{prefix}-{register['secret'].id}" not in published  # confidential
    assert f"{prefix}-{register['draft'].id}" not in published  # not signed


def test_command_line_export(runner, register, tmp_path, validator, app):
    target = tmp_path / "ocds.json"
    result = runner.invoke(args=["contracts", "export-ocds", "-o", str(target), "--public"])
    assert result.exit_code == 0, result.output
    package = json.loads(target.read_text("utf-8"))
    assert list(validator.iter_errors(package)) == []
    prefix = app.config["OCDS_OCID_PREFIX"]
    assert f"{prefix}-{register['secret'].id}" not in _by_ocid(package)
    everything = runner.invoke(args=["contracts", "export-ocds"])
    assert everything.exit_code == 0
    assert f'"{prefix}-{register["secret"].id}"' in everything.output


def test_download_needs_a_login(client):
    assert client.get("/ocds/releases.json").status_code == 302


def test_export_streams_in_batches(login_as, register, app, monkeypatch, validator):
    """More contracts than one database batch: every release comes out once."""
    from contracts.exchange import ocds

    monkeypatch.setattr(ocds, "BATCH", 1)
    package = _package(login_as("procurement").get("/ocds/releases.json"))
    assert list(validator.iter_errors(package)) == []
    prefix = app.config["OCDS_OCID_PREFIX"]
    ids = [r["id"] for r in package["releases"]]
    assert len(ids) == len(set(ids))
    assert {f"{prefix}-{c.id}" for c in register.values()} <= set(_by_ocid(package))
