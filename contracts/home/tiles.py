"""Tiles other packages add to the start page, so the home page need not import them.

A tile is a function (user, today) -> (template name, context) or None; the start page
renders the template with the context (as `ctx`) after its own tiles, inside their list, so
the template is one <li class="ds-card app-tile">. A tile must be cheap: a query or two.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from contracts.auth.models import User

Tile = Callable[[User, date], tuple[str, dict[str, Any]] | None]
_tiles: list[Tile] = []


def add_tile(tile: Tile) -> None:
    """Show tile() on the start page (adding the same one again is harmless)."""
    if tile not in _tiles:
        _tiles.append(tile)


def tiles_for(user: User, day: date) -> list[tuple[str, dict[str, Any]]]:
    return [shown for tile in _tiles if (shown := tile(user, day)) is not None]
