"""Independent acceptance: Corridor's credentials verified by the digitalbazaar JavaScript stack
from the npm registry (@digitalbazaar/vc with the eddsa-rdfc-2022 cryptosuite, and
eddsa-jcs-2022; Bitstring Status List by @digitalbazaar/vc-bitstring-status-list), run by the
machine's Node.js through tests/js/verify-credential.mjs.

Every check goes to one Node process (a batch), so the whole module takes about a second.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import JS, ROOT
from tests.credentials.tampering import key_substitution, tamperings

SCRIPT = JS / "verify-credential.mjs"
CONTEXTS = ROOT / "corridor" / "credentials" / "contexts"
CRYPTOSUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")
VALID = ("GreenMetalCredential", "OriginCredential", "status-list")

Item = tuple[str, dict[str, Any]]  # (label, {"credential": ..., "controller"?: ...})


def _contexts() -> dict[str, str]:
    """Corridor's shipped contexts, URL -> file. The script serves the W3C and security
    contexts from its npm packages instead, so only Corridor's own terms come from here."""
    index = yaml.safe_load((CONTEXTS / "index.yml").read_text())
    return {c["url"]: str(CONTEXTS / c["file"]) for c in index["contexts"]}


def run_batch(node: str, items: list[Item], documents: dict[str, Any]) -> dict[str, dict]:
    batch = {"contexts": _contexts(), "documents": documents,
             "credentials": [item for _, item in items]}
    done = subprocess.run([node, str(SCRIPT), "--batch"], input=json.dumps(batch), check=False,
                          capture_output=True, text=True, timeout=240, cwd=JS)
    assert done.returncode in (0, 1), f"verify-credential.mjs failed: {done.stderr}"
    results = json.loads(done.stdout)
    assert len(results) == len(items)
    return {label: result for (label, _), result in zip(items, results, strict=True)}


def _status_lists(credentials: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    return {sets["status-list"]["id"]: sets["status-list"] for sets in credentials.values()}


@pytest.fixture(scope="module")
def npm_results(node_js: str, corridor_credentials: dict[str, Any]) -> dict[str, dict]:
    """Results of the npm verifier for every credential and every tampering of it."""
    items: list[Item] = []
    for suite in CRYPTOSUITES:
        for name, secured in corridor_credentials[suite].items():
            items.append((f"{suite} {name}", {"credential": secured}))
            if name == "revoked":
                continue
            for label, tampered in tamperings(secured):
                items.append((f"{suite} {name} {label}", {"credential": tampered}))
            items.append((f"{suite} {name} other key", {"credential": key_substitution(secured)}))
    return run_batch(node_js, items, _status_lists(corridor_credentials))


@pytest.mark.parametrize("suite", CRYPTOSUITES)
@pytest.mark.parametrize("name", VALID)
def test_npm_verifier_accepts(npm_results: dict[str, dict], suite: str, name: str) -> None:
    result = npm_results[f"{suite} {name}"]
    assert result["verified"], result["error"]
    if name != "status-list":
        # the status was checked: the bit was read from the signed status list, and is clear
        assert [s["set"] for s in result["status"]] == [False]


@pytest.mark.parametrize("suite", CRYPTOSUITES)
def test_npm_verifier_rejects_revoked(npm_results: dict[str, dict], suite: str) -> None:
    result = npm_results[f"{suite} revoked"]
    assert not result["verified"]
    assert "revocation bit 7 is set" in result["error"]


@pytest.mark.parametrize("suite", CRYPTOSUITES)
@pytest.mark.parametrize("name", VALID)
def test_npm_verifier_rejects_each_tampering(npm_results: dict[str, dict], suite: str,
                                             name: str) -> None:
    prefix = f"{suite} {name} "
    cases = {label[len(prefix):]: r for label, r in npm_results.items()
             if label.startswith(prefix)}
    assert len(cases) > 20
    accepted = sorted(label for label, r in cases.items() if r["verified"])
    assert not accepted, f"tampered credentials accepted by the npm verifier: {accepted}"
    # a changed figure, or another key named as the issuer's, fails on the signature itself
    assert "Invalid signature" in cases["other key"]["error"], cases["other key"]
    if name == "GreenMetalCredential":
        error = cases["change /credentialSubject/netMass"]["error"]
        assert "Invalid signature" in error, error


def test_npm_verifier_command_line(node_js: str, corridor_credentials: dict[str, Any],
                                   tmp_path: Path) -> None:
    """The single-credential form: a file in, {"verified", "error"} out, exit 0 or 1."""
    sets = corridor_credentials["eddsa-rdfc-2022"]
    args = [node_js, str(SCRIPT)]
    for url, file in _contexts().items():
        args += ["--context", f"{url}={file}"]
    status = tmp_path / "status.json"
    status.write_text(json.dumps(sets["status-list"]))
    args += ["--document", f"{sets['status-list']['id']}={status}"]
    for name, code in (("GreenMetalCredential", 0), ("revoked", 1)):
        file = tmp_path / f"{name}.json"
        file.write_text(json.dumps(sets[name]))
        done = subprocess.run([*args, str(file)], check=False, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == code, done.stdout + done.stderr
        assert json.loads(done.stdout)["verified"] is (code == 0)


@pytest.mark.conformance
def test_npm_verifier_w3c_vectors(node_js: str, conformance: Path) -> None:
    """The stack and the script agree with the W3C vectors (issuer not the did:key: the
    issuer's controller document is given)."""
    folder = conformance / "vc" / "TestVectors"
    items: list[Item] = []
    for file in ("eddsa-rdfc-2022/signedDataInt.json", "eddsa-jcs-2022/signedJCS.json"):
        signed = json.loads((folder / file).read_text())
        controller = {"@context": "https://www.w3.org/ns/did/v1", "id": signed["issuer"],
                      "assertionMethod": [signed["proof"]["verificationMethod"]]}
        items.append((file, {"credential": signed, "controller": controller}))
        items += [(f"{file} {label}", {"credential": t, "controller": controller})
                  for label, t in tamperings(signed)]
    results = run_batch(node_js, items, {})
    for file in ("eddsa-rdfc-2022/signedDataInt.json", "eddsa-jcs-2022/signedJCS.json"):
        assert results[file]["verified"], results[file]["error"]
    accepted = [label for label, r in results.items() if " " in label and r["verified"]]
    assert not accepted, accepted
