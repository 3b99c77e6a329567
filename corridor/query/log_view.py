"""What the dashboard shows of the public log: its size and its latest signed checkpoints, as
stored by the node (corridor.store.ledger_store). Public data: no visibility rule."""

from __future__ import annotations

from dataclasses import dataclass

from corridor.store.db import Connection


@dataclass(frozen=True)
class CheckpointRow:
    size: int
    root: bytes
    note: str  # the signed note, with every signature it holds
    witnessed: int  # cosignatures counted when it was stored
    created_at: str


def tree_size(conn: Connection) -> int:
    """Entries in the log."""
    row = conn.fetchone("SELECT size FROM ledger_state WHERE id = 1")
    return int(row[0]) if row else 0


def latest_checkpoints(conn: Connection, limit: int = 20) -> list[CheckpointRow]:
    """The stored checkpoints, largest tree first."""
    rows = conn.fetchall(
        "SELECT size, root, note, witnessed, created_at FROM ledger_checkpoints"
        " ORDER BY size DESC LIMIT ?", (limit,))
    return [CheckpointRow(int(r[0]), bytes(r[1]), str(r[2]), int(r[3]), str(r[4]))
            for r in rows]
