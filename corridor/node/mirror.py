"""A static tlog-tiles mirror of the running log: `corridor log export` writes one round,
`--follow` keeps it current.

Each round takes the newest witnessed checkpoint; if it is new, the tiles and entry bundles it
adds are written first, each atomically (a temporary file renamed into place), then the
checkpoint, atomically too. A reader of the directory therefore never sees a checkpoint whose
tiles are missing, nor half a tile. Tiles are immutable once written: a full tile never
changes, and a partial tile's path names its width, so a grown partial tile is a new file.
Older partial tiles are left in place (readers of older checkpoints may still fetch them).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from corridor.ledger.checkpoint import Checkpoint, parse_checkpoint
from corridor.ledger.note import parse_note
from corridor.ledger.tiles import ENTRIES, TILE_WIDTH, tile_path
from corridor.ledger.verify import write_atomic
from corridor.store import LedgerError

if TYPE_CHECKING:
    from corridor.node.log import RunningLog


def new_tiles(old: int, new: int) -> list[tuple[int, int, int]]:
    """The (level, index, width) tiles of a tree of `new` leaves that a tree of `old` leaves
    lacks (partial ones included; entry bundles match level 0), lowest level first."""
    out: list[tuple[int, int, int]] = []
    level = 0
    while new >> (8 * level):
        before, after = old >> (8 * level), new >> (8 * level)
        if after != before:
            out.extend((level, n, TILE_WIDTH)
                       for n in range(before // TILE_WIDTH, after // TILE_WIDTH))
            if after % TILE_WIDTH:
                out.append((level, after // TILE_WIDTH, after % TILE_WIDTH))
        level += 1
    return out


@dataclass
class Round:
    checkpoint: Checkpoint  # the one the mirror holds after the round
    written: int  # tile and entry-bundle files written in the round

    @property
    def size(self) -> int:
        return self.checkpoint.size


class Mirror:
    """A directory kept as the tlog-tiles mirror of `ledger`."""

    def __init__(self, ledger: RunningLog, directory: Path) -> None:
        self.ledger = ledger
        self.directory = Path(directory)
        self.note: bytes | None = None
        self.size = 0
        self._checked = False  # files found in the directory compared once with the store

    def _tile(self, level: int, n: int, width: int) -> bool:
        """Write one tile (or entry bundle) unless the same file is there; True if written."""
        data = self.ledger.read_tile(level, n, width)
        if data is None:
            raise LedgerError(f"store is missing {tile_path(level, n, width)}")
        path = self.directory / tile_path(level, n, width)
        if path.exists():
            if self._checked or path.read_bytes() == data:
                return False
            raise LedgerError(f"{path} differs from this log's tile: the directory mirrors "
                              "another log (use an empty directory)")
        write_atomic(path, data)
        return True

    def _mirrored_size(self) -> int:
        """Size of the checkpoint the directory already serves (0: none): readers must
        never see the mirror go back."""
        try:
            note = (self.directory / "checkpoint").read_bytes()
        except FileNotFoundError:
            return 0
        try:
            return parse_checkpoint(parse_note(note).text).size
        except ValueError as exc:
            raise LedgerError(f"{self.directory / 'checkpoint'}: not a checkpoint: {exc}"
                              ) from None

    def sync(self) -> Round | None:
        """One round: mirror the newest witnessed checkpoint if it is not yet mirrored
        (None when there is nothing new)."""
        note = self.ledger.checkpoint()
        if note is None or note == self.note:
            return None
        cp: Checkpoint = parse_checkpoint(parse_note(note).text)
        if not self._checked:
            self.size = self._mirrored_size()
        if cp.size < self.size:
            raise LedgerError(f"the log's witnessed checkpoint has size {cp.size}, smaller "
                              f"than the mirrored size {self.size}")
        written = 0
        for level, n, width in new_tiles(0 if not self._checked else self.size, cp.size):
            for lvl in ((level, ENTRIES) if level == 0 else (level,)):
                written += self._tile(lvl, n, width)
        write_atomic(self.directory / "checkpoint", note)
        write_atomic(self.directory / "info",
                     (json.dumps(self.ledger.info(), indent=2) + "\n").encode())
        self.note, self.size, self._checked = note, cp.size, True
        return Round(cp, written)


def follow(mirror: Mirror, interval: float, stop: threading.Event,
           report: Callable[[Round], None] = lambda r: None,
           warn: Callable[[str], None] = lambda m: None) -> None:
    """Sync `mirror` every `interval` seconds until `stop` is set; a round in progress
    finishes first (every file it writes is complete or absent). A round that fails on the
    database (unreachable, restarting) is retried at the next interval; a wrong directory
    or a store that contradicts the mirror (LedgerError) and file errors end the loop."""
    while True:
        try:
            result = mirror.sync()
        except (sqlite3.Error, psycopg.Error) as exc:  # the mirror stays as it was
            warn(f"round failed, retrying in {interval:g} s: {exc}")
            result = None
        if result is not None:
            report(result)
        if stop.wait(interval):
            return
