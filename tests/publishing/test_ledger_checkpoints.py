"""Signed checkpoints (issue 9 #12): someone with write access to the database rewrites the whole chain, or cuts it
short and moves the head back. The chain alone still verifies; a checkpoint signed with a key kept outside the
database, and copied outside it, does not let that pass.

Every test here runs with its own key and checkpoint folder (never the session's shared instance folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask
from sqlalchemy import delete, text, update

from app.extensions import db
from publishing import checkpoints, ledger
from publishing.models import LedgerCheckpoint, LedgerEntry, LedgerHead, LedgerKind
from tests.publishing.test_ledger import GENESIS, append, independent_verify, payload, rows
from tests.publishing.workers import HUIYING, TEST_REDIS_URL


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    key = tmp_path / "keys" / "ledger.pem"
    checkpoints.generate(key)
    return {"LEDGER_SIGNING_KEY": str(key), "LEDGER_CHECKPOINT_DIR": str(tmp_path / "checkpoints")}


def cli(database_url: str, app: Flask, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`huiying …` as an operator runs it, with this test's key and checkpoint folder."""
    instance = tmp_path / "cli-instance"
    instance.mkdir(exist_ok=True)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": TEST_REDIS_URL, "HUIYING_INSTANCE": str(instance),
           "SECRET_KEY": "test", "LEDGER_SIGNING_KEY": app.config["LEDGER_SIGNING_KEY"],
           "LEDGER_CHECKPOINT_DIR": app.config["LEDGER_CHECKPOINT_DIR"]}
    return subprocess.run([str(HUIYING), *args], env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, cwd=tmp_path)


def rewrite_chain(app: Flask, from_seq: int, change: dict[str, Any]) -> str:
    """The attacker's rewrite: entries from `from_seq` on get `change` in their payload and every hash after is
    recomputed, head included, and the checkpoint rows past it are dropped. The chain verifies by itself."""
    entries = rows(app)
    prev = entries[from_seq - 2]["hash"] if from_seq > 1 else GENESIS
    with app.app_context():
        for entry in entries[from_seq - 1:]:
            body = {k: v for k, v in entry.items() if k != "hash"}
            body["prev_hash"] = prev
            body["payload"] = {**body["payload"], **change}
            new_hash = ledger.entry_hash(prev, body)
            db.session.execute(update(LedgerEntry).where(LedgerEntry.seq == entry["seq"]).values(
                payload=body["payload"], prev_hash=prev, hash=new_hash))
            prev = new_hash
        db.session.execute(update(LedgerHead).where(LedgerHead.id == 1).values(hash=prev))
        db.session.execute(delete(LedgerCheckpoint).where(LedgerCheckpoint.seq >= from_seq))
        db.session.commit()
    assert independent_verify(rows(app)) is None  # nothing in the database gives it away
    return prev


def truncate(app: Flask, keep: int) -> None:
    """Cut the chain after `keep` entries and move the head back to it, checkpoints too."""
    entries = rows(app)
    with app.app_context():
        db.session.execute(delete(LedgerEntry).where(LedgerEntry.seq > keep))
        db.session.execute(delete(LedgerCheckpoint).where(LedgerCheckpoint.seq > keep))
        db.session.execute(update(LedgerHead).where(LedgerHead.id == 1).values(seq=keep,
                                                                               hash=entries[keep - 1]["hash"]))
        db.session.commit()
    assert independent_verify(rows(app)) is None


def api_verify(app: Flask) -> dict[str, Any]:
    resp = app.test_client().get("/api/v1/ledger/verify")  # no sign-in: the public record (interface §13)
    assert resp.status_code == 200
    return resp.get_json()


def saved_checkpoint(app: Flask, tmp_path: Path) -> Path:
    """What an auditor keeps: the latest checkpoint as the public API shows it, in a file of their own."""
    resp = app.test_client().get("/api/v1/ledger?limit=1")
    assert resp.status_code == 200
    body = resp.get_json()
    path = tmp_path / "auditor-checkpoint.json"
    path.write_text(json.dumps(body["checkpoint"]))
    (tmp_path / "auditor-key.pem").write_text(body["checkpoint_key"]["pem"])
    return path


# --- made, copied out, published ------------------------------------------------------------------------------


def test_every_append_is_signed_copied_out_and_published(app: Flask, tmp_path: Path) -> None:
    append(app, 5)
    append(app, 2, first=6)
    entries = rows(app)
    folder = Path(app.config["LEDGER_CHECKPOINT_DIR"])
    logged = [json.loads(line) for line in (folder / "checkpoints.jsonl").read_text().splitlines()]
    assert [c["seq"] for c in logged] == list(range(1, 8))
    assert all(c["hash"] == entries[c["seq"] - 1]["hash"] for c in logged)
    latest = json.loads((folder / "latest.json").read_text())
    assert latest == logged[-1]

    public = checkpoints.load_public(app.config["LEDGER_SIGNING_KEY"])
    key_id = checkpoints.key_id(public)
    assert (folder / "keys" / f"{key_id}.pub").read_text() == checkpoints.public_pem(public)
    message = b"huiying-ledger-checkpoint-v1\n" + json.dumps(
        {k: latest[k] for k in ("seq", "hash", "at", "key_id")}, sort_keys=True, separators=(",", ":"),
        ensure_ascii=False).encode()
    public.verify(bytes.fromhex(latest["signature"]), message)  # raises if it does not hold

    anonymous = app.test_client()
    body = anonymous.get("/api/v1/ledger?after=5").get_json()
    assert body["checkpoint"] == latest and body["head"] == {"seq": 7, "hash": entries[-1]["hash"]}
    assert body["checkpoint_key"]["key_id"] == key_id == latest["key_id"]
    assert body["checkpoint_key"]["public_key"] == checkpoints.public_bytes(public).hex()
    listed = anonymous.get("/api/v1/ledger/checkpoints?after=4").get_json()["checkpoints"]
    assert listed == logged[4:]
    assert api_verify(app) == {"ok": True, "entries": 7, "head": entries[-1]["hash"], "checkpoint": latest}

    page = anonymous.get("/record").get_data(as_text=True)
    assert latest["signature"] in page and key_id in page and body["checkpoint_key"]["public_key"] in page
    feed = anonymous.get("/releases/feed.xml").get_data(as_text=True)
    found = re.search(r'<hy:checkpoint xmlns:hy="urn:huiying:ledger:checkpoint" ([^>]*)/>', feed)
    assert found, feed
    attributes = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))
    assert attributes == {**{k: str(v) for k, v in latest.items()}, "public_key": body["checkpoint_key"]["public_key"]}


def test_a_rolled_back_append_leaves_no_checkpoint(app: Flask) -> None:
    append(app, 3)
    with app.app_context():
        ledger.append(LedgerKind.PUBLISHED, 99, GENESIS, payload(99))
        db.session.rollback()
    append(app, 1, first=4)
    folder = Path(app.config["LEDGER_CHECKPOINT_DIR"])
    assert [json.loads(x)["seq"] for x in (folder / "checkpoints.jsonl").read_text().splitlines()] == [1, 2, 3, 4]
    assert api_verify(app)["ok"] is True


# --- the attacks -------------------------------------------------------------------------------------------------


def test_rewriting_the_whole_chain_is_found(app: Flask, database_url: str, tmp_path: Path) -> None:
    append(app, 12)
    saved = saved_checkpoint(app, tmp_path)
    rewrite_chain(app, 1, {"title": "从未说过的话"})

    # the server's own copies outside the database (and the signature the attacker cannot make)
    result = api_verify(app)
    assert result["ok"] is False and result["first_bad_seq"] == 1 and "rewritten" in result["reason"], result
    # an auditor's copy and the key they pinned, on the command line
    done = cli(database_url, app, tmp_path, "ledger", "verify", "--checkpoint", str(saved),
               "--public-key", str(tmp_path / "auditor-key.pem"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"\bBAD seq 1\b", done.stdout) and "rewritten" in done.stderr


def test_rewriting_from_the_middle_is_located_by_the_copied_checkpoints(app: Flask) -> None:
    append(app, 12)
    rewrite_chain(app, 7, {"n": -1})
    result = api_verify(app)
    assert result["ok"] is False and result["first_bad_seq"] == 7, result


def test_truncating_and_rolling_back_the_head_is_found(app: Flask, database_url: str, tmp_path: Path) -> None:
    append(app, 12)
    saved = saved_checkpoint(app, tmp_path)
    truncate(app, 8)

    result = api_verify(app)
    assert result["ok"] is False and result["first_bad_seq"] == 9 and "truncated" in result["reason"], result
    done = cli(database_url, app, tmp_path, "ledger", "verify", "--checkpoint", str(saved))
    assert done.returncode == 1 and re.search(r"\bBAD seq 9\b", done.stdout), done.stdout + done.stderr
    assert "truncated" in done.stderr

    # and when new entries are appended over the cut, the copies show where the record diverged
    append(app, 6, first=100)
    result = api_verify(app)
    assert result["ok"] is False and result["first_bad_seq"] == 9 and "rewritten" in result["reason"], result
    done = cli(database_url, app, tmp_path, "ledger", "verify", "--checkpoint", str(saved), "--incremental")
    assert done.returncode == 1 and "rewritten" in done.stderr, done.stdout + done.stderr


def test_checkpoints_re_signed_with_another_key_are_refused(app: Flask) -> None:
    append(app, 6)
    rewrite_chain(app, 1, {"title": "伪造"})
    forger = Ed25519PrivateKey.generate()
    with app.app_context():
        for entry in rows(app):
            made = checkpoints.sign(forger, entry["seq"], entry["hash"])
            db.session.add(LedgerCheckpoint(**made.json()))
        db.session.commit()
    Path(app.config["LEDGER_CHECKPOINT_DIR"], "latest.json").unlink()  # even with the folder's copy gone
    result = api_verify(app)
    assert result["ok"] is False and "not a trusted key" in result["reason"], result


def test_a_checkpoint_whose_hash_was_edited_does_not_verify(app: Flask, database_url: str, tmp_path: Path) -> None:
    append(app, 4)
    saved = saved_checkpoint(app, tmp_path)
    forged = {**json.loads(saved.read_text()), "seq": 3, "hash": rows(app)[2]["hash"]}
    saved.write_text(json.dumps(forged))
    done = cli(database_url, app, tmp_path, "ledger", "verify", "--checkpoint", str(saved))
    assert done.returncode == 1 and "valid signature" in done.stderr, done.stdout + done.stderr


def test_an_untouched_chain_verifies_against_the_auditors_copy(app: Flask, database_url: str, tmp_path: Path) -> None:
    append(app, 5)
    saved = saved_checkpoint(app, tmp_path)
    append(app, 3, first=6)
    head = rows(app)[-1]["hash"]
    for extra in ([], ["--incremental"], ["--public-key", str(tmp_path / "auditor-key.pem")]):
        done = cli(database_url, app, tmp_path, "ledger", "verify", "--checkpoint", str(saved), *extra)
        assert (done.returncode, done.stdout.strip()) == (0, f"OK 8 {head}"), done.stderr
        assert "checkpoint seq" in done.stderr
    # a key the auditor did not pin is not trusted
    other = tmp_path / "other.pem"
    checkpoints.generate(other)
    done = cli(database_url, app, tmp_path, "ledger", "verify", "--checkpoint", str(saved), "--public-key", str(other))
    assert done.returncode == 1 and "not a trusted key" in done.stderr


def test_incremental_verify_checks_the_entries_after_the_checkpoint(app: Flask, tmp_path: Path) -> None:
    append(app, 10)
    with app.app_context():
        anchor = checkpoints.latest_stored()
    append(app, 5, first=11)
    with app.app_context():
        result = ledger.verify_from(anchor)
        assert result.ok and result.entries == 15 and result.checkpoint == anchor
        db.session.execute(text("UPDATE ledger_entries SET statement_id = 7000 WHERE seq = 13"))
        db.session.commit()
        assert ledger.verify_from(anchor).first_bad_seq == 13
        assert ledger.verify().first_bad_seq == 13


# --- keys ----------------------------------------------------------------------------------------------------------


def test_keygen_and_rotation(app: Flask, database_url: str, tmp_path: Path) -> None:
    app.config["LEDGER_SIGNING_KEY"] = str(tmp_path / "fresh" / "ledger.pem")
    done = cli(database_url, app, tmp_path, "ledger", "keygen")
    assert done.returncode == 0, done.stderr
    key_file = Path(app.config["LEDGER_SIGNING_KEY"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = checkpoints.key_id(checkpoints.load_public(key_file))
    assert first in done.stdout and "BEGIN PUBLIC KEY" in done.stdout
    assert cli(database_url, app, tmp_path, "ledger", "keygen").returncode == 1  # never overwritten by accident

    append(app, 4)
    done = cli(database_url, app, tmp_path, "ledger", "keygen", "--rotate")
    assert done.returncode == 0, done.stderr
    second = checkpoints.key_id(checkpoints.load_public(key_file))
    assert second != first and (tmp_path / "fresh" / f"ledger.pem.retired-{first}").exists()
    assert "signed the head: seq 4" in done.stdout
    append(app, 2, first=5)
    with app.app_context():
        signers = {(c.seq, c.key_id) for c in db.session.scalars(db.select(LedgerCheckpoint))}
    assert signers == {(1, first), (2, first), (3, first), (4, first), (4, second), (5, second), (6, second)}
    keys = Path(app.config["LEDGER_CHECKPOINT_DIR"], "keys")
    assert {p.stem for p in keys.glob("*.pub")} == {first, second}
    done = cli(database_url, app, tmp_path, "ledger", "verify")
    assert done.returncode == 0 and done.stdout.startswith("OK 6 "), done.stdout + done.stderr

    # an old checkpoint still verifies, with the old key kept beside the checkpoints
    old = tmp_path / "old.json"
    old.write_text(Path(app.config["LEDGER_CHECKPOINT_DIR"], "checkpoints.jsonl").read_text().splitlines()[1])
    done = cli(database_url, app, tmp_path, "ledger", "verify", "--checkpoint", str(old))
    assert done.returncode == 0, done.stdout + done.stderr


def test_checkpoint_command_signs_a_ledger_made_before_checkpoints(app: Flask, database_url: str,
                                                                   tmp_path: Path) -> None:
    key = Path(app.config["LEDGER_SIGNING_KEY"])
    hidden = key.with_suffix(".away")
    key.rename(hidden)
    append(app, 3)  # no key: no checkpoints, publishing goes on
    with app.app_context():
        assert checkpoints.latest_stored() is None
    assert "尚未配置" in app.test_client().get("/record").get_data(as_text=True)
    hidden.rename(key)
    done = cli(database_url, app, tmp_path, "ledger", "checkpoint")
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert made["seq"] == 3 and made["hash"] == rows(app)[-1]["hash"]
    assert api_verify(app)["checkpoint"] == made


# --- what anyone can do without Huiying -----------------------------------------------------------------------------


def docs_snippet() -> str:
    """The standalone verifier printed in docs/ledger.md (its first ```python block)."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"
    found = re.search(r"```python\n(.*?)```", docs.read_text(encoding="utf-8"), re.S)
    assert found, "docs/ledger.md has no python snippet"
    assert not re.search(r"^\s*(from|import) (app|cases|review|publishing|wechat|reports)\b", found.group(1), re.M)
    return found.group(1)


def test_the_documented_snippet_verifies_independently(app: Flask, database_url: str, tmp_path: Path) -> None:
    append(app, 9)
    body = app.test_client().get("/api/v1/ledger?limit=1000").get_json()
    (tmp_path / "ledger.json").write_text(json.dumps(body, ensure_ascii=False))
    script = tmp_path / "check.py"
    script.write_text(docs_snippet())
    run = [os.environ.get("PYTHON", str(HUIYING.with_name("python"))), str(script), "ledger.json"]
    done = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, timeout=60, env={"PATH": "/usr/bin"})
    assert done.returncode == 0 and "OK 9" in done.stdout, done.stdout + done.stderr

    # the same snippet refuses a rewritten record, and a checkpoint that does not match
    rewrite_chain(app, 4, {"title": "改写"})
    tampered = app.test_client().get("/api/v1/ledger?limit=1000").get_json()
    tampered["checkpoint"] = body["checkpoint"]  # the copy kept from before
    (tmp_path / "ledger.json").write_text(json.dumps(tampered, ensure_ascii=False))
    done = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, timeout=60, env={"PATH": "/usr/bin"})
    assert done.returncode == 1, done.stdout + done.stderr


def test_checkpoint_public_key_formats_agree(app: Flask) -> None:
    with app.app_context():
        info = checkpoints.public_key_info()
    assert info is not None
    raw = Ed25519PublicKey.from_public_bytes(bytes.fromhex(info["public_key"]))
    digest = hashlib.sha256(bytes.fromhex(info["public_key"])).hexdigest()
    assert checkpoints.key_id(raw) == info["key_id"] == digest[:16]


@pytest.mark.browser
def test_record_shows_the_checkpoint_on_a_phone(app: Flask, browser: Any, server: str, tmp_path: Path) -> None:
    append(app, 3)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{server}/record")
    from playwright.sync_api import expect

    expect(page.locator("#checkpoint h2")).to_contain_text("签名检查点：记录第 3 号")
    with app.app_context():
        latest = checkpoints.latest_stored()
    assert latest is not None
    expect(page.locator("#checkpoint")).to_contain_text(latest.signature)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "record-phone.png"), full_page=True)
    context.close()
