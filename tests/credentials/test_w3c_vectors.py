"""The W3C vc-di-eddsa test vectors (../shared/conformance/vc/TestVectors), byte for byte:
canonical document, canonical proof configuration, their hashes, the signature (hex and
multibase), the signed document; and the proof sets and chains of proof-set-chain/."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from corridor.credentials import (
    CredentialError,
    IssuerKey,
    add_proof,
    multibase,
    verify_proof,
    verify_proofs,
)
from corridor.credentials.data_integrity import (
    canonical_document,
    canonical_proof_config,
    hash_data,
)
from corridor.credentials.loader import loader_with

pytestmark = pytest.mark.conformance

HERE = Path(__file__).resolve().parent
CITIZENSHIP = "https://w3id.org/citizenship/v4rc1"
# folder, cryptosuite, file-name suffix, unsigned document (relative to TestVectors/)
SUITE_VECTORS = [
    ("eddsa-jcs-2022", "eddsa-jcs-2022", "JCS", "unsigned.json"),
    ("eddsa-rdfc-2022", "eddsa-rdfc-2022", "DataInt", "unsigned.json"),
    ("eddsa-rdfc-2022/employ", "eddsa-rdfc-2022", "DataInt", "employmentAuth.json"),
]
SET_ID1 = "urn:uuid:26329423-bec9-4b2e-88cb-a7c7d9dc4544"
SET_ID2 = "urn:uuid:8cc9022b-6b14-4cf3-8571-74972c5feb54"
CHAIN_ID1 = "urn:uuid:d94f792a-c546-4d06-b38a-da070ab56c23"


def _loader():  # the shipped contexts plus the test-only citizenship context of employ/
    doc = json.loads((HERE / "contexts" / "citizenship-v4rc1.jsonld").read_text("utf-8"))
    return loader_with({CITIZENSHIP: doc})


LOADER = _loader()


def _vectors(conformance: Path) -> Path:
    folder = conformance / "vc" / "TestVectors"
    assert folder.is_dir(), f"missing {folder}"
    return folder


def _json(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def _text(path: Path) -> str:
    return path.read_text("utf-8").strip()


@pytest.mark.parametrize("folder,suite,sfx,unsigned", SUITE_VECTORS,
                         ids=[v[0] for v in SUITE_VECTORS])
def test_intermediate_values(conformance: Path, folder: str, suite: str, sfx: str,
                             unsigned: str) -> None:
    vectors = _vectors(conformance)
    d = vectors / folder
    document = _json(vectors / unsigned)
    config = _json(d / f"proofConfig{sfx}.json")
    key = IssuerKey.from_secret_multibase(_json(vectors / "keyPair.json")["privateKeyMultibase"])
    assert key.verification_method == config["verificationMethod"]

    canon_doc = canonical_document(document, suite, loader=LOADER)
    assert canon_doc == (d / f"canonDoc{sfx}.txt").read_bytes()
    # the rdfc config files show the @context the algorithm adds; the options have none
    options = config if suite == "eddsa-jcs-2022" else {
        k: v for k, v in config.items() if k != "@context"}
    canon_config = canonical_proof_config(options, document, loader=LOADER)
    assert canon_config == (d / f"proofCanon{sfx}.txt").read_bytes()

    assert hashlib.sha256(canon_doc).hexdigest() == _text(d / f"docHash{sfx}.txt")
    assert hashlib.sha256(canon_config).hexdigest() == _text(d / f"proofHash{sfx}.txt")
    data = hash_data(canon_config, canon_doc)
    assert data.hex() == _text(d / f"combinedHash{sfx}.txt")
    assert key.sign(data).hex() == _text(d / f"sigHex{sfx}.txt")


@pytest.mark.parametrize("folder,suite,sfx,unsigned", SUITE_VECTORS,
                         ids=[v[0] for v in SUITE_VECTORS])
def test_signed_document(conformance: Path, folder: str, suite: str, sfx: str,
                         unsigned: str) -> None:
    vectors = _vectors(conformance)
    d = vectors / folder
    key = IssuerKey.from_secret_multibase(_json(vectors / "keyPair.json")["privateKeyMultibase"])
    config = _json(d / f"proofConfig{sfx}.json")
    signed = add_proof(_json(vectors / unsigned), key, cryptosuite=suite,
                       created=config["created"], loader=LOADER)
    expected_text = (d / f"signed{sfx}.json").read_text("utf-8")
    assert json.dumps(signed, indent=2) == expected_text.strip()
    assert signed["proof"]["proofValue"] == _text(d / f"sigBTC58{sfx}.txt")

    result = verify_proof(json.loads(expected_text), loader=LOADER)
    assert (result.cryptosuite, result.created) == (suite, config["created"])
    assert result.verification_method == key.verification_method


@pytest.mark.parametrize("folder,suite,sfx,unsigned", SUITE_VECTORS,
                         ids=[v[0] for v in SUITE_VECTORS])
def test_changed_vector_fails(conformance: Path, folder: str, suite: str, sfx: str,
                              unsigned: str) -> None:
    signed = _json(_vectors(conformance) / folder / f"signed{sfx}.json")
    signed["validFrom"] = "2024-01-01T00:00:00Z"
    with pytest.raises(CredentialError, match="signature does not match"):
        verify_proof(signed, loader=LOADER)


def _set_keys(vectors: Path) -> dict[str, IssuerKey]:
    pairs = _json(vectors / "proof-set-chain" / "multiKeyPairs.json")
    return {name: IssuerKey.from_secret_multibase(p["privateKeyMultibase"])
            for name, p in pairs.items()}


def test_proof_set_and_chain_are_reproduced(conformance: Path) -> None:
    """Signing the unsigned vector again, proof by proof, gives each published document."""
    d = _vectors(conformance) / "proof-set-chain"
    k = _set_keys(d.parent)
    rdfc = "eddsa-rdfc-2022"
    set1 = add_proof(_json(d / "unsigned.json"), k["keyPair1"], cryptosuite=rdfc,
                     created="2023-02-24T23:36:38Z", proof_id=SET_ID1)
    assert set1 == _json(d / "signedProofSet1.json")
    assert set1["proof"] == _json(d / "proofSetConfigSigned1.json")
    set2 = add_proof(set1, k["keyPair2"], cryptosuite=rdfc, created="2023-02-24T23:36:38Z",
                     proof_id=SET_ID2)
    assert set2 == _json(d / "signedProofSet2.json")
    chain1 = add_proof(set2, k["keyPair3"], cryptosuite=rdfc, created="2023-02-26T22:06:38Z",
                       proof_id=CHAIN_ID1, previous_proof=[SET_ID1, SET_ID2])
    assert chain1 == _json(d / "signedProofChain1.json")
    assert chain1["proof"][-1] == _json(d / "proofChainConfigSigned1.json")
    chain2 = add_proof(chain1, k["keyPair4"], cryptosuite=rdfc, created="2023-02-26T22:16:38Z",
                       previous_proof=CHAIN_ID1)
    assert chain2 == _json(d / "signedProofChain2.json")
    assert json.dumps(chain2, indent=2) == (d / "signedProofChain2.json").read_text().strip()


@pytest.mark.parametrize("name,count", [("signedProofSet1", 1), ("signedProofSet2", 2),
                                        ("signedProofChain1", 3), ("signedProofChain2", 4)])
def test_proof_sets_and_chains_verify(conformance: Path, name: str, count: int) -> None:
    d = _vectors(conformance) / "proof-set-chain"
    keys = _set_keys(d.parent)
    results = verify_proofs(_json(d / f"{name}.json"))
    assert [r.verification_method for r in results] == [
        keys[f"keyPair{i + 1}"].verification_method for i in range(count)]


def test_chain_proof_covers_the_proofs_it_names(conformance: Path) -> None:
    """A chained proof signs the earlier proofs too: changing one breaks it (and that one)."""
    d = _vectors(conformance) / "proof-set-chain"
    chain = _json(d / "signedProofChain1.json")
    chain["proof"][1]["created"] = "2023-02-25T00:00:00Z"
    with pytest.raises(CredentialError, match=r"^/proof/1/proofValue: signature does not"):
        verify_proofs(chain)
    chain["proof"][1] = _json(d / "signedProofChain1.json")["proof"][1]
    chain["proof"][2]["previousProof"] = [SET_ID1]
    with pytest.raises(CredentialError, match=r"^/proof/2/proofValue: signature does not"):
        verify_proofs(chain)
    chain["proof"][2]["previousProof"] = "urn:uuid:not-there"
    with pytest.raises(CredentialError, match=r"previousProof: names proofs not in"):
        verify_proofs(chain)


def test_intermediate_chain_documents(conformance: Path) -> None:
    """proofChainTempDoc1/2 are the documents the chained proofs cover: signing them as plain
    documents with the chained proof's options gives the same proofValue."""
    d = _vectors(conformance) / "proof-set-chain"
    k = _set_keys(d.parent)
    for n, key in ((1, k["keyPair3"]), (2, k["keyPair4"])):
        temp = _json(d / f"proofChainTempDoc{n}.json")
        options = _json(d / f"proofChainConfig{n}.json")
        data = hash_data(canonical_proof_config(options, temp),
                         canonical_document(temp, "eddsa-rdfc-2022"))
        signed = _json(d / f"proofChainConfigSigned{n}.json")
        assert multibase.encode(key.sign(data)) == signed["proofValue"]


def test_ed25519_signature_2020_is_out_of_scope(conformance: Path) -> None:
    folder = _vectors(conformance) / "Ed25519Signature2020"
    assert folder.is_dir()
    pytest.skip("Ed25519Signature2020 (the older suite, not a DataIntegrityProof) is out of "
                "scope: Corridor signs and verifies eddsa-jcs-2022 and eddsa-rdfc-2022 only")
