"""What the gains report adds to the register: the start-page tile, the API's description
of /api/v1/gains/report, the demo data and the word for its exports in the audit trail."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from contracts.api.openapi import add_paths
from contracts.auth.models import User
from contracts.demo import add_seeder
from contracts.home.tiles import add_tile
from contracts.labels import ENTITY_LABELS
from followup.gains import api, reports
from followup.gains.demo import seed_gains

TILE_TEMPLATE = "followup/gains/report_tile.html"
KRONE = Decimal(1)
SHOWN = ("confirmed", "estimated")


def gains_tile(user: User, day: date) -> tuple[str, dict[str, Any]]:
    """ "Documented gains this year": confirmed and estimated NOK on what the user may see."""
    figures = reports.year_totals(user, day.year)
    # Whole kroner on the tile; the report has the øre.
    whole = {name: getattr(figures, name).quantize(KRONE, ROUND_HALF_UP) + 0 for name in SHOWN}
    return TILE_TEMPLATE, {"figures": figures, "whole": whole, "year": day.year}


def connect() -> None:
    """Called from followup.hooks.connect (connecting twice is harmless)."""
    add_tile(gains_tile)
    add_paths(api.openapi)
    add_seeder(seed_gains)
    ENTITY_LABELS.setdefault("gains_report", _l("Gains report"))
