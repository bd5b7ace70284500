"""Universal design (WCAG 2.1 AA, as the Norwegian regulation requires): axe-core in Chromium
on every page as each role, forms in their error state, and the keyboard."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from contracts.auth.models import Role, User
from contracts.db import Session
from tests import factories
from tests.gain_factories import make_entry
from tests.test_access import ACCESS, ANONYMOUS, World, is_api, make_world
from tests.test_browser import log_in

pytestmark = pytest.mark.browser

# Most privileged first: every page is checked as the first of these allowed to see it.
PRIVILEGE = (Role.ADMIN.value, Role.PROCUREMENT.value, Role.AUDITOR.value, Role.OWNER.value)
BLOCKING = frozenset({"serious", "critical"})
# axe-core as axe-playwright-python ships it. Axe.run() injects axe.min.js with
# page.evaluate() on every call; here it is added once per browser context as an init script
# instead (600 kB over the DevTools protocol per page is most of the time otherwise). Both go
# through the DevTools protocol, which the page's CSP (script-src 'self') does not govern, so
# the contexts keep the CSP on (no bypass_csp) and pages are checked as users get them:
# test_axe_runs_under_our_csp makes sure axe-core really runs.
AXE_SCRIPT = Axe().axe_script
# WCAG 2.0/2.1 A and AA, and Deque's best practices (landmarks, heading order, skip link).
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
}
# Pages every role reaches from its start page or a contract, besides the main menu.
ROLE_PAGES = ("register.contract_detail", "followup.plan_detail", "notify.settings_page")
POSITIVE_TABINDEX = """() => [...document.querySelectorAll('[tabindex]')]
    .filter((element) => element.tabIndex > 0).map((element) => element.outerHTML.slice(0, 120))"""
# WCAG 2.1's 4.1.1; axe-core 4.x checks only the ids that ARIA attributes refer to.
DUPLICATE_IDS = """() => {
    const counts = {};
    document.querySelectorAll('[id]').forEach((element) => {
        counts[element.id] = (counts[element.id] || 0) + 1;
    });
    return Object.keys(counts).filter((id) => counts[id] > 1);
}"""


def _axe_violations(page) -> list[dict]:
    """What axe-core finds on the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    return page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]


@dataclass
class Findings:
    """Axe violations per page, reported all at once so that one run lists everything."""

    problems: list[str] = field(default_factory=list)
    pages: int = 0

    def check(self, page, who: str) -> None:
        """Run axe-core on the page as it is now; note serious and critical violations."""
        self.pages += 1
        url = urlsplit(page.url)
        where = f"[{who}] {url.path}{'?' + url.query if url.query else ''}"
        for violation in _axe_violations(page):
            if violation["impact"] not in BLOCKING:
                continue
            targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"][:8])
            self.problems.append(
                f"{where}: {violation['id']} ({violation['impact']}): {violation['help']}\n"
                f"    targets: {targets}\n    see {violation['helpUrl']}"
            )
        for html in page.evaluate(POSITIVE_TABINDEX):
            self.problems.append(f"{where}: positive tabindex breaks the tab order: {html}")
        for duplicate in page.evaluate(DUPLICATE_IDS):
            self.problems.append(f"{where}: duplicate id: #{duplicate}")

    def assert_clean(self) -> None:
        assert self.pages, "no page was checked"
        assert not self.problems, (
            f"{len(self.problems)} serious or critical accessibility problems on "
            f"{self.pages} pages:\n" + "\n".join(self.problems)
        )


def _browse_as(browser, live_server, user: User | None):
    """One browser context for a person, logged in through the real form."""
    context = browser.new_context(base_url=live_server, locale="nb-NO")
    context.set_default_timeout(10_000)
    context.add_init_script(AXE_SCRIPT)
    page = context.new_page()
    if user is not None:
        page.goto("/login")
        log_in(page, user)
        expect(page).not_to_have_url(re.compile(r"/login"))
    return context, page


@dataclass
class Setup:
    users: dict[str, User]
    world: World
    urls: dict[str, str]  # endpoint -> a URL of it in the world


def _setup(app) -> Setup:
    """One user per role, make_world's objects (the owner role's user owns the contract, so
    their pages show it), a confirmed gain so the gains report draws its chart, and an upload
    of the administrator's to preview."""
    from contracts.exchange import uploads
    from followup.gains.models import GainPlan
    from followup.models import Activity

    users = {role: factories.make_user(role=Role(role)) for role in PRIVILEGE}
    world = make_world(contract_owner=users[Role.OWNER.value])
    plan = Session.get(GainPlan, world.gain_plan_id)
    make_entry(
        plan,
        users[Role.OWNER.value],
        period_start=date(2026, 2, 1),
        period_end=date(2026, 2, 28),
        confirm=True,
    )
    sheet = Path(__file__).parent / "data" / "kontrakter_teknisk.xlsx"
    token = uploads.keep(sheet.read_bytes(), sheet.name, users[Role.ADMIN.value].id)
    Session.commit()

    # The world's contract has no plan; the one its activity belongs to has (and a deviation).
    followed = {"contract_id": Session.get(Activity, world.activity_id).contract_id}
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    adapter = app.url_map.bind("localhost")
    urls = {}
    for endpoint, method in ACCESS:
        if method == "GET" and not is_api(endpoint):
            arguments = world.arguments(endpoint, set(rules[endpoint].arguments))
            if endpoint == "exchange.import_preview":
                arguments["token"] = token
            elif endpoint in ("followup.plan_detail", "followup.deviation_list"):
                arguments.update(followed)
            urls[endpoint] = adapter.build(endpoint, arguments)
    return Setup(users, world, urls)


def _most_privileged(allowed: frozenset[str]) -> str | None:
    """Who checks a page: anonymous visitors the public ones, else the mightiest role."""
    if ANONYMOUS in allowed:
        return ANONYMOUS
    return next((role for role in PRIVILEGE if role in allowed), None)


def _pages_for(who: str, setup: Setup) -> list[str]:
    """Every GET page whose most privileged visitor is `who`, from the access table (so a new
    page is checked without changing this file)."""
    return [
        url
        for (endpoint, method), allowed in sorted(ACCESS.items())
        if method == "GET" and not is_api(endpoint) and _most_privileged(allowed) == who
        for url in [setup.urls[endpoint]]
    ]


def _check_pages(page, who: str, urls, findings: Findings) -> None:
    seen = set()
    for url in urls:
        if url in seen:
            continue
        seen.add(url)
        try:
            response = page.goto(url)
        except PlaywrightError as error:  # an attachment (CSV, XLSX, ZIP) is no page
            if "Download is starting" in str(error):
                continue
            raise
        # Neither are JSON and calendar feeds.
        if response.headers.get("content-type", "").startswith("text/html"):
            findings.check(page, who)


def test_axe_runs_under_our_csp(page, live_server):
    """A missing alt text planted in the login page is found: axe-core really ran."""
    page.goto("/login")
    page.evaluate("() => document.querySelector('main').append(document.createElement('img'))")
    assert "image-alt" in {violation["id"] for violation in _axe_violations(page)}


def test_public_pages(app, browser, live_server):
    """The login page and the error pages, as an anonymous visitor."""
    setup = _setup(app)
    findings = Findings()
    context, page = _browse_as(browser, live_server, None)
    try:
        _check_pages(page, ANONYMOUS, _pages_for(ANONYMOUS, setup), findings)
        page.goto("/no-such-page")
        findings.check(page, ANONYMOUS)
    finally:
        context.close()
    findings.assert_clean()


@pytest.mark.parametrize("role", PRIVILEGE)
def test_pages_as_each_role(app, browser, live_server, role):
    """Each role's main menu, its contract pages, and every page it is the most privileged
    role to see (for administrators: nearly every page of the app)."""
    setup = _setup(app)
    findings = Findings()
    context, page = _browse_as(browser, live_server, setup.users[role])
    try:
        page.goto("/")
        menu = page.locator("header nav a[href]").evaluate_all(
            "links => links.map((link) => link.getAttribute('href'))"
        )
        assert menu, "the main menu is missing"
        urls = [*menu, *(setup.urls[endpoint] for endpoint in ROLE_PAGES)]
        _check_pages(page, role, [*urls, *_pages_for(role, setup)], findings)
        if role == Role.OWNER.value:
            page.goto("/admin/users")  # the page a refused user gets
            findings.check(page, role)
    finally:
        context.close()
    findings.assert_clean()


# --- forms in their error state --------------------------------------------------------

FIELD_ERROR = """(target) => {
    const holders = [target, target.closest('fieldset')].filter(Boolean);
    const ids = holders.flatMap((el) => (el.getAttribute('aria-describedby') || '').split(/\\s+/));
    const messages = ids.map((id) => id && document.getElementById(id)).filter(Boolean)
        .filter((el) => el.classList.contains('ds-validation-message') && el.textContent.trim());
    return {
        invalid: holders.some((el) => el.getAttribute('aria-invalid') === 'true')
            || target.getAttribute('aria-invalid') === 'true',
        message: messages.map((el) => el.textContent.trim()).join(' '),
    };
}"""


def _check_error_state(page, who: str, expected_fields: set[str]) -> None:
    """The error summary is on top and focused; each of its links names a field that says it
    is invalid, points at its message, and gets the focus when the link is followed."""
    summary = page.locator("[data-error-summary]")
    expect(summary).to_have_count(1)
    expect(summary).to_be_focused()
    form = page.locator("form:has([aria-invalid=true])")
    expect(form).to_have_count(1)
    assert summary.evaluate(
        "(summary, form) => Boolean(summary.compareDocumentPosition(form)"
        " & Node.DOCUMENT_POSITION_FOLLOWING)",
        form.element_handle(),
    ), "the error summary must come before the form"

    links = summary.locator("a")
    hrefs = links.evaluate_all("links => links.map((link) => link.getAttribute('href'))")
    assert hrefs and all(href.startswith("#") for href in hrefs), hrefs
    linked = {href[1:] for href in hrefs}
    missing = {
        name
        for name in expected_fields
        if not any(re.fullmatch(rf"{name}(-0)?", i) for i in linked)
    }
    assert not missing, f"no summary link to {sorted(missing)} in {sorted(linked)}"
    for index, href in enumerate(hrefs):
        target = page.locator(f"[id='{href[1:]}']")
        expect(target).to_have_count(1)
        state = target.evaluate(FIELD_ERROR)
        assert state["invalid"], f"{href} has no aria-invalid=true"
        assert state["message"], f"{href} is not aria-describedby its error message"
        summary_text = links.nth(index).inner_text()
        assert state["message"] in summary_text, (state["message"], summary_text)
        links.nth(index).click()
        expect(target).to_be_focused()
    findings = Findings()
    findings.check(page, who)
    findings.assert_clean()


def test_contract_form_errors(page, live_server):
    officer = factories.make_user(role=Role.PROCUREMENT)
    Session.commit()
    page.goto("/login")
    log_in(page, officer)
    page.goto("/contracts/new")
    page.locator("form[method=post] button[type=submit]").last.click()
    _check_error_state(page, "procurement", {"reference", "title", "supplier", "start_date"})


def test_user_form_errors(page, live_server):
    admin = factories.make_user(role=Role.ADMIN)
    Session.commit()
    page.goto("/login")
    log_in(page, admin)
    page.goto("/admin/users/new")
    page.fill("#email", "not an address")
    page.locator("main form button[type=submit]").click()
    _check_error_state(page, "admin", {"email", "name"})


def test_followup_assessment_form_errors(page, live_server):
    """Radio buttons in fieldsets: the summary links to the first button of each."""
    officer = factories.make_user(role=Role.PROCUREMENT)
    category = factories.make_category("Renhold")
    Session.commit()
    page.goto("/login")
    log_in(page, officer)
    page.goto(f"/followup/categories/{category.id}/assess")
    page.locator("main form button[type=submit]").click()
    _check_error_state(page, "procurement", {"supply_risk", "financial_impact", "wage_risk"})


def test_form_in_a_table_row_errors(page, live_server):
    """Closing a deviation from its row: the summary on top links to that row's fields."""
    from tests.followup_factories import make_deviation

    officer = factories.make_user(role=Role.PROCUREMENT)
    contract = factories.make_contract()
    deviation = make_deviation(contract, officer)
    Session.commit()
    page.goto("/login")
    log_in(page, officer)
    page.goto(f"/contracts/{contract.id}/deviations")
    row = page.locator(f"tr[data-deviation='{deviation.id}']")
    row.locator("summary").click()
    row.locator("form button[type=submit]").click()
    _check_error_state(
        page, "procurement", {f"closed_on-{deviation.id}", f"resolution-{deviation.id}"}
    )


# --- the keyboard ----------------------------------------------------------------------

FOCUSABLE = """() => {
    const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary,'
        + ' [tabindex]:not([tabindex="-1"])';
    const scope = [...document.querySelectorAll('header, main form[method=post]')];
    const elements = scope.flatMap((root) => [...root.querySelectorAll(selector)])
        .filter((el) => !el.disabled && el.getClientRects().length);
    elements.forEach((el, index) => { el.dataset.kb = String(index); });
    return elements.map((el) => el.outerHTML.slice(0, 100));
}"""
FOCUS_STATE = """() => {
    const el = document.activeElement;
    const shows = (node) => {
        const style = node && getComputedStyle(node);
        return Boolean(style) && ((style.outlineStyle !== 'none'
            && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none');
    };
    return {
        kb: el.dataset ? el.dataset.kb : undefined,
        html: el.outerHTML.slice(0, 100),
        skip: el.classList.contains('ds-skip-link'),
        width: el.getBoundingClientRect().width,
        visible: shows(el) || shows(el.closest(".ds-field")),
    };
}"""


def test_skip_link_and_tab_order(page, live_server):
    """Tab from the top: the skip link first, and it takes focus to <main>; every link of the
    main menu and every control of the contract form is reached, each with a visible focus."""
    officer = factories.make_user(role=Role.PROCUREMENT)
    factories.make_category("Renhold")
    factories.make_unit("Teknisk")
    Session.commit()
    page.goto("/login")
    log_in(page, officer)
    page.goto("/contracts/new")

    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_attribute("href", "#main")
    expect(skip).to_have_text(re.compile("Gå til hovedinnholdet|Skip to main content"))
    assert skip.bounding_box()["width"] > 1, "the skip link must show when it has focus"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    page.goto("/contracts/new")
    expected = page.evaluate(FOCUSABLE)
    reached, invisible = set(), []
    for _ in range(len(expected) + 40):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_STATE)
        if state["skip"]:
            assert state["width"] > 1
        elif not state["visible"]:
            invisible.append(state["html"])
        if state["kb"] is not None:
            reached.add(int(state["kb"]))
        if len(reached) == len(expected):
            break
    unreached = [html for index, html in enumerate(expected) if index not in reached]
    assert not unreached, f"not reachable by Tab: {unreached}"
    assert not invisible, f"no visible focus indicator on: {invisible}"
