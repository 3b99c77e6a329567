"""Trigger evaluation on hand-built events; every expected figure is worked out in a comment."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from corridor.insurance.model import Firing, UnitEvent
from corridor.insurance.policy import Terms, parse_terms
from corridor.insurance.triggers import evaluate, events_of_unit
from corridor.monitoring.notices import Notice

SSCC = "urn:epc:id:sscc:4870001.0000000001"
SSCC_DL = "https://id.gs1.org/00/048700010000000011"  # the same SSCC as a Digital Link
CONTAINER = "urn:epc:id:sscc:4870001.0000000002"
OTHER_SSCC = "urn:epc:id:sscc:4870001.0000000003"
LOT = "urn:epc:class:lgtin:4870001.012345.L1"
LOT_DL = "https://id.gs1.org/01/04870001123451/10/L1"  # the same lot as a Digital Link
ORIGIN = "urn:epc:id:sgln:4870001.00001.0"
AKTAU = "urn:epc:id:sgln:4870001.00002.0"
DEST = "urn:epc:id:sgln:4870001.00003.0"
DEST_DL = "https://id.gs1.org/414/4870001000035"  # DEST as a Digital Link
BAKU = "urn:epc:id:sgln:4870001.00004.0"


def ev(n: int, time: str, place: str | None = None, epcs: tuple[str, ...] = (SSCC,),
       **extra: Any) -> UnitEvent:
    """An ObjectEvent naming `epcs`, log index `n`, hash id h<n>."""
    event: dict[str, Any] = {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": time,
                             "eventTimeZoneOffset": "+00:00", "epcList": list(epcs), **extra}
    if place is not None:
        event["bizLocation"] = {"id": place}
    return UnitEvent(f"h{n}", n, event)


def terms(*triggers: dict[str, Any], units: tuple[str, ...] = (SSCC,),
          cover_from: str = "2026-03-01T00:00:00Z",
          cover_until: str = "2026-04-30T00:00:00Z") -> Terms:
    return parse_terms({
        "insurer": "urn:epc:id:pgln:4870001.00009", "insured": "urn:epc:id:pgln:4870001.00008",
        "units": list(units), "sumInsured": "120000.00", "currency": "USD",
        "premium": "1800.00", "coverFrom": cover_from, "coverUntil": cover_until,
        "triggers": list(triggers)})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def only(firings: list[Firing]) -> Firing:
    assert len(firings) == 1, firings
    return firings[0]


# --- delay ----------------------------------------------------------------------------------

DELAY = {"id": "late", "type": "delay", "destination": DEST,
         "promisedArrival": "2026-03-02T05:30:00Z",
         "tiers": [{"atLeastHours": 48, "share": "0.25"}, {"atLeastHours": 96, "share": "0.5"}]}


def test_delay_fires_tier_one_with_the_rule() -> None:
    # arrival 03-04 10:00 (given as 15:00+05:00) - promised 03-02 05:30 = 2 d 4.5 h = 52.5 h
    events = [ev(1, "2026-03-01T00:00:00Z", ORIGIN),
              ev(2, "2026-03-04T15:00:00+05:00", DEST_DL)]
    firing = only(evaluate(terms(DELAY), SSCC, events, []))
    assert (firing.trigger_id, firing.unit, firing.tier) == ("late", SSCC, 0)
    assert firing.share == Decimal("0.25")
    assert firing.measure == Decimal("52.50")
    assert firing.at == utc("2026-03-04T10:00:00")
    assert firing.events == ("h2",)
    assert firing.notices == ()
    assert firing.rule == (f"arrived at {DEST} 2026-03-04T10:00:00Z, 52.5 h after the promised "
                           "2026-03-02T05:30:00Z: tier 1 (at least 48 h) pays 25 %")


@pytest.mark.parametrize(("arrival", "tier", "measure"), [
    ("2026-03-04T05:29:59Z", None, None),  # 48 h - 1 s: below the first tier
    ("2026-03-04T05:30:00Z", 0, "48.00"),  # exactly 48 h
    ("2026-03-06T05:29:59Z", 0, "96.00"),  # 96 h - 1 s = 95.99972 h: rounds to 96.00, tier 1
    ("2026-03-06T05:30:00Z", 1, "96.00"),  # exactly 96 h
    ("2026-03-07T06:00:00Z", 1, "120.50"),  # 5 d 0.5 h = 120.5 h
])
def test_delay_tier_boundaries(arrival: str, tier: int | None, measure: str | None) -> None:
    firings = evaluate(terms(DELAY), SSCC, [ev(1, arrival, DEST)], [])
    if tier is None:
        assert firings == []
    else:
        firing = only(firings)
        assert (firing.tier, firing.measure) == (tier, Decimal(measure or ""))


def test_delay_by_event_time_not_log_order() -> None:
    # h9 was logged last but happened first: arrival 03-04 10:00 -> 52.5 h, not h5's 03-05
    events = [ev(5, "2026-03-05T00:00:00Z", DEST), ev(9, "2026-03-04T10:00:00Z", DEST)]
    firing = only(evaluate(terms(DELAY), SSCC, events, []))
    assert (firing.measure, firing.events) == (Decimal("52.50"), ("h9",))
    assert evaluate(terms(DELAY), SSCC, list(reversed(events)), []) == [firing]


def test_unrelated_event_is_ignored() -> None:
    # another SSCC at DEST on 03-03 would make the arrival 18.5 h late (no firing)
    events = [ev(1, "2026-03-03T00:00:00Z", DEST, (OTHER_SSCC,)),
              ev(2, "2026-03-04T10:00:00Z", DEST)]
    assert only(evaluate(terms(DELAY), SSCC, events, [])).measure == Decimal("52.50")


def test_delay_not_arrived_and_unknown_unit() -> None:
    assert evaluate(terms(DELAY), SSCC, [ev(1, "2026-03-09T00:00:00Z", AKTAU)], []) == []
    with pytest.raises(ValueError):
        evaluate(terms(DELAY), OTHER_SSCC, [], [])


def test_unit_named_as_digital_link() -> None:
    events = [ev(1, "2026-03-04T10:00:00Z", DEST, (SSCC_DL,))]
    assert only(evaluate(terms(DELAY), SSCC, events, [])).events == ("h1",)


@pytest.mark.parametrize(("until", "fires"), [
    ("2026-03-04T10:00:00Z", True),  # at == coverUntil: inside
    ("2026-03-04T09:59:59Z", False),  # at is 1 s after coverUntil
])
def test_cover_until_edge(until: str, fires: bool) -> None:
    t = terms(DELAY, cover_from="2026-03-01T00:00:00Z", cover_until=until)
    assert bool(evaluate(t, SSCC, [ev(1, "2026-03-04T10:00:00Z", DEST)], [])) is fires


@pytest.mark.parametrize(("start", "fires"), [
    ("2026-03-04T10:00:00Z", True),  # at == coverFrom: inside
    ("2026-03-04T10:00:01Z", False),  # at is 1 s before coverFrom
])
def test_cover_from_edge(start: str, fires: bool) -> None:
    t = terms(DELAY, cover_from=start, cover_until="2026-04-30T00:00:00Z")
    assert bool(evaluate(t, SSCC, [ev(1, "2026-03-04T10:00:00Z", DEST)], [])) is fires


# --- which events name the unit -------------------------------------------------------------

def test_events_of_an_sscc_in_every_field() -> None:
    events = [
        UnitEvent("a", 1, {"type": "AggregationEvent", "parentID": SSCC, "childEPCs": []}),
        UnitEvent("b", 2, {"type": "AggregationEvent", "parentID": CONTAINER,
                           "childEPCs": [SSCC_DL]}),
        UnitEvent("c", 3, {"type": "TransformationEvent", "inputEPCList": [SSCC]}),
        UnitEvent("d", 4, {"type": "TransformationEvent", "outputEPCList": [SSCC]}),
        UnitEvent("e", 5, {"type": "ObjectEvent", "epcList": [OTHER_SSCC]}),
        UnitEvent("f", 6, {"type": "ObjectEvent", "quantityList": [{"epcClass": LOT}]}),
    ]
    assert [e.hash_id for e in events_of_unit(SSCC, events)] == ["a", "b", "c", "d"]


def test_lot_travels_with_its_container() -> None:
    pack = UnitEvent("h1", 1, {
        "type": "AggregationEvent", "action": "ADD", "eventTime": "2026-03-01T00:00:00Z",
        "parentID": CONTAINER, "bizLocation": {"id": ORIGIN},
        "childQuantityList": [{"epcClass": LOT_DL, "quantity": 1000, "uom": "KGM"}]})
    # a container the lot was never packed into, at DEST earlier: must not count
    stray = ev(2, "2026-03-03T00:00:00Z", DEST, (OTHER_SSCC,))
    arrive = ev(3, "2026-03-04T10:00:00Z", DEST, (CONTAINER,))
    named = ev(4, "2026-03-05T00:00:00Z", AKTAU, (),
               quantityList=[{"epcClass": LOT, "quantity": 10, "uom": "KGM"}])
    events = [stray, arrive, named, pack]
    assert [e.hash_id for e in events_of_unit(LOT, events)] == ["h3", "h4", "h1"]
    # the container's arrival 03-04 10:00 is the lot's: 52.5 h late
    firing = only(evaluate(terms(DELAY, units=(LOT,)), LOT, events, []))
    assert (firing.unit, firing.measure, firing.events) == (LOT, Decimal("52.50"), ("h3",))


# --- leg_delay ------------------------------------------------------------------------------

LEG = {"id": "ferry", "type": "leg_delay", "from": AKTAU, "to": BAKU, "scheduledHours": 72,
       "tiers": [{"atLeastHours": 24, "share": "0.1"}, {"atLeastHours": 48, "share": "0.3"}]}


def leg_events(baku: str) -> list[UnitEvent]:
    return [ev(1, "2026-03-01T00:00:00Z", ORIGIN), ev(2, "2026-03-02T08:00:00Z", AKTAU),
            ev(3, "2026-03-03T06:00:00Z", AKTAU), ev(4, baku, BAKU),
            ev(5, "2026-03-20T00:00:00Z", AKTAU)]  # back at Aktau later: not the departure


@pytest.mark.parametrize(("baku", "tier", "measure"), [
    # departure 03-03 06:00; transit to 03-07 05:59:59 = 96 h - 1 s; 23.9997 h over 72
    ("2026-03-07T05:59:59Z", None, None),
    ("2026-03-07T06:00:00Z", 0, "24.00"),  # 4 d = 96 h in transit, 96 - 72 = 24
    ("2026-03-08T06:00:00Z", 1, "48.00"),  # 5 d = 120 h, 120 - 72 = 48
    ("2026-03-08T07:30:00Z", 1, "49.50"),  # 121.5 h, 121.5 - 72 = 49.5
])
def test_leg_delay_tiers(baku: str, tier: int | None, measure: str | None) -> None:
    firings = evaluate(terms(LEG), SSCC, leg_events(baku), [])
    if tier is None:
        assert firings == []
        return
    firing = only(firings)
    assert (firing.tier, firing.measure) == (tier, Decimal(measure or ""))
    assert firing.events == ("h3", "h4")
    assert firing.at == utc(baku[:-1])


def test_leg_delay_rule_and_missing_departure() -> None:
    firing = only(evaluate(terms(LEG), SSCC, leg_events("2026-03-07T06:00:00Z"), []))
    assert firing.rule == (f"left {AKTAU} 2026-03-03T06:00:00Z and arrived at {BAKU} "
                           "2026-03-07T06:00:00Z: 96 h in transit, 24 h over the scheduled "
                           "72 h: tier 1 (at least 24 h) pays 10 %")
    assert evaluate(terms(LEG), SSCC, [ev(1, "2026-03-09T00:00:00Z", BAKU)], []) == []


# --- dwell ----------------------------------------------------------------------------------

DWELL = {"id": "aktau", "type": "dwell", "node": AKTAU,
         "tiers": [{"atLeastHours": 24, "share": "0.1"}, {"atLeastHours": 72, "share": "0.2"}]}


@pytest.mark.parametrize(("last", "tier", "measure"), [
    ("2026-03-03T07:59:59Z", None, None),  # 03-02 08:00 to 03-03 07:59:59 = 24 h - 1 s
    ("2026-03-03T08:00:00Z", 0, "24.00"),  # exactly one day
    ("2026-03-05T08:00:00Z", 1, "72.00"),  # three days
    ("2026-03-05T08:30:00Z", 1, "72.50"),  # three days and half an hour
])
def test_dwell_tiers(last: str, tier: int | None, measure: str | None) -> None:
    events = [ev(1, "2026-03-01T00:00:00Z", ORIGIN), ev(2, "2026-03-02T08:00:00Z", AKTAU),
              ev(3, last, AKTAU), ev(4, "2026-03-06T00:00:00Z", BAKU)]
    firings = evaluate(terms(DWELL), SSCC, events, [])
    if tier is None:
        assert firings == []
        return
    firing = only(firings)
    assert (firing.tier, firing.measure, firing.at) == (tier, Decimal(measure or ""),
                                                        utc(last[:-1]))
    assert firing.events == ("h2", "h3", "h4")


def test_dwell_not_left_yet() -> None:
    # 03-02 08:00 to 03-05 08:00 is 72 h, but no event elsewhere after: not complete; an
    # event without a place (a claim, say) is not a departure
    events = [ev(1, "2026-03-01T00:00:00Z", ORIGIN), ev(2, "2026-03-02T08:00:00Z", AKTAU),
              ev(3, "2026-03-05T08:00:00Z", AKTAU), ev(4, "2026-03-06T00:00:00Z")]
    assert evaluate(terms(DWELL), SSCC, events, []) == []


def test_dwell_is_the_first_stay_only() -> None:
    # stay 03-02 08:00 to 03-03 08:00 = 24 h, left for Baku; a return on 03-10 does not
    # stretch the stay (the firing stays as it was first made)
    events = [ev(1, "2026-03-02T08:00:00Z", AKTAU), ev(2, "2026-03-03T08:00:00Z", AKTAU),
              ev(3, "2026-03-04T00:00:00Z", BAKU), ev(4, "2026-03-10T00:00:00Z", AKTAU),
              ev(5, "2026-03-11T00:00:00Z", BAKU)]
    firing = only(evaluate(terms(DWELL), SSCC, events, []))
    assert (firing.tier, firing.measure, firing.events) == (0, Decimal("24.00"),
                                                            ("h1", "h2", "h3"))
    assert firing.rule == (f"stayed at {AKTAU} from 2026-03-02T08:00:00Z to "
                           f"2026-03-03T08:00:00Z (24 h) and was next seen at {BAKU} "
                           "2026-03-04T00:00:00Z: tier 1 (at least 24 h) pays 10 %")


# --- disposition ----------------------------------------------------------------------------

LOSS = {"id": "loss", "type": "disposition", "dispositions": ["damaged", "stolen"],
        "tiers": [{"share": "1"}]}


def loss_events() -> list[UnitEvent]:
    return [ev(1, "2026-03-02T00:00:00Z", AKTAU, disposition="in_transit"),
            ev(2, "2026-03-04T00:00:00Z", BAKU, disposition="urn:epcglobal:cbv:disp:stolen"),
            ev(3, "2026-03-03T12:00:00Z", AKTAU,
               disposition="https://ref.gs1.org/cbv/Disp-damaged")]


def test_disposition_earliest_in_any_form() -> None:
    # damaged at 03-03 12:00 comes before stolen at 03-04, though logged after it
    firing = only(evaluate(terms(LOSS), SSCC, loss_events(), []))
    assert (firing.tier, firing.share, firing.measure) == (0, Decimal(1), Decimal("0.00"))
    assert (firing.at, firing.events) == (utc("2026-03-03T12:00:00"), ("h3",))
    assert firing.rule == (f"recorded as damaged at {AKTAU} 2026-03-03T12:00:00Z: tier 1 "
                           "pays 100 %")


def test_disposition_at_a_node_and_bare_word() -> None:
    at_baku = terms({**LOSS, "node": BAKU})
    assert only(evaluate(at_baku, SSCC, loss_events(), [])).events == ("h2",)
    events = [ev(1, "2026-03-02T00:00:00Z", AKTAU, disposition="stolen")]
    assert only(evaluate(terms(LOSS), SSCC, events, [])).events == ("h1",)
    assert evaluate(at_baku, SSCC, events, []) == []


# --- sensor ---------------------------------------------------------------------------------

HEAT = {"id": "heat", "type": "sensor", "measurement": "Temperature", "uom": "CEL",
        "min": "-20", "max": "35",
        "tiers": [{"atLeastMinutes": 60, "share": "0.1"},
                  {"atLeastMinutes": 360, "share": "0.2"}]}


def reading(time: str | None, value: object = None, uom: str = "CEL",
            kind: str = "gs1:Temperature", **extra: Any) -> dict[str, Any]:
    report: dict[str, Any] = {"type": kind, "uom": uom, **extra}
    if value is not None:
        report["value"] = value
    if time is not None:
        report["time"] = time
    return report


def logger(n: int, time: str, *reports: dict[str, Any], meta: str | None = None
           ) -> UnitEvent:
    element: dict[str, Any] = {"sensorReport": list(reports)}
    if meta is not None:
        element["sensorMetadata"] = {"time": meta}
    return ev(n, time, AKTAU, sensorElementList=[element])


@pytest.mark.parametrize(("back_in", "tier", "measure"), [
    ("2026-03-02T01:59:59Z", None, None),  # out 01:00 to 01:59:59: 59 min 59 s = 59.98 min
    ("2026-03-02T02:00:00Z", 0, "60.00"),  # out 01:00 to back in range 02:00: 60 min
    ("2026-03-02T07:00:00Z", 1, "360.00"),  # 01:00 to 07:00: 6 h = 360 min
])
def test_sensor_run_ended_by_a_reading_in_range(back_in: str, tier: int | None,
                                                measure: str | None) -> None:
    events = [logger(1, "2026-03-02T00:00:00Z",
                     reading("2026-03-02T00:00:00Z", 20),
                     reading("2026-03-02T01:00:00Z", "36"),
                     reading("2026-03-02T01:30:00Z", 40)),
              logger(2, "2026-03-02T12:00:00Z", reading(back_in, 30))]
    firings = evaluate(terms(HEAT), SSCC, events, [])
    if tier is None:
        assert firings == []
        return
    firing = only(firings)
    assert (firing.tier, firing.measure) == (tier, Decimal(measure or ""))
    assert (firing.at, firing.events) == (utc(back_in[:-1]), ("h1", "h2"))


def test_sensor_run_to_the_last_reading_and_time_fallbacks() -> None:
    # out 03:00 (the metadata's time) and 09:00 (the event's time), no reading after:
    # the run is 03:00 to 09:00 = 360 min; the 20 C reading at 01:00 is before the run
    events = [
        logger(1, "2026-03-02T01:00:00Z", reading("2026-03-02T01:00:00Z", 20)),
        logger(2, "2026-03-02T05:00:00Z",
               reading(None, None, kind="https://gs1.org/voc/MeasurementType-Temperature",
                       minValue=-25, maxValue=10), meta="2026-03-02T03:00:00Z"),
        logger(3, "2026-03-02T09:00:00Z", reading(None, 41, kind="Temperature")),
    ]
    firing = only(evaluate(terms(HEAT), SSCC, events, []))
    assert (firing.tier, firing.measure) == (1, Decimal("360.00"))
    assert (firing.at, firing.events) == (utc("2026-03-02T09:00:00"), ("h2", "h3"))
    assert firing.rule == ("Temperature outside -20 to 35 CEL from 2026-03-02T03:00:00Z to "
                           "its last reading 2026-03-02T09:00:00Z (360 min): tier 2 (at least "
                           "360 min) pays 20 %")


def test_sensor_other_uom_is_ignored() -> None:
    # 50 FAH would be out of range as Celsius; ignored, the run is 01:00 (36 C) to 02:30
    # (20 C) = 90 min, not cut short at 01:30
    events = [logger(1, "2026-03-02T03:00:00Z",
                     reading("2026-03-02T01:00:00Z", 36),
                     reading("2026-03-02T01:30:00Z", 50, uom="FAH"),
                     reading("2026-03-02T02:30:00Z", 20))]
    assert only(evaluate(terms(HEAT), SSCC, events, [])).measure == Decimal("90.00")
    only_fahrenheit = [logger(1, "2026-03-02T03:00:00Z",
                              reading("2026-03-02T01:00:00Z", 100, uom="FAH"),
                              reading("2026-03-02T09:00:00Z", 100, uom="FAH"))]
    assert evaluate(terms(HEAT), SSCC, only_fahrenheit, []) == []


def test_sensor_longest_run_wins() -> None:
    # runs 01:00-02:00 (60 min) and 03:00-05:00 (120 min): the longest, tier 1
    events = [logger(1, "2026-03-02T06:00:00Z",
                     reading("2026-03-02T01:00:00Z", 36), reading("2026-03-02T02:00:00Z", 0),
                     reading("2026-03-02T03:00:00Z", -21), reading("2026-03-02T05:00:00Z", 35))]
    firing = only(evaluate(terms(HEAT), SSCC, events, []))
    assert (firing.measure, firing.at) == (Decimal("120.00"), utc("2026-03-02T05:00:00"))


def test_shock_with_threshold_zero() -> None:
    shock = {"id": "shock", "type": "sensor", "measurement": "Acceleration", "uom": "MSK",
             "min": "-50", "max": "50", "tiers": [{"atLeastMinutes": 0, "share": "0.05"}]}
    # one reading of 80 m/s2 and nothing after: a run of 0 min reaches the 0 min tier
    events = [logger(1, "2026-03-02T05:00:00Z",
                     reading(None, 10, kind="gs1:Acceleration", uom="MSK"),
                     reading("2026-03-02T05:00:00Z", 80, kind="gs1:Acceleration", uom="MSK"))]
    firing = only(evaluate(terms(shock), SSCC, events, []))
    assert (firing.tier, firing.measure, firing.share) == (0, Decimal("0.00"), Decimal("0.05"))
    within = [logger(1, "2026-03-02T05:00:00Z",
                     reading(None, 50, kind="gs1:Acceleration", uom="MSK"))]
    assert evaluate(terms(shock), SSCC, within, []) == []


# --- notice ---------------------------------------------------------------------------------

CUT = {"id": "cut", "type": "notice", "node": AKTAU, "kinds": ["load_cut", "sailings_suspended"],
       "tiers": [{"atLeastHours": 24, "share": "0.1"}, {"atLeastHours": 48, "share": "0.25"}]}
STAY = [ev(1, "2026-03-02T00:00:00Z", AKTAU), ev(2, "2026-03-05T00:00:00Z", AKTAU),
        ev(3, "2026-03-06T00:00:00Z", BAKU)]


def notice(n: int, kind: str, start: str, end: str | None, node: str = AKTAU) -> Notice:
    return Notice(f"n{n}", 100 + n, node, kind, utc(start),
                  None if end is None else utc(end))


def test_overlapping_notices_counted_once() -> None:
    # stay 03-02 00:00 .. 03-05 00:00. n1 covers 03-02 00:00 .. 03-03 00:00 (24 h),
    # n2 03-02 12:00 .. 03-04 00:00 (36 h); together 03-02 00:00 .. 03-04 00:00 = 48 h, not 60
    notices = [
        notice(2, "sailings_suspended", "2026-03-02T12:00:00", "2026-03-04T00:00:00"),
        notice(1, "load_cut", "2026-03-01T00:00:00", "2026-03-03T00:00:00"),
        notice(3, "border_closed", "2026-03-02T00:00:00", "2026-03-05T00:00:00"),  # kind
        notice(4, "load_cut", "2026-03-02T00:00:00", "2026-03-05T00:00:00", BAKU),  # node
        notice(5, "load_cut", "2026-03-10T00:00:00", None),  # after the stay
    ]
    firing = only(evaluate(terms(CUT), SSCC, STAY, notices))
    assert (firing.tier, firing.measure, firing.share) == (1, Decimal("48.00"), Decimal("0.25"))
    assert firing.notices == ("n1", "n2")
    assert firing.events == ("h1", "h2", "h3")
    assert firing.at == utc("2026-03-05T00:00:00")
    assert firing.rule == (f"stayed at {AKTAU} from 2026-03-02T00:00:00Z to "
                           "2026-03-05T00:00:00Z, 48 h of it under 2 notices (load_cut, "
                           "sailings_suspended): tier 2 (at least 48 h) pays 25 %")


def test_open_notice_and_boundary() -> None:
    # until further notice from 03-04 00:00: 03-04 00:00 .. 03-05 00:00 = 24 h, tier 1
    open_ended = [notice(1, "load_cut", "2026-03-04T00:00:00", None)]
    firing = only(evaluate(terms(CUT), SSCC, STAY, open_ended))
    assert (firing.tier, firing.measure) == (0, Decimal("24.00"))
    # 03-02 00:00 .. 03-02 23:59:59: 24 h - 1 s, below the first tier
    short = [notice(1, "load_cut", "2026-03-01T00:00:00", "2026-03-02T23:59:59")]
    assert evaluate(terms(CUT), SSCC, STAY, short) == []


def test_notice_not_left_yet() -> None:
    notices = [notice(1, "load_cut", "2026-03-01T00:00:00", None)]
    assert evaluate(terms(CUT), SSCC, STAY[:2], notices) == []


# --- all together ---------------------------------------------------------------------------

def test_firings_in_trigger_order_and_any_input_order() -> None:
    events = [*STAY, ev(4, "2026-03-07T00:00:00Z", DEST)]
    notices = [notice(1, "load_cut", "2026-03-01T00:00:00", None)]
    t = terms(CUT, DELAY, DWELL)
    # cut: 72 h under notice; late: 03-07 00:00 - 03-02 05:30 = 114.5 h; dwell 72 h
    firings = evaluate(t, SSCC, events, notices)
    assert [(f.trigger_id, f.measure) for f in firings] == [
        ("cut", Decimal("72.00")), ("late", Decimal("114.50")), ("aktau", Decimal("72.00"))]
    assert evaluate(t, SSCC, list(reversed(events)), notices) == firings
