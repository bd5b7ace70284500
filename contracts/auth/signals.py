"""Signals other packages listen to, so that auth does not import them."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent with the user (and by_admin) after their password was changed, inside the
# transaction that changed it. The jobs package tells the person by e-mail (ASVS 6.3:
# users are told when their authentication details change).
password_changed = _signals.signal("password-changed")
