"""`huiying terms import FILE`: load term lists from a text file (interface §10)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from app.errors import HuiyingError


@click.group("terms")
def terms_group() -> None:
    """Sensitive terms, allowed exceptions and leaders' names for the pre-publication checks."""


@terms_group.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@with_appcontext
def terms_import(file: click.utils.LazyFile) -> None:
    """Add the terms in FILE (one a line; `[sensitive]`, `[allowed]`, `[leaders]` sections, `# comments`;
    a leader line is `姓名 职务`) to the stored lists; open drafts are re-checked."""
    from review import terms

    try:
        lists = terms.parse(terms.merge(terms.read_file(file)))
        rechecked = terms.replace(None, lists)
    except HuiyingError as error:
        click.echo(f"error: {error.message} {error.fields or ''}", err=True)
        sys.exit(1)
    stored = terms.current()
    click.echo(f"sensitive {len(stored['sensitive'])}, allowed {len(stored['allowed'])}, "
               f"leaders {len(stored['leaders'])}; rechecked {rechecked} open statements")
