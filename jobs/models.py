"""The clock's tables: reminders decided, the mail outbox, snoozes, settings, job runs."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.auth.models import User
from contracts.db import Base, Email, UTCDateTime, str_enum, utcnow


class ReminderKind(enum.StrEnum):
    EXPIRY = "expiry"  # the contract's current end
    OPTION_DEADLINE = "option_deadline"  # the next undecided option's exercise deadline
    NOTICE_DEADLINE = "notice_deadline"  # the last day to give notice
    PRICE_ADJUSTMENT = "price_adjustment"  # the 1st of the price-adjustment month
    ACTIVITY_DUE = "activity_due"  # a follow-up activity coming due
    ACTIVITY_OVERDUE = "activity_overdue"  # … and past its date
    ACTIVITY_ESCALATED = "activity_escalated"  # overdue for long: the office and the unit
    MISSING_PLAN = "missing_plan"  # an active contract in a critical category, no plan
    GAINS_TO_CONFIRM = "gains_to_confirm"  # an estimated gain entry the owner should confirm
    QUALITATIVE_GAINS = "qualitative_gains"  # a year ended: document its qualitative gains
    DECLARATION_DUE = "declaration_due"  # the person has yet to declare impartiality


class Reminder(Base):
    """One reminder decided for one recipient: what, about which thing, due when, at which
    lead. The key makes deciding it again a no-op, so the job is idempotent."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_pending", "outbox_id", "to_address"),
        Index("ix_reminders_subject", "kind", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(250), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    to_address: Mapped[str] = mapped_column(Email)
    kind: Mapped[ReminderKind] = mapped_column(str_enum(ReminderKind, "reminder_kind"))
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    lead_days: Mapped[int] = mapped_column(Integer)
    decided_on: Mapped[date] = mapped_column(Date)
    # The digest or instant message that carried it; None while waiting for one.
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting to be sent (again, after next_attempt_at)
    SENDING = "sending"  # claimed by a sender until claimed_until
    SENT = "sent"
    DEAD = "dead"  # a permanent failure, or too many attempts


class OutboxMessage(Base):
    """An e-mail to send, written in the transaction that decided it (transactional
    outbox); the sender job delivers it. The key makes enqueueing it again a no-op."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(250), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(Email)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # Sort key for sending: the earliest due date among what the message reminds of.
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    message_id: Mapped[str] = mapped_column(String(250))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()


class Snooze(Base):
    """The owner asked not to be reminded of this until a date."""

    __tablename__ = "reminder_snoozes"
    __table_args__ = (UniqueConstraint("kind", "entity_type", "entity_id", name="uq_snooze"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReminderKind] = mapped_column(str_enum(ReminderKind, "reminder_kind"))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    until: Mapped[date] = mapped_column(Date)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeadTimes(Base):
    """A contract's own lead times for one kind of reminder, instead of the defaults."""

    __tablename__ = "reminder_lead_times"
    __table_args__ = (UniqueConstraint("contract_id", "kind", name="uq_lead_times"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    kind: Mapped[ReminderKind] = mapped_column(str_enum(ReminderKind, "reminder_kind"))
    days: Mapped[list[int]] = mapped_column(JSON)  # e.g. [180, 90, 30]


class NotificationSettings(Base):
    """What a user wants by e-mail at once, and their calendar feed's token."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    instant_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    calendar_token_prefix: Mapped[str | None] = mapped_column(String(12))


class JobRun(Base):
    """The last run of each scheduled job, for /healthz and the admin pages."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SchedulerLock(Base):
    """On SQLite, who holds the clock, until when (a lease renewed while it runs).
    PostgreSQL uses an advisory lock instead."""

    __tablename__ = "scheduler_lock"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
