"""`flask contracts ...`: the register in and out of files."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from contracts.clock import today
from contracts.exchange import ocds
from contracts.exchange.views import publishable_contracts
from contracts.register.models import Contract

contracts_cli = AppGroup("contracts", help="Contracts in and out of files.")


@contracts_cli.command("export-ocds")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Default: stdout."
)
@click.option(
    "--public", is_flag=True, help="Only what may be published: signed, not confidential."
)
@click.option("--uri", default="urn:kontraktsregister:ocds-releases", show_default=True)
def export_ocds(output: str | None, public: bool, uri: str) -> None:
    """Write the register as an OCDS 1.1 release package (streamed)."""
    query = (
        publishable_contracts() if public else select(Contract).where(Contract.deleted_at.is_(None))
    )
    chunks = ocds.package_chunks(query.order_by(Contract.id), today(), uri)
    if output is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        return
    with open(output, "w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(chunk)
    click.echo(f"Wrote {output}", err=True)
