"""The C core of the Event Hash ID (corridor/epcis/_hashcore.c) against the pure-Python path.

Wherever the C core returns a pre-hash string it must be the one hash_fast's Python code and
hash_tree give; where it returns None the Python path decides. Checked on the bench generator's
events, every conformance example event, random events (test_hash_strategies) and hostile
inputs, which must neither crash nor change any result (or exception).

Skipped when the extension is not built, except where CORRIDOR_REQUIRE_NATIVE=1 (CI).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.epcis import hash_fast, hash_pieces, hash_tree, hash_values
from corridor.epcis.documents import read_document
from corridor.epcis.hashid import event_hash_id, prehash_string
from corridor.epcis.jsonld import context_namespaces
from tests.benches import load_bench
from tests.epcis.test_hash_strategies import CONTEXT, events
from tests.native import require_built

ROOT = Path(__file__).resolve().parents[2]

require_built(hash_fast.NATIVE, "the C core corridor.epcis._hashcore")

from corridor.epcis import _hashcore  # built: checked above

NAMESPACES = context_namespaces(CONTEXT)


BENCH = load_bench("bench_hash")
BENCH_NS = context_namespaces(BENCH.CONTEXT)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _native_on() -> Iterator[None]:
    was = hash_fast.native_enabled()
    hash_fast.set_native(True)
    yield
    hash_fast.set_native(was)


def _clear_caches() -> None:
    for cache in hash_pieces.field_caches.values():
        cache.clear()
    hash_values._canon_cache.clear()
    hash_values._time_cache.clear()


def _outcome(fn: Callable[[], object]) -> tuple[str, object]:
    try:
        return "ok", fn()
    except Exception as exc:  # noqa: BLE001 (the outcome, exception or not, is compared)
        return "raised", (type(exc), str(exc))


def _python_string(event: object, ns: dict) -> tuple[str, object]:
    hash_fast.set_native(False)
    try:
        return _outcome(lambda: prehash_string(event, ns))  # type: ignore[arg-type]
    finally:
        hash_fast.set_native(True)


def check(event: object, ns: dict) -> str | None:
    """The C core's string equals the Python path's (cold and warm caches), and prehash_string
    with the core on gives the same result or exception as with it off."""
    native = _hashcore.prehash(event, ns)
    python = _python_string(event, ns)
    assert _outcome(lambda: prehash_string(event, ns)) == python  # type: ignore[arg-type]
    if native is not None:
        assert python == ("ok", native)
        assert native == hash_fast.prehash_python(event, ns)  # type: ignore[arg-type]
        tree = _outcome(lambda: hash_tree.prehash(event, ns, frozenset()))  # type: ignore[arg-type]
        if tree[0] == "ok":  # (the model fails on some values fields the fast path ignores)
            assert tree[1] == native
        assert _hashcore.prehash(event, ns) == native  # warm caches
    return native


def _check_all(batch: list[dict], ns: dict) -> int:
    """Pure-Python strings from cold caches, then the core's from cold caches: equal."""
    _clear_caches()
    hash_fast.set_native(False)
    try:
        expected = [hash_fast.prehash_python(e, ns) for e in batch]
        tree = [hash_tree.prehash(e, ns, frozenset()) for e in batch]
    finally:
        hash_fast.set_native(True)
    _clear_caches()
    native = [_hashcore.prehash(e, ns) for e in batch]
    handled = 0
    for i, (n, p, t) in enumerate(zip(native, expected, tree)):
        if n is not None:
            handled += 1
            assert n == p, f"event {i}: {batch[i]}"
            assert n == t, f"event {i}: {batch[i]}"
    assert [_hashcore.prehash(e, ns) for e in batch] == native  # warm caches
    return handled


def test_bench_events() -> None:
    batch = BENCH.make_events(3000, seed=5)  # type: ignore[attr-defined]
    handled = _check_all(batch, BENCH_NS)
    assert handled == len(batch)  # the usual shapes are all the core's
    hash_fast.set_native(False)
    try:
        python_ids = [event_hash_id(e, BENCH_NS) for e in batch[:500]]
    finally:
        hash_fast.set_native(True)
    assert [event_hash_id(e, BENCH_NS) for e in batch[:500]] == python_ids


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), min_size=5, max_size=25))
def test_random_events_in_one_batch(batch: list[dict]) -> None:
    _check_all(batch, NAMESPACES)


def _conformance_events(conformance: Path) -> Iterator[tuple[str, dict, dict]]:
    files = [*(conformance / "event-hash" / "tests").rglob("*.jsonld"),
             *(conformance / "event-hash" / "tests").rglob("*.xml"),
             *(conformance / "gs1-epcis").rglob("*.jsonld"),
             *(conformance / "gs1-epcis").rglob("*.xml")]
    for path in sorted(files):
        try:
            doc = read_document(path.read_bytes(), validate=False)
        except ValueError:
            continue  # master data and other non-event documents
        for event in doc.events:
            yield path.name, event, dict(doc.namespaces)


def test_conformance_events(conformance: Path) -> None:
    total = handled = 0
    for name, event, ns in _conformance_events(conformance):
        total += 1
        try:
            handled += check(event, ns) is not None
        except AssertionError as exc:
            raise AssertionError(f"{name}: {event}") from exc
    assert total > 200
    assert handled > total * 0.5


def test_conformance_events_cold_caches(conformance: Path) -> None:
    by_ns: dict[str, tuple[dict, list[dict]]] = {}
    for _, event, ns in _conformance_events(conformance):
        by_ns.setdefault(repr(sorted(ns.items())), (ns, []))[1].append(event)
    for ns, batch in by_ns.values():
        _check_all(batch, ns)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_random_events(event: dict) -> None:
    check(event, NAMESPACES)


# ---- hostile inputs ----

_BASE = {
    "type": "ObjectEvent", "eventTime": "2026-03-01T10:00:00.123+05:00",
    "eventTimeZoneOffset": "+05:00", "action": "ADD",
    "epcList": ["urn:epc:id:sgtin:4012345.012345.998877", "urn:epc:id:sscc:4012345.0000000001",
                "https://id.gs1.org/01/04012345123456/21/abc"],
    "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.L1", "quantity": 2.5,
                      "uom": "KGM"}],
    "bizStep": "shipping", "disposition": "in_transit",
    "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
    "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.dock3"},
    "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141:1"}],
    "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00001"}],
    "destinationList": [{"type": "location", "destination": "urn:epc:id:sgln:4012345.00001.0"}],
    "ex:wagon": "KZ1", "ilmd": {"ex:origin": "KZ"},
}

HUGE = "9" * 200_000
JUNK: list[object] = [
    None, True, False, 0, -1, 2 ** 64, 2 ** 200, -(2 ** 100), 10 ** 5000, 1.5, float("nan"),
    float("inf"), -0.0, "", " ", "\t x \n", "é", "\u00a0x\u00a0", "\ud800", "a\x00b", "💥",
    HUGE, "urn:epc:id:sgtin:" + HUGE, "https://id.gs1.org/01/" + HUGE, [], [None], [[[]]], {},
    {"id": None}, {1: 2}, {None: "x"}, {"id": "x", "ex:y": "z"}, [{"a": [1, {"b": None}]}],
    ("tuple",), b"bytes", object, {"set": ["x"], "unset": [1]},
]

_SERIALS = ["1", "a%2Fb", "x!y(z)*+,:", "%20", "%2", "%", "12345678901234567890",
            "123456789012345678901", "٣", "ab cd", "'\"", "-_.=;"]
IDENTIFIERS = [
    *(f"urn:epc:id:sgtin:{cp}.{item}.{s}" for cp, item in (
        ("4012345", "012345"), ("401234567890", "1"), ("40123", "0123456"),
        ("4012345", "01234"), ("4012345", "0123456"), ("40123a5", "012345"),
        ("4012345", "0123.5")) for s in _SERIALS),
    "urn:epc:id:sgtin:4012345.012345", "urn:epc:id:sgtin:4012345.012345.",
    "urn:epc:id:sgtin:.", "urn:epc:id:sgtin:4012345.٠١٢٣٤٥.1",
    *(f"urn:epc:id:sscc:{v}" for v in ("4012345.0000000001", "401234567890.12345",
                                       "4012345.000000001", "4012345.00000000012",
                                       "401234.12345678901", "4012345.00000x0001", ".", "1.")),
    *(f"urn:epc:id:sgln:{cp}.{ref}.{ext}" for cp, ref in (
        ("4012345", "00001"), ("401234567890", ""), ("4012345", "0001"), ("401234", "123456"),
        ("4012345", "0000a")) for ext in ("0", "00", "dock3", "%21", "a:b", "")),
    "urn:epc:id:sgln:4012345.00001", "urn:epc:id:sgln:401234567890.",
    *(f"urn:epc:class:lgtin:{cp}.{item}.{lot}" for cp, item in (
        ("4012345", "012345"), ("401234567890", "1"), ("4012345", "01234"))
      for lot in ("L1", "", "!", "a" * 21)),
    "urn:epc:id:grai:4012345.12345.9", "urn:epc:id:sgcn:4012345.00001.1",
    "urn:epc:idpat:sgtin:4012345.012345.*", "urn:epcglobal:cbv:bizstep:shipping",
    "urn:epcglobal:cbv:bt:0614141:1", "urn:epcglobal:cbv:disp:x.y",
    "https://id.gs1.org/01/04012345123456", "https://id.gs1.org/01/04012345123456/21/",
    "https://id.gs1.org/01/04012345123456/10/L1", "https://id.gs1.org/01/4012345123456",
    "https://id.gs1.org/01/04012345123456/21/a?x=1", "https://id.gs1.org/00/340123450000000017",
    "https://id.gs1.org/414/4012345000016/254/dock", "https://id.gs1.org/417/4012345000016",
    "https://id.gs1.org/414/4012345000016/254/" + "a" * 21, "https://example.com/01/1.2",
    "https://ref.gs1.org/cbv/BizStep-shipping", "https://gs1.org/voc/x", "cbv:Disp-active",
    "gs1:x", "shipping", "in_transit", "owning_party", "12.50", "+3", "1e3", "inf", "nan", ".5",
    " urn:epc:id:sgtin:4012345.012345.1", "urn:epc:id:sgtin:4012345.012345.1 ",
]

TIMES = [
    "2026-03-01T10:00:00.123+05:00", "2026-03-01T10:00:00+05:00", "2026-03-01T10:00:00.1+05:00",
    "2026-03-01T10:00:00.12+05:00", "2026-03-01T10:00:00.1234+05:00",
    "2026-03-01T10:00:00.9995+00:00", "2026-03-01T10:00:00.9999995Z", "2026-03-01T10:00:00Z",
    "2026-03-01T10:00:00.123Z", "2026-03-29T10:00:00.123Z", "2026-03-31T10:00:00Z",
    "2026-02-29T10:00:00.000+05:00", "2024-02-29T10:00:00.000+05:00",
    "2026-01-01T00:30:00.000+05:00", "2026-12-31T23:00:00.000-05:00",
    "2024-03-01T01:00:00.000+05:00", "2100-03-01T01:00:00.000+05:00",
    "0001-01-01T00:00:00.000+01:00", "9999-12-31T23:59:59.999-01:00", "0000-01-01T00:00:00Z",
    "2026-03-01t10:00:00Z", "2026-03-01 10:00:00Z", "2026-03-01T10:00:00z",
    "2026-03-01T24:00:00+05:00", "2026-03-01T10:60:00+05:00", "2026-03-01T10:00:60+05:00",
    "2026-13-01T10:00:00+05:00", "2026-00-01T10:00:00Z", "2026-03-00T10:00:00+05:00",
    "2026-03-01T10:00:00+24:00", "2026-03-01T10:00:00+05:60", "2026-03-01T10:00:00+0500",
    "2026-03-01T10:00:00.123+05:00 ", " 2026-03-01T10:00:00Z", "2026-03-01T10:00:00.Z",
    "2026-03-01T10:00:00.123", "2026-03-01T10:00", "٢٠٢٦-03-01T10:00:00Z", "2026-03-01",
    "", "x", "2026-03-01T10:00:00.123+05:00" + "0" * 100_000, "2026-03-01T10:00:00.123-00:00",
    "2026-03-01T10:00:00.123+23:59", "2026-03-01T10:00:00.123-23:59",
]

FIELDS = ["type", "eventTime", "eventTimeZoneOffset", "action", "epcList", "childEPCs",
          "quantityList", "bizStep", "disposition", "readPoint", "bizLocation",
          "bizTransactionList", "sourceList", "destinationList", "ex:wagon", "ilmd", "parentID",
          "recordTime", "eventID", "comment", "persistentDisposition", "sensorElementList",
          "certificationInfo", "errorDeclaration", "unknown", "ex:nested"]


def _variants() -> Iterator[dict]:
    yield dict(_BASE)
    for field in FIELDS:
        for junk in JUNK:
            event = copy.deepcopy(_BASE)
            event[field] = junk
            yield event
    for key in (1, None, ("t",), 2 ** 70, 1.5, "\ud800", "é", "ex:\ud800"):
        event = copy.deepcopy(_BASE)
        event[key] = "x"  # type: ignore[index]
        yield event
    for ident in IDENTIFIERS:
        for field in ("epcList", "parentID", "readPoint", "quantityList", "bizTransactionList"):
            event = copy.deepcopy(_BASE)
            if field == "epcList":
                event[field] = [ident, ident.upper()]
            elif field == "readPoint":
                event[field] = {"id": ident}
            elif field == "quantityList":
                event[field] = [{"epcClass": ident, "quantity": ident, "uom": ident}]
            elif field == "bizTransactionList":
                event[field] = [{"type": ident, "bizTransaction": ident}]
            else:
                event[field] = ident
            yield event
    for when in TIMES:
        event = copy.deepcopy(_BASE)
        event["eventTime"] = when
        yield event
    for field in ("epcList", "quantityList", "bizTransactionList", "readPoint", "ilmd"):
        event = copy.deepcopy(_BASE)
        value = event[field]
        if isinstance(value, list):
            event[field] = [*value, {"weird": [None, {1: 2}]}, 7]
        else:
            event[field] = {**value, 5: "x"}
        yield event
    party = copy.deepcopy(_BASE)
    party["bizTransactionList"] = [{"bizTransaction": "x", "type": "po"}, {"bizTransaction": "y"},
                                   {"type": "po"}, {"bizTransaction": "z", "type": "po", "x": 1}]
    yield party
    class Str(str):
        pass

    class Dict(dict):
        pass

    odd = copy.deepcopy(_BASE)
    odd["epcList"] = [Str("urn:epc:id:sgtin:4012345.012345.1")]
    odd["readPoint"] = Dict(id="urn:epc:id:sgln:4012345.00001.0")
    odd[Str("action")] = "OBSERVE"  # type: ignore[index]
    yield odd
    yield Dict(_BASE)  # type: ignore[misc]
    deep: object = "x"
    for _ in range(3000):
        deep = [deep]
    nested = copy.deepcopy(_BASE)
    nested["ex:nested"] = deep
    yield nested


@pytest.mark.parametrize("ns", [NAMESPACES, {}, {"ex": "https://ns.example.com/epcis/",
                                                 "cbv": "https://ref.gs1.org/cbv/",
                                                 "my": "https://gs1.org/voc/x"}])
def test_hostile_inputs(ns: dict) -> None:
    for event in _variants():
        try:
            check(event, ns)
        except AssertionError as exc:
            raise AssertionError(repr(event)[:500]) from exc


def test_every_serial_character() -> None:
    """Each printable ASCII character and each %-escape in SGTIN, SGLN and LGTIN serials (the
    C core's character tables come from corridor.epcis.identifiers: `%27` once differed)."""
    hexdigits = "0123456789ABCDEFabcdef"
    units = [chr(c) for c in range(33, 127)] + [f"%{a}{b}" for a in hexdigits for b in hexdigits]
    batch = [dict(_BASE, epcList=[f"urn:epc:id:sgtin:4012345.012345.A{u}B",
                                  f"urn:epc:id:sgln:4012345.00001.{u}"],
                  quantityList=[{"epcClass": f"urn:epc:class:lgtin:4012345.012345.{u}1"}])
             for u in units]
    assert _check_all(batch, NAMESPACES) > len(batch) // 2
    assert "%2A" in prehash_string(batch[units.index("*")], NAMESPACES)


def test_not_a_dict_or_wrong_arguments() -> None:
    for value in (None, [], "x", 1, [("type", "ObjectEvent")]):
        assert _hashcore.prehash(value, NAMESPACES) is None
    with pytest.raises(TypeError):
        _hashcore.prehash({})  # type: ignore[call-arg]


def test_namespaces_change_between_events() -> None:
    """The per-namespaces setup (and the caches it clears) follows the namespaces passed in,
    including when the Python path ran in between with other ones."""
    event = dict(_BASE, bizStep="my:step", ilmd={"my:x": "my:y"})
    one = {"my": "https://gs1.org/voc/"}
    two = {"my": "https://ns.example.com/epcis/"}
    for ns in (one, two, one, {}, two):
        check(event, ns)
        hash_fast.set_native(False)
        hash_fast.prehash(event, two)
        hash_fast.set_native(True)
        check(event, ns)


def test_utc_time_hook_matches_python() -> None:
    for when in TIMES + [t for e in BENCH.make_events(300, seed=9)  # type: ignore[attr-defined]
                         for t in [e["eventTime"]]]:
        got = _hashcore.utc_time(when)
        if got:
            assert got == hash_values._time_uncached(when), when
    assert _hashcore.utc_time("2026-03-01T10:00:00.123+05:00") == "2026-03-01T05:00:00.123Z"


def test_pure_python_switch() -> None:
    assert hash_fast.set_native(False) is False
    assert not hash_fast.native_enabled()
    assert hash_fast.set_native(True) is True


def test_pure_python_environment_variable() -> None:
    """CORRIDOR_PURE_PYTHON=1 leaves the built core unused."""
    import subprocess
    import sys

    code = ("from corridor.epcis import hash_fast; "
            "print(hash_fast.NATIVE, hash_fast.native_enabled())")
    for value, expected in (("1", "True False"), ("", "True True")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=ROOT,
                             env={**os.environ, "CORRIDOR_PURE_PYTHON": value})
        assert out.stdout.split() == expected.split()
