"""The auditors' trail pages: filters, field diffs, pages, the evidence ZIP with SHA-256
sums, the verification page and checkpoint downloads; read-only for auditors."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text, update

from contracts.audit import checkpoints
from contracts.audit.models import AuditEvent
from contracts.audit.services import record
from contracts.auth.models import Role
from contracts.db import Session, utcnow
from jobs import registry
from tests import factories


def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'data-seq="(\d+)"', html)]


def _count(db, **filters) -> int:
    query = select(func.count()).select_from(AuditEvent)
    for name, value in filters.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return db.scalar(query)


@pytest.fixture
def history(db):
    """A contract changed by a named person, and some noise by someone else."""
    kari = factories.make_user(Role.PROCUREMENT, email="kari@test.kommune.no")
    contract = factories.make_contract(reference="REV-1", title="Renhold skoler")
    changed = record(
        "update",
        entity_type="contracts",
        entity_id=contract.id,
        contract_id=contract.id,
        before={"title": "Renhold skoler", "estimated_value": "1000000.00"},
        after={"title": "Renhold skoler og barnehager", "estimated_value": "1250000.50"},
        actor=(kari.id, kari.email),
    )
    noise = record("update", entity_type="suppliers", entity_id=1, after={"name": "X"})
    Session.commit()
    return contract, changed, noise


def test_the_trail_shows_field_diffs(login_as, history):
    _contract, changed, _noise = history
    page = login_as("auditor").get("/audit/trail")
    assert page.status_code == 200
    assert changed.seq in _seqs(page.text)
    row = page.text.split(f'data-seq="{changed.seq}"')[1].split("</tr>")[0]
    assert "Renhold skoler</span> → <span data-after>Renhold skoler og barnehager" in row
    assert "1\u00a0250\u00a0000,5" in row  # amounts shown as on the contract page
    assert "kari@test.kommune.no" in row


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        ({"actor": "KARI@test"}, "changed"),
        ({"entity": "suppliers"}, "noise"),
        ({"contract": "REV-1", "action": "update"}, "changed"),
    ],
)
def test_the_trail_filters(login_as, history, args, wanted):
    _contract, changed, noise = history
    seqs = _seqs(login_as("auditor").get("/audit/trail", query_string=args).text)
    expected = {"changed": changed, "noise": noise}[wanted]
    assert expected.seq in seqs
    other = noise if wanted == "changed" else changed
    assert other.seq not in seqs


def test_the_trail_filters_by_date(login_as, history, db):
    _contract, changed, _noise = history
    auditor = login_as("auditor")
    today = utcnow().date().isoformat()
    assert changed.seq in _seqs(auditor.get(f"/audit/trail?from={today}&to={today}").text)
    assert _seqs(auditor.get("/audit/trail?to=2001-01-01").text) == []
    assert _seqs(auditor.get("/audit/trail?from=2999-01-01").text) == []


def test_an_unknown_contract_number_says_so(login_as, history):
    page = login_as("auditor").get("/audit/trail?contract=FINNES-IKKE")
    assert page.status_code == 200
    assert _seqs(page.text) == []
    assert "FINNES-IKKE" in page.text


def test_the_trail_pages_by_seq(login_as, db):
    for i in range(60):
        record("update", entity_type="units", entity_id=i, after={"name": f"Enhet {i}"})
    Session.commit()
    auditor = login_as("auditor")
    first = auditor.get("/audit/trail?entity=units")
    seqs = _seqs(first.text)
    assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True)
    older = re.search(r'id="older" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    second = _seqs(auditor.get(older).text)
    assert len(second) == 10 and max(second) < min(seqs)
    page2 = auditor.get(older).text
    newer = re.search(r'id="newer" href="([^"]+)"', page2).group(1).replace("&amp;", "&")
    assert _seqs(auditor.get(newer).text) == seqs


def test_the_export_is_a_zip_with_sha256_sums(login_as, db):
    record("update", entity_type="units", entity_id=1, summary='=HYPERLINK("http://x")')
    record("update", entity_type="units", entity_id=2, after={"name": "@SUM(A1)"})
    Session.commit()
    auditor = login_as("auditor")
    response = auditor.get("/audit/trail/export.zip?entity=units")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert set(archive.namelist()) == {"audit-trail.csv", "audit-trail.xlsx", "manifest.json"}
    manifest = json.loads(archive.read("manifest.json"))
    for entry in manifest["files"]:
        data = archive.read(entry["name"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes"]
    assert manifest["filters"] == {"entity": "units"}
    assert manifest["rows"] == 2
    assert manifest["generated_by"] == auditor.user.email

    rows = list(
        csv.reader(io.StringIO(archive.read("audit-trail.csv").decode("utf-8-sig")), delimiter=";")
    )
    header, body = rows[0], rows[1:]
    assert len(body) == 2
    summary = header.index("summary")
    assert body[0][summary] == '\'=HYPERLINK("http://x")'
    sheet = load_workbook(io.BytesIO(archive.read("audit-trail.xlsx"))).active
    cells = [c.value for c in sheet[2]]
    assert cells[summary] == '\'=HYPERLINK("http://x")'
    # The export itself is in the trail, once.
    assert _count(db, action="export", entity_type="audit_events") == 1


def test_the_export_lets_the_chain_be_recomputed(login_as, db):
    from contracts.audit.services import chain_hash

    record("update", entity_type="units", entity_id=3, before={"a": 1}, after={"a": "1,5"})
    Session.commit()
    data = login_as("auditor").get("/audit/trail/export.zip?entity=units").data
    text_ = zipfile.ZipFile(io.BytesIO(data)).read("audit-trail.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text_), delimiter=";"))
    row = rows[-1]
    values = {
        "seq": int(row["seq"]),
        "occurred_at": row["occurred_at_utc"],
        "actor_id": int(row["actor_id"]) if row["actor_id"] else None,
        "actor_label": row["actor"],
        "ip": row["ip"] or None,
        "action": row["action"],
        "entity_type": row["entity_type"],
        "entity_id": int(row["entity_id"]) if row["entity_id"] else None,
        "contract_id": int(row["contract_id"]) if row["contract_id"] else None,
        "summary": row["summary"] or None,
        "before": json.loads(row["before"]) if row["before"] else None,
        "after": json.loads(row["after"]) if row["after"] else None,
    }
    assert chain_hash(row["prev_hash"], values) == row["hash"]


def test_the_verify_page_and_verify_now(login_as, db):
    auditor = login_as("auditor")
    page = auditor.get("/audit/verify")
    assert page.status_code == 200
    assert 'id="verify-now"' in page.text and 'id="nightly-none"' in page.text
    events = _count(db)
    response = auditor.post("/audit/verify")
    assert response.status_code == 302
    assert _count(db) == events + 1  # only the verification itself
    assert _count(db, action="audit_verify") == 1
    shown = auditor.get("/audit/verify").text
    assert 'id="verify-now-result" data-ok="1"' in shown


def test_verify_now_names_the_first_broken_event(login_as, db):
    made = [record("update", entity_type="units", entity_id=i) for i in range(3)]
    Session.commit()
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    else:
        db.execute(text("DROP TRIGGER audit_events_no_update"))
    db.execute(
        update(AuditEvent.__table__)
        .where(AuditEvent.__table__.c.seq == made[1].seq)
        .values(summary="endret")
    )
    auditor = login_as("auditor")
    auditor.post("/audit/verify")
    shown = auditor.get("/audit/verify").text
    assert f'data-first-bad-seq="{made[1].seq}" data-reason="edited"' in shown


def test_the_verify_page_shows_the_nightly_run_and_checkpoints(
    app, login_as, db, tmp_path, monkeypatch
):
    key = tmp_path / "audit.pem"
    public_key = checkpoints.keygen(key)
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", str(key))
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "cps"))
    record("update", entity_type="units", entity_id=1)
    Session.commit()
    assert registry.run_job("audit-verify")["ok"]
    made = registry.run_job("audit-checkpoint")
    assert made["ok"], made
    seq = made["result"]["seq"]
    auditor = login_as("auditor")
    page = auditor.get("/audit/verify").text
    assert 'id="nightly-result" data-ok="1"' in page
    assert f'<tr data-seq="{seq}">' in page
    assert public_key in page
    download = auditor.get(f"/audit/checkpoint.json?seq={seq}")
    assert download.status_code == 200
    body = json.loads(download.data)
    assert body["checkpoint"]["seq"] == seq and body["public_key"] == public_key
    assert auditor.get("/audit/checkpoint.json?seq=999999").status_code == 404
    assert auditor.get("/audit/checkpoint.json?seq=../x").status_code == 404


def test_without_a_key_the_page_says_how_to_make_one(app, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", "")
    page = login_as("admin").get("/audit/verify").text
    assert 'id="no-signing-key"' in page and "audit keygen" in page


@pytest.mark.parametrize("role", ["procurement", "owner"])
def test_only_admins_and_auditors_see_the_trail(login_as, role):
    client = login_as(role)
    for path in ("/audit/trail", "/audit/verify", "/audit/trail/export.zip"):
        assert client.get(path).status_code == 403
    assert client.post("/audit/verify").status_code == 403
    assert 'id="nav-audit"' not in client.get("/").text


def test_the_menu_links_the_trail_for_auditors(login_as):
    assert 'id="nav-audit"' in login_as("auditor").get("/").text
    assert 'id="nav-audit"' in login_as("admin").get("/").text


def test_auditors_change_nothing_on_the_trail_pages(app, login_as, db):
    """Every POST on these pages is read-only: it adds at most its own audit event."""
    auditor = login_as("auditor")
    posts = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint
        in {
            "integrity.trail",
            "integrity.trail_verify",
            "integrity.trail_export",
            "integrity.trail_verify_now",
            "integrity.checkpoint_download",
        }
        and "POST" in rule.methods
    ]
    assert [rule.endpoint for rule in posts] == ["integrity.trail_verify_now"]
    newest = db.scalar(select(func.max(AuditEvent.seq))) or 0
    auditor.post("/audit/verify")
    added = db.scalars(select(AuditEvent.action).where(AuditEvent.seq > newest)).all()
    assert added == ["audit_verify"]
