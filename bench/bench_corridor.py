"""The corridor page's server time (/corridor, corridor.monitoring.legs) at N events.

Loads a small demo (parties, places), then captures generated journeys through the capture
path (corridor.capture.capture_document, documents of 1,000 events): units running along the
demo's places with random dwell and transit times, ten events per unit. Then serves the page
in-process (ASGI, no network) as the consortium auditor and prints the first (cold: journeys
and figures built) and the median of the following runs. Target: median < 300 ms.

    .venv/bin/python bench/bench_corridor.py [--events 1000000] [--runs 15] [--store DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient  # in-process ASGI: no network in the figures

from corridor.app import create_app
from corridor.capture import capture_document
from corridor.config import Settings
from corridor.demo import demo_api_key, load_demo
from corridor.demo.geography import PLACES
from corridor.demo.scenario import document
from corridor.epcis.documents import read_document
from corridor.node import open_ledger
from corridor.store.db import Database

BATCH = 1000
START = datetime(2025, 1, 6, tzinfo=UTC)


def _events(rng: random.Random, serial: int) -> list[dict[str, object]]:
    """Ten events of one unit: arriving and departing at five consecutive places."""
    first = rng.randrange(0, len(PLACES) - 5)
    t = START + timedelta(hours=rng.uniform(0, 24 * 500))
    epc = f"urn:epc:id:sscc:4870101.{9_000_000_000 + serial:010d}"
    out: list[dict[str, object]] = []
    for place in PLACES[first:first + 5]:
        for step in ("arriving", "departing"):
            out.append({"type": "ObjectEvent", "action": "OBSERVE", "epcList": [epc],
                        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "eventTimeZoneOffset": "+00:00", "bizStep": step,
                        "readPoint": {"id": place.sgln}, "bizLocation": {"id": place.sgln}})
            t += timedelta(hours=rng.uniform(2, 60) if step == "arriving"
                           else rng.uniform(12, 120))
    return out


def build_store(settings: Settings, events: int) -> float:
    """Capture `events` generated events (after a small demo); the seconds it took."""
    start = time.perf_counter()
    summary = load_demo(settings, shipments=10)
    party = next(p for p in summary.parties if p.slug == "kzrail")
    db = Database(settings.db_url)
    ledger = open_ledger(settings, db)
    conn = db.connect()
    rng = random.Random(20260101)
    try:
        batch: list[dict[str, object]] = []
        serial = 0
        while serial * 10 < events:
            batch += _events(rng, serial)
            serial += 1
            if len(batch) >= BATCH or serial * 10 >= events:
                doc = document(batch, "2026-12-01T00:00:00Z")
                parsed = read_document(json.dumps(doc).encode(), "application/ld+json")
                result = capture_document(conn, ledger, parsed, party_id=party.party_id,
                                          party_identifier=party.identifier)
                if not result.success:
                    raise SystemExit(f"capture refused: {result.errors[:3]}")
                batch = []
        ledger.sign_now()
    finally:
        conn.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--store", type=Path, default=None,
                        help="a data directory this bench loaded before: measure it again")
    args = parser.parse_args()
    if args.store is not None:
        settings = Settings(data_dir=args.store)
        print(f"store: {args.store} as loaded before")
    else:
        data_dir = Path(tempfile.mkdtemp(prefix=f"corridor-bench-corridor-{args.events}-"))
        settings = Settings(data_dir=data_dir)
        seconds = build_store(settings, args.events)
        print(f"store: {args.events:,} generated events + a 10-shipment demo, loaded in "
              f"{seconds:.1f} s ({data_dir})")
    headers = {"Authorization": f"Bearer {demo_api_key(7, 'auditor')}"}
    with TestClient(create_app(settings)) as client:
        times = []
        for _ in range(args.runs + 1):
            begin = time.perf_counter()
            r = client.get("/corridor", headers=headers)
            times.append((time.perf_counter() - begin) * 1000)
            if r.status_code != 200:
                raise SystemExit(f"/corridor: HTTP {r.status_code}")
        begin = time.perf_counter()
        client.get("/api/corridor/legs?from=2025-03-01&to=2025-06-01", headers=headers)
        filtered = (time.perf_counter() - begin) * 1000
    median = statistics.median(times[1:])
    print(f"/corridor first (journeys and figures built): {times[0]:.0f} ms")
    print(f"/corridor median of {args.runs}: {median:.1f} ms (target < 300 ms) "
          f"{'OK' if median < 300 else 'OVER'}")
    print(f"/api/corridor/legs with a new date filter (cut once): {filtered:.0f} ms")


if __name__ == "__main__":
    main()
