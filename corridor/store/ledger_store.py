"""The node's log: tiles and entry bundles in the database, checkpoint signing, witness pushes.

Appends run inside the caller's transaction (the one that also stores the events), so an entry
is durable exactly when its capture commits. The single writer is the database's: SQLite's
BEGIN IMMEDIATE, PostgreSQL's row lock on ledger_state.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from corridor.config import Settings
from corridor.ledger.checkpoint import Checkpoint, parse_checkpoint
from corridor.ledger.entry import LogEntry
from corridor.ledger.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    tree_root,
    verify_consistency,
)
from corridor.ledger.note import (
    NoteError,
    Signer,
    Verifier,
    add_signatures,
    generate_signer,
    parse_note,
    parse_skey,
    parse_vkey,
    sign_note,
    verified_by,
)
from corridor.ledger.policy import Policy, threshold_policy
from corridor.ledger.proof import Receipt
from corridor.ledger.tiles import (
    ENTRIES,
    TILE_WIDTH,
    Edge,
    TileHasher,
    Write,
    append_entries,
    decode_bundle,
    edge_tiles,
    encode_bundle,
    tile_path,
    tiles_for_size,
)
from corridor.ledger.transport import TransportError, post
from corridor.ledger.verify import write_atomic
from corridor.ledger.witness import add_checkpoint_body, parse_cosignatures
from corridor.store.db import Connection, Database
from corridor.store.ledger_audit import audit_store
from corridor.store.ledger_bundles import DELETE_PIECES, INSERT_PIECE, read_bundle
from corridor.store.migrations import migrate

log = logging.getLogger("corridor.ledger")

_UPSERT = ("INSERT INTO ledger_tiles (level, n, width, data, nodes) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT (level, n) DO UPDATE SET width = excluded.width, data = excluded.data, "
           "nodes = excluded.nodes")
_SUBTREE_CACHE = 200_000  # proof hashes kept (perfect subtrees never change once complete)


def _read_tile_row(conn: Connection, level: int, n: int) -> tuple[int, bytes] | None:
    """(width, data) of a stored tile or entry bundle (joined from its pieces), or None."""
    if level == ENTRIES:
        return read_bundle(conn, n)
    row = conn.fetchone("SELECT width, data FROM ledger_tiles WHERE level = ? AND n = ?",
                        (level, n))
    return None if row is None else (int(row[0]), bytes(row[1]))


def _split_writes(edge: Edge, writes: dict[tuple[int, int], Write], *, pieces: bool
                  ) -> tuple[list[tuple[Any, ...]], tuple[Any, ...] | None, list[int]]:
    """append_entries' writes as (ledger_tiles rows to upsert, the bundle piece to insert if
    any, bundles written as rows). With `pieces`, the partial bundle (an append leaves at
    most one) gets only the new entries, as a piece after the `edge`'s; otherwise (the edge
    was just read from the store, which may hold stale pieces) it is written whole, as
    before pieces existed."""
    rows: list[tuple[Any, ...]] = []
    new_piece: tuple[Any, ...] | None = None
    whole: list[int] = []
    first = edge.size // TILE_WIDTH
    for (level, n), (blob, width, nodes) in writes.items():
        if level == ENTRIES:
            if pieces and width < TILE_WIDTH:
                start = edge.size % TILE_WIDTH if n == first else 0
                skip = 0
                if start:  # the edge's entries, which the store already holds
                    skip = (len(edge.bundle_data) if edge.bundle_data is not None
                            else sum(2 + len(e) for e in edge.bundle))
                new_piece = (n, start, width, blob[skip:])
                continue
            whole.append(n)
        rows.append((level, n, width, blob, nodes))
    return rows, new_piece, whole


class LedgerError(RuntimeError):
    """The store is in a state the log must not sign or serve (e.g. rolled back)."""


def load_or_create_signer(settings: Settings) -> Signer:
    """The log's signer key (name = origin), created on first use with mode 0600."""
    path = Path(settings.log_key_file or settings.data_dir / "keys" / "log.key")
    if path.exists():
        signer = parse_skey(path.read_text())
        if signer.name != settings.log_origin:
            raise LedgerError(f"{path}: key name {signer.name!r} differs from the log origin "
                              f"{settings.log_origin!r}")
        return signer
    signer = generate_signer(settings.log_origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(signer.skey + "\n")
    return signer


@dataclass
class WitnessLink:
    url: str
    verifier: Verifier
    size: int = 0  # size of the last checkpoint this witness cosigned, as far as we know
    last_error: str | None = None


@dataclass
class _Cache:
    edge: Edge | None = None
    stamp: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


class Ledger:
    def __init__(self, settings: Settings, db: Database, signer: Signer, *,
                 interval: float = 0.5, witness_timeout: float = 5.0) -> None:
        self.settings = settings
        self.db = db
        self.signer = signer
        self.origin = settings.log_origin
        self.interval = interval
        self.links = [WitnessLink(w.url.rstrip("/"), parse_vkey(w.vkey))
                      for w in settings.witnesses]
        self.quorum = settings.witness_quorum
        self.policy: Policy = threshold_policy(
            signer.verifier, [(w.verifier, w.url) for w in self.links], self.quorum)
        self._cache = _Cache()
        self._subtrees: dict[tuple[int, int], bytes] = {}
        self._local = threading.local()
        self._conns: list[Connection] = []  # one per thread that used the ledger
        self._conns_lock = threading.Lock()
        self._push_lock = threading.Lock()
        self._stop = threading.Event()
        self._signed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._http = httpx.Client(timeout=witness_timeout)

    # -- connections -------------------------------------------------------------------
    def _conn(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.db.connect()
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def _end_read(self, conn: Connection) -> None:
        # psycopg opens a transaction for any statement; end it so the next read sees new data.
        if conn.dialect == "postgresql" and conn._depth == 0:
            conn.raw.rollback()

    def _lock_state(self, conn: Connection) -> tuple[int, str]:
        suffix = " FOR UPDATE" if conn.dialect == "postgresql" else ""
        row = conn.fetchone("SELECT size, stamp FROM ledger_state WHERE id = 1" + suffix)
        if row is None:
            raise LedgerError("ledger_state has no row: run the migrations")
        return int(row[0]), str(row[1])

    # -- writing -----------------------------------------------------------------------
    def lock(self, conn: Connection) -> tuple[int, str] | None:
        """Take the log's write lock now, in the caller's transaction (held until it ends):
        what the caller reads afterwards cannot change before its append (PostgreSQL; on
        SQLite, BEGIN IMMEDIATE has already made it the only writer, and this returns None).
        Returns the log's state as locked, for `append` in the same transaction."""
        if conn.dialect == "postgresql":
            return self._lock_state(conn)
        return None

    def append(self, conn: Connection, entries: Sequence[LogEntry | bytes],
               locked: tuple[int, str] | None = None,
               leaves: Sequence[bytes] | None = None) -> list[int]:
        """Sequence entries (or their encodings) inside the caller's transaction; return
        their leaf indices. `locked`: what `lock` returned in this same transaction (the
        state cannot have changed since, so it is not read and locked a second time).
        `leaves`: the entries' leaf hashes, when the caller has them (capture workers
        compute them, so that the one writer thread does not)."""
        if not entries:
            return []
        data = [e if isinstance(e, bytes) else e.encode() for e in entries]
        with conn.transaction():  # joins the caller's transaction
            # the database lock: single writer
            size, stamp = locked if locked is not None else self._lock_state(conn)
            with self._cache.lock:
                edge = self._cache.edge
                # A cached edge whose stamp is the stored one is what the store holds (this
                # writer made the last append), so its partial bundle can grow by a piece.
                cached = not (edge is None or self._cache.stamp != stamp or edge.size != size)
                if not cached:
                    edge = self._load_edge(conn, size)
                new_edge, writes = append_entries(
                    edge, data, list(leaves) if leaves is not None else None)
                rows, piece, whole = _split_writes(edge, writes, pieces=cached)
                new_stamp = secrets.token_hex(8)
                conn.executemany(_UPSERT, rows)
                if whole:  # bundles now stored as rows: their pieces go
                    conn.executemany(DELETE_PIECES, [(n,) for n in whole])
                if piece is not None:
                    conn.execute(INSERT_PIECE, piece)
                conn.execute("UPDATE ledger_state SET size = ?, stamp = ? WHERE id = 1",
                             (new_edge.size, new_stamp))
                # If the caller rolls back, the stamp in the store will not match this one
                # and the next append reloads the edge from the store.
                self._cache.edge, self._cache.stamp = new_edge, new_stamp
        return list(range(size, size + len(data)))

    def _load_edge(self, conn: Connection, size: int) -> Edge:
        tiles: list[bytes] = []
        for level, n, width in edge_tiles(size):
            tiles.append(self._tile_row(conn, level, n, width)[:width * 32] if width else b"")
        bundle: list[bytes] = []
        if size % TILE_WIDTH:
            raw = self._tile_row(conn, ENTRIES, size // TILE_WIDTH, size % TILE_WIDTH)
            bundle = decode_bundle(raw)[:size % TILE_WIDTH]
        while tiles and not tiles[-1]:
            tiles.pop()
        return Edge(size, tiles, bundle)

    def _tile_row(self, conn: Connection, level: int, n: int, width: int) -> bytes:
        row = _read_tile_row(conn, level, n)
        if row is None or row[0] < width:
            raise LedgerError(f"store is missing {tile_path(level, n, width)}")
        return row[1]

    def _hasher(self, conn: Connection) -> TileHasher:
        """Straight from the stored tiles (used before signing: no caches)."""
        return TileHasher(lambda level, n, width: self._tile_row(conn, level, n, width))

    def _proof_hasher(self, conn: Connection) -> Callable[[int, int], bytes]:
        """For serving proofs: stored internal nodes of full tiles, one query per tile, and a
        shared cache of perfect-subtree hashes (immutable once their leaves exist)."""
        rows: dict[tuple[int, int], tuple[int, bytes, bytes | None]] = {}

        def row(level: int, n: int) -> tuple[int, bytes, bytes | None]:
            got = rows.get((level, n))
            if got is None:
                r = conn.fetchone("SELECT width, data, nodes FROM ledger_tiles "
                                  "WHERE level = ? AND n = ?", (level, n))
                if r is None:
                    raise LedgerError(f"store is missing {tile_path(level, n)}")
                got = rows[(level, n)] = (int(r[0]), bytes(r[1]),
                                          None if r[2] is None else bytes(r[2]))
            return got

        def read(level: int, n: int, width: int) -> bytes:
            got_width, data, _ = row(level, n)
            if got_width < width:
                raise LedgerError(f"store is missing {tile_path(level, n, width)}")
            return data

        tiles = TileHasher(read, nodes=lambda level, n: row(level, n)[2])
        cache = self._subtrees

        def hasher(start: int, height: int) -> bytes:
            value = cache.get((start, height))
            if value is None:
                value = tiles(start, height)
                if len(cache) >= _SUBTREE_CACHE:
                    cache.clear()
                cache[(start, height)] = value
            return value

        return hasher

    # -- checkpoints ---------------------------------------------------------------------
    def size(self) -> int:
        conn = self._conn()
        try:
            row = conn.fetchone("SELECT size FROM ledger_state WHERE id = 1")
            return int(row[0]) if row else 0
        finally:
            self._end_read(conn)

    def sign_now(self) -> bytes:
        """Sign a checkpoint covering every committed entry (or return the latest if nothing
        new). Refuses to sign anything inconsistent with the last signed checkpoint.

        The tree is hashed without the write lock (the first `size` leaves never change once
        committed), so that captures do not wait for it; the lock is taken only to check that
        no other signer got in between and to record the checkpoint."""
        conn = self._conn()
        for _attempt in range(5):
            try:
                size = int(conn.fetchone("SELECT size FROM ledger_state WHERE id = 1")[0])
                last = conn.fetchone("SELECT size, root, note FROM ledger_checkpoints "
                                     "ORDER BY size DESC LIMIT 1")
                if last is not None and int(last[0]) == size:
                    return str(last[2]).encode()
                if last is not None and int(last[0]) > size:
                    raise LedgerError(f"store holds {size} entries but a checkpoint of size "
                                      f"{last[0]} was already signed: refusing to sign")
                hasher = self._hasher(conn)
                root = tree_root(hasher, size)
                if last is not None and int(last[0]) > 0:
                    old, old_root = int(last[0]), bytes(last[1])
                    try:
                        verify_consistency(old, size, old_root, root,
                                           consistency_proof(hasher, old, size))
                    except ProofError as exc:
                        raise LedgerError(f"stored tree of size {size} is not consistent "
                                          f"with the signed checkpoint of size {old}: "
                                          f"{exc}") from exc
            finally:
                self._end_read(conn)
            note = sign_note(Checkpoint(self.origin, size, root).text(), [self.signer])
            with conn.transaction():
                self._lock_state(conn)  # the single-writer lock, briefly
                now = conn.fetchone("SELECT MAX(size) FROM ledger_checkpoints")
                newest = None if now is None or now[0] is None else int(now[0])
                if newest != (None if last is None else int(last[0])):
                    continue  # another signer recorded one meanwhile: start again
                conn.execute("INSERT INTO ledger_checkpoints (size, root, note, witnessed, "
                             "created_at) VALUES (?, ?, ?, 0, ?)",
                             (size, root, note.decode(), datetime.now(UTC).isoformat()))
            self._signed.set()
            return note
        raise LedgerError("checkpoints kept changing while signing: try again")

    def latest_signed(self) -> bytes | None:
        """The newest checkpoint, witnessed or not."""
        return self._checkpoint_where(0)

    def checkpoint(self) -> bytes | None:
        """The newest checkpoint that meets the witness quorum, with its cosignatures."""
        return self._checkpoint_where(self.quorum)

    def _checkpoint_where(self, witnessed: int) -> bytes | None:
        conn = self._conn()
        try:
            row = conn.fetchone("SELECT note FROM ledger_checkpoints WHERE witnessed >= ? "
                                "ORDER BY size DESC LIMIT 1", (witnessed,))
            return str(row[0]).encode() if row else None
        finally:
            self._end_read(conn)

    # -- witnesses ---------------------------------------------------------------------
    def witness_now(self) -> int:
        """Push the newest checkpoint to every witness that has not cosigned it; store the
        cosignatures. Returns how many witnesses have cosigned it. Never raises for a
        witness that is down (its error is kept in `links[i].last_error`)."""
        if not self.links:
            return 0
        with self._push_lock:
            note = self.latest_signed()
            if note is None:
                return 0
            cp = parse_checkpoint(parse_note(note).text)
            conn = self._conn()
            try:
                have = verified_by(parse_note(note), [w.verifier for w in self.links])
                lines: list[str] = []
                for link in self.links:
                    if link.verifier in have:
                        continue
                    lines += self._push(conn, link, note, cp)
            finally:
                self._end_read(conn)
            if not lines:
                return len(have)
            note = add_signatures(note, lines)
            count = len(verified_by(parse_note(note), [w.verifier for w in self.links]))
            with conn.transaction():
                conn.execute("UPDATE ledger_checkpoints SET note = ?, witnessed = ? "
                             "WHERE size = ?", (note.decode(), count, cp.size))
            return count

    def _push(self, conn: Connection, link: WitnessLink, note: bytes,
              cp: Checkpoint) -> list[str]:
        for _attempt in range(3):
            old = link.size
            if old > cp.size:
                link.last_error = (f"witness has size {old}, beyond our checkpoint {cp.size}")
                return []
            proof = consistency_proof(self._proof_hasher(conn), old, cp.size) if old else []
            try:
                status, body = post(self._http, link.url + "/add-checkpoint",
                                    add_checkpoint_body(old, proof, note))
            except TransportError as exc:
                link.last_error = str(exc)
                log.warning("witness %s unreachable: %s", link.verifier.name, exc)
                return []
            if status == 409:
                try:
                    link.size = int(body.decode().strip())
                except ValueError:
                    link.last_error = "409 without a size"
                    return []
                continue
            if status != 200:
                link.last_error = f"HTTP {status}: {body[:200]!r}"
                log.warning("witness %s refused size %d: %s", link.verifier.name, cp.size,
                            link.last_error)
                return []
            try:
                lines = parse_cosignatures(note, body, link.verifier)
            except NoteError as exc:
                link.last_error = str(exc)
                return []
            link.size, link.last_error = cp.size, None
            return lines
        return []

    # -- background --------------------------------------------------------------------
    def start(self) -> None:
        """Sign at least every `interval` seconds while entries arrive; push to witnesses."""
        if self._threads:
            return
        self._stop.clear()
        self._threads = [threading.Thread(target=self._sign_loop, name="ledger-signer",
                                          daemon=True),
                         threading.Thread(target=self._push_loop, name="ledger-witness",
                                          daemon=True)]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        self._signed.set()
        for t in self._threads:
            t.join(timeout=30)
        self._threads = []

    def _sign_loop(self) -> None:
        signed = -1
        while not self._stop.is_set():
            try:
                size = self.size()
                if size != signed:  # cheap read first: the write lock only when needed
                    signed = parse_checkpoint(parse_note(self.sign_now()).text).size
            except Exception:  # keep signing later; the error is in the log
                log.exception("checkpoint signing failed")
            self._stop.wait(self.interval)

    def _push_loop(self) -> None:
        while not self._stop.is_set():
            self._signed.wait(1.0)
            self._signed.clear()
            if self._stop.is_set():
                break
            try:
                self.witness_now()
            except Exception:
                log.exception("witness push failed")

    def close(self) -> None:
        """Stop the background threads and close every connection the ledger opened."""
        self.stop()
        self._http.close()
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.close()
            except Exception:  # closing is best effort at shutdown
                log.debug("closing a ledger connection failed", exc_info=True)
        self._local = threading.local()

    # -- reading -----------------------------------------------------------------------
    def read_tile(self, level: int, n: int, width: int) -> bytes | None:
        """Tile (level >= 0) or entry bundle (level ENTRIES) of the given width, if stored."""
        conn = self._conn()
        try:
            row = _read_tile_row(conn, level, n)
        finally:
            self._end_read(conn)
        if row is None or row[0] < width:
            return None
        data = row[1]
        if level == ENTRIES:
            return data if row[0] == width else encode_bundle(decode_bundle(data)[:width])
        return data[:width * 32]

    def entry(self, index: int) -> bytes | None:
        bundle = self.read_tile(ENTRIES, index // TILE_WIDTH, index % TILE_WIDTH + 1)
        return None if bundle is None else decode_bundle(bundle)[index % TILE_WIDTH]

    def receipt(self, index: int) -> bytes | None:
        """C2SP tlog-proof for entry `index` against the newest witnessed checkpoint, with
        the entry itself as the extra data; None until a checkpoint covers the index."""
        note = self.checkpoint()
        if note is None:
            return None
        cp = parse_checkpoint(parse_note(note).text)
        if not 0 <= index < cp.size:
            return None
        proof = self.inclusion_proof(index, cp.size)
        return Receipt(index, proof, note, self.entry(index)).encode()

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf `index` in the tree of `size` (from the tiles)."""
        conn = self._conn()
        try:
            return inclusion_proof(self._proof_hasher(conn), index, size)
        finally:
            self._end_read(conn)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """RFC 9162 consistency proof from tree size `old` to `new` (from the tiles)."""
        conn = self._conn()
        try:
            return consistency_proof(self._proof_hasher(conn), old, new)
        finally:
            self._end_read(conn)

    def info(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "log_vkey": self.signer.verifier.vkey,
            "witnesses": [{"url": w.url, "vkey": w.verifier.vkey} for w in self.links],
            "quorum": self.quorum,
            "policy": self.policy.text(),
            "entry_format": "corridor/entry/v1",
        }

    def export(self, directory: Path) -> Checkpoint:
        """Write checkpoint, tiles and entry bundles as a static tlog-tiles mirror."""
        note = self.checkpoint()
        if note is None:
            raise LedgerError("no checkpoint to export yet")
        cp = parse_checkpoint(parse_note(note).text)
        directory = Path(directory)
        for level, n, width in tiles_for_size(cp.size):
            for lvl in ((level, ENTRIES) if level == 0 else (level,)):
                data = self.read_tile(lvl, n, width)
                if data is None:
                    raise LedgerError(f"store is missing {tile_path(lvl, n, width)}")
                path = directory / tile_path(lvl, n, width)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        write_atomic(directory / "checkpoint", note)
        (directory / "info").write_text(json.dumps(self.info(), indent=2) + "\n")
        return cp

    # -- audit -------------------------------------------------------------------------
    def audit(self, witnesses: list[Verifier] | None = None) -> list[str]:
        """Re-check the store: entries vs tiles vs checkpoints (signatures, and cosignature
        counts when witness keys are known), and event documents vs entries when an `events`
        table exists. Returns the problems found (empty when sound)."""
        conn = self._conn()
        keys = [w.verifier for w in self.links] if witnesses is None else witnesses
        try:
            return audit_store(conn, self.signer.verifier, keys)
        finally:
            self._end_read(conn)


def open_ledger(settings: Settings, db: Database, **options: Any) -> Ledger:
    """The node's log over `db` (migrations applied), signing with the configured key."""
    conn = db.connect()
    try:
        migrate(db, conn)
    finally:
        conn.close()
    return Ledger(settings, db, load_or_create_signer(settings), **options)
