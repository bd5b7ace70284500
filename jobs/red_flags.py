"""The nightly red-flag job: recompute every rule and keep the flags (idempotent)."""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.db import Session
from contracts.integrity import flags


def run(today: date) -> dict[str, Any]:
    """Recompute the red flags as of today and commit; a second run the same day changes
    nothing."""
    counts = flags.recompute(today)
    Session.commit()
    return counts
