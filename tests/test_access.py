"""Who may use which route: a role x route matrix over the whole url_map, and who may see a
confidential contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from contracts.api.models import ApiToken
from contracts.audit.models import AuditEvent
from contracts.auth.models import Role, User
from contracts.db import Session
from contracts.register import services as register_services
from contracts.register.models import ContractOption, OptionDecision
from contracts.rules.models import Threshold
from tests import factories, followup_factories

ANONYMOUS = "anonymous"
ROLES = tuple(role.value for role in Role)
LOGGED_IN = frozenset(ROLES)
EVERYONE = LOGGED_IN | {ANONYMOUS}
EDITORS = frozenset({Role.ADMIN.value, Role.PROCUREMENT.value})
ADMIN = frozenset({Role.ADMIN.value})
OFFICE_AND_AUDITORS = EDITORS | {Role.AUDITOR.value}

# Every endpoint and method in the url_map, with the roles allowed to use it. Everyone
# else is refused: anonymous visitors are sent to the login page, logged-in users get 403.
# A new route fails test_every_route_is_in_the_table until it gets a line here.
ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("home.index", "GET"): LOGGED_IN,
    ("home.healthz", "GET"): EVERYONE,
    ("auth.login", "GET"): EVERYONE,
    ("auth.login", "POST"): EVERYONE,
    ("auth.logout", "POST"): EVERYONE,
    ("auth.set_locale", "POST"): EVERYONE,
    ("auth.user_list", "GET"): ADMIN,
    ("auth.user_new", "GET"): ADMIN,
    ("auth.user_new", "POST"): ADMIN,
    ("auth.user_edit", "GET"): ADMIN,
    ("auth.user_edit", "POST"): ADMIN,
    ("auth.password_change", "GET"): LOGGED_IN,
    ("auth.password_change", "POST"): LOGGED_IN,
    ("parties.unit_list", "GET"): LOGGED_IN,
    ("parties.unit_new", "GET"): EDITORS,
    ("parties.unit_new", "POST"): EDITORS,
    ("parties.unit_edit", "GET"): EDITORS,
    ("parties.unit_edit", "POST"): EDITORS,
    ("parties.unit_delete", "POST"): EDITORS,
    ("parties.category_list", "GET"): LOGGED_IN,
    ("parties.category_new", "GET"): EDITORS,
    ("parties.category_new", "POST"): EDITORS,
    ("parties.category_edit", "GET"): EDITORS,
    ("parties.category_edit", "POST"): EDITORS,
    ("parties.category_delete", "POST"): EDITORS,
    ("parties.supplier_list", "GET"): LOGGED_IN,
    ("parties.supplier_detail", "GET"): LOGGED_IN,
    ("parties.supplier_suggest", "GET"): LOGGED_IN,
    ("parties.supplier_new", "GET"): EDITORS,
    ("parties.supplier_new", "POST"): EDITORS,
    ("parties.supplier_edit", "GET"): EDITORS,
    ("parties.supplier_edit", "POST"): EDITORS,
    ("parties.supplier_delete", "POST"): EDITORS,
    ("register.contract_list", "GET"): LOGGED_IN,
    ("register.contract_export", "GET"): LOGGED_IN,
    ("exchange.ocds_download", "GET"): LOGGED_IN,
    ("exchange.import_upload", "GET"): EDITORS,
    ("exchange.import_upload", "POST"): EDITORS,
    ("exchange.import_preview", "GET"): EDITORS,
    ("exchange.import_preview", "POST"): EDITORS,
    ("exchange.import_job", "GET"): EDITORS,
    ("exchange.import_job_status", "GET"): EDITORS,
    # Public once the municipality turns publication on (CONFIG below); 404 while off.
    ("exchange.ocds_public", "GET"): EVERYONE,
    ("register.contract_new", "GET"): EDITORS,
    ("register.contract_new", "POST"): EDITORS,
    ("register.contract_detail", "GET"): LOGGED_IN,
    ("register.contract_edit", "GET"): EDITORS,
    ("register.contract_edit", "POST"): EDITORS,
    ("register.contract_terminate", "POST"): EDITORS,
    ("register.contract_cancel_termination", "POST"): EDITORS,
    ("register.contract_delete", "POST"): EDITORS,
    ("register.contract_restore", "POST"): EDITORS,
    ("register.option_add", "POST"): EDITORS,
    # Also the contract's own owner (see test_contract_owner_decides_options); the users
    # in the matrix own nothing.
    ("register.option_decide", "POST"): EDITORS,
    ("register.option_delete", "POST"): EDITORS,
    ("register.amendment_add", "POST"): EDITORS,
    ("rules.threshold_list", "GET"): frozenset(
        {Role.ADMIN.value, Role.PROCUREMENT.value, Role.AUDITOR.value}
    ),
    ("rules.threshold_add", "POST"): ADMIN,
    ("rules.threshold_delete", "POST"): ADMIN,
    # Everyone's own profile and API tokens (an auditor's token only reads).
    ("profile.show", "GET"): LOGGED_IN,
    ("profile.token_create", "POST"): LOGGED_IN,
    ("profile.token_revoke", "POST"): LOGGED_IN,
    # The JSON API takes bearer tokens only: anonymous is 401 there, not a login redirect
    # (see test_access_matrix), and a logged-in browser is anonymous to it.
    ("api.openapi", "GET"): EVERYONE,
    ("api.contract_list", "GET"): LOGGED_IN,
    ("api.contract_detail", "GET"): LOGGED_IN,
    ("api.contract_create", "POST"): EDITORS,
    ("api.contract_update", "PATCH"): EDITORS,
    ("api.supplier_list", "GET"): LOGGED_IN,
    ("api.supplier_detail", "GET"): LOGGED_IN,
    ("api.supplier_create", "POST"): EDITORS,
    ("api.unit_list", "GET"): LOGGED_IN,
    ("api.unit_detail", "GET"): LOGGED_IN,
    ("api.category_list", "GET"): LOGGED_IN,
    ("api.category_detail", "GET"): LOGGED_IN,
    # Follow-up plans, activities and deviations. Completing activities and recording or
    # closing deviations is also open to the contract's owner and manager (and to whoever
    # is responsible for the activity): see tests/test_followup_plans.py.
    ("followup.plan_detail", "GET"): LOGGED_IN,
    ("followup.plan_build", "GET"): EDITORS,
    ("followup.plan_build", "POST"): EDITORS,
    ("followup.activity_add", "POST"): EDITORS,
    ("followup.activity_detail", "GET"): LOGGED_IN,
    ("followup.activity_done", "POST"): EDITORS,
    ("followup.activity_skip", "POST"): EDITORS,
    ("followup.activity_reopen", "POST"): EDITORS,
    ("followup.activity_edit", "POST"): EDITORS,
    ("followup.activity_attachment", "GET"): LOGGED_IN,
    ("followup.mine", "GET"): LOGGED_IN,
    ("followup.deviation_list", "GET"): LOGGED_IN,
    ("followup.deviation_add", "POST"): EDITORS,
    ("followup.deviation_close", "POST"): EDITORS,
    # Category prioritisation and method templates.
    ("followup.priorities", "GET"): OFFICE_AND_AUDITORS,
    ("followup.category_assess", "GET"): EDITORS,
    ("followup.category_assess", "POST"): EDITORS,
    ("followup.worklist", "GET"): OFFICE_AND_AUDITORS,
    ("followup.worklist_build", "GET"): EDITORS,
    ("followup.worklist_build", "POST"): EDITORS,
    ("followup.template_list", "GET"): LOGGED_IN,
    ("followup.template_detail", "GET"): LOGGED_IN,
    ("followup.template_new", "GET"): EDITORS,
    ("followup.template_new", "POST"): EDITORS,
    ("followup.template_edit", "GET"): EDITORS,
    ("followup.template_edit", "POST"): EDITORS,
    ("followup.rule_new", "GET"): EDITORS,
    ("followup.rule_new", "POST"): EDITORS,
    ("followup.rule_edit", "GET"): EDITORS,
    ("followup.rule_edit", "POST"): EDITORS,
    ("followup.rule_delete", "POST"): EDITORS,
    # The gains report: everyone logged in, counting only the contracts they may see.
    ("followup.gains_report", "GET"): LOGGED_IN,
    ("followup.gains_report_export", "GET"): LOGGED_IN,
    ("followup.gains_report_contracts", "GET"): LOGGED_IN,
    ("followup.gains_report_contracts_export", "GET"): LOGGED_IN,
    ("followup.gains_report_contract", "GET"): LOGGED_IN,
    ("gains_api.report", "GET"): LOGGED_IN,
    # Gain plans and entries (followup/gains/views.py). Also open to the contract's owner
    # and manager (entries: the plan's responsible person too); confirming to its owner.
    # See tests/test_gains.py; the users here own nothing.
    ("gains.gain_list", "GET"): LOGGED_IN,
    ("gains.plan_new", "GET"): EDITORS,
    ("gains.plan_new", "POST"): EDITORS,
    ("gains.plan_edit", "GET"): EDITORS,
    ("gains.plan_edit", "POST"): EDITORS,
    ("gains.plan_delete", "POST"): EDITORS,
    ("gains.entry_new", "GET"): EDITORS,
    ("gains.entry_new", "POST"): EDITORS,
    ("gains.entry_edit", "GET"): EDITORS,
    ("gains.entry_edit", "POST"): EDITORS,
    ("gains.entry_confirm", "GET"): EDITORS,
    ("gains.entry_confirm", "POST"): EDITORS,
    ("gains.entry_correct", "POST"): EDITORS,
    # The mail outbox (jobs/views.py): administrators keep it, auditors may read it.
    ("jobs.outbox_list", "GET"): ADMIN | {Role.AUDITOR.value},
    ("jobs.outbox_detail", "GET"): ADMIN | {Role.AUDITOR.value},
    ("jobs.outbox_resend", "POST"): ADMIN,
    # Reminder settings (jobs/settings_views.py). Snoozing is also open to the contract's
    # owner and manager (see tests/test_notify_settings.py); the users here own nothing.
    ("notify.contract_reminders", "GET"): LOGGED_IN,
    ("notify.lead_times_save", "POST"): EDITORS,
    ("notify.snooze_save", "POST"): EDITORS,
    ("notify.snooze_end", "POST"): EDITORS,
    ("notify.settings_page", "GET"): LOGGED_IN,
    ("notify.settings_save", "POST"): LOGGED_IN,
    ("notify.calendar_create", "POST"): LOGGED_IN,
    ("notify.calendar_revoke", "POST"): LOGGED_IN,
    # No login: the token in the URL is the key; an unknown one is not found (404).
    ("notify.calendar_feed", "GET"): EVERYONE,
    # Impartiality declarations (contracts/integrity/views_declarations.py). Declaring is
    # open only to the people involved in the contract, for themselves (never auditors);
    # the users here are involved in nothing. See tests/test_declarations.py.
    ("integrity.declaration_list", "GET"): LOGGED_IN,
    ("integrity.declaration_submit", "POST"): frozenset(),
    ("integrity.declaration_review", "POST"): EDITORS,
    ("integrity.involved_add", "POST"): EDITORS,
    ("integrity.involved_remove", "POST"): EDITORS,
    ("integrity.declaration_overview", "GET"): OFFICE_AND_AUDITORS,
    # Red flags (contracts/integrity/views_flags.py); acknowledging: see AUDITOR_STATEMENTS.
    ("integrity.flag_list", "GET"): OFFICE_AND_AUDITORS,
    ("integrity.flag_export", "GET"): OFFICE_AND_AUDITORS,
    ("integrity.flag_recompute", "POST"): EDITORS,
    ("integrity.flag_acknowledge", "POST"): OFFICE_AND_AUDITORS,
    # The audit trail (contracts/integrity/views_trail.py): read-only, admins and auditors;
    # "verify now" only reads (see READ_ONLY_POSTS).
    ("integrity.trail", "GET"): ADMIN | {Role.AUDITOR.value},
    ("integrity.trail_export", "GET"): ADMIN | {Role.AUDITOR.value},
    ("integrity.trail_verify", "GET"): ADMIN | {Role.AUDITOR.value},
    ("integrity.trail_verify_now", "POST"): ADMIN | {Role.AUDITOR.value},
    ("integrity.checkpoint_download", "GET"): ADMIN | {Role.AUDITOR.value},
}

# POSTs that only touch the visitor's own browser session, open to everyone (auditors too).
SESSION_ONLY_POSTS = frozenset(
    {("auth.login", "POST"), ("auth.logout", "POST"), ("auth.set_locale", "POST")}
)
# POSTs about the user's own account: auditors manage their own (read-only) API tokens too,
# which changes nothing in the register.
OWN_ACCOUNT_POSTS = frozenset(
    {
        ("profile.token_create", "POST"),
        ("profile.token_revoke", "POST"),
        ("auth.password_change", "POST"),
        ("notify.settings_save", "POST"),
        ("notify.calendar_create", "POST"),
        ("notify.calendar_revoke", "POST"),
    }
)

# The one write auditors may make: acknowledging a red flag with a comment is the auditor's
# own statement about it (issue 7), changes nothing in the register, and is audited.
AUDITOR_STATEMENTS = frozenset({("integrity.flag_acknowledge", "POST")})
# POSTs that only read: "verify now" recomputes the audit chain and records only that it ran.
READ_ONLY_POSTS = frozenset({("integrity.trail_verify_now", "POST")})
AUDITOR_STATEMENTS = AUDITOR_STATEMENTS | READ_ONLY_POSTS

# Minimal form data per POST; the rest post nothing and get a form error or a redirect.
FORM_DATA = {("auth.set_locale", "POST"): {"locale": "nb"}}

_RULE = {
    "kind": "risk_review",
    "title": "Halvårlig risikogjennomgang",
    "anchor": "start",
    "offset_days": "180",
    "recurrence": "half_yearly",
    "responsible": "owner",
}

_GAIN_PLAN = {
    "gain_type": "lower_price",
    "description": "Lavere pris",
    "method": "price_difference",
    "baseline_unit_price": "120",
    "contract_unit_price": "100",
    "annual_volume": "12 000",
    "entry_period": "month",
    "period_start": "2026-01-01",
    "period_end": "2026-12-31",
}

_NEW_USER = {
    "email": "ny.bruker@test.kommune.no",
    "name": "Ny Bruker",
    "role": "procurement",
    "unit_id": "",
    "is_active": "y",
    "password": "a long enough password",
}


def valid_form_data(endpoint: str, world: World) -> dict[str, str]:
    """Valid data per POST, so that a request that wrongly got through would change something."""
    contract = {
        "reference": "GYLDIG-1",
        "title": "Brøyting av kommunale veier",
        "supplier": world.supplier_org,
        "category_id": str(world.category_id),
        "unit_id": str(world.unit_id),
        "procedure": "open_competition",
        "start_date": "2026-01-01",
        "end_date": "2027-12-31",
        "version": "1",
    }
    return {
        "auth.set_locale": {"locale": "en"},
        "auth.user_new": _NEW_USER,
        "auth.user_edit": _NEW_USER,
        "auth.password_change": {
            "current_password": factories.PASSWORD,
            "new_password": "a long enough password",
            "repeat_password": "a long enough password",
        },
        "parties.unit_new": {"name": "Ny enhet"},
        "parties.unit_edit": {"name": "Nytt enhetsnavn"},
        "parties.category_new": {"name": "Ny kategori", "kind": "services"},
        "parties.category_edit": {"name": "Nytt kategorinavn", "kind": "goods"},
        "parties.supplier_new": {"name": "Ny Leverandør AS"},
        "parties.supplier_edit": {"name": "Nytt Leverandørnavn AS"},
        "register.contract_new": contract,
        "register.contract_edit": contract,
        "register.contract_terminate": {"terminated_on": "2026-06-30"},
        "register.option_add": {"extension_months": "12", "exercise_deadline": "2027-01-01"},
        "register.option_decide": {"decision": "exercised", "decided_on": "2026-03-01"},
        "register.amendment_add": {"amended_on": "2026-03-01", "description": "Ny pris"},
        "rules.threshold_add": {
            "kind": "national",
            "value": "1 400 000",
            "valid_from": "2026-07-01",
            "source": "regjeringen.no",
        },
        "followup.plan_build": {"template_id": followup_factories.default_template_id()},
        "followup.activity_add": {
            "title": "Befaring",
            "due_date": "2026-05-01",
            "responsible_role": "manager",
        },
        "followup.activity_done": {"notes": "Gjennomført", "evidence": "Referat i arkivet"},
        "followup.activity_skip": {"skip_reason": "Ikke aktuelt i år"},
        "followup.activity_edit": {"title": "Nytt navn", "due_date": "2026-06-01"},
        "followup.deviation_add": {
            "occurred_on": "2026-02-01",
            "description": "Forsinket levering",
            "severity": "high",
            "consequence": "notice",
        },
        "followup.deviation_close": {"closed_on": "2026-03-01", "resolution": "Utbedret"},
        "followup.category_assess": {
            "supply_risk": "4",
            "financial_impact": "4",
            "wage_risk": "2",
            "rationale": "Få leverandører",
            "assessed_on": "2026-03-01",
        },
        # The world's contract is in a critical category without a plan (make_world).
        "followup.worklist_build": {"template_id": followup_factories.default_template_id()},
        "followup.template_new": {"name": "Ny metodemal"},
        "followup.template_edit": {"name": "Nytt malnavn"},
        "followup.rule_new": _RULE,
        "followup.rule_edit": _RULE,
        "gains.plan_new": _GAIN_PLAN,
        "gains.plan_edit": _GAIN_PLAN,
        "gains.entry_new": {"period_start": "2026-02-01", "period_end": "2026-02-28", "value": "1"},
        "gains.entry_edit": {
            "period_start": "2026-01-01",
            "period_end": "2026-01-31",
            "value": "2",
        },
        "gains.entry_correct": {"value": "1 000", "correction_reason": "Feil volum"},
        "notify.lead_times_save": {"expiry": "365, 30", "missing_plan": "14"},
        "notify.snooze_save": {"target": "expiry", "until": "2026-06-01"},
        "notify.snooze_end": {"target": "expiry"},
        "notify.settings_save": {"option_deadline": "y"},
        "integrity.declaration_submit": {"conflict": "no"},
        "integrity.declaration_review": {"decision": "accept"},
        "integrity.involved_add": {"user_id": str(world.user_id)},
        "integrity.flag_acknowledge": {"comment": "Sett av revisor"},
    }.get(endpoint, {})


# What an allowed request may answer: a page, a redirect, a form error or an edit conflict.
ALLOWED_STATUSES = {200, 302, 409, 422}
# An import token names the user's own upload; any other token is not found (404).
# The same for API tokens: the one in the world is someone else's (revoking one's own is
# tested in test_api).
# The world's activity has no attachment: not found for whoever may see it.
EXTRA_ALLOWED = {
    "exchange.import_preview": {404},
    "profile.token_revoke": {404},
    "followup.activity_attachment": {404},
    "notify.calendar_feed": {404},
    "integrity.checkpoint_download": {404},  # no checkpoint has been signed in the world
}
# What an allowed API request may answer: JSON, created, a validation error or a conflict.
API_ALLOWED_STATUSES = {200, 201, 409, 422}


def is_api(endpoint: str) -> bool:
    """The JSON API: bearer tokens instead of the session cookie, 401 instead of login."""
    return endpoint.startswith(("api.", "gains_api."))


def valid_api_body(endpoint: str, world: World) -> dict | None:
    """A valid JSON body per API write, so that a request wrongly let through would change
    something."""
    from contracts.register.models import Contract

    return {
        "api.contract_create": {
            "reference": "GYLDIG-API-1",
            "title": "Brøyting av kommunale veier",
            "supplier_id": world.supplier_id,
            "category_id": world.category_id,
            "unit_id": world.unit_id,
            "start_date": "2026-01-01",
        },
        "api.contract_update": {
            "title": "Nytt navn",
            "version": Session.get(Contract, world.contract_id).version,
        },
        "api.supplier_create": {"name": "Ny Leverandør AS"},
    }.get(endpoint)


def api_client(app, who: str):
    """A test client and the headers of a new user's API token (none for anonymous)."""
    if who == ANONYMOUS:
        return app.test_client(), {}
    user = factories.make_user(Role(who))
    return app.test_client(), {"Authorization": f"Bearer {factories.make_api_token(user)}"}


CASES = [
    pytest.param(endpoint, method, who, id=f"{endpoint}-{method}-{who}")
    for (endpoint, method) in ACCESS
    for who in (ANONYMOUS, *ROLES)
]


def _routes(app) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


@dataclass
class World:
    """One of everything a URL can point at."""

    contract_id: int
    option_id: int
    unit_id: int
    category_id: int
    supplier_id: int
    supplier_org: str
    user_id: int
    threshold_id: int
    api_token_id: int = 0
    job_id: int = 0
    activity_id: int = 0
    deviation_id: int = 0
    template_id: int = 0
    rule_id: int = 0
    outbox_message_id: int = 0
    gain_plan_id: int = 0
    gain_entry_id: int = 0
    declaration_id: int = 0
    involved_id: int = 0
    flag_id: int = 0

    def arguments(self, endpoint: str, names: set[str]) -> dict[str, int | str]:
        by_name = {
            "contract_id": self.contract_id,
            "option_id": self.option_id,
            "user_id": self.user_id,
            "threshold_id": self.threshold_id,
            "fmt": "csv",
            "token": "someone-elses-upload",
            "supplier_id": self.supplier_id,
            "unit_id": self.unit_id,
            "category_id": self.category_id,
            # Someone else's API token: not found for whoever asks (see EXTRA_ALLOWED).
            "token_id": self.api_token_id,
            "job_id": self.job_id,
            "activity_id": self.activity_id,
            "deviation_id": self.deviation_id,
            "template_id": self.template_id,
            "rule_id": self.rule_id,
            "message_id": self.outbox_message_id,
            "gain_plan_id": self.gain_plan_id,
            "entry_id": self.gain_entry_id,
            "declaration_id": self.declaration_id,
            "involved_id": self.involved_id,
            "flag_id": self.flag_id,
        }
        if endpoint == "notify.calendar_feed":
            by_name["token"] = "cal_nobodys"  # a calendar token nobody has: 404 for all
        if endpoint.startswith("parties.unit_"):
            by_name["obj_id"] = self.unit_id
        elif endpoint.startswith("parties.category_"):
            by_name["obj_id"] = self.category_id
        elif endpoint.startswith("parties.supplier_"):
            by_name["obj_id"] = self.supplier_id
        missing = names - set(by_name)
        assert not missing, f"no test object for {endpoint} arguments {sorted(missing)}"
        return {name: by_name[name] for name in names}


def _template_objects(contract) -> tuple[int, int]:
    """The default template and its first rule. The contract's category is made critical, so
    a wrongly allowed bulk build from the worklist would give the contract a plan."""
    from followup import services as followup_services

    followup_services.assess_category(
        contract.category_id,
        assessed_on=date(2026, 3, 1),
        supply_risk=5,
        financial_impact=5,
        wage_risk=3,
        rationale="Kritisk",
        assessed_by=None,
    )
    template = followup_services.default_template()
    return template.id, template.rules[0].id


def _dead_outbox_message() -> int:
    """A failed e-mail, so that a resend wrongly let through would change (and audit) it."""
    from jobs import outbox
    from jobs.models import OutboxStatus

    message = outbox.enqueue(
        key="world:dead", to_address="eier@test.kommune.no", subject="Frist", body_text="Tekst"
    )
    message.status = OutboxStatus.DEAD
    Session.flush()
    return message.id


def _gain_objects(contract, owner: User) -> tuple[int, int]:
    """A gain plan with an estimated January on the world's contract, so that a confirmation
    or correction wrongly let through would change (and audit) it."""
    from tests import gain_factories

    plan = gain_factories.make_gain_plan(contract)
    return plan.id, gain_factories.make_entry(plan, owner).id


def _integrity_objects(contract, owner: User) -> tuple[int, int, int]:
    """The owner's declaration, a person involved and a red flag on the world's contract,
    so that a review, removal or acknowledgement wrongly let through would change (and
    audit) them."""
    from contracts.integrity import declarations
    from contracts.integrity.flags import RedFlag

    declaration = declarations.declare(contract, owner, date(2026, 3, 1))
    involved = declarations.add_involved(contract, factories.make_user(Role.OWNER), None, owner)
    flag = RedFlag(
        key=f"direct_award:{contract.id}",
        rule="direct_award",
        contract_id=contract.id,
        details={},
        first_seen_on=date(2026, 3, 1),
        last_seen_on=date(2026, 3, 1),
    )
    Session.add(flag)
    Session.flush()
    return declaration.id, involved.id, flag.id


def make_world(contract_owner: User | None = None) -> World:
    """Create one object for every kind of URL argument."""
    contract_owner = contract_owner or factories.make_user(Role.OWNER)
    contract = factories.make_contract(owner_id=contract_owner.id)
    option = register_services.add_option(contract, 12, date(2027, 6, 1))
    supplier = factories.make_supplier()
    world = World(
        contract_id=contract.id,
        option_id=option.id,
        unit_id=factories.make_unit().id,
        category_id=factories.make_category().id,
        supplier_id=supplier.id,
        supplier_org=supplier.org_number,
        user_id=factories.make_user(Role.OWNER).id,
        threshold_id=Session.scalar(select(Threshold.id).limit(1)),
    )
    world.job_id = factories.make_import_job().id
    world.activity_id, world.deviation_id = followup_factories.world_objects(contract_owner)
    world.template_id, world.rule_id = _template_objects(contract)
    world.outbox_message_id = _dead_outbox_message()
    world.gain_plan_id, world.gain_entry_id = _gain_objects(contract, contract_owner)
    world.declaration_id, world.involved_id, world.flag_id = _integrity_objects(
        contract, contract_owner
    )
    factories.make_api_token(contract_owner)
    world.api_token_id = Session.scalar(
        select(ApiToken.id).where(ApiToken.user_id == contract_owner.id)
    )
    return world


@pytest.fixture
def world() -> World:
    return make_world()


def _url(app, world: World, endpoint: str) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    adapter = app.url_map.bind("localhost")
    return adapter.build(endpoint, world.arguments(endpoint, set(rule.arguments)))


def _is_login_redirect(response, path: str) -> bool:
    if response.status_code != 302:
        return False
    location = urlsplit(response.headers["Location"])
    return location.path == "/login" and parse_qs(location.query).get("next") == [path]


def test_every_route_is_in_the_table(app):
    routes = _routes(app)
    assert routes - set(ACCESS) == set(), "routes without an access entry"
    assert set(ACCESS) - routes == set(), "access entries for routes that no longer exist"


def test_auditors_are_refused_every_state_changing_route():
    changing = (
        {key for key in ACCESS if key[1] != "GET"}
        - SESSION_ONLY_POSTS
        - OWN_ACCOUNT_POSTS
        - AUDITOR_STATEMENTS
    )
    assert changing
    assert {key for key in changing if Role.AUDITOR.value in ACCESS[key]} == set()


# Settings a route needs to be on at all.
CONFIG = {"exchange.ocds_public": {"OCDS_PUBLIC": True}}


@pytest.mark.parametrize(("endpoint", "method", "who"), CASES)
def test_access_matrix(app, client, login_as, world, endpoint, method, who, monkeypatch):
    for key, value in CONFIG.get(endpoint, {}).items():
        monkeypatch.setitem(app.config, key, value)
    if is_api(endpoint):
        _check_api_access(app, world, endpoint, method, who)
        return
    http = client if who == ANONYMOUS else login_as(who)
    path = _url(app, world, endpoint)
    data = FORM_DATA.get((endpoint, method), {})
    response = http.open(path, method=method, data=data if method == "POST" else None)

    if who in ACCESS[(endpoint, method)]:
        allowed = ALLOWED_STATUSES | EXTRA_ALLOWED.get(endpoint, set())
        assert response.status_code in allowed, (who, response.status_code)
        assert not _is_login_redirect(response, path)
    elif who == ANONYMOUS:
        assert _is_login_redirect(response, path), (response.status_code, response.location)
    else:
        assert response.status_code == 403


def _check_api_access(app, world: World, endpoint: str, method: str, who: str) -> None:
    http, headers = api_client(app, who)
    path = _url(app, world, endpoint)
    response = http.open(path, method=method, headers=headers, json=valid_api_body(endpoint, world))
    assert response.is_json, (who, response.status_code)
    if who in ACCESS[(endpoint, method)]:
        assert response.status_code in API_ALLOWED_STATUSES, (who, response.status_code)
    elif who == ANONYMOUS:
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(
    ("endpoint", "method"),
    sorted(
        (e, m)
        for e, m in set(ACCESS) - SESSION_ONLY_POSTS - OWN_ACCOUNT_POSTS - AUDITOR_STATEMENTS
        if m != "GET"
    ),
)
def test_refused_auditor_changes_nothing(app, login_as, world, db, endpoint, method):
    """A refused POST leaves no trace in the audit trail but the refusal itself (so nothing
    was changed)."""
    if is_api(endpoint):
        auditor, headers = api_client(app, "auditor")
        kwargs = {"headers": headers, "json": valid_api_body(endpoint, world)}
    else:
        auditor = login_as("auditor")
        kwargs = {"data": valid_form_data(endpoint, world)}
    changes = select(func.count()).where(AuditEvent.action != "access_refused")
    before = db.scalar(changes)
    response = auditor.open(_url(app, world, endpoint), method=method, **kwargs)
    assert response.status_code == 403
    assert db.scalar(changes) == before


# --- the contract's owner and options --------------------------------------------------


def test_contract_owner_decides_options(app, login_as, db):
    owner = login_as("owner")
    contract = factories.make_contract(owner_id=owner.user.id)
    option = register_services.add_option(contract, 12, date(2027, 6, 1))
    response = owner.post(
        f"/contracts/{contract.id}/options/{option.id}/decision",
        data={"decision": "exercised", "decided_on": "2026-03-01"},
    )
    assert response.status_code == 302
    assert db.get(ContractOption, option.id).decision == OptionDecision.EXERCISED


def test_auditor_named_as_owner_still_cannot_decide_options(login_as, db):
    auditor = login_as("auditor")
    contract = factories.make_contract(owner_id=auditor.user.id)
    option = register_services.add_option(contract, 12, date(2027, 6, 1))
    response = auditor.post(
        f"/contracts/{contract.id}/options/{option.id}/decision",
        data={"decision": "exercised", "decided_on": "2026-03-01"},
    )
    assert response.status_code == 403
    db.expire_all()
    assert db.get(ContractOption, option.id).decision == OptionDecision.PENDING


# --- confidential contracts ------------------------------------------------------------
# The contract's own pages here; every route of its objects (plans, activities, options,
# gains, declarations, flags ...), every method, and the lists and exports: in
# tests/test_object_access.py.


@pytest.fixture
def confidential():
    """A confidential contract of one unit, with its owner and manager."""
    unit = factories.make_unit()
    owner = factories.make_user(Role.OWNER)
    manager = factories.make_user(Role.OWNER)
    contract = factories.make_contract(
        title="Hemmelig barnevernsavtale",
        unit_id=unit.id,
        owner_id=owner.id,
        manager_id=manager.id,
        is_confidential=True,
    )
    return contract, unit, owner, manager


def test_confidential_contract_is_hidden_from_other_owners(app, login_as, confidential):
    contract, _unit, _owner, _manager = confidential
    other = login_as("owner", unit_id=factories.make_unit().id)

    assert other.get(f"/contracts/{contract.id}").status_code == 404
    listing = other.get("/contracts")
    assert listing.status_code == 200
    assert contract.reference not in listing.text
    assert "Hemmelig barnevernsavtale" not in listing.text
    search = other.get("/contracts?q=hemmelig")
    assert search.status_code == 200
    assert "Hemmelig barnevernsavtale" not in search.text
    supplier_page = other.get(f"/suppliers/{contract.supplier_id}")
    assert supplier_page.status_code == 200
    assert contract.reference not in supplier_page.text
    start = other.get("/")
    assert contract.reference not in start.text


def test_confidential_contract_is_hidden_from_owner_without_unit(login_as, confidential):
    contract = confidential[0]
    other = login_as("owner")
    assert other.get(f"/contracts/{contract.id}").status_code == 404
    assert contract.reference not in other.get("/contracts").text


@pytest.mark.parametrize(
    "who", ["owner", "manager", "unit member", *sorted(ADMIN | EDITORS), "auditor"]
)
def test_confidential_contract_is_visible_to_those_responsible(app, login_as, confidential, who):
    contract, unit, owner, manager = confidential
    if who == "owner":
        client = app.test_client()
        factories.log_in(client, owner)
    elif who == "manager":
        client = app.test_client()
        factories.log_in(client, manager)
    elif who == "unit member":
        client = login_as("owner", unit_id=unit.id)
    else:
        client = login_as(who)

    detail = client.get(f"/contracts/{contract.id}")
    assert detail.status_code == 200
    assert "Hemmelig barnevernsavtale" in detail.text
    listing = client.get("/contracts")
    assert contract.reference in listing.text
