"""In a real Chromium: log in and register a contract through the real form."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from contracts.auth.models import Role
from contracts.db import Session, utcnow
from contracts.exchange import jobs
from contracts.exchange.models import JobStatus
from contracts.register.models import Contract
from tests import factories


def log_in(page, user) -> None:
    """Through the real login form, as a person would."""
    page.get_by_label(re.compile("E-post|E-mail")).fill(user.email)
    page.get_by_label(re.compile("Passord|Password")).fill(factories.PASSWORD)
    page.locator("form button[type=submit]").click()


def test_procurement_officer_registers_a_contract(page, live_server):
    officer = factories.make_user(role=Role.PROCUREMENT, name="Ingrid Innkjøper")
    unit = factories.make_unit("Helse og omsorg")
    category = factories.make_category("Renhold")
    supplier = factories.make_supplier("Østre Renhold AS")
    Session.flush()

    page.goto("/contracts")
    expect(page).to_have_url(re.compile(r"/login"))
    log_in(page, officer)
    expect(page).to_have_url(re.compile(r"/contracts$"))

    page.goto("/contracts/new")
    page.fill("#reference", "2026/0042")
    page.fill("#title", "Renhold av Bakkehaugen sykehjem")
    page.fill("#supplier", supplier.org_number_display)
    page.select_option("#category_id", str(category.id))
    page.select_option("#unit_id", str(unit.id))
    page.select_option("#owner_id", str(officer.id))
    page.select_option("#procedure", "open_competition")
    page.fill("#estimated_value", "1 250 000,50")
    page.fill("#signed_on", "2026-01-15")
    page.fill("#start_date", "2026-02-01")
    page.fill("#end_date", "2028-01-31")
    page.fill("#notice_months", "3")
    page.check("#has_wage_conditions")
    page.locator("form button[type=submit]").click()

    expect(page.locator("h1")).to_have_text("Renhold av Bakkehaugen sykehjem")
    expect(page.get_by_role("status").first).to_contain_text("2026/0042")
    contract = Session.scalar(select(Contract).where(Contract.reference == "2026/0042"))
    assert contract is not None
    assert str(contract.estimated_value) == "1250000.50"
    assert contract.supplier_id == supplier.id
    assert contract.has_wage_conditions is True
    # The change history on the page shows who registered it.
    expect(page.locator("#history-h + table")).to_contain_text(officer.email)


def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(page, live_server):
    officer = factories.make_user(role=Role.PROCUREMENT)
    page.goto("/login")
    log_in(page, officer)
    expect(page).to_have_url(re.compile(r"/$"))

    before = Session.scalar(select(Contract.id).order_by(Contract.id.desc()).limit(1))
    page.goto("/contracts/new")
    page.fill("#reference", "2026/0043")
    page.fill("#title", "Skoleskyss")
    page.fill("#supplier", "999 999 999")
    page.fill("#estimated_value", "-5")
    page.fill("#start_date", "2026-02-01")
    page.fill("#end_date", "2025-01-31")
    page.locator("form button[type=submit]").click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    for field in ("supplier", "estimated_value", "end_date", "category_id", "unit_id"):
        expect(page.locator(f"#{field}-error")).to_be_visible()
        expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
    # What the user typed comes back.
    expect(page.locator("#title")).to_have_value("Skoleskyss")
    after = Session.scalar(select(Contract.id).order_by(Contract.id.desc()).limit(1))
    assert after == before


def test_procurement_officer_imports_a_spreadsheet_and_fixes_a_column(page, live_server, tmp_path):
    officer = factories.make_user(role=Role.PROCUREMENT)
    factories.make_unit("Teknisk")
    factories.make_category("Bygg og anlegg")
    Session.flush()
    sheet = tmp_path / "avtaler.csv"
    sheet.write_bytes(
        "Avtaleliste Teknisk\r\n\r\n"
        "Avtalenr;Avtalenavn;Motpart;Enhet;Kategori;Startdato;Sluttdato;Opsjoner\r\n"
        "TEK-9;Brøyting sone sør;Vik Maskin AS;Teknisk;Bygg og anlegg;01.10.2025;30.04.2028;"
        "1+1 år\r\n".encode("cp1252")
    )
    page.goto("/login")
    log_in(page, officer)
    page.goto("/contracts")
    page.get_by_role(
        "link", name=re.compile("Importer fra regneark|Import from spreadsheet")
    ).click()
    page.set_input_files("#file", str(sheet))
    page.locator("form button[type=submit]").click()

    # The header is found on row 3; "Motpart" is not a known column, so the user maps it.
    expect(page.locator("h1")).to_contain_text("avtaler.csv")
    expect(page.locator("#col-2")).to_have_value("")
    expect(page.locator("#count-rejected .app-tile__num")).to_have_text("1")
    page.select_option("#col-2", "supplier")
    page.check("#create_missing")
    page.get_by_role("button", name=re.compile("Sjekk på nytt|Check again")).click()
    expect(page.locator("#count-new .app-tile__num")).to_have_text("1")
    page.get_by_role("button", name=re.compile("Importer 1 kontrakt|Import 1 contract")).click()

    # The import runs as a job; here (tests) it is done by the time its page shows.
    expect(page).to_have_url(re.compile(r"/contracts/import/jobs/\d+$"))
    expect(page.get_by_role("status").first).to_contain_text(re.compile("1 nye|1 new"))
    expect(page.locator("#job-created .app-tile__num")).to_have_text("1")
    contract = Session.scalar(select(Contract).where(Contract.reference == "TEK-9"))
    assert contract.supplier.name == "Vik Maskin AS"
    assert [o.extension_months for o in contract.options] == [12]


def test_the_progress_bar_follows_a_running_import_and_shows_the_summary(page, live_server):
    officer = factories.make_user(role=Role.PROCUREMENT)
    job = factories.make_import_job(
        status=JobStatus.RUNNING, started_at=utcnow(), created=None, user_id=officer.id
    )
    report = jobs.ProgressFile(job.id)
    report("checking", 200, 1000, force=True)
    Session.commit()
    page.goto("/login")
    log_in(page, officer)
    page.goto(f"/contracts/import/jobs/{job.id}")
    bar = page.locator("#job-progress")
    expect(bar).to_have_attribute("value", "10")  # checking is the first half
    expect(page.locator("[data-job-phase]")).to_contain_text("200 / 1000")

    report("writing", 900, 1000, force=True)
    expect(page.locator("[data-job-phase]")).to_contain_text("Lagrer kontraktene: 900 / 1000")
    assert bar.evaluate("element => element.value") == 95

    job.status, job.created, job.finished_at = JobStatus.DONE, 1000, utcnow()
    Session.commit()
    report.remove()
    # Finished: the page reloads by itself and shows the summary instead of the bar.
    expect(page.locator("#job-created .app-tile__num")).to_have_text(re.compile(r"^1\s000$"))
    expect(page.locator("#job-progress")).to_have_count(0)


def test_supplier_suggestions_come_from_the_server_in_a_large_register(
    page, live_server, monkeypatch
):
    from contracts.parties import services as parties_services

    monkeypatch.setattr(parties_services, "SUPPLIER_SUGGESTIONS_MAX", 0)
    officer = factories.make_user(role=Role.PROCUREMENT)
    factories.make_supplier("Østre Renhold AS")
    factories.make_supplier("Vestre Renhold AS")
    Session.commit()
    page.goto("/login")
    log_in(page, officer)
    page.goto("/contracts/new")
    options = page.locator("#supplier-options option")
    expect(options).to_have_count(0)
    page.fill("#supplier", "østre ren")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", re.compile(r"^Østre Renhold AS \(\d{9}\)$"))


def test_officer_assesses_builds_a_plan_and_the_owner_ticks_off_an_activity(
    page, live_server, browser
):
    from followup.models import Activity, ActivityStatus, CategoryAssessment

    officer = factories.make_user(role=Role.PROCUREMENT, name="Ingrid Innkjøper")
    owner = factories.make_user(role=Role.OWNER, name="Ola Avtaleeier")
    category = factories.make_category("Renhold")
    contract = factories.make_contract(
        reference="REN-2026-01",
        title="Renhold av Bakkehaugen skole",
        category_id=category.id,
        owner_id=owner.id,
        start_date=date(2026, 3, 1),
        end_date=date(2028, 2, 29),
    )
    Session.commit()

    # The officer assesses the category from the priority list: it comes out critical.
    page.goto("/login")
    log_in(page, officer)
    page.get_by_role("link", name=re.compile("^Oppfølging$")).click()
    expect(page.locator("h1")).to_contain_text("Prioritering av oppfølging")
    page.get_by_role("link", name="Vurder Renhold").click()
    page.locator("#supply_risk").get_by_label("3").check()
    page.locator("#financial_impact").get_by_label("3").check()
    page.locator("#wage_risk").get_by_label("5").check()
    page.fill("#rationale", "Arbeidsintensivt; høy risiko for sosial dumping.")
    page.get_by_role("button", name="Lagre vurderingen").click()
    expect(page.get_by_role("status").first).to_contain_text("Strategisk")
    assessment = Session.scalar(
        select(CategoryAssessment).where(CategoryAssessment.category_id == category.id)
    )
    assert assessment.criticality == 3

    # It builds the contract's plan from the default template, after a preview.
    page.goto(f"/contracts/{contract.id}/plan")
    expect(page.locator("#preview tbody tr")).not_to_have_count(0)
    previewed = page.locator("#preview tbody tr").count()
    page.get_by_role("button", name="Lag planen").click()
    expect(page.get_by_role("status").first).to_contain_text(f"{previewed} aktiviteter")
    page.get_by_role("button", name=re.compile("Logg ut")).click()

    # The owner finds the start-up meeting under My follow-up and ticks it off.
    log_in(page, owner)
    page.get_by_role("link", name="Min oppfølging").click()
    row = page.locator("tr", has_text="Oppstartsmøte med leverandøren")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Merk «Oppstartsmøte med leverandøren» som utført").click()
    expect(page.get_by_role("status").first).to_contain_text("er merket som utført")
    expect(page.locator("tr", has_text="Oppstartsmøte med leverandøren")).to_have_count(0)
    done = Session.scalar(
        select(Activity).where(
            Activity.contract_id == contract.id, Activity.title == "Oppstartsmøte med leverandøren"
        )
    )
    Session.refresh(done)
    assert done.status == ActivityStatus.DONE and done.completed_by_id == owner.id


def test_the_owner_confirms_an_estimated_gain_from_the_link_in_the_email(page, live_server):
    from followup.gains.models import EntryStatus, GainEntry
    from jobs import gains, reminders
    from jobs.models import OutboxMessage
    from tests.conftest import TODAY
    from tests.gain_factories import make_gain_plan

    owner = factories.make_user(role=Role.OWNER, name="Ola Avtaleeier")
    contract = factories.make_contract(
        reference="PAP-2026-01", title="Kopipapir til skolene", owner_id=owner.id
    )
    make_gain_plan(contract)  # (120 - 100) kr x 12 000 packs a year, by month from 2026
    Session.commit()

    # The clock: the gains job estimates January and February, the reminder job mails the
    # owner a digest with a link to confirm each.
    assert gains.run(TODAY)["created"] == 2
    reminders.run(TODAY)
    message = Session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == owner.email))
    links = re.findall(r"https?://\S+/gains/entries/(\d+)/confirm", message.body_text)
    assert len(links) == 2
    entry_id = int(links[0])
    path = f"/gains/entries/{entry_id}/confirm"

    # The owner follows the link, logs in on the way and lands on the entry.
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login"))
    log_in(page, owner)
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    expect(page.locator("#entry")).to_have_attribute("data-status", "estimated")
    expect(page.locator("#entry-period")).to_contain_text("01.01.2026")
    expect(page.locator("#entry-value [data-value]")).to_have_attribute("data-value", "20383.56")

    page.locator("#confirm-button").click()
    expect(page).to_have_url(re.compile(rf"/contracts/{contract.id}/gains#entry-{entry_id}$"))
    expect(page.locator(f"#entry-{entry_id}")).to_have_attribute("data-status", "confirmed")
    entry = Session.get(GainEntry, entry_id)
    Session.refresh(entry)
    assert entry.status == EntryStatus.CONFIRMED and entry.confirmed_by_id == owner.id
    assert entry.value == Decimal("20383.56")


def test_auditor_filters_the_trail_and_acknowledges_a_red_flag(page, live_server):
    from contracts.integrity import flags
    from contracts.integrity.flags import RedFlag
    from contracts.rules.models import Procedure
    from tests.conftest import TODAY

    auditor = factories.make_user(role=Role.AUDITOR, name="Randi Revisor")
    contract = factories.make_contract(
        reference="2025/RF-01",
        procedure=Procedure.DIRECT_AWARD,
        estimated_value=Decimal("2500000"),
        signed_on=date(2025, 5, 1),
    )
    flags.recompute(TODAY)
    flag = Session.scalar(select(RedFlag).where(RedFlag.key == f"direct_award:{contract.id}"))
    Session.flush()

    page.goto("/login")
    log_in(page, auditor)
    expect(page).to_have_url(re.compile(r"/$"))

    # The trail, filtered to the contract: its registration is there.
    page.goto("/audit/trail")
    page.fill("#contract", contract.reference)
    page.locator("#trail-filters button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"contract=2025%2FRF-01|contract=2025/RF-01"))
    expect(
        page.locator("#trail-table tr[data-action=create][data-entity=contracts]")
    ).to_have_count(1)

    # The red flags, filtered to direct awards; acknowledge the flag with a comment.
    page.locator("#nav-flags").click()
    page.select_option("#f-rule", "direct_award")
    page.locator("#filter-button").click()
    expect(page).to_have_url(re.compile(r"rule=direct_award"))
    row = page.locator(f"#flags tr[data-flag='{flag.id}']")
    expect(row).to_have_attribute("data-acknowledged", "no")
    row.locator("summary").last.click()
    row.locator("textarea[name=comment]").fill("Hjemmel i FOA §13-3 er dokumentert i saken.")
    row.locator(".ack-form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/integrity/flags\?.*rule=direct_award"))
    expect(page.locator(f"#flags tr[data-flag='{flag.id}']")).to_have_attribute(
        "data-acknowledged", "yes"
    )
    Session.expire_all()
    flag = Session.get(RedFlag, flag.id)
    assert flag.acknowledgement == "Hjemmel i FOA §13-3 er dokumentert i saken."
    assert flag.acknowledged_by_id == auditor.id
    from contracts.audit.models import AuditEvent

    event = Session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert (event.action, event.entity_type, event.actor_id) == (
        "acknowledge",
        "red_flags",
        auditor.id,
    )
