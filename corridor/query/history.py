"""What stored history says is usual on the corridor: the typical time of each leg between two
places and of a stay at a place, the usual next place after each place, and the places where
journeys end. The dashboard compares a shipment with these and places a departed unit on its
probable leg; where history has nothing (a new route, a small store), it forecasts nothing.

A unit's journey is its events oldest first (sensor reports left out: they come from a
vessel, not a place). Consecutive events at one place make a stop; a leg runs from the last
event of one stop to the first of the next, a stay from the first event of a stop to its last.
Only what is over counts: the legs a unit has completed, the stays it has left (or ended its
journey in).
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from corridor.query.places import Place, Places

FINAL_STEPS = ("unpacking",)
# bizSteps that, at a place where journeys end, mean the unit has arrived
ARRIVAL_STEPS = ("receiving", "inspecting", "accepting", "storing")


def is_final(biz_step: str | None, event_type: str, action: str | None) -> bool:
    """The event ends a unit's journey: unpacked, or its aggregation dissolved."""
    return biz_step in FINAL_STEPS or (event_type == "AggregationEvent" and action == "DELETE")


class Visit(NamedTuple):
    """One event of a unit's journey, as far as history needs it (a tuple: journeys hold one
    per stored event)."""

    event_time: str  # stored UTC text
    label: str  # the place's name, or the raw location when it is no known place
    place: Place | None
    final: bool  # is_final


@dataclass(frozen=True)
class Typical:
    leg_days: Mapping[tuple[str, str], float] = field(default_factory=dict)  # median, by keys
    dwell_days: Mapping[str, float] = field(default_factory=dict)  # median stay, by place key
    next_place: Mapping[str, str] = field(default_factory=dict)  # most frequent next place
    end_places: frozenset[str] = frozenset()  # keys of places where journeys ended

    def arrived(self, biz_step: str | None, event_type: str, action: str | None,
                place: Place | None) -> bool:
        """Unpacked, or received at a place where the corridor ends."""
        if is_final(biz_step, event_type, action):
            return True
        return place is not None and place.key in self.end_places \
            and biz_step in ARRIVAL_STEPS


NOTHING_KNOWN = Typical()


def _days(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 86400


class Trips(NamedTuple):
    """What one unit's journey adds to history."""

    legs: tuple[tuple[str, str, float], ...]  # (from key, to key, days), completed legs
    stays: tuple[tuple[str, float], ...]  # (place key, days), stays that are over
    ends: tuple[str, ...]  # keys of the places where the journey ended


def trips(journey: Sequence[Visit]) -> Trips:
    """The completed legs and stays of one unit's journey, and where it ended (plain tuples
    laid out as Visit will do)."""
    stops: list[tuple[str, Place | None, str, str]] = []  # label, place, first, last
    ends: list[str] = []
    ended = False  # the journey ended at its last stop
    for event_time, label, place, final in journey:
        if stops and stops[-1][0] == label:
            stops[-1] = (label, place, stops[-1][2], event_time)
        else:
            stops.append((label, place, event_time, event_time))
            ended = False
        if final:
            ended = True
            if place is not None:
                ends.append(place.key)
    legs: list[tuple[str, str, float]] = []
    stays: list[tuple[str, float]] = []
    for (_, a, a_first, a_last), (_, b, b_first, _) in itertools.pairwise(stops):
        if a is None:
            continue
        stays.append((a.key, _days(a_first, a_last)))
        if b is not None:
            legs.append((a.key, b.key, _days(a_last, b_first)))
    if stops and ended and stops[-1][1] is not None:
        _, place, first, last = stops[-1]
        assert place is not None
        stays.append((place.key, _days(first, last)))
    return Trips(tuple(legs), tuple(stays), tuple(ends))


def typical_of(every: Iterable[Trips], places: Places) -> Typical:
    """Medians over every unit's completed legs and stays; the next place most often taken
    (ties: the place captured first); the places where a journey ended."""
    legs: dict[tuple[str, str], list[float]] = {}
    stays: dict[str, list[float]] = {}
    ends: set[str] = set()
    for t in every:
        for a, b, days in t.legs:
            legs.setdefault((a, b), []).append(days)
        for key, days in t.stays:
            stays.setdefault(key, []).append(days)
        ends.update(t.ends)
    order = {p.key: i for i, p in enumerate(places)}
    pairs = sorted(legs, key=lambda ab: (order.get(ab[0], len(order)),
                                         order.get(ab[1], len(order)), ab))
    taken: dict[str, Counter[str]] = {}
    for a, b in pairs:
        taken.setdefault(a, Counter())[b] = len(legs[(a, b)])
    next_place = {a: max(counts, key=lambda b: (counts[b], -order.get(b, len(order))))
                  for a, counts in taken.items()}
    return Typical(
        leg_days={ab: statistics.median(legs[ab]) for ab in pairs},
        dwell_days={k: statistics.median(v) for k, v in stays.items()},
        next_place=next_place, end_places=frozenset(ends))


def typical_times(journeys: Iterable[Sequence[Visit]], places: Places) -> Typical:
    """typical_of the trips of these journeys."""
    return typical_of((trips(j) for j in journeys), places)
