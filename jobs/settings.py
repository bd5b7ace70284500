"""Reminder settings: lead times (default, global config, per contract), snoozes, each
user's instant kinds and calendar-feed token.

Services flush and audit; views commit once. The bulk readers (lead_days_by_contract,
snoozes, instant_kinds_by_user) are one query each, for the daily reminder scan.

How the lead times of a kind are read (the reminder job, jobs/reminders.py, does this):

- expiry, option_deadline, notice_deadline, price_adjustment, activity_due: days
  *before* the date. Each value is a stage: [180, 90, 30] reminds on the first day
  inside 180, 90 and 30 days; 0 is the day itself.
- activity_overdue, activity_escalated: days *after* the due date while the activity is
  still open. Overdue: the day after, then after a week, two weeks, a month, two and
  three months (no endless repeat; the escalation to the office comes at 14 days).
- missing_plan: one value, the period: an active contract in a critical category without
  a plan is reminded once every that many days.
- gains_to_confirm, qualitative_gains: days *after* the date while the gain is still
  unconfirmed (an estimated entry: the end of its period) or undocumented (a qualitative
  plan: the end of the year). 0: the first run after the date.

Defaults are DEFAULT_LEAD_DAYS; the config REMINDER_LEAD_DAYS (a mapping from kind to a
list of days, or the same as JSON text, e.g. from the environment) replaces the default
of the kinds it names; a contract's own LeadTimes row replaces both for that contract.

A snooze holds the reminders of one subject (kind, entity) while today < until.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from contracts.audit import services as audit
from contracts.auth.models import User
from contracts.db import Session
from contracts.register.models import Contract, ContractOption
from jobs.models import LeadTimes, NotificationSettings, ReminderKind, Snooze

K = ReminderKind

DEFAULT_LEAD_DAYS: dict[ReminderKind, tuple[int, ...]] = {
    K.EXPIRY: (180, 90, 30),
    K.OPTION_DEADLINE: (120, 60, 14),
    K.NOTICE_DEADLINE: (90, 30, 7),
    K.PRICE_ADJUSTMENT: (30,),
    K.ACTIVITY_DUE: (7,),
    K.ACTIVITY_OVERDUE: (1, 7, 14, 30, 60, 90),
    K.ACTIVITY_ESCALATED: (14,),
    K.MISSING_PLAN: (30,),
    K.GAINS_TO_CONFIRM: (0,),
    K.QUALITATIVE_GAINS: (0,),
    K.DECLARATION_DUE: (7,),
}
# Kinds counted in days after their date (overdue); the others count days before it.
AFTER_KINDS = frozenset(
    {K.ACTIVITY_OVERDUE, K.ACTIVITY_ESCALATED, K.GAINS_TO_CONFIRM, K.QUALITATIVE_GAINS}
)
# Kinds whose one value is a period in days rather than stages.
PERIOD_KINDS = frozenset({K.MISSING_PLAN, K.DECLARATION_DUE})
# The kinds the settings page recommends as instant e-mails: they cost money when missed.
RECOMMENDED_INSTANT = (K.OPTION_DEADLINE, K.NOTICE_DEADLINE, K.ACTIVITY_ESCALATED)
# Snoozable from a contract's page: the contract's own subjects (options come one by one).
CONTRACT_SNOOZE_KINDS = (K.EXPIRY, K.NOTICE_DEADLINE, K.PRICE_ADJUSTMENT, K.MISSING_PLAN)

MAX_LEAD_DAYS = 730
MAX_LEAD_VALUES = 6
MAX_SNOOZE_DAYS = 730  # two years

CALENDAR_TOKEN_PREFIX = "cal_"  # noqa: S105  (marks our tokens, e.g. for secret scanners)
CALENDAR_SHOWN_CHARS = 10
MAX_CALENDAR_TOKEN_LENGTH = 100


class LeadDaysError(ValueError):
    """Lead times that cannot be used; the message says why, for the form."""


# --- lead times ---------------------------------------------------------------------------


def normalise_lead_days(kind: ReminderKind, days: Iterable[int]) -> list[int]:
    """Check a list of days for a kind and put it in reading order (no duplicates)."""
    values = sorted(set(days), reverse=kind not in AFTER_KINDS)
    if not values:
        raise LeadDaysError(_("Give at least one number of days."))
    if kind in PERIOD_KINDS:
        if len(values) != 1:
            raise LeadDaysError(_("Give one number of days: how often to remind."))
        if not 1 <= values[0] <= MAX_LEAD_DAYS:
            raise LeadDaysError(_("The period must be from 1 to %(max)d days.", max=MAX_LEAD_DAYS))
        return values
    if len(values) > MAX_LEAD_VALUES:
        raise LeadDaysError(_("Give at most %(max)d numbers of days.", max=MAX_LEAD_VALUES))
    if any(not 0 <= value <= MAX_LEAD_DAYS for value in values):
        raise LeadDaysError(_("Each number of days must be from 0 to %(max)d.", max=MAX_LEAD_DAYS))
    return values


def parse_lead_days(kind: ReminderKind, text: str) -> list[int] | None:
    """Days typed as "180, 90, 30" (commas, semicolons or spaces); empty means the default."""
    parts = [part for part in re.split(r"[\s,;]+", text or "") if part]
    if not parts:
        return None
    for part in parts:
        if not part.isascii() or not part.isdigit():
            raise LeadDaysError(_("“%(value)s” is not a whole number of days.", value=part[:20]))
        if len(part) > 6:
            raise LeadDaysError(
                _("Each number of days must be from 0 to %(max)d.", max=MAX_LEAD_DAYS)
            )
    return normalise_lead_days(kind, (int(part) for part in parts))


def configured_lead_days() -> dict[ReminderKind, list[int]]:
    """The defaults with the config's REMINDER_LEAD_DAYS applied; a bad config is an error."""
    result = {kind: list(days) for kind, days in DEFAULT_LEAD_DAYS.items()}
    raw: Any = current_app.config.get("REMINDER_LEAD_DAYS") or {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise ValueError(f"REMINDER_LEAD_DAYS is not JSON: {error}") from None
    if not isinstance(raw, Mapping):
        raise ValueError("REMINDER_LEAD_DAYS must map reminder kinds to lists of days")
    for name, days in raw.items():
        if name not in ReminderKind._value2member_map_:
            raise ValueError(f"REMINDER_LEAD_DAYS: unknown reminder kind {name!r}")
        kind = ReminderKind(name)
        if not isinstance(days, list | tuple) or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in days
        ):
            raise ValueError(f"REMINDER_LEAD_DAYS[{name!r}] must be a list of whole days")
        try:
            result[kind] = normalise_lead_days(kind, days)
        except LeadDaysError as error:
            raise ValueError(f"REMINDER_LEAD_DAYS[{name!r}]: {error}") from None
    return result


def default_lead_days(kind: ReminderKind) -> list[int]:
    """The lead times of a kind for contracts without their own."""
    return configured_lead_days()[ReminderKind(kind)]


def lead_days(kind: ReminderKind, contract_id: int | None) -> list[int]:
    """The lead times of a kind for one contract (its own, else the default); None: default."""
    if contract_id is not None:
        own = Session.scalar(
            select(LeadTimes.days).where(
                LeadTimes.contract_id == contract_id, LeadTimes.kind == ReminderKind(kind)
            )
        )
        if own:
            return list(own)
    return default_lead_days(kind)


def lead_days_by_contract(kind: ReminderKind) -> dict[int, list[int]]:
    """Every contract's own lead times of a kind, in one query. Contracts not in the result
    use lead_days(kind, None)."""
    rows = Session.execute(
        select(LeadTimes.contract_id, LeadTimes.days).where(LeadTimes.kind == ReminderKind(kind))
    )
    return {contract_id: list(days) for contract_id, days in rows if days}


def contract_lead_days(contract_id: int) -> dict[ReminderKind, tuple[list[int], bool]]:
    """For a contract's page: per kind, the lead times in force and whether they are its own."""
    own = {
        kind: list(days)
        for kind, days in Session.execute(
            select(LeadTimes.kind, LeadTimes.days).where(LeadTimes.contract_id == contract_id)
        )
        if days
    }
    defaults = configured_lead_days()
    return {kind: (own[kind], True) if kind in own else (defaults[kind], False) for kind in K}


def set_lead_days(contract: Contract, kind: ReminderKind, days: list[int] | None) -> bool:
    """Give the contract its own lead times of a kind, or (None or []) go back to the
    default. Returns whether anything changed."""
    kind = ReminderKind(kind)
    row = Session.scalar(
        select(LeadTimes).where(LeadTimes.contract_id == contract.id, LeadTimes.kind == kind)
    )
    if not days:
        if row is None:
            return False
        audit.record_delete(row, contract_id=contract.id, summary=f"{kind.value}: {row.days}")
        Session.delete(row)
        Session.flush()
        return True
    days = normalise_lead_days(kind, days)
    if row is None:
        row = LeadTimes(contract_id=contract.id, kind=kind, days=days)
        Session.add(row)
        audit.record_create(row, contract_id=contract.id, summary=f"{kind.value}: {days}")
        return True
    if list(row.days) == days:
        return False
    before = audit.snapshot(row)
    row.days = days
    audit.record_update(row, before, contract_id=contract.id, summary=f"{kind.value}: {days}")
    return True


# --- snoozes ------------------------------------------------------------------------------


def snoozed_until(kind: ReminderKind, entity_type: str, entity_id: int) -> date | None:
    """The date until which a subject's reminders are held (they resume on it), if any."""
    return Session.scalar(
        select(Snooze.until).where(
            Snooze.kind == ReminderKind(kind),
            Snooze.entity_type == entity_type,
            Snooze.entity_id == entity_id,
        )
    )


def snoozes(kind: ReminderKind) -> dict[tuple[str, int], date]:
    """Every snooze of a kind, in one query: (entity type, entity id) -> until. Past ones
    are included; a subject is held while today < until."""
    rows = Session.execute(
        select(Snooze.entity_type, Snooze.entity_id, Snooze.until).where(
            Snooze.kind == ReminderKind(kind)
        )
    )
    return {(entity_type, entity_id): until for entity_type, entity_id, until in rows}


def contract_snoozes(contract: Contract) -> list[Snooze]:
    """The snoozes of a contract's own subjects and of its options, soonest end first."""
    option_ids = select(ContractOption.id).where(ContractOption.contract_id == contract.id)
    return list(
        Session.scalars(
            select(Snooze)
            .where(
                ((Snooze.entity_type == "contracts") & (Snooze.entity_id == contract.id))
                | ((Snooze.entity_type == "contract_options") & Snooze.entity_id.in_(option_ids))
            )
            .order_by(Snooze.until, Snooze.id)
        )
    )


def snooze(
    kind: ReminderKind,
    entity_type: str,
    entity_id: int,
    until: date,
    user: User,
    contract_id: int,
) -> Snooze:
    """Hold a subject's reminders until a date (replacing an earlier snooze of it)."""
    kind = ReminderKind(kind)
    row = Session.scalar(
        select(Snooze).where(
            Snooze.kind == kind, Snooze.entity_type == entity_type, Snooze.entity_id == entity_id
        )
    )
    summary = f"{kind.value} {entity_type}#{entity_id} → {until.isoformat()}"
    if row is None:
        row = Snooze(
            kind=kind, entity_type=entity_type, entity_id=entity_id, until=until, user_id=user.id
        )
        Session.add(row)
        audit.record_create(row, contract_id=contract_id, summary=summary)
        return row
    before = audit.snapshot(row)
    row.until = until
    row.user_id = user.id
    audit.record_update(row, before, contract_id=contract_id, summary=summary)
    return row


def end_snooze(kind: ReminderKind, entity_type: str, entity_id: int, contract_id: int) -> bool:
    """Let a subject's reminders come again at once; False if it was not snoozed."""
    row = Session.scalar(
        select(Snooze).where(
            Snooze.kind == ReminderKind(kind),
            Snooze.entity_type == entity_type,
            Snooze.entity_id == entity_id,
        )
    )
    if row is None:
        return False
    audit.record_delete(
        row, contract_id=contract_id, summary=f"{row.kind.value} {entity_type}#{entity_id}"
    )
    Session.delete(row)
    Session.flush()
    return True


# --- a user's notification settings -------------------------------------------------------


def _settings_row(user_id: int) -> NotificationSettings | None:
    return Session.get(NotificationSettings, user_id)


def _settings_for_change(user: User) -> NotificationSettings:
    row = _settings_row(user.id)
    if row is None:
        row = NotificationSettings(user_id=user.id, instant_kinds=[])
        Session.add(row)
        Session.flush()
    return row


def instant_kinds(user_id: int) -> set[str]:
    """The kinds the user gets as instant e-mails (the rest wait for the daily digest)."""
    row = _settings_row(user_id)
    return set(row.instant_kinds or ()) if row is not None else set()


def instant_kinds_by_user() -> dict[int, set[str]]:
    """Every user's instant kinds, in one query; users not in it get digests only."""
    rows = Session.execute(select(NotificationSettings.user_id, NotificationSettings.instant_kinds))
    return {user_id: set(kinds) for user_id, kinds in rows if kinds}


def set_instant_kinds(user: User, kinds: Iterable[str]) -> bool:
    """Save which kinds come at once; unknown kinds are refused. Returns whether it changed."""
    chosen = sorted({ReminderKind(kind).value for kind in kinds})
    row = _settings_for_change(user)
    old = sorted(row.instant_kinds or [])
    if old == chosen:
        return False
    row.instant_kinds = chosen
    Session.flush()
    audit.record(
        "update",
        entity_type="notification_settings",
        entity_id=user.id,
        before={"instant_kinds": old},
        after={"instant_kinds": chosen},
        summary=f"Instant e-mails for {user.email}",
    )
    return True


def hash_calendar_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def calendar_token_prefix(user_id: int) -> str | None:
    """The first characters of the user's live calendar token, if there is one."""
    row = _settings_row(user_id)
    return row.calendar_token_prefix if row is not None and row.calendar_token_hash else None


def create_calendar_token(user: User) -> str:
    """A new calendar-feed token for the user, replacing (and so stopping) any old one.
    Returns the token text, which is stored nowhere: only its SHA-256 and prefix."""
    text = CALENDAR_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = _settings_for_change(user)
    old = row.calendar_token_prefix if row.calendar_token_hash else None
    row.calendar_token_hash = hash_calendar_token(text)
    row.calendar_token_prefix = text[:CALENDAR_SHOWN_CHARS]
    Session.flush()
    # Written by hand: the trail gets the prefixes, never a hash.
    audit.record(
        "update" if old else "create",
        entity_type="notification_settings",
        entity_id=user.id,
        before={"calendar_token_prefix": old},
        after={"calendar_token_prefix": row.calendar_token_prefix},
        summary=f"Calendar feed token for {user.email}",
    )
    return text


def revoke_calendar_token(user: User) -> bool:
    """Stop the user's calendar feed; False if there was none."""
    row = _settings_row(user.id)
    if row is None or row.calendar_token_hash is None:
        return False
    old = row.calendar_token_prefix
    row.calendar_token_hash = None
    row.calendar_token_prefix = None
    Session.flush()
    audit.record(
        "revoke",
        entity_type="notification_settings",
        entity_id=user.id,
        before={"calendar_token_prefix": old},
        after={"calendar_token_prefix": None},
        summary=f"Calendar feed token for {user.email}",
    )
    return True


def calendar_user(token: str) -> User | None:
    """The active user whose calendar token this is, else None.

    Looked up by the token's SHA-256 (unique index): the secret itself is never compared,
    so how long the lookup takes tells nothing about it.
    """
    if not token or len(token) > MAX_CALENDAR_TOKEN_LENGTH:
        return None
    return Session.scalar(
        select(User)
        .join(NotificationSettings, NotificationSettings.user_id == User.id)
        .where(
            NotificationSettings.calendar_token_hash == hash_calendar_token(token),
            User.is_active.is_(True),
        )
    )
