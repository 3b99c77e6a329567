"""Corridor credentials signed by Corridor's own code, for the independent verifiers
(test_npm_verifier.py: the digitalbazaar npm stack; test_spec_only_jcs.py: a verifier written
from the spec text) to check."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from corridor.credentials import credential, status_list
from corridor.credentials.data_integrity import add_proof
from corridor.credentials.keys import IssuerKey
from corridor.ledger.checkpoint import Checkpoint
from corridor.ledger.merkle import ListHasher, inclusion_proof, leaf_hash, tree_root
from corridor.ledger.note import generate_signer, sign_note
from corridor.ledger.proof import Receipt

NODE_URL = "https://kz-node.corridor.example"
LOG_ORIGIN = "kz-node.corridor.example/log"
ISSUER_NAME = "Kazakh Metals Certification Body"
VALID_FROM = "2025-05-29T12:00:00Z"
CREATED = "2025-05-29T12:00:05Z"
# the bit of REVOKED_INDEX is set in each status list; the other credentials' bits are not
REVOKED_INDEX = 7
CRYPTOSUITES = ("eddsa-jcs-2022", "eddsa-rdfc-2022")


def _hash_id(seed: str) -> str:
    return f"ni:///sha-256;{hashlib.sha256(seed.encode()).hexdigest()}?ver=CBV2.0"


def _evidence(hash_ids: list[str]) -> list[dict[str, Any]]:
    """Evidence entries with real C2SP tlog-proof receipts from a small log of these events."""
    entries = [h.encode() for h in hash_ids] + [f"other {i}".encode() for i in range(9)]
    hasher = ListHasher([leaf_hash(e) for e in entries])
    size = len(entries)
    checkpoint = Checkpoint(LOG_ORIGIN, size, tree_root(hasher, size))
    note = sign_note(checkpoint.text(), [generate_signer(LOG_ORIGIN)])
    out = []
    for index, hash_id in enumerate(hash_ids):
        receipt = Receipt(index, inclusion_proof(hasher, index, size), note).encode()
        out.append(credential.evidence_entry(hash_id, index, LOG_ORIGIN, receipt))
    return out


def _subjects() -> dict[str, dict[str, Any]]:
    """Subjects of the shapes corridor.credentials.claims and .genealogy compute."""
    ingot = "urn:epc:class:lgtin:4870101.076011.AL26-0001"
    smelter = "urn:epc:id:sgln:4870101.00001.0"
    return {
        "GreenMetalCredential": {
            "id": ingot, "type": "MetalLot", "cnCode": "76011000",
            "material": "Unwrought aluminium, not alloyed", "lotNumber": "AL26-0001",
            "producedAt": [smelter], "netMass": 24.5, "massUnit": "t",
            "boundary": "scope1-2", "boundaryIncludes": ["direct", "electricity"],
            "method": "IAI aluminium carbon footprint, smelter boundary",
            "electricityKWh": 355250,
            "electricitySources": [
                {"source": "hydro", "share": 0.62, "kWh": 220255, "emissionFactor": 24},
                {"source": "coal", "share": 0.38, "kWh": 134995, "emissionFactor": 1001}],
            "emissionFactorUnit": "gCO2e/kWh", "emissionFactorSource": "IPCC AR5 WG3 Annex III",
            "directEmissions": 39.2, "directEmissionSources": [
                {"source": "anode", "co2e": 37.975}, {"source": "pfc", "co2e": 1.225}],
            "electricityEmissions": 140.412, "totalEmissions": 179.612, "emissionsUnit": "tCO2e",
            "carbonIntensity": 7.331, "carbonIntensityUnit": "tCO2e/t",
            "classes": [{"classId": "low-carbon-aluminium", "label": "Low-carbon aluminium",
                         "boundary": "scope1-2", "threshold": 8, "comparison": "at-most",
                         "carbonIntensity": 7.331, "met": True,
                         "basis": "Aluminium Stewardship Initiative, scope 1 and 2"}],
            "classesMet": ["low-carbon-aluminium"],
        },
        "OriginCredential": {
            "id": "urn:epc:class:lgtin:8012345.011111.WIRE-0420", "type": "ProductLot",
            "originStatement": "Made in Italy with Kazakh aluminium", "originRule": "it-kz-50",
            "ruleBasis": "Union Customs Code art. 60(2), last substantial transformation",
            "netMass": 12, "massUnit": "t", "lastTransformationCountry": "IT",
            "contributingCountry": "KZ", "contributingShare": 0.98, "minimumShare": 0.5,
            "transformations": [{
                "event": _hash_id("drawing"), "eventTime": "2025-05-20T08:30:00.000Z",
                "place": "urn:epc:id:sgln:8012345.00002.0", "country": "IT",
                "party": "urn:epc:id:pgln:8012345.00000",
                "bizStep": "https://ref.gs1.org/cbv/BizStep-commissioning",
                "inputs": [{"item": ingot, "mass": 12.25},
                           {"item": "urn:epc:class:lgtin:8012345.099999.MG-7", "mass": 0.25}],
                "outputs": [{"item": "urn:epc:class:lgtin:8012345.011111.WIRE-0420",
                             "mass": 12}],
                "inputMass": 12.5, "outputMass": 12, "shareOfMass": 1}],
        },
    }


def _signed_set(key: IssuerKey, suite: str, list_number: int) -> dict[str, dict[str, Any]]:
    list_url = f"{NODE_URL}/credentials/status/{list_number}"
    bits = bytearray(status_list.MIN_ENTRIES // 8)
    status_list.set_bit(bits, REVOKED_INDEX, True)
    status_credential = status_list.status_list_credential(
        list_url, key.did, status_list.encode_list(bytes(bits)), VALID_FROM)
    signed: dict[str, dict[str, Any]] = {
        "status-list": add_proof(status_credential, key, cryptosuite=suite, created=CREATED)}
    indexes = {"GreenMetalCredential": 42, "OriginCredential": 43, "revoked": REVOKED_INDEX}
    subjects = _subjects()
    for name, index in indexes.items():
        kind = "GreenMetalCredential" if name == "revoked" else name
        document = credential.build(
            kind, credential_id=f"urn:uuid:00000000-0000-4000-8000-{list_number:06d}{index:06d}",
            issuer=key.did, issuer_name=ISSUER_NAME, valid_from=VALID_FROM,
            subject=subjects[kind],
            evidence=_evidence([_hash_id(f"{name} {i}") for i in range(3)]),
            status=status_list.status_entry(list_url, index))
        signed[name] = add_proof(document, key, cryptosuite=suite, created=CREATED)
    return signed


@pytest.fixture(scope="session")
def issuer_key() -> IssuerKey:
    return IssuerKey.from_seed(hashlib.sha256(b"corridor test issuer").digest())


@pytest.fixture(scope="session")
def corridor_credentials(issuer_key: IssuerKey) -> dict[str, dict[str, dict[str, Any]]]:
    """{cryptosuite: {"GreenMetalCredential"|"OriginCredential": valid credential,
    "revoked": a credential whose status bit is set, "status-list": the signed status list}}.
    Each cryptosuite has its own status list."""
    return {suite: _signed_set(issuer_key, suite, n) for n, suite in enumerate(CRYPTOSUITES, 1)}
