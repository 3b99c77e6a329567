"""Capture throughput over HTTP, ledger included, with the load in this (separate) process.

Starts `corridor serve` in a subprocess on a fresh store, then:
  1. documents: POST /epcis/capture of JSON-LD documents of --per-doc events each (distinct
     events), one after another; events/s = events stored / wall time (202 + job success).
  2. single events: POST /epcis/events from --clients concurrent clients; events/s and
     p50/p99 latency. With --wrk-seconds N, wrk (C; apt-get install wrk) sends them for N
     seconds instead, from its own process, at a fraction of this client's CPU per request.
Each measure runs --rounds times on the same server (fresh events each time); the medians
are printed at the end, with the server's CPU time per event beside each figure.
Usage: python bench/bench_capture.py [--db sqlite|postgresql] [--docs 10] [--per-doc 1000]
                                     [--single 3000 | --wrk-seconds 8] [--clients 50]
                                     [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from corridor.store import parties as party_store
from corridor.store.db import Database
from corridor.store.migrations import migrate

PG = os.environ.get("CORRIDOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def event(k: int, tag: str) -> dict:
    return {
        "type": "ObjectEvent", "action": "OBSERVE",
        "eventTime": f"2026-03-01T{(k // 3600) % 24:02d}:{(k // 60) % 60:02d}:{k % 60:02d}.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:epc:id:sgtin:0614141.812345.{tag}{k}",
                    f"urn:epc:id:sgtin:0614141.812346.{tag}{k}"],
        "bizStep": "shipping", "disposition": "in_transit",
        # a read point per location (a door or a scanner at the site), as real captures have
        "readPoint": {"id": f"urn:epc:id:sgln:0614141.{k % 500:05d}.1"},
        "bizLocation": {"id": f"urn:epc:id:sgln:0614141.{k % 500:05d}.0"},
        "bizTransactionList": [{"type": "po",
                                "bizTransaction": f"urn:epcglobal:cbv:bt:0614141000005:{k}"}],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}],
        "destinationList": [{"type": "owning_party",
                             "destination": "urn:epc:id:pgln:4012345.00001"}],
    }


def document(events: list[dict]) -> bytes:
    return json.dumps({"@context": [CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
                       "creationDate": "2026-01-01T00:00:00Z",
                       "epcisBody": {"eventList": events}}).encode()


def store_url(kind: str, work: Path, prefix: str = "bench_", pg: str = PG
              ) -> tuple[str, str | None]:
    """A fresh store's URL: an SQLite file in `work`, or a new PostgreSQL schema on `pg`
    (returned too, for drop_db)."""
    if kind == "sqlite":
        return f"sqlite:///{work / 'corridor.sqlite3'}", None
    import psycopg

    schema = prefix + secrets.token_hex(4)
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}", schema


def prepare_db(kind: str, work: Path) -> tuple[str, str, str | None]:
    url, schema = store_url(kind, work)
    db = Database(url)
    with db.connect() as conn:
        migrate(db, conn)
        _party, key = party_store.add_party(conn, "Bench", "urn:epc:id:pgln:0614141.00001")
    return url, key, schema


def drop_db(schema: str | None, pg: str = PG) -> None:
    """Remove what store_url made on PostgreSQL (an SQLite store goes with its folder)."""
    if schema:
        import psycopg

        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def serve(url: str, work: Path, port: int) -> subprocess.Popen:
    corridor = str(Path(sys.executable).parent / "corridor")
    env = {**os.environ, "CORRIDOR_DATA_DIR": str(work), "CORRIDOR_MAX_CAPTURE_EVENTS": "100000"}
    # BENCH_SERVER_OUT=1: the server's output on this terminal (a temporary print in it)
    out = None if os.environ.get("BENCH_SERVER_OUT") else subprocess.DEVNULL
    proc = subprocess.Popen([corridor, "serve", "--db", url, "--port", str(port)], env=env,
                            cwd=work, stdout=out, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/epcis/eventTypes", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


async def bench_documents(base: str, key: str, docs: int, per_doc: int, pid: int,
                          tag: str = "D", clients: int = 1) -> float:
    """Events/s stored over the whole run (also printed): `docs` documents posted by
    `clients` concurrent clients (1: one after another)."""
    host, port = base.split("//")[1].split(":")
    bodies = [document([event(d * per_doc + i, tag) for i in range(per_doc)])
              for d in range(docs + 1)]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/ld+json"}
    conns = [RawClient(host, int(port), headers) for _ in range(clients)]
    await conns[0].request("POST", "/epcis/capture", bodies[0])  # warm-up, not counted
    rates: list[float] = []
    stored = 0
    todo = iter(bodies[1:])

    async def worker(client: RawClient) -> None:
        nonlocal stored
        for body in todo:
            t = time.perf_counter()
            status, raw = await client.request("POST", "/epcis/capture", body)
            dt = time.perf_counter() - t
            job = json.loads(raw)
            if status != 202 or not job.get("success"):
                raise SystemExit(f"capture failed: {status} {raw[:300]!r}")
            stored += sum(1 for e in job["events"] if not e["duplicate"])
            rates.append(per_doc / dt)

    t_all, cpu0 = time.perf_counter(), cpu_snapshot(pid)
    writer0 = thread_times(pid, "capture-writer")
    await asyncio.gather(*(worker(c) for c in conns))
    wall, cpu1 = time.perf_counter() - t_all, cpu_snapshot(pid)
    writer, queued = (b - a for a, b in zip(writer0, thread_times(pid, "capture-writer"),
                                            strict=True))
    server = cpu1["server"] - cpu0["server"]
    for c in conns:
        await c.close()
    print(f"  documents: {docs} x {per_doc} events, {len(bodies[1]) / 1e6:.2f} MB each,"
          f" {clients} client{'s' if clients > 1 else ''}: {stored / wall:,.0f} events/s"
          f" overall, median per document {statistics.median(rates):,.0f} events/s;"
          f" server CPU per event {server / max(stored, 1) * 1e6:.0f} us")
    print(f"    {cpu_report(cpu0, cpu1, stored)}")
    # the serial stage: one thread commits every document
    print(f"    writer thread: {writer / max(stored, 1) * 1e6:.0f} us per event; on a core"
          f" {writer / wall:.0%} of the run, waiting for one {queued / wall:.0%}")
    return stored / wall


class RawClient:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams. The load generator must
    cost far less than the server it measures; httpx spends ~10 ms of CPU per request here."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\n{self.head}"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        chunked = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            return status, b"".join(parts)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server process."""
    stat = _stat(pid)
    return stat[2] if stat else 0.0


def _stat(pid: int | str) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU seconds) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    return (text[text.index("(") + 1:text.rindex(")")], int(fields[1]),
            (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))


def thread_times(pid: int, name: str) -> tuple[float, float]:
    """(seconds on a core, seconds runnable but waiting for one) of the threads of process
    `pid` whose OS name is `name` (the capture writer names itself "capture-writer"), from
    the scheduler's schedstat."""
    run = wait = 0.0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            if (task / "comm").read_text().strip() != name:
                continue
            on_cpu, queued = (task / "schedstat").read_text().split()[:2]
        except (OSError, ValueError):
            continue
        run, wait = run + int(on_cpu) / 1e9, wait + int(queued) / 1e9
    return run, wait


def cpu_snapshot(server: int) -> dict[str, float]:
    """CPU seconds so far of everything a capture costs on this machine: the server process,
    its worker processes, the database server's processes (PostgreSQL: all of them, the WAL
    writer and checkpointer included) and this load generator."""
    out = {"server": server_cpu(server), "workers": 0.0, "database": 0.0,
           "load": time.process_time()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == server:
            continue
        stat = _stat(entry.name)
        if stat is None:
            continue
        name, parent, cpu = stat
        kind = ("workers" if parent == server
                else "database" if name.startswith("postgres") else None)
        if kind is not None:
            out[kind] += cpu
    return out


def cpu_report(before: dict[str, float], after: dict[str, float], events: int) -> str:
    """CPU per event of each part, their total, and the rate that total allows on this
    machine's cores: what the machine, not the code, can give."""
    per = {k: (after[k] - before[k]) / max(events, 1) * 1e6 for k in before}
    total = sum(per.values())
    parts = ", ".join(f"{k} {v:.0f}" for k, v in per.items() if v >= 0.5)
    return (f"CPU per event (us): {parts}; total {total:.0f}, which {os.cpu_count()} cores"
            f" allow {os.cpu_count() / max(total, 1e-9) * 1e6:,.0f} events/s at most")


async def bench_single(base: str, key: str, total: int, clients: int, pid: int,
                       tag: str = "S") -> tuple[float, float]:
    """(events/s, p99 ms), also printed."""
    host, port = base.split("//")[1].split(":")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    latencies: list[float] = []
    failures = 0
    counter = iter(range(total))
    bodies = [json.dumps(event(k, tag)).encode() for k in range(total)]

    async def worker(client: RawClient) -> None:
        nonlocal failures
        for k in counter:
            t = time.perf_counter()
            status, _ = await client.request("POST", "/epcis/events", bodies[k])
            latencies.append((time.perf_counter() - t) * 1000)
            if status != 201:
                failures += 1

    conns = [RawClient(host, int(port), headers) for _ in range(clients)]
    await conns[0].request("POST", "/epcis/events",
                           json.dumps(event(10**9, "W" + tag)).encode())
    snap0 = cpu_snapshot(pid)
    t = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    wall = time.perf_counter() - t
    snap1 = cpu_snapshot(pid)
    cpu, server = snap1["load"] - snap0["load"], snap1["server"] - snap0["server"]
    for c in conns:
        await c.close()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    print(f"  single events: {total} POST /epcis/events, {clients} concurrent clients:"
          f" {total / wall:,.0f} events/s, p50 {statistics.median(latencies):.1f} ms,"
          f" p99 {p99:.1f} ms, failures {failures}; CPU per request: server"
          f" {server / total * 1000:.2f} ms, load generator {cpu / total * 1000:.2f} ms")
    print(f"    {cpu_report(snap0, snap1, total)}")
    return total / wall, p99


# wrk sends line k of the bodies file as its k-th request (-t1: one thread, one counter), so
# every event is distinct as long as the file lasts (then repeats come back 409, counted as
# failures).
_WRK_SCRIPT = """
local bodies, k = {}, 0
for line in io.lines(os.getenv("CORRIDOR_BENCH_BODIES")) do bodies[#bodies + 1] = line end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("CORRIDOR_BENCH_KEY")
request = function()
  k = k + 1
  return wrk.format(nil, "/epcis/events", nil, bodies[(k - 1) % #bodies + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("WRK %d %d %d %.3f %.3f %.3f %.3f\\n", summary.requests,
                         summary.errors.status, summary.duration, latency:percentile(99) / 1000,
                         latency:percentile(50) / 1000, latency:percentile(90) / 1000,
                         latency.max / 1000))
end
"""


def bench_single_wrk(base: str, key: str, seconds: int, clients: int, pid: int, work: Path,
                     tag: str = "W") -> tuple[float, float]:
    """Single events with wrk (C; Debian's wrk package) as the load generator for `seconds`:
    it costs a fraction of this Python client's CPU per request, so more of the machine is
    left to the server, as with clients on other machines. (events/s, p99 ms), printed."""
    import resource

    if shutil.which("wrk") is None:
        raise SystemExit("--wrk-seconds needs wrk: apt-get install wrk")
    bodies = work / f"bodies-{tag}.txt"
    bodies.write_text("".join(json.dumps(event(k, tag)) + "\n"
                              for k in range(seconds * 6000)))
    script = work / "single.lua"
    script.write_text(_WRK_SCRIPT)
    env = {**os.environ, "CORRIDOR_BENCH_BODIES": str(bodies), "CORRIDOR_BENCH_KEY": key}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    snap0 = cpu_snapshot(pid)
    out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "-s", str(script),
                          base], env=env, capture_output=True, text=True, check=True).stdout
    snap1 = cpu_snapshot(pid)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    requests, bad, micros, p99, p50, p90, top = next(
        x for x in out.splitlines() if x.startswith("WRK ")).split()[1:]
    sent = int(requests)
    # wrk's CPU in place of this process's
    snap1["load"] = snap0["load"] + (after.ru_utime + after.ru_stime
                                     - before.ru_utime - before.ru_stime)
    print(f"  single events (wrk): {sent} POST /epcis/events, {clients} connections:"
          f" {sent / (int(micros) / 1e6):,.0f} events/s, p99 {float(p99):.1f} ms,"
          f" failures {int(bad)} (p50 {float(p50):.1f}, p90 {float(p90):.1f},"
          f" max {float(top):.1f} ms)")
    print(f"    {cpu_report(snap0, snap1, sent)}")
    return sent / (int(micros) / 1e6), float(p99)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--docs", type=int, default=10)
    ap.add_argument("--per-doc", type=int, default=1000)
    ap.add_argument("--single", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--doc-clients", type=int, default=1,
                    help="concurrent clients posting documents (1: one after another)")
    ap.add_argument("--port", type=int, default=8732)
    ap.add_argument("--wrk-seconds", type=int, default=0,
                    help="single events from wrk (C) for this long instead of --single from"
                         " this process")
    ap.add_argument("--rounds", type=int, default=3,
                    help="repeat both measures (fresh events each time); medians at the end")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="corridor-bench-capture-"))
    url, key, schema = prepare_db(args.db, work)
    proc = serve(url, work, args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        print(f"capture over HTTP into {args.db} (ledger included), server in a subprocess,"
              f" load from this process; {os.cpu_count()} CPUs, load average"
              f" {os.getloadavg()[0]:.1f}")
        doc_rates, single = [], []
        for r in range(args.rounds):
            print(f" round {r + 1} of {args.rounds}")
            if args.docs:
                doc_rates.append(asyncio.run(bench_documents(
                    base, key, args.docs, args.per_doc, proc.pid, f"D{r}", args.doc_clients)))
            if args.wrk_seconds:
                single.append(bench_single_wrk(base, key, args.wrk_seconds, args.clients,
                                               proc.pid, work, f"W{r}"))
            elif args.single:
                single.append(asyncio.run(bench_single(base, key, args.single, args.clients,
                                                       proc.pid, f"S{r}")))
        if doc_rates:
            print(f"median of {len(doc_rates)}: documents {statistics.median(doc_rates):,.0f}"
                  " events/s")
        if single:
            print(f"median of {len(single)}: single events"
                  f" {statistics.median(s[0] for s in single):,.0f} events/s,"
                  f" p99 {statistics.median(s[1] for s in single):.1f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
        drop_db(schema)


if __name__ == "__main__":
    main()
