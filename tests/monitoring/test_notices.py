"""Port and border notices, pure: a posted notice checked field by field (errors name the
field by JSON pointer), the event that logs it, and that event read back as the same Notice,
whether its extension fields use the `cor:` prefix or full IRIs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from corridor.epcis import read_document
from corridor.monitoring.notices import (
    NOTICE_BIZ_STEP,
    NOTICE_NS,
    Notice,
    NoticeError,
    notice_document,
    notice_event,
    notice_from_event,
    notice_of,
    parse_notice,
)

NODE = "urn:epc:id:sgln:4870201.00001.0"
NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
GOOD: dict[str, Any] = {"node": NODE, "kind": "load_cut", "value": 30,
                        "validFrom": "2026-03-01T00:00:00+04:00",
                        "validUntil": "2026-03-15T00:00:00Z", "text": "Crane maintenance"}


def test_a_good_notice_is_parsed() -> None:
    req = parse_notice(GOOD)
    assert (req.node, req.kind, req.value, req.text) == (NODE, "load_cut", Decimal(30),
                                                         "Crane maintenance")
    assert req.valid_from == datetime(2026, 2, 28, 20, tzinfo=UTC)
    assert req.valid_until == datetime(2026, 3, 15, tzinfo=UTC)


def test_until_further_notice_and_a_digital_link_node() -> None:
    req = parse_notice({"node": "https://id.gs1.org/414/4870201000019",
                        "kind": "border_closed", "validFrom": "2026-03-01T00:00:00Z",
                        "validUntil": None})
    assert req.valid_until is None and req.value is None and req.text == ""


@pytest.mark.parametrize(("change", "pointer"), [
    ({"node": 5}, "/node"),
    ({"node": "urn:epc:id:sgtin:4870201.000001.1"}, "/node"),
    ({"node": "urn:epc:id:sgln:4870201.0001.0"}, "/node"),
    ({"node": "https://id.gs1.org/414/4870201000015"}, "/node"),  # wrong check digit
    ({"node": "https://id.gs1.org/01/04870201000019"}, "/node"),  # a GTIN, no place
    ({"kind": "strike"}, "/kind"),
    ({"value": None}, "/value"),
    ({"value": 0}, "/value"),
    ({"value": 101}, "/value"),
    ({"value": "30"}, "/value"),
    ({"value": True}, "/value"),
    ({"validFrom": "2026-03-01"}, "/validFrom"),
    ({"validFrom": "2026-03-01T00:00:00"}, "/validFrom"),  # no offset
    ({"validFrom": "2026-02-30T00:00:00Z"}, "/validFrom"),
    ({"validUntil": "2026-02-28T00:00:00Z"}, "/validUntil"),  # before validFrom
    ({"text": "x" * 1001}, "/text"),
    ({"text": "a\x00b"}, "/text"),
    ({"colour": "red"}, "/colour"),
])
def test_errors_name_the_field(change: dict[str, Any], pointer: str) -> None:
    with pytest.raises(NoticeError) as caught:
        parse_notice({**GOOD, **change})
    assert caught.value.pointer == pointer, caught.value


@pytest.mark.parametrize("missing", ["node", "kind", "validFrom"])
def test_a_missing_field_is_named(missing: str) -> None:
    with pytest.raises(NoticeError) as caught:
        parse_notice({k: v for k, v in GOOD.items() if k != missing})
    assert caught.value.pointer == f"/{missing}"


def test_only_a_load_cut_has_a_value_and_the_body_is_an_object() -> None:
    with pytest.raises(NoticeError) as caught:
        parse_notice({**GOOD, "kind": "sailings_suspended"})
    assert caught.value.pointer == "/value"
    with pytest.raises(NoticeError) as caught:
        parse_notice([GOOD])
    assert caught.value.pointer == ""


def test_the_event_has_the_agreed_shape_and_passes_validation() -> None:
    event = notice_event(parse_notice(GOOD), "urn:epc:id:pgln:4870201.00000", NOW)
    assert event == {
        "type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-03-01T08:30:00Z",
        "eventTimeZoneOffset": "+00:00", "epcList": [], "bizStep": NOTICE_BIZ_STEP,
        "readPoint": {"id": NODE}, "bizLocation": {"id": NODE},
        "cor:noticeKind": "load_cut", "cor:noticeValue": "30",
        "cor:validFrom": "2026-02-28T20:00:00Z", "cor:validUntil": "2026-03-15T00:00:00Z",
        "cor:noticeText": "Crane maintenance", "cor:operator": "urn:epc:id:pgln:4870201.00000"}
    doc = notice_document(event, NOW)
    parsed = read_document(json.dumps(doc).encode(), "application/ld+json")  # validates
    assert parsed.events == [event]


@pytest.mark.parametrize("change", [{}, {"kind": "border_closed", "value": None,
                                         "validUntil": None, "text": None},
                                    {"value": 12.5, "validFrom": "2026-03-01T00:00:00.25Z"}])
def test_round_trip_event_and_notice(change: dict[str, Any]) -> None:
    req = parse_notice({**GOOD, **change})
    event = notice_event(req, "urn:epc:id:pgln:4870201.00000", NOW)
    back = notice_from_event("ni:///sha-256;ab?ver=CBV2.0", 7, event)
    assert back == notice_of(req, "ni:///sha-256;ab?ver=CBV2.0", 7)
    # the same event with its extension fields as full IRIs (JSON-LD expanded names)
    expanded = {(NOTICE_NS + k[4:] if k.startswith("cor:") else k): v
                for k, v in event.items()}
    assert notice_from_event("h", 7, expanded) == notice_of(req, "h", 7)


def test_an_event_that_is_no_notice_gives_none() -> None:
    event = notice_event(parse_notice(GOOD), "p", NOW)
    assert notice_from_event("h", 1, {**event, "bizStep": "shipping"}) is None
    assert notice_from_event("h", 1, {**event, "cor:noticeKind": "strike"}) is None
    assert notice_from_event("h", 1, {**event, "cor:validFrom": "soon"}) is None
    assert isinstance(notice_from_event("h", 1, event), Notice)
