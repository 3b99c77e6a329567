"""Legs, dwell and flow (docs/monitoring.md): per leg (origin -> destination place keys) and
per node, the count and the p50 / p90 of transit hours (legs) or stay hours (nodes), a trend by
ISO week, and the units over p90 now. Pure over journeys (corridor.monitoring.journeys); the
one function that reads the store, `corridor_legs`, keeps what it built per unit-index stamp.

Percentiles are linear between closest ranks (numpy's default, Excel's PERCENTILE.INC). A leg
counts in the date filter [from, to) by its departure, a stay by its arrival. "Now" is the
time of the newest event that places a unit (the corridor's clock, as the overview's), so a store of past
events reads the same on any day. The units over p90 are judged against the whole history's
p90, whatever the filter: they are about now, not about the period looked at.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from math import floor

from corridor.monitoring.journeys import Journey, instant, journey_of
from corridor.query.dashboard import UnitIndex, unit_index
from corridor.query.places import Places, stored_places
from corridor.store.db import Connection

# The steps after which a unit has left its place (as the overview places units in transit).
LEAVING_STEPS = ("departing", "accepting")
Sample = tuple[datetime, float]  # (departure or arrival, hours)


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) of sorted values, linear between closest ranks; None when empty."""
    if not ordered:
        return None
    at = (len(ordered) - 1) * q
    low = floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def iso_week(when: datetime) -> str:
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Week:
    week: str  # ISO week, 2026-W05
    count: int
    p50: float


@dataclass(frozen=True)
class Figures:
    count: int
    p50: float | None
    p90: float | None
    hours: tuple[float, ...]  # sorted, for distributions
    weeks: tuple[Week, ...]  # by ISO week of departure (legs) / arrival (stays), in order
    bins: tuple[int, ...] = ()  # counts of BINS equal spans from the least to the most hours


BINS = 12


def bins(ordered: Sequence[float], n: int = BINS) -> tuple[int, ...]:
    """How many of the sorted values fall in each of n equal spans of their range (counted
    once, at build: a page only draws them)."""
    if not ordered:
        return ()
    low, span = ordered[0], (ordered[-1] - ordered[0]) or 1.0
    counts = [0] * n
    for h in ordered:
        counts[min(n - 1, int((h - low) / span * n))] += 1
    return tuple(counts)


def figures(samples: Iterable[Sample]) -> Figures:
    by_week: dict[str, list[float]] = {}
    every: list[float] = []
    for when, hours in samples:
        every.append(hours)
        by_week.setdefault(iso_week(when), []).append(hours)
    every.sort()
    weeks = tuple(Week(w, len(h), percentile(sorted(h), 0.5) or 0.0)
                  for w, h in sorted(by_week.items()))
    return Figures(len(every), percentile(every, 0.5), percentile(every, 0.9), tuple(every),
                   weeks, bins(every))


@dataclass(frozen=True)
class Overdue:
    """A unit over p90 now: in transit on a leg since it left `origin`, or at the node
    `origin` since it arrived."""
    unit: str
    where: str  # "leg" or "node"
    origin: str
    destination: str | None  # the leg's usual destination; None at a node
    since: datetime
    hours: float
    p90: float
    events: int  # of the unit's newest events that place it (its current stop's)


@dataclass(frozen=True)
class Samples:
    """Every completed leg and stay, by time: what any date filter is cut from."""
    legs: dict[tuple[str, str], list[Sample]]
    stays: dict[str, list[Sample]]
    now: datetime | None


def samples(every: Iterable[Journey], now: datetime | None = None) -> Samples:
    legs: dict[tuple[str, str], list[Sample]] = {}
    stays: dict[str, list[Sample]] = {}
    latest = now
    for j in every:
        for leg in j.legs:
            legs.setdefault((leg.origin, leg.destination), []).append((leg.departed, leg.hours))
        for stop in j.stays:
            stays.setdefault(stop.key, []).append((stop.arrived, stop.hours))
        if now is None and (latest is None or j.last_event > latest):
            latest = j.last_event
    for found in (*legs.values(), *stays.values()):
        found.sort()
    return Samples(legs, stays, latest)


def _within(found: list[Sample], start: datetime | None, end: datetime | None) -> list[Sample]:
    low = 0 if start is None else bisect_left(found, (start,))
    high = len(found) if end is None else bisect_left(found, (end,))
    return found[low:high]


@dataclass(frozen=True)
class Statistics:
    legs: dict[tuple[str, str], Figures]  # by count, most first
    nodes: dict[str, Figures]
    weeks: tuple[Week, ...]  # every leg departed per week: count, p50 of transit

    def usual_next(self) -> dict[str, tuple[str, str]]:
        """Each origin's most travelled leg."""
        best: dict[str, tuple[str, str]] = {}
        for leg, f in self.legs.items():
            if leg[0] not in best or f.count > self.legs[best[leg[0]]].count:
                best[leg[0]] = leg
        return best


def statistics(s: Samples, start: datetime | None = None, end: datetime | None = None,
               ) -> Statistics:
    """The figures of the legs departed and the stays begun in [start, end)."""
    legs = {k: figures(cut) for k, v in s.legs.items() if (cut := _within(v, start, end))}
    nodes = {k: figures(cut) for k, v in s.stays.items() if (cut := _within(v, start, end))}
    total = figures(x for v in s.legs.values() for x in _within(v, start, end))
    order = sorted(legs, key=lambda k: (-legs[k].count, k))
    return Statistics({k: legs[k] for k in order},
                      {k: nodes[k] for k in sorted(nodes, key=lambda k: (-nodes[k].count, k))},
                      total.weeks)


def over_p90(every: Iterable[Journey], whole: Statistics, now: datetime,
             leaving: Collection[str]) -> list[Overdue]:
    """Units not at their journey's end that have been on a leg (its usual one from where
    they left: `leaving` holds the units whose newest event left their place) or at a node
    for longer than its p90; longest over first."""
    usual = whole.usual_next()
    found: list[Overdue] = []
    for j in every:
        if j.ended or not j.stops:
            continue
        stop = j.stops[-1]
        if j.unit in leaving:
            leg = usual.get(stop.key)
            p90 = whole.legs[leg].p90 if leg is not None else None
            since, where, to = stop.left, "leg", leg[1] if leg else None
        else:
            node = whole.nodes.get(stop.key)
            p90 = node.p90 if node is not None else None
            since, where, to = stop.arrived, "node", None
        hours = (now - since).total_seconds() / 3600
        if p90 is not None and hours > p90:
            found.append(Overdue(j.unit, where, stop.key, to, since, hours, p90, stop.events))
    found.sort(key=lambda o: (-(o.hours - o.p90), o.unit))
    return found


@dataclass
class CorridorLegs:
    """What was built for one unit-index stamp and one set of places."""
    stamp: tuple[int, int]
    places: Places
    journeys: dict[str, tuple[list, Journey]]  # unit -> (its index list, its journey)
    samples: Samples
    whole: Statistics
    overdue: list[Overdue]
    cut: dict[tuple[datetime | None, datetime | None], Statistics]

    def statistics(self, start: datetime | None, end: datetime | None) -> Statistics:
        if start is None and end is None:
            return self.whole
        key = (start, end)
        found = self.cut.get(key)
        if found is None:
            found = statistics(self.samples, start, end)
            if len(self.cut) >= MAX_CUTS:  # a few filters are kept, the oldest dropped
                self.cut.pop(next(iter(self.cut)))
            self.cut[key] = found
        return found


MAX_CUTS = 16
_BUILT: dict[str, CorridorLegs] = {}
_lock = threading.Lock()


def _journeys(index: UnitIndex, places: Places, kept: CorridorLegs | None,
              ) -> dict[str, tuple[list, Journey]]:
    """Every unit's journey; an extended index keeps the list of a unit with no new event,
    so that unit's journey is reused."""
    reuse = kept.journeys if kept is not None and kept.places == places else {}
    facts = index.facts
    out: dict[str, tuple[list, Journey]] = {}
    for unit, events in index.by_unit.items():
        old = reuse.get(unit)
        if old is not None and old[0] is events:
            out[unit] = old
            continue
        j = journey_of(unit, [facts[pk] for _, pk in events if pk in facts], places)
        if j is not None:
            out[unit] = (events, j)
    return out


def build(index: UnitIndex, places: Places, kept: CorridorLegs | None = None) -> CorridorLegs:
    every = _journeys(index, places, kept)
    journeys = [j for _, j in every.values()]
    # The newest event that places a unit: records without a place (an insurance binding)
    # are written at the wall clock even over a store of past events.
    newest = max((events[0][0] for events in index.by_unit.values() if events), default=None)
    now = instant(newest) if newest is not None else None
    s = samples(journeys, now)
    whole = statistics(s)
    leaving = {u for u, events in index.by_unit.items()
               if events and index.facts[events[0][1]][2] in LEAVING_STEPS}
    overdue = over_p90(journeys, whole, now, leaving) if now is not None else []
    return CorridorLegs(index.stamp, places, every, s, whole, overdue, {})


def corridor_legs(conn: Connection, cache_key: str | None = None) -> CorridorLegs:
    """The corridor's legs and stays for the store as it is now; with a `cache_key`, built
    once per unit-index stamp and set of places (units with no new event keep their
    journey)."""
    index = unit_index(conn, cache_key)
    places = stored_places(conn)
    if cache_key is None:
        return build(index, places)
    with _lock:
        kept = _BUILT.get(cache_key)
    if kept is not None and kept.stamp == index.stamp and kept.places == places:
        return kept
    built = build(index, places, kept)
    with _lock:
        _BUILT[cache_key] = built
    return built


# Of a list of event rows, those the viewer may read (corridor.query.visible_set).
Readable = Callable[[list[int]], set[int]]
BATCH = 256


def visible_overdue(found: CorridorLegs, readable: Readable | None,
                    limit: int | None = None) -> tuple[list[Overdue], bool]:
    """The units over p90 a viewer may see: every event of the stop that places the unit
    (where it is and since when) readable by it (`readable`; None: all), longest over first;
    checked a batch of units at a time until `limit` are found, so a page costs the rows it
    shows, not a scan of the viewer's whole visible set. The flag: more may follow."""
    if readable is None:
        shown = found.overdue if limit is None else found.overdue[:limit]
        return list(shown), len(shown) < len(found.overdue)
    out: list[Overdue] = []
    for start in range(0, len(found.overdue), BATCH):
        batch = found.overdue[start:start + BATCH]
        stops = {o.unit: [pk for _, pk in found.journeys[o.unit][0][:o.events]]
                 for o in batch}  # newest first: the current stop's events
        ok = readable([pk for pks in stops.values() for pk in pks])
        for o in batch:
            if stops[o.unit] and all(pk in ok for pk in stops[o.unit]):
                if limit is not None and len(out) == limit:
                    return out, True
                out.append(o)
    return out, False


def place_name(places: Places, key: str) -> str:
    place = places.by_key.get(key)
    return place.name if place is not None else key


def names_of(places: Places) -> Mapping[str, str]:
    return {p.key: p.name for p in places}


def parse_day(text: str) -> datetime:
    """YYYY-MM-DD -> its start, UTC; ValueError otherwise."""
    if len(text) != 10 or not text.isascii():
        raise ValueError("must be a date YYYY-MM-DD")
    try:
        return datetime.fromisoformat(text + "T00:00:00+00:00")
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD") from None


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _weeks(weeks: Sequence[Week]) -> list[dict[str, object]]:
    return [{"week": w.week, "count": w.count, "p50Hours": _hours(w.p50)} for w in weeks]


def _figures_json(f: Figures) -> dict[str, object]:
    return {"count": f.count, "p50Hours": _hours(f.p50), "p90Hours": _hours(f.p90),
            "weeks": _weeks(f.weeks)}


def legs_json(stats: Statistics, places: Places, overdue: Sequence[Overdue],
              start: datetime | None, end: datetime | None, now: datetime | None,
              ) -> dict[str, object]:
    """The figures as GET /api/corridor/legs answers them (hours rounded to 0.01)."""
    name = names_of(places)
    return {
        "from": start.date().isoformat() if start else None,
        "to": end.date().isoformat() if end else None,
        "asOf": now.isoformat().replace("+00:00", "Z") if now else None,
        "legs": [{"origin": o, "originName": name.get(o, o), "destination": d,
                  "destinationName": name.get(d, d), **_figures_json(f)}
                 for (o, d), f in stats.legs.items()],
        "nodes": [{"node": k, "name": name.get(k, k), **_figures_json(f)}
                  for k, f in stats.nodes.items()],
        "weeks": _weeks(stats.weeks),
        "overP90": [{"unit": o.unit, "where": o.where, "origin": o.origin,
                     "originName": name.get(o.origin, o.origin), "destination": o.destination,
                     "since": o.since.isoformat().replace("+00:00", "Z"),
                     "hours": _hours(o.hours), "p90Hours": _hours(o.p90)} for o in overdue],
    }
