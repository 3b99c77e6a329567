"""The incremental JSON reader: same events as a whole parse, whatever the chunking."""

from __future__ import annotations

import io
import json
import random

import pytest

from corridor.epcis import EpcisError, read_document
from corridor.epcis.documents import iter_events


class Trickle(io.RawIOBase):
    """Serves a document a few bytes per read, so values are cut at every possible place."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data = data
        self._pos = 0
        self._rng = random.Random(seed)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        step = self._rng.randint(1, 7)
        out = self._data[self._pos: self._pos + step]
        self._pos += len(out)
        return out


def test_any_chunking_gives_the_whole_parse_events(json_examples: dict[str, bytes],
                                                    known_invalid: frozenset[str]) -> None:
    for seed, (name, data) in enumerate(sorted(json_examples.items())):
        if name in known_invalid:
            continue
        expected = read_document(data).events
        streamed = [e for e, _ in iter_events(Trickle(data, seed))]
        assert streamed == expected, name


def test_numbers_and_literals_cut_at_a_chunk_edge() -> None:
    doc = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
           "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2024-01-01T00:00:00Z",
           "epcisBody": {"eventList": [{
               "type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z",
               "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
               "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.1",
                                 "quantity": 123456.789e-2}],
               "sensorElementList": [{"sensorReport": [{"type": "Temperature",
                                                        "booleanValue": False,
                                                        "value": -17}]}]}]}}
    data = json.dumps(doc).encode()
    for seed in range(40):
        (event, _), = list(iter_events(Trickle(data, seed)))
        assert event == doc["epcisBody"]["eventList"][0]


def test_syntax_error_names_line_and_column() -> None:
    data = b'{"type": "EPCISDocument",\n "epcisBody": {"eventList": [\n  {"type": "ObjectEvent",, }]}}'
    with pytest.raises(EpcisError) as caught:
        list(iter_events(io.BytesIO(data)))
    problem = caught.value.problems[0]
    assert problem.rule == "json-syntax"
    assert problem.location.startswith("line 3, column ")


def test_truncated_document_is_refused() -> None:
    data = b'{"type": "EPCISDocument", "epcisBody": {"eventList": [{"type": "Obj'
    with pytest.raises(EpcisError) as caught:
        list(iter_events(io.BytesIO(data), validate=False))
    assert caught.value.problems[0].rule == "json-syntax"


def test_bad_utf8_and_bom() -> None:
    with pytest.raises(EpcisError) as caught:
        list(iter_events(io.BytesIO(b'{"type": "\xff\xfe"}')))
    assert "UTF-8" in caught.value.problems[0].message
    data = b'\xef\xbb\xbf{"type": "EPCISDocument", "epcisBody": {"eventList": []}}'
    assert list(iter_events(io.BytesIO(data), validate=False)) == []


def test_one_huge_value_is_refused_with_bounded_reading() -> None:
    head = b'{"type": "EPCISDocument", "epcisBody": {"eventList": [{"type": "'
    data = head + b"x" * (3 << 20) + b'"}]}}'
    with pytest.raises(EpcisError) as caught:
        list(iter_events(io.BytesIO(data), validate=False, max_bytes=1 << 20))
    assert caught.value.problems[0].rule in ("size-limit", "json-syntax")


def test_shell_problems_reported_after_the_events() -> None:
    data = json.dumps({"type": "EPCISDocument", "epcisBody": {"eventList": []}}).encode()
    with pytest.raises(EpcisError) as caught:
        list(iter_events(io.BytesIO(data)))
    messages = " ".join(p.message for p in caught.value.problems)
    assert "@context" in messages and "schemaVersion" in messages


def test_xml_streams_whatever_the_chunking(standard_xml_examples: dict[str, bytes]) -> None:
    for seed, (name, data) in enumerate(sorted(standard_xml_examples.items())):
        if b"EPCISCaptureJob" in data[:400]:
            continue
        expected = read_document(data).events
        assert [e for e, _ in iter_events(Trickle(data, seed))] == expected, name


def test_nan_is_not_json_either_way() -> None:
    data = (b'{"type": "EPCISDocument", "epcisBody": {"eventList": [{"type": "ObjectEvent", '
            b'"quantityList": [{"epcClass": "x", "quantity": NaN}]}]}}')
    with pytest.raises(EpcisError) as caught:
        list(iter_events(io.BytesIO(data), validate=False))
    assert "NaN" in caught.value.problems[0].message
    with pytest.raises(EpcisError):
        read_document(data, validate=False)


def test_large_documents_are_validated_as_streams(gs1) -> None:
    from corridor.epcis import validate_bytes
    from corridor.epcis.documents import STREAM_FROM

    data = (gs1 / "XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml").read_bytes()
    start = data.index(b"<ObjectEvent>")
    end = data.index(b"</EventList>")
    events = data[start:end]
    copies = STREAM_FROM // len(events) + 2
    big = data[:start] + events * copies + data[end:]
    assert len(big) > STREAM_FROM
    assert validate_bytes(big) == []
    broken = big[: len(big) // 2] + big[len(big) // 2:].replace(
        b"<action>OBSERVE</action>", b"<action>WATCH</action>", 1)
    (problem, *_) = validate_bytes(broken)
    line = broken[: broken.index(b"<action>WATCH")].count(b"\n") + 1
    assert problem.location == f"line {line}, element <action>"

    doc = json.loads((gs1 / "JSON/Example_9.6.1-ObjectEvent.jsonld").read_bytes())
    good = doc["epcisBody"]["eventList"][0]
    doc["epcisBody"]["eventList"] = [good] * (STREAM_FROM // len(json.dumps(good)) + 10)
    big_json = json.dumps(doc).encode()
    assert len(big_json) > STREAM_FROM and validate_bytes(big_json) == []
    doc["epcisBody"]["eventList"][5000] = dict(good, action="WATCH")
    (problem, *_) = validate_bytes(json.dumps(doc).encode())
    assert problem.location == "/epcisBody/eventList/5000/action"


def test_xml_query_document_streams_with_validation(gs1) -> None:
    from corridor.epcis import to_xml

    doc = read_document((gs1 / "JSON/EPCISQueryDocument.jsonld").read_bytes())
    xml = to_xml(doc)
    assert [e for e, _ in iter_events(io.BytesIO(xml))] == doc.events
    assert [e for e, _ in iter_events(Trickle(xml, 3))] == doc.events
