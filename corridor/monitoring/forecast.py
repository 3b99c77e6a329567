"""Arrival forecasts from history alone (docs/monitoring.md, "Forecasts"): pure, no database.

What history says is a Model (corridor.monitoring.forecast_model). A forecast simulates the
rest of a unit's journey from its current stop to its destination: the current stay's
residual (past stays there that lasted longer, had at least as many events and every bizStep
seen so far, so that a stay with a `holding` draws from past held stays; those that ended
with exactly as many events say the unit may have left already), timed from the first event
of the stay's latest new bizStep when it came after the arrival (after a `loading` what is
left is about the same whoever was held before), then leg, stay, leg...
along next places taken as often as history took them (`remaining`: the most probable way),
each drawn from past samples of the same season and, at a node with a notice in force at the
simulated arrival, from past stays under notices. Few samples widen the draws. The route's
draws are shared per (place, destination, week) so that refreshing many units is cheap; the
pairing with the current stay's residual is rotated by a seed taken from the unit key, so a
forecast is the same for the same inputs.
"""

from __future__ import annotations

import bisect
import math
import operator
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from corridor.monitoring.forecast_draws import (
    FEW,
    WIDEN_SIGMA,
    Interval,
    Route,
    day_of_year,
    draw,
    hours_of,
    in_force,
    quantile,
)
from corridor.monitoring.forecast_model import Model
from corridor.monitoring.journeys import Journey, Stop
from corridor.monitoring.notices import Notice

__all__ = ["Forecast", "Model", "day_of_year", "forecast", "in_force"]


@dataclass(frozen=True)
class Forecast:
    unit: str
    destination: str
    p10: datetime
    p50: datetime
    p90: datetime
    as_of: datetime  # time of the last event the forecast rests on
    basis: tuple[str, ...]  # legs and stays left with their samples, notices, destination
    remaining: tuple[str, ...]  # the place keys still to come, in order


def _residual(model: Model, journey: Journey, week: int, noticed: bool, k: int
              ) -> tuple[list[float], float, str]:
    """Sorted draws of the time from the last event to leaving the current stop, less the
    shift returned (so that the usual case costs no pass over the draws)."""
    stop = journey.stops[-1]
    spent = stop.hours
    at = f"at {stop.key} for {spent:.0f} h after {stop.events} events"
    exact, more, said, start = _timed_from_last_step(model, stop, week, noticed)
    m = exact + len(more) - start
    if m:
        step, since = stop.firsts[-1]
        spent = hours_of(stop.left - since)
        at += f", {spent:.0f} h since its first {step}"
    else:
        exact, more, said = model.residual_pool(stop.key, week, noticed, stop.events,
                                                 stop.steps)
        start = bisect.bisect_left(more, spent)
        m = exact + len(more) - start
    if not m:
        pool = model.stay_pool(stop.key, week, noticed)[0]
        if not pool:
            return [0.0] * k, 0.0, f"{at}: no past stay there, taken as leaving now"
        rng = random.Random(journey.unit)
        fresh = sorted(draw(rng, pool) for _ in range(k))
        return fresh, 0.0, (f"{at}: longer than any of {len(pool)} past stays, the rest drawn " \
                      "as a whole new stay")
    zeros, picked = model.memo(("spread", id(more), exact, start, k),
                               lambda: _spread(exact, more[start:], k))
    text = f"{at}: the rest from {m} past stays ({said}); {exact} of them ended after " \
           f"{stop.events} events"
    if m < FEW:
        rng = random.Random(journey.unit)
        out = sorted(max(v - spent, 0.0) * math.exp(rng.gauss(0, WIDEN_SIGMA))
                     for v in [spent] * zeros + picked)
        return out, 0.0, text + f" (fewer than {FEW}: drawn wider)"
    return [spent] * zeros + picked, spent, text


def _timed_from_last_step(model: Model, stop: Stop, week: int, noticed: bool
                          ) -> tuple[int, list[float], str, int]:
    """The residual pool timed from the stop's latest new bizStep, when it came after the
    arrival and enough past stays had it: what is left after a step is often much the same
    whatever came before. The start of those still under way in the sorted lengths; all
    empty when there is no such pool or the stay is past all of it."""
    if not stop.firsts:
        return 0, [], "", 0
    step, since = stop.firsts[-1]
    found = None if since <= stop.arrived else \
        model.residual_after(stop.key, week, noticed, stop.events, stop.steps, step)
    if found is None:
        return 0, [], "", 0
    exact, more, said = found
    return exact, more, said, bisect.bisect_left(more, hours_of(stop.left - since))


def _spread(exact: int, tail: Sequence[float], k: int) -> tuple[int, list[float]]:
    """k draws evenly spread over `exact` stays over now and the (sorted) longer `tail`: how
    many are over, and the lengths of the rest. The route's draws bring the randomness."""
    m = exact + len(tail)
    zeros = -(-exact * k // m)
    return zeros, [tail[i * m // k - exact] for i in range(zeros, k)]


def _under_notices(route: Route, by_node: dict[str, list[Interval]], base: datetime,
                   residual: list[float], hours: list[float], rot: int
                   ) -> tuple[list[float], list[str]]:
    """Stays on the way whose simulated arrival falls in a notice's period, redrawn from
    past stays under notices (a second notice node further on sees the arrival as drawn
    without the first: an approximation that keeps this one pass per node)."""
    k = len(hours)
    out = list(hours)
    said = []
    for place, visits in route.visits().items():
        intervals = by_node.get(place)
        if not intervals:
            continue
        # every simulated arrival is after the last event: periods over by then never hit
        spans = [(hours_of(f - base), math.inf if u is None else hours_of(u - base))
                 for f, u in intervals if u is None or u > base]
        if not spans:
            continue
        hit = 0
        for r, arrive, delta in visits:
            i = (r - rot) % k
            when = residual[i] + arrive
            for lo, hi in spans:
                if lo <= when < hi:
                    out[i] += delta
                    hit += 1
                    break
        if hit:
            said.append(f"{place}: a notice is in force at {100 * hit // k} % of the "
                        "simulated arrivals; those stays drawn from past stays under notices")
    return out, said


def forecast(model: Model, journey: Journey, notices: Sequence[Notice] = (), *,
             destination: str | None = None, now: datetime | None = None,
             samples: int = 500) -> Forecast | None:
    """p10/p50/p90 of the unit's arrival at its destination; None once its journey ended,
    or where history knows no route from its stop to the destination."""
    if journey.ended or not journey.stops:
        return None
    stop = journey.stops[-1]
    base = journey.last_event
    now = max(now or base, base)
    if destination is not None:
        why = f"destination {destination}: given"
    else:
        found = model.destination_of(journey.stops[0].key)
        if found is None:
            return None
        destination, why = found
    if stop.key == destination:
        return Forecast(journey.unit, destination, stop.arrived, stop.arrived, stop.arrived,
                        base, (why, f"arrived at {destination}"), ())
    week = int(day_of_year(base) // 7)
    route = model.route(stop.key, destination, week, samples)
    if route is None:
        return None
    by_node = model.notice_intervals(notices)
    here = by_node.get(stop.key, [])
    noticed = in_force(here, stop.arrived, now)
    rot = zlib.crc32(journey.unit.encode()) % samples  # the same unit, the same pairing
    residual, shift, stay_said = _residual(model, journey, week, noticed, samples)
    total = route.total[rot:] + route.total[:rot]
    hours = list(map(operator.add, residual, total))
    said = [why, stay_said, *route.basis]
    noticed_on = bool(by_node) and not by_node.keys().isdisjoint(route.reach)
    waited = hours_of(now - base)
    if shift and (noticed_on or waited > 0):
        residual = [r - shift for r in residual]
        hours = [h - shift for h in hours]
        shift = 0.0
    if noticed_on:
        hours, hits = _under_notices(route, by_node, base, residual, hours, rot)
        said += hits
    if waited > 0:  # no event since: the unit has not reached its next place yet
        short = [waited - residual[i] - route.first[(i + rot) % samples]
                 for i in range(samples)]
        # none still on the way: each draw is late by at least what it falls short
        hours = [h for h, d in zip(hours, short, strict=True) if d <= 0] \
            or [h + d for h, d in zip(hours, short, strict=True)]
    if notices:
        said += _notice_lines(notices, model, {stop.key, *route.places, *route.reach}, now)
    hours.sort()
    p10, p50, p90 = (base + timedelta(hours=quantile(hours, 0.1) - shift),
                     base + timedelta(hours=quantile(hours, 0.5) - shift),
                     base + timedelta(hours=quantile(hours, 0.9) - shift))
    return Forecast(journey.unit, destination, p10, p50, p90, base, tuple(said),
                    route.places)


def _notice_lines(notices: Sequence[Notice], model: Model, keys: set[str], now: datetime
                  ) -> list[str]:
    out = []
    for n in notices:
        key = model.node_key(n.node)
        if key in keys and (n.valid_until is None or n.valid_until > now):
            value = f" {n.value} %" if n.value is not None else ""
            until = "until further notice" if n.valid_until is None \
                else f"until {n.valid_until:%Y-%m-%d %H:%M}"
            out.append(f"notice at {key}: {n.kind}{value} from "
                       f"{n.valid_from:%Y-%m-%d %H:%M} {until}")
    return out
