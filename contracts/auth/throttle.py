"""Login throttling kept in the database, so the limit holds across gunicorn workers and
machines: at most LOGIN_MAX_FAILURES failed attempts per account and per IP address within
LOGIN_FAILURE_WINDOW_MINUTES. Services flush, never commit.

An account's count starts again after a successful login; an address's does not (or an
attacker could reset it with an account of their own). Refused attempts are not counted,
so the wait ends one window after the last real failure rather than growing forever.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from contracts.auth.models import LoginAttempt
from contracts.db import Session, utcnow

# Attempt rows are only needed for the window; older ones are removed as new ones arrive.
KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Block:
    """Why and for how long further attempts are refused."""

    by: str  # "account" or "ip"
    until: datetime

    @property
    def minutes_left(self) -> int:
        return max(1, math.ceil((self.until - utcnow()).total_seconds() / 60))


def _limits() -> tuple[int, timedelta]:
    config = current_app.config
    return (
        int(config["LOGIN_MAX_FAILURES"]),
        timedelta(minutes=float(config["LOGIN_FAILURE_WINDOW_MINUTES"])),
    )


def _key(email: str) -> str:
    return (email or "").strip().lower()[:254]


def _block_from(failures: list[datetime], limit: int, window: timedelta, by: str) -> Block | None:
    if len(failures) < limit:
        return None
    # The oldest of the last `limit` failures leaves the window first.
    return Block(by=by, until=sorted(failures)[-limit] + window)


def check(email: str, ip: str) -> Block | None:
    """A Block when this account or address has used up its failed attempts, else None."""
    limit, window = _limits()
    since = utcnow() - window
    email = _key(email)
    last_success = Session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(True)
        )
    )
    account_since = max(since, last_success) if last_success else since
    account_failures = Session.scalars(
        select(LoginAttempt.at)
        .where(
            LoginAttempt.email == email,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at > account_since,
        )
        .order_by(LoginAttempt.at.desc())
        .limit(limit)
    ).all()
    if block := _block_from(list(account_failures), limit, window, "account"):
        return block
    ip_failures = Session.scalars(
        select(LoginAttempt.at)
        .where(LoginAttempt.ip == ip, LoginAttempt.succeeded.is_(False), LoginAttempt.at > since)
        .order_by(LoginAttempt.at.desc())
        .limit(limit)
    ).all()
    return _block_from(list(ip_failures), limit, window, "ip")


def record(email: str, ip: str, *, succeeded: bool) -> None:
    """Count one attempt (and forget attempts older than a day)."""
    now = utcnow()
    Session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP))
    Session.add(LoginAttempt(at=now, email=_key(email), ip=ip[:45], succeeded=succeeded))
    Session.flush()


def forget_account(email: str) -> None:
    """Clear an account's failed attempts: an administrator has set a new password, which
    is the way out of a lock-out the message promises."""
    Session.execute(
        delete(LoginAttempt).where(
            LoginAttempt.email == _key(email), LoginAttempt.succeeded.is_(False)
        )
    )
