"""Sections other packages add to the contract page, so the register need not import them.

A panel is a function (contract, today) -> (template name, context) or None; the page
renders the template with the context after the contract's own sections.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from contracts.register.models import Contract

Panel = Callable[[Contract, date], tuple[str, dict[str, Any]] | None]
_panels: list[Panel] = []


def add_panel(panel: Panel) -> None:
    if panel not in _panels:
        _panels.append(panel)


def panels_for(contract: Contract, day: date) -> list[tuple[str, dict[str, Any]]]:
    return [shown for panel in _panels if (shown := panel(contract, day)) is not None]
