"""Each user's calendar feed (iCalendar, RFC 5545): the deadlines they answer for.

One all-day event per deadline, from 30 days back to two years ahead: the end, each
undecided option's deadline, the last day to give notice and the next price adjustment of
the signed contracts the user owns or manages (and may see), and their open follow-up
activities (the list of "My follow-up"). A terminated contract shows only its end. The
UID of an event is stable per subject, so a calendar that polls the feed moves an event
whose date changed instead of adding a second one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from icalendar import Calendar, Event, vDuration, vText
from sqlalchemy import or_
from sqlalchemy.orm import contains_eager, selectinload

from contracts.auth.models import User
from contracts.db import Session, utcnow
from contracts.register.models import Contract, OptionDecision
from contracts.register.services import visible_contracts
from followup.models import Activity
from followup.services import my_activities

DAYS_BACK = 30
DAYS_AHEAD = 730
# A procurement officer answers for every office task; the feed keeps the soonest.
MAX_EVENTS = 2000
PRODID = "-//Kontraktsregister//Frister//NB"
UID_DOMAIN = "kontraktsregister"
REFRESH = timedelta(hours=4)
# Control characters have no place in iCalendar text (RFC 5545 3.3.11); tabs and line
# breaks are kept (the icalendar package escapes the breaks).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Deadline:
    """One event of the feed."""

    uid: str
    day: date
    summary: str
    description: str
    url: str


def window(today: date) -> tuple[date, date]:
    """The days a feed covers."""
    return today - timedelta(days=DAYS_BACK), today + timedelta(days=DAYS_AHEAD)


def next_price_adjustment(month: int, today: date) -> date:
    """The 1st of the adjustment month, this year if not past, else next year."""
    day = date(today.year, month, 1)
    return day if day >= today else date(today.year + 1, month, 1)


def absolute_url(endpoint: str, **values: int | str) -> str:
    """A link into the app from outside it: BASE_URL (with any path prefix) plus the route."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def clean_text(text: str) -> str:
    """Text as the feed may carry it: one kind of line break, no control characters."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _contract_name(contract: Contract) -> str:
    return f"{contract.reference} {contract.title}"


def _description(contract: Contract, url: str, *details: str) -> str:
    lines = [
        _("Contract: %(contract)s", contract=_contract_name(contract)),
        _("Supplier: %(supplier)s", supplier=contract.supplier.name),
        *details,
        _("Open in the contract register: %(url)s", url=url),
    ]
    return "\n".join(lines)


def _contract_deadlines(contract: Contract, today: date) -> list[Deadline]:
    url = absolute_url("register.contract_detail", contract_id=contract.id)
    name = _contract_name(contract)
    found = []
    if contract.current_end_date is not None:
        found.append(
            Deadline(
                uid=f"expiry-{contract.id}",
                day=contract.current_end_date,
                summary=_("Contract ends: %(contract)s", contract=name),
                description=_description(contract, url),
                url=url,
            )
        )
    if contract.terminated_on is not None:
        return found  # notice is given; options and adjustments end with the contract
    for option in contract.options:
        if option.decision == OptionDecision.PENDING:
            found.append(
                Deadline(
                    uid=f"option-{option.id}",
                    day=option.exercise_deadline,
                    summary=_("Deadline to exercise an option: %(contract)s", contract=name),
                    description=_description(
                        contract,
                        url,
                        ngettext(
                            "Extension: %(num)d month",
                            "Extension: %(num)d months",
                            option.extension_months,
                        ),
                    ),
                    url=url,
                )
            )
    if (last_day := contract.last_notice_day) is not None:
        found.append(
            Deadline(
                uid=f"notice-{contract.id}",
                day=last_day,
                summary=_("Last day to give notice: %(contract)s", contract=name),
                description=_description(contract, url),
                url=url,
            )
        )
    if contract.price_adjustment_month:
        day = next_price_adjustment(contract.price_adjustment_month, today)
        end = contract.current_end_date
        if day > contract.start_date and (end is None or day <= end):
            index = contract.price_adjustment_index or "–"
            found.append(
                Deadline(
                    uid=f"price-adjustment-{contract.id}",
                    day=day,
                    summary=_("Price adjustment: %(contract)s", contract=name),
                    description=_description(contract, url, _("Index: %(index)s", index=index)),
                    url=url,
                )
            )
    return found


def _activity_deadline(activity: Activity) -> Deadline:
    url = absolute_url("followup.activity_detail", activity_id=activity.id)
    contract = activity.contract
    details = [_("Activity: %(title)s", title=activity.title)]
    return Deadline(
        uid=f"activity-{activity.id}",
        day=activity.due_date,
        summary=_(
            "Follow-up: %(activity)s (%(contract)s)",
            activity=activity.title,
            contract=contract.reference,
        ),
        description=_description(contract, url, *details),
        url=url,
    )


def deadlines(user: User, today: date) -> list[Deadline]:
    """What the user's feed holds, soonest first (at most MAX_EVENTS)."""
    start, end = window(today)
    responsible = or_(Contract.owner_id == user.id, Contract.manager_id == user.id)
    contracts = Session.scalars(
        visible_contracts(user)
        .where(
            responsible,
            Contract.signed_on.is_not(None),
            Contract.end_sort_date >= start,  # open-ended contracts sort last
        )
        .options(selectinload(Contract.options))
        .order_by(Contract.id)
    ).unique()
    found = [
        deadline
        for contract in contracts
        for deadline in _contract_deadlines(contract, today)
        if start <= deadline.day <= end
    ]
    activities = Session.scalars(
        my_activities(user, today)
        .where(Activity.due_date.between(start, end))
        .options(contains_eager(Activity.contract))
        .limit(MAX_EVENTS)
    ).unique()
    found.extend(_activity_deadline(activity) for activity in activities)
    found.sort(key=lambda d: (d.day, d.uid))
    return found[:MAX_EVENTS]


def feed_locale(user: User) -> str:
    languages = current_app.config["LANGUAGES"]
    return user.locale if user.locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def build_feed(user: User, today: date) -> bytes:
    """The user's feed as iCalendar bytes (UTF-8, CRLF lines), in the user's language."""
    with force_locale(feed_locale(user)):
        calendar = Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "PUBLISH")
        name = clean_text(_("Contract deadlines – %(name)s", name=user.name))
        # vText: icalendar knows neither property and would not escape the user's name.
        calendar.add("x-wr-calname", vText(name))
        calendar.add("name", vText(name))
        calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(REFRESH))
        stamp = utcnow()
        for deadline in deadlines(user, today):
            event = Event()
            event.add("uid", f"{deadline.uid}@{UID_DOMAIN}")
            event.add("dtstamp", stamp)
            event.add("dtstart", deadline.day)
            event.add("dtend", deadline.day + timedelta(days=1))
            event.add("summary", clean_text(deadline.summary))
            event.add("description", clean_text(deadline.description))
            event.add("url", deadline.url)
            event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
            calendar.add_component(event)
    return calendar.to_ical()
