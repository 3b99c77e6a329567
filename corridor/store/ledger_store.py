"""The log's storage: tiles, entry bundles and checkpoints in the ledger_* tables.

This module is SQL only. Appends run inside the caller's transaction (the one that also stores
the events), so an entry is durable exactly when its capture commits; the single writer is the
database's: SQLite's BEGIN IMMEDIATE, PostgreSQL's row lock on ledger_state. Hashing and
formats come from corridor.ledger; deciding when to sign and talking to witnesses belong to the
running log, corridor.node, which keeps this layer free of HTTP and threads.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from corridor.ledger.entry import LogEntry
from corridor.ledger.merkle import consistency_proof, inclusion_proof
from corridor.ledger.note import Verifier
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
)
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


_RECORD_KEY = ("INSERT INTO ledger_keys (vkey, first_size, last_size, first_signed, "
               "last_signed) VALUES (?, ?, ?, ?, ?) ON CONFLICT (vkey) DO UPDATE SET "
               "last_size = excluded.last_size, last_signed = excluded.last_signed")


class LedgerError(RuntimeError):
    """The store is in a state the log must not sign or serve (e.g. rolled back)."""


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: bytes


@dataclass(frozen=True)
class TreeSnapshot:
    """What a signer reads before signing: the committed size, the newest signed checkpoint,
    and node hashes straight from the stored tiles (no caches)."""
    size: int
    last: StoredCheckpoint | None
    hasher: TileHasher


@dataclass
class _Cache:
    edge: Edge | None = None
    stamp: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


class LedgerStore:
    """The ledger tables of one database, with one connection per thread that uses them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache = _Cache()
        self._subtrees: dict[tuple[int, int], bytes] = {}
        self._local = threading.local()
        self._conns: list[Connection] = []  # one per thread that used the store
        self._conns_lock = threading.Lock()

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

    def close(self) -> None:
        """Close every connection the store opened."""
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.close()
            except Exception:  # closing is best effort at shutdown
                log.debug("closing a ledger connection failed", exc_info=True)
        self._local = threading.local()

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

    @contextmanager
    def snapshot(self) -> Iterator[TreeSnapshot]:
        """The committed tree as a signer sees it, readable until the block ends. No write
        lock is taken: the first `size` leaves never change once committed."""
        conn = self._conn()
        try:
            size = int(conn.fetchone("SELECT size FROM ledger_state WHERE id = 1")[0])
            row = conn.fetchone("SELECT size, root, note FROM ledger_checkpoints "
                                "ORDER BY size DESC LIMIT 1")
            last = (None if row is None
                    else StoredCheckpoint(int(row[0]), bytes(row[1]), str(row[2]).encode()))
            yield TreeSnapshot(size, last, self._hasher(conn))
        finally:
            self._end_read(conn)

    def record_checkpoint(self, size: int, root: bytes, note: bytes,
                          after: int | None, keys: Sequence[str] = ()) -> bool:
        """Store a signed checkpoint, unless the newest stored one is no longer of size
        `after` (None: there was none): then another signer got in between, and this returns
        False. `keys`: the verifier keys that signed it (the key history). Takes the
        single-writer lock briefly."""
        conn = self._conn()
        with conn.transaction():
            self._lock_state(conn)
            now = conn.fetchone("SELECT MAX(size) FROM ledger_checkpoints")
            newest = None if now is None or now[0] is None else int(now[0])
            if newest != after:
                return False
            at = datetime.now(UTC).isoformat()
            conn.execute("INSERT INTO ledger_checkpoints (size, root, note, witnessed, "
                         "created_at) VALUES (?, ?, ?, 0, ?)", (size, root, note.decode(), at))
            for vkey in keys:
                conn.execute(_RECORD_KEY, (vkey, size, size, at, at))
        return True

    def key_history(self) -> list[dict[str, Any]]:
        """Each key that signed checkpoints, oldest first: its verifier key, the first and last
        tree sizes it signed and when."""
        conn = self._conn()
        try:
            rows = conn.fetchall("SELECT vkey, first_size, last_size, first_signed, "
                                 "last_signed FROM ledger_keys ORDER BY first_size, vkey")
        finally:
            self._end_read(conn)
        return [{"vkey": str(r[0]), "first_size": int(r[1]), "last_size": int(r[2]),
                 "first_signed": str(r[3]), "last_signed": str(r[4])} for r in rows]

    def record_cosignatures(self, size: int, note: bytes, witnessed: int) -> None:
        """Replace the stored checkpoint of `size` by `note` (now with more cosignatures)."""
        conn = self._conn()
        with conn.transaction():
            conn.execute("UPDATE ledger_checkpoints SET note = ?, witnessed = ? "
                         "WHERE size = ?", (note.decode(), witnessed, size))

    def newest_checkpoint(self, witnessed: int = 0) -> bytes | None:
        """The newest stored checkpoint with at least `witnessed` cosignatures."""
        conn = self._conn()
        try:
            row = conn.fetchone("SELECT note FROM ledger_checkpoints WHERE witnessed >= ? "
                                "ORDER BY size DESC LIMIT 1", (witnessed,))
            return str(row[0]).encode() if row else None
        finally:
            self._end_read(conn)

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

    def audit(self, log_key: Verifier | Sequence[Verifier],
              witnesses: list[Verifier]) -> list[str]:
        """Re-check the store: entries vs tiles vs checkpoints (each signed by `log_key`, or
        one of them when several keys signed over the log's life, and
        cosignature counts by `witnesses`), and event documents vs entries when an `events`
        table exists. Returns the problems found (empty when sound)."""
        conn = self._conn()
        try:
            return audit_store(conn, log_key, witnesses)
        finally:
            self._end_read(conn)


def open_ledger_store(db: Database) -> LedgerStore:
    """The ledger tables of `db`, with the migrations applied."""
    conn = db.connect()
    try:
        migrate(db, conn)
    finally:
        conn.close()
    return LedgerStore(db)
