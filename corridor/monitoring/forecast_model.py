"""What arrival forecasts learn from history (corridor.monitoring.forecast): pure, no database.

A Model keeps what completed journeys did: every leg's transit time, every stay's length,
event count and bizSteps, which place follows which, where journeys from each origin ended,
and whether a notice was in force during a stay. Nothing of any particular corridor is
assumed. Its pools are the samples of one season window (day of year within `window_days`,
else all history), found by bisection in samples kept sorted by day of year. Stays are also
kept by kind (event count and bizSteps), so that a stay under way is compared with past stays
that had every step it has had so far. Its routes are the shared draws of the way from
leaving one place to arriving at a destination, each made from the routes on from the next
places (a loop in history is cut where it would come back to a place being drawn).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from corridor.epcis.identifiers import canonical
from corridor.monitoring.forecast_draws import (
    FEW,
    NOTHING,
    SEASON_MIN,
    Interval,
    Pool,
    Route,
    Stay,
    T,
    after_step,
    as_pool,
    column,
    day_of_year,
    few,
    hours_of,
    in_force,
    kinds,
    near,
    residual_of,
)
from corridor.monitoring.journeys import Journey
from corridor.monitoring.notices import Notice
from corridor.query.places import Places


class Model:
    """What history says, learned from journeys (and the notices in force during them)."""

    def __init__(self, places: Places | None = None, window_days: float = 30.0) -> None:
        self.places = places
        self.window_days = window_days
        self.legs: dict[tuple[str, str], list[tuple[float, float]]] = {}  # (hours, doy)
        self.stays: dict[str, list[Stay]] = {}
        self.moves: dict[str, Counter[str]] = {}
        self.ends: dict[str, Counter[str]] = {}  # by origin
        self.door_to_door: list[float] = []  # hours, of ended journeys
        self._pools: dict[tuple, Any] = {}
        self._routes: dict[tuple[str, str, int], Route | None] = {}
        self._paths: dict[tuple[str, str], tuple[str, ...] | None] = {}
        self._nodes: dict[str, str] = {}

    @classmethod
    def learn(cls, journeys: Iterable[Journey], notices: Sequence[Notice] = (), *,
              places: Places | None = None, window_days: float = 30.0) -> Model:
        """Legs, stays, moves and ends of these journeys; a stay counts as under a notice
        when one at its place was in force at some time of it."""
        model = cls(places, window_days)
        by_node = model.notice_intervals(notices)
        legs, stays, moves = model.legs, model.stays, model.moves
        for j in journeys:
            stops = j.stops
            for a, b in itertools.pairwise(stops):
                key = (a.key, b.key)
                found = legs.get(key)
                if found is None:
                    found = legs[key] = []
                found.append((hours_of(b.arrived - a.left), day_of_year(a.left)))
                counts = moves.get(a.key)
                if counts is None:
                    counts = moves[a.key] = Counter()
                counts[b.key] += 1
            for s in j.stays:
                at = by_node.get(s.key)
                noticed = at is not None and in_force(at, s.arrived, s.left)
                record = Stay(hours_of(s.left - s.arrived), s.events, day_of_year(s.arrived),
                              noticed, s.steps, s.firsts, s.arrived)
                found_stays = stays.get(s.key)
                if found_stays is None:
                    stays[s.key] = [record]
                else:
                    found_stays.append(record)
            if j.ended:
                model.ends.setdefault(j.stops[0].key, Counter())[j.stops[-1].key] += 1
                model.door_to_door.append(hours_of(j.stops[-1].arrived - j.started))
        for legs in model.legs.values():
            legs.sort(key=lambda x: x[1])
        for stays in model.stays.values():
            stays.sort(key=lambda x: x.doy)
        return model

    def forget_draws(self) -> None:
        """Drop the cached route draws (they are made again on the next forecast)."""
        self._routes.clear()

    def node_key(self, node: str) -> str:
        """The stop key a notice's node stands for (a known place's key, else its canonical
        location, as journeys key unknown places)."""
        key = self._nodes.get(node)
        if key is None:
            location = canonical(node)
            place = self.places.by_location.get(location) if self.places is not None else None
            key = self._nodes[node] = place.key if place is not None else location
        return key

    def notice_intervals(self, notices: Sequence[Notice]) -> dict[str, list[Interval]]:
        by_node: dict[str, list[Interval]] = {}
        for n in notices:
            by_node.setdefault(self.node_key(n.node), []).append((n.valid_from, n.valid_until))
        return by_node

    def memo(self, key: tuple, make: Callable[[], T]) -> T:
        """make(), kept under `key` as long as the model (keys are the caller's)."""
        found = self._pools.get(key, self._pools)
        if found is self._pools:
            found = self._pools[key] = make()
        return found

    def destination_of(self, origin: str) -> tuple[str, str] | None:
        """The usual end of journeys from `origin` (else of all journeys), and why."""
        return self.memo(("destination", origin), lambda: self._destination_of(origin))

    def _destination_of(self, origin: str) -> tuple[str, str] | None:
        counts = self.ends.get(origin)
        if counts:
            end, n = counts.most_common(1)[0]
            return end, (f"destination {end}: where {n} of {sum(counts.values())} past " \
                        f"journeys from {origin} ended")
        every: Counter[str] = Counter()
        for c in self.ends.values():
            every.update(c)
        if not every:
            return None
        end, n = every.most_common(1)[0]
        return end, (f"destination {end}: where {n} of {sum(every.values())} past journeys " \
                    "ended (none known from this origin)")

    def path(self, start: str, end: str) -> tuple[str, ...] | None:
        """The most probable sequence of places after `start` up to `end` (Dijkstra on
        -log of the share of departures from each place that went to the next)."""
        key = (start, end)
        if key in self._paths:
            return self._paths[key]
        best: dict[str, float] = {start: 0.0}
        back: dict[str, str] = {}
        queue = [(0.0, start)]
        found = None
        while queue:
            cost, here = heapq.heappop(queue)
            if here == end:
                found = end
                break
            if cost > best.get(here, math.inf):
                continue
            moves = self.moves.get(here, Counter())
            total = sum(moves.values())
            for there, n in sorted(moves.items()):
                c = cost - math.log(n / total)
                if c < best.get(there, math.inf):
                    best[there], back[there] = c, here
                    heapq.heappush(queue, (c, there))
        result = None
        if found is not None and start != end:
            out = [end]
            while out[-1] != start:
                out.append(back[out[-1]])
            result = tuple(reversed(out[:-1]))
        self._paths[key] = result
        return result

    def _season(self, samples: Sequence[tuple[float, float]], doy: float
                ) -> tuple[list[float], str]:
        """The samples' hours within the season window around `doy`, else all of them."""
        every = self.memo(("hours", id(samples)), lambda: [h for h, _ in samples])
        close = near(every, self._doys(samples, lambda x: x[1]), doy, self.window_days)
        if SEASON_MIN <= len(close) < len(samples):
            return close, (f"{len(close)} past samples within {self.window_days:g} days of "
                           f"the season (of {len(samples)})")
        return every, f"{len(samples)} past samples"

    def _doys(self, samples: Sequence[Any], doy: Callable[[Any], float]) -> list[float]:
        """The days of year of these samples (a list of the model's, kept as long as it)."""
        key = ("doys", id(samples))
        found = self._pools.get(key)
        if found is None or found[0] is not samples:
            found = self._pools[key] = (samples, [doy(x) for x in samples])
        return found[1]

    def leg_pool(self, a: str, b: str, week: int) -> tuple[list[float], str]:
        key = ("leg", a, b, week)
        if key not in self._pools:
            hours, said = self._season(self.legs.get((a, b), []), week * 7 + 3.5)
            self._pools[key] = (hours, f"leg {a} -> {b}: {said}")
        return self._pools[key]

    def _stay_state(self, place: str, week: int, noticed: bool
                    ) -> tuple[list[Stay], bool, str]:
        """Past stays at `place` in the same notice state (when there are enough of them),
        whether only those of the season count (when there are enough in it), and why."""
        key = ("state", place, week, noticed)
        if key not in self._pools:
            # Without a notice in force every past stay counts: one may come in time.
            same = every = self.stays.get(place, [])
            state = "(any)"
            if noticed:
                same = self.memo(("noticed", place), lambda: [s for s in every if s.noticed])
                state = "under notices"
                if len(same) < FEW:
                    same, state = every, f"(any: only {len(same)} under notices)"
            close = self._near(same, lambda x: x.doy, week)
            seasonal = SEASON_MIN <= len(close) < len(same)
            said = f"{len(close)} past stays within {self.window_days:g} days of the " \
                   f"season (of {len(same)})" if seasonal else f"{len(same)} past stays"
            self._pools[key] = (same, seasonal, f"stay at {place} {state}: {said}")
        return self._pools[key]

    def _near(self, samples: list[Any], doy: Callable[[Any], float], week: int) -> list[Any]:
        return near(samples, self._doys(samples, doy), week * 7 + 3.5, self.window_days)

    def stay_records(self, place: str, week: int, noticed: bool) -> tuple[list[Stay], str]:
        """Past stays at `place` in the same notice state (when there are enough of them)
        and season (when there are enough in it)."""
        key = ("records", place, week, noticed)
        if key not in self._pools:
            same, seasonal, said = self._stay_state(place, week, noticed)
            self._pools[key] = (self._near(same, lambda x: x.doy, week) if seasonal else same,
                                said)
        return self._pools[key]

    def _stay_hours(self, stays: list[Stay], week: int, seasonal: bool) -> list[float]:
        """The lengths of these stays (a list of the model's, sorted by day of year), of the
        season's only if `seasonal`: slices of one list, made once."""
        hours = self.memo(("hours", id(stays)), lambda: [s.hours for s in stays])
        if not seasonal:
            return hours
        return near(hours, self._doys(stays, lambda x: x.doy), week * 7 + 3.5, self.window_days)

    def stay_pool(self, place: str, week: int, noticed: bool) -> tuple[list[float], str]:
        key = ("stay", place, week, noticed)
        if key not in self._pools:
            same, seasonal, said = self._stay_state(place, week, noticed)
            self._pools[key] = (self._stay_hours(same, week, seasonal), said)
        return self._pools[key]

    def stay_kinds(self, place: str, week: int, noticed: bool
                   ) -> tuple[dict[tuple[int, frozenset[str]], list[float]], str]:
        """The lengths of stay_records' stays by their event count and bizSteps (few kinds,
        so that each residual pool is made from them rather than every stay)."""
        key = ("kinds", place, week, noticed)
        if key not in self._pools:
            same, seasonal, said = self._stay_state(place, week, noticed)
            groups = self.memo(("kinds", id(same)), lambda: kinds(same))
            if seasonal:
                self._pools[key] = ({kind: self._stay_hours(stays, week, True)
                                     for kind, stays in groups.items()}, said)
            else:
                self._pools[key] = (self.memo(("kind hours", id(same)), lambda: {
                    kind: self._stay_hours(stays, week, False)
                    for kind, stays in groups.items()}), said)
        return self._pools[key]

    def residual_pool(self, place: str, week: int, noticed: bool, events: int,
                      steps: frozenset[str] = frozenset()) -> tuple[int, list[float], str]:
        """For a stay with `events` events of these bizSteps so far: how many past stays
        ended with exactly as many (the unit may have left), and the sorted lengths of those
        that had more. Only past stays that had every step seen so far count (a stay with a
        `holding` is like past held stays), unless fewer than FEW did."""
        key = ("residual", place, week, noticed, events, steps)
        if key not in self._pools:
            groups, said = self.stay_kinds(place, week, noticed)
            exact, more, alike = self.memo(("residual of", id(groups), events, steps),
                                           lambda: residual_of(groups, events, steps))
            self._pools[key] = ((exact, more), said + alike)
        (exact, more), said = self._pools[key]
        return exact, more, said

    def residual_after(self, place: str, week: int, noticed: bool, events: int,
                       steps: frozenset[str], step: str) -> tuple[int, list[float], str] | None:
        """As residual_pool, but the lengths are those from each past stay's first `step`
        to its end (after a `loading` the rest is short, however long the stay was before);
        None when fewer than FEW past stays had every step seen so far."""
        key = ("after", place, week, noticed, events, steps, step)
        if key not in self._pools:
            same, seasonal, said = self._stay_state(place, week, noticed)
            groups = self.memo(("kinds", id(same)), lambda: kinds(same))
            alike = {kind: stays for kind, stays in groups.items()
                     if kind[0] >= events and steps <= kind[1]}
            found = None
            if sum(map(len, alike.values())) >= FEW:
                exact, more, which = residual_of(
                    {kind: self._after_hours(stays, step, week, seasonal)
                     for kind, stays in alike.items()}, events, steps)
                found = (exact, more, f"{said}{which}, timed from their first {step}")
            self._pools[key] = found
        return self._pools[key]

    def _after_hours(self, stays: list[Stay], step: str, week: int, seasonal: bool
                     ) -> list[float]:
        """As _stay_hours, but from each stay's first `step` to its end."""
        every = self.memo(("after hours", id(stays), step),
                          lambda: [after_step(s, step) for s in stays])
        if not seasonal:
            return every
        return near(every, self._doys(stays, lambda x: x.doy), week * 7 + 3.5, self.window_days)

    def reaching(self, end: str) -> frozenset[str]:
        """The places from which history went on, some way, to `end`."""
        key = ("reaching", end)
        if key not in self._pools:
            into: dict[str, set[str]] = {}
            for a, moves in self.moves.items():
                for b in moves:
                    into.setdefault(b, set()).add(a)
            found, todo = {end}, [end]
            while todo:
                for a in into.get(todo.pop(), ()):
                    if a not in found:
                        found.add(a)
                        todo.append(a)
            self._pools[key] = frozenset(found)
        return self._pools[key]

    def next_places(self, here: str, end: str) -> tuple[list[str], list[float]]:
        """The places history went to from `here` on the way to `end`, with cumulative
        shares."""
        key = ("next", here, end)
        if key not in self._pools:
            reach = self.reaching(end)
            moves = sorted((b, n) for b, n in self.moves.get(here, Counter()).items()
                           if b in reach)
            total = sum(n for _, n in moves)
            cumulative, run = [], 0
            for _, n in moves:
                run += n
                cumulative.append(run / total)
            self._pools[key] = ([b for b, _ in moves], cumulative)
        return self._pools[key]

    def _ways(self, here: str, end: str, week: int, samples: int, building: frozenset[str]
              ) -> tuple[list[str], list[float], list[tuple[Pool, Pool, Pool]],
                         list[Route | None]]:
        """From `here` towards `end`: the next places, their cumulative shares, for each the
        pools of the leg there, of a stay there and of a stay there under notices, and the
        route on from there. A place whose route is being made (a loop) is left out."""
        nexts, shares = self.next_places(here, end)
        kept: list[str] = []
        weights: list[float] = []
        tails: list[Route | None] = []
        for b, upto, before in zip(nexts, shares, [0.0, *shares], strict=False):
            tail = None if b == end or b in building \
                else self.route(b, end, week, samples, building)
            if b == end or tail is not None:
                kept.append(b)
                weights.append(upto - before)
                tails.append(tail)
        cumulative = list(itertools.accumulate(w / sum(weights) for w in weights))
        return kept, cumulative, [(as_pool(self.leg_pool(here, b, week)[0]),
                                   as_pool(self.stay_pool(b, week, False)[0]),
                                   as_pool(self.stay_pool(b, week, True)[0])) for b in kept], tails

    def route(self, start: str, end: str, week: int, samples: int,
              building: frozenset[str] = frozenset()) -> Route | None:
        """Shared draws from leaving `start` to arriving at `end` (cached)."""
        key = (start, end, week)
        cached = self._routes.get(key)
        if cached is not None and len(cached.total) == samples:
            return cached
        places = self.path(start, end)
        if places is None:
            return None
        nexts, shares, pools, tails = self._ways(start, end, week, samples, building | {start})
        if not nexts:
            return None
        seed = f"{start}|{end}|{week}"
        rng = random.Random(seed)
        last = len(nexts) - 1
        picks = [0] * samples if not last else \
            [min(bisect.bisect_right(shares, rng.random()), last) for _ in range(samples)]
        first = column(rng, [pools[j][0] for j in picks])
        # at the destination no stay: a pool of nothing
        stay = column(rng, [pools[j][1] if tails[j] else NOTHING for j in picks])
        on = [0.0 if (t := tails[j]) is None else t.total[r] for r, j in enumerate(picks)]
        usual = [nexts[j] == places[0] and (tails[j] is None or (
            tails[j].usual[r] and tails[j].places == places[1:]))  # type: ignore[union-attr]
                 for r, j in enumerate(picks)]
        made = Route(places, [a + b + c for a, b, c in zip(first, stay, on, strict=True)],
                     first, usual, nexts, tails, picks, stay, [p[2] for p in pools], seed)
        made.reach = frozenset(p for t, tail in zip(nexts, tails, strict=True) if tail
                               for p in (t, *tail.reach))
        made.basis = self._route_basis(start, places, week, made.usual)
        self._routes[key] = made
        return made

    def _few(self, pool: list[float]) -> str:
        key = ("few", id(pool))  # a pool of the model's: kept as long as it
        if key not in self._pools:
            self._pools[key] = few(pool)
        return self._pools[key]

    def _route_basis(self, start: str, places: Sequence[str], week: int,
                     usual: Sequence[bool]) -> tuple[str, ...]:
        """The legs and stays of the most probable way, and how many draws took it."""
        out = []
        here = start
        for there in places:
            pool, said = self.leg_pool(here, there, week)
            out.append(said + self._few(pool))
            if there != places[-1]:
                pool, said = self.stay_pool(there, week, False)
                out.append(said + self._few(pool))
            here = there
        share = sum(usual) / max(len(usual), 1)
        out.append(f"{100 * share:.0f} % of the draws took this way; the others took other "
                   "places as often as history did")
        return tuple(out)
