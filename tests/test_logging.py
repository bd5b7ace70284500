"""Structured logs: the request id, the access line, unhandled errors, the scheduler's job
field, the reverse proxy's client address, and gunicorn.conf.py started for real."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess  # nosec B404
import sys
import threading
import time
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from contracts import logs
from contracts.home import services as home_services
from jobs import registry
from jobs.registry import Job

ROOT = Path(__file__).resolve().parent.parent
NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines(caplog):
    """The records written during the test, through the app's JSON handler, as dicts."""
    caplog.set_level(logging.INFO)  # the root logger's level, restored after
    stream = io.StringIO()
    handler = logs.make_handler("json", stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def _access(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "contracts.access"]


# --- the request id ------------------------------------------------------------------------


def test_each_response_carries_a_new_request_id(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert NEW_ID.fullmatch(first) and NEW_ID.fullmatch(second)
    assert first != second


def test_a_safe_incoming_request_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-01.abc_DEF-123"})
    assert response.headers["X-Request-ID"] == "lb-01.abc_DEF-123"


@pytest.mark.parametrize(
    "incoming", ["has space", "x" * 65, "<script>", "a;b", "line\u2028break", "abc$", "é"]
)
def test_an_unsafe_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})
    assert NEW_ID.fullmatch(response.headers["X-Request-ID"])


def test_error_pages_carry_the_request_id_too(client):
    response = client.get("/no-such-page", headers={"X-Request-ID": "missing-page"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "missing-page"


# --- the access line -----------------------------------------------------------------------


def test_one_access_line_per_request_with_its_fields(login_as, json_lines):
    client = login_as("procurement")
    response = client.get(
        "/contracts?q=personal+search+term", headers={"X-Request-ID": "access-test"}
    )
    assert response.status_code == 200
    [line] = _access(json_lines())
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["path"] == "/contracts"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["user_id"] == client.user.id
    assert line["request_id"] == "access-test"
    assert line["remote_addr"] == "127.0.0.1"
    assert line["time"].endswith("+00:00")
    assert "search" not in json.dumps(json_lines())  # no query string anywhere


def test_the_access_line_of_an_anonymous_request_has_no_user(client, json_lines):
    client.get("/login")
    [line] = _access(json_lines())
    assert (line["path"], line["status"], line["user_id"]) == ("/login", 200, None)


def test_every_record_written_during_a_request_carries_its_id(client, json_lines, monkeypatch):
    def database_ok():
        logging.getLogger("contracts.home").warning("checking the database")
        return True, "head"

    monkeypatch.setattr(home_services, "database_ok", database_ok)
    client.get("/healthz", headers={"X-Request-ID": "inner-record"})
    [inner] = [line for line in json_lines() if line["message"] == "checking the database"]
    assert inner["request_id"] == "inner-record"


def test_records_outside_requests_have_no_request_id(json_lines):
    logging.getLogger("contracts.test").warning("no request here")
    [line] = json_lines()
    assert "request_id" not in line and "job" not in line


# --- unhandled errors ----------------------------------------------------------------------


def test_an_unhandled_error_is_logged_with_its_trace_and_never_shown(
    app, client, json_lines, monkeypatch
):
    def database_ok():
        raise RuntimeError("boom: a detail only the log may show")

    monkeypatch.setattr(home_services, "database_ok", database_ok)
    # The tests let errors through to pytest; in production Flask answers with the 500 page.
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.get("/healthz", headers={"X-Request-ID": "broken-view"})

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "broken-view"
    page = response.get_data(as_text=True)
    for secret in ("Traceback", "RuntimeError", "boom", "home/views.py", 'File "'):
        assert secret not in page
    lines = json_lines()
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["request_id"] == "broken-view"
    assert error["message"] == "Exception on /healthz [GET]"
    assert error["traceback"].startswith("Traceback (most recent call last)")
    assert "RuntimeError: boom: a detail only the log may show" in error["traceback"]
    assert "home/views.py" in error["traceback"]
    [line] = _access(lines)
    assert (line["status"], line["request_id"]) == (500, "broken-view")


# --- formats and setup ---------------------------------------------------------------------


def test_text_lines_are_for_people():
    stream = io.StringIO()
    logger = logging.getLogger("contracts.test.text")
    logger.addHandler(logs.make_handler("text", stream))
    logger.propagate = False
    try:
        logger.warning("plain")
        with logs.job_context("send-mail"):
            logger.warning("inside a job")
    finally:
        logger.handlers.clear()
        logger.propagate = True
    first, second = stream.getvalue().splitlines()
    assert first.endswith(" WARNING contracts.test.text: plain")
    assert second.endswith(" WARNING contracts.test.text [send-mail]: inside a job")


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="LOG_FORMAT must be one of json, text"):
        logs.make_formatter("xml")


def test_logging_is_set_up_once_per_process():
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    # An app built earlier in this process without TESTING (a production-like test app)
    # has installed the handler already: start from a process without it.
    root.handlers[:] = [handler for handler in before if not logs._is_ours(handler)]
    try:
        logs.configure_logging("json", "warning")
        logs.configure_logging("text", "debug")  # a second app in the same process
        added = [handler for handler in root.handlers if logs._is_ours(handler)]
        assert len(added) == 1
        assert isinstance(added[0].formatter, logs.JsonFormatter)
        assert root.level == logging.WARNING
    finally:
        root.handlers[:] = before
        root.setLevel(level)


def test_gunicorn_logs_through_the_app_handler_and_writes_no_access_log():
    config = logs.gunicorn_logconfig("json", "info")
    assert config["root"] == {"level": "INFO", "handlers": ["app"]}
    assert config["handlers"]["app"]["()"] is logs.make_handler
    assert config["loggers"]["gunicorn.error"]["handlers"] == []
    assert config["loggers"]["gunicorn.error"]["propagate"] is True
    assert config["loggers"]["gunicorn.access"]["level"] == "CRITICAL"


# --- the scheduler's jobs ------------------------------------------------------------------


def test_a_scheduled_job_logs_with_its_name(app, json_lines, monkeypatch):
    """Through APScheduler and registry.run_scheduled, as `flask jobs run` runs jobs."""
    from apscheduler.schedulers.background import BackgroundScheduler

    done = threading.Event()

    def work(today: date) -> dict:
        logging.getLogger("jobs.test").warning("sending")
        done.set()
        return {}

    job = Job("probe", work, "cron", {"hour": 5}, misfire_grace_time=60, description="Probe")
    monkeypatch.setitem(registry.JOBS, "probe", job)
    clock = BackgroundScheduler()
    # An interval job stays in the scheduler after its run (a one-off is removed, racing
    # the shutdown below).
    clock.add_job(
        registry.run_scheduled,
        "interval",
        args=[app, "probe"],
        hours=1,
        id="probe",
        next_run_time=datetime.now(UTC),
    )
    clock.start()
    try:
        assert done.wait(10)
    finally:
        clock.shutdown(wait=True)
    [line] = [line for line in json_lines() if line["message"] == "sending"]
    assert line["job"] == "probe"
    logging.getLogger("jobs.test").warning("after")
    assert "job" not in json_lines()[-1]


def _noisy(today: date) -> dict:
    logging.getLogger("jobs.test").warning("probe ran")
    return {}


def test_run_once_logs_with_the_job_name(runner, json_lines, monkeypatch):
    job = Job("probe", _noisy, "cron", {"hour": 5}, misfire_grace_time=60, description="Probe")
    monkeypatch.setitem(registry.JOBS, "probe", job)
    assert runner.invoke(args=["jobs", "run-once", "probe"]).exit_code == 0
    lines = [line for line in json_lines() if line["logger"].startswith("jobs.")]
    assert {line["job"] for line in lines} == {"probe"}
    assert {"probe ran"} <= {line["message"] for line in lines}


# --- behind a reverse proxy ----------------------------------------------------------------


@pytest.fixture(scope="module")
def proxied_app(database_url, tmp_path_factory):
    """The app as configured behind one proxy (nginx): TRUSTED_PROXY_COUNT=1."""
    from wsgi import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "proxied",
            "TRUSTED_PROXY_COUNT": 1,
        }
    )
    app.instance_path = str(tmp_path_factory.mktemp("proxied-instance"))
    yield app
    app.extensions["engine"].dispose()


def _remote_addr(client, json_lines, **headers) -> str:
    client.get("/healthz", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    return _access(json_lines())[-1]["remote_addr"]


def test_behind_the_proxy_the_app_sees_the_client_address(proxied_app, json_lines):
    client = proxied_app.test_client()
    assert _remote_addr(client, json_lines, **{"X-Forwarded-For": "203.0.113.7"}) == ("203.0.113.7")
    # A client's own X-Forwarded-For comes first; the proxy appends the address it saw.
    spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
    assert _remote_addr(client, json_lines, **spoofed) == "203.0.113.9"
    response = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200


def test_without_trusted_proxies_forwarded_headers_are_ignored(client, json_lines):
    headers = {"X-Forwarded-For": "203.0.113.7"}
    assert _remote_addr(client, json_lines, **headers) == "127.0.0.1"


# --- gunicorn.conf.py, started for real -----------------------------------------------------


def test_gunicorn_serves_healthz_and_logs_json_lines(database_url, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "gunicorn-test",
        "GUNICORN_BIND": "127.0.0.1:0",  # gunicorn logs the port it got
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
    }
    env.pop("LOG_FORMAT", None)  # gunicorn.conf.py makes json the default
    log = (tmp_path / "gunicorn.log").open("w+")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(  # noqa: S603  # nosec B603
        [str(gunicorn)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        port = _wait_for(log, r"Listening at: http://127\.0\.0\.1:(\d+)")
        request = urllib.request.Request(  # noqa: S310 (our own http URL)
            f"http://127.0.0.1:{port}/healthz?q=secret", headers={"X-Request-ID": "gunicorn-1"}
        )
        # The master holds the socket: the request waits until the worker has the app.
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310  # nosec B310
            assert response.status == 200
            assert response.headers["X-Request-ID"] == "gunicorn-1"
            assert json.load(response)["database"]["ok"] is True
        _wait_for(log, r'"request_id": "gunicorn-1"')
    finally:
        process.terminate()
        process.wait(timeout=30)
    log.seek(0)
    lines = [json.loads(line) for line in log.read().splitlines() if line.strip()]
    [access] = [line for line in lines if line["logger"] == "contracts.access"]
    assert (access["path"], access["status"]) == ("/healthz", 200)
    assert not [line for line in lines if line["logger"] == "gunicorn.access"]
    assert "secret" not in json.dumps(lines)
    assert any(line["message"].startswith("Starting gunicorn") for line in lines)


def _wait_for(log, pattern: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        log.seek(0)
        if found := re.search(pattern, log.read()):
            return found.group(found.lastindex or 0)
        time.sleep(0.1)
    log.seek(0)
    raise AssertionError(f"gunicorn never logged {pattern!r}:\n{log.read()}")
