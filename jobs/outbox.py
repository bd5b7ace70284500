"""The mail outbox: messages are enqueued in the transaction that decides them, and the
sender job delivers them over SMTP, each exactly once, retrying what may succeed later.

A message is claimed before it is sent (status "sending" with a lease, committed), so two
senders never take the same row: on PostgreSQL with ``SELECT ... FOR UPDATE SKIP LOCKED``,
on SQLite (one writer at a time) with one guarded ``UPDATE``. A sender that dies while
holding a claim loses it when the lease runs out, and the message is sent by the next run.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from contracts.audit.services import record_update, snapshot
from contracts.db import Session, utcnow
from jobs.models import OutboxMessage, OutboxStatus
from jobs.smtp import (
    DeliveryError,
    InvalidMessage,
    Mailer,
    SmtpSettings,
    build_message,
    check_address,
    check_sender,
    clean_header_text,
    domain_of,
)

# How long a claim holds: a sender renews it when a batch takes half of it.
CLAIM_LEASE = timedelta(minutes=5)
BACKOFF_BASE = timedelta(seconds=60)
BACKOFF_CAP = timedelta(hours=6)
BACKOFF_JITTER = 0.2
DEFAULT_MAX_ATTEMPTS = 8
ERROR_MAX = 500  # the columns' lengths
KEY_MAX = 250
_ORDER = (
    OutboxMessage.due_date.asc().nulls_last(),
    OutboxMessage.created_at,
    OutboxMessage.id,
)


def message_id_for(key: str, mail_from: str) -> str:
    """The Message-ID of the message with this key: the same key always gives the same id."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain_of(mail_from)}>"


def enqueue(
    *,
    key: str,
    to_address: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    user_id: int | None = None,
    due_date: date | None = None,
) -> OutboxMessage:
    """Add a message unless one with this key exists (then return that one, unchanged).

    Runs in the caller's transaction: flushes, never commits. A concurrent insert of the
    same key is caught in a savepoint. A recipient address that can never be used gives a
    message that is dead from the start, so the mistake shows on the outbox page.
    """
    stored = stored_key(key)
    existing = _by_key(stored)
    if existing is not None:
        return existing
    message = OutboxMessage(
        key=stored,
        user_id=user_id,
        to_address=to_address.strip()[:254],
        subject=clean_header_text(subject),
        body_text=body_text.replace("\x00", ""),
        body_html=body_html.replace("\x00", "") if body_html else None,
        due_date=due_date,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
        message_id=message_id_for(key, current_app.config["MAIL_FROM"]),
    )
    try:
        check_address(to_address)
    except InvalidMessage as refused:
        message.status = OutboxStatus.DEAD
        message.last_error = _error(refused)
    try:
        with Session.begin_nested():
            Session.add(message)
    except IntegrityError:
        # Someone else enqueued the same key since we looked: theirs stands.
        existing = _by_key(stored)
        if existing is None:
            raise
        return existing
    return message


def stored_key(key: str) -> str:
    """The key as the outbox stores it: itself, or its hash when longer than the column."""
    if not key:
        raise ValueError("an outbox message needs a key")
    if len(key) <= KEY_MAX:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def find(key: str) -> OutboxMessage | None:
    """The message enqueued with this key, if any."""
    return _by_key(stored_key(key))


def _by_key(key: str) -> OutboxMessage | None:
    return Session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))


def backoff(attempts: int) -> timedelta:
    """How long to wait after the attempts so far failed: doubling from a minute, at most
    six hours, give or take a fifth so that many failed messages do not return at once."""
    exponent = min(max(attempts - 1, 0), 30)
    delay = min(BACKOFF_BASE * 2**exponent, BACKOFF_CAP)
    jitter = random.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)  # noqa: S311 (not crypto)
    return delay * jitter


def _due(now: datetime) -> ColumnElement[bool]:
    """Rows a sender may claim: new or resent ones, retries whose wait is over, and claims
    of a sender that stopped (lease run out).

    New messages are due at once whatever `now` says, so a job run "as if it were" an
    earlier day still sends what it enqueued.
    """
    return or_(
        and_(
            OutboxMessage.status == OutboxStatus.PENDING,
            or_(OutboxMessage.attempts == 0, OutboxMessage.next_attempt_at <= now),
        ),
        and_(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_until < now,
        ),
    )


def _bury_abandoned(now: datetime, max_attempts: int) -> int:
    """Messages whose sender stopped while sending them too many times are dead: sending
    them again may be what stops the sender."""
    result = Session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_until < now,
            OutboxMessage.attempts >= max_attempts,
        )
        .values(
            status=OutboxStatus.DEAD,
            claimed_until=None,
            last_error=_error(
                _("The sender stopped while sending this message %(n)d times.", n=max_attempts)
            ),
        )
        .execution_options(synchronize_session=False)
    )
    Session.commit()
    return result.rowcount or 0


def _claim(now: datetime, limit: int) -> tuple[list[int], datetime]:
    """Claim up to `limit` due rows for this sender and commit: (their ids, the lease)."""
    lease = max(now, utcnow()) + CLAIM_LEASE
    values: dict[str, Any] = {
        "status": OutboxStatus.SENDING,
        "claimed_until": lease,
        # Counted when claimed, so a message that makes its sender die still runs out.
        "attempts": OutboxMessage.attempts + 1,
    }
    if Session.get_bind().dialect.name == "postgresql":
        ids = list(
            Session.scalars(
                select(OutboxMessage.id)
                .where(_due(now))
                .order_by(*_ORDER)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            Session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(values)
                .execution_options(synchronize_session=False)
            )
    else:
        # SQLite has one writer: one UPDATE that picks and marks the rows is atomic, and as
        # the first statement of its transaction it waits for the write lock (busy_timeout)
        # instead of failing on a read snapshot another writer made stale.
        candidates = select(OutboxMessage.id).where(_due(now)).order_by(*_ORDER).limit(limit)
        ids = list(
            Session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(candidates.scalar_subquery()), _due(now))
                .values(values)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            )
        )
    Session.commit()
    return ids, lease


def _load(ids: Sequence[int]) -> list[OutboxMessage]:
    messages = list(
        Session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .order_by(*_ORDER)
            .execution_options(populate_existing=True)
        )
    )
    Session.commit()  # end the read, so each later write starts its own transaction
    return messages


def _renew(ids: Sequence[int], lease: datetime, now: datetime) -> tuple[set[int], datetime]:
    """Extend this sender's claim on the rows it still holds: (the rows held, new lease)."""
    new_lease = max(now, utcnow()) + CLAIM_LEASE
    held = set(
        Session.scalars(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.claimed_until == lease,
            )
            .values(claimed_until=new_lease)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
    )
    Session.commit()
    return held, new_lease


def _record(lease: datetime, outcomes: dict[OutboxMessage, dict[str, Any]]) -> None:
    """Write the outcome of each claimed row that is still this sender's, and commit."""
    for message, values in outcomes.items():
        Session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message.id,
                OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.claimed_until == lease,
            )
            .values(claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )
    Session.commit()


def _error(error: BaseException | str) -> str:
    return str(error)[:ERROR_MAX]


def _dead(error: BaseException | str) -> dict[str, Any]:
    return {"status": OutboxStatus.DEAD, "last_error": _error(error)}


def _failed(message: OutboxMessage, error: str, now: datetime, max_attempts: int) -> dict[str, Any]:
    """A transient failure: try again after the backoff, or give up after the last attempt."""
    if message.attempts >= max_attempts:
        return _dead(_("Gave up after %(n)d attempts: %(error)s", n=message.attempts, error=error))
    return {
        "status": OutboxStatus.PENDING,
        "next_attempt_at": now + backoff(message.attempts),
        "last_error": _error(error),
    }


_COUNTED_AS = {OutboxStatus.SENT: "sent", OutboxStatus.PENDING: "retry", OutboxStatus.DEAD: "dead"}


def _deliver(mailer: Mailer, settings: SmtpSettings, message: OutboxMessage) -> None:
    email, recipient = build_message(
        mail_from=settings.mail_from,
        to_address=message.to_address,
        subject=message.subject,
        body_text=message.body_text,
        body_html=message.body_html,
        message_id=message.message_id,
        date=utcnow(),
    )
    mailer.send(email, recipient)


def send_due(now: datetime, *, limit: int = 100) -> dict[str, int]:
    """The sender job: deliver up to `limit` due messages and commit each outcome.

    `now` is the time the job runs at (timezone-aware); pass a later one to skip waits.
    Without MAIL_SERVER nothing is sent and the messages wait, readable at /admin/outbox.
    Commits what the session holds. Returns {"sent": n, "retry": n, "dead": n}.
    """
    counts = {"sent": 0, "retry": 0, "dead": 0}
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return counts
    settings = SmtpSettings.from_config(config)
    try:
        check_sender(settings.mail_from)
    except InvalidMessage as wrong:
        # A setting to correct, not a fault of the messages: they wait.
        current_app.logger.error("nothing is sent: %s", wrong)
        return counts
    max_attempts = int(config.get("MAIL_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS)
    Session.commit()
    try:
        _send(now, limit, settings, max_attempts, counts)
    finally:
        # The rows were changed behind the session's back (bulk UPDATEs): read them afresh.
        Session.expire_all()
    return counts


def _send(
    now: datetime, limit: int, settings: SmtpSettings, max_attempts: int, counts: dict[str, int]
) -> None:
    counts["dead"] += _bury_abandoned(now, max_attempts)
    ids, lease = _claim(now, limit)
    if not ids:
        return
    messages = _load(ids)
    held = set(ids)
    renew_at = time.monotonic() + CLAIM_LEASE.total_seconds() / 2
    with Mailer(settings) as mailer:
        for index, message in enumerate(messages):
            if time.monotonic() >= renew_at:
                rest = [m.id for m in messages[index:] if m.id in held]
                held, lease = _renew(rest, lease, now)
                renew_at = time.monotonic() + CLAIM_LEASE.total_seconds() / 2
            if message.id not in held:
                continue  # the lease ran out and another sender has it now
            unreachable = False
            try:
                _deliver(mailer, settings, message)
            except InvalidMessage as refused:
                outcomes = {message: _dead(refused)}
            except DeliveryError as failed:
                if failed.permanent:
                    outcomes = {message: _dead(failed)}
                else:
                    # A server that cannot be reached fails the rest of the batch too:
                    # trying each would wait out the timeout again and again.
                    unreachable = failed.connection
                    failing = [message]
                    if unreachable:
                        failing += [m for m in messages[index + 1 :] if m.id in held]
                    outcomes = {m: _failed(m, str(failed), now, max_attempts) for m in failing}
            except Exception as error:  # one broken message must not stop the others
                Session.rollback()
                current_app.logger.exception("outbox message %s could not be sent", message.id)
                outcomes = {message: _failed(message, repr(error), now, max_attempts)}
            else:
                sent = {"status": OutboxStatus.SENT, "sent_at": utcnow(), "last_error": None}
                outcomes = {message: sent}
            _record(lease, outcomes)
            for values in outcomes.values():
                counts[_COUNTED_AS[values["status"]]] += 1
            if unreachable:
                break


def resend(message: OutboxMessage) -> None:
    """Put a sent or dead message back in the queue, due now, and audit it (flushes)."""
    if message.status not in (OutboxStatus.SENT, OutboxStatus.DEAD):
        raise ValueError("only sent and dead messages can be sent again")
    before = snapshot(message)
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.claimed_until = None
    message.sent_at = None
    message.last_error = None
    record_update(message, before, action="resend", summary=f"outbox #{message.id}")


def counts_by_status() -> dict[OutboxStatus, int]:
    """How many messages there are in each status (zero for none)."""
    rows = Session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    return {status: 0 for status in OutboxStatus} | dict(rows)
