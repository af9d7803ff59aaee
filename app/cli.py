"""The `huiying` command (interface §1): a Flask CLI group around `app.create_app`."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from app import accounts
from app.errors import HuiyingError
from app.extensions import db
from app.models import ApiToken
from app.timeutil import utcnow


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
    """Create a user; without --password-stdin a random password is printed once, to be changed at first
    sign-in. A password on stdin is the person's own (typed at the operator's shell, e.g. the first admin's):
    it must pass the password policy and is kept."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        user, secret = accounts.create_user(username, unit, roles, display_name=name, password=password,
                                            email=email, phone=phone, check_strength=True)
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
@click.option("--label", default="", help="what the token is for")
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None, help="valid for this many days")
@with_appcontext
def tokens_create(username: str, label: str, expires_days: int | None) -> None:
    """Print a new API token alone on one line (shown once)."""
    expires_at = utcnow() + timedelta(days=expires_days) if expires_days else None
    try:
        click.echo(accounts.create_token(username, label=label, expires_at=expires_at))
    except HuiyingError as error:
        _fail(error)


@tokens_group.command("list")
@click.argument("username")
@with_appcontext
def tokens_list(username: str) -> None:
    """One line per token of the user: id, state, created, last used, expiry, label."""
    try:
        user = accounts.get_user(username)
    except HuiyingError as error:
        _fail(error)
    now = utcnow()
    for token in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)):
        state = "revoked" if token.revoked else (
            "expired" if token.expires_at and token.expires_at <= now else "active")
        click.echo("\t".join([str(token.id), state, token.created_at.isoformat(),
                              token.last_used_at.isoformat() if token.last_used_at else "-",
                              token.expires_at.isoformat() if token.expires_at else "-", token.label]))


@tokens_group.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    """Revoke the token with this id (see `tokens list`); it stops working at once."""
    try:
        accounts.revoke_token(None, token_id)
    except HuiyingError as error:
        _fail(error)
    click.echo(f"revoked {token_id}")


def init_app(app: Flask) -> None:
    for command in (units_group, users_group, tokens_group):
        app.cli.add_command(command)


def _create() -> Flask:
    from app import create_app

    return create_app()


cli = FlaskGroup(create_app=_create, help="Huiying (回应) command line.")
