"""`corridor backup DIR` and `corridor restore DIR` over SQLite and PostgreSQL: a backup taken
while the node serves restores into a fresh node with the same events and the same log; a
backup whose database or manifest was tampered with is refused and leaves the node empty."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from corridor.app import create_app
from corridor.cli import main
from corridor.config import Settings
from corridor.ledger.checkpoint import Checkpoint
from corridor.ledger.note import parse_skey, sign_note
from corridor.store.db import Database
from tests.api.e1_server import ThreadServer, all_events, capture, event_doc, object_event
from tests.api.e1_server import start_node as start


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _populated(db_url: str, data_dir: Path, backup_dir: Path) -> tuple[dict[str, str], list]:
    """A node with four events, backed up while it serves; (its API keys, its events)."""
    node, srv = start(db_url, data_dir)
    try:
        with node.client("alice") as alice:
            doc = event_doc([object_event(f"urn:epc:id:sgtin:0614141.812345.B{i}")
                             for i in range(4)])
            assert capture(alice, doc).status_code == 202
            node.ledger.sign_now()
            events = all_events(alice)
            r = _run("backup", str(backup_dir), "--data-dir", str(data_dir), "--db", db_url)
            assert r.exit_code == 0, r.output
            assert "checkpoint of size 4" in r.output
    finally:
        srv.stop()
    return node.keys, events


def _empty_target(db_url: str, tmp_path: Path) -> None:
    """Lose the database: a PostgreSQL schema emptied (same name); SQLite: a new file."""
    if db_url.startswith("postgresql"):
        schema = db_url.rsplit("search_path%3D", 1)[1]
        with psycopg.connect(db_url.split("?")[0], autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')


def _target_url(db_url: str, tmp_path: Path) -> str:
    return (db_url if db_url.startswith("postgresql")
            else f"sqlite:///{tmp_path / 'b' / 'corridor.sqlite3'}")


def _is_empty(url: str) -> bool:
    db = Database(url)
    if db.dialect == "sqlite":
        return not Path(db.sqlite_path).exists()
    with db.connect(reader=True) as conn:
        return conn.fetchone("SELECT COUNT(*) FROM pg_tables WHERE schemaname = "
                             "current_schema()")[0] == 0


def _rewrite_manifest(backup_dir: Path, **changes: Any) -> None:
    path = backup_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def test_backup_then_restore_gives_the_same_events_and_log(db_url: str, tmp_path: Path) -> None:
    keys, events = _populated(db_url, tmp_path / "a", tmp_path / "backup")
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["checkpoint"]["size"] == 4 and manifest["dialect"] in db_url
    key_file = tmp_path / "backup" / "keys" / "log.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    _empty_target(db_url, tmp_path)
    url = _target_url(db_url, tmp_path)
    r = _run("restore", str(tmp_path / "backup"), "--data-dir", str(tmp_path / "b"),
             "--db", url)
    assert r.exit_code == 0, r.output
    assert "audit passed" in r.output
    restored_key = tmp_path / "b" / "keys" / "log.key"
    assert restored_key.read_text() == (tmp_path / "a" / "keys" / "log.key").read_text()
    assert stat.S_IMODE(restored_key.stat().st_mode) == 0o600

    app = create_app(Settings(data_dir=tmp_path / "b", db_url=url))
    server = ThreadServer(app).start()
    try:
        import httpx

        headers = {"Authorization": f"Bearer {keys['alice']}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as alice:
            assert all_events(alice) == events
        ledger = app.state.ctx.ledger
        assert ledger.size() == 4
        assert ledger.latest_signed().decode() == manifest["checkpoint"]["note"]
        assert ledger.audit() == []
    finally:
        server.stop()


def test_a_backup_older_than_its_manifest_checkpoint_is_refused(db_url: str,
                                                               tmp_path: Path) -> None:
    _populated(db_url, tmp_path / "a", tmp_path / "backup")
    # The manifest claims a signed checkpoint the database does not reach (e.g. a manifest
    # of a later backup): signed by the real key, so only the restored log can tell.
    signer = parse_skey((tmp_path / "backup" / "keys" / "log.key").read_text())
    root = hashlib.sha256(b"elsewhere").digest()
    note = sign_note(Checkpoint(signer.name, 6, root).text(), [signer]).decode()
    _rewrite_manifest(tmp_path / "backup", checkpoint={
        "size": 6, "root": base64.b64encode(root).decode(), "note": note})
    _empty_target(db_url, tmp_path)
    url = _target_url(db_url, tmp_path)
    r = CliRunner().invoke(main, ["restore", str(tmp_path / "backup"), "--data-dir",
                                  str(tmp_path / "b"), "--db", url])
    assert r.exit_code != 0
    assert "restore refused" in r.output
    assert "fewer than the manifest's checkpoint of size 6" in r.output
    assert _is_empty(url)
    assert not (tmp_path / "b" / "keys" / "log.key").exists()


def test_a_tampered_database_is_refused(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'a' / 'corridor.sqlite3'}"
    _populated(db_url, tmp_path / "a", tmp_path / "backup")
    copy = tmp_path / "backup" / "corridor.sqlite3"
    size = copy.stat().st_size
    conn = sqlite3.connect(copy)
    with conn:
        (data,) = conn.execute("SELECT data FROM ledger_tiles WHERE level = 0 AND n = 0"
                               ).fetchone()
        forged = bytes([data[0] ^ 1]) + bytes(data[1:])
        conn.execute("UPDATE ledger_tiles SET data = ? WHERE level = 0 AND n = 0", (forged,))
    conn.close()
    assert copy.stat().st_size == size
    url = f"sqlite:///{tmp_path / 'b' / 'corridor.sqlite3'}"
    args = ["restore", str(tmp_path / "backup"), "--data-dir", str(tmp_path / "b"), "--db", url]
    r = CliRunner().invoke(main, args)
    assert r.exit_code != 0 and "SHA-256 differs" in r.output
    # ... and with the digest forged too, the ledger audit catches it.
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    _rewrite_manifest(tmp_path / "backup", sha256=digest)
    r = CliRunner().invoke(main, args)
    assert r.exit_code != 0 and "restore refused" in r.output, r.output
    assert _is_empty(url)
    assert not [p.name for p in (tmp_path / "b").glob("*sqlite3*")]  # no temporary left


def test_restore_refuses_to_overwrite_a_node(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'a' / 'corridor.sqlite3'}"
    _populated(db_url, tmp_path / "a", tmp_path / "backup")
    r = CliRunner().invoke(main, ["restore", str(tmp_path / "backup"), "--data-dir",
                                  str(tmp_path / "a"), "--db", db_url])
    assert r.exit_code != 0 and "already there" in r.output


def test_backup_needs_pg_dump_on_path(pg_url: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _, srv = start(pg_url, tmp_path / "a")
    srv.stop()
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    r = CliRunner().invoke(main, ["backup", str(tmp_path / "bk"), "--data-dir",
                                  str(tmp_path / "a"), "--db", pg_url])
    assert r.exit_code != 0 and "pg_dump not found on PATH" in r.output
