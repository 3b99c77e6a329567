"""Many nodes, one log: two `corridor serve` processes on one PostgreSQL database, sharing the
log key and a witness (`corridor witness serve`, quorum 1). Captures go to both at once while
the sequencer node is killed with SIGKILL and restarted three times: every acknowledged event
is stored and logged, another node takes over within 5 s, signed checkpoints never stop for
5 s, the witness cosigns the final tree, and the log verifies from outside
(`corridor log verify`) and inside (`corridor log audit`). Then 20 clients capture and query
for 10 s across both nodes without one error. Last, `serve --workers 2`: one socket, one
sequencer among the workers, a killed worker replaced; and its refusal on SQLite."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from corridor.node.sequencer import Sequencer
from corridor.store import Database
from tests.api.e2_harness import (
    CORRIDOR,
    Server,
    add_party,
    auth,
    free_port,
    module_db_url,
    object_event,
)
from tests.api.test_crash_sigkill import Stream

KILLS = 3
LOAD_SECONDS = 10.0
CLIENTS = 20


@dataclass
class Cluster:
    db_url: str
    key: str
    nodes: list[Server]
    log_vkey: str
    witness_vkey: str

    def sequencer(self, timeout: float = 5.0) -> Server:
        """The node holding the sequencer lease (as the database tells any node)."""
        probe = Sequencer(Database(self.db_url), "test-probe")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            holder = probe.status()["sequencer"]
            for node in self.nodes:
                if node.proc is not None and holder == f"{_host()}/{node.proc.pid}":
                    return node
            time.sleep(0.05)
        raise AssertionError(f"no node holds the sequencer lease after {timeout} s")


def _host() -> str:
    return socket.gethostname()


def _keygen(name: str, out: Path, *flags: str) -> str:
    """`corridor keygen`: write the key to `out`, return its verifier key."""
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([CORRIDOR, "keygen", name, "--out", str(out), *flags],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def _start_witness(tmp: Path, log_vkey: str) -> tuple[subprocess.Popen, str]:
    """A `corridor witness serve` of the log on loopback: (process, URL=VKEY)."""
    vkey = _keygen("witness.example/w1", tmp / "w1.key", "--cosigner")
    port = free_port()
    proc = subprocess.Popen([CORRIDOR, "witness", "serve", "--key", str(tmp / "w1.key"),
                             "--log", log_vkey, "--state", str(tmp / "w1-state.json"),
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _wait_for(lambda: _listening(port), 30)
    return proc, f"http://127.0.0.1:{port}={vkey}"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
            ) -> Iterator[Cluster]:
    """Two nodes sharing one log key, pushing to one witness (quorum 1)."""
    tmp = tmp_path_factory.mktemp("cluster")
    url = module_db_url("postgresql", tmp, request)
    _, key = add_party(url, "Alpha", "urn:epc:id:pgln:4800000.00001")
    log_vkey = _keygen("corridor.example/log", tmp / "a" / "keys" / "log.key")
    (tmp / "b" / "keys").mkdir(parents=True)
    shutil.copy(tmp / "a" / "keys" / "log.key", tmp / "b" / "keys" / "log.key")
    witness, config = _start_witness(tmp, log_vkey)
    nodes: list[Server] = []
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("CORRIDOR_LOG_ORIGIN", "corridor.example/log")
            env.setenv("CORRIDOR_WITNESSES", config)
            env.setenv("CORRIDOR_WITNESS_QUORUM", "1")
            env.delenv("CORRIDOR_NODE_ID", raising=False)  # each node: its host/pid
            nodes.append(Server(url, tmp / "a").start())  # one at a time: it migrates
            nodes.append(Server(url, tmp / "b").start())
            yield Cluster(url, key, nodes, log_vkey, config.rsplit("=", 1)[1])
    finally:
        for node in nodes:
            node.stop()
        witness.terminate()
        witness.wait(timeout=30)


def _checkpoint_times(db_url: str, start: float, end: float) -> list[float]:
    db = Database(db_url)
    with db.connect() as conn:
        rows = conn.fetchall("SELECT created_at FROM ledger_checkpoints ORDER BY size")
    times = [datetime.fromisoformat(r[0]).timestamp() for r in rows]
    return [t for t in times if start <= t <= end]


def _kill_sequencer(cluster: Cluster) -> float:
    """SIGKILL the sequencer node; how long until another node holds the lease. The killed
    node is restarted."""
    victim = cluster.sequencer()
    victim.kill()
    killed = time.monotonic()
    heir = cluster.sequencer()
    took = time.monotonic() - killed
    assert heir is not victim
    victim.start(timeout=60)
    return took


def test_sigkill_the_sequencer_while_both_nodes_capture(cluster: Cluster) -> None:
    streams = [Stream(node.url, cluster.key, f"f{i}") for i, node in enumerate(cluster.nodes)]
    workers = [threading.Thread(target=s.run, daemon=True) for s in streams]
    start = time.time()
    for w in workers:
        w.start()
    try:
        time.sleep(1.5)
        takeovers = []
        for _ in range(KILLS):
            takeovers.append(_kill_sequencer(cluster))
            time.sleep(1.0)
    finally:
        end = time.time()
        for s in streams:
            s.stop.set()
        for w in workers:
            w.join(timeout=30)
    assert max(takeovers) < 5, f"takeover times {takeovers}"
    acked = set().union(*(s.acked for s in streams))
    assert acked, "no capture was acknowledged: the test proved nothing"
    client = httpx.Client(base_url=cluster.nodes[0].url, timeout=30.0)
    stored: set[str] = set()
    for ids in [ids for s in streams for ids in s.sent]:
        present = [i for i in ids if client.get(f"/epcis/events/{quote(i, safe='')}",
                                                headers=auth(cluster.key)).status_code == 200]
        assert len(present) in (0, len(ids)), f"half-stored document: {present} of {ids}"
        stored.update(present)
    lost = acked - stored
    assert not lost, f"{len(lost)} acknowledged events lost"
    _assert_log_covers(client, len(stored))
    client.close()
    times = _checkpoint_times(cluster.db_url, start, end)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) > 5 and max(gaps) < 5, f"checkpoint gaps {sorted(gaps)[-5:]}"
    _assert_log_verifies(cluster, len(stored))


def test_the_log_after_the_failovers_verifies_with_gos_sumdb_code(
        cluster: Cluster, tlogverify: str, tmp_path: Path) -> None:
    # after the kills above: a static mirror of the log, checked by golang.org/x/mod/sumdb
    node = cluster.nodes[0]
    mirror = tmp_path / "mirror"
    export = subprocess.run([CORRIDOR, "log", "export", str(mirror), "--data-dir",
                             str(node.data_dir), "--db", cluster.db_url], capture_output=True,
                            text=True, timeout=120, check=False)
    assert export.returncode == 0, export.stdout + export.stderr
    checked = subprocess.run([tlogverify, str(mirror), cluster.log_vkey], capture_output=True,
                             text=True, timeout=300, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert int(checked.stdout.split()[1]) > 0


def _assert_log_covers(client: httpx.Client, size: int) -> None:
    """The published checkpoint (cosigned by the witness) reaches `size`."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        cp = client.get("/log/checkpoint")
        if cp.status_code == 200 and int(cp.text.splitlines()[1]) >= size:
            break
        time.sleep(0.3)
    assert int(cp.text.splitlines()[1]) == size


def _assert_log_verifies(cluster: Cluster, size: int) -> None:
    node = cluster.nodes[1]
    audit = subprocess.run([CORRIDOR, "log", "audit", "--data-dir", str(node.data_dir),
                            "--db", cluster.db_url], capture_output=True, text=True,
                           timeout=120, check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    verify = subprocess.run([CORRIDOR, "log", "verify", node.url + "/log", "--vkey",
                             cluster.log_vkey, "--witness", cluster.witness_vkey, "--quorum",
                             "1"], capture_output=True, text=True, timeout=120, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"size {size}" in verify.stdout


def _client_loop(base: str, key: str, n: int, until: float, out: dict[str, int],
                 errors: list[str], lock: threading.Lock) -> None:
    headers = {**auth(key), "Content-Type": "application/ld+json"}
    with httpx.Client(base_url=base, timeout=30.0) as client:
        k = 0
        while time.monotonic() < until:
            k += 1
            try:
                if k % 2:
                    event = object_event(epc=f"urn:epc:id:sgtin:4800000.000002.c{n}x{k}",
                                         event_id=f"urn:uuid:{uuid.uuid4()}")
                    r = client.post("/epcis/events", json=event, headers=headers)
                    ok, kind = r.status_code == 201, "capture"
                else:
                    r = client.get("/epcis/events?perPage=20", headers=auth(key))
                    ok, kind = r.status_code == 200, "query"
                problem = None if ok else f"{kind} {r.status_code}: {r.text[:200]}"
            except httpx.HTTPError as exc:
                kind, problem = "error", f"{type(exc).__name__}: {exc}"
            with lock:
                out[kind] = out.get(kind, 0) + 1
                if problem:
                    errors.append(problem)


def test_twenty_clients_for_ten_seconds_on_two_nodes_without_an_error(
        cluster: Cluster) -> None:
    out: dict[str, int] = {}
    errors: list[str] = []
    lock = threading.Lock()
    until = time.monotonic() + LOAD_SECONDS
    threads = [threading.Thread(target=_client_loop, daemon=True,
                                args=(cluster.nodes[i % 2].url, cluster.key, i, until, out,
                                      errors, lock)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=LOAD_SECONDS + 60)
    assert not errors, f"{len(errors)} errors, first: {errors[:3]}"
    assert out.get("capture", 0) > 20 and out.get("query", 0) > 20, out


def test_workers_share_one_socket_and_elect_one_sequencer(pg_url: str, tmp_path: Path) -> None:
    """`serve --workers 2`: both processes answer on the one port, one of them holds the
    lease; killing it (SIGKILL) hands the lease to the other and the supervisor starts a
    replacement; SIGTERM stops them all."""
    _, key = add_party(pg_url, "Alpha", "urn:epc:id:pgln:4800000.00001")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRIDOR_WITNESS")}
    proc = subprocess.Popen([CORRIDOR, "serve", "--db", pg_url, "--port", str(port),
                             "--workers", "2", "--log-level", "info"], cwd=tmp_path,
                            env={**env, "CORRIDOR_DATA_DIR": str(tmp_path),
                                 "CORRIDOR_NODE_ID": "node-w"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        assert proc.stdout is not None and "with 2 workers" in proc.stdout.readline()
        _read_until(proc, "Application startup complete", times=2)  # both campaign now
        children = _children(proc.pid)
        assert len(children) == 2
        probe = Sequencer(Database(pg_url), "test-probe")
        holder = _wait_for(lambda: probe.status()["sequencer"], 30)
        name, pid = holder.split("/")  # each worker: the node id and its pid
        assert name == "node-w" and int(pid) in children
        pid = int(pid)
        with httpx.Client(base_url=base, timeout=30) as client:
            for n in range(6):
                event = object_event(epc=f"urn:epc:id:sgtin:4800000.000003.w{n}")
                r = client.post("/epcis/events", json=event,
                                headers={**auth(key), "Content-Type": "application/ld+json"})
                assert r.status_code == 201, r.text
            os.kill(pid, signal.SIGKILL)
            heir = _wait_for(lambda: h if (h := probe.status()["sequencer"]) not in (None, holder)
                             else None, 5)
            assert int(heir.rsplit("/", 1)[1]) in children
            _wait_for(lambda: len(_children(proc.pid)) == 2 or None, 60)
            assert client.get("/epcis/events?perPage=1", headers=auth(key)).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert not _children(proc.pid)


def test_workers_on_sqlite_are_refused_naming_the_flag(tmp_path: Path) -> None:
    done = subprocess.run([CORRIDOR, "serve", "--workers", "2", "--port", "0", "--db",
                           f"sqlite:///{tmp_path / 'c.sqlite3'}"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "--workers 2 needs PostgreSQL" in done.stderr, done.stderr


def _read_until(proc: subprocess.Popen, text: str, times: int = 1) -> None:
    """Read the output of `proc` until `text` appeared `times` times; keep reading it
    afterwards (in a thread) so that the process never blocks on a full pipe."""
    assert proc.stdout is not None
    seen = 0
    lines: list[str] = []
    while seen < times:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError("the process exited:\n" + "".join(lines))
        lines.append(line)
        seen += text in line
    threading.Thread(target=proc.stdout.read, daemon=True).start()


def _children(pid: int) -> list[int]:
    """The server processes `corridor serve` (pid) started (its corridor workers, not the
    multiprocessing helpers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmd = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        fields = text.rpartition(")")[2].split()
        if int(fields[1]) == pid and fields[0] != "Z" and b"spawn_main" in cmd:
            found.append(int(stat.parent.name))
    return found


def _wait_for(value, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = value()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")
