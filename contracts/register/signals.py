"""Signals other packages listen to, so the register does not import them."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent with the contract after a change that can move its dates (end date, options,
# termination, deletion), inside the transaction that made it. The follow-up package
# moves the plan's activities with it.
contract_dates_changed = _signals.signal("contract-dates-changed")
