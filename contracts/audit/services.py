"""The one audit service: every change in the app goes through record()."""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import insert, inspect, select, text

from contracts.audit.models import GENESIS_HASH, AuditEvent
from contracts.db import Base, Session, utcnow

# Columns that change on every write and would only add noise to the history.
_IGNORED_COLUMNS = frozenset(
    {"version", "updated_at", "search_text", "end_sort_date", "password_hash"}
)


def _plain(value: Any) -> Any:
    """Turn a column value into JSON-safe text the way the hash chain expects it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        # One text form for every engine: UTC with microseconds.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def audited_keys(model: type[Base]) -> list[str]:
    """The column attributes of a model that the trail records."""
    return [a.key for a in inspect(model).column_attrs if a.key not in _IGNORED_COLUMNS]


def snapshot(obj: Base) -> dict[str, Any]:
    """The audited column values of a model instance."""
    return {key: _plain(getattr(obj, key)) for key in audited_keys(type(obj))}


def snapshot_values(keys: list[str], values: Mapping[str, Any]) -> dict[str, Any]:
    """snapshot() for a row written without the ORM: the same keys, missing ones as None."""
    return {key: _plain(values.get(key)) for key in keys}


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the keys whose values differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def canonical_json(payload: dict[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the form that is hashed."""
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )


HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "ip",
    "action",
    "entity_type",
    "entity_id",
    "contract_id",
    "summary",
    "before",
    "after",
)


def event_payload(event: AuditEvent) -> dict[str, Any]:
    """The fields of an event that its hash covers."""
    return {name: _plain(getattr(event, name)) for name in HASHED_FIELDS}


def chain_hash(prev_hash: str, values: Mapping[str, Any]) -> str:
    """SHA-256 of the previous hash followed by the canonical JSON of the hashed fields."""
    payload = {name: _plain(values.get(name)) for name in HASHED_FIELDS}
    return hashlib.sha256((prev_hash + canonical_json(payload)).encode()).hexdigest()


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    """SHA-256 of the previous hash followed by the event's canonical JSON."""
    return chain_hash(prev_hash, event_payload(event))


# Set while work runs outside the request that asked for it (a background import).
_acting_as: ContextVar[tuple[int | None, str, str | None] | None] = ContextVar(
    "acting_as", default=None
)


@contextmanager
def acting_as(user_id: int | None, label: str, ip: str | None) -> Iterator[None]:
    """Name this user and address in the events recorded inside the block."""
    reset = _acting_as.set((user_id, label, ip))
    try:
        yield
    finally:
        _acting_as.reset(reset)


def _actor() -> tuple[int | None, str]:
    if (acting := _acting_as.get()) is not None:
        return acting[0], acting[1]
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return current_user.id, current_user.email
    return None, "system"


def _client_ip() -> str | None:
    if (acting := _acting_as.get()) is not None:
        return acting[2]
    return request.remote_addr if has_request_context() else None


def _locked_head() -> Any:
    """The newest event's (seq, hash), after taking the append lock for this transaction."""
    session = Session()
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appends so two transactions never chain onto the same head.
        session.execute(text("SELECT pg_advisory_xact_lock(7240001)"))
    return session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()


def record(
    action: str,
    entity: Base | None = None,
    *,
    entity_type: str | None = None,
    entity_id: int | None = None,
    contract_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    summary: str | None = None,
    actor: tuple[int | None, str] | None = None,
) -> AuditEvent:
    """Append one event to the chain in the current transaction (flushes, never commits)."""
    session = Session()
    if entity is not None:
        session.flush()
        entity_type = entity_type or entity.__tablename__
        entity_id = entity_id if entity_id is not None else getattr(entity, "id", None)
    head = _locked_head()
    actor_id, actor_label = actor or _actor()
    event = AuditEvent(
        seq=(head.seq + 1) if head else 1,
        occurred_at=utcnow(),
        actor_id=actor_id,
        actor_label=actor_label,
        ip=_client_ip(),
        action=action,
        entity_type=entity_type or "app",
        entity_id=entity_id,
        contract_id=contract_id,
        summary=summary[:300] if summary else None,
        before=before,
        after=after,
        prev_hash=head.hash if head else GENESIS_HASH,
    )
    event.hash = compute_hash(event.prev_hash, event)
    session.add(event)
    session.flush()
    return event


class ChainAppender:
    """Appends many events with one read of the chain head, for bulk writes (imports).

    The head is kept in memory, so nothing else may append events in the same
    transaction between the first add() and the last flush().
    """

    def __init__(self) -> None:
        head = _locked_head()
        self.seq = head.seq if head else 0
        self.prev_hash = head.hash if head else GENESIS_HASH
        self.actor_id, self.actor_label = _actor()
        self.ip = _client_ip()
        self.pending: list[dict[str, Any]] = []

    def add(
        self,
        action: str,
        entity_type: str,
        entity_id: int | None,
        *,
        contract_id: int | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        summary: str | None = None,
    ) -> None:
        self.seq += 1
        values = {
            "seq": self.seq,
            "occurred_at": utcnow(),
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "ip": self.ip,
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "contract_id": contract_id,
            "summary": summary[:300] if summary else None,
            "before": before,
            "after": after,
            "prev_hash": self.prev_hash,
        }
        values["hash"] = self.prev_hash = chain_hash(self.prev_hash, values)
        self.pending.append(values)

    def flush(self) -> None:
        """Insert the events added so far (in the caller's transaction)."""
        if self.pending:
            Session.execute(insert(AuditEvent.__table__), self.pending)
            self.pending = []


def record_create(entity: Base, **kwargs: Any) -> AuditEvent:
    """Audit the creation of an entity with all its values."""
    Session().flush()
    return record("create", entity, after=snapshot(entity), **kwargs)


def record_update(
    entity: Base,
    before: dict[str, Any],
    *,
    action: str = "update",
    summary: str | None = None,
    **kwargs: Any,
) -> AuditEvent | None:
    """Audit an update with only the changed values; nothing when nothing changed."""
    Session().flush()
    old, new = diff(before, snapshot(entity))
    if not new and summary is None:
        return None
    return record(action, entity, before=old, after=new, summary=summary, **kwargs)


def record_delete(entity: Base, **kwargs: Any) -> AuditEvent:
    """Audit the (hard) deletion of an entity with its last values."""
    return record("delete", entity, before=snapshot(entity), **kwargs)


def history_for_contract(contract_id: int) -> list[AuditEvent]:
    """Every event about a contract and its options and amendments, newest first."""
    return list(
        Session.scalars(
            select(AuditEvent)
            .where(AuditEvent.contract_id == contract_id)
            .order_by(AuditEvent.seq.desc())
        )
    )
