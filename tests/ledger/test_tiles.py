"""Tile paths, geometry, incremental building and tile-based proofs."""

from __future__ import annotations

import random

import pytest

from corridor.ledger.merkle import (
    ListHasher,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from corridor.ledger.tiles import (
    ENTRIES,
    TILE_WIDTH,
    Edge,
    TileError,
    TileHasher,
    append_entries,
    decode_bundle,
    encode_index,
    parse_tile_path,
    tile_path,
    tiles_for_size,
)


def test_index_encoding_matches_the_spec_example() -> None:
    assert encode_index(1234067) == "x001/x234/067"
    assert encode_index(0) == "000"
    assert encode_index(1000) == "x001/000"
    assert tile_path(1, 1234067, 7) == "tile/1/x001/x234/067.p/7"
    assert tile_path(ENTRIES, 5) == "tile/entries/005"
    assert parse_tile_path("tile/1/x001/x234/067.p/7") == (1, 1234067, 7)
    assert parse_tile_path("tile/entries/005") == (ENTRIES, 5, TILE_WIDTH)


@pytest.mark.parametrize("bad", ["tile/0/5", "tile/0/x000/005", "tile/64/000", "tile/00/000",
                                 "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/07",
                                 "tile/0/001/002", "tile/x/000", "tile/0/000/"])
def test_bad_tile_paths_are_refused(bad: str) -> None:
    with pytest.raises(TileError):
        parse_tile_path(bad)


def test_geometry_matches_the_spec_example() -> None:
    tiles = tiles_for_size(70000)
    full0 = [t for t in tiles if t[0] == 0 and t[2] == TILE_WIDTH]
    assert len(full0) == 273
    assert (0, 273, 112) in tiles
    assert (1, 0, TILE_WIDTH) in tiles and (1, 1, 17) in tiles and (2, 0, 1) in tiles
    assert len(tiles) == 273 + 1 + 1 + 1 + 1
    assert tiles_for_size(256) == [(0, 0, 256), (1, 0, 1)]


def test_incremental_appends_equal_a_rebuild() -> None:
    rng = random.Random(5)
    edge = Edge(0, [], [])
    stored: dict[tuple[int, int], tuple[bytes, int]] = {}
    entries: list[bytes] = []
    for _ in range(30):
        batch = [b"entry %d" % (len(entries) + i) for i in range(rng.choice([1, 2, 255, 256,
                                                                              257, 1500]))]
        edge, writes = append_entries(edge, batch)
        stored.update(writes)
        entries += batch
        leaves = [leaf_hash(e) for e in entries]
        plain = ListHasher(leaves)
        # Every tile of the current size is the prefix of the stored (widest) version.
        for level, n, width in tiles_for_size(len(entries)):
            want = b"".join(plain((n * TILE_WIDTH + i) << (8 * level), 8 * level)
                            for i in range(width))
            assert stored[(level, n)][0][:width * 32] == want
            if level == 0:
                bundle = decode_bundle(stored[(ENTRIES, n)][0])
                assert bundle[:width] == entries[n * TILE_WIDTH:n * TILE_WIDTH + width]
        hasher = TileHasher(lambda lvl, n, w: stored[(lvl, n)][0])
        assert tree_root(hasher, len(entries)) == tree_root(plain, len(entries))
    assert len(entries) > 5000


def test_given_leaf_hashes_write_what_hashing_the_entries_writes() -> None:
    """Capture workers hash the entries (the writer thread only appends): the tiles are the
    same byte for byte, and leaf hashes that do not match the entries in number are
    refused."""
    entries = [b"entry %d" % i for i in range(700)]
    leaves = [leaf_hash(e) for e in entries]
    hashed = append_entries(Edge(0, [], []), entries[:300])
    given = append_entries(Edge(0, [], []), entries[:300], leaves[:300])
    assert given == hashed
    assert append_entries(given[0], entries[300:], leaves[300:]) == append_entries(
        hashed[0], entries[300:])
    with pytest.raises(ValueError, match="699 leaf hashes for 700 entries"):
        append_entries(Edge(0, [], []), entries, leaves[1:])


def test_tile_proofs_equal_list_proofs() -> None:
    rng = random.Random(9)
    entries = [b"e%d" % i for i in range(70000)]
    _, stored = append_entries(Edge(0, [], []), entries)
    leaves = [leaf_hash(e) for e in entries]
    tiles = TileHasher(lambda lvl, n, w: stored[(lvl, n)][0])
    with_nodes = TileHasher(lambda lvl, n, w: stored[(lvl, n)][0],
                            nodes=lambda lvl, n: stored[(lvl, n)][2])
    plain = ListHasher(leaves)
    for start, height in [(0, 1), (256, 7), (70000 - 112 - 16, 4), (65536, 9), (2, 1)]:
        assert with_nodes(start, height) == tiles(start, height) == plain(start, height)
    for _ in range(200):
        size = rng.randrange(1, len(entries) + 1)
        index = rng.randrange(size)
        root = root_of(leaves[:size]) if size < 2000 else tree_root(plain, size)
        assert tree_root(tiles, size) == root
        proof = inclusion_proof(tiles, index, size)
        assert proof == inclusion_proof(plain, index, size) == inclusion_proof(with_nodes, index,
                                                                              size)
        verify_inclusion(index, size, leaves[index], proof, root)
        old = rng.randrange(1, size + 1)
        cproof = consistency_proof(tiles, old, size)
        verify_consistency(old, size, tree_root(plain, old), root, cproof)
