"""Follow-up plans, activities, My follow-up, deviations and the contract page's panel:
building with a preview, ticking off with evidence, attachments, who may do what, audit."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from contracts.audit.models import AuditEvent
from contracts.auth.models import Role
from contracts.db import Session
from contracts.register import services as register_services
from contracts.register.models import Contract
from followup import services
from followup.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Anchor,
    Consequence,
    Deviation,
    DeviationStatus,
    FollowUpPlan,
    Severity,
)
from tests import factories
from tests.conftest import TODAY
from tests.followup_factories import make_deviation, make_plan

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


# --- helpers -------------------------------------------------------------------------------


def _events(entity_type: str, entity_id: int) -> list[str]:
    """The audited actions on one entity, oldest first."""
    return list(
        Session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.seq)
        )
    )


def _event_count() -> int:
    return factories.audit_changes()


def _fresh(model, obj_id: int):
    Session.expire_all()
    return Session.get(model, obj_id)


def _plan_count(contract_id: int) -> int:
    return Session.scalar(
        select(func.count())
        .select_from(FollowUpPlan)
        .where(FollowUpPlan.contract_id == contract_id)
    )


def _first_open(plan: FollowUpPlan) -> Activity:
    return next(a for a in plan.activities if a.status == ActivityStatus.OPEN)


def _by_anchor(plan: FollowUpPlan, anchor: Anchor, kind: ActivityKind) -> Activity:
    return next(
        a
        for a in plan.activities
        if a.rule_id is not None and a.kind == kind and _rule_anchor(a) == anchor
    )


def _rule_anchor(activity: Activity) -> Anchor:
    from followup.models import TemplateRule

    return Session.get(TemplateRule, activity.rule_id).anchor


@pytest.fixture
def owner_client(login_as):
    """An owner (role) logged in, with a contract they own that has a plan."""
    client = login_as("owner")
    contract = factories.make_contract(owner_id=client.user.id)
    client.contract = contract
    client.plan = make_plan(contract)
    return client


def _upload(client, activity: Activity, content: bytes, name: str, **fields):
    data = {"attachment": (io.BytesIO(content), name), **fields}
    return client.post(
        f"/followup/activities/{activity.id}/done", data=data, content_type="multipart/form-data"
    )


# --- building a plan -----------------------------------------------------------------------


PREVIEW_ROW = re.compile(r'data-rule="(\d+)" data-occurrence="(\d+)" data-due="([\d-]+)"')


def test_build_page_previews_what_build_creates(login_as):
    editor = login_as("procurement")
    contract = factories.make_contract()
    template = services.default_template()

    page = editor.get(f"/contracts/{contract.id}/plan/build")
    assert page.status_code == 200
    assert f'<option value="{template.id}" selected' in page.text
    shown = [(int(r), int(o), date.fromisoformat(d)) for r, o, d in PREVIEW_ROW.findall(page.text)]
    expected = [
        (p.rule_id, p.occurrence, p.due) for p in services.preview(contract, template, TODAY)
    ]
    assert shown == expected and shown
    assert _plan_count(contract.id) == 0, "the preview saves nothing"

    response = editor.post(
        f"/contracts/{contract.id}/plan/build", data={"template_id": template.id}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/contracts/{contract.id}/plan")
    plan = services.plan_for(contract.id)
    assert plan.template_id == template.id
    built = sorted((a.rule_id, a.occurrence, a.due_date) for a in plan.activities)
    assert built == sorted(expected)
    assert _events("followup_plans", plan.id) == ["create"]

    shown_plan = editor.get(f"/contracts/{contract.id}/plan")
    assert shown_plan.status_code == 200
    assert shown_plan.text.count("data-activity=") == len(expected)
    assert f'data-template="{template.id}" data-version="{template.version}"' in shown_plan.text


def test_a_contract_gets_one_plan_only(login_as):
    editor = login_as("admin")
    contract = factories.make_contract()
    template_id = services.default_template().id
    url = f"/contracts/{contract.id}/plan/build"
    assert editor.post(url, data={"template_id": template_id}).status_code == 302
    events = _event_count()

    again = editor.post(url, data={"template_id": template_id})
    assert again.status_code == 302
    assert again.headers["Location"].endswith(f"/contracts/{contract.id}/plan")
    assert _plan_count(contract.id) == 1
    assert _event_count() == events
    # The build page itself sends the editor to the existing plan, with a message.
    page = editor.get(url, follow_redirects=True)
    assert page.request.path == f"/contracts/{contract.id}/plan"
    assert 'class="ds-alert app-flash" data-color="warning"' in page.text
    with pytest.raises(services.PlanExistsError):
        services.build_plan(contract, services.default_template(), TODAY, None)


def test_build_needs_a_current_template(login_as):
    editor = login_as("procurement")
    contract = factories.make_contract()
    response = editor.post(f"/contracts/{contract.id}/plan/build", data={"template_id": "999999"})
    assert response.status_code == 422
    assert "ds-error-summary" in response.text
    assert _plan_count(contract.id) == 0


def test_plan_page_without_plan(login_as):
    contract = factories.make_contract()
    editor = login_as("procurement")
    response = editor.get(f"/contracts/{contract.id}/plan")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/contracts/{contract.id}/plan/build")
    reader = login_as("auditor")
    page = reader.get(f"/contracts/{contract.id}/plan")
    assert page.status_code == 200
    assert 'id="no-plan"' in page.text
    assert "/plan/build" not in page.text


@pytest.fixture
def confidential():
    """A confidential contract of one unit with a plan, an activity and a deviation."""
    unit = factories.make_unit()
    owner = factories.make_user(Role.OWNER, unit_id=unit.id)
    contract = factories.make_contract(
        unit_id=unit.id, owner_id=owner.id, is_confidential=True, title="Hemmelig avtale"
    )
    plan = make_plan(contract)
    deviation = make_deviation(contract, owner)
    return contract, plan, deviation, owner, unit


def test_confidential_plan_is_hidden_from_other_units(app, login_as, confidential):
    contract, plan, deviation, owner, unit = confidential
    activity = plan.activities[0]
    outsider = login_as("owner", unit_id=factories.make_unit().id)
    for url in (
        f"/contracts/{contract.id}/plan",
        f"/followup/activities/{activity.id}",
        f"/followup/activities/{activity.id}/attachment",
        f"/contracts/{contract.id}/deviations",
    ):
        assert outsider.get(url).status_code == 404, url
    assert outsider.post(f"/followup/activities/{activity.id}/done").status_code == 404
    response = outsider.post(
        f"/followup/deviations/{deviation.id}/close",
        data={"closed_on": "2026-03-01", "resolution": "x"},
    )
    assert response.status_code == 404
    assert _fresh(Deviation, deviation.id).status == DeviationStatus.OPEN

    insiders = [login_as("owner", unit_id=unit.id), login_as("auditor")]
    own = app.test_client()
    factories.log_in(own, owner)
    for client in (*insiders, own):
        page = client.get(f"/contracts/{contract.id}/plan")
        assert page.status_code == 200
        assert f"/followup/activities/{activity.id}" in page.text


# --- completing activities -----------------------------------------------------------------


def test_owner_ticks_off_an_activity_with_evidence(owner_client):
    activity = _first_open(owner_client.plan)
    page = owner_client.get(f"/followup/activities/{activity.id}")
    assert page.status_code == 200
    assert 'id="done-form"' in page.text
    assert 'id="edit-form"' not in page.text, "only editors change the activity"

    response = owner_client.post(
        f"/followup/activities/{activity.id}/done",
        data={
            "notes": "Møtet ble holdt",
            "evidence": "Referat i sak 2026/123",
            "evidence_url": "https://arkiv.kommune.no/sak/2026-123",
        },
    )
    assert response.status_code == 302
    done = _fresh(Activity, activity.id)
    assert done.status == ActivityStatus.DONE
    assert done.completed_by_id == owner_client.user.id and done.completed_at is not None
    assert (done.notes, done.evidence) == ("Møtet ble holdt", "Referat i sak 2026/123")
    assert done.evidence_url == "https://arkiv.kommune.no/sak/2026-123"
    assert _events("activities", activity.id) == ["activity_done"]
    page = owner_client.get(f"/followup/activities/{activity.id}")
    assert 'data-status="done"' in page.text
    assert 'href="https://arkiv.kommune.no/sak/2026-123"' in page.text
    assert 'id="reopen-form"' in page.text


def test_skipping_needs_a_reason_and_reopen_undoes_it(owner_client):
    activity = _first_open(owner_client.plan)
    url = f"/followup/activities/{activity.id}"
    events = _event_count()
    refused = owner_client.post(f"{url}/skip", data={"skip_reason": "   "})
    assert refused.status_code == 422
    assert "ds-error-summary" in refused.text
    assert _fresh(Activity, activity.id).status == ActivityStatus.OPEN
    assert _event_count() == events

    assert owner_client.post(f"{url}/skip", data={"skip_reason": "Ikke aktuelt"}).status_code == 302
    skipped = _fresh(Activity, activity.id)
    assert (skipped.status, skipped.skip_reason) == (ActivityStatus.SKIPPED, "Ikke aktuelt")

    assert owner_client.post(f"{url}/reopen").status_code == 302
    reopened = _fresh(Activity, activity.id)
    assert reopened.status == ActivityStatus.OPEN
    assert (reopened.completed_at, reopened.completed_by_id, reopened.skip_reason) == (
        None,
        None,
        None,
    )
    assert _events("activities", activity.id) == ["activity_skipped", "activity_open"]


@pytest.mark.parametrize("who", ["manager", "responsible"])
def test_manager_and_responsible_person_complete(app, login_as, who):
    person = factories.make_user(Role.OWNER)
    contract = factories.make_contract(
        owner_id=factories.make_user(Role.OWNER).id,
        manager_id=person.id if who == "manager" else None,
    )
    activity = _first_open(make_plan(contract))
    if who == "responsible":
        services.edit_activity(activity, {"responsible_id": person.id})
    client = app.test_client()
    factories.log_in(client, person)
    response = client.post(f"/followup/activities/{activity.id}/done", data={"notes": "ok"})
    assert response.status_code == 302
    assert _fresh(Activity, activity.id).status == ActivityStatus.DONE


@pytest.mark.parametrize("action", ["done", "skip", "reopen"])
def test_owner_of_another_contract_cannot_complete(login_as, owner_client, action):
    activity = _first_open(owner_client.plan)
    other = login_as("owner")
    factories.make_contract(owner_id=other.user.id)
    events = _event_count()
    response = other.post(
        f"/followup/activities/{activity.id}/{action}", data={"skip_reason": "Fordi"}
    )
    assert response.status_code == 403
    assert _fresh(Activity, activity.id).status == ActivityStatus.OPEN
    assert _event_count() == events
    page = other.get(f"/followup/activities/{activity.id}")
    assert page.status_code == 200, "a contract they may see, read-only"
    assert 'id="done-form"' not in page.text


def test_auditor_named_as_owner_only_reads(app, login_as):
    auditor = login_as("auditor")
    contract = factories.make_contract(owner_id=auditor.user.id)
    activity = _first_open(make_plan(contract))
    assert auditor.post(f"/followup/activities/{activity.id}/done").status_code == 403
    assert 'id="done-form"' not in auditor.get(f"/followup/activities/{activity.id}").text
    response = auditor.post(
        f"/contracts/{contract.id}/deviations",
        data={"occurred_on": "2026-02-01", "description": "x", "severity": "low"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://arkiv.kommune.no/x", "https://", "arkiv.kommune.no"]
)
def test_evidence_link_must_be_a_web_address(owner_client, url):
    activity = _first_open(owner_client.plan)
    events = _event_count()
    response = owner_client.post(
        f"/followup/activities/{activity.id}/done", data={"evidence_url": url}
    )
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert _fresh(Activity, activity.id).status == ActivityStatus.OPEN
    assert _event_count() == events


def test_activity_page_shows_guidance_and_checklist(login_as):
    contract = factories.make_contract()  # wage conditions: the control has a checklist
    plan = make_plan(contract)
    control = next(a for a in plan.activities if a.kind == ActivityKind.WAGE_CONDITIONS_CONTROL)
    page = login_as("auditor").get(f"/followup/activities/{control.id}")
    assert page.status_code == 200
    items = re.search(r'<ul class="ds-list" id="checklist">(.*?)</ul>', page.text, re.S)
    lines = [line for line in control.checklist.splitlines() if line.strip()]
    assert items and items.group(1).count("<li>") == len(lines) > 1
    assert 'id="done-form"' not in page.text


# --- editing, custom activities and rebuilds -----------------------------------------------


def test_moving_a_due_date_by_hand_survives_a_rebuild(login_as):
    editor = login_as("procurement")
    contract = factories.make_contract()
    plan = make_plan(contract)
    evaluation = _by_anchor(plan, Anchor.END, ActivityKind.END_EVALUATION)
    retender = _by_anchor(plan, Anchor.END, ActivityKind.RETENDER_START)
    retender_due = retender.due_date

    response = editor.post(
        f"/followup/activities/{evaluation.id}/edit",
        data={"title": "Sluttevaluering med brukerne", "due_date": "2027-09-15"},
    )
    assert response.status_code == 302
    edited = _fresh(Activity, evaluation.id)
    assert edited.edited is True
    assert (edited.title, edited.due_date) == ("Sluttevaluering med brukerne", date(2027, 9, 15))
    assert _events("activities", evaluation.id) == ["update"]

    # Ending the contract a year early rebuilds the plan (the register's signal).
    register_services.terminate_contract(_fresh(Contract, contract.id), date(2026, 12, 31), None)
    assert _fresh(Activity, evaluation.id).due_date == date(2027, 9, 15)
    assert _fresh(Activity, retender.id).due_date != retender_due


def test_edit_validation(login_as):
    editor = login_as("admin")
    activity = _first_open(make_plan(factories.make_contract()))
    response = editor.post(
        f"/followup/activities/{activity.id}/edit", data={"title": "", "due_date": "31.02.2026"}
    )
    assert response.status_code == 422
    assert 'id="edit-form"' in response.text
    assert _fresh(Activity, activity.id).edited is False


def test_custom_activity_is_kept_by_rebuilds(login_as):
    editor = login_as("procurement")
    manager = factories.make_user(Role.OWNER)
    contract = factories.make_contract(manager_id=manager.id)
    make_plan(contract)
    response = editor.post(
        f"/contracts/{contract.id}/plan/activities",
        data={
            "title": "Befaring på skolene",
            "due_date": "2027-06-01",
            "responsible_role": "manager",
            "responsible_id": "",
            "guidance": "Se på renholdet i alle bygg.",
            "checklist": "Skole A\nSkole B",
        },
    )
    assert response.status_code == 302
    custom = Session.scalar(
        select(Activity).where(
            Activity.contract_id == contract.id, Activity.kind == ActivityKind.CUSTOM
        )
    )
    assert (custom.rule_id, custom.occurrence) == (None, None)
    assert custom.responsible_id == manager.id, "the role's person when none is chosen"
    assert _events("activities", custom.id) == ["create"]

    register_services.terminate_contract(_fresh(Contract, contract.id), date(2026, 12, 31), None)
    kept = _fresh(Activity, custom.id)
    assert kept is not None and kept.due_date == date(2027, 6, 1)
    page = editor.get(f"/contracts/{contract.id}/plan")
    assert f'data-activity="{custom.id}"' in page.text


def test_custom_activity_validation_and_no_plan(login_as):
    editor = login_as("procurement")
    contract = factories.make_contract()
    make_plan(contract)
    events = _event_count()
    response = editor.post(
        f"/contracts/{contract.id}/plan/activities",
        data={"title": "", "due_date": "", "responsible_role": "nobody"},
    )
    assert response.status_code == 422
    assert 'id="add-activity"' in response.text
    assert _event_count() == events

    without_plan = factories.make_contract()
    events = _event_count()
    response = editor.post(
        f"/contracts/{without_plan.id}/plan/activities",
        data={"title": "X", "due_date": "2026-06-01", "responsible_role": "owner"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/contracts/{without_plan.id}/plan/build")
    assert _event_count() == events


# --- attachments -----------------------------------------------------------------------------


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def test_attachment_upload_and_download(app, owner_client, login_as):
    activity = _first_open(owner_client.plan)
    response = _upload(owner_client, activity, PDF, "../../Referat oppstartsmøte.pdf")
    assert response.status_code == 302
    stored = _fresh(Activity, activity.id)
    assert stored.status == ActivityStatus.DONE
    assert stored.attachment_name == "Referat oppstartsmøte.pdf"
    assert re.fullmatch(r"[0-9a-f]{32}", stored.attachment_key)
    path = Path(app.instance_path) / "attachments" / stored.attachment_key
    assert path.read_bytes() == PDF
    assert _events("activities", activity.id) == ["activity_done", "activity_attachment"]

    for client in (owner_client, login_as("auditor")):
        download = client.get(f"/followup/activities/{activity.id}/attachment")
        assert download.status_code == 200
        assert download.data == PDF
        assert download.mimetype == "application/pdf"
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        disposition = download.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert "filename*=UTF-8''Referat%20oppstartsm%C3%B8te.pdf" in disposition
        assert "/" not in disposition


def test_zip_based_attachment_is_checked(owner_client):
    activity = _first_open(owner_client.plan)
    assert _upload(owner_client, activity, _docx(), "rapport.docx").status_code == 302
    assert _fresh(Activity, activity.id).attachment_name == "rapport.docx"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"<html><script>alert(1)</script></html>", "side.html"),
        (b"MZ\x90\x00", "program.exe"),
        (PDF, "uten-endelse"),
        (b"<html><script>alert(1)</script></html>", "falsk.pdf"),
        (PDF, "bilde.png"),
        (b"PK\x03\x04 not really a zip", "rapport.docx"),
        (b"", "tom.pdf"),
        (b"binary\x00data", "notat.txt"),
    ],
)
def test_attachment_refused(owner_client, content, name):
    activity = _first_open(owner_client.plan)
    events = _event_count()
    response = _upload(owner_client, activity, content, name, notes="Skal ikke lagres")
    assert response.status_code == 422
    assert "ds-error-summary" in response.text
    refused = _fresh(Activity, activity.id)
    assert refused.status == ActivityStatus.OPEN and refused.attachment_key is None
    assert refused.notes is None
    assert _event_count() == events


def test_attachment_too_big(app, owner_client, monkeypatch):
    activity = _first_open(owner_client.plan)
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1024)
    response = _upload(owner_client, activity, PDF + b"0" * 2048, "stor.pdf")
    assert response.status_code == 422
    assert _fresh(Activity, activity.id).attachment_key is None
    # Past the request limit the server refuses before any view runs.
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    response = _upload(owner_client, activity, PDF + b"0" * 8192, "enda-storre.pdf")
    assert response.status_code == 413
    assert _fresh(Activity, activity.id).status == ActivityStatus.OPEN


def test_attachment_download_refused_without_file_or_access(app, login_as, confidential):
    contract, plan, _deviation, owner, _unit = confidential
    activity = plan.activities[0]
    own = app.test_client()
    factories.log_in(own, owner)
    url = f"/followup/activities/{activity.id}/attachment"
    assert own.get(url).status_code == 404, "no file yet"
    assert _upload(own, activity, PDF, "hemmelig.pdf").status_code == 302
    assert own.get(url).status_code == 200
    assert login_as("owner", unit_id=factories.make_unit().id).get(url).status_code == 404
    assert login_as("owner").get(url).status_code == 404
    assert app.test_client().get(url).status_code == 302, "to the login page"


# --- My follow-up ----------------------------------------------------------------------------


def test_my_followup_lists_my_activities_overdue_first(owner_client, login_as):
    plan = owner_client.plan
    late = plan.activities[-1]
    services.edit_activity(late, {"due_date": date(2026, 2, 1)})
    other_contract = factories.make_contract(owner_id=factories.make_user(Role.OWNER).id)
    others = make_plan(other_contract)

    page = owner_client.get("/followup/mine?all=1")
    assert page.status_code == 200
    listed = [int(i) for i in re.findall(r'<tr data-activity="(\d+)"', page.text)]
    assert listed[0] == late.id
    assert set(listed) == {a.id for a in plan.activities}
    assert not set(listed) & {a.id for a in others.activities}
    assert f'data-activity="{late.id}" class="app-overdue" data-overdue' in page.text
    assert re.search(r'id="overdue-count">1 ', page.text)
    assert owner_client.contract.reference in page.text

    # By default only what is due within a year (and everything overdue).
    near = owner_client.get("/followup/mine")
    near_ids = [int(i) for i in re.findall(r'<tr data-activity="(\d+)"', near.text)]
    assert near_ids[0] == late.id
    assert all(_fresh(Activity, i).due_date <= date(2027, 3, 2) for i in near_ids) and len(
        near_ids
    ) < len(listed)


def test_my_followup_pages_through_many_activities(owner_client, monkeypatch):
    from followup.views import mine as mine_view

    monkeypatch.setattr(mine_view, "PAGE_SIZE", 3)
    plan = owner_client.plan
    late = plan.activities[-1]
    services.edit_activity(late, {"due_date": date(2026, 2, 1)})
    everything = owner_client.get("/followup/mine?all=1")
    total = len(plan.activities)
    assert total > 3
    assert f"{total} åpne aktiviteter" in everything.text

    seen: list[int] = []
    pages = -(-total // 3)
    for number in range(1, pages + 1):
        page = owner_client.get(f"/followup/mine?all=1&page={number}")
        rows = [int(i) for i in re.findall(r'<tr data-activity="(\d+)"', page.text)]
        assert len(rows) == (3 if number < pages else total - 3 * (pages - 1))
        assert f"Side {number}<" in page.text
        assert ('rel="next"' in page.text) == (number < pages)
        seen += rows
    assert seen[0] == late.id  # overdue first, on the first page
    assert sorted(seen) == sorted(a.id for a in plan.activities)
    # The overdue count covers every page, not just the one shown.
    last = owner_client.get(f"/followup/mine?all=1&page={pages}")
    assert re.search(r'id="overdue-count">1 ', last.text)
    # Counting stops past the cap: the page says "more than".
    monkeypatch.setattr(mine_view, "COUNT_CAP", 2)
    capped = owner_client.get("/followup/mine?all=1")
    assert "Mer enn 2 åpne aktiviteter" in capped.text
    assert len(re.findall(r'<tr data-activity="(\d+)"', capped.text)) == 3


def test_my_followup_one_click_done_keeps_notes(owner_client):
    activity = _first_open(owner_client.plan)
    services.edit_activity(activity, {"notes": "Avtalt med leverandøren"})
    response = owner_client.post(f"/followup/activities/{activity.id}/done", data={"back": "mine"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/followup/mine")
    done = _fresh(Activity, activity.id)
    assert done.status == ActivityStatus.DONE
    assert done.notes == "Avtalt med leverandøren"
    page = owner_client.get("/followup/mine?all=1")
    assert f'data-activity="{activity.id}"' not in page.text
    # Anything else in "back" goes to the activity page, never elsewhere.
    other = _first_open(owner_client.plan)
    response = owner_client.post(
        f"/followup/activities/{other.id}/done", data={"back": "https://evil.example"}
    )
    assert response.headers["Location"].endswith(f"/followup/activities/{other.id}")


def test_my_followup_hides_contracts_the_user_cannot_see(app, login_as, confidential):
    contract, plan, _deviation, _owner, _unit = confidential
    outsider = login_as("owner", unit_id=factories.make_unit().id)
    services.edit_activity(plan.activities[0], {"responsible_id": outsider.user.id})
    page = outsider.get("/followup/mine?all=1")
    assert page.status_code == 200
    assert contract.reference not in page.text
    assert "Hemmelig avtale" not in page.text


def test_my_followup_lists_open_deviations_on_my_contracts(owner_client):
    contract = owner_client.contract
    mine = make_deviation(contract, owner_client.user)
    closed = make_deviation(contract, owner_client.user)
    services.close_deviation(closed, date(2026, 2, 15), "Rettet")
    elsewhere = make_deviation(factories.make_contract(), owner_client.user)
    page = owner_client.get("/followup/mine")
    listed = {int(i) for i in re.findall(r'data-deviation="(\d+)"', page.text)}
    assert listed == {mine.id}
    assert elsewhere.id not in listed


def test_nav_links_to_my_followup(login_as):
    for role in ("owner", "auditor", "procurement"):
        assert 'href="/followup/mine"' in login_as(role).get("/").text


# --- deviations ------------------------------------------------------------------------------


def _deviation_data(**overrides) -> dict[str, str]:
    data = {
        "occurred_on": "2026-02-20",
        "description": "Leveransen kom to uker for sent",
        "severity": "high",
        "consequence": "liquidated_damages",
    }
    data.update(overrides)
    return data


def test_owner_records_and_closes_a_deviation(owner_client):
    contract = owner_client.contract
    url = f"/contracts/{contract.id}/deviations"
    page = owner_client.get(url)
    assert page.status_code == 200 and 'id="deviation-form"' in page.text

    assert owner_client.post(url, data=_deviation_data()).status_code == 302
    deviation = Session.scalar(select(Deviation).where(Deviation.contract_id == contract.id))
    assert (deviation.severity, deviation.consequence) == (
        Severity.HIGH,
        Consequence.LIQUIDATED_DAMAGES,
    )
    assert deviation.status == DeviationStatus.OPEN
    assert deviation.recorded_by_id == owner_client.user.id
    assert f'data-deviation="{deviation.id}" data-status="open"' in owner_client.get(url).text

    response = owner_client.post(
        f"/followup/deviations/{deviation.id}/close",
        data={"closed_on": "2026-03-01", "resolution": "Dagbot trukket i faktura"},
    )
    assert response.status_code == 302
    closed = _fresh(Deviation, deviation.id)
    assert (closed.status, closed.closed_on) == (DeviationStatus.CLOSED, date(2026, 3, 1))
    assert closed.resolution == "Dagbot trukket i faktura"
    assert _events("deviations", deviation.id) == ["create", "deviation_closed"]

    events = _event_count()
    again = owner_client.post(
        f"/followup/deviations/{deviation.id}/close",
        data={"closed_on": "2026-03-02", "resolution": "Igjen"},
    )
    assert again.status_code == 302
    assert _event_count() == events


@pytest.mark.parametrize(
    "overrides",
    [
        {"description": "  "},
        {"occurred_on": ""},
        {"occurred_on": "2026-03-03"},  # tomorrow
        {"occurred_on": "31.02.2026"},
        {"severity": ""},
        {"severity": "catastrophic"},
        {"consequence": "prison"},
    ],
)
def test_deviation_validation(owner_client, overrides):
    contract = owner_client.contract
    events = _event_count()
    response = owner_client.post(
        f"/contracts/{contract.id}/deviations", data=_deviation_data(**overrides)
    )
    assert response.status_code == 422
    assert "ds-error-summary" in response.text
    assert Session.scalar(select(func.count()).select_from(Deviation).where(
        Deviation.contract_id == contract.id)) == 0  # fmt: skip
    assert _event_count() == events


@pytest.mark.parametrize(
    "data",
    [
        {"closed_on": "2026-01-31", "resolution": "Før avviket"},
        {"closed_on": "2026-03-03", "resolution": "I morgen"},
        {"closed_on": "", "resolution": "Uten dato"},
        {"closed_on": "2026-03-01", "resolution": ""},
    ],
)
def test_closing_validation(owner_client, data):
    deviation = make_deviation(owner_client.contract, owner_client.user)  # 1 February
    events = _event_count()
    response = owner_client.post(f"/followup/deviations/{deviation.id}/close", data=data)
    assert response.status_code == 422
    assert 'id="close-errors"' in response.text
    assert _fresh(Deviation, deviation.id).status == DeviationStatus.OPEN
    assert _event_count() == events


@pytest.mark.parametrize("who", ["manager", "editor", "other owner", "auditor"])
def test_who_records_deviations(app, login_as, who):
    manager = factories.make_user(Role.OWNER)
    contract = factories.make_contract(
        owner_id=factories.make_user(Role.OWNER).id, manager_id=manager.id
    )
    if who == "manager":
        client = app.test_client()
        factories.log_in(client, manager)
    else:
        role = {"editor": "procurement", "other owner": "owner", "auditor": "auditor"}[who]
        client = login_as(role)
    allowed = who in {"manager", "editor"}
    page = client.get(f"/contracts/{contract.id}/deviations")
    assert page.status_code == 200
    assert ('id="deviation-form"' in page.text) is allowed
    response = client.post(f"/contracts/{contract.id}/deviations", data=_deviation_data())
    assert response.status_code == (302 if allowed else 403)
    existing = make_deviation(contract, manager)
    response = client.post(
        f"/followup/deviations/{existing.id}/close",
        data={"closed_on": "2026-03-01", "resolution": "Rettet"},
    )
    assert response.status_code == (302 if allowed else 403)
    assert _fresh(Deviation, existing.id).status == (
        DeviationStatus.CLOSED if allowed else DeviationStatus.OPEN
    )


# --- the contract page ---------------------------------------------------------------------


def _panel(text: str) -> str:
    match = re.search(r'<section aria-labelledby="followup-h" id="followup-panel">(.*?)</section>',
                      text, re.S)  # fmt: skip
    assert match, "no follow-up panel"
    return match.group(1)


def test_contract_page_shows_the_plan_panel(login_as):
    editor = login_as("procurement")
    contract = factories.make_contract()
    plan = make_plan(contract)
    services.edit_activity(plan.activities[-1], {"due_date": date(2026, 1, 15)})
    make_deviation(contract, editor.user)
    panel = _panel(editor.get(f"/contracts/{contract.id}").text)
    assert f'data-template="{plan.template_id}" data-version="{plan.template.version}"' in panel
    assert f'href="/contracts/{contract.id}/plan"' in panel
    assert panel.count("/followup/activities/") == 3
    assert f'href="/followup/activities/{plan.activities[-1].id}"' in panel, "overdue first"
    assert 'id="followup-overdue"' in panel
    assert re.search(r'id="followup-deviations">1 ', panel)


def test_contract_page_panel_without_plan(login_as):
    contract = factories.make_contract()
    editor_panel = _panel(login_as("admin").get(f"/contracts/{contract.id}").text)
    assert f'href="/contracts/{contract.id}/plan/build"' in editor_panel
    reader_panel = _panel(login_as("owner").get(f"/contracts/{contract.id}").text)
    assert "/plan/build" not in reader_panel
    assert re.search(r'id="followup-deviations">0 ', reader_panel)


def test_panel_costs_a_fixed_number_of_queries(app):
    from sqlalchemy import event

    from followup.panel import followup_panel

    small, large = (
        factories.make_contract(),
        factories.make_contract(start_date=date(2026, 1, 1), end_date=date(2035, 12, 31)),
    )
    for contract in (small, large):
        make_deviation(contract, factories.make_user())
        make_plan(contract)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = app.extensions["engine"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        counts = []
        for contract in (small, large):
            Session.expire_all()
            before = len(statements)
            _template, context = followup_panel(Session.get(Contract, contract.id), TODAY)
            counts.append(len(statements) - before)
            assert len(context["next_activities"]) == 3
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert 0 < counts[0] == counts[1] <= 6, counts
