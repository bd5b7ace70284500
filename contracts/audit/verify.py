"""Verify the audit chain: recompute every hash in sequence order and name the first break.

The chain is read with a streaming cursor a batch at a time, so millions of events take
constant memory. Signed checkpoints (contracts/audit/checkpoints.py) add what the chain
alone cannot prove: that it was not rewritten (hashes recomputed after an edit) or cut
short after the checkpoint was made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from contracts.audit.models import GENESIS_HASH, AuditEvent
from contracts.audit.services import chain_hash

if TYPE_CHECKING:
    from contracts.audit.checkpoints import Checkpoint

BATCH = 2000
# How much later than its checkpoint an event at the checkpoint's seq may claim to have
# happened: clocks of the web machines and the scheduler's machine differ a little.
CLOCK_SKEW = timedelta(minutes=5)

# Why the chain breaks (Result.reason); the message says the details.
EDITED = "edited"  # the event's hash does not match its content
DELETED = "deleted"  # a gap in the sequence numbers
INSERTED = "inserted"  # the event follows a hash that is on no event
REORDERED = "reordered"  # the event follows another event than the one before it
FORKED = "forked"  # two events follow the same event
GENESIS = "genesis"  # the first event does not start from the genesis hash
REWRITTEN = "rewritten"  # the chain differs from a signed checkpoint at its seq
TRUNCATED = "truncated"  # the chain ends before a signed checkpoint's seq
BAD_CHECKPOINT = "bad_checkpoint"  # a checkpoint file whose signature does not verify


@dataclass
class Result:
    """The outcome of a verification: ok, how many events, the head hash, and the first break."""

    ok: bool
    count: int
    head: str
    first_bad_seq: int | None = None
    reason: str | None = None
    message: str = ""
    checkpoints: int = 0  # how many signed checkpoints were checked against the chain
    checked_at: str = ""
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """One line for the command line and the job log."""
        if self.ok:
            extra = f", {self.checkpoints} checkpoints" if self.checkpoints else ""
            return f"OK: {self.count} events, head {self.head}{extra}"
        return f"BROKEN at seq {self.first_bad_seq} ({self.reason}): {self.message}"


def _rows(session: OrmSession, after_seq: int) -> Iterable[Any]:
    table = AuditEvent.__table__
    query = (
        select(table)
        .where(table.c.seq > after_seq)
        .order_by(table.c.seq)
        .execution_options(yield_per=BATCH)  # a server-side cursor on PostgreSQL
    )
    return session.execute(query)


def _seq_of(session: OrmSession, column: Any, value: str, not_seq: int) -> int | None:
    return session.scalar(
        select(AuditEvent.seq).where(column == value, AuditEvent.seq != not_seq).limit(1)
    )


def _broken_link(session: OrmSession, row: Any, expected_prev: str) -> tuple[str, str]:
    """Why an event does not follow the one before it (two indexed look-ups, once)."""
    seq = row.seq
    if seq == 1:
        return GENESIS, f"event 1 does not start from the genesis hash ({GENESIS_HASH[:8]}…)"
    twin = _seq_of(session, AuditEvent.prev_hash, row.prev_hash, seq)
    if twin is not None:
        return FORKED, f"events {seq} and {twin} both claim to follow the same event"
    source = _seq_of(session, AuditEvent.hash, row.prev_hash, seq)
    if source is not None:
        return REORDERED, f"event {seq} follows event {source} instead of event {seq - 1}"
    return INSERTED, (
        f"event {seq} follows a hash that is on no event (expected {expected_prev[:12]}…, "
        f"found {str(row.prev_hash)[:12]}…): an event was inserted or replaced"
    )


def verify_chain(
    session: OrmSession,
    checkpoints: Iterable[Checkpoint] = (),
    *,
    start: tuple[int, str] | None = None,
    now: Callable[[], datetime] | None = None,
) -> Result:
    """Recompute the chain in seq order and check it against the signed checkpoints.

    `start` = (seq, hash) trusts the chain up to that event (a verified checkpoint) and
    checks only what follows, for the nightly checkpoint.
    """
    from contracts.db import utcnow

    stamp = (now or utcnow)().isoformat()
    by_seq = {cp.seq: cp for cp in checkpoints}
    prev_seq, prev_hash = start or (0, GENESIS_HASH)
    count = prev_seq
    checked = 0

    def broken(seq: int, reason: str, message: str) -> Result:
        return Result(False, count, prev_hash, seq, reason, message, checked, stamp)

    for row in _rows(session, prev_seq):
        seq = row.seq
        if seq != prev_seq + 1:
            missing = prev_seq + 1
            gap = f"{missing}" if seq == missing + 1 else f"{missing}–{seq - 1}"
            return broken(missing, DELETED, f"event {gap} is missing (the next one is {seq})")
        if row.prev_hash != prev_hash:
            reason, message = _broken_link(session, row, prev_hash)
            return broken(seq, reason, message)
        if chain_hash(row.prev_hash, row._mapping) != row.hash:
            return broken(seq, EDITED, f"event {seq} was changed after it was recorded")
        prev_seq, prev_hash, count = seq, row.hash, count + 1
        if (cp := by_seq.get(seq)) is not None:
            checked += 1
            if cp.head_hash != row.hash or cp.count != count:
                return broken(
                    seq,
                    REWRITTEN,
                    f"the chain at event {seq} is not the one signed in checkpoint "
                    f"{cp.created_at}: the events up to {seq} were rewritten",
                )
            if row.occurred_at > cp.created_at_time + CLOCK_SKEW:
                return broken(
                    seq,
                    REWRITTEN,
                    f"event {seq} claims a time after the checkpoint that signed it",
                )
    beyond = [cp for cp in by_seq.values() if cp.seq > prev_seq]
    if beyond:
        last = max(beyond, key=lambda cp: cp.seq)
        gone = (
            f"event {last.seq} was"
            if last.seq == prev_seq + 1
            else f"events {prev_seq + 1}–{last.seq} were"
        )
        return broken(
            prev_seq + 1,
            TRUNCATED,
            f"the chain ends at event {prev_seq}, but checkpoint {last.created_at} signed "
            f"{last.seq} events: {gone} removed",
        )
    return Result(True, count, prev_hash, checkpoints=checked, checked_at=stamp)


# --- the last scheduled verification, for the pages ------------------------------------

# Set by the jobs package (jobs/hooks.py), which keeps the runs: () -> dict or None.
_last_run_source: list[Callable[[], dict[str, Any] | None]] = []


def set_last_run_source(source: Callable[[], dict[str, Any] | None]) -> None:
    """Say where the last scheduled verification can be read (connecting twice is harmless)."""
    _last_run_source[:] = [source]


def last_scheduled_run() -> dict[str, Any] | None:
    """The last nightly verification: {"at", "ok", "result" or "error"}, or None."""
    return _last_run_source[0]() if _last_run_source else None
