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


@contracts_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Report what would happen; change nothing.")
@click.option("--sheet", help="The sheet to read in a workbook (default: the first).")
@click.option("--create-missing", is_flag=True, help="Create unknown units, categories, owners.")
@click.option("--update-existing", is_flag=True, help="Rows whose number exists change it.")
@click.option("--all-or-nothing", is_flag=True, help="Import nothing if any row is rejected.")
def import_contracts(
    file: str,
    dry_run: bool,
    sheet: str | None,
    create_missing: bool,
    update_existing: bool,
    all_or_nothing: bool,
) -> None:
    """Import contracts from an .xlsx or .csv file: a report of every row, then a commit."""
    from pathlib import Path

    from contracts.db import Session
    from contracts.dbcli import analyze
    from contracts.exchange import importer
    from contracts.exchange.headers import find_header_row
    from contracts.exchange.reading import FileRefused, read_rows

    path = Path(file)
    try:
        rows = read_rows(path.read_bytes(), path.name, sheet)
    except FileRefused as error:
        raise click.ClickException(str(error.args[0])) from None
    header = find_header_row(rows)
    if header is None:
        raise click.ClickException(
            "No header row with a contract number and a title column was found "
            "(for example Avtalenr and Avtalenavn)."
        )
    options = importer.ImportOptions(
        create_missing=create_missing, update_existing=update_existing, source=f"import {path.name}"
    )
    plan = importer.plan(rows, header, options)
    for row in plan.rows:
        if row.status == importer.RowStatus.REJECTED:
            click.echo(
                f"row {row.number} {row.reference or '-'}: REJECTED: {'; '.join(row.errors)}"
            )
        elif row.warnings:
            click.echo(f"row {row.number} {row.reference}: {row.status}: {'; '.join(row.warnings)}")
    summary = ", ".join(f"{status.value} {plan.count(status)}" for status in importer.RowStatus)
    click.echo(f"Header on row {header.index + 1}. Rows: {summary}.")
    if dry_run:
        click.echo("Dry run: nothing was changed.")
        return
    if all_or_nothing and plan.rejected:
        raise click.ClickException(
            "Rows were rejected and --all-or-nothing was given: nothing imported."
        )
    counts = importer.apply(plan, options)
    Session.commit()
    if counts["created"] > 1000:
        analyze()
    click.echo(f"Imported: {counts['created']} new, {counts['updated']} updated.")
