"""Certificates on the dashboard: the lot page lists a lot's credentials (to those who may see
the lot), the printable certificate page shows the claim, its evidence and a QR code of the
verification page, and the browser verifies a credential itself (static/verify-credential.js):
a valid one passes every check, a revoked one says so, a changed figure breaks the signature.

The credentials are issued here, through the API, by the demo's certifier (accredited here
unless the demo already did)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import pytest

from corridor.credentials.service import CredentialService
from corridor.demo.actors import ACTOR_BY_SLUG, CERTIFIER_ACCREDITATION
from corridor.demo.scenario import generate
from corridor.epcis.identifiers import urn_to_dl
from corridor.node import open_ledger
from corridor.store import credentials as store
from corridor.store.db import Database
from corridor.store.parties import find_party
from corridor.web.certificates import qr_svg, verify_url
from tests.web.conftest import SEED, SHIPMENTS
from tests.web.test_web_browser import login
from tests.web.test_web_truth import OVERFLOWING

if TYPE_CHECKING:
    from conftest import Node


@dataclass(frozen=True)
class Issued:
    green: dict[str, Any]  # eddsa-jcs-2022, valid
    rdfc: dict[str, Any]  # eddsa-rdfc-2022, valid
    revoked: dict[str, Any]  # eddsa-jcs-2022, revoked
    origin: dict[str, Any] | None  # the Italian plant's parts lot, when the demo made one
    green_lot: str
    green_owner: str  # slug of the party whose lot it is


def _as(node: Node, slug: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {node.key(slug)}"}


def _accredit(node: Node) -> None:
    """The demo's certifier, accredited unless the demo did it already."""
    db = Database(node.settings.db_url)
    conn = db.connect()
    ledger = open_ledger(node.settings, db)
    try:
        party = find_party(conn, ACTOR_BY_SLUG["certifier"].name)
        if store.certifier(conn, party.id) is None:
            CredentialService(node.settings, db, ledger).accredit(
                conn, str(party.id), display_name=party.name,
                accreditation=CERTIFIER_ACCREDITATION)
    finally:
        ledger.close()
        conn.close()


def _issue(client: httpx.Client, node: Node, kind: str, lot: str,
           suite: str = "eddsa-jcs-2022") -> dict[str, Any]:
    answer = client.post("/credentials", headers=_as(node, "certifier"),
                         json={"type": kind, "subject": lot, "cryptosuite": suite})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _parts_lot() -> str | None:
    """The Italian plant's parts lot (the output of the buyer's TransformationEvent)."""
    for planned in generate(SHIPMENTS, SEED).lot_events:
        if planned.party == "buyer" and planned.event.get("type") == "TransformationEvent":
            return str(planned.event["outputQuantityList"][0]["epcClass"])
    return None


@pytest.fixture(scope="module")
def issued(node: Node) -> Iterator[Issued]:
    _accredit(node)
    smelter = node.shipment_of("smelter")
    ferro = node.shipment_of("ferro")
    with httpx.Client(base_url=node.url, timeout=60) as client:
        green = _issue(client, node, "GreenMetalCredential", smelter.lot)
        rdfc = _issue(client, node, "GreenMetalCredential", ferro.lot, "eddsa-rdfc-2022")
        revoked = _issue(client, node, "GreenMetalCredential", smelter.lot)
        answer = client.post(f"/credentials/{revoked['id']}/revoke",
                             headers=_as(node, "certifier"), json={"reason": "test: recalled"})
        assert answer.status_code == 200, answer.text
        parts = _parts_lot()
        origin = None
        if parts is not None:
            made = client.post("/credentials", headers=_as(node, "certifier"),
                               json={"type": "OriginCredential", "subject": parts})
            origin = made.json() if made.status_code == 201 else None
    yield Issued(green, rdfc, revoked, origin, smelter.lot, "smelter")


def issued_json(node: Node, credential_id: str) -> str:
    return httpx.get(f"{node.url}/credentials/{credential_id}", timeout=30).text


def _certificate(client: httpx.Client, credential: dict[str, Any]) -> str:
    answer = client.get(f"/certificate/{credential['id']}")
    assert answer.status_code == 200, answer.text[:500]
    return answer.text


# ---------------------------------------------------------------- over HTTP


def test_lot_page_lists_its_credentials_to_those_who_see_the_lot(
        client: httpx.Client, node: Node, issued: Issued) -> None:
    page = client.get(f"/lot/{issued.green_lot}", headers=_as(node, issued.green_owner))
    assert page.status_code == 200
    table = page.text.split('id="lot-credentials"', 1)[1].split("</table>", 1)[0]
    for credential in (issued.green, issued.revoked):
        row = table.split(f'data-credential="{credential["id"]}"', 1)[1].split("</tr>", 1)[0]
        assert f'href="/certificate/{credential["id"]}"' in row
        assert f'href="/credentials/{credential["id"]}"' in row
        assert "Steppe Metals Certification Body LLP" in row
        assert "Verify in the browser" in row
        subject = credential["credentialSubject"]
        assert f"{subject['carbonIntensity']} tCO2e/t" in row
    assert "revoked" in table.split(f'data-credential="{issued.revoked["id"]}"', 1)[1] \
        .split("</tr>", 1)[0]
    assert 'id="credential-verify-data"' in page.text and "/static/verify-credential.js" in page.text

    # A party that may not see the lot sees no lot page, so no credential either.
    other = client.get(f"/lot/{issued.green_lot}", headers=_as(node, "ferro"))
    assert other.status_code == 404 and issued.green["id"] not in other.text
    public = client.get(f"/lot/{issued.green_lot}")
    assert public.status_code == 404 and "lot-credentials" not in public.text


def test_certificate_page_shows_claim_evidence_and_a_qr_code(
        client: httpx.Client, node: Node, issued: Issued) -> None:
    credential = issued.green
    page = _certificate(client, credential)  # public: no key
    subject = credential["credentialSubject"]
    assert "Steppe Metals Certification Body LLP" in page
    assert CERTIFIER_ACCREDITATION in page
    assert subject["id"] in page and urn_to_dl(subject["id"]) in page
    intensity = page.split('id="claim-intensity">', 1)[1].split("</b>", 1)[0]
    assert intensity == f"{subject['carbonIntensity']} tCO2e/t"
    assert subject["boundary"] in page and subject["method"] in page
    for c in subject["classes"]:
        assert c["label"] in page and str(c["threshold"]) in page
    figures = page.split('id="claim-figures"', 1)[1].split("</table>", 1)[0]
    for name in ("netMass", "electricityKWh", "directEmissions", "totalEmissions"):
        assert f">{subject[name]} " in figures, name
    # the evidence: each event with its log index, linked to the public log entry page
    evidence = page.split('id="cert-evidence"', 1)[1].split("</table>", 1)[0]
    for item in credential["evidence"]:
        assert item["id"] in evidence
        assert f'<a href="/event/{item["logIndex"]}">{item["logIndex"]}</a>' in evidence
        assert client.get(f"/event/{item['logIndex']}").status_code == 200
    # the QR code: an inline SVG of the verification page's URL (at the node's public URL)
    link = verify_url(node.settings.public_url.rstrip("/"), credential["id"])
    qr = page.split('id="cert-qr">', 1)[1].split("</div>", 1)[0]
    assert qr.startswith("<svg") and 'class="qr"' in qr and qr == qr_svg(link)
    assert f'href="{link}"' in page
    assert "@media print" in client.get("/static/style.css").text
    assert 'class="cred-state valid"' in page


def test_certificate_page_of_a_revoked_credential_says_so(
        client: httpx.Client, issued: Issued) -> None:
    page = _certificate(client, issued.revoked)
    status = page.split('id="cert-status">', 1)[1].split("</div>", 1)[0]
    assert "revoked" in status and "test: recalled" in status


def test_origin_certificate_names_transformations_countries_and_shares(
        client: httpx.Client, issued: Issued) -> None:
    if issued.origin is None:
        pytest.skip("the demo's genealogy supports no origin claim at this size")
    subject = issued.origin["credentialSubject"]
    page = _certificate(client, issued.origin)
    assert subject["originStatement"] in page
    assert "Kazakhstan" in page and "Italy" in page
    share = page.split('id="claim-share">', 1)[1].split("</b>", 1)[0]
    assert share == f"{round(subject['contributingShare'] * 100, 2):g} %"
    steps = page.split('id="claim-transformations"', 1)[1].split("</table>", 1)[0]
    assert steps.count("<tr>") == len(subject["transformations"]) + 1  # and the heading
    assert "Metalli Padani S.p.A." in steps


def test_unknown_certificate_is_404(client: httpx.Client) -> None:
    answer = client.get("/certificate/urn:uuid:00000000-0000-4000-8000-000000000000")
    assert answer.status_code == 404
    assert "Not found" in answer.text


def test_verification_page_takes_an_id_or_this_nodes_url(
        client: httpx.Client, node: Node, issued: Issued) -> None:
    cid = issued.green["id"]
    by_id = client.get(f"/verify?credential={quote(cid, safe='')}")
    assert by_id.status_code == 200 and 'id="verify-subject"' in by_id.text
    assert '"autorun": true' in by_id.text
    url = f"{node.settings.public_url.rstrip('/')}/credentials/{cid}"
    by_url = client.get("/verify", params={"credential": url})
    assert by_url.status_code == 200 and cid in by_url.text
    foreign = client.get("/verify", params={"credential": f"https://elsewhere.example/credentials/{cid}"})
    assert foreign.status_code == 404 and 'id="verify-unknown"' in foreign.text
    blank = client.get("/verify")
    assert blank.status_code == 200 and 'id="credential-json"' in blank.text


# ---------------------------------------------------------------- in the browser

def _verify_fetched(page: Any, button: str, result: str) -> str:
    page.eval_on_selector(f"#{result}", "e => e.removeAttribute('data-state')")
    page.click(button)
    page.wait_for_selector(f"#{result}[data-state=ok], #{result}[data-state=fail], "
                           f"#{result}[data-state=partial]")
    return str(page.get_attribute(f"#{result}", "data-state"))


def _checks(page: Any, result: str) -> dict[str, tuple[str, str]]:
    """{check name: (ok | fail | unchecked, text)} of a result box."""
    rows = page.eval_on_selector_all(
        f"#{result} > ol > li", "els => els.map(e => [e.dataset.check, e.className, e.textContent])")
    return {name: (state, text) for name, state, text in rows}


@pytest.mark.browser
def test_lot_page_verifies_a_credential_in_the_browser(page: Any, node: Node,
                                                       issued: Issued) -> None:
    login(page, node, issued.green_owner)
    page.goto(f"{node.url}/lot/{issued.green_lot}")
    button = (f"#lot-credentials tr[data-credential='{issued.green['id']}'] "
              "button.verify-credential")
    state = _verify_fetched(page, button, "lot-credential-result")
    checks = _checks(page, "lot-credential-result")
    assert state == "ok", page.inner_text("#lot-credential-result")
    names = list(checks)
    assert names[:4] == ["signature", "issuer trusted", "validity", "status"]
    assert len([n for n in names if n.startswith("evidence ")]) == len(issued.green["evidence"])
    assert all(s == "ok" for s, _ in checks.values()), checks
    assert "eddsa-jcs-2022 proof by did:key:" in checks["signature"][1]
    assert "not revoked" in checks["status"][1]
    # the node's own check agrees
    page.wait_for_selector("#lot-credential-node[data-state=ok]")

    # a revoked credential: every check passes but its status
    button = (f"#lot-credentials tr[data-credential='{issued.revoked['id']}'] "
              "button.verify-credential")
    assert _verify_fetched(page, button, "lot-credential-result") == "fail"
    checks = _checks(page, "lot-credential-result")
    assert checks["status"][0] == "fail" and "revoked (bit" in checks["status"][1]
    assert checks["signature"][0] == "ok"
    assert "revoked" in page.inner_text("#lot-credential-result .verdict")


@pytest.mark.browser
def test_certificate_page_verifies_and_a_changed_figure_fails(page: Any, node: Node,
                                                              issued: Issued) -> None:
    cid = issued.green["id"]
    page.goto(f"{node.url}/certificate/{cid}")
    assert page.locator("#cert-qr svg.qr").is_visible()
    assert _verify_fetched(page, "#cert-verify", "cert-verify-result") == "ok", \
        page.inner_text("#cert-verify-result")
    found = page.evaluate(OVERFLOWING)
    assert found["scroll"] <= found["width"] and not found["out"], found

    # The verification page (the QR code's target) runs at once on this node's credential.
    page.goto(f"{node.url}/verify?credential={quote(cid, safe='')}")
    page.wait_for_selector("#credential-result[data-state=ok]")
    page.wait_for_selector("#credential-node-result[data-state=ok]")
    found = page.evaluate(OVERFLOWING)
    assert found["scroll"] <= found["width"] and not found["out"], found

    # One changed figure: the signature no longer matches, and the node agrees.
    tampered = json.loads(page.input_value("#credential-json"))
    tampered["credentialSubject"]["carbonIntensity"] = round(
        tampered["credentialSubject"]["carbonIntensity"] - 1, 3)
    page.fill("#credential-json", json.dumps(tampered, indent=2))
    assert _verify_fetched(page, "#verify-credential", "credential-result") == "fail"
    checks = _checks(page, "credential-result")
    assert checks["signature"][0] == "fail"
    assert checks["signature"][1].endswith("signature: /proof/proofValue: signature does not match")
    assert checks["status"][0] == "ok"  # the rest still holds: only the claim was changed
    page.wait_for_selector("#credential-node-result[data-state=fail]")
    assert "signature" in page.inner_text("#credential-node-result")

    # Keys reordered and re-spaced: canonical JSON, so it verifies again.
    original = json.loads(issued_json(node, cid))
    page.fill("#credential-json", json.dumps(dict(reversed(list(original.items()))), indent=5))
    assert _verify_fetched(page, "#verify-credential", "credential-result") == "ok"

    # A receipt checked against another log key fails the evidence checks.
    vkey = page.input_value("#credential-log-vkey")
    name, key_id, b64 = vkey.split("+", 2)
    other = b64[:-6] + ("A" if b64[-6] != "A" else "B") + b64[-5:]
    page.fill("#credential-log-vkey", f"{name}+{key_id}+{other}")
    assert _verify_fetched(page, "#verify-credential", "credential-result") == "fail"
    checks = _checks(page, "credential-result")
    assert checks["evidence 0"][0] == "fail" and checks["signature"][0] == "ok"


@pytest.mark.browser
def test_rdfc_credential_is_left_to_the_node_not_failed_silently(page: Any, node: Node,
                                                                 issued: Issued) -> None:
    page.goto(f"{node.url}/verify?credential={quote(issued.rdfc['id'], safe='')}")
    page.wait_for_selector("#credential-result[data-state=partial]")
    checks = _checks(page, "credential-result")
    assert checks["signature"][0] == "unchecked"
    assert "corridor credential verify" in checks["signature"][1]
    assert "POST /credentials/verify" in checks["signature"][1]
    assert all(s == "ok" for n, (s, _) in checks.items() if n != "signature"), checks
    page.wait_for_selector("#credential-node-result[data-state=ok]")


@pytest.mark.browser
def test_certificate_prints_on_one_page(page: Any, node: Node, issued: Issued) -> None:
    for credential in (issued.green, issued.revoked, issued.origin):
        if credential is None:
            continue
        page.goto(f"{node.url}/certificate/{credential['id']}")
        page.emulate_media(media="print")
        assert not page.locator("header.top").is_visible()
        assert not page.locator("#cert-actions").is_visible()
        assert page.locator("#cert-qr svg.qr").is_visible()
        pdf = page.pdf(format="A4", print_background=True)
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, credential["type"]


@pytest.mark.browser
@pytest.mark.conformance
def test_the_browser_verifier_accepts_the_w3c_jcs_vector(page: Any, node: Node,
                                                         conformance: Any) -> None:
    """The page's JavaScript against the W3C eddsa-jcs-2022 test vector (vc-di-eddsa B.1):
    the canonical document and the proof verify; a changed member does not."""
    vectors = conformance / "vc" / "TestVectors" / "eddsa-jcs-2022"
    signed = json.loads((vectors / "signedJCS.json").read_text(encoding="utf-8"))
    canon = (vectors / "canonDocJCS.txt").read_text(encoding="utf-8").strip()
    page.goto(f"{node.url}/verify")
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    assert page.evaluate("d => CorridorVerify.jcs(d)", unsigned) == canon
    result = page.evaluate("d => CorridorCredential.verifyProof(d)", signed)
    assert result["ok"] is True, result
    changed = {**signed, "credentialSubject": {**signed["credentialSubject"],
                                               "alumniOf": "Another School"}}
    result = page.evaluate("d => CorridorCredential.verifyProof(d)", changed)
    assert result["ok"] is False and "signature does not match" in result["detail"]
