"""Today's date in the municipality's time zone; one place so tests and jobs can pin it."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def today() -> date:
    """The calendar date in Europe/Oslo, or the app's FIXED_TODAY when tests set one."""
    if has_app_context() and (fixed := current_app.config.get("FIXED_TODAY")):
        return fixed
    return datetime.now(ZoneInfo("Europe/Oslo")).date()
