"""`huiying demo`: the shell's own command (the demo seeds every package's data)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Seed the demo institution (idempotent)."""
    from huiying import demo

    for line in demo.seed():
        click.echo(line)


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
