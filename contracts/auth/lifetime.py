"""Login sessions over time: the idle and absolute timeouts take effect before each view."""

from __future__ import annotations

from flask import Flask, flash, g, request, session
from flask_babel import gettext as _
from flask_login import current_user

from contracts.api.errors import is_api_request
from contracts.db import Session


def register(app: Flask) -> None:
    @app.before_request
    def settle_login_session():
        # The API authenticates with bearer tokens, never the cookie; static files need
        # no user. Everything else loads the user here, so that an expired session is
        # deleted and a live one's last_seen_at saved in a commit of their own, before
        # the view begins its own unit of work.
        if request.endpoint == "static" or is_api_request():
            return
        current_user._get_current_object()
        if g.get("session_expired"):
            session.pop("_user_id", None)
            flash(_("Your login has ended because of inactivity or its age. Log in again."), "info")
        if g.pop("session_touched", False):
            Session.commit()
