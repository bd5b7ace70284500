"""Import jobs: the import runs as a job with a progress bar, a summary and an audit trail.

Most tests run the job inside the request (IMPORT_IN_BACKGROUND off: the tests share one
connection). test_the_import_goes_on_in_the_background runs the real thread against a
database of its own, because the job commits.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select

from contracts.audit.models import AuditEvent
from contracts.db import Session, utcnow
from contracts.dbcli import alembic_config, scratch_postgresql_database
from contracts.exchange import importer, jobs, uploads
from contracts.exchange.headers import find_header_row
from contracts.exchange.models import ImportJob, JobStatus
from contracts.exchange.reading import read_rows
from contracts.register.models import Contract
from tests import factories

DATA = Path(__file__).parent / "data"
OPPVEKST = "kontrakter_oppvekst_cp1252.csv"


def _count() -> int:
    return Session.scalar(select(func.count()).select_from(Contract))


def _queue(user, **options) -> ImportJob:
    """A job as the preview page queues it, for the file in tests/data."""
    data = (DATA / OPPVEKST).read_bytes()
    rows = read_rows(data, OPPVEKST)
    job = jobs.create(
        token=uploads.keep(data, OPPVEKST, user.id),
        filename=OPPVEKST,
        sheet=None,
        header=find_header_row(rows),
        options={"create_missing": True, "update_existing": False, "all_or_nothing": False}
        | options,
        user_id=user.id,
        ip="10.0.0.7",
    )
    Session.commit()
    return job


def _import_from_page(client) -> str:
    response = client.post(
        "/contracts/import",
        data={"file": (io.BytesIO((DATA / OPPVEKST).read_bytes()), OPPVEKST)},
        content_type="multipart/form-data",
    )
    location = response.location
    page = client.get(location).text
    columns = dict(re.findall(r'name="(col-\d+)">.*?<option value="([^"]*)" selected>', page, re.S))
    done = client.post(location, data={**columns, "create_missing": "y", "action": "import"})
    assert done.status_code == 302, done.text
    return done.location


def test_import_from_the_page_ends_on_the_job_summary(login_as):
    client = login_as("procurement")
    job_url = _import_from_page(client)
    assert re.fullmatch(r"/contracts/import/jobs/\d+", job_url)
    page = client.get(job_url)
    assert page.status_code == 200
    assert "Ferdig" in page.text
    assert re.search(r'id="job-created"><span class="app-tile__num">3<', page.text)
    assert re.search(r'id="job-rejected"><span class="app-tile__num">2<', page.text)
    assert "<progress" not in page.text  # finished: no bar, no polling
    state = client.get(job_url + "/status.json").get_json()
    assert state["finished"] is True and state["status"] == "done" and state["percent"] == 100
    assert _count() == 3
    # The upload page lists the import.
    assert OPPVEKST in client.get("/contracts/import").text


def test_every_change_of_a_job_is_audited_and_names_its_user(login_as):
    client = login_as("procurement")
    job = _queue(client.user)
    jobs.run(job.id)
    Session.expire_all()
    job = Session.get(ImportJob, job.id)
    assert job.status == JobStatus.DONE and (job.created, job.rejected) == (3, 2)
    first = Session.scalar(
        select(func.min(AuditEvent.seq)).where(
            AuditEvent.entity_type == "import_jobs", AuditEvent.entity_id == job.id
        )
    )
    events = Session.scalars(
        select(AuditEvent).where(AuditEvent.seq >= first).order_by(AuditEvent.seq)
    ).all()
    assert events[0].action == "create" and events[0].entity_type == "import_jobs"
    assert events[-1].action == "import" and f"import #{job.id}" in events[-1].summary
    contract_events = [e for e in events if e.entity_type == "contracts"]
    assert len(contract_events) == 3
    # Work done in the job is the user's, from the address that asked for it (the job was
    # queued here outside a request, so its own first event is the system's).
    assert {(e.actor_id, e.actor_label, e.ip) for e in events[1:]} == {
        (client.user.id, client.user.email, "10.0.0.7")
    }
    assert all(f"import #{job.id} {OPPVEKST}, rad" in e.summary for e in contract_events)


def test_a_finished_job_run_again_changes_nothing(login_as):
    job = _queue(login_as("procurement").user)
    jobs.run(job.id)
    before = (_count(), Session.scalar(select(func.count()).select_from(AuditEvent)))
    jobs.run(job.id)
    assert (_count(), Session.scalar(select(func.count()).select_from(AuditEvent))) == before


def test_all_or_nothing_job_with_rejected_rows_imports_nothing(login_as):
    client = login_as("procurement")
    job = _queue(client.user, all_or_nothing=True)
    jobs.run(job.id)
    Session.expire_all()
    assert Session.get(ImportJob, job.id).status == JobStatus.REFUSED
    assert _count() == 0
    page = client.get(f"/contracts/import/jobs/{job.id}").text
    assert "ingenting ble importert" in page
    assert "Tilbake til kontrollen av filen" in page  # the upload is kept to try again


def test_an_error_during_the_import_leaves_nothing_behind(login_as, monkeypatch):
    client = login_as("procurement")
    job = _queue(client.user)
    real_apply = importer.apply

    def apply_then_fail(plan, options):
        real_apply(plan, options)  # every row written, then the process trips
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "apply", apply_then_fail)
    jobs.run(job.id)
    Session.expire_all()
    job = Session.get(ImportJob, job.id)
    assert job.status == JobStatus.FAILED
    assert "Ingenting ble importert" in client.get(f"/contracts/import/jobs/{job.id}").text
    assert _count() == 0
    assert jobs.progress(job.id) is None


def test_a_job_whose_upload_is_gone_fails_with_a_clear_message(login_as):
    client = login_as("procurement")
    job = _queue(client.user)
    uploads.forget(job.upload_token)
    jobs.run(job.id)
    page = client.get(f"/contracts/import/jobs/{job.id}").text
    assert "Filen du lastet opp finnes ikke lenger" in page


def test_the_page_shows_the_progress_of_a_running_job(login_as):
    client = login_as("procurement")
    job = factories.make_import_job(
        status=JobStatus.RUNNING, started_at=utcnow(), created=None, rows=None, user_id=None
    )
    jobs.ProgressFile(job.id)("writing", 500, 1000, force=True)
    state = client.get(f"/contracts/import/jobs/{job.id}/status.json").get_json()
    assert state == {
        "status": "running",
        "label": "Pågår",
        "finished": False,
        "phase": "Lagrer kontraktene",
        "done": 500,
        "total": 1000,
        "percent": 75,
    }
    page = client.get(f"/contracts/import/jobs/{job.id}").text
    assert re.search(r'<progress id="job-progress"[^>]* value="75"', page)
    assert "Lagrer kontraktene: 500 / 1000" in page
    assert "data-job-status=" in page  # the script polls while it runs


def test_a_job_whose_process_died_is_reported_as_failed(login_as):
    client = login_as("procurement")
    started = utcnow() - timedelta(seconds=jobs.STALE_AFTER + 60)
    job = factories.make_import_job(
        status=JobStatus.RUNNING, started_at=started, created_at=started, created=None
    )
    last = {"phase": "checking", "done": 10, "total": 100, "at": started.timestamp()}
    (uploads.folder() / f"job-{job.id}.progress.json").write_text(json.dumps(last))
    page = client.get(f"/contracts/import/jobs/{job.id}").text
    assert "serveren startet på nytt" in page
    Session.expire_all()
    assert Session.get(ImportJob, job.id).status == JobStatus.FAILED


def test_a_job_that_is_still_moving_is_not_called_dead(login_as):
    client = login_as("procurement")
    started = utcnow() - timedelta(seconds=jobs.STALE_AFTER + 60)
    job = factories.make_import_job(status=JobStatus.RUNNING, started_at=started, created=None)
    jobs.ProgressFile(job.id)("writing", 10, 100, force=True)  # written just now
    client.get(f"/contracts/import/jobs/{job.id}")
    Session.expire_all()
    assert Session.get(ImportJob, job.id).status == JobStatus.RUNNING


def test_unknown_job_is_404(login_as):
    assert login_as("procurement").get("/contracts/import/jobs/999999").status_code == 404


# --- the real background thread ----------------------------------------------------------


@pytest.fixture
def own_database(tmp_path):
    """A database of its own, on the engine the suite runs on, for work that commits."""
    base = os.environ.get("TEST_DATABASE_URL")
    with contextlib.ExitStack() as stack:
        if base:
            url = stack.enter_context(scratch_postgresql_database(base, "kr_jobs"))
        else:
            url = f"sqlite:///{tmp_path / 'jobs.db'}"
        command.upgrade(alembic_config(url), "head")
        yield url


def test_the_import_goes_on_in_the_background(own_database, tmp_path, app):
    from wsgi import create_app

    background = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": own_database,
            "SECRET_KEY": "background",
            "WTF_CSRF_ENABLED": False,
            "IMPORT_IN_BACKGROUND": True,
        }
    )
    background.instance_path = str(tmp_path / "instance")
    engine = background.extensions["engine"]
    Session.remove()
    Session.configure(bind=engine)
    try:
        client = background.test_client()
        with background.app_context():
            user = factories.make_user(role="procurement")
            factories.log_in(client, user)
            Session.commit()
            Session.remove()
        # Each request now gets its own app context and session, as in production.
        job_url = _import_from_page(client)
        deadline = time.monotonic() + 60
        state = client.get(job_url + "/status.json").get_json()
        while not state["finished"] and time.monotonic() < deadline:
            time.sleep(0.1)
            state = client.get(job_url + "/status.json").get_json()
        assert state["status"] == "done", state
        with background.app_context():
            assert _count() == 3
            Session.remove()
    finally:
        Session.remove()
        engine.dispose()
