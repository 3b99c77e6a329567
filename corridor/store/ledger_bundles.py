"""Entry bundles as stored.

A full bundle (256 entries) is one `ledger_tiles` row at level -1. A partial bundle grows by
one `ledger_bundle_parts` row per append, holding only that append's entries: rewriting the
whole partial bundle (up to ~64 KiB) on every commit was the largest cost of a PostgreSQL
group commit of single events (a new row version and its TOAST chunks each time). A partial
bundle may also start with a `ledger_tiles` row narrower than 256 (stores written before the
pieces, or a writer that reloaded its edge), the pieces continuing from its width.

Reading joins the row and the pieces that follow each other from its width; a piece that does
not follow (a gap, an overlap) ends the bundle there, and the audit names it.
"""

from __future__ import annotations

from collections.abc import Sequence

from corridor.ledger.tiles import ENTRIES, TILE_WIDTH
from corridor.store.db import Connection

Piece = tuple[int, int, bytes]  # (start, width after it, its entries' encoded bytes)

INSERT_PIECE = "INSERT INTO ledger_bundle_parts (n, start, width, data) VALUES (?, ?, ?, ?)"
DELETE_PIECES = "DELETE FROM ledger_bundle_parts WHERE n = ?"


def join_pieces(row: tuple[int, bytes] | None, pieces: Sequence[Piece]
                ) -> tuple[tuple[int, bytes] | None, list[Piece]]:
    """((width, data) of the bundle or None, the pieces left out). `pieces` in start order."""
    width, chunks = (row[0], [row[1]]) if row is not None else (0, [])
    unused: list[Piece] = []
    for piece in pieces:
        start, end, data = piece
        if start == width and width < end <= TILE_WIDTH and not unused:
            chunks.append(data)
            width = end
        else:
            unused.append(piece)
    if row is None and width == 0:
        return None, unused
    return (width, b"".join(chunks)), unused


def read_bundle(conn: Connection, n: int) -> tuple[int, bytes] | None:
    """(width, data) of entry bundle `n` as stored, or None."""
    got = conn.fetchone("SELECT width, data FROM ledger_tiles WHERE level = ? AND n = ?",
                        (ENTRIES, n))
    row = (int(got[0]), bytes(got[1])) if got is not None else None
    if row is not None and row[0] >= TILE_WIDTH:
        return row
    pieces = [(int(s), int(w), bytes(d)) for s, w, d in conn.fetchall(
        "SELECT start, width, data FROM ledger_bundle_parts WHERE n = ? ORDER BY start", (n,))]
    return join_pieces(row, pieces)[0]


def read_all_pieces(conn: Connection) -> dict[int, list[Piece]]:
    """Every stored piece, by bundle, in start order (for the audit)."""
    out: dict[int, list[Piece]] = {}
    for n, start, width, data in conn.fetchall(
            "SELECT n, start, width, data FROM ledger_bundle_parts ORDER BY n, start"):
        out.setdefault(int(n), []).append((int(start), int(width), bytes(data)))
    return out
