"""The `huiying` command (CONTRACT §1): a Flask CLI group around `app.create_app`."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from app import accounts
from app.errors import HuiyingError


def _fail(error: HuiyingError) -> None:
    click.echo(f"error: {error.message}", err=True)
    sys.exit(1)


@click.group("units")
def units_group() -> None:
    """Units of the institution."""


@units_group.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--parent", "parent", default=None, help="parent unit CODE")
@with_appcontext
def units_create(code: str, name: str, parent: str | None) -> None:
    """Create a unit; exit 1 if CODE exists."""
    try:
        unit = accounts.create_unit(code, name, parent)
    except HuiyingError as error:
        _fail(error)
    click.echo(f"unit {unit.code} created")


@click.group("users")
def users_group() -> None:
    """People who sign in."""


@users_group.command("create")
@click.argument("username")
@click.option("--unit", "unit", required=True, help="unit CODE")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["drafter", "expert", "leader", "office", "admin"]))
@click.option("--name", "name", default="", help="display name")
@click.option("--email", "email", default="", help="e-mail address for notifications")
@click.option("--phone", "phone", default="", help="phone number shown in the responsibility register")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@with_appcontext
def users_create(username: str, unit: str, roles: tuple[str, ...], name: str, email: str, phone: str,
                 password_stdin: bool) -> None:
    """Create a user; without --password-stdin a random password is printed once."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        user, secret = accounts.create_user(username, unit, roles, display_name=name, password=password,
                                            email=email, phone=phone)
    except HuiyingError as error:
        _fail(error)
    click.echo(f"user {user.username} created")
    if not password_stdin:
        click.echo(f"password: {secret}")


@click.group("tokens")
def tokens_group() -> None:
    """API bearer tokens."""


@tokens_group.command("create")
@click.argument("username")
@with_appcontext
def tokens_create(username: str) -> None:
    """Print a new API token alone on one line (shown once)."""
    try:
        click.echo(accounts.create_token(username))
    except HuiyingError as error:
        _fail(error)


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Seed the demo institution (idempotent)."""
    from app import demo

    for line in demo.seed():
        click.echo(line)


def init_app(app: Flask) -> None:
    for command in (units_group, users_group, tokens_group, demo_command):
        app.cli.add_command(command)


def _create() -> Flask:
    from app import create_app

    return create_app()


cli = FlaskGroup(create_app=_create, help="Huiying (回应) command line.")
