"""C2SP tlog-tiles (height 8): paths, entry bundles, incremental tile building, and a
SubtreeHasher over stored tiles.

A tile at level L, index N, holds up to 256 hashes; hash i is the root of the full subtree of
256**L leaves starting at leaf (N * 256 + i) * 256**L. Storage keeps, per (level, N), the
widest version of the tile seen; a partial tile of width W is the first W hashes of any wider
version, so partial tiles never need to be stored separately.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from hashlib import sha256

from corridor.ledger.merkle import HASH_SIZE, perfect_root

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
ENTRIES = -1  # level number used in storage for entry bundles


class TileError(ValueError):
    """A malformed tile path, tile or entry bundle."""


def encode_index(n: int) -> str:
    """1234067 -> 'x001/x234/067'."""
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


def tile_path(level: int, n: int, width: int = TILE_WIDTH) -> str:
    """Path below the log prefix: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]."""
    head = "tile/entries" if level == ENTRIES else f"tile/{level}"
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"{head}/{encode_index(n)}{suffix}"


# A log has fewer than 2**63 entries (a signed 64-bit count), so a tile index is below this
# (level 0: 256 entries a tile); 17 digits, six x-groups at most.
MAX_TILE_INDEX = 2**63 // TILE_WIDTH - 1
_PATH = re.compile(
    r"tile/(?P<level>entries|0|[1-9][0-9]?)/(?P<n>(?:x[0-9]{3}/){0,6}[0-9]{3})"
    r"(?:\.p/(?P<w>[1-9][0-9]{0,2}))?")


def _shown(path: str) -> str:
    return repr(path if len(path) <= 80 else path[:80] + "...")


def parse_tile_path(path: str) -> tuple[int, int, int]:
    """'tile/1/x001/234.p/7' -> (level, index, width). Levels: entries = ENTRIES."""
    m = _PATH.fullmatch(path)
    if not m:
        raise TileError(f"{_shown(path)} is not a tile path")
    level = ENTRIES if m["level"] == "entries" else int(m["level"])
    if level > 63:
        raise TileError(f"{path!r}: level above 63")
    width = int(m["w"]) if m["w"] else TILE_WIDTH
    if m["w"] and width >= TILE_WIDTH:
        raise TileError(f"{path!r}: partial width must be 1..255")
    digits = m["n"].replace("x", "").split("/")
    if len(digits) > 1 and digits[0] == "000":
        raise TileError(f"{path!r}: index has a leading zero element")
    n = int("".join(digits))
    if n > MAX_TILE_INDEX:
        raise TileError(f"{path!r}: index {n} is beyond any log (at most {MAX_TILE_INDEX})")
    return level, n, width


def tiles_for_size(size: int) -> list[tuple[int, int, int]]:
    """Every (level, index, width) tile of a tree of `size` leaves (partial ones included);
    entry bundles match level 0."""
    out = []
    level = 0
    count = size  # hashes at this tile level
    while count:
        full, rest = divmod(count, TILE_WIDTH)
        out.extend((level, n, TILE_WIDTH) for n in range(full))
        if rest:
            out.append((level, full, rest))
        count = full
        level += 1
    return out


def tile_nodes(hashes: list[bytes]) -> tuple[bytes, bytes]:
    """Root of a full tile and its internal nodes at heights 1..7 (254 hashes, lowest level
    first), stored beside full tiles so proofs need no hashing inside them."""
    levels: list[bytes] = []
    level = hashes
    sha = sha256
    while len(level) > 1:
        pairs = iter(level)
        level = [sha(b"\x01" + a + b).digest() for a, b in zip(pairs, pairs, strict=True)]
        levels.append(b"".join(level))
    return level[0], b"".join(levels[:-1])


def node_offset(sub: int, off: int) -> int:
    """Index in tile_nodes' output of the node at height `sub` (1..7) over hash `off`."""
    return (TILE_WIDTH - (2 * TILE_WIDTH >> sub)) + (off >> sub)


def encode_bundle(entries: Iterable[bytes]) -> bytes:
    return b"".join([struct.pack(">H", len(e)) + e for e in entries])


def decode_bundle(data: bytes, where: str = "entry bundle") -> list[bytes]:
    out = []
    pos, end = 0, len(data)
    while pos < end:
        if pos + 2 > end:
            raise TileError(f"{where}: truncated length prefix at byte {pos}")
        (n,) = struct.unpack_from(">H", data, pos)
        pos += 2
        if pos + n > end:
            raise TileError(f"{where}: entry {len(out)} runs past the end of the bundle")
        out.append(data[pos:pos + n])
        pos += n
    return out


def split_hashes(data: bytes, where: str = "tile") -> list[bytes]:
    if len(data) % HASH_SIZE:
        raise TileError(f"{where}: {len(data)} bytes is not a whole number of hashes")
    return [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


@dataclass
class Edge:
    """The rightmost (partial) tile at every level, and the partial entry bundle: all a writer
    needs to append. `tiles[L]` is the concatenated hashes of the partial tile at level L."""

    size: int
    tiles: list[bytes]
    bundle: list[bytes]
    # encode_bundle(bundle), kept so that small appends do not re-encode the partial bundle
    bundle_data: bytes | None = None


def edge_tiles(size: int) -> list[tuple[int, int, int]]:
    """(level, index, width) of the partial tile at each level for `size` (width may be 0)."""
    out = []
    level, count = 0, size
    while count:
        out.append((level, count // TILE_WIDTH, count % TILE_WIDTH))
        count //= TILE_WIDTH
        level += 1
    return out


Write = tuple[bytes, int, "bytes | None"]  # data, width, internal nodes of a full tile


def append_entries(edge: Edge, entries: list[bytes], leaves: list[bytes] | None = None
                   ) -> tuple[Edge, dict[tuple[int, int], Write]]:
    """Add entries; return the new edge and every tile/bundle to write as (data, width,
    nodes), keyed (level, index) with level ENTRIES for bundles. Cost: one leaf hash per
    entry (unless `leaves`, the entries' leaf hashes, are given) plus 255 node hashes per
    tile completed, i.e. O(N + log size)."""
    writes: dict[tuple[int, int], Write] = {}
    # Entry bundles (same geometry as level 0).
    start = edge.size
    bundle = edge.bundle + entries
    first = start // TILE_WIDTH
    new_bundle: list[bytes] = []
    new_data = b""
    old = len(edge.bundle)
    for i in range(0, len(bundle), TILE_WIDTH):
        chunk = bundle[i:i + TILE_WIDTH]
        if i == 0 and old:  # the partial bundle's bytes, then the new entries
            prefix = edge.bundle_data
            if prefix is None:
                prefix = encode_bundle(edge.bundle)
            data = prefix + encode_bundle(chunk[old:])
        else:
            data = encode_bundle(chunk)
        writes[(ENTRIES, first + i // TILE_WIDTH)] = (data, len(chunk), None)
        new_bundle, new_data = (chunk, data) if len(chunk) < TILE_WIDTH else ([], b"")
    # Merkle tiles, level by level: hashes completed at level L feed level L + 1.
    if leaves is not None and len(leaves) != len(entries):
        raise ValueError(f"{len(leaves)} leaf hashes for {len(entries)} entries")
    new_hashes = (list(leaves) if leaves is not None
                  else [sha256(b"\x00" + e).digest() for e in entries])
    tiles: list[bytes] = []
    level, count_before = 0, start  # count_before: hashes at this level before the append
    while new_hashes or level < len(edge.tiles):
        old = edge.tiles[level] if level < len(edge.tiles) else b""
        data = old + b"".join(new_hashes)
        first = count_before // TILE_WIDTH
        promoted: list[bytes] = []
        tile_bytes = TILE_WIDTH * HASH_SIZE
        rest = b""
        for off in range(0, len(data), tile_bytes):
            chunk = data[off:off + tile_bytes]
            nodes = None
            if len(chunk) == tile_bytes:
                root, nodes = tile_nodes(split_hashes(chunk))
                promoted.append(root)
            else:
                rest = chunk
            if new_hashes:
                writes[(level, first + off // tile_bytes)] = (chunk, len(chunk) // HASH_SIZE,
                                                              nodes)
        tiles.append(rest)
        count_before //= TILE_WIDTH
        new_hashes = promoted
        level += 1
    while tiles and not tiles[-1]:
        tiles.pop()
    return Edge(start + len(entries), tiles, new_bundle, new_data), writes


TileReader = Callable[[int, int, int], bytes]  # (level, index, min width) -> tile bytes
NodeReader = Callable[[int, int], "bytes | None"]  # (level, index) -> tile_nodes of a full tile


class TileHasher:
    """SubtreeHasher over tiles: hash of a perfect subtree of height h is one tile hash when
    h % 8 == 0, else the root of 2**(h % 8) consecutive hashes of one tile (read from the
    stored internal nodes when `nodes` can give them)."""

    def __init__(self, read: TileReader, cache_size: int = 64,
                 nodes: NodeReader | None = None) -> None:
        self.read = read
        self.nodes = nodes
        self._cache: dict[tuple[int, int], bytes] = {}
        self._cache_size = cache_size

    def _tile(self, level: int, n: int, width: int) -> bytes:
        key = (level, n)
        data = self._cache.get(key)
        if data is None or len(data) < width * HASH_SIZE:
            data = self.read(level, n, width)
            if len(data) < width * HASH_SIZE:
                raise TileError(f"{tile_path(level, n, width)}: tile has "
                                f"{len(data) // HASH_SIZE} hashes, needed {width}")
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[key] = data
        return data

    def __call__(self, start: int, height: int) -> bytes:
        level, sub = divmod(height, TILE_HEIGHT)
        pos = start >> (TILE_HEIGHT * level)  # index of the first hash at that tile level
        n, off = divmod(pos, TILE_WIDTH)
        count = 1 << sub
        if count > 1 and self.nodes is not None:
            stored = self.nodes(level, n)
            if stored:
                i = node_offset(sub, off) * HASH_SIZE
                return stored[i:i + HASH_SIZE]
        data = self._tile(level, n, off + count)
        chunk = data[off * HASH_SIZE:(off + count) * HASH_SIZE]
        if count == 1:
            return chunk
        return perfect_root(split_hashes(chunk))


def bundle_leaf_hashes(data: bytes, where: str = "entry bundle") -> tuple[bytes, int]:
    """Concatenated leaf hashes of a bundle's entries, and their count: one pass, no
    intermediate list (the verifier's inner loop)."""
    out = []
    sha = sha256
    pos, end = 0, len(data)
    while pos < end:
        if pos + 2 > end:
            raise TileError(f"{where}: truncated length prefix at byte {pos}")
        start = pos + 2
        pos = start + ((data[pos] << 8) | data[pos + 1])
        if pos > end:
            raise TileError(f"{where}: entry {len(out)} runs past the end of the bundle")
        out.append(sha(b"\x00" + data[start:pos]).digest())
    return b"".join(out), len(out)
