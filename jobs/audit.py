"""The audit trail's nightly jobs: verify the chain, then sign a checkpoint of its head."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app

from contracts.audit import checkpoints
from contracts.audit.verify import Result
from contracts.db import Session, utcnow
from jobs.models import JobRun

VERIFY_JOB = "audit-verify"


class ChainBroken(Exception):
    """The audit chain does not verify; the message names the first broken seq."""


def verify(today: date) -> dict[str, Any]:
    """Verify the whole chain against the signed checkpoints; a break fails the job (and
    shows in /healthz and on /audit/verify)."""
    directory = checkpoints.checkpoint_dir()
    trusted = checkpoints.trusted_public_key()
    result: Result = checkpoints.verify_with_checkpoints(
        Session(), directory if directory.is_dir() else None, trusted
    )
    Session.rollback()  # only read
    if not result.ok:
        raise ChainBroken(result.line() if result.first_bad_seq else result.message)
    return result.as_dict()


def checkpoint(today: date) -> dict[str, Any]:
    """Sign the chain's head into AUDIT_CHECKPOINT_DIR (fails, saying how to make a key,
    while AUDIT_SIGNING_KEY is not set)."""
    try:
        made, path, written = checkpoints.make_checkpoint(Session(), utcnow())
    finally:
        Session.rollback()  # only read
    return {
        "seq": made.seq,
        "head_hash": made.head_hash,
        "created_at": made.created_at,
        "file": path.name,
        "written": written,
        "directory": str(current_app.config["AUDIT_CHECKPOINT_DIR"]),
    }


def last_verification() -> dict[str, Any] | None:
    """The last nightly verification for the trail pages: its time, outcome and result."""
    run = Session.get(JobRun, VERIFY_JOB)
    if run is None or (run.last_success_at is None and run.last_error_at is None):
        return None
    failed = run.last_error_at is not None and (
        run.last_success_at is None or run.last_error_at > run.last_success_at
    )
    if failed:
        return {"at": run.last_error_at, "ok": False, "error": run.last_error}
    return {"at": run.last_success_at, "ok": True, "result": run.last_result or {}}
