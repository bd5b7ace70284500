"""The start page and /healthz."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user, login_required

from contracts.clock import today
from contracts.db import Session
from contracts.home import health, services, tiles

bp = Blueprint("home", __name__)


START_PAGE_ROWS = 25


@bp.get("/")
@login_required
def index():
    # The nearest ones; someone answering for thousands of contracts gets the counts and
    # the contract list's filters rather than a page of thousands of rows.
    contracts, contract_total = services.my_contracts(current_user, today(), START_PAGE_ROWS)
    deadlines = services.deadlines(current_user, today())
    return render_template(
        "home/index.html",
        contracts=contracts,
        contract_total=contract_total,
        deadlines=deadlines[:START_PAGE_ROWS],
        deadline_total=len(deadlines),
        totals=services.register_totals(current_user, today()),
        tiles=tiles.tiles_for(current_user, today()),
        today=today(),
    )


@bp.get("/healthz")
def healthz():
    # The status follows the database only: a failing job must not take the web servers
    # out of the load balancer. The checks other packages add (the clock) are shown as-is.
    ok, revision = services.database_ok()
    body = {
        "status": "ok" if ok else "error",
        "app": "kontraktsregister",
        "database": {
            "ok": ok,
            "engine": Session.get_bind().dialect.name,
            "revision": revision,
        },
    }
    if ok:
        body.update(health.run_checks())
    return jsonify(body), 200 if ok else 503
