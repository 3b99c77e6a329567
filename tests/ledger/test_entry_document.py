"""The entry document (docs/ledger-entry-format.md): the forms a user holds map onto the
digested document, and nothing else does: every member the user holds stays bound."""

from __future__ import annotations

import hashlib
import random

import pytest

from corridor.ledger.entry import LogEntry
from corridor.ledger.entry_document import entry_document, explain, same_record_time
from corridor.ledger.jcs import document_digest

HASH_ID = f"ni:///sha-256;{hashlib.sha256(b'event').hexdigest()}?ver=CBV2.0"
TIME = "2026-11-27T10:15:00.123456Z"
CAPTURED = {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-11-27T10:00:00Z",
            "eventTimeZoneOffset": "+05:00", "epcList": ["urn:epc:id:sgtin:4012345.011111.1"],
            "bizStep": "shipping", "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345"
                                                     ".011111.L1", "quantity": 2.5}]}
STORED = {**CAPTURED, "eventID": HASH_ID}  # what the node digests and stores
GOT = {"recordTime": "2026-11-27T10:15:00.123Z", **STORED}  # what GET returns


def entry_of(document: dict) -> LogEntry:
    return LogEntry(HASH_ID, document_digest(document), "urn:epc:id:pgln:4012345.00000", TIME)


@pytest.mark.parametrize(("value", "same"), [
    (TIME, True), ("2026-11-27T10:15:00.123Z", True), ("2026-11-27T10:15:00.12345600Z", True),
    ("2026-11-27T10:15:00Z", True), ("2026-11-27t10:15:00.1z", True),
    ("2026-11-27T14:15:00.123+04:00", True), ("2026-11-27T09:45:00.123-00:30", True),
    ("2026-11-27T10:15:00.124Z", False),  # rounded up, not truncated
    ("2026-11-27T10:15:00.1235Z", False), ("2026-11-27T10:15:01Z", False),
    ("2026-11-27T10:15:00.123", False), ("2026-11-27 10:15:00.123Z", False),
    ("2026-11-27T10:15:60Z", False), ("2026-11-27T10:15:00Z+25:00", False),
    ("٢٠٢٦-11-27T10:15:00Z", False), (None, False), (1764238500, False)])
def test_record_time_is_the_entrys_to_the_digits_given(value: object, same: bool) -> None:
    assert same_record_time(value, TIME) is same


def test_the_stored_the_captured_and_the_get_form_map_onto_the_document() -> None:
    entry = entry_of(STORED)
    for form, notes in ((STORED, 0), (CAPTURED, 1), (GOT, 1),
                        ({k: v for k, v in GOT.items() if k != "eventID"}, 2)):
        found = entry_document(form, entry)
        assert found is not None and found.document == STORED, form
        assert len(found.notes) == notes, found.notes


def test_a_record_time_the_capture_supplied_stays_in_the_document() -> None:
    captured = {**CAPTURED, "recordTime": "2026-11-27T10:00:05Z"}  # kept as captured
    entry = entry_of({**captured, "eventID": HASH_ID})
    found = entry_document(captured, entry)
    assert found is not None and found.document["recordTime"] == "2026-11-27T10:00:05Z"
    assert entry_document(CAPTURED, entry) is None  # it is covered: leaving it out fails
    assert entry_document({**captured, "recordTime": "2026-11-27T10:00:06Z"}, entry) is None


def test_an_entry_over_the_event_as_it_is_still_verifies() -> None:
    """Entries digesting an event without eventID (none the node writes, some tests do)."""
    found = entry_document(CAPTURED, entry_of(CAPTURED))
    assert found is not None and found.notes == ()


def _mutations(event: dict, rng: random.Random) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for name, value in event.items():
        out.append((f"remove {name}", {k: v for k, v in event.items() if k != name}))
        changed = value + "x" if isinstance(value, str) else [*value, "x"] \
            if isinstance(value, list) else {"x": 1}
        out.append((f"change {name}", {**event, name: changed}))
    out.append(("add member", {**event, f"m{rng.randrange(100)}": "v"}))
    out.append(("other recordTime", {**event, "recordTime": "2026-11-27T10:15:00.124Z"}))
    out.append(("other eventID", {**event, "eventID": "urn:uuid:0"}))
    return out


def test_every_other_change_fails() -> None:
    """What may differ from the stored document is only what the entry binds: an absent
    eventID (filled with the entry's Event Hash ID) and a recordTime that is the entry's."""
    rng = random.Random(19)
    entry = entry_of(STORED)
    for base in (STORED, CAPTURED, GOT):
        for what, changed in _mutations(base, rng):
            if what == "remove eventID" or what == "remove recordTime":
                assert entry_document(changed, entry) is not None, (base, what)
                continue
            assert entry_document(changed, entry) is None, (base, what)


def test_explain_names_what_the_digest_proves() -> None:
    entry = entry_of(STORED)
    message = explain({**GOT, "recordTime": "2026-11-27T11:00:00Z"}, entry)
    assert message.startswith("recordTime 2026-11-27T11:00:00Z differs") and TIME in message
    message = explain({**GOT, "eventID": "urn:uuid:1"}, entry)
    assert message.startswith("eventID urn:uuid:1 differs") and HASH_ID in message
    assert explain({**CAPTURED, "disposition": "damaged"}, entry).startswith(
        "member disposition is not in the logged event")
    assert "cannot tell which" in explain({**GOT, "bizStep": "receiving"}, entry)


def test_explain_with_the_event_hash_id_tells_covered_from_uncovered() -> None:
    def covering(event: object) -> str:  # a stand-in Event Hash ID: all but eventID
        assert isinstance(event, dict)
        rest = {k: v for k, v in event.items() if k not in ("eventID", "recordTime")}
        return HASH_ID if rest == CAPTURED else f"ni:///{document_digest(rest).hex()}"

    entry = entry_of({**CAPTURED, "eventID": "urn:uuid:2"})
    message = explain({**CAPTURED, "eventID": "urn:uuid:3"}, entry, covering)
    assert "does not cover: eventID changed" in message, message
    message = explain({**CAPTURED, "eventID": "urn:uuid:2", "bizStep": "x"}, entry, covering)
    assert "differs from the entry's" in message and "bizStep" in message, message
    assert "eventID" not in message.split("cannot tell which of")[1].split("(")[0], message
