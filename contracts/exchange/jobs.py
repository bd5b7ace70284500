"""Running an import job: in a background thread in the web app, so the page can show a
progress bar and the work goes on when the user leaves the page.

The whole import is one transaction, which also sets the job to done: it either imports
every accepted row or nothing. Progress goes to a small file beside the upload, not to
the database, because the import's own transaction holds SQLite's write lock until it
commits. A job whose progress file has not moved for STALE_AFTER seconds died with its
process (a restart, a crash); its transaction never committed, so nothing was imported.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from contracts.audit import services as audit
from contracts.db import Session, utcnow
from contracts.exchange import importer, uploads
from contracts.exchange.headers import HeaderRow
from contracts.exchange.models import ImportJob, JobStatus
from contracts.exchange.reading import FileRefused, read_rows

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.25
STALE_AFTER = 120
PHASES = {
    "queued": _l("Waiting to start"),
    "reading": _l("Reading the file"),
    "checking": _l("Checking the rows"),
    "writing": _l("Saving the contracts"),
}


def _progress_path(job_id: int) -> Path:
    return uploads.folder() / f"job-{job_id}.progress.json"


class ProgressFile:
    """Writes (phase, done, total) for the page to poll, at most every PROGRESS_EVERY_S."""

    def __init__(self, job_id: int) -> None:
        self.path = _progress_path(job_id)
        self.last = 0.0

    def __call__(self, phase: str, done: int, total: int, force: bool = False) -> None:
        now = time.time()
        if not force and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"phase": phase, "done": done, "total": total, "at": now}))
        os.replace(temporary, self.path)  # readers never see half a file

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def progress(job_id: int) -> dict[str, Any] | None:
    """The last progress a running job wrote, or None."""
    try:
        return json.loads(_progress_path(job_id).read_text())
    except (OSError, ValueError):
        return None


def create(
    *,
    token: str,
    filename: str,
    sheet: str | None,
    header: HeaderRow,
    options: dict[str, bool],
    user_id: int,
    ip: str | None,
) -> ImportJob:
    """A queued job for a confirmed upload and mapping (flushes; the caller commits)."""
    job = ImportJob(
        user_id=user_id,
        ip=ip,
        upload_token=token,
        filename=filename[:255],
        sheet=sheet,
        header_row=header.index,
        mapping={str(position): name for position, name in header.columns.items()},
        status=JobStatus.QUEUED,
        **options,
    )
    Session.add(job)
    Session.flush()
    audit.record_create(job, summary=f"{job.source} ({JobStatus.QUEUED.value})")
    ProgressFile(job.id)("queued", 0, 0, force=True)
    return job


def start(job_id: int) -> None:
    """Run the job in a background thread, or right here when the app says so (tests)."""
    app = current_app._get_current_object()
    if not app.config.get("IMPORT_IN_BACKGROUND", True):
        run(job_id)
        return
    thread = threading.Thread(target=_run_in_thread, args=(app, job_id), name=f"import-{job_id}")
    thread.daemon = True  # a stopped server leaves it uncommitted, so nothing half-done
    thread.start()


def _run_in_thread(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            run(job_id)
        finally:
            Session.remove()


def run(job_id: int) -> None:
    """Run a queued job to its end; commits. A job already taken is left alone."""
    claimed = Session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=utcnow())
    ).rowcount
    Session.commit()
    if not claimed:
        return
    job = Session.get(ImportJob, job_id)
    report = ProgressFile(job_id)
    label = job.user.email if job.user else "system"
    try:
        with audit.acting_as(job.user_id, label, job.ip):
            _import(job, report)
        Session.commit()
    except Exception:
        log.exception("import job %s failed", job_id)
        Session.rollback()
        _finish(
            Session.get(ImportJob, job_id),
            JobStatus.FAILED,
            error=str(_l("The import stopped because of an error. Nothing was imported.")),
        )
        Session.commit()
    finally:
        report.remove()


def _import(job: ImportJob, report: ProgressFile) -> None:
    report("reading", 0, 0, force=True)
    stored = uploads.load(job.upload_token, job.user_id)
    if stored is None:
        _finish(job, JobStatus.FAILED, error=str(_l("The uploaded file is gone. Upload it again.")))
        return
    data, _filename = stored
    try:
        rows = read_rows(data, job.filename, job.sheet)
    except FileRefused as refused:
        _finish(job, JobStatus.FAILED, error=str(refused.args[0]))
        return
    columns = {int(position): name for position, name in job.mapping.items()}
    header = HeaderRow(index=job.header_row, columns=columns, unknown=[])
    options = importer.ImportOptions(
        create_missing=job.create_missing,
        update_existing=job.update_existing,
        source=job.source,
        progress=report,
    )
    plan = importer.plan(rows, header, options)
    job.rows = len(plan.rows)
    job.rejected = plan.count(importer.RowStatus.REJECTED)
    if job.all_or_nothing and plan.rejected:
        _finish(job, JobStatus.REFUSED)
        return
    counts = importer.apply(plan, options)
    job.created, job.updated = counts["created"], counts["updated"]
    job.unchanged = counts["unchanged"] + plan.count(importer.RowStatus.UNCHANGED)
    _finish(job, JobStatus.DONE)
    uploads.forget(job.upload_token)


def _finish(job: ImportJob, status: JobStatus, error: str | None = None) -> None:
    before = audit.snapshot(job)
    job.status = status
    job.error = error
    job.finished_at = utcnow()
    Session.flush()
    summary = f"{job.source}: {status.value}"
    if status == JobStatus.DONE:
        summary += f", {job.created} new, {job.updated} updated"
    audit.record_update(job, before, action="import", summary=summary)


def reconcile(job: ImportJob) -> bool:
    """Mark a running job whose process died as failed; True if it changed (caller commits)."""
    if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return False
    last = progress(job.id)
    moved = last["at"] if last else (job.started_at or job.created_at).timestamp()
    if time.time() - moved < STALE_AFTER:
        return False
    _finish(
        job,
        JobStatus.FAILED,
        error=str(
            _l(
                "The import stopped before it was done (the server restarted). "
                "Nothing was imported."
            )
        ),
    )
    _progress_path(job.id).unlink(missing_ok=True)
    return True
