"""Forecast refresh of 10,000 units in transit (corridor.monitoring.eta; target: within 1 s of
an event).

Loads the demo (--shipments, history the model learns from) into a fresh SQLite store, runs the
service's first pass (the learn), then puts --units units in transit beside it: each a copy of
a past journey cut after one of its stops (so each stands somewhere history knows). Then
times, --rounds times each, medians printed:
  all      an event that touches every unit (a notice): every forecast refreshed
  one      an event that touches one unit: its journey rebuilt and forecast, plus the scan of
           every unit's stay against its node's p90 that each pass makes
  relearn  the model learned again from every journey, then every forecast refreshed
Usage: python bench/bench_eta_refresh.py [--shipments 200] [--units 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corridor.config import Settings
from corridor.demo import load_demo
from corridor.monitoring.eta import EtaService
from corridor.monitoring.journeys import Journey
from corridor.query.places import stored_places
from corridor.store.db import Database


def in_transit(history: list[Journey], count: int, seed: int = 1) -> list[Journey]:
    """`count` journeys cut after one of their stops (not their last), under new names."""
    rng = random.Random(seed)
    ended = [j for j in history if j.ended and len(j.stops) > 2]
    out = []
    for i in range(count):
        j = rng.choice(ended)
        cut = rng.randrange(1, len(j.stops) - 1)
        stops = tuple(replace(s, final=False) for s in j.stops[:cut])
        out.append(Journey(f"{j.unit}/{i}", stops, stops[-1].left))
    return out


def _timed(fn: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shipments", type=int, default=200)
    ap.add_argument("--units", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        load_demo(settings, shipments=args.shipments)
        db = Database(settings.db_url)
        conn = db.connect()
        service = EtaService(db, cache_key="bench")
        started = time.perf_counter()
        service.refresh(conn)
        first = time.perf_counter() - started
        state = service.state
        places = stored_places(conn)
        units = in_transit(list(state.journeys.values()), args.units)
        for j in units:
            state.set_journey(j, leaving=False)
        names = [j.unit for j in units]
        state.refresh(names, [])  # warm: the routes' simulations are cached per week
        now = max(j.last_event for j in units)
        one = names[len(names) // 2]

        def touch_one() -> None:
            state.refresh([one], [])
            state.dwell_alerts(now, None)

        figures = {
            "all": _timed(lambda: state.refresh(names, []), args.rounds),
            "one": _timed(touch_one, args.rounds),
            "relearn": _timed(lambda: (state.learn([], places), state.refresh(names, [])),
                              args.rounds),
        }
        conn.close()
    forecasts = sum(1 for u in names if state.forecasts.get(u) is not None)
    print(f"history: {args.shipments} demo shipments; first pass (learn, forecast) "
          f"{first * 1000:.0f} ms")
    print(f"units in transit: {len(names)}, with a forecast: {forecasts}")
    for name, seconds in figures.items():
        verdict = "ok" if seconds <= 1.0 else "OVER 1 s"
        print(f"refresh after {name:8s} {seconds * 1000:8.1f} ms  ({verdict})")


if __name__ == "__main__":
    main()
