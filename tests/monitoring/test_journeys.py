"""A unit's stops (corridor.monitoring.journeys) from its events' facts, worked out by hand:
which bizSteps each stop had and when each first happened there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from corridor.monitoring.journeys import journey_of
from corridor.query.dashboard import Facts
from corridor.query.places import NO_PLACES

A = "urn:epc:id:sgln:0614141.00001.0"
B = "urn:epc:id:sgln:0614141.00002.0"
T0 = datetime(2025, 3, 3, 6, tzinfo=UTC)
UNIT = "urn:epc:id:sscc:0614141.0000000001"


def fact(pk: int, hours: float, step: str | None, where: str) -> Facts:
    when = (T0 + timedelta(hours=hours)).isoformat()
    return (pk, when, step, "ObjectEvent", "OBSERVE", None, where, None)


def test_each_step_keeps_the_time_it_first_happened_at_the_stop() -> None:
    facts = [
        fact(1, 0, "shipping", A),
        fact(2, 1, "departing", A),
        fact(3, 10, "arriving", B),
        fact(4, 12, "holding", B),
        fact(5, 30, None, B),  # no bizStep: counted, but no step
        fact(6, 40, "holding", B),  # held again: the first holding stays at 12 h
        fact(7, 50, "loading", B),
        fact(8, 51, "departing", B),
    ]
    # given out of order: the journey sorts by time
    j = journey_of(UNIT, [*facts[4:], *facts[:4]], NO_PLACES)
    assert j is not None
    a, b = j.stops
    assert a.firsts == (("shipping", T0), ("departing", T0 + timedelta(hours=1)))
    assert b.firsts == (("arriving", T0 + timedelta(hours=10)),
                        ("holding", T0 + timedelta(hours=12)),
                        ("loading", T0 + timedelta(hours=50)),
                        ("departing", T0 + timedelta(hours=51)))
    # the other fields keep their meaning
    assert (b.arrived, b.left, b.events, b.final) == (T0 + timedelta(hours=10),
                                                      T0 + timedelta(hours=51), 6, False)
    assert b.steps == {"arriving", "holding", "loading", "departing"}
    assert b.first("loading") == T0 + timedelta(hours=50)
    assert b.first("unpacking") is None


def test_a_stop_without_steps_has_no_first_times() -> None:
    j = journey_of(UNIT, [fact(1, 0, None, A), fact(2, 3, None, A), fact(3, 5, "arriving", B)],
                   NO_PLACES)
    assert j is not None
    a, b = j.stops
    assert (a.steps, a.firsts, a.events, a.hours) == (frozenset(), (), 2, 3.0)
    assert b.firsts == (("arriving", T0 + timedelta(hours=5)),)


def test_coming_back_to_a_place_starts_a_new_stop_with_its_own_first_times() -> None:
    j = journey_of(UNIT, [fact(1, 0, "loading", A), fact(2, 2, "arriving", B),
                          fact(3, 4, "loading", A)], NO_PLACES)
    assert j is not None
    assert [s.firsts for s in j.stops] == [(("loading", T0),),
                                           (("arriving", T0 + timedelta(hours=2)),),
                                           (("loading", T0 + timedelta(hours=4)),)]
