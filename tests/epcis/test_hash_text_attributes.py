"""An element with text and attributes in the Event Hash ID, as the GS1 reference hashes it.

XML `<ext1:w unit="KGM">3.5</ext1:w>` reaches the hash in corridor's JSON-LD form,
`{"@value": "3.5", "unit": "KGM"}` (xml_read; xml_write writes it back as the same element).
The reference's XML reader hashes the element's text as its value: `w=3.5unit=KGM`; its JSON
reader spells that text `#text`. corridor hashes both spellings so, on every path (hash_tree,
the Python fast path, the C core). A JSON-LD value object (`@value` with keywords only) stays a
member, as the reference's JSON reader hashes it: `w@value=3.5`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.epcis import hash_fast, hash_tree
from corridor.epcis.documents import read_document
from corridor.epcis.hashid import event_hash_id, prehash_string
from tests.epcis.reference_tool import reference_hashes

NS = {"ext1": "http://example.com/ext1/"}
W = "{http://example.com/ext1/}w"
U = "{http://example.com/ext1/}unit"
EVENT = {"type": "ObjectEvent", "eventTime": "2020-01-01T00:00:00Z",
         "eventTimeZoneOffset": "+00:00", "epcList": ["urn:epc:id:sgtin:4012345.011111.9876"],
         "action": "ADD"}
XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:ext1="http://example.com/ext1/"
    schemaVersion="2.0" creationDate="2020-01-01T00:00:00Z"><EPCISBody><EventList><ObjectEvent>
  <eventTime>2020-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
  <epcList><epc>urn:epc:id:sgtin:4012345.011111.9876</epc></epcList><action>ADD</action>
  <ilmd><ext1:w measurementUnitCode="KGM"> 3.5 </ext1:w><ext1:n>2</ext1:n></ilmd>
  <ext1:w ext1:unit="KGM">3.5</ext1:w>
</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"""


@pytest.fixture(params=["native", "python"])
def path(request: pytest.FixtureRequest) -> Iterator[str]:
    was = hash_fast.native_enabled()
    if request.param == "native" and not hash_fast.set_native(True):
        pytest.skip("the C core is not built")
    hash_fast.set_native(request.param == "native")
    yield request.param
    hash_fast.set_native(was)


def _prehashes(event: dict) -> set[str]:
    """The pre-hash string by the fast path (native or not, per the fixture) and hash_tree."""
    return {prehash_string(copy.deepcopy(event), NS),
            hash_tree.prehash(copy.deepcopy(event), NS, frozenset())}


def _tail(event: dict) -> str:
    (pre,) = _prehashes(event)
    return pre.split("action=ADD", 1)[1]


@pytest.mark.usefixtures("path")
def test_xml_element_with_text_and_attributes_is_hashed_as_the_reference_does(
        tmp_path: Path) -> None:
    doc = read_document(XML, validate=False)
    (event,) = doc.events
    assert event["ext1:w"] == {"ext1:unit": "KGM", "@value": "3.5"}
    assert f"{W}=3.5{U}=KGM" in _tail(event)
    assert "ilmd{http://example.com/ext1/}n=2" + W + "=3.5measurementUnitCode=KGM" in _tail(event)
    source = tmp_path / "doc.xml"
    source.write_bytes(XML)
    assert [event_hash_id(event, doc.namespaces)] == reference_hashes(source)


@pytest.mark.usefixtures("path")
@pytest.mark.parametrize("where", ["top", "ilmd", "nested", "list", "sensor"])
def test_at_value_with_attributes_is_the_text_as_hash_text(where: str) -> None:
    def at(value: dict) -> dict:
        element = {"ext1:w": value}
        if where == "top":
            return {**EVENT, **element}
        if where == "ilmd":
            return {**EVENT, "ilmd": element}
        if where == "nested":
            return {**EVENT, "ext1:o": element}
        if where == "list":
            return {**EVENT, "ext1:w": [value, "2"]}
        return {**EVENT, "sensorElementList": [{
            "sensorReport": [{"type": "Temperature", "value": 26}], **element}]}

    value = at({"@value": "3.5", "ext1:unit": "KGM"})
    text = at({"#text": "3.5", "ext1:unit": "KGM"})
    assert _tail(value) == _tail(text)
    assert f"{W}=3.5{U}=KGM" in _tail(value)
    assert "@value" not in _tail(value)


@pytest.mark.usefixtures("path")
@pytest.mark.parametrize("value", [
    {"@value": "3.5"}, {"@value": "3.5", "@type": "xsd:double"}, {"@value": "3.5", "@language": "en"},
    {"@value": {"ext1:x": "1"}, "ext1:unit": "KGM"},  # not a scalar: no text
    {"@value": "3.5", "#text": "4", "ext1:unit": "KGM"},  # `#text` is the text
])
def test_other_at_value_shapes_are_hashed_as_before(value: dict) -> None:
    assert "@value" in _tail({**EVENT, "ext1:w": value})


@pytest.mark.usefixtures("path")
def test_an_event_level_at_value_stays_a_member() -> None:
    event = {**EVENT, "@value": "x", "ext1:n": "2"}
    assert _tail(event) == "@value=x{http://example.com/ext1/}n=2"


def test_the_hash_id_of_the_xml_and_the_json_forms_agree() -> None:
    doc = read_document(XML, validate=False)
    (event,) = doc.events
    text = copy.deepcopy(event)
    text["ext1:w"] = {"ext1:unit": "KGM", "#text": "3.5"}
    assert event_hash_id(event, doc.namespaces) == event_hash_id(text, doc.namespaces)
