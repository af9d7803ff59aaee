"""`huiying worker` and `huiying ledger …` (interface §1)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import cast

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.local import LocalProxy

from app.extensions import db
from publishing import checkpoints, ledger
from publishing.models import LedgerEntry


@click.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queues are empty and nothing is due")
@with_appcontext
def worker_command(burst: bool) -> None:
    """RQ worker on urgent, high, normal, low (in that order), with the scheduler and the sweeper."""
    from publishing.worker import run_worker

    # Flask types `current_app` as the app it stands for; it is the proxy, which hands over the app itself
    run_worker(cast(LocalProxy[Flask], current_app)._get_current_object(), burst=burst)


@click.group("ledger")
def ledger_group() -> None:
    """The statement ledger."""


@ledger_group.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a signed checkpoint kept elsewhere (latest.json, the API's `checkpoint`, or checkpoints.jsonl): "
                   "the chain must still hold its seq and hash")
@click.option("--public-key", "public_keys", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="PEM of a key trusted to sign checkpoints (repeatable); default: the configured key and the "
                   "public keys kept in LEDGER_CHECKPOINT_DIR/keys")
@click.option("--incremental", is_flag=True,
              help="check only from the latest signed checkpoint (--checkpoint, else the latest one copied to "
                   "LEDGER_CHECKPOINT_DIR, else the database's) to the head")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="processes checking ranges of the chain (PostgreSQL); default one per core for large ledgers")
@with_appcontext
def ledger_verify(checkpoint_file: Path | None, public_keys: tuple[str, ...], incremental: bool,
                  jobs: int | None) -> None:
    """Exit 0 printing `OK <entries> <head-hash>`; exit 1 naming the first bad seq."""
    try:
        keys = checkpoints.trusted_keys([checkpoints.load_public(p) for p in public_keys])
        anchors = checkpoints.read_file(checkpoint_file) if checkpoint_file else []
    except (ValueError, UnicodeDecodeError) as error:
        click.echo(f"BAD checkpoint: {error}", err=True)
        sys.exit(2)
    if incremental:
        anchor = max(anchors, key=lambda c: c.seq) if anchors else (
            checkpoints.read_latest(checkpoints.directory()) or checkpoints.latest_stored())
        if anchor is None:
            click.echo("no signed checkpoint to start from: checking the whole chain", err=True)
            result = ledger.verify(jobs=jobs, keys=keys)
        else:
            result = ledger.verify_from(anchor, keys=keys)
    else:
        result = ledger.verify(jobs=jobs, anchors=anchors, keys=keys)
    if result.ok:
        click.echo(f"OK {result.entries} {result.head}")
        if result.checkpoint is not None:
            cp = result.checkpoint
            click.echo(f"holds signed checkpoint seq {cp.seq} ({cp.at}, key {cp.key_id})", err=True)
        return
    click.echo(f"BAD seq {result.first_bad_seq}", err=False)
    if result.reason:
        click.echo(result.reason, err=True)
    sys.exit(1)


@ledger_group.command("keygen")
@click.option("--rotate", is_flag=True, help="replace an existing key (kept as <file>.retired-<key id>)")
@with_appcontext
def ledger_keygen(rotate: bool) -> None:
    """Create the checkpoint signing key at LEDGER_SIGNING_KEY and sign the current head with it."""
    path = Path(current_app.config["LEDGER_SIGNING_KEY"])
    folder = checkpoints.directory()
    if path.exists():
        if not rotate:
            click.echo(f"{path} exists (use --rotate to replace it)", err=True)
            sys.exit(1)
        old = checkpoints.load_public(path)
        checkpoints.publish_key(folder, old)  # its checkpoints stay checkable
        path.replace(path.with_name(f"{path.name}.retired-{checkpoints.key_id(old)}"))
    private = checkpoints.generate(path)
    checkpoints.publish_key(folder, private.public_key())
    click.echo(f"{path} key {checkpoints.key_id(private.public_key())}")
    click.echo(checkpoints.public_pem(private.public_key()).strip())
    if ledger.head()["seq"]:
        made = ledger.checkpoint_head()
        if made is not None:
            click.echo(f"signed the head: seq {made.seq} {made.hash}")


@ledger_group.command("checkpoint")
@with_appcontext
def ledger_checkpoint() -> None:
    """Sign the current head now (after a key rotation, or for entries made before checkpoints were on)."""
    made = ledger.checkpoint_head()
    if made is None:
        click.echo(f"no checkpoint key at {current_app.config['LEDGER_SIGNING_KEY']}: run `huiying ledger keygen`",
                   err=True)
        sys.exit(1)
    click.echo(json.dumps(made.json(), ensure_ascii=False, sort_keys=True))


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
