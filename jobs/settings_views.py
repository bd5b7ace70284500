"""Reminder pages: a user's notification settings and calendar feed, a contract's lead
times and snoozes, and the feed itself (no login: the token in its URL is the key)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from contracts.auth.models import Role, User
from contracts.clock import today
from contracts.db import Session
from contracts.register.forms import ConfirmForm
from contracts.register.models import Contract
from contracts.register.services import get_visible_contract
from jobs import calendar, settings
from jobs.labels import REMINDER_LABELS
from jobs.models import ReminderKind
from jobs.settings_forms import (
    EndSnoozeForm,
    InstantKindsForm,
    LeadTimesForm,
    SnoozeForm,
    lead_hint,
    target_value,
)

bp = Blueprint("notify", __name__)


def may_snooze(contract: Contract, user: User) -> bool:
    """Editors and the contract's owner and manager; auditors only read, even if named."""
    if user.role == Role.AUDITOR:
        return False
    return user.can_edit or user.id in {contract.owner_id, contract.manager_id}


def may_set_lead_times(user: User) -> bool:
    return user.can_edit


# --- a user's notification settings -------------------------------------------------------


def _settings_page(
    form: InstantKindsForm | None = None, new_token: str | None = None, status: int = 200
):
    if form is None:
        chosen = settings.instant_kinds(current_user.id)
        form = InstantKindsForm(formdata=None, data=dict.fromkeys(chosen, True))
    page = render_template(
        "jobs/notify/settings.html",
        form=form,
        recommended={kind.value for kind in settings.RECOMMENDED_INSTANT},
        token_prefix=settings.calendar_token_prefix(current_user.id),
        new_token=new_token,
        feed_url=calendar.absolute_url("notify.calendar_feed", token=new_token)
        if new_token
        else None,
    )
    return page, status


@bp.get("/profile/notifications")
@login_required
def settings_page():
    return _settings_page()


@bp.post("/profile/notifications")
@login_required
def settings_save():
    form = InstantKindsForm()
    if not form.validate_on_submit():
        return _settings_page(form, status=422)
    settings.set_instant_kinds(current_user, form.chosen())
    Session.commit()
    flash(_("Your notification settings are saved."), "success")
    return redirect(url_for("notify.settings_page"))


@bp.post("/profile/notifications/calendar")
@login_required
def calendar_create():
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("notify.settings_page"))
    text = settings.create_calendar_token(current_user)
    Session.commit()
    # Shown in this response only (no redirect): the token is stored nowhere, not even in
    # the flash messages of the session cookie.
    flash(
        _("Your calendar feed has a new address. Any earlier address no longer works."), "success"
    )
    return _settings_page(new_token=text)


@bp.post("/profile/notifications/calendar/revoke")
@login_required
def calendar_revoke():
    if ConfirmForm().validate_on_submit() and settings.revoke_calendar_token(current_user):
        Session.commit()
        flash(_("Your calendar feed is turned off. Its address no longer works."), "success")
    return redirect(url_for("notify.settings_page"))


@bp.get("/calendar/<token>.ics")
def calendar_feed(token: str):
    """The user's deadlines as iCalendar. No session is read and no cookie set: calendar
    programs fetch this on their own. Unknown and revoked tokens are simply not found."""
    user = settings.calendar_user(token)
    if user is None:
        # Plain, not the HTML error page: that page would start a session (CSRF token).
        return Response("Not found\n", status=404, mimetype="text/plain")
    response = Response(calendar.build_feed(user, today()), mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="kontraktsfrister.ics"'
    # Never cached: contracts.web sets Cache-Control: no-store on every page.
    return response


# --- a contract's reminders ---------------------------------------------------------------


def _contract_or_404(contract_id: int, *, live: bool = False) -> Contract:
    contract = get_visible_contract(contract_id, current_user)
    if contract is None or (live and contract.deleted_at is not None):
        abort(404)
    return contract


def _reminders_page(
    contract: Contract,
    status: int = 200,
    lead_form: LeadTimesForm | None = None,
    snooze_form: SnoozeForm | None = None,
    end_form: EndSnoozeForm | None = None,
):
    lead_days = settings.contract_lead_days(contract.id)
    defaults = settings.configured_lead_days()
    snoozes = settings.contract_snoozes(contract)
    live = contract.deleted_at is None
    can_snooze = live and may_snooze(contract, current_user)
    can_set = live and may_set_lead_times(current_user)
    if can_set and lead_form is None:
        own = {kind.value: ", ".join(map(str, days)) for kind, (days, o) in lead_days.items() if o}
        lead_form = LeadTimesForm(formdata=None, data=own, defaults=defaults)
    if can_snooze and snooze_form is None:
        snooze_form = SnoozeForm(formdata=None, contract=contract)
    options = {option.id: option for option in contract.options}
    page = render_template(
        "jobs/notify/contract.html",
        contract=contract,
        lead_days=lead_days,
        hints={kind: lead_hint(kind) for kind in ReminderKind},
        snoozes=snoozes,
        options=options,
        today=today(),
        can_snooze=can_snooze,
        can_set=can_set,
        lead_form=lead_form,
        snooze_form=snooze_form,
        end_form=end_form,
        target_value=target_value,
        REMINDER_LABELS=REMINDER_LABELS,
    )
    return page, status


@bp.get("/contracts/<int:contract_id>/reminders")
@login_required
def contract_reminders(contract_id: int):
    return _reminders_page(_contract_or_404(contract_id))


@bp.post("/contracts/<int:contract_id>/reminders/lead-times")
@login_required
def lead_times_save(contract_id: int):
    contract = _contract_or_404(contract_id, live=True)
    if not may_set_lead_times(current_user):
        abort(403)
    form = LeadTimesForm(defaults=settings.configured_lead_days())
    if not form.validate_on_submit():
        return _reminders_page(contract, 422, lead_form=form)
    changed = [
        kind for kind, days in form.parsed.items() if settings.set_lead_days(contract, kind, days)
    ]
    Session.commit()
    if changed:
        flash(_("The contract's lead times are saved."), "success")
    return redirect(url_for("notify.contract_reminders", contract_id=contract.id))


@bp.post("/contracts/<int:contract_id>/reminders/snooze")
@login_required
def snooze_save(contract_id: int):
    contract = _contract_or_404(contract_id, live=True)
    if not may_snooze(contract, current_user):
        abort(403)
    form = SnoozeForm(contract=contract)
    if not form.validate_on_submit():
        return _reminders_page(contract, 422, snooze_form=form)
    kind, entity_type, entity_id = form.parsed
    settings.snooze(kind, entity_type, entity_id, form.until.data, current_user, contract.id)
    Session.commit()
    flash(
        _(
            "No reminders of “%(what)s” before %(day)s.",
            what=REMINDER_LABELS[kind],
            day=form.until.data.strftime("%d.%m.%Y"),
        ),
        "success",
    )
    return redirect(url_for("notify.contract_reminders", contract_id=contract.id))


@bp.post("/contracts/<int:contract_id>/reminders/snooze/end")
@login_required
def snooze_end(contract_id: int):
    contract = _contract_or_404(contract_id, live=True)
    if not may_snooze(contract, current_user):
        abort(403)
    form = EndSnoozeForm(contract=contract)
    if not form.validate_on_submit():
        return _reminders_page(contract, 422, end_form=form)
    kind, entity_type, entity_id = form.parsed
    if settings.end_snooze(kind, entity_type, entity_id, contract.id):
        Session.commit()
        flash(_("Reminders of “%(what)s” come again.", what=REMINDER_LABELS[kind]), "success")
    return redirect(url_for("notify.contract_reminders", contract_id=contract.id))
