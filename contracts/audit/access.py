"""Access events in the trail: logins, logouts, exports, views of confidential contracts
and refused authorisations. Each is committed at once, also when the request fails."""

from __future__ import annotations

import logging
from typing import Any

from flask import request
from flask_login import current_user

from contracts.audit.services import record
from contracts.db import Session

log = logging.getLogger(__name__)

LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGIN_THROTTLED = "login_throttled"
LOGOUT = "logout"
EXPORT = "export"
VIEW_CONFIDENTIAL = "view_confidential"
ACCESS_REFUSED = "access_refused"


def _where() -> str:
    return f"{request.method} {request.path}"[:300]


def record_now(action: str, **fields: Any) -> None:
    """Append one access event and commit it; a failure is logged, never raised (the user's
    answer must not turn into an error page because the trail could not be written)."""
    try:
        record(action, **fields)
        Session.commit()
    except Exception:
        log.exception("could not record the access event %s", action)
        Session.rollback()


def record_refusal(status: int = 403) -> None:
    """A refused request by a logged-in user (anonymous visitors are sent to the login
    page or refused before any user is known, and are not recorded: they would let anyone
    fill the trail). Call after the failed work was rolled back."""
    if not getattr(current_user, "is_authenticated", False):
        return
    record_now(
        ACCESS_REFUSED,
        entity_type="app",
        summary=_where(),
        after={
            "method": request.method,
            "path": request.path[:200],
            "endpoint": request.endpoint,
            "status": status,
        },
    )


def record_confidential_view(contract_id: int) -> None:
    """A page or answer about a confidential contract was shown."""
    record_now(
        VIEW_CONFIDENTIAL,
        entity_type="contracts",
        entity_id=contract_id,
        summary=_where(),
        after={"path": request.path[:200], "endpoint": request.endpoint},
    )


def hidden_contract_id() -> int | None:
    """On a 404: the confidential contract the URL names, if it exists (the user was
    refused it rather than it missing)."""
    from contracts.register.models import Contract

    contract_id = (request.view_args or {}).get("contract_id")
    if not isinstance(contract_id, int):
        return None
    contract = Session.get(Contract, contract_id)
    if contract is None or not contract.is_confidential or contract.deleted_at is not None:
        return None
    return contract_id
