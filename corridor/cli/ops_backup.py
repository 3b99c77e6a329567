"""Backup and restore of a node: its database (SQLite's online backup API, or `pg_dump -Fc` /
`pg_restore` for PostgreSQL), its keys (mode 0600) and a manifest naming the log's newest
signed checkpoint. A restore is accepted only once the restored database passes the ledger
audit and holds that very checkpoint (same size and root, signed by the log's key); otherwise
what was restored is removed again and the restore is refused, naming why.

A backup directory:
  manifest.json       format, time, dialect, schema (PostgreSQL), the database file and its
                      SHA-256, origin, log key (public), newest signed checkpoint, key files
  corridor.sqlite3    or corridor.pgdump (pg_dump custom format)
  keys/               the node's key files (log.key: the log's signing key), mode 0600
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corridor.config import Settings
from corridor.ledger.checkpoint import parse_checkpoint
from corridor.ledger.note import (
    NoteError,
    Verifier,
    open_note,
    parse_note,
    parse_skey,
    parse_vkey,
)
from corridor.store import LedgerStore
from corridor.store.db import Connection, Database

FORMAT = "corridor-backup/1"
MANIFEST = "manifest.json"
SQLITE_FILE = "corridor.sqlite3"
PG_FILE = "corridor.pgdump"
LOG_KEY = "log.key"


class BackupError(RuntimeError):
    """A backup or restore that cannot be made; the message says what to do."""


def _log_key_path(settings: Settings) -> Path:
    return Path(settings.log_key_file or settings.data_dir / "keys" / LOG_KEY)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found on PATH: install the PostgreSQL client tools "
                          "(Debian: apt-get install postgresql-client) of the server's "
                          "version or newer")
    return found


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed (exit {done.returncode}): "
                          f"{done.stderr.strip()[:2000]}")


def _newest_checkpoint(conn: Connection) -> dict[str, Any] | None:
    row = conn.fetchone("SELECT note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1")
    if row is None:
        return None
    note = str(row[0])
    cp = parse_checkpoint(parse_note(note.encode()).text)
    return {"size": cp.size, "root": base64.b64encode(cp.root).decode(), "note": note}


def _copy_private(src: Path, dst: Path) -> None:
    """Copy a key file so that it is never readable by others, not even briefly."""
    dst.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(src.read_bytes())
    os.chmod(dst, 0o600)


def _current_schema(db: Database) -> str:
    with db.connect(reader=True) as conn:
        row = conn.fetchone("SELECT current_schema()")
    if row is None or row[0] is None:
        raise BackupError(f"--db {db.url}: no current schema (check search_path)")
    return str(row[0])


# -- backup ---------------------------------------------------------------------------------
def backup(settings: Settings, directory: Path) -> dict[str, Any]:
    """Write a backup of the node of `settings` into `directory` (new or empty); returns the
    manifest written."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory}: not empty; back up into a new directory")
    key = _log_key_path(settings)
    if not key.exists():
        raise BackupError(f"the log key {key} does not exist: nothing to back up here")
    signer = parse_skey(key.read_text())
    directory.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    manifest: dict[str, Any] = {"format": FORMAT, "dialect": db.dialect}
    if db.dialect == "sqlite":
        target = directory / SQLITE_FILE
        src, dst = sqlite3.connect(db.sqlite_path), sqlite3.connect(target)
        try:
            src.backup(dst)  # a consistent copy while the node keeps writing
        finally:
            dst.close()
            src.close()
        with Database(f"sqlite:///{target}").connect() as conn:
            manifest["checkpoint"] = _newest_checkpoint(conn)
    else:
        target = directory / PG_FILE
        schema = _current_schema(db)
        # Read first: the dump, taken later, holds this checkpoint and possibly newer ones.
        with db.connect(reader=True) as conn:
            manifest["checkpoint"] = _newest_checkpoint(conn)
        _run([_tool("pg_dump"), "--format=custom", f"--schema={schema}", "--no-owner",
              f"--file={target}", db.url])
        manifest["schema"] = schema
    keys = _copy_keys_out(settings, key, directory / "keys")
    manifest.update({
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": target.name, "sha256": _sha256(target),
        "origin": settings.log_origin, "log_vkey": signer.verifier.vkey, "keys": keys})
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _copy_keys_out(settings: Settings, log_key: Path, out: Path) -> list[str]:
    names = [LOG_KEY]
    _copy_private(log_key, out / LOG_KEY)
    keys_dir = settings.data_dir / "keys"
    if keys_dir.is_dir():
        for path in sorted(keys_dir.iterdir()):
            if path.is_file() and path.resolve() != log_key.resolve():
                _copy_private(path, out / path.name)
                names.append(path.name)
    return names


# -- restore --------------------------------------------------------------------------------
def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of a backup, checked: format, database file present with its digest."""
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path}: cannot read the manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: format: expected {FORMAT!r}")
    for field in ("dialect", "database", "sha256", "origin", "keys"):
        if field not in manifest:
            raise BackupError(f"{path}: {field}: missing")
    db_file = Path(directory) / str(manifest["database"])
    if not db_file.is_file():
        raise BackupError(f"{db_file}: missing from the backup")
    if _sha256(db_file) != manifest["sha256"]:
        raise BackupError(f"{db_file}: its SHA-256 differs from the manifest's: the backup "
                          "was altered or damaged")
    return manifest


def verify_restored(db: Database, manifest: dict[str, Any], log_key: Verifier) -> list[str]:
    """Why the restored database is not the backed-up log (empty when it is): the ledger
    audit's problems, and the manifest's checkpoint missing, different or unsigned."""
    store = LedgerStore(db)
    try:
        # earlier keys of a rotated log signed the older checkpoints (the key history)
        earlier = [parse_vkey(k["vkey"]) for k in store.key_history()
                   if k["vkey"] != log_key.vkey]
        problems = store.audit([log_key, *earlier], [])
        with store.snapshot() as tree:
            size, last = tree.size, tree.last
        wanted = manifest.get("checkpoint")
        if wanted is None:
            return problems
        try:
            opened, _ = open_note(str(wanted["note"]).encode(), [log_key])
            cp = parse_checkpoint(opened.text)
        except (NoteError, ValueError, KeyError) as exc:
            return [*problems, f"manifest checkpoint: not signed by the log key: {exc}"]
        if cp.size != wanted.get("size") or base64.b64encode(cp.root).decode() != wanted.get(
                "root"):
            problems.append("manifest checkpoint: its size or root differs from its note")
        if size < cp.size:
            problems.append(f"restored tree has {size} entries, fewer than the manifest's "
                            f"checkpoint of size {cp.size}")
        with db.connect(reader=True) as conn:
            row = conn.fetchone("SELECT root FROM ledger_checkpoints WHERE size = ?",
                                (cp.size,))
        if row is None:
            problems.append(f"restored log does not hold the manifest's checkpoint of size "
                            f"{cp.size}")
        elif bytes(row[0]) != cp.root:
            problems.append(f"restored checkpoint of size {cp.size} has another root than "
                            "the manifest's")
        if last is None:
            problems.append("restored log holds no signed checkpoint")
        return problems
    finally:
        store.close()


def restore(settings: Settings, directory: Path) -> dict[str, Any]:
    """Restore the backup in `directory` into the (empty) node of `settings`; returns the
    manifest. Raises BackupError, naming every problem, when the restored log fails its
    check (and then leaves the node as it was)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    db = Database(settings.db_url)
    if manifest["dialect"] != db.dialect:
        raise BackupError(f"the backup is of a {manifest['dialect']} database; --db is "
                          f"{db.dialect}")
    if manifest["origin"] != settings.log_origin:
        raise BackupError(f"the backup's log origin is {manifest['origin']!r}; this node's "
                          f"is {settings.log_origin!r} (set CORRIDOR_LOG_ORIGIN)")
    signer = parse_skey((directory / "keys" / LOG_KEY).read_text())
    if signer.name != manifest["origin"] or signer.verifier.vkey != manifest.get("log_vkey"):
        raise BackupError("keys/log.key: not the log key the manifest names")
    target_key = _log_key_path(settings)
    if target_key.exists() and target_key.read_text().strip() != signer.skey:
        raise BackupError(f"{target_key}: another log key is already there; restore into a "
                          "new data directory")
    if db.dialect == "sqlite":
        _restore_sqlite(db, directory / str(manifest["database"]), manifest, signer.verifier)
    else:
        _restore_pg(db, directory / str(manifest["database"]), manifest, signer.verifier)
    for name in manifest["keys"]:
        dst = target_key if name == LOG_KEY else settings.data_dir / "keys" / name
        _copy_private(directory / "keys" / name, dst)
    return manifest


def _refuse(problems: list[str]) -> BackupError:
    listed = "\n  ".join(problems[:20])
    more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
    return BackupError(f"restore refused: the restored log does not match the backup's signed "
                       f"checkpoint:\n  {listed}{more}")


def _restore_sqlite(db: Database, source: Path, manifest: dict[str, Any],
                    log_key: Verifier) -> None:
    target = Path(db.sqlite_path)
    if target.exists() and target.stat().st_size > 0:
        raise BackupError(f"{target}: a database is already there; restore into a new data "
                          "directory (or move it away first)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".restore-", suffix=".sqlite3", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        src, dst = sqlite3.connect(source), sqlite3.connect(tmp)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        problems = verify_restored(Database(f"sqlite:///{tmp}"), manifest, log_key)
        if problems:
            raise _refuse(problems)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{tmp}{suffix}").unlink()
        os.replace(tmp, target)
    finally:
        for path in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _schema_tables(db: Database) -> list[str]:
    with db.connect(reader=True) as conn:
        rows = conn.fetchall("SELECT tablename FROM pg_tables WHERE schemaname = "
                             "current_schema()")
    return [str(r[0]) for r in rows]


def _drop_restored(db: Database) -> None:
    """Remove what a refused restore put into the (previously empty) schema."""
    with db.connect() as conn, conn.transaction():
        for table in _schema_tables(db):
            conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        for (name, args) in conn.fetchall(
                "SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = current_schema()"):
            conn.execute(f'DROP FUNCTION IF EXISTS "{name}"({args}) CASCADE')


def _restore_pg(db: Database, source: Path, manifest: dict[str, Any],
                log_key: Verifier) -> None:
    schema = _current_schema(db)
    if manifest.get("schema") not in (None, schema):
        raise BackupError(f"the backup holds schema {manifest['schema']!r} but --db's current "
                          f"schema is {schema!r}: restore with that schema first in "
                          "search_path")
    if _schema_tables(db):
        raise BackupError(f"--db {db.url}: schema {schema!r} already holds tables; restore "
                          "into an empty database")
    restore_tool = _tool("pg_restore")
    listing = subprocess.run([restore_tool, "--list", str(source)], capture_output=True,
                             text=True, check=False)
    if listing.returncode != 0:
        raise BackupError(f"pg_restore --list failed: {listing.stderr.strip()[:2000]}")
    # The schema itself exists already (it is the target); restore only what is inside it.
    kept = [line for line in listing.stdout.splitlines()
            if " SCHEMA - " not in line and "COMMENT - SCHEMA " not in line]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as f:
        f.write("\n".join(kept) + "\n")
    try:
        _run([restore_tool, "--no-owner", "--exit-on-error", "--single-transaction",
              f"--use-list={f.name}", f"--dbname={db.url}", str(source)])
    finally:
        Path(f.name).unlink()
    problems = verify_restored(db, manifest, log_key)
    if problems:
        _drop_restored(db)
        raise _refuse(problems)
