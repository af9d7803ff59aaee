"""`huiying worker` and `huiying ledger …` (CONTRACT §1)."""

from __future__ import annotations

import csv
import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from app.extensions import db
from publishing import ledger
from publishing.models import LedgerEntry


@click.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queues are empty and nothing is due")
@with_appcontext
def worker_command(burst: bool) -> None:
    """RQ worker on urgent, high, normal, low (in that order), with the scheduler and the sweeper."""
    from publishing.worker import run_worker

    run_worker(current_app._get_current_object(), burst=burst)


@click.group("ledger")
def ledger_group() -> None:
    """The statement ledger."""


@ledger_group.command("verify")
@with_appcontext
def ledger_verify() -> None:
    """Exit 0 printing `OK <entries> <head-hash>`; exit 1 naming the first bad seq."""
    result = ledger.verify()
    if result.ok:
        click.echo(f"OK {result.entries} {result.head}")
        return
    click.echo(f"BAD seq {result.first_bad_seq}", err=False)
    sys.exit(1)


@ledger_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
@with_appcontext
def ledger_export(fmt: str) -> None:
    """The whole ledger on stdout."""
    rows = db.session.scalars(db.select(LedgerEntry).order_by(LedgerEntry.seq).execution_options(yield_per=5000))
    out = sys.stdout
    if fmt == "jsonl":
        for entry in rows:
            out.write(json.dumps(ledger.entry_json(entry), ensure_ascii=False, sort_keys=True) + "\n")
        return
    writer = csv.writer(out)
    writer.writerow(["seq", "kind", "statement_id", "revision_hash", "at", "payload", "prev_hash", "hash"])
    for entry in rows:
        writer.writerow([entry.seq, entry.kind, entry.statement_id, entry.revision_hash, entry.at,
                         json.dumps(entry.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                         entry.prev_hash, entry.hash])
