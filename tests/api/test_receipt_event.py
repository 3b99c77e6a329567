"""`corridor receipt verify R --event E` against a live node (issue 19): the event as
GET /epcis/events/{id} returns it (with recordTime; the bare event or the whole query
document) and the event as it was captured (without the eventID the node added) both verify;
a changed event fails with a message naming the member at fault."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from corridor.cli import main
from tests.api.e1_server import Node, capture, event_doc, object_event, start_node

NS = {"ex": "https://ns.example.org/epcis/"}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    data_dir = tmp_path_factory.mktemp("node-receipt")
    n, srv = start_node(f"sqlite:///{data_dir / 'corridor.sqlite3'}", data_dir)
    try:
        yield n
    finally:
        srv.stop()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


class Logged:
    """One event captured through the node: what the client sent, what GET returns, the
    receipt, and files for the CLI."""

    def __init__(self, node: Node, tmp: Path, sent: dict[str, Any], event_id: str) -> None:
        self.sent, self.event_id, self.tmp = sent, event_id, tmp
        self.vkey = node.ledger.signer.verifier.vkey
        node.ledger.sign_now()
        with node.client("alice") as alice:
            got = alice.get("/epcis/events/" + quote(event_id, safe=""))
            assert got.status_code == 200, got.text
            self.query_document = got.json()
            r = alice.get("/epcis/events/" + quote(event_id, safe="") + "/receipt")
            assert r.status_code == 200, r.text
        [self.got] = self.query_document["epcisBody"]["queryResults"]["resultsBody"][
            "eventList"]
        self.receipt = tmp / "event.tlog-proof"
        self.receipt.write_bytes(r.content)

    def verify(self, event: Any, name: str = "e.json") -> tuple[int, str]:
        path = self.tmp / name
        path.write_text(json.dumps(event, indent=1))
        return run("receipt", "verify", str(self.receipt), "--vkey", self.vkey,
                   "--event", str(path))


@pytest.fixture(scope="module")
def posted(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Logged:
    """POST /epcis/events of an event without eventID (the node assigns its Event Hash ID)."""
    sent = object_event("urn:epc:id:sgtin:0614141.812345.V19", when="2026-03-01T10:00:00.5Z",
                        quantityList=[{"epcClass": "urn:epc:class:lgtin:0614141.812345.L1",
                                       "quantity": 2.50, "uom": "KGM"}])
    with node.client("alice") as alice:
        r = alice.post("/epcis/events", json=sent)
        assert r.status_code == 201, r.text
    return Logged(node, tmp_path_factory.mktemp("posted"), sent, r.json()["eventID"])


@pytest.fixture(scope="module")
def documented(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Logged:
    """POST /epcis/capture of a document whose event has an extension field, no eventID."""
    sent = object_event("urn:epc:id:sgtin:0614141.812345.W19", **{"ex:cnCode": "72024110"})
    with node.client("alice") as alice:
        r = capture(alice, event_doc([sent], NS))
        assert r.status_code == 202, r.text
        job = alice.get(r.headers["Location"]).json()
        assert job["success"] is True, job
    [row] = job["events"]
    return Logged(node, tmp_path_factory.mktemp("documented"), sent, row["eventID"])


def test_the_get_form_with_record_time_verifies(posted: Logged) -> None:
    assert "recordTime" in posted.got and posted.got["eventID"] == posted.event_id
    code, out = posted.verify(posted.got)
    assert code == 0, out
    assert "OK entry" in out and "recordTime" in out, out


def test_the_whole_get_response_verifies(posted: Logged) -> None:
    code, out = posted.verify(posted.query_document, "query.json")
    assert code == 0, out


def test_the_captured_form_without_event_id_verifies(posted: Logged) -> None:
    assert "eventID" not in posted.sent
    code, out = posted.verify(posted.sent)
    assert code == 0, out
    assert "eventID" in out, out  # says it took the eventID from the entry


def test_captured_document_and_get_form_with_extension_fields(documented: Logged) -> None:
    code, out = documented.verify(event_doc([documented.sent], NS), "captured-doc.json")
    assert code == 0, out
    code, out = documented.verify({"@context": event_doc([], NS)["@context"],
                                   **documented.got})
    assert code == 0, out
    # GET's query document names only the EPCIS context: the extension's namespace is
    # missing, and the message says which field needs it.
    code, out = documented.verify(documented.query_document, "query.json")
    assert code == 1 and "ex:cnCode" in out and "@context" in out, out


def test_an_xml_capture_document_verifies(node: Node, conformance: Path,
                                          tmp_path: Path) -> None:
    """The capture document as sent, in XML: its events are read as the node read them, and
    the one the receipt is for is found among them."""
    xml = conformance / "gs1-epcis" / "XML" / "WithExtension" / "ObjectEvent.xml"
    with node.client("alice") as alice:
        r = capture(alice, xml.read_bytes(), "application/xml")
        assert r.status_code == 202, r.text
        job = alice.get(r.headers["Location"]).json()
    assert job["success"] is True and len(job["events"]) >= 2, job
    logged = Logged(node, tmp_path, {}, job["events"][-1]["eventID"])
    code, out = run("receipt", "verify", str(logged.receipt), "--vkey", logged.vkey,
                    "--event", str(xml))
    assert code == 0, out


def test_a_document_without_the_event_is_refused_by_name(posted: Logged) -> None:
    others = event_doc([object_event("urn:epc:id:sgtin:0614141.812345.X1"),
                        object_event("urn:epc:id:sgtin:0614141.812345.X2")])
    code, out = posted.verify(others, "others.json")
    assert code == 1 and "none of the document's 2 events" in out, out
    # the document holding it among others: the event with the entry's digest is taken
    code, out = posted.verify(event_doc([*others["epcisBody"]["eventList"], posted.sent]),
                              "with.json")
    assert code == 0 and "eventID" in out, out
    code, out = posted.verify([posted.got], "list.json")
    assert code == 1 and "expected a JSON object" in out, out


def test_a_changed_record_time_is_named(posted: Logged) -> None:
    code, out = posted.verify({**posted.got, "recordTime": "2026-03-01T09:00:00.000Z"})
    assert code == 1 and "recordTime" in out and "2026-03-01T09:00:00.000Z" in out, out
    assert "differs" in out, out


def test_a_changed_event_id_is_named(posted: Logged) -> None:
    changed = {**posted.got, "eventID": "urn:uuid:6a1b0c5e-7f5d-4bde-9a8e-000000000019"}
    code, out = posted.verify(changed)
    assert code == 1 and "eventID" in out and posted.event_id in out, out


def test_an_added_member_is_named(posted: Logged) -> None:
    code, out = posted.verify({**posted.got, "disposition": "in_transit"})
    assert code == 1 and "disposition" in out and "not in the logged event" in out, out


def test_a_changed_value_fails_and_says_what_the_receipt_can_tell(posted: Logged) -> None:
    for member, value in (("eventTime", "2026-03-01T11:00:00.5Z"),
                          ("quantityList", [{**posted.sent["quantityList"][0],
                                             "quantity": 25}])):
        code, out = posted.verify({**posted.got, member: value})
        assert code == 1 and "event hash id" in out, out
        # the receipt holds digests only: the message lists the members that may differ
        assert member in out and "cannot tell which" in out, out
    # a member the Event Hash ID does not cover: named as the only candidate
    code, out = posted.verify({**posted.got, "errorDeclaration": {
        "declarationTime": "2026-03-02T00:00:00Z"}})
    assert code == 1 and "errorDeclaration" in out and "not in the logged event" in out, out


# -- the browser verifier (corridor/web/static/verify.js), run by Node.js -----------------------

_HARNESS = r"""
const fs = require("fs"), vm = require("vm");
const ctx = { window: {}, document: { addEventListener() {} }, crypto: globalThis.crypto,
  TextEncoder, TextDecoder, atob };
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.argv[2], "utf8"), ctx);
const cases = JSON.parse(fs.readFileSync(0, "utf8"));
(async () => {
  const out = [];
  for (const c of cases) out.push(await ctx.window.CorridorVerify.verifyEvent(c));
  process.stdout.write(JSON.stringify(out));
})();
"""


def test_the_browser_verifier_maps_both_forms_and_names_the_member(posted: Logged) -> None:
    import shutil
    import subprocess

    from corridor.ledger.entry import LogEntry
    from corridor.ledger.proof import parse_receipt

    node_js = shutil.which("node")
    if node_js is None:
        pytest.skip("Node.js is not installed")
    script = Path(__file__).parents[2] / "corridor" / "web" / "static" / "verify.js"
    receipt = parse_receipt(posted.receipt.read_bytes())
    entry = LogEntry.decode(receipt.extra or b"")
    page_entry = {"eventHashId": entry.event_hash_id, "logIndex": receipt.index}
    forms = [posted.got, posted.query_document, posted.sent,
             {**posted.got, "recordTime": "2026-03-01T09:00:00.000Z"},
             {**posted.got, "disposition": "in_transit"},
             {**posted.got, "eventTime": "2026-03-01T11:00:00.5Z"}]
    cases = [{"eventJson": json.dumps(f), "entry": page_entry,
              "receipt": posted.receipt.read_text(), "logVkey": posted.vkey,
              "witnessVkeys": [], "quorum": 0} for f in forms]
    harness = posted.tmp / "harness.js"
    harness.write_text(_HARNESS)
    done = subprocess.run([node_js, str(harness), str(script)], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=60, check=True)
    results = json.loads(done.stdout)
    details = [" | ".join(f"{s['label']}: {s['detail']}" for s in r["steps"]) for r in results]
    assert [r["ok"] for r in results] == [True, True, True, False, False, False], details
    assert "recordTime left out" in details[0] and "eventID taken" in details[2], details
    assert "recordTime 2026-03-01T09:00:00.000Z differs" in details[3], details[3]
    assert "member disposition is not in the logged event" in details[4], details[4]
    assert "cannot tell which" in details[5], details[5]


def test_a_captured_record_time_is_ignored(node: Node, tmp_path: Path) -> None:
    """EPCIS 2.0: the repository sets recordTime and ignores one in a captured event. GET
    then holds one recordTime, the node's, and the GET form verifies; the captured form says
    which member differs and why."""
    own = "2020-01-01T00:00:00Z"
    sent = object_event("urn:epc:id:sgtin:0614141.812345.R19", recordTime=own)
    with node.client("alice") as alice:
        r = alice.post("/epcis/events", json=sent)
        assert r.status_code == 201, r.text
        event_id = r.json()["eventID"]
        raw = alice.get("/epcis/events/" + quote(event_id, safe="")).text
    assert raw.count('"recordTime"') == 1 and own not in raw, raw
    logged = Logged(node, tmp_path, sent, event_id)
    assert logged.got["recordTime"] != own
    code, out = logged.verify(logged.got)
    assert code == 0, out
    code, out = logged.verify({**sent, "eventID": event_id}, "captured.json")
    assert code == 1 and f"recordTime {own} differs" in out and "ignores" in out, out
