"""Downloads of the register in open formats."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, stream_with_context, url_for
from flask_login import login_required
from sqlalchemy import select

from contracts.audit import services as audit
from contracts.clock import today
from contracts.db import Session
from contracts.exchange import ocds
from contracts.register.models import Contract
from contracts.register.services import visible_contracts

bp = Blueprint("exchange", __name__)


def publishable_contracts():
    """What the public may see: signed, not deleted, not confidential."""
    return select(Contract).where(
        Contract.deleted_at.is_(None),
        Contract.signed_on.is_not(None),
        Contract.is_confidential.is_(False),
    )


def _package(query, endpoint: str) -> Response:
    uri = url_for(endpoint, _external=True)
    chunks = ocds.package_chunks(query.order_by(Contract.id), today(), uri)
    return Response(
        stream_with_context(chunks),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="ocds-releases.json"'},
    )


@bp.get("/ocds/releases.json")
@login_required
def ocds_download():
    """Every contract the user may see, as an OCDS release package."""
    audit.record("export", entity_type="contracts", after={"format": "ocds"})
    Session.commit()
    return _package(visible_contracts(), "exchange.ocds_download")


@bp.get("/public/ocds/releases.json")
def ocds_public():
    """The published register, when the municipality has turned publication on."""
    if not current_app.config.get("OCDS_PUBLIC"):
        abort(404)
    return _package(publishable_contracts(), "exchange.ocds_public")
