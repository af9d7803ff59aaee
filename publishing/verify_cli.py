"""`huiying verify reindex`: bring statements published before the authenticity index existed into it."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("verify")
def verify_group() -> None:
    """The public authenticity check's index of published texts."""


@verify_group.command("reindex")
@with_appcontext
def verify_reindex() -> None:
    """Index every published statement the index lacks; prints how many were added."""
    from publishing import verify

    click.echo(f"indexed {verify.reindex()} published statements")
