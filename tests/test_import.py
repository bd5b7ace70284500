"""Importing contracts from spreadsheets: dry run, commit, re-import, round trip."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from contracts.audit import services as audit
from contracts.audit.models import AuditEvent
from contracts.auth import services as auth_services
from contracts.db import Session
from contracts.exchange import importer
from contracts.exchange.headers import find_header_row
from contracts.exchange.reading import read_rows
from contracts.parties.models import Category, Supplier, Unit
from contracts.register import services as register_services
from contracts.register.models import Contract, ContractOption
from tests import factories

DATA = Path(__file__).parent / "data"
OPPVEKST = str(DATA / "kontrakter_oppvekst_cp1252.csv")
TEKNISK = str(DATA / "kontrakter_teknisk.xlsx")


def _count(model) -> int:
    return Session.scalar(select(func.count()).select_from(model))


def _state() -> tuple[int, ...]:
    return tuple(
        _count(m) for m in (Contract, ContractOption, Supplier, Unit, Category, AuditEvent)
    )


def _contract(reference: str) -> Contract | None:
    return Session.scalar(select(Contract).where(Contract.reference == reference))


def test_dry_run_reports_every_row_and_changes_nothing(runner):
    before = _state()
    result = runner.invoke(args=["contracts", "import", OPPVEKST, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert _state() == before
    assert "Header on row 4" in result.output
    # Rejected rows are named by the row number the spreadsheet shows, with the reason.
    assert "row 8 OPP-2022-11: REJECTED" in result.output and "31.02.2022" in result.output
    assert "row 9 -: REJECTED" in result.output
    assert "Dry run" in result.output


def test_import_creates_contracts_with_options_and_audit_events(runner):
    factories.make_user(email="ola.nordmann@kommune.no", name="Ola Nordmann")
    result = runner.invoke(args=["contracts", "import", OPPVEKST, "--create-missing"])
    assert result.exit_code == 0, result.output
    assert "Imported: 3 new" in result.output

    first = _contract("OPP-2019-01")
    assert first.title == "Renhold av Østre Aasen skole"
    assert first.supplier.org_number == "974760673"
    assert first.unit.name == "Oppvekst" and first.category.name == "Renhold"
    assert first.owner.email == "ola.nordmann@kommune.no"  # matched, not created again
    assert first.manager.email == "kari@kommune.no"  # created, as asked
    assert first.estimated_value == Decimal("1250000.50")
    assert first.annual_value == Decimal("300000.00")
    assert first.notice_months == 3 and first.is_framework and first.has_wage_conditions
    assert [o.extension_months for o in first.options] == [12]
    assert first.options[0].exercise_deadline == date(2022, 9, 30)  # 3 months before the end
    assert first.max_end_date == date(2023, 12, 31)
    two_times = _contract("OPP-2020-07")
    assert [o.extension_months for o in two_times.options] == [12, 12]
    assert two_times.estimated_value == Decimal("1200000.00")  # "1,2 mill"
    # The invalid org number is a warning: the supplier is matched by name, without it.
    assert _contract("OPP-2021-03").supplier.org_number is None
    assert _contract("OPP-2022-11") is None  # rejected
    event = Session.scalar(
        select(AuditEvent).where(AuditEvent.contract_id == first.id, AuditEvent.action == "create")
    )
    assert "import kontrakter_oppvekst_cp1252.csv, rad 5" in event.summary


def test_reimport_duplicates_nothing(runner):
    runner.invoke(args=["contracts", "import", OPPVEKST, "--create-missing"])
    before = _state()
    again = runner.invoke(args=["contracts", "import", OPPVEKST, "--create-missing"])
    assert again.exit_code == 0, again.output
    assert "unchanged 3" in again.output
    assert _state() == before


def test_update_existing_changes_only_what_differs(runner, tmp_path):
    runner.invoke(args=["contracts", "import", OPPVEKST, "--create-missing"])
    text = (DATA / "kontrakter_oppvekst_cp1252.csv").read_bytes().decode("cp1252")
    changed = tmp_path / "endret.csv"
    changed.write_bytes(text.replace("Skolefrukt", "Skolefrukt og melk").encode("cp1252"))
    events = _count(AuditEvent)
    result = runner.invoke(
        args=["contracts", "import", str(changed), "--create-missing", "--update-existing"]
    )
    assert result.exit_code == 0, result.output
    assert "update 3" in result.output
    assert _contract("OPP-2020-07").title == "Skolefrukt og melk"
    # One contract changed, so one event; the two unchanged rows leave no trace.
    assert _count(AuditEvent) == events + 1


def test_all_or_nothing_imports_nothing_when_a_late_row_is_bad(runner):
    before = _state()
    result = runner.invoke(
        args=["contracts", "import", OPPVEKST, "--create-missing", "--all-or-nothing"]
    )
    assert result.exit_code != 0
    assert "nothing imported" in result.output
    assert _state() == before


def test_unknown_units_and_categories_are_rejected_unless_created(runner):
    result = runner.invoke(args=["contracts", "import", TEKNISK])
    assert result.exit_code == 0
    assert "rejected 3" in result.output
    assert _count(Contract) == 0
    factories.make_unit("Teknisk")
    factories.make_category("Bygg og anlegg")
    factories.make_category("Kontorrekvisita")
    result = runner.invoke(args=["contracts", "import", TEKNISK])
    assert "Imported: 3 new" in result.output, result.output
    assert _contract("TEK-1").procedure.value == "open_procedure"
    assert _contract("TEK-3").procedure.value == "direct_award"
    assert _contract("TEK-1").start_date == date(2023, 10, 1)


def test_files_that_cannot_be_read_give_a_clear_error(runner, tmp_path):
    fake = tmp_path / "kontrakter.xlsx"
    fake.write_text("Avtalenr;Tittel\nA;B\n")
    result = runner.invoke(args=["contracts", "import", str(fake)])
    assert result.exit_code != 0 and "Excel" in result.output
    headless = tmp_path / "ingen_overskrift.csv"
    headless.write_text("a;b\n1;2\n")
    result = runner.invoke(args=["contracts", "import", str(headless)])
    assert result.exit_code != 0 and "header" in result.output


def test_export_then_import_gives_back_the_same_contracts(login_as):
    """Round trip: the CSV export reads back into the same values."""
    owner = factories.make_user(name="Kari Nordmann", email="kari@kommune.no")
    originals = [
        factories.make_contract(reference="RT-1", owner_id=owner.id, notes="=1+1"),
        factories.make_contract(
            reference="RT-2",
            estimated_value=Decimal("99999.99"),
            annual_value=None,
            end_date=None,
            is_framework=True,
        ),
    ]
    csv_bytes = login_as("procurement").get("/contracts/export.csv", query_string={"q": "RT-"}).data
    rows = read_rows(csv_bytes, "eksport.csv")
    header = find_header_row(rows)
    plan = importer.plan(rows, header, importer.ImportOptions(update_existing=True))
    assert [r.status for r in plan.rows] == [importer.RowStatus.UPDATE] * 2, [
        (r.errors, r.warnings) for r in plan.rows
    ]
    for row, contract in zip(plan.rows, originals, strict=True):
        for key in ("reference", "title", "estimated_value", "annual_value", "start_date",
                    "end_date", "signed_on", "notice_months", "is_framework",
                    "has_wage_conditions", "procedure", "price_adjustment_index",
                    "price_adjustment_month"):  # fmt: skip
            assert row.values[key] == getattr(contract, key), (key, row.values[key])
        assert row.supplier == (contract.supplier.name, contract.supplier.org_number)
    assert plan.rows[0].owner == "kari@kommune.no"
    # The apostrophe the export puts before formula-like text is taken off again.
    assert plan.rows[0].values["notes"] == "=1+1"
    before = _count(AuditEvent)
    importer.apply(plan, importer.ImportOptions(update_existing=True, source="rundtur"))
    assert _count(AuditEvent) == before  # nothing changed, nothing audited


def test_sheet_option(runner):
    result = runner.invoke(
        args=["contracts", "import", TEKNISK, "--sheet", "Avtaler 2026", "--dry-run"]
    )
    assert result.exit_code == 0 and "Header on row 3" in result.output
    missing = runner.invoke(args=["contracts", "import", TEKNISK, "--sheet", "Nei", "--dry-run"])
    assert missing.exit_code != 0


def test_large_imports_in_many_batches_lose_nothing(runner, monkeypatch):
    monkeypatch.setattr(importer, "FLUSH_EVERY", 1)
    monkeypatch.setattr(importer, "BATCH_SIZE", 1)
    result = runner.invoke(args=["contracts", "import", OPPVEKST, "--create-missing"])
    assert result.exit_code == 0, result.output
    assert "Imported: 3 new" in result.output
    assert [o.extension_months for o in _contract("OPP-2020-07").options] == [12, 12]
    assert _contract("OPP-2019-01").manager.email == "kari@kommune.no"
    again = runner.invoke(
        args=["contracts", "import", OPPVEKST, "--create-missing", "--update-existing"]
    )
    assert again.exit_code == 0, again.output
    assert "Imported: 0 new, 3 updated" in again.output


def test_bulk_written_contracts_match_what_the_services_write(runner):
    """New rows skip the per-row services; the rows and the trail must not tell."""
    factories.make_contract(reference="BEFORE-1")  # an event already on the chain
    result = runner.invoke(args=["contracts", "import", OPPVEKST, "--create-missing"])
    assert result.exit_code == 0, result.output
    Session.expire_all()
    contract = _contract("OPP-2020-07")
    events = list(Session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    for previous, event in zip(events, events[1:], strict=False):
        assert event.seq == previous.seq + 1 and event.prev_hash == previous.hash
        assert audit.compute_hash(event.prev_hash, event) == event.hash
    created = [e for e in events if e.contract_id == contract.id]
    assert [e.entity_type for e in created] == ["contracts", "contract_options", "contract_options"]
    assert created[0].after == audit.snapshot(contract)
    assert [e.after for e in created[1:]] == [audit.snapshot(o) for o in contract.options]
    assert created[0].actor_label == "system"
    # The derived columns the services keep: end dates, sort date and search text.
    names = ("reference", "title", "end_date", "supplier_id")
    check = Contract(**{k: getattr(contract, k) for k in names})
    check.supplier, check.options = contract.supplier, list(contract.options)
    register_services.refresh_derived(check)
    assert (check.current_end_date, check.max_end_date, check.end_sort_date) == (
        contract.current_end_date,
        contract.max_end_date,
        contract.end_sort_date,
    )
    assert check.search_text == contract.search_text
    assert contract.version == 1


def test_a_contract_registered_after_the_dry_run_is_left_alone(runner):
    rows = read_rows(Path(OPPVEKST).read_bytes(), "kontrakter.csv")
    options = importer.ImportOptions(create_missing=True)
    plan = importer.plan(rows, find_header_row(rows), options)
    factories.make_contract(reference="OPP-2019-01", title="Registrert i mellomtiden")
    counts = importer.apply(plan, options)
    assert counts == {"created": 2, "updated": 0, "unchanged": 1}
    assert _contract("OPP-2019-01").title == "Registrert i mellomtiden"


def test_people_created_by_an_import_cannot_log_in_until_given_a_password(runner):
    result = runner.invoke(args=["contracts", "import", OPPVEKST, "--create-missing"])
    assert result.exit_code == 0, result.output
    manager = _contract("OPP-2019-01").manager
    assert manager.email == "kari@kommune.no"
    assert auth_services.authenticate("kari@kommune.no", "") is None
    assert auth_services.authenticate("kari@kommune.no", "!") is None


def test_an_english_export_reads_back_too(login_as):
    factories.make_contract(reference="EN-1")
    client = login_as("procurement")
    client.post("/locale", data={"locale": "en"})
    rows = read_rows(client.get("/contracts/export.csv", query_string={"q": "EN-1"}).data, "e.csv")
    plan = importer.plan(rows, find_header_row(rows), importer.ImportOptions(update_existing=True))
    (row,) = plan.rows
    assert row.status == importer.RowStatus.UPDATE, (row.errors, row.warnings)
    contract = _contract("EN-1")
    # Every column of the English export is recognised, so every value comes back.
    assert len(find_header_row(rows).columns) == len(
        [h for h in rows[0] if h not in {"Current end date", "Latest possible end date",
                                         "Last day to give notice", "Next option deadline",
                                         "Confidential", "Status"}]
    )  # fmt: skip
    assert row.values["procedure"] == contract.procedure
    assert row.values["estimated_value"] == contract.estimated_value
    assert row.warnings == []
