"""The ledger's self-audit over its own store: every entry bundle against its level-0 tile,
every tile against the level above and its stored internal nodes, every checkpoint's
signature, cosignature count and root against the tiles, and, when an `events` table exists,
every stored event document against its entry's digest and Event Hash ID."""

from __future__ import annotations

import base64
import json

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


def audit_store(conn: Connection, log_key: Verifier, witnesses: list[Verifier]) -> list[str]:
    """Problems found in the store (empty when sound), each naming what and where."""
    problems: list[str] = []
    size = int(conn.fetchone("SELECT size FROM ledger_state WHERE id = 1")[0])
    stored: dict[tuple[int, int], tuple[int, bytes]] = {}
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
    expected = {(lvl, n): w for lvl, n, w in tiles_for_size(size)}
    expected.update({(ENTRIES, n): w for lvl, n, w in tiles_for_size(size) if lvl == 0})
    for key in sorted(set(stored) - set(expected)):
        problems.append(f"unexpected {tile_path(key[0], key[1], stored[key][0])} beyond size "
                        f"{size}")
    entries: dict[int, list[bytes]] = {}
    for (lvl, n), width in sorted(expected.items()):
        path = tile_path(lvl, n, width)
        if (lvl, n) not in stored:
            problems.append(f"missing {path}")
            continue
        got_width, data = stored[(lvl, n)]
        if got_width != width:
            problems.append(f"{path}: stored width {got_width}, expected {width}")
            continue
        if lvl == ENTRIES:
            try:
                entries[n] = decode_bundle(data, path)
            except TileError as exc:
                problems.append(f"changed entry bundle: {exc}")
                continue
            if len(entries[n]) != width:
                problems.append(f"changed entry bundle {path}: {len(entries[n])} entries, "
                                f"expected {width}")
            continue
        if len(data) != width * 32:
            problems.append(f"changed tile {path}: {len(data)} bytes, expected {width * 32}")
            continue
        if lvl == 0:
            bundle = entries.get(n)
            if bundle is None:
                continue
            for i, e in enumerate(bundle[:width]):
                if leaf_hash(e) != data[i * 32:(i + 1) * 32]:
                    problems.append(f"entry {n * TILE_WIDTH + i} (tile/entries "
                                    f"{tile_path(ENTRIES, n, width)}) does not match leaf "
                                    f"hash {i} of {path}")
        else:
            for i in range(width):
                if roots.get((lvl - 1, n * TILE_WIDTH + i)) != data[i * 32:(i + 1) * 32]:
                    problems.append(f"changed tile: hash {i} of {path} is not the root of "
                                    f"{tile_path(lvl - 1, n * TILE_WIDTH + i)}")

    def read(level: int, n: int, width: int) -> bytes:
        got = stored.get((level, n))
        if got is None or got[0] < width:
            raise TileError(f"missing {tile_path(level, n, width)}")
        return got[1]

    hasher = TileHasher(read)
    for cp_size, cp_root, note, witnessed in conn.fetchall(
            "SELECT size, root, note, witnessed FROM ledger_checkpoints ORDER BY size"):
        where = f"checkpoint of size {cp_size}"
        try:
            opened, _ = open_note(str(note).encode(), [log_key])
            cp = parse_checkpoint(opened.text)
            cosigned = verified_by(opened, witnesses)
        except (NoteError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        if witnesses and len(cosigned) != int(witnessed):
            problems.append(f"{where}: recorded {witnessed} witness cosignatures but "
                            f"{len(cosigned)} verify")
        if cp.size != int(cp_size) or cp.root != bytes(cp_root) or cp.origin != log_key.name:
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
    problems += _audit_events(conn, entries)
    return problems


def _audit_events(conn: Connection, bundles: dict[int, list[bytes]]) -> list[str]:
    if conn.dialect == "sqlite":
        cols = {r[1] for r in conn.fetchall("PRAGMA table_info(events)")}
    else:
        cols = {r[0] for r in conn.fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'events' "
            "AND table_schema = current_schema()")}
    # The events concern names the stored document `doc` (the contract said `document`).
    doc_col = "document" if "document" in cols else "doc"
    if not {"event_id", "hash_id", doc_col, "log_index"} <= cols:
        return []
    problems = []
    for event_id, hash_id, document, index in conn.fetchall(
            f"SELECT event_id, hash_id, {doc_col}, log_index FROM events "
            "WHERE log_index IS NOT NULL ORDER BY log_index"):
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
        if entry.event_hash_id != hash_id:
            problems.append(f"{where}: hash id {hash_id} differs from the log entry's "
                            f"{entry.event_hash_id}")
        try:
            doc = json.loads(document) if isinstance(document, (str, bytes)) else document
            digest = document_digest(doc)
        except ValueError as exc:
            problems.append(f"{where}: stored document is not JSON: {exc}")
            continue
        if digest != entry.document_sha256:
            problems.append(f"{where}: stored document's SHA-256 "
                            f"{base64.b16encode(digest).decode().lower()} differs from the "
                            "log entry's digest")
    return problems
