"""Data Integrity EdDSA proofs (eddsa-jcs-2022, eddsa-rdfc-2022) and the offline JSON-LD
document loader under them."""

from __future__ import annotations

import copy
import json
import re
import socket
import time

import pytest

from corridor.credentials import (
    CredentialError,
    IssuerKey,
    add_proof,
    document_loader,
    expand_strict,
    verify_proof,
    verify_proofs,
)
from corridor.credentials import loader as loader_module
from corridor.credentials.data_integrity import canonical_document, rdfc

SUITES = ["eddsa-jcs-2022", "eddsa-rdfc-2022"]
VC = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
KEY = IssuerKey.from_seed(bytes(range(32)))
OTHER = IssuerKey.from_seed(bytes(range(1, 33)))


def credential() -> dict:
    return {
        "@context": [VC, EXAMPLES],
        "id": "urn:uuid:0b0e7a86-8a3c-4c55-9d1c-2f0f6b1d3f11",
        "type": ["VerifiableCredential", "ExampleMetalCredential"],
        "issuer": {"id": KEY.did, "name": "Kazakh Metals Certification Body"},
        "validFrom": "2025-05-29T12:00:00Z",
        "name": "Green metal certificate",
        "credentialSubject": {
            "id": "urn:epc:class:lgtin:4870101.076011.AL26-0001",
            "carbonIntensity": {"value": 4.1, "unit": "tCO2e/t"},
            "renewableShare": 0.62,
        },
        "credentialStatus": {
            "id": "https://node.example/credentials/status/1#42",
            "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
            "statusListIndex": "42",
            "statusListCredential": "https://node.example/credentials/status/1",
        },
    }


@pytest.mark.parametrize("suite", SUITES)
def test_round_trip(suite: str) -> None:
    doc = credential()
    before = copy.deepcopy(doc)
    signed = add_proof(doc, KEY, cryptosuite=suite, created="2025-05-29T12:00:05Z")
    assert doc == before  # the input is left alone
    assert list(signed) == [*doc, "proof"]
    proof = signed["proof"]
    assert list(proof) == ["type", "cryptosuite", "created", "verificationMethod",
                           "proofPurpose", *(["@context"] if suite == SUITES[0] else []),
                           "proofValue"]
    assert proof["type"] == "DataIntegrityProof" and proof["proofValue"].startswith("z")
    result = verify_proof(json.loads(json.dumps(signed)))
    assert result.verification_method == KEY.verification_method
    assert (result.cryptosuite, result.created, result.proof_purpose) == (
        suite, "2025-05-29T12:00:05Z", "assertionMethod")
    assert verify_proofs(signed) == [result]


def test_created_defaults_to_now() -> None:
    proof = add_proof(credential(), KEY)["proof"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", proof["created"])


def _changes() -> list[tuple[str, object]]:
    return [
        ("validFrom", "2025-05-30T12:00:00Z"),
        ("credentialSubject", {"id": "urn:epc:class:lgtin:4870101.076011.AL26-0001",
                               "carbonIntensity": {"value": 4.0, "unit": "tCO2e/t"},
                               "renewableShare": 0.62}),
        ("issuer", {"id": OTHER.did, "name": "Kazakh Metals Certification Body"}),
        ("name", "Green metal certificate!"),
        ("credentialStatus", None),
    ]


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("field,value", _changes())
def test_changed_document_fails(suite: str, field: str, value: object) -> None:
    signed = add_proof(credential(), KEY, cryptosuite=suite)
    if value is None:
        del signed[field]
    else:
        signed[field] = value
    with pytest.raises(CredentialError, match=r"^/proof/proofValue: signature does not match"):
        verify_proof(signed)


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("field,value", [
    ("created", "2025-05-29T12:00:06Z"), ("proofPurpose", "authentication"),
    ("verificationMethod", OTHER.verification_method),
])
def test_changed_proof_fails(suite: str, field: str, value: str) -> None:
    signed = add_proof(credential(), KEY, cryptosuite=suite)
    signed["proof"][field] = value
    with pytest.raises(CredentialError, match="signature does not match"):
        verify_proof(signed)


def test_key_from_the_caller() -> None:
    signed = add_proof(credential(), KEY)
    assert verify_proof(signed, public_key_for=lambda method: KEY.public)
    with pytest.raises(CredentialError, match="signature does not match"):
        verify_proof(signed, public_key_for=lambda method: OTHER.public)

    def unknown(method: str) -> bytes:
        raise CredentialError(f"{method} is not a trusted issuer")

    with pytest.raises(CredentialError, match=r"^/proof/verificationMethod: .* not a trusted"):
        verify_proof(signed, public_key_for=unknown)


@pytest.mark.parametrize("field,value,problem", [
    ("type", "Ed25519Signature2020", "/proof/type: expected 'DataIntegrityProof'"),
    ("cryptosuite", "ecdsa-rdfc-2019", "/proof/cryptosuite: unknown cryptosuite"),
    ("created", "29 May 2025", "/proof/created: '29 May 2025' is not an XML Schema dateTime"),
    ("created", "2025-13-29T12:00:00Z", "/proof/created: "),
    ("expires", "tomorrow", "/proof/expires: "),
    ("verificationMethod", None, "/proof/verificationMethod: missing"),
    ("proofPurpose", 7, "/proof/proofPurpose: missing or not a string"),
    ("proofValue", "u" + "A" * 86, "/proof/proofValue: expected multibase prefix 'z'"),
    ("proofValue", "z" + "1" * 32, "/proof/proofValue: an Ed25519 signature has 64 bytes, not 32"),
    ("proofValue", None, "/proof/proofValue: expected a multibase string"),
])
def test_malformed_proofs(field: str, value: object, problem: str) -> None:
    signed = add_proof(credential(), KEY)
    if value is None:
        del signed["proof"][field]
    else:
        signed["proof"][field] = value
    with pytest.raises(CredentialError) as info:
        verify_proof(signed)
    assert problem in str(info.value)


def test_missing_and_several_proofs() -> None:
    with pytest.raises(CredentialError, match="^/proof: missing"):
        verify_proof(credential())
    with pytest.raises(CredentialError, match="^/proof: an empty proof set"):
        verify_proof({**credential(), "proof": []})
    with pytest.raises(CredentialError, match="a JSON object"):
        verify_proof({**credential(), "proof": "z123"})
    both = add_proof(add_proof(credential(), KEY), OTHER, cryptosuite="eddsa-rdfc-2022")
    assert len(both["proof"]) == 2
    with pytest.raises(CredentialError, match="^/proof: 2 proofs .*use verify_proofs"):
        verify_proof(both)
    results = verify_proofs(both)
    assert [r.verification_method for r in results] == [KEY.verification_method,
                                                         OTHER.verification_method]
    both["proof"][1]["created"] = "2020-01-01T00:00:00Z"
    with pytest.raises(CredentialError, match="^/proof/1/proofValue: signature does not"):
        verify_proofs(both)
    single = {**credential(), "proof": [add_proof(credential(), KEY)["proof"]]}
    assert verify_proof(single).verification_method == KEY.verification_method


def test_chain_needs_its_previous_proofs() -> None:
    first = add_proof(credential(), KEY, proof_id="urn:uuid:first")
    chained = add_proof(first, OTHER, previous_proof="urn:uuid:first")
    assert [r.verification_method for r in verify_proofs(chained)] == [
        KEY.verification_method, OTHER.verification_method]
    with pytest.raises(CredentialError, match="previousProof: names proofs not in the "
                                              "document: urn:uuid:second"):
        add_proof(first, OTHER, previous_proof=["urn:uuid:first", "urn:uuid:second"])
    # the chained proof covers the first proof: dropping it breaks the chain
    alone = {**chained, "proof": [{**chained["proof"][1], "previousProof": "urn:uuid:gone"}]}
    with pytest.raises(CredentialError, match="previousProof"):
        verify_proofs(alone)


def test_expected_purpose() -> None:
    signed = add_proof(credential(), KEY, proof_purpose="authentication")
    assert verify_proof(signed, expected_purpose="authentication")
    with pytest.raises(CredentialError, match="^/proof/proofPurpose: proof purpose "
                                              "'authentication', expected 'assertionMethod'"):
        verify_proof(signed, expected_purpose="assertionMethod")


def test_jcs_proof_context_must_start_the_document_context() -> None:
    signed = add_proof(credential(), KEY)
    # as the spec says, the document may add contexts after the proof's...
    extended = {**signed, "@context": [VC, EXAMPLES, "https://w3id.org/security/multikey/v1"]}
    assert verify_proof(extended)
    # ...but may not change the ones the proof names
    changed = {**signed, "@context": [VC]}
    with pytest.raises(CredentialError, match="^/proof/@context: the document's @context"):
        verify_proof(changed)


def test_unknown_cryptosuite_on_signing() -> None:
    with pytest.raises(CredentialError, match="unknown cryptosuite 'eddsa-2022'"):
        add_proof(credential(), KEY, cryptosuite="eddsa-2022")


# -- safe RDF canonicalization ----------------------------------------------------------------

def _plain_vc(**extra: object) -> dict:
    doc = {"@context": [VC], "type": ["VerifiableCredential"], "issuer": KEY.did,
           "validFrom": "2025-05-29T12:00:00Z", "credentialSubject": {"id": "did:example:1"}}
    doc.update(extra)
    return doc


@pytest.mark.parametrize("doc,problem", [
    (_plain_vc(carbonIntensity=4.1), "term 'carbonIntensity' is not defined"),
    (_plain_vc(credentialSubject={"id": "did:example:1", "lot": "AL26"}), "term 'lot'"),
    (_plain_vc(type=["VerifiableCredential", "GreenMetalCredential"]),
     "type 'GreenMetalCredential' is not defined"),
    (_plain_vc(issuer="issuer-5678"), "identifier 'issuer-5678' is not an absolute IRI"),
    (_plain_vc(id="urn:uuid:1 2"), "identifier 'urn:uuid:1 2' is not an absolute IRI"),
])
def test_rdfc_refuses_what_it_would_drop(doc: dict, problem: str) -> None:
    """What the @context leaves undefined would vanish from the RDF and from what is signed:
    signing under eddsa-rdfc-2022 fails instead."""
    assert add_proof(doc, KEY)["proof"]["cryptosuite"] == "eddsa-jcs-2022"  # JCS signs all
    with pytest.raises(CredentialError, match=problem):
        add_proof(doc, KEY, cryptosuite="eddsa-rdfc-2022")
    with pytest.raises(CredentialError, match=problem):
        expand_strict(doc)


@pytest.mark.parametrize("text,code", [("page\x0cbreak", "000C"), ("bell\x07", "0007"),
                                       ("del\x7f", "007F")])
def test_rdfc_refuses_characters_it_would_escape_differently(text: str, code: str) -> None:
    """RDFC-1.0 writes these as \\f or \\uXXXX; pyld's N-Quads would not, and the canonical form
    would differ from other implementations'. Tabs, newlines and quotes are the same in both."""
    with pytest.raises(CredentialError, match=f"control character U\\+{code}"):
        add_proof(_plain_vc(name=text), KEY, cryptosuite="eddsa-rdfc-2022")
    fine = rdfc(_plain_vc(name='tab\tline\nquote"back\\slash'))
    assert b'"tab\\tline\\nquote\\"back\\\\slash"' in fine


def test_rdfc_needs_a_context() -> None:
    doc = _plain_vc()
    del doc["@context"]
    with pytest.raises(CredentialError):
        add_proof(doc, KEY, cryptosuite="eddsa-rdfc-2022")


def test_rdfc_blank_nodes_are_canonical() -> None:
    """Documents without ids: blank nodes get canonical labels whatever the key order."""
    doc = _plain_vc(credentialSubject={"name": "lot", "description": "aluminium"})
    turned = dict(reversed(list(doc.items())))
    assert canonical_document(doc, "eddsa-rdfc-2022") == canonical_document(
        turned, "eddsa-rdfc-2022")
    assert b"_:c14n0" in canonical_document(doc, "eddsa-rdfc-2022")


def test_rdfc_stops_on_poisoned_datasets() -> None:
    """Blank nodes that all look alike make canonicalization factorial: a work limit stops it
    (RDFC-1.0 asks implementations to detect such poisoning)."""
    def clique(n: int) -> list:
        return [{"@id": f"_:n{i}", "https://example.org/p": [
            {"@id": f"_:n{j}"} for j in range(n) if j != i]} for i in range(n)]

    assert rdfc(clique(3)).count(b"\n") == 6
    start = time.perf_counter()
    with pytest.raises(CredentialError, match="work limit"):
        rdfc(clique(12))
    assert time.perf_counter() - start < 10


# -- the document loader ------------------------------------------------------------------------

def test_loader_answers_every_shipped_context() -> None:
    index = loader_module.index()
    for url in ("https://www.w3.org/ns/credentials/v2", "https://w3id.org/security/multikey/v1",
                "https://w3id.org/security/data-integrity/v2", EXAMPLES,
                "https://www.w3.org/ns/did/v1", "https://www.w3.org/ns/credentials/status/v1",
                "https://ns.corridor.example/credentials/v1"):
        assert url in index
    for url, entry in index.items():
        assert {"url", "file", "source", "licence"} <= set(entry), url
        remote = document_loader(url)
        assert remote["documentUrl"] == url and remote["contextUrl"] is None
        assert "@context" in remote["document"]
        expand_strict({"@context": url, "@id": "urn:example:1"})  # nested URLs are shipped


def test_loader_hands_out_copies() -> None:
    url = "https://www.w3.org/ns/credentials/v2"
    loader_module.context(url)["@context"]["id"] = "changed"
    assert loader_module.context(url)["@context"]["id"] == "@id"


def test_unknown_context_is_refused_without_the_network(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the loader reached for the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    url = "https://w3id.org/citizenship/v4rc1"
    with pytest.raises(CredentialError, match=re.escape(url)):
        document_loader(url)
    doc = {**credential(), "@context": [VC, url]}
    with pytest.raises(CredentialError, match=re.escape(url) + ".* never fetched"):
        add_proof(doc, KEY, cryptosuite="eddsa-rdfc-2022")
    with pytest.raises(CredentialError, match=re.escape(url)):
        expand_strict(doc)
