"""The capture writer alone: write_captures of prepared captures, no HTTP, no workers, no
other thread taking the GIL. Single events in groups (as the writer takes them under load)
or 1,000-event documents one per transaction, into a fresh SQLite file or PostgreSQL schema.

Prints the median time per group and per event, and where the time goes: the mean time per
group of each statement (by its first words) and of the commit. The HTTP figures of
bench_capture.py drift with the machine; these, taken in one process, drift less, and two
versions compare well when run in alternation.

Usage: python bench/bench_writer.py [--db sqlite|postgresql] [--kind singles|documents]
                                    [--groups 200] [--group-size 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_capture import CONTEXT, PG, document, drop_db, event, prepare_db

from corridor.capture import prepare_document, prepare_event, write_captures
from corridor.config import Settings
from corridor.node import open_ledger
from corridor.store.db import Connection, Database
from corridor.store.wal import tune_writer

PARTY = "urn:epc:id:pgln:0614141.00001"
WARM_UP = 0.1  # the first tenth of the groups is not counted


def prepared_document(g: int, tag: str = "W") -> Any:
    """The g-th 1,000-event document of bench_capture's events, prepared for the writer."""
    return prepare_document(document([event(g * 1000 + k, tag) for k in range(1000)]),
                            "application/ld+json", behaviour="rollback", party_id=None,
                            party=PARTY, signature=None, limit=10 ** 6)


def make_groups(kind: str, groups: int, size: int) -> list[list[Any]]:
    if kind == "documents":
        return [[prepared_document(g)] for g in range(groups)]
    bodies = [json.dumps({"@context": [CONTEXT], **event(n, "S")}).encode()
              for n in range(groups * size)]
    works = [prepare_event(body, None, PARTY) for body in bodies]
    return [works[g * size:(g + 1) * size] for g in range(groups)]


class _TimedCommit:
    """The driver connection, with its commits timed (everything else passes through)."""

    def __init__(self, raw: Any, times: dict[str, float]) -> None:
        self._raw, self._times = raw, times

    def commit(self) -> None:
        t0 = time.perf_counter()
        self._raw.commit()
        self._times["COMMIT"] += time.perf_counter() - t0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def timed(conn: Connection, times: dict[str, float]) -> None:
    """Time every statement of `conn` by its first words, and its commits."""
    execute, executemany = conn.execute, conn.executemany

    def timed_execute(sql: str, params: Any = ()) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params)
        finally:
            times[" ".join(sql.split()[:4])] += time.perf_counter() - t0

    def timed_executemany(sql: str, rows: Any) -> None:
        t0 = time.perf_counter()
        try:
            executemany(sql, rows)
        finally:
            times["many: " + " ".join(sql.split()[:3])] += time.perf_counter() - t0

    conn.execute = timed_execute  # type: ignore[method-assign]
    conn.executemany = timed_executemany  # type: ignore[method-assign]
    conn.raw = _TimedCommit(conn.raw, times)


def run(db_kind: str, kind: str, groups: int, size: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="corridor-bench-writer-"))
    url, _key, schema = prepare_db(db_kind, work)  # migrated (and a party the works ignore)
    try:
        db = Database(url)
        ledger = open_ledger(Settings(data_dir=work, db_url=url), db)
        conn = db.connect()
        if db_kind == "sqlite":
            tune_writer(conn)  # as the server's writer
        prepared = make_groups(kind, groups, size)
        times: dict[str, float] = defaultdict(float)
        timed(conn, times)
        per_group: list[float] = []
        counted = int(groups * WARM_UP)
        for g, works in enumerate(prepared):
            if g == counted:
                times.clear()
            t0 = time.perf_counter()
            write_captures(conn, ledger, works)
            per_group.append(time.perf_counter() - t0)
        conn.close()
        ledger.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        drop_db(schema)
    n = groups - counted
    events = 1000 if kind == "documents" else size
    median = statistics.median(per_group[counted:])
    mean = statistics.fmean(per_group[counted:])  # what throughput sees
    what = ("1,000-event documents, one per transaction" if kind == "documents"
            else f"groups of {size} single events")
    print(f"writer alone, {db_kind}, {what}: mean {mean * 1e3:.2f} ms per group"
          f" ({mean / events * 1e6:.1f} us per event), median {median * 1e3:.2f}"
          f" ({n} groups after {counted} to warm up)")
    print("  mean ms per group, by statement:")
    for name, total in sorted(times.items(), key=lambda kv: -kv[1]):
        print(f"  {total / n * 1e3:8.3f}  {name}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--kind", choices=("singles", "documents"), default="singles")
    ap.add_argument("--groups", type=int, default=200)
    ap.add_argument("--group-size", type=int, default=20)
    args = ap.parse_args()
    if args.db == "postgresql":
        import psycopg

        try:
            psycopg.connect(PG, connect_timeout=3).close()
        except psycopg.Error as exc:
            print(f"bench_writer: skipped, PostgreSQL not reachable at {PG}: {exc}")
            return
    groups = args.groups if args.kind == "singles" else min(args.groups, 30)
    run(args.db, args.kind, groups, args.group_size)


if __name__ == "__main__":
    main()
