"""The daily reminder job: decide what each person must be reminded of today, and put one
digest per recipient (plus instant messages for the kinds they chose) in the outbox.

A reminder is a stage in a chain: a deadline D with lead times [180, 90, 30] reminds on
the first day inside each lead (D-180, D-90, D-30). If the job did not run for a while,
only the latest stage due is sent, not every one missed. The chain ends when the
deadline is no longer there: the option is decided, the contract terminated (notice
given) or its end moved (a new chain for the new date), the activity done or skipped.
An owner can snooze a subject to a date. Every decision has a unique key, inserted with
ON CONFLICT DO NOTHING, so running the job twice on a day changes nothing.

The scan reads each kind with one query over the rows due in its window, so the number
of statements does not grow with the register.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from contracts.auth.models import User
from contracts.db import Session
from contracts.integrity.flags import RedFlag
from contracts.parties.models import Unit
from contracts.register.dates import add_months
from contracts.register.models import Contract, ContractOption, OptionDecision
from followup.gains import compute as gain_compute
from followup.gains.models import ECONOMIC_TYPES, EntryStatus, GainEntry, GainPlan, GainType
from followup.models import (
    CRITICAL,
    Activity,
    ActivityKind,
    ActivityStatus,
    FollowUpPlan,
    ResponsibleRole,
)
from followup.services import criticality_by_category
from jobs import outbox, settings
from jobs.labels import REMINDER_LABELS
from jobs.models import Reminder, ReminderKind

# Reminders about contracts go to the owner; without one, to the procurement office.
CONTRACT_KINDS = (
    ReminderKind.EXPIRY,
    ReminderKind.OPTION_DEADLINE,
    ReminderKind.NOTICE_DEADLINE,
    ReminderKind.PRICE_ADJUSTMENT,
)
MAX_NOTICE_MONTHS = 24
KEY_MAX = 250  # Reminder.key
MISSING_DECLARATIONS = "missing_declarations"  # the red-flag rule's code
DIGEST_ITEMS_SHOWN = 200


@dataclass(frozen=True)
class Due:
    """Something with a deadline that someone must be reminded of."""

    kind: ReminderKind
    entity_type: str
    entity_id: int
    contract_id: int | None
    due: date
    lead: int  # the stage: days before the due date (days after it for overdue kinds)
    user_id: int | None
    to_address: str

    @property
    def key(self) -> str:
        who = self.user_id if self.user_id is not None else self.to_address.lower()
        key = (
            f"{who}:{self.kind.value}:{self.entity_type}:{self.entity_id}:"
            f"{self.due.isoformat()}:{self.lead}"
        )
        # A long address could overflow the column: its hash is as unique.
        return key if len(key) <= KEY_MAX else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def stage_before(due: date, leads: Iterable[int], today: date) -> int | None:
    """The latest lead whose day has come for a deadline still ahead (or today)."""
    if due < today:
        return None
    reached = [lead for lead in leads if today >= due - timedelta(days=lead)]
    return min(reached) if reached else None


def stage_after(due: date, leads: Iterable[int], today: date) -> int | None:
    """For overdue kinds: the latest number of days past due that has been reached."""
    reached = [lead for lead in leads if today >= due + timedelta(days=lead)]
    return max(reached) if reached else None


class _People:
    """Who gets what: active users' addresses, units' contacts, the office's address."""

    def __init__(self) -> None:
        self.email = {
            user_id: email
            for user_id, email in Session.execute(
                select(User.id, User.email).where(User.is_active.is_(True))
            )
        }
        self.unit_contact = {
            unit_id: email
            for unit_id, email in Session.execute(select(Unit.id, Unit.contact_email))
            if email
        }
        self.office = current_app.config["PROCUREMENT_EMAIL"]

    def owner_or_office(self, owner_id: int | None) -> tuple[int | None, str]:
        if owner_id in self.email:
            return owner_id, self.email[owner_id]
        return None, self.office


def _leads(kind: ReminderKind) -> tuple[list[int], dict[int, list[int]], int]:
    """The default lead times, each contract's own, and the widest of all (the window)."""
    default, own = settings.lead_days(kind, None), settings.lead_days_by_contract(kind)
    widest = max([*default, *(d for days in own.values() for d in days)], default=0)
    return default, own, widest


def _live_contracts():
    return select(Contract).where(
        Contract.deleted_at.is_(None),
        Contract.signed_on.is_not(None),
        Contract.terminated_on.is_(None),
    )


def _contract_deadlines(today: date, people: _People) -> Iterator[Due]:
    # Expiry: the current end date (options exercised included).
    default, own, widest = _leads(ReminderKind.EXPIRY)
    rows = Session.execute(
        select(Contract.id, Contract.current_end_date, Contract.owner_id).where(
            _live_contracts().whereclause,
            Contract.current_end_date.between(today, today + timedelta(days=widest)),
        )
    )
    for contract_id, end, owner_id in rows:
        lead = stage_before(end, own.get(contract_id, default), today)
        if lead is not None:
            user_id, address = people.owner_or_office(owner_id)
            yield Due(ReminderKind.EXPIRY, "contracts", contract_id, contract_id, end, lead,
                      user_id, address)  # fmt: skip

    # The deadline of each undecided option.
    default, own, widest = _leads(ReminderKind.OPTION_DEADLINE)
    rows = Session.execute(
        select(ContractOption.id, ContractOption.exercise_deadline, Contract.id, Contract.owner_id)
        .join(Contract, Contract.id == ContractOption.contract_id)
        .where(
            _live_contracts().whereclause,
            ContractOption.decision == OptionDecision.PENDING,
            ContractOption.exercise_deadline.between(today, today + timedelta(days=widest)),
        )
    )
    for option_id, deadline, contract_id, owner_id in rows:
        lead = stage_before(deadline, own.get(contract_id, default), today)
        if lead is not None:
            user_id, address = people.owner_or_office(owner_id)
            yield Due(ReminderKind.OPTION_DEADLINE, "contract_options", option_id, contract_id,
                      deadline, lead, user_id, address)  # fmt: skip

    # The last day to give notice: the current end less the notice period.
    default, own, widest = _leads(ReminderKind.NOTICE_DEADLINE)
    reach = today + timedelta(days=widest + 31 * MAX_NOTICE_MONTHS)
    rows = Session.execute(
        select(
            Contract.id, Contract.current_end_date, Contract.notice_months, Contract.owner_id
        ).where(
            _live_contracts().whereclause,
            Contract.notice_months > 0,
            Contract.current_end_date.between(today, reach),
        )
    )
    for contract_id, end, months, owner_id in rows:
        last_day = add_months(end, -months)
        lead = stage_before(last_day, own.get(contract_id, default), today)
        if lead is not None:
            user_id, address = people.owner_or_office(owner_id)
            yield Due(ReminderKind.NOTICE_DEADLINE, "contracts", contract_id, contract_id,
                      last_day, lead, user_id, address)  # fmt: skip

    # Price adjustments: the 1st of the adjustment month, yearly, while the contract runs.
    default, own, widest = _leads(ReminderKind.PRICE_ADJUSTMENT)
    months = {(today + timedelta(days=offset)).month for offset in range(0, min(widest, 366) + 1)}
    rows = Session.execute(
        select(Contract.id, Contract.price_adjustment_month, Contract.current_end_date,
               Contract.start_date, Contract.owner_id)
        .where(
            _live_contracts().whereclause,
            Contract.price_adjustment_month.in_(months),
            Contract.end_sort_date >= today,
        )
    )  # fmt: skip
    for contract_id, month, end, start, owner_id in rows:
        adjustment = date(today.year, month, 1)
        if adjustment < today:
            adjustment = date(today.year + 1, month, 1)
        if adjustment <= start or (end is not None and adjustment > end):
            continue
        lead = stage_before(adjustment, own.get(contract_id, default), today)
        if lead is not None:
            user_id, address = people.owner_or_office(owner_id)
            yield Due(ReminderKind.PRICE_ADJUSTMENT, "contracts", contract_id, contract_id,
                      adjustment, lead, user_id, address)  # fmt: skip


def _activity_deadlines(today: date, people: _People) -> Iterator[Due]:
    default, own, widest = _leads(ReminderKind.ACTIVITY_DUE)
    overdue_default, overdue_own, _ = _leads(ReminderKind.ACTIVITY_OVERDUE)
    escalate_default, escalate_own, _ = _leads(ReminderKind.ACTIVITY_ESCALATED)
    rows = Session.execute(
        select(
            Activity.id,
            Activity.due_date,
            Activity.responsible_id,
            Activity.responsible_role,
            Contract.id,
            Contract.owner_id,
            Contract.manager_id,
            Contract.unit_id,
        )
        .join(Contract, Contract.id == Activity.contract_id)
        .where(
            Activity.status == ActivityStatus.OPEN,
            Activity.due_date <= today + timedelta(days=widest),
            Contract.deleted_at.is_(None),
        )
    )
    for activity_id, due, responsible, role, contract_id, owner, manager, unit_id in rows:
        if role == ResponsibleRole.PROCUREMENT:
            user_id, address = None, people.office
        else:
            person = next((p for p in (responsible, manager, owner) if p in people.email), None)
            user_id, address = people.owner_or_office(person)
        if due >= today:
            lead = stage_before(due, own.get(contract_id, default), today)
            if lead is not None:
                yield Due(ReminderKind.ACTIVITY_DUE, "activities", activity_id, contract_id,
                          due, lead, user_id, address)  # fmt: skip
            continue
        lead = stage_after(due, overdue_own.get(contract_id, overdue_default), today)
        if lead is not None:
            yield Due(ReminderKind.ACTIVITY_OVERDUE, "activities", activity_id, contract_id,
                      due, lead, user_id, address)  # fmt: skip
        lead = stage_after(due, escalate_own.get(contract_id, escalate_default), today)
        if lead is not None:
            # Escalated to the procurement office and the unit's contact address.
            for escalate_to in {people.office, people.unit_contact.get(unit_id)} - {None}:
                yield Due(ReminderKind.ACTIVITY_ESCALATED, "activities", activity_id,
                          contract_id, due, lead, None, escalate_to)  # fmt: skip


def _missing_plans(today: date, people: _People) -> Iterator[Due]:
    """Active contracts in critical categories without a plan: the office, every N days."""
    default, own, _ = _leads(ReminderKind.MISSING_PLAN)
    critical = [cid for cid, level in criticality_by_category().items() if level >= CRITICAL]
    if not critical:
        return
    has_plan = select(FollowUpPlan.id).where(FollowUpPlan.contract_id == Contract.id).exists()
    rows = Session.scalars(
        select(Contract.id).where(
            _live_contracts().whereclause,
            Contract.category_id.in_(critical),
            Contract.end_sort_date >= today,
            ~has_plan,
        )
    )
    for contract_id in rows:
        every = max(min(own.get(contract_id, default), default=30), 1)
        # One reminder per period of `every` days: the period's first day stands as the date.
        period = date.fromordinal(today.toordinal() - today.toordinal() % every)
        yield Due(ReminderKind.MISSING_PLAN, "contracts", contract_id, contract_id, period,
                  every, None, people.office)  # fmt: skip


# Estimates this many days (plus the widest lead) past their period are left to the gains
# page: a plan filled in for years back does not flood its owner's digest.
GAIN_REMINDER_DAYS = 366


def _gains_to_confirm(today: date, people: _People) -> Iterator[Due]:
    """Estimated gain entries whose period has ended: the contract's owner confirms them."""
    default, own, widest = _leads(ReminderKind.GAINS_TO_CONFIRM)
    rows = Session.execute(
        select(GainEntry.id, GainEntry.period_end, Contract.id, Contract.owner_id)
        .join(GainPlan, GainPlan.id == GainEntry.plan_id)
        .join(Contract, Contract.id == GainPlan.contract_id)
        .where(
            GainEntry.status == EntryStatus.ESTIMATED,
            GainEntry.period_end < today,
            GainEntry.period_end >= today - timedelta(days=widest + GAIN_REMINDER_DAYS),
            Contract.deleted_at.is_(None),
        )
    )
    for entry_id, end, contract_id, owner_id in rows:
        lead = stage_after(end, own.get(contract_id, default), today)
        if lead is not None:
            user_id, address = people.owner_or_office(owner_id)
            yield Due(ReminderKind.GAINS_TO_CONFIRM, "gain_entries", entry_id, contract_id,
                      end, lead, user_id, address)  # fmt: skip


def _qualitative_gains(today: date, people: _People) -> Iterator[Due]:
    """From the first run of a year: each qualitative gain plan that ran in the year before
    and lacks an entry for one of that year's periods, to the contract's owner."""
    default, own, _ = _leads(ReminderKind.QUALITATIVE_GAINS)
    first, last = date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    qualitative = GainPlan.gain_type.in_([t for t in GainType if t not in ECONOMIC_TYPES])
    ran_last_year = (GainPlan.period_start <= last) & (GainPlan.period_end >= first)
    plans = Session.execute(
        select(
            GainPlan.id, GainPlan.entry_period, GainPlan.period_start, GainPlan.period_end,
            Contract.id.label("contract_id"), Contract.owner_id,
        )
        .join(Contract, Contract.id == GainPlan.contract_id)
        .where(qualitative, ran_last_year, Contract.deleted_at.is_(None))
    ).all()  # fmt: skip
    if not plans:
        return
    documented: dict[int, set[date]] = defaultdict(set)
    for plan_id, start in Session.execute(
        select(GainEntry.plan_id, GainEntry.period_start)
        .join(GainPlan, GainPlan.id == GainEntry.plan_id)
        .where(qualitative, ran_last_year, GainEntry.period_start.between(first, last))
    ):
        documented[plan_id].add(start)
    for plan in plans:
        periods = [p for p in gain_compute.periods(plan, today) if first <= p[0] <= last]
        if all(start in documented[plan.id] for start, _end in periods):
            continue
        lead = stage_after(last, own.get(plan.contract_id, default), today)
        if lead is not None:
            user_id, address = people.owner_or_office(plan.owner_id)
            yield Due(ReminderKind.QUALITATIVE_GAINS, "gain_plans", plan.id, plan.contract_id,
                      last, lead, user_id, address)  # fmt: skip


def _retendered() -> set[int]:
    """Contracts whose new competition has started: their expiry chain has ended."""
    return set(
        Session.scalars(
            select(Activity.contract_id).where(
                Activity.kind == ActivityKind.RETENDER_START,
                Activity.status == ActivityStatus.DONE,
            )
        )
    )


def _missing_declarations(today: date, people: _People) -> Iterator[Due]:
    """Each person who has yet to declare impartiality for a contract that needs it, from
    the open red flags of the rule (computed at night by the same rule): weekly."""
    default, own, _ = _leads(ReminderKind.DECLARATION_DUE)
    rows = Session.execute(
        select(RedFlag.contract_id, RedFlag.details).where(
            RedFlag.rule == MISSING_DECLARATIONS, RedFlag.resolved_on.is_(None)
        )
    )
    for contract_id, details in rows:
        every = max(min(own.get(contract_id, default), default=7), 1)
        period = date.fromordinal(today.toordinal() - today.toordinal() % every)
        for user_id in (details or {}).get("missing_user_ids", []):
            if user_id in people.email:
                yield Due(ReminderKind.DECLARATION_DUE, "contracts", contract_id, contract_id,
                          period, every, user_id, people.email[user_id])  # fmt: skip


def decide(today: date) -> list[Due]:
    """Everything due for a reminder today, before snoozes and what was sent before."""
    people = _People()
    found = [
        *_contract_deadlines(today, people),
        *_activity_deadlines(today, people),
        *_missing_plans(today, people),
        *_gains_to_confirm(today, people),
        *_qualitative_gains(today, people),
        *_missing_declarations(today, people),
    ]
    retendered = _retendered()
    snoozed = {kind: settings.snoozes(kind) for kind in ReminderKind}
    return [
        item
        for item in found
        if not (item.kind == ReminderKind.EXPIRY and item.contract_id in retendered)
        and snoozed[item.kind].get((item.entity_type, item.entity_id), today) <= today
    ]


# A key decided before today was decided at most this long ago (the longest lead allowed
# is 730 days, overdue stages come at most 90 days after the date).
KEY_MEMORY = timedelta(days=800)


def _insert_new(items: list[Due], today: date) -> None:
    """Insert the reminders not decided before. Reading the recent keys first spares the
    database a conflicting insert per reminder on the days when little is new."""
    known = set(
        Session.scalars(select(Reminder.key).where(Reminder.decided_on >= today - KEY_MEMORY))
    )
    items = [item for item in items if item.key not in known]
    if not items:
        return
    rows = [
        {
            "key": item.key,
            "user_id": item.user_id,
            "to_address": item.to_address,
            "kind": item.kind,
            "contract_id": item.contract_id,
            "entity_type": item.entity_type,
            "entity_id": item.entity_id,
            "due_date": item.due,
            "lead_days": item.lead,
            "decided_on": today,
        }
        for item in items
    ]
    dialect = Session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Reminder.__table__).on_conflict_do_nothing(index_elements=["key"])
    for start in range(0, len(rows), 5000):
        Session.execute(statement, rows[start : start + 5000])


def run(today: date) -> dict[str, Any]:
    """The job: decide today's reminders and queue the messages (commits)."""
    items = decide(today)
    _insert_new(items, today)
    Session.flush()
    messages = queue_messages(today)
    Session.commit()
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item.kind.value] += 1
    return {"due": len(items), "messages": messages, "by_kind": dict(counts)}


# --- messages -----------------------------------------------------------------------------


def _waiting(today: date) -> tuple[list[Reminder], dict[str, dict[int, Any]]]:
    """Reminders not yet in a message, with the contracts and activities they name, in one
    query (no lists of ids: the office's digest can name a hundred thousand)."""
    rows = Session.execute(
        select(Reminder, Contract.reference, Contract.title, Activity.title)
        .outerjoin(Contract, Contract.id == Reminder.contract_id)
        .outerjoin(
            Activity,
            and_(Reminder.entity_type == "activities", Activity.id == Reminder.entity_id),
        )
        .where(Reminder.outbox_id.is_(None), Reminder.decided_on <= today)
        .order_by(Reminder.to_address, Reminder.due_date, Reminder.id)
    ).all()
    details: dict[str, dict[int, Any]] = {"contracts": {}, "activities": {}}
    for reminder, reference, title, activity_title in rows:
        if reminder.contract_id is not None:
            details["contracts"][reminder.contract_id] = Named(reference, title)
        if activity_title is not None:
            details["activities"][reminder.entity_id] = Named(None, activity_title)
    return [row[0] for row in rows], details


@dataclass(frozen=True)
class Named:
    reference: str | None
    title: str


def queue_messages(today: date) -> int:
    """Put waiting reminders in messages: instant ones alone, the rest in the recipient's
    digest of the day. A digest already sent today waits for tomorrow's."""
    waiting, details = _waiting(today)
    if not waiting:
        return 0
    instant = settings.instant_kinds_by_user()
    users = {u.id: u for u in Session.scalars(select(User))}
    by_address: dict[str, list[Reminder]] = defaultdict(list)
    queued = 0
    for reminder in waiting:
        if reminder.user_id is not None and reminder.kind.value in instant.get(
            reminder.user_id, set()
        ):
            message = _queue(
                f"instant:{reminder.key}", [reminder], details, users.get(reminder.user_id), today
            )
            if message is not None:
                Session.execute(
                    update(Reminder).where(Reminder.id == reminder.id).values(outbox_id=message.id)
                )
                queued += 1
            continue
        by_address[reminder.to_address.lower()].append(reminder)
    for address, reminders in by_address.items():
        user = users.get(reminders[0].user_id) if reminders[0].user_id else None
        message = _queue(f"digest:{address}:{today.isoformat()}", reminders, details, user, today)
        if message is not None:
            # Everything for this address still waiting is in the digest (instant ones were
            # given their message above).
            Session.execute(
                update(Reminder)
                .where(
                    Reminder.outbox_id.is_(None),
                    Reminder.decided_on <= today,
                    func.lower(Reminder.to_address) == address,
                )
                .values(outbox_id=message.id)
            )
            queued += 1
    return queued


def _queue(key, reminders, details, user, today) -> Any:
    if outbox.find(key) is not None:
        return None  # this digest went out already today; these wait for tomorrow's
    locale = user.locale if user and user.locale in current_app.config["LANGUAGES"] else None
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        items = [_item(r, details) for r in reminders[:DIGEST_ITEMS_SHOWN]]
        context = {
            "user": user,
            "today": today,
            "items": items,
            "more": max(len(reminders) - DIGEST_ITEMS_SHOWN, 0),
            "base_url": current_app.config["BASE_URL"].rstrip("/"),
        }
        subject = (
            _("Reminder: %(what)s", what=items[0]["kind"])
            if key.startswith("instant:")
            else _("Reminders from the contract register %(day)s (%(n)d)",
                   day=today.strftime("%d.%m.%Y"), n=len(reminders))
        )  # fmt: skip
        text = render_template("email/reminders.txt", **context)
        html = render_template("email/reminders.html", **context)
    return outbox.enqueue(
        key=key,
        to_address=reminders[0].to_address,
        subject=subject,
        body_text=text,
        body_html=html,
        user_id=user.id if user else None,
        due_date=min(r.due_date for r in reminders),
    )


def _item(reminder: Reminder, details: dict[str, dict[int, Any]]) -> dict[str, Any]:
    contract = details["contracts"].get(reminder.contract_id)
    activity = (
        details["activities"].get(reminder.entity_id)
        if reminder.entity_type == "activities"
        else None
    )
    if reminder.entity_type == "activities":
        path = f"/followup/activities/{reminder.entity_id}"
    elif reminder.kind == ReminderKind.MISSING_PLAN:
        path = f"/contracts/{reminder.contract_id}/plan"
    elif reminder.entity_type == "gain_entries":
        path = f"/gains/entries/{reminder.entity_id}/confirm"
    elif reminder.entity_type == "gain_plans":
        path = f"/contracts/{reminder.contract_id}/gains"
    elif reminder.kind == ReminderKind.DECLARATION_DUE:
        path = f"/contracts/{reminder.contract_id}/declarations"
    else:
        path = f"/contracts/{reminder.contract_id}"
    return {
        "kind": str(REMINDER_LABELS[reminder.kind]),
        "kind_key": reminder.kind.value,
        "due": reminder.due_date,
        "days": (reminder.due_date - reminder.decided_on).days,
        "contract": f"{contract.reference} {contract.title}" if contract else "",
        "activity": activity.title if activity else None,
        "path": path,
    }
