"""Checks other packages add to /healthz, so the home page need not import them.

A check is a function () -> JSON-able dict, shown in /healthz under its name. /healthz is
public and polled often: a check must be cheap (a query or two) and say nothing secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from contracts.db import Session

log = logging.getLogger(__name__)

Check = Callable[[], dict[str, Any]]
RESERVED = frozenset({"status", "app", "database"})
_checks: dict[str, Check] = {}


def add_check(name: str, check: Check) -> None:
    """Show check() in /healthz under `name` (adding the same one again is harmless)."""
    if name in RESERVED:
        raise ValueError(f"{name!r} is a /healthz field of its own")
    if _checks.get(name, check) is not check:
        raise ValueError(f"another /healthz check is already called {name!r}")
    _checks[name] = check


def run_checks() -> dict[str, Any]:
    """Each check's answer by name; a check that fails shows {"ok": false} and is logged."""
    results: dict[str, Any] = {}
    for name, check in _checks.items():
        try:
            results[name] = check()
        except Exception:
            log.exception("the /healthz check %s failed", name)
            Session.rollback()
            results[name] = {"ok": False}
    return results
