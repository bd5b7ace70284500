"""The users of the load test (benchmarks/load_test.py starts locust with this file).

Not meant to be run on its own: the driver writes the accounts, tokens and contract ids
of a seeded database to a JSON file and names it in LOAD_TEST_CONFIG. Four kinds of user:

* Officer (procurement officer, web): the contract list with search terms, filters,
  sorting and next pages; contract pages; the start page; My follow-up; the supplier
  list; now and then an edit through the web form.
* Owner (contract owner, web): the start page, My follow-up, their own contracts.
* ApiClient (another system, bearer token): API lists and contracts, now and then a PATCH
  with If-Match.
* Editor (exactly two): edit the same few contracts over and over, through the web form
  and the API in turn, so that their saves collide.

Every edit appends a unique marker to the contract's notes, using the version it read.
A conflict (409) is the correct answer to a stale version: it is counted, the contract is
read again and the edit retried. Each acknowledged edit and each conflict is written as
a JSON line to the results file; the driver checks afterwards that every acknowledged
marker is in the database (a missing one is a lost update).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

CONFIG: dict[str, Any] = json.loads(Path(os.environ["LOAD_TEST_CONFIG"]).read_text("utf-8"))
RUN = CONFIG["run_id"]
RETRIES = 5  # attempts per edit; each conflict re-reads the contract first
EXCLUDED = frozenset(CONFIG.get("exclude", ()))  # request kinds left out (--exclude)

NEXT_LINK = re.compile(
    r'<a[^>]*\brel="next"[^>]*\bhref="([^"]+)"|<a[^>]*\bhref="([^"]+)"[^>]*\brel="next"'
)
DETAIL_LINK = re.compile(r'href="/contracts/(\d+)"')
CONTRACT_URL = re.compile(r"/contracts/(\d+)$")


# --- results shared with the driver ------------------------------------------------------

_results = Path(CONFIG["results_path"]).open("a", encoding="utf-8")  # noqa: SIM115
_tags = itertools.count(1)
_accounts: dict[str, itertools.cycle] = {}


def record(kind: str, **fields: Any) -> None:
    """One line for the driver: an acknowledged edit ("ack") or a conflict."""
    _results.write(json.dumps({"t": kind, **fields}) + "\n")
    _results.flush()


@events.quitting.add_listener
def _close_results(environment, **_kwargs) -> None:
    _results.close()


def next_account(kind: str) -> dict[str, Any]:
    """The accounts of a kind in turn, so the locust users spread over them."""
    if kind not in _accounts:
        _accounts[kind] = itertools.cycle(CONFIG[kind])
    return next(_accounts[kind])


# --- HTML forms ----------------------------------------------------------------------------


class FormParser(HTMLParser):
    """The fields of each <form> on a page, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, str]] = []
        self._form: dict[str, str] | None = None
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = {}
            self.forms.append(self._form)
        elif self._form is None or "disabled" in a:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form[a["name"]] = a.get("value", "on")
            elif kind not in ("submit", "button", "image", "file", "reset"):
                self._form[a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select, self._first_option = a["name"], None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self._form[self._select] = value
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select and self._form is not None:
            # Nothing selected: a browser sends the first option.
            self._form.setdefault(self._select, self._first_option or "")
            self._select = None
        elif tag == "textarea" and self._textarea and self._form is not None:
            text = "".join(self._text)
            # A browser drops the newline right after <textarea> (WTForms writes one).
            self._form[self._textarea] = text[2:] if text.startswith("\r\n") else text
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)


def form_with(page: str, field: str) -> dict[str, str] | None:
    """The fields of the first form on the page that has the named field."""
    parser = FormParser()
    parser.feed(page)
    parser.close()
    return next((form for form in parser.forms if field in form), None)


def append_marker(notes: str | None, marker: str) -> str:
    return f"{notes} {marker}" if notes else marker


# --- users ---------------------------------------------------------------------------------


class LoadUser(FastHttpUser):
    """Common to all: a marker tag and the checks every response gets."""

    abstract = True
    wait_time = between(*CONFIG["think"])
    # Like nginx in front of gunicorn (no upstream keepalive by default): a connection per
    # request, so that gunicorn's workers share the requests rather than each keeping the
    # users that happened to connect to it first.
    default_headers = {"Connection": "close"} if CONFIG.get("close_connections", True) else None

    def on_start(self) -> None:
        self.tag = f"u{next(_tags)}"
        self.edits = itertools.count(1)

    def marker(self) -> str:
        return f"[{RUN}-{self.tag}-{next(self.edits)}]"

    def get_page(self, url: str, name: str, expect: str | None = None) -> str | None:
        """GET a page; a failure unless 200 (and, if given, the text is in the body)."""
        if name in EXCLUDED:
            return None
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return None
            body = response.text or ""
            if expect and expect not in body:
                response.failure(f"{expect!r} missing from the page")
                return None
            return body

    def get_json(self, url: str, name: str) -> tuple[dict[str, Any], str] | None:
        """GET an API resource; its JSON and ETag, or None after recording the failure."""
        if name in EXCLUDED:
            return None
        with self.client.get(
            url, name=name, headers=self.api_headers, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
                return None
            return response.json(), response.headers.get("ETag", "")

    # web ------------------------------------------------------------------------------

    def login(self, account: dict[str, Any]) -> None:
        """Log in through /login with the CSRF token, as a browser does."""
        page = self.get_page("/login", "login form")
        form = form_with(page or "", "csrf_token")
        if form is None:
            return
        form.update(email=account["email"], password=account["password"])
        with self.client.post(
            "/login", data=form, name="login", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302:
                response.failure(f"login failed: HTTP {response.status_code}")

    def web_edit(self, contract_id: int, prefix: str) -> bool:
        """Edit a contract through its form: read it, append a marker, save; retry on 409."""
        url = f"/contracts/{contract_id}/edit"
        for _attempt in range(RETRIES):
            page = self.get_page(url, f"{prefix}edit form", expect='name="version"')
            form = form_with(page or "", "version")
            if form is None:
                return False
            marker = self.marker()
            form["notes"] = append_marker(form.get("notes"), marker)
            with self.client.post(
                url, data=form, name=f"{prefix}edit save", allow_redirects=False,
                catch_response=True,
            ) as response:  # fmt: skip
                status = response.status_code
                location = response.headers.get("Location", "") if status == 302 else ""
                if status == 302 and CONTRACT_URL.search(location):
                    record("ack", contract=contract_id, marker=marker, via="web", who=self.tag,
                           version=form["version"])  # fmt: skip
                    return True
                if status == 409:
                    response.success()  # the right answer to a stale version
                    record("conflict", contract=contract_id, via="web", who=self.tag)
                    continue
                response.failure(f"edit save: HTTP {status} {location}".strip())
                return False
        return False

    # API --------------------------------------------------------------------------------

    @property
    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.account['token']}"}

    def api_patch(self, contract_id: int, prefix: str) -> bool:
        """PATCH the notes with If-Match: the version read; re-read and retry on 409."""
        url = f"/api/v1/contracts/{contract_id}"
        for _attempt in range(RETRIES):
            got = self.get_json(url, f"{prefix}api contract")
            if got is None:
                return False
            contract, etag = got
            marker = self.marker()
            body = {"notes": append_marker(contract["notes"], marker)}
            headers = {**self.api_headers, "If-Match": etag}
            with self.client.patch(
                url, json=body, headers=headers, name=f"{prefix}api patch", catch_response=True
            ) as response:
                status = response.status_code
                if status == 200:
                    saved = response.json().get("notes") or ""
                    if marker not in saved:
                        response.failure("PATCH answered 200 without the new notes")
                        return False
                    record("ack", contract=contract_id, marker=marker, via="api", who=self.tag,
                           version=etag.strip('"'))  # fmt: skip
                    return True
                if status in (409, 412):
                    response.success()
                    record("conflict", contract=contract_id, via="api", who=self.tag)
                    continue
                response.failure(f"HTTP {status}: {(response.text or '')[:200]}")
                return False
        return False


def list_params() -> dict[str, str]:
    """A contract-list query as people make them: a term, a filter or two, a sort order."""
    params: dict[str, str] = {}
    roll = random.random()
    if roll < 0.55:
        params["q"] = random.choice(CONFIG["terms"])
    if random.random() < 0.35:
        params["status"] = random.choice(["active", "expiring", "expired", "draft"])
    if random.random() < 0.25:
        params["unit"] = str(random.choice(CONFIG["units"]))
    if random.random() < 0.15:
        params["category"] = str(random.choice(CONFIG["categories"]))
    if random.random() < 0.1:
        params["expires_within"] = random.choice(["90", "180", "365"])
    if random.random() < 0.05:
        params["framework"] = random.choice(["yes", "no"])
    if random.random() < 0.4:
        params["sort"] = random.choice(["end", "supplier", "value", "title", "reference"])
        params["dir"] = random.choice(["asc", "desc"])
    return params


def query_string(params: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return "?" + urlencode(params) if params else ""


class WebUser(LoadUser):
    """A person in the browser: logged in once, then the session cookie."""

    abstract = True
    account_kind = ""

    def on_start(self) -> None:
        super().on_start()
        self.account = next_account(self.account_kind)
        self.seen: list[int] = []  # contract ids from the last list, to open one
        self.login(self.account)

    def contract_list(self, params: dict[str, str], name: str) -> str | None:
        body = self.get_page(f"/contracts{query_string(params)}", name, 'id="result-count"')
        if body:
            self.seen = [int(i) for i in DETAIL_LINK.findall(body)]
        return body

    def next_page(self, body: str | None, pages: int) -> None:
        """Follow the rel=next link a few times, as someone paging through results."""
        for _ in range(pages):
            match = NEXT_LINK.search(body or "")
            if not match:
                return
            body = self.get_page(unescape(match.group(1) or match.group(2)), "list: next page")

    def open_contract(self) -> None:
        ids = self.seen or CONFIG["contracts"]
        self.get_page(f"/contracts/{random.choice(ids)}", "contract page")


class Officer(WebUser):
    """A procurement officer: searches, reads, sometimes edits."""

    weight = 5
    account_kind = "officers"

    @task(6)
    def search(self) -> None:
        params = list_params()
        params.setdefault("q", random.choice(CONFIG["terms"]))
        body = self.contract_list(params, "list: search")
        if random.random() < 0.3:
            self.next_page(body, random.randint(1, 3))

    @task(3)
    def browse(self) -> None:
        params = list_params()
        params.pop("q", None)
        body = self.contract_list(params, "list: filter")
        if random.random() < 0.4:
            self.next_page(body, random.randint(1, 5))

    @task(8)
    def contract(self) -> None:
        self.open_contract()

    @task(2)
    def start_page(self) -> None:
        self.get_page("/", "start page")

    @task(1)
    def my_followup(self) -> None:
        self.get_page("/followup/mine", "my follow-up")

    @task(2)
    def suppliers(self) -> None:
        term = random.choice(CONFIG["supplier_terms"]) if random.random() < 0.8 else ""
        params = {"q": term} if term else {}
        if random.random() < 0.2:
            params["page"] = str(random.randint(2, 5))
        self.get_page(f"/suppliers{query_string(params)}", "suppliers")

    @task(1)
    def edit(self) -> None:
        self.web_edit(random.choice(CONFIG["contracts"]), "")


class Owner(WebUser):
    """A contract owner: their start page, their follow-up, their contracts."""

    weight = 3
    account_kind = "owners"

    @task(3)
    def start_page(self) -> None:
        self.get_page("/", "start page")

    @task(2)
    def my_followup(self) -> None:
        self.get_page("/followup/mine", "my follow-up")

    @task(3)
    def my_contracts(self) -> None:
        params = {"owner": str(self.account["id"])}
        if random.random() < 0.3:
            params["status"] = random.choice(["active", "expiring"])
        self.contract_list(params, "list: filter")

    @task(4)
    def contract(self) -> None:
        self.open_contract()


class ApiClient(LoadUser):
    """Another system reading the register through the API, and changing a little."""

    weight = 2
    wait_time = between(*CONFIG["think"])

    def on_start(self) -> None:
        super().on_start()
        self.account = next_account("officers")

    @task(4)
    def contracts(self) -> None:
        params = {k if k != "dir" else "direction": v for k, v in list_params().items()}
        if "framework" in params:  # the API's booleans are true/false, the page's yes/no
            params["framework"] = "true" if params["framework"] == "yes" else "false"
        params["limit"] = random.choice(["20", "50", "100"])
        got = self.get_json(f"/api/v1/contracts{query_string(params)}", "api list")
        if got and got[0].get("next") and random.random() < 0.3:
            self.get_json(got[0]["next"], "api list")

    @task(4)
    def contract(self) -> None:
        self.get_json(f"/api/v1/contracts/{random.choice(CONFIG['contracts'])}", "api contract")

    @task(1)
    def patch(self) -> None:
        self.api_patch(random.choice(CONFIG["contracts"]), "")


class Editor(WebUser):
    """One of two people editing the same few contracts all the time (lost-update check)."""

    fixed_count = 2
    account_kind = "editors"
    wait_time = between(*CONFIG["editor_think"])

    @task
    def edit_shared(self) -> None:
        contract_id = random.choice(CONFIG["shared"])
        if random.random() < 0.5:
            self.web_edit(contract_id, "shared: ")
        else:
            self.api_patch(contract_id, "shared: ")
