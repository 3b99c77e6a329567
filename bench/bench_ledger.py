"""Ledger benchmarks; prints its figures.

1. append: entries/s through LedgerStore.append into a SQLite file (hashing, tiles, entry
   bundles, committed transactions; no HTTP), batches of 1,000 and of 10,000 entries.
2. proofs at 10,000,000 entries: inclusion and consistency proof generation from the stored
   tiles (SQLite), p50/p99 over random indices and sizes. The 10M-leaf tiles are built by
   hashing in bulk and inserted directly (the bundles are not needed for proofs).
3. verify: `corridor log verify DIR` of a 1,000,000-entry log exported to a directory, in
   process (verify_log) and as the CLI command (wall clock, Python start-up included).

Usage: .venv/bin/python bench/bench_ledger.py [--quick] [--only append|proofs|verify]
"""

from __future__ import annotations

import hashlib
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

from corridor.config import Settings
from corridor.ledger.entry import LogEntry
from corridor.ledger.merkle import verify_consistency, verify_inclusion
from corridor.ledger.policy import threshold_policy
from corridor.ledger.tiles import TILE_WIDTH, tile_nodes
from corridor.ledger.transport import directory_fetcher
from corridor.ledger.verify import verify_log
from corridor.node import RunningLog, open_ledger
from corridor.store.db import Database


def entries(start: int, count: int) -> list[LogEntry]:
    party = "urn:epc:id:pgln:4012345.00000"
    return [LogEntry(f"ni:///sha-256;{i:064x}?ver=CBV2.0",
                     hashlib.sha256(i.to_bytes(8, "big")).digest(), party,
                     "2026-11-27T10:00:00.000000Z") for i in range(start, start + count)]


def open_node(folder: Path) -> RunningLog:
    settings = Settings(data_dir=folder, log_origin="bench.corridor.example/log")
    return open_ledger(settings, Database(settings.db_url))


def bench_append(folder: Path, total: int, batch: int) -> tuple[float, float]:
    """(entries per wall-clock second, entries per CPU second of this process)."""
    ledger = open_node(folder)
    conn = ledger.db.connect()
    todo = [entries(i, batch) for i in range(0, total, batch)]
    t0, c0 = time.perf_counter(), time.process_time()
    for chunk in todo:
        with conn.transaction():
            ledger.append(conn, chunk)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    conn.close()
    ledger.close()
    return total / elapsed, total / cpu


def sha256_rate() -> float:
    """Baseline for this machine right now: SHA-256 of a 65-byte node input, calls per CPU
    second (best of 5)."""
    data = b"\x01" + bytes(64)
    sha = hashlib.sha256
    best = min(timeit.repeat(lambda: sha(data).digest(), number=50_000, repeat=5,
                             timer=time.process_time))
    return 50_000 / best


def build_big_tree(folder: Path, size: int) -> RunningLog:
    """Store the tiles of a `size`-leaf tree, hashing in bulk one tile at a time."""
    ledger = open_node(folder)
    conn = ledger.db.connect()
    sha = hashlib.sha256
    insert = "INSERT INTO ledger_tiles (level, n, width, data, nodes) VALUES (?, ?, ?, ?, ?)"
    up: list[bytes] = []
    with conn.transaction():
        rows = []
        for n in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
            first = n * TILE_WIDTH
            chunk = [sha(b"\x00" + i.to_bytes(8, "big")).digest()
                     for i in range(first, min(first + TILE_WIDTH, size))]
            nodes = None
            if len(chunk) == TILE_WIDTH:
                root, nodes = tile_nodes(chunk)
                up.append(root)
            rows.append((0, n, len(chunk), b"".join(chunk), nodes))
            if len(rows) == 1000:
                conn.executemany(insert, rows)
                rows = []
        conn.executemany(insert, rows)
        level, lvl = up, 1
        while level:
            rows, up = [], []
            for n in range(0, len(level), TILE_WIDTH):
                chunk = level[n:n + TILE_WIDTH]
                nodes = None
                if len(chunk) == TILE_WIDTH:
                    root, nodes = tile_nodes(chunk)
                    up.append(root)
                rows.append((lvl, n // TILE_WIDTH, len(chunk), b"".join(chunk), nodes))
            conn.executemany(insert, rows)
            level, lvl = up, lvl + 1
        conn.execute("UPDATE ledger_state SET size = ?, stamp = 'bulk' WHERE id = 1", (size,))
    conn.close()
    return ledger


def percentiles(wall: list[float], cpu: list[float]) -> str:
    def p(samples: list[float], q: float) -> float:
        return sorted(samples)[int(len(samples) * q) - 1] * 1e3

    return (f"wall p50 {statistics.median(wall) * 1e3:.3f} ms p99 {p(wall, 0.99):.3f} ms; "
            f"CPU p50 {statistics.median(cpu) * 1e3:.3f} ms p99 {p(cpu, 0.99):.3f} ms")


def bench_proofs(ledger: RunningLog, size: int, rounds: int) -> tuple[str, str]:
    rng = random.Random(1)
    root_note = ledger.sign_now()  # also exercises root computation from tiles at 10M
    from corridor.ledger.checkpoint import parse_checkpoint
    from corridor.ledger.note import parse_note

    root = parse_checkpoint(parse_note(root_note).text).root
    inc, con, inc_cpu, con_cpu = [], [], [], []
    for _ in range(rounds):
        index = rng.randrange(size)
        t, c = time.perf_counter(), time.thread_time()
        proof = ledger.inclusion_proof(index, size)
        inc.append(time.perf_counter() - t)
        inc_cpu.append(time.thread_time() - c)
        leaf = hashlib.sha256(b"\x00" + index.to_bytes(8, "big")).digest()
        verify_inclusion(index, size, leaf, proof, root)
    for old in [rng.randrange(1, size) for _ in range(rounds)]:
        t, c = time.perf_counter(), time.thread_time()
        ledger.consistency_proof(old, size)
        con.append(time.perf_counter() - t)
        con_cpu.append(time.thread_time() - c)
    # one end-to-end check of a consistency proof at this size
    height = (size - 1).bit_length() - 1
    old = 1 << height  # a power of two: its root is a perfect subtree hash, read from tiles
    with ledger.store.snapshot() as tree:
        old_root = tree.hasher(0, height)
    verify_consistency(old, size, old_root, root, ledger.consistency_proof(old, size))
    return percentiles(inc, inc_cpu), percentiles(con, con_cpu)


def bench_verify(folder: Path, size: int) -> tuple[float, float, float, float, float]:
    """(append time, in-process wall, in-process CPU, command wall, command CPU)."""
    ledger = open_node(folder)
    conn = ledger.db.connect()
    t0 = time.perf_counter()
    for start in range(0, size, 10_000):
        with conn.transaction():
            ledger.append(conn, entries(start, min(10_000, size - start)))
    build = time.perf_counter() - t0
    conn.close()
    ledger.sign_now()
    mirror = folder / "mirror"
    ledger.export(mirror)
    vkey = ledger.signer.verifier
    t0, c0 = time.perf_counter(), time.process_time()
    result = verify_log(directory_fetcher(mirror), vkey, threshold_policy(vkey, [], 0))
    in_process, in_cpu = time.perf_counter() - t0, time.process_time() - c0  # one process
    assert result.checkpoint.size == size
    cli = str(Path(sys.executable).parent / "corridor")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([cli, "log", "verify", str(mirror), "--vkey", vkey.vkey], check=True,
                   capture_output=True)
    command = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    command_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    ledger.close()
    return build, in_process, in_cpu, command, command_cpu


def main() -> None:
    quick = "--quick" in sys.argv
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        total = 100_000 if quick else 300_000
        base = sha256_rate()
        print(f"baseline: {base:,.0f} SHA-256 node hashes per CPU second in this process "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        for batch in (1_000, 10_000) if only in (None, "append") else ():
            wall, cpu = bench_append(tmp_path / f"append{batch}", total, batch)
            print(f"append: {wall:,.0f} entries/s wall clock, {cpu:,.0f} entries/s of CPU time "
                  f"(SQLite file, {total:,} entries, batches of {batch:,}; target >= 100,000); "
                  f"{base / cpu:.1f} SHA-256-equivalents of CPU per entry")
        size = 1_000_000 if quick else 10_000_000
        if only in (None, "proofs"):
            t0 = time.perf_counter()
            ledger = build_big_tree(tmp_path / "big", size)
            print(f"built stored tiles of a {size:,}-leaf tree in "
                  f"{time.perf_counter() - t0:.1f} s")
            inc, con = bench_proofs(ledger, size, 2000)
            print(f"inclusion proof at {size:,}: {inc} (target p99 < 1 ms)")
            print(f"consistency proof at {size:,}: {con} (target p99 < 1 ms)")
            ledger.close()
        if only not in (None, "verify"):
            return
        vsize = 100_000 if quick else 1_000_000
        build, wall, cpu, command, command_cpu = bench_verify(tmp_path / "verify", vsize)
        print(f"verify of a {vsize:,}-entry log from a directory: in process {wall:.2f} s wall "
              f"({cpu:.2f} s CPU); `corridor log verify` {command:.2f} s wall "
              f"({command_cpu:.2f} s CPU) (target < 10 s); creating and appending its entries took "
              f"{build:.1f} s")


if __name__ == "__main__":
    main()
