"""Query latency on a large store, over HTTP from this (separate) process.

Builds (once, cached under --work) a SQLite store of N synthetic events written with the
store's own insert path (corridor.store.events.insert_events: the same rows and indexes the
capture path writes; the ledger is not involved in reads so it is skipped to build 1M events in
minutes), starts `corridor serve` on it in a subprocess, and times the three queries of the
brief through GET /epcis/events:

  MATCH_epc=<one EPC>                      (one event)
  EQ_bizStep=<step>&GE_eventTime&LT_eventTime  (one day: ~40 of ~350 events per page of 100)
  WD_bizLocation=<site>                    (a site and its 5 sub-locations, first page)

Prints p50/p95/p99 per query for a member party that captured the events and for an admin.
Usage: python bench/bench_query.py [--events 1000000] [--requests 300] [--work DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from bench_capture import RawClient

from corridor.epcis.identifiers import canonical
from corridor.store import parties as party_store
from corridor.store.db import Database
from corridor.store.event_index import IndexedEvent
from corridor.store.events import (
    EventRow,
    EventRun,
    IndexRows,
    add_location_children,
    insert_events,
)
from corridor.store.migrations import migrate

STEPS = ["shipping", "receiving", "loading", "unloading", "departing", "arriving",
         "inspecting", "storing"]
SITES = 400  # parent sites, each with 5 sub-locations
PARTY = "urn:epc:id:pgln:0614141.00001"


def _loc(site: int, sub: int) -> str:
    return f"urn:epc:id:sgln:0614141.{site:03d}{sub:02d}.0"


def _time(k: int) -> str:
    t = 1735689600 + k * 31  # from 2025-01-01, one event every 31 s
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000000Z"


def build(db_url: str, n: int) -> dict[str, str]:
    db = Database(db_url)
    keys: dict[str, str] = {}
    with db.connect() as conn:
        migrate(db, conn)
        member, keys["member"] = party_store.add_party(conn, "Member", PARTY)
        _admin, keys["admin"] = party_store.add_party(conn, "Admin",
                                                      "urn:epc:id:pgln:9999999.00001",
                                                      role="admin")
        with conn.transaction():
            add_location_children(conn, [(_loc(s, 0), _loc(s, c)) for s in range(SITES)
                                         for c in range(1, 6)])
        chunk = 20000
        t0 = time.perf_counter()
        for start in range(0, n, chunk):
            rows, indexed = [], []
            for k in range(start, min(n, start + chunk)):
                site, sub = k % SITES, (k // SITES) % 6
                loc = canonical(_loc(site, sub))
                ix = IndexedEvent("ObjectEvent", "OBSERVE", _time(k), STEPS[k % len(STEPS)],
                                  "in_transit", loc, loc, None, None)
                ix.epcs = [("epc", canonical(f"urn:epc:id:sgtin:0614141.812345.{k}"), None,
                            None),
                           ("epc", canonical(f"urn:epc:id:sgtin:0614141.812346.{k}"), None,
                            None)]
                ix.fields = [("bizTransaction:po", f"urn:epcglobal:cbv:bt:0614141000005:{k}",
                              None)]
                ix.parties = {("source:owning_party", canonical(PARTY))}
                doc = json.dumps({"type": "ObjectEvent", "eventID": f"urn:uuid:bench-{k}",
                                  "action": "OBSERVE", "eventTime": _time(k)[:23] + "Z",
                                  "eventTimeZoneOffset": "+00:00",
                                  "epcList": [f"urn:epc:id:sgtin:0614141.812345.{k}",
                                              f"urn:epc:id:sgtin:0614141.812346.{k}"],
                                  "bizStep": STEPS[k % len(STEPS)],
                                  "bizLocation": {"id": _loc(site, sub)}},
                                 separators=(",", ":"))
                rows.append(EventRow(f"urn:uuid:bench-{k}", f"ni:///sha-256;{k:064x}?ver=CBV2.0",
                                     f"bench-{k}", doc, _time(k), ix.columns(), log_index=k))
                indexed.append(ix)
            with conn.transaction():
                ids = conn.next_ids_of({"events": len(rows)})["events"]
                insert_events(conn, [EventRun(rows, IndexRows.of(indexed), member.id, PARTY,
                                              None)], ids)
            done = min(n, start + chunk)
            rate = done / (time.perf_counter() - t0)
            print(f"\r  loaded {done:,} events ({rate:,.0f}/s)", end="", flush=True)
        print()
        conn.execute("ANALYZE")
    return keys


def serve(db_url: str, data_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "CORRIDOR_DATA_DIR": str(data_dir)}
    corridor = str(Path(sys.executable).parent / "corridor")
    proc = subprocess.Popen([corridor, "serve", "--db", db_url,
                             "--port", str(port)], env=env, cwd=data_dir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/epcis/eventTypes", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(base: str, key: str, n: int, requests: int, rng: random.Random) -> None:
    def match_epc() -> dict[str, str]:
        k = rng.randrange(n)
        return {"MATCH_epc": f"urn:epc:id:sgtin:0614141.812345.{k}"}

    def step_window() -> dict[str, str]:
        k = rng.randrange(n - 3000)
        return {"EQ_bizStep": STEPS[rng.randrange(len(STEPS))], "GE_eventTime": _time(k)[:19]
                + "Z", "LT_eventTime": _time(k + 2787)[:19] + "Z"}

    def wd_location() -> dict[str, str]:
        return {"WD_bizLocation": _loc(rng.randrange(SITES), 0)}

    asyncio.run(_timed(base, key, requests, (("MATCH_epc", match_epc),
                                              ("EQ_bizStep+window", step_window),
                                              ("WD_bizLocation", wd_location))))


async def _timed(base: str, key: str, requests: int, queries: tuple) -> None:
    host, port = base.split("//")[1].split(":")
    client = RawClient(host, int(port), {"Authorization": f"Bearer {key}"})
    try:
        for name, make in queries:
            times: list[float] = []
            counts: list[int] = []
            for i in range(requests + 20):
                target = "/epcis/events?" + urlencode(make())
                t = time.perf_counter()
                status, body = await client.request("GET", target)
                dt = (time.perf_counter() - t) * 1000
                if status != 200:
                    raise SystemExit(f"{name}: HTTP {status} {body[:300]!r}")
                if i >= 20:  # warm-up excluded
                    times.append(dt)
                    counts.append(body.count(b'"eventID"'))
            print(f"  {name:<20} p50 {statistics.median(times):6.1f} ms   p95 "
                  f"{percentile(times, 0.95):6.1f} ms   p99 {percentile(times, 0.99):6.1f} ms"
                  f"   (events per response: median {statistics.median(counts):.0f})")
    finally:
        await client.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--work", type=Path, default=Path("/tmp/corridor-bench-query"))
    ap.add_argument("--port", type=int, default=8731)
    args = ap.parse_args()
    data_dir = args.work / f"n{args.events}"
    db_path = data_dir / "corridor.sqlite3"
    keys_file = data_dir / "keys.json"
    db_url = f"sqlite:///{db_path}"
    if not keys_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        if db_path.exists():
            db_path.unlink()
        print(f"building a store of {args.events:,} events in {db_path} ...")
        keys_file.write_text(json.dumps(build(db_url, args.events)))
    keys = json.loads(keys_file.read_text())
    proc = serve(db_url, data_dir, args.port)
    try:
        rng = random.Random(7)
        base = f"http://127.0.0.1:{args.port}"
        print(f"store: {args.events:,} events, SQLite; {args.requests} requests per query,"
              " perPage 100 (default), load from this process, server in another")
        for who in ("member", "admin"):
            print(f" as {who}:")
            run(base, keys[who], args.events, args.requests, rng)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
