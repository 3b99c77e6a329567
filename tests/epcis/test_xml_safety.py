"""Hostile XML is refused quickly, with bounded memory, and with a clear problem."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from corridor.config import Settings
from corridor.epcis import EpcisError, read_document, validate_bytes
from corridor.epcis.documents import iter_events
from corridor.epcis.safe_xml import MAX_DEPTH

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"
  creationDate="2020-01-01T00:00:00Z"><EPCISBody><EventList><ObjectEvent>
  <eventTime>2020-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
  <action>OBSERVE</action><bizStep>&lol9;</bizStep></ObjectEvent></EventList></EPCISBody>
</epcis:EPCISDocument>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2">&xxe;</epcis:EPCISDocument>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE epcis SYSTEM "http://127.0.0.1:9/evil.dtd">
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"/>"""

HEAD = (b'<?xml version="1.0"?>\n<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" '
        b'schemaVersion="2.0" creationDate="2020-01-01T00:00:00Z"><EPCISBody><EventList>\n')
EVENT = (b"<ObjectEvent><eventTime>2020-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00"
         b"</eventTimeZoneOffset><epcList><epc>urn:epc:id:sgtin:0614141.107346.1</epc>"
         b"</epcList><action>OBSERVE</action></ObjectEvent>\n")


class EndlessDocument(io.RawIOBase):
    """A file-like XML document of `size` bytes, made up on the fly (nothing on disk)."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.served = 0
        self.pending = HEAD

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = 1 << 16 if size is None or size < 0 else size
        while len(self.pending) < size:
            self.pending += EVENT * 64
        out = self.pending[: min(size, self.remaining)]
        self.pending = self.pending[len(out):]
        self.remaining -= len(out)
        self.served += len(out)
        return out


@pytest.mark.parametrize("data", [BOMB, XXE, EXTERNAL_DTD], ids=["bomb", "xxe", "dtd"])
def test_entities_and_dtds_refused_at_once(data: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(EpcisError) as caught:
        read_document(data)
    assert time.perf_counter() - started < 1.0
    problem = caught.value.problems[0]
    assert problem.rule == "xml-safety"
    assert "DOCTYPE" in problem.message or "entit" in problem.message
    assert validate_bytes(data)[0].rule == "xml-safety"
    with pytest.raises(EpcisError):
        list(iter_events(io.BytesIO(data)))


def test_bare_doctype_is_harmless_and_accepted(gs1: Path) -> None:
    data = (gs1 / "XML/WithFullCombinationOfFields/object_event_all_possible_fields.xml"
            ).read_bytes()
    assert b"<!DOCTYPE project>" in data
    assert len(read_document(data).events) == 1


def test_entity_declared_late_in_a_long_prolog_is_still_refused() -> None:
    prolog = b'<?xml version="1.0"?>\n' + b"<!-- padding -->\n" * 5000
    data = prolog + BOMB.split(b"\n", 1)[1]
    with pytest.raises(EpcisError) as caught:
        read_document(data)
    assert caught.value.problems[0].rule == "xml-safety"


def test_gigabyte_stream_refused_after_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1 GB stream of unknown length: refused as soon as the limit (here 8 MB through
    CORRIDOR_MAX_CAPTURE_BYTES, read by Settings and passed down) has been read, never read
    further."""
    limit = 8 * 1024 * 1024
    monkeypatch.setenv("CORRIDOR_MAX_CAPTURE_BYTES", str(limit))
    assert Settings().max_capture_bytes == limit
    stream = EndlessDocument(1 << 30)
    started = time.perf_counter()
    count = 0
    with pytest.raises(EpcisError) as caught:
        for _event in iter_events(stream, validate=False,
                                  max_bytes=Settings().max_capture_bytes):
            count += 1
    assert caught.value.problems[0].rule == "size-limit"
    assert stream.served <= limit + (1 << 17)
    assert count > 1000  # events streamed until the limit was hit
    assert time.perf_counter() - started < 20


def test_gigabyte_file_refused_before_reading(tmp_path: Path) -> None:
    """A 1 GB file (sparse: nothing written) is refused from its size, at once, under the
    default limit, by the streaming reader and by the command line."""
    from click.testing import CliRunner

    from corridor.cli import main

    path = tmp_path / "huge.xml"
    with open(path, "wb") as handle:
        handle.write(HEAD)
        handle.truncate(1 << 30)
    assert 1 << 30 > Settings().max_capture_bytes
    started = time.perf_counter()
    with open(path, "rb") as handle, pytest.raises(EpcisError) as caught:
        next(iter_events(handle))
    assert caught.value.problems[0].rule == "size-limit"
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1 and "larger than the limit" in result.output
    assert time.perf_counter() - started < 2


def test_size_limit_on_whole_documents() -> None:
    data = HEAD + EVENT * 100 + b"</EventList></EPCISBody></epcis:EPCISDocument>"
    assert len(read_document(data).events) == 100
    with pytest.raises(EpcisError) as caught:
        read_document(data, max_bytes=1000)
    assert caught.value.problems[0].rule == "size-limit"
    with pytest.raises(EpcisError):
        list(iter_events(io.BytesIO(data), max_bytes=1000))
    json_data = b'{"type": "EPCISDocument", "pad": "' + b"x" * 2000 + b'"}'
    with pytest.raises(EpcisError) as caught:
        read_document(json_data, max_bytes=1000)
    assert caught.value.problems[0].rule == "size-limit"


def test_deep_nesting_refused() -> None:
    depth = MAX_DEPTH + 10  # libxml2's own nesting limit, enforced inside the parser
    data = (HEAD + b"<ObjectEvent>" + b"<x:a xmlns:x='urn:x'>" * depth + b"</x:a>" * depth
            + b"</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>")
    for attempt in (lambda: read_document(data, validate=False),
                    lambda: list(iter_events(io.BytesIO(data), validate=False))):
        with pytest.raises(EpcisError) as caught:
            attempt()
        assert caught.value.problems[0].rule == "xml-safety"
        assert "deeper" in caught.value.problems[0].message


def test_malformed_xml_names_the_line() -> None:
    with pytest.raises(EpcisError) as caught:
        read_document(HEAD + b"<ObjectEvent><eventTime>\n</Oops>")
    problem = caught.value.problems[0]
    assert problem.rule == "xml-well-formed" and problem.location.startswith("line ")
