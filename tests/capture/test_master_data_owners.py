"""Who may write master data (corridor.capture.ownership), on SQLite and PostgreSQL: an element
named by a GS1 key only a party whose identifiers carry the key's GS1 Company Prefix (or an
admin), in URN and Digital Link form; an element that is no GS1 key only the party that first
wrote it (or an admin), nobody but an admin where that is not known. A capture naming an
element its party may not write is refused as a whole, its failed job saying which element of
which vocabulary, where, and by which rule; nothing else of it is written."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from corridor.capture import (
    Accepted,
    CaptureService,
    CaptureWork,
    InvalidDocument,
    capture_document,
    prepare_document,
    read_job,
)
from corridor.capture.ownership import OWNER_RULE, prefixes_of
from corridor.capture.writer import write_captures
from corridor.config import Settings
from corridor.epcis.documents import read_document
from corridor.epcis.identifiers import company_prefix_key
from corridor.epcis.problems import error_entry
from corridor.node import open_ledger
from corridor.store.db import Connection, Database
from corridor.store.master_data import element_attributes
from corridor.store.migrations import migrate
from corridor.store.parties import add_party
from tests.capture.test_master_data import (
    BUSINESS_LOCATION,
    JSON_LD,
    MDA,
    PORT,
    PORT_KEY,
    XML,
    event,
    json_document,
    master_data_document,
    port_vocabulary,
    xml_document,
)

ALICE = "urn:epc:id:pgln:0614141.00001"  # owns PORT (urn:epc:id:sgln:0614141.00888.0)
BOB = "urn:epc:id:pgln:4012345.00001"
ADMIN = "urn:epc:id:pgln:9999999.00001"
DAVE = "https://id.gs1.org/417/4870101000003"  # a GLN only: its prefix length is not told
PRIVATE = "https://ns.example.com/places/dock-7"  # no GS1 key
BOBS_PLACE = "urn:epc:id:sgln:4012345.00001.0"
FIRST = "/epcisHeader/epcisMasterData/vocabularyList/0/vocabularyElementList/0"


@dataclass
class Node:
    conn: Connection
    ledger: Any
    service: CaptureService
    ids: dict[str, int]

    def capture(self, who: str, data: bytes | dict[str, Any], media: str = JSON_LD) -> Any:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        return asyncio.run(self.service.capture_document(raw, media, party_id=self.ids[who]))

    def names(self) -> dict[str, Any]:
        return {e.element: e.attributes.get(MDA + "name")
                for e in element_attributes(self.conn, [BUSINESS_LOCATION])}

    def written_by(self, key: str) -> int | None:
        row = self.conn.fetchone("SELECT written_by FROM vocabulary_elements WHERE element = ?",
                                 (key,))
        assert row is not None
        return None if row[0] is None else int(row[0])

    def count(self, table: str) -> int:
        row = self.conn.fetchone(f"SELECT COUNT(*) FROM {table}")
        return int(row[0]) if row else 0


@pytest.fixture
def node(db_url: str, tmp_path: Path) -> Iterator[Node]:
    settings = Settings(data_dir=tmp_path, db_url=db_url, capture_workers=0)
    db = Database(db_url)
    conn = db.connect()
    migrate(db, conn)
    ledger = open_ledger(settings, db)
    ids = {}
    for name, ident, role in (("alice", ALICE, "member"), ("bob", BOB, "member"),
                              ("admin", ADMIN, "admin"), ("dave", DAVE, "member")):
        ids[name] = add_party(conn, name, ident, role=role)[0].id
    service = CaptureService(settings, db, ledger)
    try:
        yield Node(conn, ledger, service, ids)
    finally:
        service.close()
        ledger.close()
        conn.close()


def place(ident: str, name: str, **more: Any) -> dict[str, Any]:
    return {"id": ident, "attributes": [{"id": "cbvmda:name", "attribute": name}], **more}


def locations(*elements: dict[str, Any]) -> dict[str, Any]:
    return master_data_document([{"type": BUSINESS_LOCATION,
                                  "vocabularyElementList": list(elements)}])


def assert_refused(outcome: Any, node: Node, ident: str, where: str = FIRST) -> None:
    assert isinstance(outcome, InvalidDocument), outcome
    problem = next(p for p in outcome.problems if p.location == where)
    assert problem.rule == OWNER_RULE
    assert repr(ident) in problem.message and BUSINESS_LOCATION in problem.message
    job = read_job(node.conn, outcome.job_id)
    assert job is not None and job["success"] is False
    assert any((e["pointer"], e["rule"], e["message"]) == (where, OWNER_RULE, problem.message)
               for e in job["errors"])


# -- GS1 keys --------------------------------------------------------------------------------

def test_a_party_writes_its_own_places(node: Node) -> None:
    outcome = node.capture("alice", json_document([event("O1")], [port_vocabulary()]))
    assert isinstance(outcome, Accepted) and outcome.job["success"], outcome
    assert node.names() == {PORT_KEY: "Port of Aktau"}
    assert node.written_by(PORT_KEY) == node.ids["alice"]


def test_another_partys_place_refuses_the_whole_capture(node: Node) -> None:
    node.capture("alice", locations(place(PORT, "Port of Aktau")))
    events, ledger = node.count("events"), node.ledger.size()
    # Bob's own place and an event come with it: nothing of the document is written
    doc = json_document([event("X1")], [{"type": BUSINESS_LOCATION, "vocabularyElementList": [
        place(BOBS_PLACE, "Bob's yard"), place(PORT, "Bob's port", children=[BOBS_PLACE])]}])
    outcome = node.capture("bob", doc)
    where = FIRST[:-1] + "1"
    assert_refused(outcome, node, PORT, where)
    (problem,) = outcome.problems
    assert "GS1 Company Prefix 0614141" in problem.message and "4012345" in problem.message
    assert node.names() == {PORT_KEY: "Port of Aktau"}
    assert node.count("location_children") == 0 and node.count("vocabulary_elements") == 1
    assert node.count("events") == events and node.ledger.size() == ledger
    # its own place alone is written
    assert isinstance(node.capture("bob", locations(place(BOBS_PLACE, "Bob's yard"))), Accepted)


def test_an_admin_writes_any_place(node: Node) -> None:
    node.capture("alice", locations(place(PORT, "Port of Aktau")))
    outcome = node.capture("admin", locations(place(PORT, "Aktau Sea Port"),
                                              place(PRIVATE, "Dock 7")))
    assert isinstance(outcome, Accepted), outcome
    assert node.names()[PORT_KEY] == "Aktau Sea Port"
    assert node.written_by(PORT_KEY) == node.ids["alice"]  # the first writer stays
    assert node.written_by(PRIVATE) == node.ids["admin"]


def test_the_digital_link_form_is_the_same_place(node: Node) -> None:
    dl = "https://id.gs1.org/414/0614141008889"
    assert_refused(node.capture("bob", locations(place(dl, "Bob's port"))), node, dl)
    assert node.names() == {}
    assert isinstance(node.capture("alice", locations(place(dl, "Port of Aktau"))), Accepted)
    assert node.names() == {PORT_KEY: "Port of Aktau"}
    # a key of a longer prefix that merely begins with the party's digits is not the party's
    longer = "urn:epc:id:sgln:06141410.0888.0"
    assert_refused(node.capture("alice", locations(place(longer, "Not Alice's"))), node, longer)


def test_a_party_known_by_a_gln_only_owns_the_keys_beginning_with_it(node: Node) -> None:
    own = "urn:epc:id:sgln:4870101.00000.7"  # GLN 4870101000003, extension 7
    assert isinstance(node.capture("dave", locations(place(own, "Dave's gate 7"))), Accepted)
    other = "urn:epc:id:sgln:4870101.00010.0"  # the same prefix, maybe: not told by a GLN
    assert_refused(node.capture("dave", locations(place(other, "Maybe Dave's"))), node, other)


def test_an_xml_capture_is_refused_naming_the_line(node: Node) -> None:
    data = xml_document()
    outcome = node.capture("bob", data, XML)
    assert_refused(outcome, node, PORT)
    (problem,) = outcome.problems
    entry = error_entry(problem.location, problem.rule, problem.message)
    line = next(n for n, text in enumerate(data.decode().splitlines(), 1)
                if "<VocabularyElement " in text)
    assert entry["pointer"] == FIRST and entry["line"] == line
    assert node.count("events") == 0 and node.names() == {}


def test_a_capture_without_a_party_is_judged_by_its_identifier(node: Node) -> None:
    doc = read_document(json.dumps(locations(place(PORT, "Port"))).encode())
    assert capture_document(node.conn, node.ledger, doc, party_id=None,
                            party_identifier=ALICE).success
    refused = capture_document(node.conn, node.ledger, doc, party_id=None,
                               party_identifier=BOB)
    assert not refused.success and refused.errors[0]["rule"] == OWNER_RULE


# -- elements that are no GS1 key -------------------------------------------------------------

def test_a_private_element_belongs_to_its_first_writer(node: Node) -> None:
    assert isinstance(node.capture("alice", locations(place(PRIVATE, "Dock 7"))), Accepted)
    assert node.written_by(PRIVATE) == node.ids["alice"]
    outcome = node.capture("bob", locations(place(PRIVATE, "Bob's dock")))
    assert_refused(outcome, node, PRIVATE)
    assert "first wrote" in outcome.problems[0].message
    assert isinstance(node.capture("alice", locations(place(PRIVATE, "Dock Seven"))), Accepted)
    assert node.names()[PRIVATE] == "Dock Seven"


def test_an_unknown_first_writer_leaves_only_admins_and_key_owners(node: Node) -> None:
    """Rows stored before writers were recorded (written_by NULL)."""
    node.capture("alice", locations(place(PRIVATE, "Dock 7"), place(PORT, "Port")))
    with node.conn.transaction():
        node.conn.execute("UPDATE vocabulary_elements SET written_by = NULL")
    outcome = node.capture("alice", locations(place(PRIVATE, "Dock 8")))
    assert_refused(outcome, node, PRIVATE)
    assert "not recorded" in outcome.problems[0].message
    assert isinstance(node.capture("alice", locations(place(PORT, "Port of Aktau"))), Accepted)
    assert_refused(node.capture("bob", locations(place(PORT, "Bob's"))), node, PORT)
    assert isinstance(node.capture("admin", locations(place(PRIVATE, "Dock 9"))), Accepted)
    assert node.names() == {PRIVATE: "Dock 9", PORT_KEY: "Port of Aktau"}


def test_in_one_group_commit_the_earlier_capture_writes_first(node: Node) -> None:
    works = []
    for who, ident, name in (("alice", ALICE, "Alice's dock"), ("bob", BOB, "Bob's dock")):
        work = prepare_document(json.dumps(json_document([event(who)], [{
            "type": BUSINESS_LOCATION, "vocabularyElementList": [place(PRIVATE, name)]}]
        )).encode(), JSON_LD, behaviour="rollback", party_id=node.ids[who], party=ident,
            signature=None, limit=10)
        assert isinstance(work, CaptureWork)
        works.append(work)
    alice, bob = write_captures(node.conn, node.ledger, works)
    assert alice.success and alice.stored == 1
    assert not bob.success and bob.events == [] and bob.errors[0]["rule"] == OWNER_RULE
    assert node.names() == {PRIVATE: "Alice's dock"} and node.count("events") == 1


# -- the keys and prefixes ------------------------------------------------------------------

def test_company_prefix_keys() -> None:
    assert company_prefix_key(PORT) == ("0614141008889", "0614141")
    assert company_prefix_key(PORT_KEY) == ("0614141008889", None)
    assert company_prefix_key("urn:epc:class:lgtin:4012345.012345.998877") == \
        ("4012345123456", "4012345")
    assert company_prefix_key("https://id.gs1.org/01/04012345123456/10/L1") == \
        ("4012345123456", None)
    assert company_prefix_key(PRIVATE) is None
    assert company_prefix_key("urn:example:dock:7") is None
    mine = prefixes_of([ALICE, DAVE, "4860301000007", PRIVATE])
    assert mine.exact == {"0614141"} and mine.leading == ("486030100000", "487010100000")
    assert mine.owns(("0614141008889", "0614141"))
    assert not mine.owns(("0614141008889", "061414"))
    assert mine.owns(("4870101000003", None)) and not mine.owns(("4870101000102", None))
