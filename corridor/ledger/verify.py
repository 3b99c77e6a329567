"""Verification of a whole tiled log from outside: checkpoint signature and witness quorum,
every entry bundle against its level-0 tile, every tile against the level above, the root,
and (with a saved state) consistency with the last verified checkpoint."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from corridor.ledger.checkpoint import Checkpoint, CheckpointError, parse_checkpoint
from corridor.ledger.merkle import (
    HASH_SIZE,
    ProofError,
    consistency_proof,
    leaf_hash,
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
    decode_bundle,
    split_hashes,
    tile_path,
    tiles_for_size,
)
from corridor.ledger.transport import Fetch


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


def verify_tiles(fetch: Fetch, size: int) -> dict[tuple[int, int], bytes]:
    """Fetch and cross-check every tile and bundle of a tree of `size`; return the tiles."""
    tiles: dict[tuple[int, int], bytes] = {}
    for level, n, width in tiles_for_size(size):
        path = tile_path(level, n, width)
        data = _get(fetch, path)
        if len(data) != width * HASH_SIZE:
            raise VerifyError(f"{path}: {len(data)} bytes, expected {width * HASH_SIZE}")
        tiles[(level, n)] = data
        if level == 0:
            bpath = tile_path(ENTRIES, n, width)
            try:
                entries = decode_bundle(_get(fetch, bpath), bpath)
            except TileError as exc:
                raise VerifyError(f"changed entry bundle: {exc}") from exc
            if len(entries) != width:
                raise VerifyError(f"{bpath}: {len(entries)} entries, expected {width}")
            hashes = b"".join(leaf_hash(e) for e in entries)
            if hashes != data:
                for i in range(width):
                    if hashes[i * 32:(i + 1) * 32] != data[i * 32:(i + 1) * 32]:
                        raise VerifyError(
                            f"changed entry: entry {n * TILE_WIDTH + i} ({bpath}, position "
                            f"{i}) does not hash to its leaf hash in {path}")
        else:
            below = level - 1
            for i in range(width):
                child = tiles.get((below, n * TILE_WIDTH + i))
                if child is None or len(child) != TILE_WIDTH * HASH_SIZE:
                    raise VerifyError(f"{path}: hash {i} has no full tile below it")
                if perfect_root(split_hashes(child)) != data[i * 32:(i + 1) * 32]:
                    raise VerifyError(
                        f"changed tile: hash {i} of {path} is not the root of "
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
               state: Path | None = None) -> VerifyResult:
    cp_bytes = _get(fetch, "checkpoint")
    cp, witnesses = check_checkpoint(cp_bytes, log, policy)
    tiles = verify_tiles(fetch, cp.size)
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
