"""Legs, dwell and flow (corridor.monitoring.legs) on hand-built journeys, every figure worked
by hand: p50 / p90 linear between closest ranks, the ISO-week trend, the date filter on
departures and arrivals, the units over p90 now and who may see them, and the build from a
unit index (which units left their place; a unit with no new event keeps its journey)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from corridor.monitoring.journeys import Journey, Stop
from corridor.monitoring.legs import (
    CorridorLegs,
    build,
    legs_json,
    over_p90,
    parse_day,
    percentile,
    samples,
    statistics,
    visible_overdue,
)
from corridor.query.dashboard import UnitIndex
from corridor.query.places import Place, Places


def t(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def stop(key: str, arrived: datetime, left: datetime | None = None, *, final: bool = False,
         events: int = 1) -> Stop:
    return Stop(key, arrived, left or arrived, final, events)


# 2026-01-05 is a Monday: ISO week 2026-W02; 2026-01-12 starts W03.
U1 = Journey("u1", (stop("A", t(5), t(5, 10), events=2), stop("B", t(6, 10), t(6, 14), events=2),
                    stop("C", t(7, 14), final=True)), t(7, 14))
U2 = Journey("u2", (stop("A", t(12), t(12, 6), events=2), stop("B", t(13, 18), t(13, 20), events=2),
                    stop("C", t(14, 8), final=True)), t(14, 8))
U3 = Journey("u3", (stop("A", t(13), t(13, 4), events=2), stop("B", t(15, 4), t(15, 6), events=2)),
             t(15, 6))
U4 = Journey("u4", (stop("A", t(14), t(14, 1), events=2),), t(14, 1))
EVERY = [U1, U2, U3, U4]
NOW = t(20)


def test_percentiles_are_linear_between_closest_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([24.0, 36.0, 48.0], 0.5) == 36.0
    # (3 - 1) x 0.9 = 1.8: 36 + 0.8 x (48 - 36) = 45.6
    assert percentile([24.0, 36.0, 48.0], 0.9) == pytest.approx(45.6)
    assert percentile([2.0, 4.0], 0.5) == 3.0


def test_legs_and_stays_by_hand() -> None:
    stats = statistics(samples(EVERY, NOW))
    # A -> B: u1 24 h (Jan 5 10:00 -> Jan 6 10:00), u2 36 h, u3 48 h
    ab = stats.legs[("A", "B")]
    assert (ab.count, ab.p50, ab.hours) == (3, 36.0, (24.0, 36.0, 48.0))
    assert ab.p90 == pytest.approx(45.6)
    # B -> C: u1 24 h, u2 12 h (Jan 13 20:00 -> Jan 14 08:00): p50 18, p90 12 + 0.9 x 12
    bc = stats.legs[("B", "C")]
    assert (bc.count, bc.p50) == (2, 18.0) and bc.p90 == pytest.approx(22.8)
    assert list(stats.legs) == [("A", "B"), ("B", "C")]  # most travelled first
    # Stays that are over: at A u1 10 h, u2 6 h, u3 4 h (u4 is still there); at B u1 4 h,
    # u2 2 h (u3 is still there); at C the two journeys' ends, one event each: 0 h.
    a, b, c = stats.nodes["A"], stats.nodes["B"], stats.nodes["C"]
    assert (a.count, a.p50) == (3, 6.0) and a.p90 == pytest.approx(9.2)
    assert (b.count, b.p50) == (2, 3.0) and b.p90 == pytest.approx(3.8)
    assert (c.count, c.p50, c.p90) == (2, 0.0, 0.0)


def test_the_weekly_trend_by_departure() -> None:
    stats = statistics(samples(EVERY, NOW))
    ab = stats.legs[("A", "B")]
    assert [(w.week, w.count, w.p50) for w in ab.weeks] == [("2026-W02", 1, 24.0),
                                                            ("2026-W03", 2, 42.0)]
    # every leg: W02 A->B 24 and B->C 24 (left Jan 6); W03 36, 48 and 12 (left Jan 13)
    assert [(w.week, w.count, w.p50) for w in stats.weeks] == [("2026-W02", 2, 24.0),
                                                               ("2026-W03", 3, 36.0)]


def test_the_date_filter_cuts_departures_and_arrivals() -> None:
    s = samples(EVERY, NOW)
    cut = statistics(s, t(12), t(13))  # [Jan 12, Jan 13)
    assert {k: f.count for k, f in cut.legs.items()} == {("A", "B"): 1}  # u2's, 36 h
    assert cut.legs[("A", "B")].p90 == 36.0
    assert {k: (f.count, f.p50) for k, f in cut.nodes.items()} == {"A": (1, 6.0)}
    assert statistics(s, t(21), None).legs == {}
    assert statistics(s, None, t(6)).legs[("A", "B")].count == 1  # u1 left Jan 5


def test_units_over_p90_now() -> None:
    whole = statistics(samples(EVERY, NOW))
    found = over_p90(EVERY, whole, NOW, leaving={"u4"})
    # u3 at B since Jan 15 04:00: 116 h, over B's p90 of 3.8 h by 112.2;
    # u4 left A on Jan 14 01:00 on A's usual leg (A -> B, p90 45.6): 143 h, over by 97.4.
    assert [(o.unit, o.where, o.origin, o.destination) for o in found] == [
        ("u3", "node", "B", None), ("u4", "leg", "A", "B")]
    assert (found[0].hours, found[1].hours) == (116.0, 143.0)
    assert found[1].p90 == pytest.approx(45.6)
    # two hours after u4 left it is within the p90; ended journeys are never over
    assert over_p90([U1, U4], whole, t(14, 3), leaving={"u4"}) == []


def test_only_the_units_whose_current_place_the_viewer_reads() -> None:
    whole = statistics(samples(EVERY, NOW))
    overdue = over_p90(EVERY, whole, NOW, leaving={"u4"})
    # each unit's events newest first (time, pk); its current stop holds its newest 2
    lists = {"u3": [("", 32), ("", 31), ("", 30)], "u4": [("", 41), ("", 40)]}
    built = CorridorLegs((0, 0), Places(()), {u: (lists.get(u, []), j) for u, j in
                                              ((j.unit, j) for j in EVERY)},
                         samples(EVERY, NOW), whole, overdue, {})
    def among(ids: set[int]):
        return lambda pks: {pk for pk in pks if pk in ids}

    assert [o.unit for o in visible_overdue(built, None)[0]] == ["u3", "u4"]
    assert visible_overdue(built, None, 1) == ([overdue[0]], True)
    assert [o.unit for o in visible_overdue(built, among({31, 32, 40}))[0]] == ["u3"]
    assert visible_overdue(built, among({32, 40, 41})) == ([overdue[1]], False)
    assert visible_overdue(built, among({31, 32, 40, 41}), 1) == ([overdue[0]], True)
    answer = legs_json(whole, Places(()), overdue, None, None, NOW)
    assert answer["overP90"][0]["since"] == "2026-01-15T04:00:00Z"  # type: ignore[index]


def test_parse_day() -> None:
    assert parse_day("2026-03-01") == datetime(2026, 3, 1, tzinfo=UTC)
    for bad in ("2026-3-1", "2026-13-01", "2026-03-01T00:00", "x" * 10, "２０２６-03-01"):
        with pytest.raises(ValueError):
            parse_day(bad)


def _place(key: str) -> Place:
    return Place(key, key.title(), "", "", None, None, f"urn:epc:id:sgln:{key}",
                 f"loc:{key}")


def test_build_from_a_unit_index_reads_who_left_and_reuses_journeys() -> None:
    places = Places([_place("a"), _place("b")])
    facts = {
        1: (1, "2026-01-05T00:00:00+00:00", "loading", "ObjectEvent", "OBSERVE", None,
            "loc:a", None),
        2: (2, "2026-01-05T10:00:00+00:00", "departing", "ObjectEvent", "OBSERVE", None,
            "loc:a", None),
        3: (3, "2026-01-06T10:00:00+00:00", "arriving", "ObjectEvent", "OBSERVE", None,
            "loc:b", None),
        4: (4, "2026-01-07T00:00:00+00:00", "departing", "ObjectEvent", "OBSERVE", None,
            "loc:a", None),
    }
    by_unit = {"u1": [(facts[3][1], 3), (facts[2][1], 2), (facts[1][1], 1)],
               "u2": [(facts[4][1], 4)]}
    index = UnitIndex((4, 4), by_unit, sorted(((f[1], pk) for pk, f in facts.items()),
                                              reverse=True), facts)
    built = build(index, places)
    assert built.samples.now == datetime(2026, 1, 7, tzinfo=UTC)
    assert built.whole.legs[("a", "b")].hours == (24.0,)
    # u2 left a on Jan 7 00:00, at the corridor's newest event: not over p90 yet
    assert built.overdue == []
    again = build(index, places, built)
    assert again.journeys["u1"][1] is built.journeys["u1"][1]
