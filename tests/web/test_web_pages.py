"""The dashboard over HTTP: rendering, visibility and downloads, against a real node."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from corridor.epcis.identifiers import urn_to_dl
from corridor.ledger.jcs import canonicalize

if TYPE_CHECKING:
    from conftest import Node


def event_index_of(client: httpx.Client, node: Node, shipper: str, nth: int = 0) -> int:
    """Log index of the nth event on the shipper's first shipment page."""
    plan = node.shipment_of(shipper)
    page = client.get(f"/shipment/{plan.container}", headers=_as(node, shipper)).text
    found = re.findall(r'href="/event/(\d+)"', page)
    assert len(found) > nth, "shipment page links too few events"
    return int(found[nth])


def _verifier(vkey: str) -> Any:
    """A signed-note verifier key, split at its first two '+' (its base64 may hold '+')."""
    import base64

    from corridor.ledger.note import Verifier

    name, key_id, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64)
    return Verifier(name, int(key_id, 16), raw[0], raw[1:])


def _as(node: Node, slug: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {node.key(slug)}"}


def test_public_overview_shows_log_and_ticker_but_no_shipments(client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert 'id="tree-size"' in r.text and "KZT/USD" in r.text
    assert 'id="count-shipments"' not in r.text
    assert "circle class=\"unit\"" not in r.text


def test_overview_of_a_party_counts_its_shipments(client: httpx.Client, node: Node) -> None:
    r = client.get("/", headers=_as(node, "smelter"))
    assert r.status_code == 200
    own = [p for p in node.plans if p.shipper == "smelter"]
    assert f'id="count-shipments">{len(own)}<' in r.text
    in_transit = sum(1 for p in own if not p.delivered)
    assert f'id="count-transit">{in_transit}<' in r.text


def test_bad_key_is_refused_at_login(client: httpx.Client) -> None:
    r = client.post("/login", data={"api_key": "cor_not_a_key"})
    assert r.status_code == 401
    assert "Unknown or revoked API key" in r.text


def test_login_sets_cookie_and_shows_party(client: httpx.Client, node: Node) -> None:
    r = client.post("/login", data={"api_key": node.key("buyer")}, follow_redirects=True)
    assert r.status_code == 200
    assert "Metalli Padani" in r.text
    assert client.cookies.get("corridor_key") == node.key("buyer")


def test_shipment_visible_to_its_parties_only(client: httpx.Client, node: Node) -> None:
    plan = node.shipment_of("smelter")
    path = f"/shipment/{plan.container}"
    for slug in ("smelter", "buyer", "auditor"):
        r = client.get(path, headers=_as(node, slug))
        assert r.status_code == 200, slug
        assert plan.container in r.text
    for slug in ("ferro", None):
        r = client.get(path, headers=_as(node, slug) if slug else {})
        assert r.status_code == 404, slug
        assert plan.invoice_id not in r.text and 'id="timeline"' not in r.text


def test_shipment_page_content(client: httpx.Client, node: Node) -> None:
    plan = node.shipment_of("smelter", delivered=True)
    r = client.get(f"/shipment/{plan.container}", headers=_as(node, "buyer"))
    assert r.status_code == 200
    text = r.text
    assert 'id="status">delivered<' in text
    assert plan.lot in text  # contents: the lot, linked
    assert f"CFL-BL-{plan.number:06d}" in text  # Caspian bill of lading
    assert plan.invoice_id in text
    assert "Port of Aktau" in text or "Port of Kuryk" in text
    assert text.count("<tr") >= 8  # legs table


def test_shipment_by_digital_link_and_digits(client: httpx.Client, node: Node) -> None:
    plan = node.shipment_of("ferro")
    dl = urn_to_dl(plan.container)
    assert dl is not None
    digits = dl.rsplit("/", 1)[1]
    for ref in (dl, digits):
        r = client.get(f"/shipment/{ref}", headers=_as(node, "ferro"))
        assert r.status_code == 200, ref
        assert plan.container in r.text


def test_lot_page(client: httpx.Client, node: Node) -> None:
    plan = node.shipment_of("smelter")
    r = client.get(f"/lot/{plan.lot}", headers=_as(node, "smelter"))
    assert r.status_code == 200
    assert plan.container in r.text
    assert "Commissioned" in r.text
    assert client.get(f"/lot/{plan.lot}", headers=_as(node, "ferro")).status_code == 404


def test_search_finds_by_bill_of_lading_lot_and_place(client: httpx.Client, node: Node) -> None:
    plan = node.shipment_of("smelter")
    headers = _as(node, "buyer")
    digits = urn_to_dl(plan.container).rsplit("/", 1)[1]  # type: ignore[union-attr]
    r = client.get("/search", params={"q": f"CFL-BL-{plan.number:06d}"}, headers=headers)
    assert f"/shipment/{digits}" in r.text
    r = client.get("/search", params={"q": plan.lot_number}, headers=headers)
    assert "lot" in r.text and plan.lot_number in r.text
    r = client.get("/search", params={"q": "KZAAU"}, headers=headers)
    assert "Port of Aktau" in r.text
    # Someone else's bill of lading finds nothing.
    r = client.get("/search", params={"q": f"CFL-BL-{plan.number:06d}"},
                   headers=_as(node, "ferro"))
    assert f"/shipment/{digits}" not in r.text


def test_event_page_and_downloads(client: httpx.Client, node: Node) -> None:
    from corridor.demo.scenario import document
    from corridor.epcis.documents import read_document
    from corridor.epcis.hashid import event_hash_id
    from corridor.ledger.entry import LogEntry
    from corridor.ledger.jcs import document_digest
    from corridor.ledger.policy import threshold_policy
    from corridor.ledger.proof import parse_receipt, verify_receipt

    headers = _as(node, "smelter")
    index = event_index_of(client, node, "smelter")
    r = client.get(f"/event/{index}", headers=headers)
    assert r.status_code == 200
    doc = client.get(f"/event/{index}/event.json", headers=headers)
    assert doc.status_code == 200
    event = json.loads(doc.content)
    assert canonicalize(event) == doc.content  # served exactly as digested into the log
    # The Event Hash ID shown is the one of the event as the demo generated and sent it.
    bare = canonicalize({k: v for k, v in event.items() if k != "eventID"})
    sent = next(p.event for plan in node.plans for p in plan.events
                if canonicalize(p.event) == bare)
    wrapped = read_document(json.dumps(document([sent], "2026-01-01T00:00:00Z")).encode())
    assert event["eventID"] == event_hash_id(wrapped.events[0], wrapped.namespaces)
    assert event["eventID"] in r.text
    assert f"&lt;{event['type']}" in r.text  # the XML view
    proof = client.get(f"/event/{index}/receipt", headers=headers)
    assert proof.status_code == 200
    receipt = parse_receipt(proof.content)
    vkey = _verifier(client.get("/log/info").json()["log_vkey"])
    verify_receipt(receipt, vkey, threshold_policy(vkey, [], 0))
    entry = LogEntry.decode(receipt.extra or b"")
    assert receipt.index == index and entry.document_sha256 == document_digest(event)
    assert client.get(f"/event/{index}/receipt").status_code == 404  # public: not its event
    other = client.get(f"/event/{index}", headers=_as(node, "ferro"))  # the log entry only
    assert other.status_code == 200 and 'id="leaf-hash"' in other.text
    assert event["eventTime"] not in other.text and 'id="jsonld"' not in other.text


def test_search_by_urn_digital_link_and_party(client: httpx.Client, node: Node) -> None:
    plan = node.shipment_of("ferro")
    headers = _as(node, "ferro")
    dl = urn_to_dl(plan.container)
    for q, target in ((plan.container, "/shipment/"), (dl, "/shipment/"),
                      (plan.lot, "/lot/")):
        r = client.get("/search", params={"q": q}, headers=headers)
        assert r.status_code == 200 and f'href="{target}' in r.text, q
    r = client.get("/search", params={"q": "Aktobe Ferroalloy"}, headers=headers)
    assert "/search?party=" in r.text
    r = client.get("/search", params={"party": "urn:epc:id:pgln:4870102.00000"}, headers=headers)
    digits = dl.rsplit("/", 1)[1]  # type: ignore[union-attr]
    assert f"/shipment/{digits}" in r.text
    r = client.get("/search", params={"place": "aktobe"}, headers=headers)
    assert f"/shipment/{digits}" in r.text
    assert client.get("/search", params={"q": "x" * 10000}).status_code == 200


def test_offline_command_on_event_page_verifies_downloads(
        client: httpx.Client, node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The `corridor receipt verify` command the event page prints accepts its downloads."""
    import html

    from click.testing import CliRunner

    from corridor.cli import main

    headers = _as(node, "smelter")
    index = event_index_of(client, node, "smelter", nth=2)  # has source/destination lists
    page = client.get(f"/event/{index}", headers=headers).text
    command = re.search(r"<code>corridor receipt verify (.*?)</code>", page, re.DOTALL)
    assert command
    args = shlex.split(html.unescape(command.group(1)))
    (tmp_path / f"corridor-{index}.tlog-proof").write_bytes(
        client.get(f"/event/{index}/receipt", headers=headers).content)
    (tmp_path / f"corridor-{index}.json").write_bytes(
        client.get(f"/event/{index}/event.json", headers=headers).content)
    monkeypatch.chdir(tmp_path)  # the command names the files as the browser saves them
    result = CliRunner().invoke(main, ["receipt", "verify", *args])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK entry {index} ")


def test_log_page_gives_the_verify_command(client: httpx.Client, node: Node) -> None:
    r = client.get("/ledger")
    assert r.status_code == 200
    info = client.get("/log/info").json()
    assert f"corridor log verify {node.url}/log --vkey '{info['log_vkey']}'" in r.text
    assert f'id="tree-size">{node.summary.checkpoint_size}<' in r.text


@pytest.mark.parametrize("path", ["/shipment/urn:epc:id:sscc:0000000.0000000000",
                                  "/shipment/urn:epc:idpat:sscc:*.1", "/shipment/%00%ff",
                                  "/lot/not-a-lot", "/event/999999",
                                  "/event/99999999999999999999999",
                                  "/event/99999999999999999999999/receipt"])
def test_unknown_things_are_404(client: httpx.Client, node: Node, path: str) -> None:
    assert client.get(path, headers=_as(node, "buyer")).status_code == 404


def test_visible_set_equals_the_api_visibility_rule(node: Node) -> None:
    """The dashboard's set form of visibility selects exactly what the API's rule selects."""
    from corridor.demo.actors import ACTORS
    from corridor.query.visibility import Viewer, visibility_clause
    from corridor.query.visible_set import visible_ids
    from corridor.store.db import Database
    from corridor.store.parties import party_for_key, share_events

    db = Database(node.settings.db_url)
    with db.connect() as conn:
        # One explicit share, so that the share arm of the rule is exercised too.
        first = conn.fetchone("SELECT id FROM events ORDER BY id LIMIT 1")[0]
        share_events(conn, [first], next(a.pgln for a in ACTORS if a.slug == "genoa"))
        viewers = [Viewer.PUBLIC, Viewer(None, (), "admin")]
        for actor in ACTORS:
            party = party_for_key(conn, node.key(actor.slug))
            assert party is not None
            viewers.append(Viewer(party.id, party.identifiers, party.role))
        every = {int(r[0]) for r in conn.fetchall("SELECT id FROM events")}
        for viewer in viewers:
            sql, params = visibility_clause(viewer)
            expected = {int(r[0]) for r in conn.fetchall(
                f"SELECT e.id FROM events e WHERE {sql}", params)}
            got = visible_ids(conn, viewer)
            assert (every if got is None else got) == expected, viewer
