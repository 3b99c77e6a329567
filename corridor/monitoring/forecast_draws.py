"""The pieces arrival forecasts draw with (corridor.monitoring.forecast_model, .forecast):
pure. Samples are kept sorted by day of year so that a season window is one or two slices
(`near`); a Route holds the shared draws of the way from one place to a destination.
"""

from __future__ import annotations

import bisect
import functools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple, TypeVar

FEW = 5  # below this many past samples a distribution is widened and the basis says so
SEASON_MIN = 15  # fewer samples in the season window: all history is used
WIDEN_SIGMA = 0.35  # log-normal spread added to each draw from too few samples
YEAR = 365.25  # days
Interval = tuple[datetime, datetime | None]
Pool = tuple[list[float], int, bool]
NOTHING: Pool = ([0.0], 1, True)
T = TypeVar("T")


class Stay(NamedTuple):  # a tuple: tens of thousands are made at every learn
    hours: float
    events: int
    doy: float  # day of year of the arrival
    noticed: bool  # a notice at the place was in force during the stay
    steps: frozenset[str] = frozenset()  # the bizSteps of its events
    # each step's first time and the arrival (Stop's), timed only when a forecast asks
    firsts: tuple[tuple[str, datetime], ...] = ()
    arrived: datetime | None = None


@dataclass
class Route:
    """Shared draws of the way from leaving one place to arriving at a destination, in hours
    from leaving it: each draw takes its own next place, as often as history took them, and
    goes on as the same draw of the route from there (so a route costs its first step)."""

    places: tuple[str, ...]  # the most probable places after the start, the destination last
    total: list[float]  # arrival at the destination, per draw
    first: list[float]  # arrival at the next place, per draw
    usual: list[bool]  # per draw: it took `places`
    nexts: list[str]  # the next places
    tails: list[Route | None]  # the routes on from them (None: the destination)
    picks: list[int]  # per draw, its next place's index
    stay: list[float]  # per draw, its stay at the next place
    held: list[Pool]  # per next place, its past stays under notices (drawn when asked)
    seed: str
    reach: frozenset[str] = frozenset()  # the places some draw stays at on the way
    basis: tuple[str, ...] = ()
    _visits: dict[str, list[tuple[int, float, float]]] | None = None

    def visits(self) -> dict[str, list[tuple[int, float, float]]]:
        """Per place on the way, each draw's stay there: (draw, arrival, a stay under notices
        - the stay); made when a notice asks for it."""
        if self._visits is None:
            out: dict[str, list[tuple[int, float, float]]] = {}
            # at the destination no stay: a pool of nothing
            held = column(random.Random(f"{self.seed}|held"),
                          [self.held[j] if self.tails[j] else NOTHING for j in self.picks])
            for j, (there, tail) in enumerate(zip(self.nexts, self.tails, strict=True)):
                if tail is None:
                    continue
                mine = [r for r, pick in enumerate(self.picks) if pick == j]
                out.setdefault(there, []).extend(
                    (r, self.first[r], held[r] - self.stay[r]) for r in mine)
                leaving = {r: self.first[r] + self.stay[r] for r in mine}
                for place, seen in tail.visits().items():
                    out.setdefault(place, []).extend(
                        (r, arrive + leaving[r], delta) for r, arrive, delta in seen
                        if r in leaving)
            self._visits = out
        return self._visits


def day_of_year(when: datetime) -> float:
    return when.toordinal() - _new_year(when.year) + (when.hour * 60 + when.minute) / 1440


@functools.cache
def _new_year(year: int) -> int:
    return date(year, 1, 1).toordinal()


def near(items: Sequence[T], doys: Sequence[float], doy: float, window: float) -> list[T]:
    """The items (sorted by day of year, `doys` theirs) within `window` days of `doy`, across
    the turn of the year: by bisection, since every pool of every week is made so."""
    if 2 * window >= YEAR:
        return list(items)
    lo, hi = doy - window, doy + window
    out = list(items[bisect.bisect_left(doys, lo):bisect.bisect_right(doys, hi)])
    if lo < 0:
        out += items[bisect.bisect_left(doys, lo + YEAR):]
    if hi > YEAR:
        out += items[:bisect.bisect_right(doys, hi - YEAR)]
    return out


def hours_of(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def in_force(intervals: Sequence[Interval], start: datetime, end: datetime) -> bool:
    """Some interval overlaps [start, end]."""
    return any(f <= end and (u is None or u > start) for f, u in intervals)


def quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between the nearest ranks."""
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)



def few(pool: Sequence[float]) -> str:
    if not pool:
        return " (none: taken as no time)"
    if len(pool) < FEW:
        return f" (fewer than {FEW}: drawn wider)"
    return f", median {quantile(sorted(pool), 0.5):.0f} h"


def kinds(stays: Sequence[Stay]) -> dict[tuple[int, frozenset[str]], list[Stay]]:
    """The stays by event count and bizSteps, each kind in the stays' order."""
    out: dict[tuple[int, frozenset[str]], list[Stay]] = {}
    for s in stays:
        kind = (s.events, s.steps)
        found = out.get(kind)
        if found is None:
            out[kind] = [s]
        else:
            found.append(s)
    return out


def column(rng: random.Random, pools: Sequence[Pool]) -> list[float]:
    """One draw from each pool."""
    rnd = rng.random
    return [p[0][int(rnd() * p[1])] if p[2] else draw(rng, p[0]) for p in pools]


def residual_of(groups: dict[tuple[int, frozenset[str]], list[float]], events: int,
                 steps: frozenset[str]) -> tuple[int, list[float], str]:
    """Of these stay lengths by kind: how many ended with `events` events, the sorted
    lengths of those with more, those that had every one of `steps` (if FEW or more did)."""
    longer = [(n, hours) for (n, _), hours in groups.items() if n >= events]
    alike = [(n, hours) for (n, kind), hours in groups.items() if n >= events and steps <= kind]
    count = sum(len(hours) for _, hours in alike)
    said = ""
    if steps and count >= FEW:
        said = f"; {count} with {', '.join(sorted(steps))}"
    else:
        alike = longer
    exact = sum(len(hours) for n, hours in alike if n == events)
    more = sorted(h for n, hours in alike if n > events for h in hours)
    return exact, more, said


def after_step(stay: Stay, step: str) -> float:
    """Hours from the stay's first event of `step` (else its arrival) to its end."""
    for s, when in stay.firsts:
        if s == step and stay.arrived is not None:
            return stay.hours - hours_of(when - stay.arrived)
    return stay.hours


def as_pool(pool: list[float]) -> Pool:
    """A pool as route() draws from it: (samples, their count, plain: big enough to draw
    from without widening)."""
    return pool, len(pool), len(pool) >= FEW


def draw(rng: random.Random, pool: Sequence[float]) -> float:
    """One draw from the pool, spread by a log-normal factor when the pool is small."""
    if not pool:
        return 0.0
    value = pool[int(rng.random() * len(pool))]
    return value if len(pool) >= FEW else value * math.exp(rng.gauss(0, WIDEN_SIGMA))
