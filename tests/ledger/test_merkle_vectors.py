"""RFC 6962 proof vectors of transparency-dev/merkle, positive and negative."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from corridor.ledger.merkle import (
    ListHasher,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    tree_root,
    verify_consistency,
    verify_inclusion,
)


def _b(value: str) -> bytes:
    return base64.b64decode(value) if value else b""


def _cases(conformance: Path, kind: str) -> list[tuple[str, dict]]:
    folder = conformance / "merkle" / "testdata" / kind
    files = sorted(folder.rglob("*.json"))
    assert files, f"no vectors under {folder}"
    return [(str(f.relative_to(folder)), json.loads(f.read_text())) for f in files]


def test_inclusion_vectors(conformance: Path) -> None:
    cases = _cases(conformance, "inclusion")
    negatives = 0
    for name, c in cases:
        proof = [_b(p) for p in (c["proof"] or [])]
        args = (c["leafIdx"], c["treeSize"], _b(c["leafHash"]), proof, _b(c["root"]))
        if c["wantErr"]:
            negatives += 1
            with pytest.raises(ProofError):
                verify_inclusion(*args)
        else:
            verify_inclusion(*args)
    assert negatives > 20


def test_consistency_vectors(conformance: Path) -> None:
    cases = _cases(conformance, "consistency")
    negatives = 0
    for name, c in cases:
        proof = [_b(p) for p in (c["proof"] or [])]
        args = (c["size1"], c["size2"], _b(c["root1"]), _b(c["root2"]), proof)
        if c["wantErr"]:
            negatives += 1
            with pytest.raises(ProofError):
                verify_consistency(*args)
        else:
            verify_consistency(*args)
    assert negatives > 20


def test_generated_proofs_verify_for_every_pair() -> None:
    leaves = [leaf_hash(str(i).encode()) for i in range(70)]
    for size in range(1, 70):
        hasher = ListHasher(leaves[:size])
        root = tree_root(hasher, size)
        assert root == root_of(leaves[:size])
        for index in range(size):
            verify_inclusion(index, size, leaves[index], inclusion_proof(hasher, index, size), root)
        for old in range(1, size + 1):
            old_root = root_of(leaves[:old])
            verify_consistency(old, size, old_root, root, consistency_proof(hasher, old, size))
            if 0 < old < size:
                with pytest.raises(ProofError):
                    verify_consistency(old, size, leaf_hash(b"forged"), root,
                                       consistency_proof(hasher, old, size))
