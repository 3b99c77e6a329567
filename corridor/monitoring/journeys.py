"""Every logistic unit's journey as monitoring reads it (docs/monitoring.md): its stops in
time order, the legs between them and the stays at them, from the dashboard's unit index
(corridor.query.dashboard: every SSCC's events, sensor reports and events without a place
left out) and the stored places (corridor.query.places, from captured master data).

A stop is a run of consecutive events at one place: the unit arrived with the first and left
after the last; it keeps when each bizStep first happened there. A leg runs from the last event of one stop to the first of the next; a stay
from the first event of a stop to its last, and is over once the unit was seen elsewhere (or
its journey ended there). A journey has ended when its last event ends it (unpacked, or its
aggregation dissolved: corridor.query.history.is_final).

Pure over what it is given: no visibility rule here. Aggregates over all units (leg
statistics, forecasts' history) are the corridor's; what is shown per unit goes through the
viewer's visibility where it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from corridor.query.dashboard import Facts, UnitIndex
from corridor.query.history import is_final
from corridor.query.places import Places


def instant(stored: str) -> datetime:
    """Stored UTC event time text -> aware datetime."""
    return datetime.fromisoformat(stored)


@dataclass(frozen=True)
class Stop:
    key: str  # the place's key, or the raw location when it is no known place
    arrived: datetime  # its first event
    left: datetime  # its last event (the unit may still be there)
    final: bool  # an event here ended the journey
    events: int  # how many events the stop holds
    steps: frozenset[str] = frozenset()  # the bizSteps of its events (e.g. a "holding")
    # each of those bizSteps with the time of its first event here, in time order
    firsts: tuple[tuple[str, datetime], ...] = ()

    @property
    def hours(self) -> float:
        return (self.left - self.arrived).total_seconds() / 3600

    def first(self, step: str) -> datetime | None:
        """When the stop's first event of this bizStep happened; None without one."""
        for s, when in self.firsts:
            if s == step:
                return when
        return None


@dataclass(frozen=True)
class Leg:
    origin: str
    destination: str
    departed: datetime  # the last event at the origin
    arrived: datetime  # the first event at the destination

    @property
    def hours(self) -> float:
        return (self.arrived - self.departed).total_seconds() / 3600


@dataclass(frozen=True)
class Journey:
    unit: str  # the SSCC's canonical key
    stops: tuple[Stop, ...]
    last_event: datetime

    @property
    def ended(self) -> bool:
        return bool(self.stops) and self.stops[-1].final

    @property
    def started(self) -> datetime:
        return self.stops[0].arrived

    @cached_property
    def legs(self) -> tuple[Leg, ...]:
        """The completed moves between consecutive stops."""
        return tuple(Leg(a.key, b.key, a.left, b.arrived)
                     for a, b in zip(self.stops, self.stops[1:], strict=False))

    @cached_property
    def stays(self) -> tuple[Stop, ...]:
        """The stops that are over: left for another, or the journey's end."""
        over = self.stops if self.ended else self.stops[:-1]
        return tuple(over)

    def route(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.stops)


def journey_of(unit: str, facts: Sequence[Facts], places: Places) -> Journey | None:
    """The journey of one unit from its events' facts, in any order; None without events."""
    if not facts:
        return None
    ordered = sorted(facts, key=lambda f: (f[1], f[0]))
    stops: list[Stop] = []
    for f in ordered:
        _, when_text, step, kind, action, _, biz_location, read_point = f
        place = places.at(biz_location, read_point)
        key = place.key if place is not None else (biz_location or read_point or "")
        when = instant(when_text)
        final = is_final(step, kind, action)
        if stops and stops[-1].key == key:
            last = stops[-1]
            steps, firsts = last.steps, last.firsts
            if step and step not in steps:  # a step seen again keeps its first time
                steps, firsts = steps | {step}, (*firsts, (step, when))
            stops[-1] = Stop(key, last.arrived, when, last.final or final, last.events + 1,
                             steps, firsts)
        elif step:
            stops.append(Stop(key, when, when, final, 1, frozenset((step,)), ((step, when),)))
        else:
            stops.append(Stop(key, when, when, final, 1))
    return Journey(unit, tuple(stops), instant(ordered[-1][1]))


def journeys(index: UnitIndex, places: Places) -> Iterator[Journey]:
    """Every unit's journey, from the unit index."""
    facts = index.facts
    for unit, events in index.by_unit.items():
        found = journey_of(unit, [facts[pk] for _, pk in events if pk in facts], places)
        if found is not None:
            yield found


def end_places(every: Iterable[Journey]) -> Mapping[str, int]:
    """Where journeys ended, with how many ended there: a unit's usual destination."""
    counts: dict[str, int] = {}
    for j in every:
        if j.ended:
            key = j.stops[-1].key
            counts[key] = counts.get(key, 0) + 1
    return counts
