"""Logging for every process (web, scheduler, command line): one handler on the root logger
writing JSON lines or text to stderr, a request id on each request, one access line each.

LOG_FORMAT=json writes one JSON object a line for a log collector: the default under
gunicorn (gunicorn.conf.py) and what production sets for the scheduler too; `text`, the
default elsewhere (`flask run`, the command line), is for people. LOG_LEVEL: INFO.
The tests configure nothing: pytest captures the records itself.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

FORMATS = ("json", "text")
REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only when it looks like this (nginx's $request_id is 32 hex
# digits), so a client cannot write arbitrary text, or a forged line, into the logs.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"

access_log = logging.getLogger("contracts.access")

# The scheduled job running in this thread, for the `job` field of its records.
_current_job: ContextVar[str | None] = ContextVar("current_job", default=None)


class ContextFilter(logging.Filter):
    """Adds `request_id` (during a request) and `job` (during a job run) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and has_request_context():
            request_id = g.get("request_id")
            if request_id:
                record.request_id = request_id
        if not hasattr(record, "job") and (job := _current_job.get()):
            record.job = job
        return True


class TextFormatter(logging.Formatter):
    """Readable lines: time, level, logger, [request id or job], message."""

    def format(self, record: logging.LogRecord) -> str:
        tag = getattr(record, "request_id", None) or getattr(record, "job", None)
        record.context = f" [{tag}]" if tag else ""
        return super().format(record)


def make_formatter(log_format: str) -> logging.Formatter:
    """The formatter for LOG_FORMAT: JSON objects (time in UTC, level, logger, message and
    every field passed in `extra`) or text lines."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    if log_format == "text":
        return TextFormatter(TEXT_FORMAT)
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger", "exc_info": "traceback"},
        timestamp="time",
    )


def make_handler(log_format: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    """A stderr handler with the format and the request id filter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(make_formatter(log_format))
    handler.addFilter(ContextFilter())
    return handler


def _is_ours(handler: logging.Handler) -> bool:
    return any(isinstance(f, ContextFilter) for f in handler.filters)


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    """Install the handler on the root logger unless it is there already (a second app in
    the process, a gunicorn worker that inherited it from gunicorn.conf.py)."""
    # Alembic announces each of its plugins at INFO whenever a process first reads the
    # migration revision (/healthz does): noise. Its "Running upgrade" lines stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    root = logging.getLogger()
    if any(_is_ours(handler) for handler in root.handlers):
        return
    root.addHandler(make_handler(log_format))
    root.setLevel(level.upper())


def gunicorn_logconfig(log_format: str, level: str) -> dict[str, Any]:
    """gunicorn's logconfig_dict: its own messages through the same handler as the app's,
    and its access log off (the app writes its own line, without query strings)."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"app": {"()": make_handler, "log_format": log_format}},
        "root": {"level": level, "handlers": ["app"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }


@contextmanager
def job_context(name: str) -> Iterator[None]:
    """Name the job in the `job` field of the records written inside the block."""
    reset = _current_job.set(name)
    try:
        yield
    finally:
        _current_job.reset(reset)


# --- requests ------------------------------------------------------------------------


def request_id_from(header: str | None) -> str:
    """The incoming id when it is safe to log, else a new one."""
    if header and SAFE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _start() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    if "request_id" not in g:  # a before_request hook ended the request before ours ran
        _start()
    response.headers[REQUEST_ID_HEADER] = g.request_id
    milliseconds = (time.perf_counter() - g.request_started) * 1000
    # Flask-Login's cache of the loaded user: asking current_user would load the session
    # (a query) on requests that never needed it, such as static files.
    user = g.get("_login_user")
    user_id = user.id if getattr(user, "is_authenticated", False) else None
    # The path without its query string: that can hold search terms.
    access_log.info(
        "%s %s %s %.1f ms",
        request.method,
        request.path,
        response.status_code,
        milliseconds,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(milliseconds, 1),
            "user_id": user_id,
            "remote_addr": request.remote_addr,
            "request_id": g.request_id,  # also where no ContextFilter is (pytest's caplog)
        },
    )
    return response


def init_app(app: Flask) -> None:
    """Configure logging (not under TESTING) and give every request an id and an access line.

    Call it first in create_app: its before_request hook then runs before the others
    (which may end a request) and its after_request hook last, seeing the final status.
    """
    if not app.testing:
        configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.before_request(_start)
    app.after_request(_finish)
