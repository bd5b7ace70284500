"""What the integrity package adds to the register (called once per app from wsgi)."""

from __future__ import annotations

from contracts.demo import add_seeder
from contracts.integrity import flag_rules  # noqa: F401  (fills the rule table)
from contracts.integrity.demo import seed_integrity
from contracts.integrity.labels import ACTIONS, ENTITIES, FIELDS
from contracts.integrity.panels import declarations_panel, flags_panel
from contracts.labels import ACTION_LABELS, ENTITY_LABELS, FIELD_LABELS
from contracts.register.panels import add_panel


def connect() -> None:
    """Panels on the contract page, demo data and history words (twice is harmless)."""
    add_panel(declarations_panel)
    add_panel(flags_panel)
    add_seeder(seed_integrity)
    ENTITY_LABELS.update(ENTITIES)
    for key, label in ACTIONS.items():
        ACTION_LABELS.setdefault(key, label)
    for key, label in FIELDS.items():
        FIELD_LABELS.setdefault(key, label)
