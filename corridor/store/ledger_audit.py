"""The ledger's self-audit over its own store: every entry bundle against its level-0 tile,
every tile against the level above and its stored internal nodes, every checkpoint's
signature, cosignature count and root against the tiles, and, when an `events` table exists,
every stored event against its entry: hash_id, document digest, party and record_time as
committed, event_id as in the document, captured_by the party the entry names."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from corridor.ledger.checkpoint import parse_checkpoint
from corridor.ledger.entry import LogEntry
from corridor.ledger.jcs import document_digest
from corridor.ledger.merkle import leaf_hash, tree_root
from corridor.ledger.note import NoteError, Verifier, open_note, verified_by
from corridor.ledger.tiles import (
    ENTRIES,
    TILE_WIDTH,
    TileError,
    TileHasher,
    decode_bundle,
    split_hashes,
    tile_nodes,
    tile_path,
    tiles_for_size,
)
from corridor.store.db import Connection
from corridor.store.ledger_bundles import join_pieces, read_all_pieces

# (level, n) -> (width, data) of the stored tiles; level ENTRIES: the entry bundles
_Tiles = dict[tuple[int, int], tuple[int, bytes]]


def audit_store(conn: Connection, log_key: Verifier | Sequence[Verifier],
                witnesses: list[Verifier]) -> list[str]:
    """Problems found in the store (empty when sound), each naming what and where. Each
    checkpoint must be signed by `log_key` (one of them, where the log's key was rotated)."""
    log_keys = [log_key] if isinstance(log_key, Verifier) else list(log_key)
    size = int(conn.fetchone("SELECT size FROM ledger_state WHERE id = 1")[0])
    stored, roots, problems = _stored_tiles(conn)
    entries, tile_problems = _audit_tiles(stored, roots, size)
    problems += tile_problems
    problems += _audit_checkpoints(conn, stored, size, log_keys, witnesses)
    problems += _audit_events(conn, entries)
    return problems


def _stored_tiles(conn: Connection) -> tuple[_Tiles, dict[tuple[int, int], bytes], list[str]]:
    """The stored tiles (partial entry bundles joined from their pieces), the root of each
    full tile computed from its hashes, and the problems met on the way: stored internal
    nodes that differ from the tile's hashes, pieces that do not continue their bundle."""
    problems: list[str] = []
    stored: _Tiles = {}
    roots: dict[tuple[int, int], bytes] = {}  # root of each full tile, from its hashes
    for lvl, n, w, d, nodes in conn.fetchall(
            "SELECT level, n, width, data, nodes FROM ledger_tiles"):
        key = (int(lvl), int(n))
        stored[key] = (int(w), bytes(d))
        if key[0] >= 0 and len(d) == TILE_WIDTH * 32:
            roots[key], want = tile_nodes(split_hashes(bytes(d)))
            if nodes is not None and bytes(nodes) != want:
                problems.append(f"changed tile nodes: the stored internal nodes of "
                                f"{tile_path(*key)} differ from its hashes")
    for n, pieces in read_all_pieces(conn).items():  # partial bundles grow by pieces
        row = stored.get((ENTRIES, n))
        joined, unused = join_pieces(row, pieces)
        if joined is not None:
            stored[(ENTRIES, n)] = joined
        for start, _, _ in unused:
            problems.append(f"unexpected piece of entry bundle {n} at entry {start}: it does "
                            f"not continue the bundle's {0 if joined is None else joined[0]}"
                            " entries")
    return stored, roots, problems


def _audit_tiles(stored: _Tiles, roots: dict[tuple[int, int], bytes], size: int
                 ) -> tuple[dict[int, list[bytes]], list[str]]:
    """Every tile and entry bundle of a tree of `size` against the stored ones: the decoded
    entry bundles (by n) and the problems (missing, unexpected, changed)."""
    problems: list[str] = []
    expected = {(lvl, n): w for lvl, n, w in tiles_for_size(size)}
    expected.update({(ENTRIES, n): w for lvl, n, w in tiles_for_size(size) if lvl == 0})
    for key in sorted(set(stored) - set(expected)):
        problems.append(f"unexpected {tile_path(key[0], key[1], stored[key][0])} beyond size "
                        f"{size}")
    entries: dict[int, list[bytes]] = {}
    for (lvl, n), width in sorted(expected.items()):  # the bundles first (ENTRIES < 0)
        path = tile_path(lvl, n, width)
        if (lvl, n) not in stored:
            problems.append(f"missing {path}")
            continue
        got_width, data = stored[(lvl, n)]
        if got_width != width:
            problems.append(f"{path}: stored width {got_width}, expected {width}")
        elif lvl == ENTRIES:
            try:
                entries[n] = decode_bundle(data, path)
            except TileError as exc:
                problems.append(f"changed entry bundle: {exc}")
                continue
            if len(entries[n]) != width:
                problems.append(f"changed entry bundle {path}: {len(entries[n])} entries, "
                                f"expected {width}")
        elif len(data) != width * 32:
            problems.append(f"changed tile {path}: {len(data)} bytes, expected {width * 32}")
        elif lvl == 0:
            problems += _audit_leaves(entries.get(n), n, width, data, path)
        else:
            problems += _audit_parents(roots, lvl, n, width, data, path)
    return entries, problems


def _audit_leaves(bundle: list[bytes] | None, n: int, width: int, data: bytes, path: str
                  ) -> list[str]:
    """Level-0 tile `n` against the hashes of its bundle's entries (if the bundle decoded)."""
    if bundle is None:
        return []
    return [f"entry {n * TILE_WIDTH + i} (tile/entries {tile_path(ENTRIES, n, width)}) does "
            f"not match leaf hash {i} of {path}"
            for i, e in enumerate(bundle[:width]) if leaf_hash(e) != data[i * 32:(i + 1) * 32]]


def _audit_parents(roots: dict[tuple[int, int], bytes], lvl: int, n: int, width: int,
                   data: bytes, path: str) -> list[str]:
    """Tile `n` of level `lvl` > 0: each hash the root of the full tile below."""
    return [f"changed tile: hash {i} of {path} is not the root of "
            f"{tile_path(lvl - 1, n * TILE_WIDTH + i)}"
            for i in range(width) if roots.get((lvl - 1, n * TILE_WIDTH + i))
            != data[i * 32:(i + 1) * 32]]


def _audit_checkpoints(conn: Connection, stored: _Tiles, size: int, log_keys: list[Verifier],
                       witnesses: list[Verifier]) -> list[str]:
    """Every stored checkpoint: its signature, its count of cosignatures, its columns against
    its note, its size within the tree's and its root against the stored tiles."""

    def read(level: int, n: int, width: int) -> bytes:
        got = stored.get((level, n))
        if got is None or got[0] < width:
            raise TileError(f"missing {tile_path(level, n, width)}")
        return got[1]

    hasher = TileHasher(read)
    problems: list[str] = []
    for cp_size, cp_root, note, witnessed in conn.fetchall(
            "SELECT size, root, note, witnessed FROM ledger_checkpoints ORDER BY size"):
        where = f"checkpoint of size {cp_size}"
        try:
            opened, _ = open_note(str(note).encode(), log_keys)
            cp = parse_checkpoint(opened.text)
            cosigned = verified_by(opened, witnesses)
        except (NoteError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        if witnesses and len(cosigned) != int(witnessed):
            problems.append(f"{where}: recorded {witnessed} witness cosignatures but "
                            f"{len(cosigned)} verify")
        if cp.size != int(cp_size) or cp.root != bytes(cp_root) or cp.origin != log_keys[0].name:
            problems.append(f"{where}: note says size {cp.size} origin {cp.origin!r}, which "
                            "differs from its stored columns")
            continue
        if cp.size > size:
            problems.append(f"{where}: beyond the stored tree size {size} (rollback)")
            continue
        try:
            root = tree_root(hasher, cp.size)
        except (TileError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        if root != cp.root:
            problems.append(f"{where}: its root hash differs from the stored tiles' root")
    return problems


_EVENT_BATCH = 2000  # rows of `events` read at a time (documents included)


def _columns(conn: Connection, table: str) -> set[str]:
    if conn.dialect == "sqlite":
        return {r[1] for r in conn.fetchall(f"PRAGMA table_info({table})")}
    return {r[0] for r in conn.fetchall(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = current_schema()", (table,))}


def _audit_events(conn: Connection, bundles: dict[int, list[bytes]]) -> list[str]:
    """Every stored event against its log entry, column by column. hash_id, party and
    record_time are what the entry commits to, and `doc` has the entry's digest; event_id is
    the eventID inside that document; captured_by, the party id access control reads, is
    the party whose identifier (parties.identifier: what capture writes into `party` and the
    entry) the entry names, NULL (the node itself) when no party has that identifier."""
    cols = _columns(conn, "events")
    # The events concern names the stored document `doc` (the contract said `document`).
    doc_col = "document" if "document" in cols else "doc"
    if not {"id", "event_id", "hash_id", doc_col, "log_index", "party", "record_time",
            "captured_by"} <= cols:
        return []
    owners: dict[str, int] = {}
    if "identifier" in _columns(conn, "parties"):
        owners = {str(ident): int(pk) for pk, ident in
                  conn.fetchall("SELECT id, identifier FROM parties")}
    select = (f"SELECT id, event_id, hash_id, {doc_col}, log_index, party, record_time, "
              "captured_by FROM events WHERE id > ? AND log_index IS NOT NULL ORDER BY id "
              f"LIMIT {_EVENT_BATCH}")
    problems: list[str] = []
    last = -(1 << 63)
    while rows := conn.fetchall(select, (last,)):
        last = rows[-1][0]
        for _, event_id, hash_id, document, index, party, record_time, captured_by in rows:
            where = f"event {event_id} (log index {index})"
            bundle = bundles.get(int(index) // TILE_WIDTH)
            if bundle is None or int(index) % TILE_WIDTH >= len(bundle):
                problems.append(f"{where}: no such log entry")
                continue
            try:
                entry = LogEntry.decode(bundle[int(index) % TILE_WIDTH])
            except ValueError as exc:
                problems.append(f"{where}: log entry malformed: {exc}")
                continue
            stored = (hash_id, party, record_time, captured_by)
            if stored != (entry.event_hash_id, entry.party, entry.record_time,
                          owners.get(entry.party)):
                problems += _column_problems(where, stored, entry, owners)
            try:
                doc = json.loads(document) if isinstance(document, (str, bytes)) else document
                digest = document_digest(doc)
            except ValueError as exc:
                problems.append(f"{where}: doc: stored document is not JSON: {exc}")
                continue
            if digest != entry.document_sha256:
                problems.append(f"{where}: doc: stored document's SHA-256 "
                                f"{base64.b16encode(digest).decode().lower()} differs from "
                                "the log entry's digest")
            doc_id = doc.get("eventID") if isinstance(doc, dict) else None
            if doc_id != event_id:
                problems.append(f"{where}: event_id differs from the eventID {doc_id!r} of "
                                "the stored document")
    return problems


def _column_problems(where: str, stored: tuple[object, ...], entry: LogEntry,
                     owners: dict[str, int]) -> list[str]:
    """What differs between an event's (hash_id, party, record_time, captured_by) and its
    log entry."""
    hash_id, party, record_time, captured_by = stored
    problems = []
    if hash_id != entry.event_hash_id:
        problems.append(f"{where}: hash_id {hash_id} differs from the log entry's "
                        f"{entry.event_hash_id}")
    if party != entry.party:
        problems.append(f"{where}: party {party!r} differs from the log entry's "
                        f"{entry.party!r}")
    if record_time != entry.record_time:
        problems.append(f"{where}: record_time {record_time!r} differs from the log entry's "
                        f"{entry.record_time!r}")
    owner = owners.get(entry.party)
    if captured_by != owner:
        problems.append(f"{where}: captured_by {captured_by} is not the party the log entry "
                        f"names: {entry.party!r} is "
                        f"{'no party' if owner is None else f'party {owner}'}")
    return problems
