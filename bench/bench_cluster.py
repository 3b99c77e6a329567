"""Many nodes, one log, on PostgreSQL: two `corridor serve` processes on one database sharing
the log key (docs/deploy.md), in subprocesses on loopback.

  1. scale-out: 1,000-event documents captured through one node, then through two (the same
     number of concurrent clients, spread over the nodes): events/s each way, their ratio,
     and the cores the machine has (os.cpu_count()).
  2. failover: both nodes capture small documents steadily while the sequencer node is
     killed with SIGKILL --kills times (restarted each time): the longest takeover, the
     longest gap between consecutive signed checkpoints, acknowledged events missing from
     the store (must be 0), log size = events stored, `corridor log audit` and
     `corridor log verify` of the result, and Go's own sumdb code (tests/go/tlogverify, where
     Go and golang.org/x/mod are installed) on an exported mirror.
  3. load: --clients concurrent clients for --seconds, over both nodes, half single-event
     captures and half queries: requests, errors, p50/p99.

Each node runs with `--threads` (16) so that both stay under PostgreSQL's default
max_connections of 100. Usage:
  python bench/bench_cluster.py [--docs 10] [--kills 20] [--seconds 60] [--clients 200]
                                [--threads 16]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_capture import RawClient, document, drop_db, event, prepare_db

from corridor.node.sequencer import Sequencer
from corridor.store.db import Database

CORRIDOR = str(Path(sys.executable).parent / "corridor")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One `corridor serve` process, killable and restartable on the same port."""

    def __init__(self, url: str, work: Path, threads: int) -> None:
        self.url, self.work, self.port, self.threads = url, work, free_port(), threads
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Node:
        self.work.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CORRIDOR_DATA_DIR": str(self.work),
               "CORRIDOR_MAX_CAPTURE_EVENTS": "100000"}
        out = None if os.environ.get("BENCH_SERVER_OUT") else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [CORRIDOR, "serve", "--db", self.url, "--port", str(self.port),
             "--threads", str(self.threads)],
            env=env, cwd=self.work, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(self.base + "/epcis/eventTypes", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.kill()
        raise SystemExit("corridor serve did not start within 60 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def start_pair(url: str, work: Path, threads: int) -> list[Node]:
    """Two nodes on one database; the second gets a copy of the first one's log key."""
    first = Node(url, work / "a", threads).start()
    (work / "b" / "keys").mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "a" / "keys" / "log.key", work / "b" / "keys" / "log.key")
    return [first, Node(url, work / "b", threads).start()]


def sequencer_of(url: str, nodes: list[Node], timeout: float = 10.0) -> Node:
    probe = Sequencer(Database(url), "bench-probe")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = probe.status()["sequencer"]
        for node in nodes:
            if node.proc is not None and holder == f"{socket.gethostname()}/{node.proc.pid}":
                return node
        time.sleep(0.02)
    raise SystemExit(f"no node holds the sequencer lease after {timeout} s")


# -- 1. scale-out ------------------------------------------------------------------------
async def capture_rate(bases: list[str], key: str, docs: int, clients: int, tag: str
                       ) -> float:
    """Events/s stored: `docs` 1,000-event documents posted by `clients` clients, client i
    to node i mod len(bases)."""
    bodies = iter([document([event(d * 1000 + i, tag) for i in range(1000)])
                   for d in range(docs)])
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/ld+json"}
    stored = 0

    async def worker(base: str) -> None:
        nonlocal stored
        host, port = base.split("//")[1].split(":")
        client = RawClient(host, int(port), headers)
        for body in bodies:
            status, raw = await client.request("POST", "/epcis/capture", body)
            job = json.loads(raw)
            if status != 202 or not job.get("success"):
                raise SystemExit(f"capture failed: {status} {raw[:300]!r}")
            stored += sum(1 for e in job["events"] if not e["duplicate"])
        await client.close()

    t = time.perf_counter()
    await asyncio.gather(*(worker(bases[i % len(bases)]) for i in range(clients)))
    return stored / (time.perf_counter() - t)


def bench_scale(url: str, key: str, nodes: list[Node], docs: int, clients: int) -> None:
    # warm both nodes (first capture builds caches), not counted
    for n, node in enumerate(nodes):
        asyncio.run(capture_rate([node.base], key, 1, 1, f"W{n}x"))
    one = asyncio.run(capture_rate([nodes[0].base], key, docs, clients, "O"))
    two = asyncio.run(capture_rate([n.base for n in nodes], key, docs, clients, "T"))
    print(f"scale-out: {docs} documents x 1,000 events, {clients} clients:"
          f" one node {one:,.0f} events/s, two nodes {two:,.0f} events/s,"
          f" ratio {two / one:.2f} on {os.cpu_count()} cores (PostgreSQL on the same machine)")


# -- 2. failover -------------------------------------------------------------------------
class Feeder:
    """Captures 10-event documents to one node in a loop, keeping the eventIDs of what the
    node acknowledged (202 with success: stored, and logged, in its transaction)."""

    def __init__(self, node: Node, key: str, tag: str) -> None:
        self.node, self.key, self.tag = node, key, tag
        self.acked: set[str] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/ld+json"}
        n = 0
        with httpx.Client(timeout=10.0) as client:
            while not self.stop.is_set():
                events = []
                for _ in range(10):
                    n += 1
                    events.append({**event(n, self.tag), "eventID": f"urn:uuid:{uuid.uuid4()}"})
                try:
                    r = client.post(self.node.base + "/epcis/capture", content=document(events),
                                    headers=headers)
                except httpx.HTTPError:  # the node is down: keep trying
                    time.sleep(0.05)
                    continue
                if r.status_code == 202 and r.json().get("success"):
                    self.acked.update(e["eventID"] for e in events)


def checkpoint_gaps(url: str, start: float, end: float) -> list[float]:
    with Database(url).connect() as conn:
        rows = conn.fetchall("SELECT created_at FROM ledger_checkpoints ORDER BY size")
    times = [t for r in rows if start <= (t := datetime.fromisoformat(r[0]).timestamp()) <= end]
    return [b - a for a, b in itertools.pairwise(times)]


def bench_failover(url: str, key: str, nodes: list[Node], kills: int) -> None:
    feeders = [Feeder(node, key, f"F{i}x") for i, node in enumerate(nodes)]
    threads = [threading.Thread(target=f.run, daemon=True) for f in feeders]
    start = time.time()
    for t in threads:
        t.start()
    takeovers: list[float] = []
    try:
        time.sleep(1.0)
        for _ in range(kills):
            victim = sequencer_of(url, nodes)
            victim.kill()
            killed = time.monotonic()
            heir = sequencer_of(url, [n for n in nodes if n is not victim])
            takeovers.append(time.monotonic() - killed)
            assert heir is not victim
            victim.start()
            time.sleep(0.5)
    finally:
        end = time.time()
        for f in feeders:
            f.stop.set()
        for t in threads:
            t.join(timeout=30)
    acked = set().union(*(f.acked for f in feeders))
    with Database(url).connect() as conn:
        stored = {r[0] for r in conn.fetchall("SELECT event_id FROM events")}
    lost = acked - stored
    gaps = checkpoint_gaps(url, start, end)
    size = wait_signed(url, len(stored))
    print(f"failover: {kills} SIGKILLs of the sequencer node in {end - start:.0f} s of capture"
          f" from both nodes: takeover max {max(takeovers):.2f} s (median"
          f" {statistics.median(takeovers):.2f} s); checkpoint gap max {max(gaps):.2f} s over"
          f" {len(gaps) + 1} checkpoints; {len(acked):,} events acknowledged,"
          f" {len(lost)} lost; log size {size:,} for {len(stored):,} events stored")
    print(f"  {log_checks(url, nodes[0])}")


def wait_signed(url: str, size: int, timeout: float = 30.0) -> int:
    """The size of the newest signed checkpoint, once it reaches `size` (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        with Database(url).connect() as conn:
            row = conn.fetchone("SELECT MAX(size) FROM ledger_checkpoints")
        signed = int(row[0] or 0) if row else 0
        if signed >= size or time.monotonic() > deadline:
            return signed
        time.sleep(0.2)


def log_checks(url: str, node: Node) -> str:
    """`corridor log audit` (store: entries, tiles, checkpoints, events vs entries) and
    `corridor log verify` (from outside, over HTTP), one line each."""
    vkey = httpx.get(node.base + "/log/info", timeout=10).json()["log_vkey"]
    runs = {"audit": [CORRIDOR, "log", "audit", "--data-dir", str(node.work), "--db", url],
            "verify": [CORRIDOR, "log", "verify", node.base + "/log", "--vkey", vkey]}
    mirror = Path(tempfile.mkdtemp(prefix="corridor-mirror-"))
    runs["export"] = [CORRIDOR, "log", "export", str(mirror), "--data-dir", str(node.work),
                      "--db", url]
    go = go_verifier(mirror.parent)
    if go is not None:  # Go's own sumdb code (tests/go/tlogverify) on the exported mirror
        runs["verify with Go's sumdb"] = [go, str(mirror), vkey]
    out = []
    for name, cmd in runs.items():
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        text = (done.stdout + done.stderr).strip().splitlines()
        out.append(f"log {name}: {'ok' if done.returncode == 0 else 'FAILED'}"
                   f" ({text[-1] if text else ''})")
    if go is None:
        out.append("Go's sumdb check skipped: go or golang.org/x/mod not installed")
    shutil.rmtree(mirror, ignore_errors=True)
    return "; ".join(out)


def go_verifier(work: Path) -> str | None:
    """tests/go/tlogverify built with Go in GOPATH mode (Debian's golang-go and
    golang-golang-x-mod-dev), or None where they are missing."""
    go, gopath = shutil.which("go"), os.environ.get("CORRIDOR_GOPATH", "/usr/share/gocode")
    if go is None or not (Path(gopath) / "src/golang.org/x/mod/sumdb/tlog").is_dir():
        return None
    out = work / "tlogverify"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": gopath, "GOCACHE": str(work / "gc")}
    subprocess.run([go, "build", "-o", str(out), "."], env=env, check=True, timeout=300,
                   cwd=Path(__file__).resolve().parents[1] / "tests" / "go" / "tlogverify")
    return str(out)


# -- 3. load -----------------------------------------------------------------------------
async def load(bases: list[str], key: str, clients: int, seconds: float
               ) -> tuple[list[float], list[str]]:
    """(latencies in ms, errors): half the clients capture single events, half query."""
    latencies: list[float] = []
    errors: list[str] = []
    until = time.monotonic() + seconds
    counter = itertools.count()

    async def client(i: int) -> None:
        host, port = bases[i % len(bases)].split("//")[1].split(":")
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        raw = RawClient(host, int(port), headers)
        while time.monotonic() < until:
            t = time.perf_counter()
            try:
                if i % 2:
                    body = json.dumps(event(next(counter), f"L{i}x")).encode()
                    status, text = await raw.request("POST", "/epcis/events", body)
                    ok = status == 201
                else:
                    status, text = await raw.request("GET", "/epcis/events?perPage=20")
                    ok = status == 200
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                # IndexError: an empty status line, the server closed the connection
                ok, status, text = False, 0, repr(exc).encode()
                await raw.close()
                raw = RawClient(host, int(port), headers)  # a fresh connection
            latencies.append((time.perf_counter() - t) * 1000)
            if not ok:
                errors.append(f"{status} {text[:200]!r}")
        await raw.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    return latencies, errors


def bench_load(key: str, nodes: list[Node], clients: int, seconds: float) -> None:
    latencies, errors = asyncio.run(load([n.base for n in nodes], key, clients, seconds))
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    print(f"load: {clients} concurrent clients for {seconds:g} s over two nodes (half"
          f" single-event captures, half queries): {len(latencies):,} requests"
          f" ({len(latencies) / seconds:,.0f}/s), {len(errors)} errors,"
          f" p50 {statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms")
    for e in errors[:3]:
        print(f"  error: {e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10, help="1,000-event documents per rate")
    parser.add_argument("--doc-clients", type=int, default=2,
                        help="concurrent clients posting documents")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load")
    parser.add_argument("--clients", type=int, default=200, help="clients of the load")
    parser.add_argument("--threads", type=int, default=16,
                        help="`serve --threads` of each node: database connections for reads"
                             " (two nodes must stay under PostgreSQL's max_connections)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="corridor-bench-cluster-"))
    url, key, schema = prepare_db("postgresql", work)
    nodes: list[Node] = []
    try:
        nodes = start_pair(url, work, args.threads)
        if args.docs:
            bench_scale(url, key, nodes, args.docs, args.doc_clients)
        if args.kills:
            bench_failover(url, key, nodes, args.kills)
        if args.seconds > 0 and args.clients:
            bench_load(key, nodes, args.clients, args.seconds)
    finally:
        for node in nodes:
            node.stop()
        drop_db(schema)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
