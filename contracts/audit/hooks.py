"""What the audit package adds to the app: access events and a /healthz check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, current_app, request
from flask_login import current_user

from contracts.audit import access
from contracts.audit.checkpoints import FILE_NAME
from contracts.db import Session
from contracts.home.health import add_check


def _confidential_view(response):
    """Record a shown page (or API answer) about a confidential contract: any successful
    GET whose URL names it, whoever asks."""
    contract_id = (request.view_args or {}).get("contract_id")
    if (
        request.method != "GET"
        or response.status_code != 200
        or not isinstance(contract_id, int)
        or not getattr(current_user, "is_authenticated", False)
    ):
        return response
    from contracts.register.models import Contract

    contract = Session.get(Contract, contract_id)  # usually already loaded by the view
    if contract is not None and contract.is_confidential:
        access.record_confidential_view(contract_id)
    return response


def health() -> dict[str, Any]:
    """Cheap: whether a signing key is configured and the newest checkpoint's seq (no
    verification here; the nightly job's outcome is in the scheduler's part)."""
    directory = Path(current_app.config["AUDIT_CHECKPOINT_DIR"])
    newest = None
    if directory.is_dir():
        seqs = [int(m.group(1)) for p in directory.iterdir() if (m := FILE_NAME.match(p.name))]
        newest = max(seqs, default=None)
    key = bool(current_app.config.get("AUDIT_SIGNING_KEY"))
    return {"ok": key, "signing_key": key, "latest_checkpoint_seq": newest}


def connect(app: Flask) -> None:
    """Install the access-event hooks and the /healthz check (once per app)."""
    app.after_request(_confidential_view)
    add_check("audit", health)
