"""The auditors' audit-trail pages: the filtered trail with field diffs, its evidence export
(CSV + XLSX + a manifest of SHA-256 sums in one ZIP), and the chain's verification status
with the signed checkpoints.

Read-only for administrators and auditors. "Verify now" is a POST because it can take a
while and is recorded in the trail; it changes nothing else, so auditors may use it.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Select, and_, func, or_, select

from contracts.audit import checkpoints
from contracts.audit import services as audit
from contracts.audit.models import AuditEvent
from contracts.audit.services import canonical_json
from contracts.audit.verify import last_scheduled_run
from contracts.auth.access import roles_required
from contracts.auth.models import Role
from contracts.db import Session, utcnow
from contracts.exchange.columns import Kind
from contracts.exchange.export import table_csv_chunks, table_xlsx_bytes
from contracts.integrity.blueprint import bp
from contracts.labels import ACTION_LABELS, ENTITY_LABELS
from contracts.register.history import readable_history
from contracts.register.models import Contract

auditor_required = roles_required(Role.ADMIN, Role.AUDITOR)

PAGE_SIZE = 50
EXPORT_MAX_ROWS = 200_000
REASON_LABELS = {
    "edited": _l("An event was changed after it was recorded"),
    "deleted": _l("An event is missing"),
    "inserted": _l("An event was inserted or replaced"),
    "reordered": _l("Events were reordered"),
    "forked": _l("Two events follow the same event"),
    "genesis": _l("The first event does not start the chain"),
    "rewritten": _l("The chain differs from a signed checkpoint"),
    "truncated": _l("Events after a signed checkpoint were removed"),
    "bad_checkpoint": _l("A checkpoint file is not valid"),
}


@dataclass
class TrailFilter:
    """The trail's filters from the query string; unknown or malformed values are ignored."""

    actor: str = ""
    entity: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    contract: str = ""
    contract_id: int | None = None
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls) -> TrailFilter:
        args = request.args
        flt = cls(
            actor=args.get("actor", "").strip()[:254],
            entity=args.get("entity", "").strip()[:40],
            action=args.get("action", "").strip()[:40],
            date_from=_date_arg("from"),
            date_to=_date_arg("to"),
            contract=args.get("contract", "").strip()[:100],
        )
        if flt.contract:
            flt.contract_id = _contract_id(flt.contract)
            if flt.contract_id is None:
                flt.errors.append(_("No contract has the number %(ref)s.", ref=flt.contract))
        return flt

    def args(self) -> dict[str, str]:
        """The filters as query parameters, for links and the export's manifest."""
        values = {
            "actor": self.actor,
            "entity": self.entity,
            "action": self.action,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "contract": self.contract,
        }
        return {key: value for key, value in values.items() if value}

    def apply(self, query: Select) -> Select:
        if self.actor:
            escaped = self.actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(AuditEvent.actor_label.ilike(f"%{escaped}%", escape="\\"))
        if self.entity:
            query = query.where(AuditEvent.entity_type == self.entity)
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        zone = ZoneInfo(current_app.config["APP_TIMEZONE"])
        if self.date_from:
            query = query.where(
                AuditEvent.occurred_at >= datetime.combine(self.date_from, time(), zone)
            )
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), zone)
            query = query.where(AuditEvent.occurred_at < end)
        if self.contract:
            wanted = self.contract_id if self.contract_id is not None else -1
            query = query.where(
                or_(
                    AuditEvent.contract_id == wanted,
                    and_(AuditEvent.entity_type == "contracts", AuditEvent.entity_id == wanted),
                )
            )
        return query


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def _contract_id(text: str) -> int | None:
    """A contract by its number (deleted ones too: their trail stays), else by its id."""
    found = Session.scalar(select(Contract.id).where(Contract.reference == text).limit(1))
    if found is None and text.isdigit():
        found = Session.scalar(select(Contract.id).where(Contract.id == int(text)))
    return found


def _seq_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


# --- the trail ------------------------------------------------------------------------------


@bp.get("/audit/trail")
@auditor_required
def trail():
    """The trail, newest first, a page at a time (keyset on seq: deep pages stay fast)."""
    flt = TrailFilter.from_args()
    query = flt.apply(select(AuditEvent))
    before, after = _seq_arg("before"), _seq_arg("after")
    if after is not None:  # the newer page: read upwards, show newest first
        rows = list(
            Session.scalars(
                query.where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(PAGE_SIZE + 1)
            )
        )
        has_newer = len(rows) > PAGE_SIZE
        events = list(reversed(rows[:PAGE_SIZE]))
        has_older = True
    else:
        if before is not None:
            query = query.where(AuditEvent.seq < before)
        rows = list(Session.scalars(query.order_by(AuditEvent.seq.desc()).limit(PAGE_SIZE + 1)))
        events = rows[:PAGE_SIZE]
        has_older = len(rows) > PAGE_SIZE
        has_newer = before is not None
    return render_template(
        "integrity/trail.html",
        flt=flt,
        rows=readable_history(events),
        has_older=has_older and bool(events),
        has_newer=has_newer and bool(events),
        first_seq=events[0].seq if events else None,
        last_seq=events[-1].seq if events else None,
        actions=sorted(ACTION_LABELS.items(), key=lambda item: str(item[1])),
        entities=sorted(ENTITY_LABELS.items(), key=lambda item: str(item[1])),
    )


# --- the export ---------------------------------------------------------------------------

EXPORT_HEADERS = [
    "seq",
    "occurred_at_utc",
    "occurred_at_local",
    "actor_id",
    "actor",
    "ip",
    "action",
    "action_label",
    "entity_type",
    "entity_id",
    "contract_id",
    "summary",
    "before",
    "after",
    "prev_hash",
    "hash",
]
EXPORT_KINDS = [
    Kind.NUMBER,
    Kind.TEXT,
    Kind.TEXT,
    Kind.NUMBER,
    Kind.TEXT,
    Kind.TEXT,
    Kind.TEXT,
    Kind.TEXT,
    Kind.TEXT,
    Kind.NUMBER,
    Kind.NUMBER,
    Kind.TEXT,
    Kind.TEXT,
    Kind.TEXT,
    Kind.TEXT,
    Kind.TEXT,
]


def _export_rows(flt: TrailFilter) -> Iterator[list[Any]]:
    """The filtered events oldest first, streamed, in the hashed text forms (occurred_at
    and before/after exactly as hashed, so the chain can be recomputed from the file)."""
    zone = ZoneInfo(current_app.config["APP_TIMEZONE"])
    table = AuditEvent.__table__
    query = flt.apply(select(table)).order_by(table.c.seq).execution_options(yield_per=2000)
    for row in Session.execute(query):
        payload = audit.event_payload(row)  # type: ignore[arg-type]
        yield [
            row.seq,
            payload["occurred_at"],
            row.occurred_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            row.actor_id,
            row.actor_label,
            row.ip,
            row.action,
            str(ACTION_LABELS.get(row.action, row.action)),
            row.entity_type,
            row.entity_id,
            row.contract_id,
            row.summary,
            canonical_json(row.before) if row.before is not None else None,
            canonical_json(row.after) if row.after is not None else None,
            row.prev_hash,
            row.hash,
        ]


def build_export_zip(flt: TrailFilter, out: Any, generated_by: str) -> dict[str, Any]:
    """Write audit-trail.csv, audit-trail.xlsx and manifest.json (each file's SHA-256 and
    size, the filters, the row count and the chain's head) into a ZIP; return the manifest."""
    files = []
    head = Session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    rows = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        digest, size = hashlib.sha256(), 0
        with archive.open("audit-trail.csv", "w", force_zip64=True) as entry:
            for chunk in table_csv_chunks(EXPORT_HEADERS, EXPORT_KINDS, _export_rows(flt)):
                data = chunk.encode("utf-8")
                digest.update(data)
                size += len(data)
                entry.write(data)
                rows += 1
        files.append({"name": "audit-trail.csv", "sha256": digest.hexdigest(), "bytes": size})
        xlsx = table_xlsx_bytes(_("Audit trail"), EXPORT_HEADERS, EXPORT_KINDS, _export_rows(flt))
        archive.writestr("audit-trail.xlsx", xlsx)
        files.append(
            {
                "name": "audit-trail.xlsx",
                "sha256": hashlib.sha256(xlsx).hexdigest(),
                "bytes": len(xlsx),
            }
        )
        manifest = {
            "generated_at": utcnow().isoformat(),
            "generated_by": generated_by,
            "filters": flt.args(),
            "rows": rows - 1,  # the first chunk is the header row
            "chain_head": {"seq": head.seq, "hash": head.hash} if head else None,
            "files": files,
            "notes": "CSV: semicolons, UTF-8 with BOM; text that Excel would run as a "
            "formula starts with an apostrophe. occurred_at_utc, before and after are the "
            "exact texts the chain hashes (except for such an apostrophe).",
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


@bp.get("/audit/trail/export.zip")
@auditor_required
def trail_export():
    """The filtered trail as CSV and XLSX in a ZIP with manifest.json (SHA-256 per file)."""
    flt = TrailFilter.from_args()
    total = Session.scalar(flt.apply(select(func.count()).select_from(AuditEvent)))
    if total > EXPORT_MAX_ROWS:
        flash(
            _(
                "The export is limited to %(max)d events; narrow the filters (%(num)d match).",
                max=EXPORT_MAX_ROWS,
                num=total,
            ),
            "warning",
        )
        return redirect(url_for("integrity.trail", **flt.args()))
    audit.record(
        "export",
        entity_type="audit_events",
        summary="audit trail zip export",
        after={"format": "zip", "query": flt.args(), "rows": total},
    )
    Session.commit()
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115
    build_export_zip(flt, spool, current_user.email)
    spool.seek(0)
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return send_file(
        spool,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"revisjonsspor-{stamp}.zip",
    )


# --- verification and checkpoints ----------------------------------------------------------


@bp.get("/audit/verify")
@auditor_required
def trail_verify():
    """The last nightly verification, a result of "verify now", and the checkpoints."""
    latest_run = last_scheduled_run()
    found = checkpoints.list_checkpoints()
    try:
        trusted = checkpoints.trusted_public_key()
    except checkpoints.CheckpointError:
        trusted = None
    count, head = Session.execute(
        select(func.count(), func.max(AuditEvent.seq)).select_from(AuditEvent)
    ).one()
    return render_template(
        "integrity/trail_verify.html",
        latest_run=latest_run,
        now_result=session.pop("audit_verify_result", None),
        checkpoints=found[:20],
        checkpoint_total=len(found),
        signing_key=bool(current_app.config.get("AUDIT_SIGNING_KEY")),
        trusted_key=trusted,
        fingerprint=checkpoints.fingerprint(trusted) if trusted else None,
        event_count=count,
        last_seq=head,
        reasons=REASON_LABELS,
    )


@bp.post("/audit/verify")
@auditor_required
def trail_verify_now():
    """Recompute the chain against the checkpoints now (read-only; the run is recorded)."""
    directory = checkpoints.checkpoint_dir()
    try:
        trusted = checkpoints.trusted_public_key()
    except checkpoints.CheckpointError:
        trusted = None
    result = checkpoints.verify_with_checkpoints(
        Session(), directory if directory.is_dir() else None, trusted
    )
    Session.rollback()
    audit.record(
        "audit_verify",
        entity_type="audit_events",
        summary=result.line()[:300],
        after={
            "ok": result.ok,
            "count": result.count,
            "first_bad_seq": result.first_bad_seq,
            "reason": result.reason,
            "checkpoints": result.checkpoints,
        },
    )
    Session.commit()
    session["audit_verify_result"] = result.as_dict()
    return redirect(url_for("integrity.trail_verify"))


@bp.get("/audit/checkpoint.json")
@auditor_required
def checkpoint_download():
    """One signed checkpoint file (?seq=N), as written by the nightly job."""
    seq = _seq_arg("seq")
    if seq is None:
        abort(404)
    path = checkpoints.checkpoint_dir() / f"checkpoint-{seq}.json"
    if not path.is_file():
        abort(404)
    return send_file(
        io.BytesIO(path.read_bytes()),
        mimetype="application/json",
        as_attachment=True,
        download_name=path.name,
    )
