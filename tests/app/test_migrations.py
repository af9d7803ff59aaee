"""The migrations build exactly the schema the models describe, on both databases.

A model changed without a migration (or a migration that names an index differently) works in the tests'
own tables and then fails, or slowly drifts, on an institution's upgraded database.
"""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from app.extensions import db


def _known(diff: tuple, dialect: str) -> bool:
    # 0008_checks widens ledger_entries.kind on PostgreSQL only: SQLite does not enforce lengths, and
    # rebuilding the ledger table there would risk its partial unique index.
    return (
        dialect == "sqlite"
        and diff[0] == "modify_type"
        and diff[2:4] == ("ledger_entries", "kind")
    )


def test_the_migrated_schema_is_the_models_schema(app: Flask) -> None:
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diffs = compare_metadata(context, db.metadata)
        flat = [d[0] if isinstance(d, list) else d for d in diffs]
        unexpected = [d for d in flat if not _known(d, db.engine.dialect.name)]
    assert unexpected == []
