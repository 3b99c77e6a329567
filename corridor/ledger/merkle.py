"""RFC 9162 (RFC 6962) Merkle tree hashing, proof generation and proof verification.

Proof generation works over a `SubtreeHasher`: a function giving the hash of any perfect,
aligned subtree (2**height leaves starting at a multiple of 2**height). The tile store provides
one; `ListHasher` provides one over an in-memory list of leaf hashes (tests, small trees).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from hashlib import sha256

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()

# (start, height) -> hash of leaves [start, start + 2**height)
SubtreeHasher = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof that does not verify, or arguments for which no proof exists."""


def leaf_hash(entry: bytes) -> bytes:
    return sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """Root of a perfect subtree whose bottom-level hashes are given (len a power of two)."""
    level = list(hashes)
    sha = sha256
    while len(level) > 1:
        pairs = iter(level)
        level = [sha(b"\x01" + a + b).digest() for a, b in zip(pairs, pairs, strict=True)]
    return level[0]


def root_of(hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (any length) per RFC 9162 section 2.1.1."""
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = _split(n)
    return node_hash(root_of(hashes[:k]), root_of(hashes[k:]))


def _split(n: int) -> int:
    """Largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class ListHasher:
    """SubtreeHasher over an in-memory list of leaf hashes; all perfect subtrees are
    computed once (O(n) hashes), then each lookup is O(1)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.levels = [list(leaves)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([node_hash(below[i], below[i + 1])
                                for i in range(0, len(below) - 1, 2)])

    def __call__(self, start: int, height: int) -> bytes:
        return self.levels[height][start >> height]


def range_hash(hasher: SubtreeHasher, lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) where lo is aligned as in the RFC's recursion."""
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0:
        return hasher(lo, n.bit_length() - 1)
    k = _split(n)
    return node_hash(range_hash(hasher, lo, lo + k), range_hash(hasher, lo + k, hi))


def tree_root(hasher: SubtreeHasher, size: int) -> bytes:
    return range_hash(hasher, 0, size)


def inclusion_proof(hasher: SubtreeHasher, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]), leaf's sibling first."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    proof: list[bytes] = []
    lo, hi, m = 0, size, index
    # Walk down from the root, collecting siblings; reversed at the end (bottom-up order).
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            proof.append(range_hash(hasher, lo + k, hi))
            hi = lo + k
        else:
            proof.append(range_hash(hasher, lo, lo + k))
            lo, m = lo + k, m - k
    proof.reverse()
    return proof


def consistency_proof(hasher: SubtreeHasher, old: int, new: int) -> list[bytes]:
    """PROOF(old, D[0:new]) per RFC 9162 section 2.1.4.1; empty when old is 0 or old == new."""
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from size {old} to size {new}")
    if old == 0 or old == new:
        return []
    proof: list[bytes] = []
    lo, hi, m, complete = 0, new, old, True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                proof.append(range_hash(hasher, lo, hi))
            break
        k = _split(n)
        if m <= k:
            proof.append(range_hash(hasher, lo + k, hi))
            hi = lo + k
        else:
            proof.append(range_hash(hasher, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    proof.reverse()
    return proof


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} has {len(value)} bytes, expected {HASH_SIZE}")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Root implied by an inclusion proof (RFC 9162 section 2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn, r = index, size - 1, leaf
    for i, p in enumerate(proof):
        _check_hash(p, f"inclusion proof hash {i}")
        if sn == 0:
            raise ProofError(f"inclusion proof has {len(proof)} hashes, too many for "
                             f"index {index} in size {size}")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof has {len(proof)} hashes, too few for "
                         f"index {index} in size {size}")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     root: bytes) -> None:
    """Raise ProofError unless `proof` shows leaf hash `leaf` at `index` in the tree `root`."""
    _check_hash(root, "root hash")
    if root_from_inclusion(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof for index {index} in size {size} does not lead "
                         "to the expected root")


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Raise ProofError unless `proof` shows tree `old_root` (size old) is a prefix of
    `new_root` (size new), per RFC 9162 section 2.1.4.2."""
    if old > new:
        raise ProofError(f"old size {old} is larger than new size {new}")
    if old == 0:
        # Every tree extends the empty tree; a proof "from 0" proves nothing and is refused
        # (callers such as the witness handle size 0 before asking for a proof).
        raise ProofError("no consistency proof exists from the empty tree")
    if old == new:
        if proof:
            raise ProofError("sizes are equal but the consistency proof is not empty")
        if old_root != new_root:
            raise ProofError(f"roots differ at the same size {old}")
        return
    _check_hash(old_root, "old root hash")
    _check_hash(new_root, "new root hash")
    if not proof:
        raise ProofError(f"empty consistency proof from size {old} to {new}")
    for i, p in enumerate(proof):
        _check_hash(p, f"consistency proof hash {i}")
    path = list(proof)
    if old & (old - 1) == 0:  # old is a power of two: its root is the first node
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof from {old} to {new} has too many hashes")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof from {old} to {new} has too few hashes")
    if fr != old_root:
        raise ProofError(f"consistency proof from {old} to {new} does not match the old root")
    if sr != new_root:
        raise ProofError(f"consistency proof from {old} to {new} does not match the new root")
