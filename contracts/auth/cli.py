"""`flask users ...`: create users from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from contracts.auth import passwords, services
from contracts.auth.models import Role
from contracts.db import Session
from contracts.parties.models import Unit

users_cli = AppGroup("users", help="Manage users.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", help="Generated and printed when left out.")
@click.option("--unit", "unit_name", help="Name of the user's unit.")
def create_user_command(
    email: str, name: str, role: str, password: str | None, unit_name: str | None
) -> None:
    """Create a user; prints the generated password when none is given."""
    generated = password is None
    password = password or passwords.generate()
    unit_id = None
    if unit_name:
        unit = Session.scalar(select(Unit).where(Unit.name == unit_name))
        if unit is None:
            raise click.ClickException(f"No unit named {unit_name!r}.")
        unit_id = unit.id
    try:
        user = services.create_user(
            email=email, name=name, role=Role(role), password=password, unit_id=unit_id
        )
    except services.UserError as error:
        Session.rollback()
        messages = {
            "email_taken": f"A user with e-mail {email} already exists.",
            "password_short": f"The password must have at least "
            f"{services.MIN_PASSWORD_LENGTH} characters.",
            "password_long": "The password is too long.",
            "password_common": "The password is too easy to guess (a common password, a "
            "name, a word from the e-mail address, a date or a simple pattern).",
        }
        raise click.ClickException(messages.get(str(error), str(error))) from None
    Session.commit()
    click.echo(f"Created {user.role.value} {user.email}")
    if generated:
        click.echo(f"Password: {password}")


@users_cli.command("list")
def list_users_command() -> None:
    """List users with their roles."""
    for user in services.active_users():
        click.echo(f"{user.email}\t{user.role.value}\t{user.name}")
