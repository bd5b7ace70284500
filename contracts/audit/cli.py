"""`flask --app wsgi audit ...`: verify the chain, sign checkpoints, make a signing key."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from contracts.audit import checkpoints
from contracts.db import Session, utcnow

audit_cli = AppGroup("audit", help="The tamper-evident audit trail.")


@audit_cli.command("verify")
@click.option(
    "--checkpoints",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also prove that each signed checkpoint-<seq>.json in this directory lies on the chain.",
)
@click.option(
    "--public-key",
    help="The key the checkpoints must be signed with: base64 as `audit keygen` printed it, "
    "or a PEM file (default: AUDIT_PUBLIC_KEY, else the public half of AUDIT_SIGNING_KEY).",
)
def verify_command(directory: Path | None, public_key: str | None) -> None:
    """Recompute the hash chain; exit 0 if intact, 1 naming the first broken seq."""
    trusted = None
    if directory is not None:
        try:
            trusted = checkpoints.trusted_public_key(public_key)
        except checkpoints.CheckpointError as error:
            raise click.ClickException(str(error)) from None
    result = checkpoints.verify_with_checkpoints(Session(), directory, trusted)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.ok:
        click.echo(result.line())
        return
    if result.first_bad_seq is None:  # a checkpoint file itself is bad
        click.echo(f"BROKEN: {result.message}", err=True)
    else:
        click.echo(result.line(), err=True)
    raise SystemExit(1)


@audit_cli.command("checkpoint")
def checkpoint_command() -> None:
    """Verify the chain and sign its head into AUDIT_CHECKPOINT_DIR/checkpoint-<seq>.json."""
    try:
        checkpoint, path, written = checkpoints.make_checkpoint(Session(), utcnow())
    except checkpoints.CheckpointError as error:
        raise click.ClickException(str(error)) from None
    finally:
        Session.rollback()  # only read
    state = "written" if written else "already there"
    click.echo(
        f"checkpoint {checkpoint.seq} ({state}): head {checkpoint.head_hash}, "
        f"{checkpoint.created_at}, {path}"
    )


@audit_cli.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def keygen_command(path: Path) -> None:
    """Make an Ed25519 signing key at PATH (mode 0600) and print its public key."""
    try:
        public_key = checkpoints.keygen(path)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; a key is never overwritten") from None
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror}") from None
    click.echo(f"private key: {path} (keep it outside the database and its backups)")
    click.echo(f"public key:  {public_key}")
    click.echo(f"fingerprint: {checkpoints.fingerprint(public_key)}")
    click.echo(f"set AUDIT_SIGNING_KEY={path.resolve()} for the scheduler;")
    click.echo(f"give auditors AUDIT_PUBLIC_KEY={public_key} to verify checkpoints.")
