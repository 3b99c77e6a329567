"""Verification of a whole tiled log from outside: checkpoint signature and witness quorum,
every entry bundle against its level-0 tile, every tile against the level above, the root,
and (with a saved state) consistency with the last verified checkpoint."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from corridor.ledger.checkpoint import Checkpoint, CheckpointError, parse_checkpoint
from corridor.ledger.merkle import (
    HASH_SIZE,
    ProofError,
    consistency_proof,
    perfect_root,
    tree_root,
    verify_consistency,
)
from corridor.ledger.note import NoteError, Verifier, open_note, verified_by
from corridor.ledger.policy import Policy
from corridor.ledger.tiles import (
    ENTRIES,
    TILE_WIDTH,
    TileError,
    TileHasher,
    bundle_leaf_hashes,
    split_hashes,
    tile_path,
    tiles_for_size,
)
from corridor.ledger.transport import DirectoryFetcher, Fetch


class VerifyError(Exception):
    """The log failed verification; the message names what and where."""


@dataclass(frozen=True)
class VerifyResult:
    checkpoint: Checkpoint
    witnesses: list[str]
    previous_size: int | None


def check_checkpoint(data: bytes, log: Verifier, policy: Policy,
                     where: str = "checkpoint") -> tuple[Checkpoint, list[str]]:
    try:
        note, _ = open_note(data, [log])
        cp = parse_checkpoint(note.text)
    except (NoteError, CheckpointError) as exc:
        raise VerifyError(f"wrong signature or malformed {where}: {exc}") from exc
    if cp.origin != log.name:
        raise VerifyError(f"{where}: origin {cp.origin!r} is not the log {log.name!r}")
    try:
        good = verified_by(note, policy.witness_verifiers())
    except NoteError as exc:
        raise VerifyError(f"wrong cosignature on {where}: {exc}") from exc
    names = policy.names_for(good)
    if not policy.satisfied(names):
        missing = sorted(set(policy.witnesses) - names)
        miss = ", ".join(f"{n} ({policy.witnesses[n][0].name})" for n in missing)
        raise VerifyError(f"missing cosignature: {where} (size {cp.size}) does not meet the "
                          f"witness quorum; no valid cosignature from {miss}")
    return cp, [v.name for v in good]


def _get(fetch: Fetch, path: str) -> bytes:
    data = fetch(path)
    if data is None:
        raise VerifyError(f"missing file: {path}")
    return data


def _check_level0(fetch: Fetch, n: int, width: int) -> tuple[bytes, bytes | None]:
    """Level-0 tile n and its entry bundle: fetched, cross-checked; returns the tile and,
    when full, its root (the hash the level-1 tile must hold)."""
    path = tile_path(0, n, width)
    data = _get(fetch, path)
    if len(data) != width * HASH_SIZE:
        raise VerifyError(f"changed tile: {path} has {len(data)} bytes, expected "
                          f"{width * HASH_SIZE}")
    bpath = tile_path(ENTRIES, n, width)
    try:
        hashes, count = bundle_leaf_hashes(_get(fetch, bpath), bpath)
    except TileError as exc:
        raise VerifyError(f"changed entry bundle: {exc}") from exc
    if count != width:
        raise VerifyError(f"changed entry bundle: {bpath} has {count} entries, "
                          f"expected {width}")
    if hashes != data:
        for i in range(width):
            if hashes[i * 32:(i + 1) * 32] != data[i * 32:(i + 1) * 32]:
                raise VerifyError(
                    f"changed entry: entry {n * TILE_WIDTH + i} ({bpath}, position "
                    f"{i}) does not hash to its leaf hash in {path}")
    root = perfect_root(split_hashes(data)) if width == TILE_WIDTH else None
    return data, root


def _level0_chunk(job: tuple[Fetch, list[tuple[int, int]]]
                  ) -> list[tuple[int, bytes, bytes | None]] | str:
    """Worker: check a run of level-0 tiles; the first problem as a message."""
    fetch, items = job
    out = []
    for n, width in items:
        try:
            data, root = _check_level0(fetch, n, width)
        except VerifyError as exc:
            return str(exc)
        out.append((n, data, root))
    return out


PARALLEL_MIN_TILES = 512  # below this (131,072 entries) worker start-up is not worth it


def _workers() -> int:
    try:
        return min(len(os.sched_getaffinity(0)), 8)
    except AttributeError:
        return min(os.cpu_count() or 1, 8)


def verify_tiles(fetch: Fetch, size: int, workers: int = 1) -> dict[tuple[int, int], bytes]:
    """Fetch and cross-check every tile and bundle of a tree of `size`; return the tiles.
    Level 0 (nearly all the work) runs in `workers` processes (0: one per CPU) when `fetch`
    can be sent to them (a directory); the checks and messages are the same either way.
    Worker processes are spawned, so a calling script needs the `if __name__ == "__main__"`
    guard; the default (1) starts none."""
    layout = tiles_for_size(size)
    level0 = [(n, width) for level, n, width in layout if level == 0]
    tiles: dict[tuple[int, int], bytes] = {}
    roots: dict[tuple[int, int], bytes] = {}
    workers = workers or _workers()
    if workers > 1 and len(level0) >= PARALLEL_MIN_TILES and isinstance(fetch,
                                                                         DirectoryFetcher):
        step = max(16, len(level0) // (workers * 8))
        jobs = [(fetch, level0[i:i + step]) for i in range(0, len(level0), step)]
        # fork starts workers at once, but is only safe while this process has one thread.
        method = "fork" if threading.active_count() == 1 else "spawn"
        ctx = multiprocessing.get_context(method)
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            for result in pool.map(_level0_chunk, jobs):
                if isinstance(result, str):
                    pool.shutdown(cancel_futures=True)
                    raise VerifyError(result)
                for n, data, root in result:
                    tiles[(0, n)] = data
                    if root is not None:
                        roots[(0, n)] = root
    else:
        for n, width in level0:
            tiles[(0, n)], root = _check_level0(fetch, n, width)
            if root is not None:
                roots[(0, n)] = root
    for level, n, width in layout:
        if level == 0:
            continue
        path = tile_path(level, n, width)
        data = _get(fetch, path)
        if len(data) != width * HASH_SIZE:
            raise VerifyError(f"changed tile: {path} has {len(data)} bytes, expected "
                              f"{width * HASH_SIZE}")
        tiles[(level, n)] = data
        if width == TILE_WIDTH:
            roots[(level, n)] = perfect_root(split_hashes(data))
        below = level - 1
        for i in range(width):
            if roots.get((below, n * TILE_WIDTH + i)) != data[i * 32:(i + 1) * 32]:
                raise VerifyError(f"changed tile: hash {i} of {path} is not the root of "
                                  f"{tile_path(below, n * TILE_WIDTH + i)}")
    return tiles


def _hasher(tiles: dict[tuple[int, int], bytes]) -> TileHasher:
    def read(level: int, n: int, width: int) -> bytes:
        data = tiles.get((level, n))
        if data is None:
            raise VerifyError(f"missing tile {tile_path(level, n, width)}")
        return data

    return TileHasher(read)


def verify_log(fetch: Fetch, log: Verifier, policy: Policy,
               state: Path | None = None, workers: int = 1) -> VerifyResult:
    cp_bytes = _get(fetch, "checkpoint")
    cp, witnesses = check_checkpoint(cp_bytes, log, policy)
    tiles = verify_tiles(fetch, cp.size, workers)
    hasher = _hasher(tiles)
    root = tree_root(hasher, cp.size)
    if root != cp.root:
        raise VerifyError(f"root mismatch: the tiles of size {cp.size} do not hash to the "
                          "checkpoint's root hash")
    previous = None
    if state is not None and state.exists():
        old, _ = check_checkpoint(state.read_bytes(), log, Policy(quorum="none"),
                                  where=f"saved checkpoint in {state}")
        previous = old.size
        if cp.size < old.size:
            raise VerifyError(f"rollback: the log's checkpoint has size {cp.size}, smaller "
                              f"than the verified size {old.size} saved in {state}")
        try:
            if old.size:
                proof = consistency_proof(hasher, old.size, cp.size)
                verify_consistency(old.size, cp.size, old.root, cp.root, proof)
        except ProofError as exc:
            raise VerifyError(f"fork: the checkpoint of size {cp.size} is not consistent with "
                              f"the verified checkpoint of size {old.size} in {state}: "
                              f"{exc}") from exc
    if state is not None:
        write_atomic(state, cp_bytes)
    return VerifyResult(cp, witnesses, previous)


def write_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
