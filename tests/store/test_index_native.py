"""The C core of index_event (corridor/store/_indexcore.c) against the pure-Python path.

Wherever the C core returns values they must be the IndexedEvent the Python path gives; where
it returns None the Python path decides. With the core on, index_event gives the same result
or the same exception as with it off: on the benches' events, every conformance example
event, random events (test_hash_strategies) and hostile inputs.

Skipped when the extension is not built, except where CORRIDOR_REQUIRE_NATIVE=1 (CI).
"""

from __future__ import annotations

import copy
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.epcis.documents import read_document
from corridor.epcis.identifiers import canonical
from corridor.epcis.jsonld import context_namespaces
from corridor.epcis.problems import EpcisError
from corridor.store import event_index as events
from corridor.store.event_index import index_event, index_event_python
from corridor.store.events import utc_time
from tests.benches import load_bench
from tests.epcis.test_hash_strategies import CONTEXT, identifiers
from tests.epcis.test_hash_strategies import events as random_events
from tests.native import require_built

require_built(events.NATIVE, "the C core corridor.store._indexcore")

from corridor.store import _indexcore  # built: checked above

NAMESPACES = context_namespaces(CONTEXT)


@pytest.fixture(autouse=True)
def _native_on() -> Iterator[None]:
    was = events._native is not None
    events.set_native(True)
    yield
    events.set_native(was)


def _outcome(fn: Callable[[], object]) -> tuple[str, object]:
    try:
        return "ok", fn()
    except Exception as exc:  # noqa: BLE001 (the outcome, exception or not, is compared)
        return "raised", (type(exc), str(exc))


def check(event: object, ns: dict[str, str] = NAMESPACES) -> bool:
    """index_event with the core on = with it off; where the core answers, its values are
    the Python path's. Returns whether the core answered."""
    python = _outcome(lambda: index_event_python(event, ns))  # type: ignore[arg-type]
    assert _outcome(lambda: index_event(event, ns)) == python  # type: ignore[arg-type]
    native = _indexcore.index(event)
    if native is None:
        return False
    assert python[0] == "ok", f"the core indexed an event Python refuses: {event!r}"
    expected = python[1]
    assert native[:8] == (expected.event_type, expected.action, expected.event_time,
                          expected.biz_step, expected.disposition, expected.read_point,
                          expected.biz_location, expected.transformation_id)
    assert expected.error_time is None
    assert (native[8], native[9], set(native[10])) == (expected.epcs, expected.fields,
                                                       expected.parties)
    return True


def test_capture_bench_events_all_take_the_c_path() -> None:
    bench = load_bench("bench_capture")
    batch = [bench.event(k, tag) for k in range(300) for tag in ("A", "Bx~")]
    assert all(check(e, {}) for e in batch)


def test_hash_bench_events() -> None:
    bench = load_bench("bench_hash")
    ns = context_namespaces(bench.CONTEXT)
    batch = bench.make_events(2000, seed=11)
    handled = sum(check(e, ns) for e in batch)
    assert handled > 0  # the plain ones; extensions, ilmd, sensors and the like are Python's


def test_conformance_example_events(conformance: Path) -> None:
    paths = sorted((conformance / "gs1-epcis" / "JSON").rglob("*.jsonld"))
    handled = total = 0
    for path in paths:
        if "Query" in path.name:
            continue
        try:
            doc = read_document(path.read_bytes())
        except EpcisError:  # the invalid examples are tested elsewhere
            continue
        for event in doc.events:
            total += 1
            handled += check(event, doc.namespaces)
    assert total > 50 and handled > 10


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_events())
def test_random_events(event: dict) -> None:
    check(event)


@settings(max_examples=500, deadline=None)
@given(identifiers())
def test_identifiers(identifier: str) -> None:
    assert _indexcore.canonical(identifier) == canonical.__wrapped__(identifier)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.digits + ".:!~'()*+,-;=_%/é\n ", max_size=30))
def test_sgtin_urns(tail: str) -> None:
    urn = "urn:epc:id:sgtin:" + tail
    assert _indexcore.canonical(urn) == canonical.__wrapped__(urn)


SGTINS = [
    "urn:epc:id:sgtin:0614141.812345.6789", "urn:epc:id:sgtin:0614141.812345.",
    "urn:epc:id:sgtin:0614141.812345.a.b", "urn:epc:id:sgtin:061414.812345.1",
    "urn:epc:id:sgtin:0614141812345..1", "urn:epc:id:sgtin:.0614141812345.1",
    "urn:epc:id:sgtin:0614141.812345.1%2F2", "urn:epc:id:sgtin:0614141.812345.x y",
    "urn:epc:id:sgtin:0614141.812345.1\n", "urn:epc:id:sgtin:0614141.81234٥.1",
    "urn:epc:id:sgtin:0614141.812345.:;=!'()*+,-_~", "urn:epc:id:sgtin:0614141.812345.é",
    "urn:epc:id:sgtin:123456789012.3.X", "urn:epc:id:sgtin:0614141.812345.1\x00",
    "urn:epc:id:sgln:0614141.00777.0", "urn:epc:id:pgln:0614141.00001", "urn:epc:id:",
    "https://id.gs1.org/01/09520123456788/21/12345", "http://example.com/x", "https://",
    "urn:epcglobal:cbv:bt:0614141000005:7", "", "plain text", "ＵＲＮ",
]


@pytest.mark.parametrize("identifier", SGTINS)
def test_identifier_cases(identifier: str) -> None:
    assert _indexcore.canonical(identifier) == canonical.__wrapped__(identifier)


def test_every_serial_character() -> None:
    """Each ASCII character in an SGTIN serial (the C core's character table comes from
    corridor.epcis.identifiers.KEY_PLAIN)."""
    for code in range(1, 128):
        urn = f"urn:epc:id:sgtin:0614141.812345.A{chr(code)}B"
        assert _indexcore.canonical(urn) == canonical.__wrapped__(urn), repr(chr(code))


TIMES = [
    "2026-03-01T10:00:00Z", "2026-03-01T10:00:00.1Z", "2026-03-01T10:00:00.123456789Z",
    "2026-03-01T10:00:00.1234567890Z", "2026-03-01T10:00:00.+00:00", "2026-03-01T10:00:00.Z",
    "2026-03-01T10:00:00+00:00", "2026-03-01T10:00:00-00:00", "2026-03-01T10:00:00+01:00",
    "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z", "2026-00-01T00:00:00Z", "2026-13-01T00:00:00Z",
    "2026-04-31T00:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01T23:60:00Z",
    "2026-03-01T23:59:60Z", "2026-03-01T10:00:00", "2026-03-01 10:00:00Z",
    "2026-03-01T10:00:00z", " 2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z\n",
    "2026-03-01T10:00:00.1234567+05:00", "2026-03-01T10:00:00.123456789-03:30",
    "2026-03-01T10:00:00.1+14:00", "2026-03-01T00:00:00.5-23:59", "2026-12-31T23:59:59+00:01",
    "2026-12-31T23:30:00-01:00", "2024-02-28T23:00:00-01:00", "2026-03-01T00:30:00+01:00",
    "2026-03-01T10:00:00+24:00", "2026-03-01T10:00:00+05:60", "2026-03-01T10:00:00+0500",
    "2026-03-01T10:00:0٥Z", "２０２６-03-01T10:00:00Z", "", "x" * 30,
]


@pytest.mark.parametrize("when", TIMES)
def test_event_times(when: str) -> None:
    python = _outcome(lambda: utc_time(when))
    native = _indexcore.utc_time(when)
    if native:
        assert python == ("ok", native)
    event = {"type": "ObjectEvent", "eventTime": when, "action": "OBSERVE"}
    check(event)


class Text(str):
    pass


class Mapping(dict):  # type: ignore[type-arg]
    pass


def _base() -> dict[str, Any]:
    return {
        "type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-03-01T10:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": ["urn:epc:id:sgtin:0614141.812345.6789"],
        "bizStep": "shipping", "disposition": "in_transit",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"},
        "bizLocation": {"id": "urn:epc:id:sgln:0614141.00888.0"},
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877",
                          "quantity": 200, "uom": "KGM"}],
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:1:2"}],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}],
        "destinationList": [{"type": "owning_party",
                             "destination": "urn:epc:id:pgln:4012345.00001"}],
    }


HOSTILE: list[tuple[str, Any]] = [
    ("eventTime", None), ("eventTime", 5), ("eventTime", Text("2026-03-01T10:00:00Z")),
    ("type", None), ("type", 3), ("type", "epcis:ObjectEvent"), ("type", Text("ObjectEvent")),
    ("bizStep", "urn:epcglobal:cbv:bizstep:shipping"), ("bizStep", 7), ("bizStep", None),
    ("bizStep", Text("shipping")), ("disposition", "https://ref.gs1.org/cbv/Disp-active"),
    ("disposition", ["x"]), ("action", {"a": 1}), ("transformationID", 12),
    ("readPoint", "urn:epc:id:sgln:0614141.00777.0"), ("readPoint", {"id": 5}),
    ("readPoint", {"id": "urn:epc:id:sgln:0614141.00777.0", "example:x": "1"}),
    ("readPoint", {"id": "urn:epc:id:sgln:0614141.00777.0", "@id": "x", "other": 1}),
    ("readPoint", Mapping(id="urn:epc:id:sgln:0614141.00777.0")), ("readPoint", {1: "x"}),
    ("bizLocation", {}), ("bizLocation", None), ("bizLocation", {"id": Text("x")}),
    ("epcList", "urn:epc:id:sgtin:0614141.812345.6789"), ("epcList", {"a": 1}),
    ("epcList", False), ("epcList", 0), ("epcList", []), ("epcList", None),
    ("epcList", [5, None, "urn:epc:id:sscc:0614141.1234567890", Text("x")]),
    ("epcList", ["urn:epc:id:sgtin:0614141.812345.6789"] * 3), ("epcList", ("a", "b")),
    ("childEPCs", ["urn:epc:id:sgtin:0614141.812345.1"]), ("parentID", 5),
    ("parentID", "urn:epc:id:sscc:0614141.1234567890"), ("parentID", Text("x")),
    ("quantityList", [{"epcClass": "x", "quantity": True}]),
    ("quantityList", [{"epcClass": "x", "quantity": 10 ** 400}]),
    ("quantityList", [{"epcClass": "x", "quantity": float("nan")}]),
    ("quantityList", [{"epcClass": "x", "quantity": float("inf")}]),
    ("quantityList", [{"epcClass": "x", "quantity": "12"}, {"epcClass": 5}, "x", None]),
    ("quantityList", [{"epcClass": "x"}, {"epcClass": "y", "quantity": 1.5, "uom": 3}]),
    ("quantityList", [Mapping(epcClass="x")]), ("quantityList", [{"epcClass": Text("x")}]),
    ("outputQuantityList", [{"epcClass": "urn:epc:idpat:sgtin:4012345.098765.*",
                             "quantity": 2}]),
    ("bizTransactionList", [{"bizTransaction": "x"}, {"type": None, "bizTransaction": "y"}]),
    ("bizTransactionList", [{"type": "urn:epcglobal:cbv:btt:po", "bizTransaction": "x"}]),
    ("bizTransactionList", [{"type": "po", "bizTransaction": 5}, 7, [1]]),
    ("bizTransactionList", "x"), ("bizTransactionList", [Mapping(bizTransaction="x")]),
    ("sourceList", [{"type": "owning_party", "source": "a"}] * 2),
    ("sourceList", [{"type": 1, "source": "a"}]), ("sourceList", [{"source": Text("a")}]),
    ("destinationList", [{"type": "owning_party", "destination": "https://id.gs1.org/417/1"}]),
    ("errorDeclaration", {"declarationTime": "2026-03-01T10:00:00Z"}),
    ("errorDeclaration", "x"), ("ilmd", {"example:x": 1}), ("ilmd", None),
    ("persistentDisposition", {"set": ["completeness_verified"]}),
    ("sensorElementList", []), ("sensorElementList", [{"sensorReport": [{"value": 1}]}]),
    ("example:field", "x"), ("@context", ["x"]), ("unknownField", 1), ("é:x", 1),
]


@pytest.mark.parametrize(("key", "value"), HOSTILE)
def test_hostile_values(key: str, value: Any) -> None:
    event = _base()
    event[key] = value
    check(event)
    del event[key]
    check(event)


def test_hostile_containers() -> None:
    for value in (None, [], "event", 5, Mapping(_base()), {1: 2}, {"eventTime": None}):
        check(value)
    assert check(_base())
    assert _indexcore.index(Mapping(_base())) is None
    event = _base()
    event[Text("k")] = 1  # type: ignore[index]
    assert _indexcore.index(event) is None
    check(event)


def test_the_event_is_left_as_it_was() -> None:
    event = _base()
    before = copy.deepcopy(event)
    index_event(event, NAMESPACES)
    assert event == before
