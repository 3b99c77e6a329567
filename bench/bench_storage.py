"""Storage per event, measured, and what it makes of 100 million events (docs/scaling.md).

Writes --events events into a fresh SQLite file and a fresh PostgreSQL schema with the
capture writer (bench_capture's events, in 1,000-event documents, one per transaction, as
bench_writer.py does; or, with --demo N, the demo scenario of N shipments loaded through
capture, as `corridor demo` does), signs a checkpoint, exports the log as a static tlog-tiles
mirror, then prints:
  - bytes per event of every table and index (PostgreSQL: pg_relation_size of each table's
    heap and TOAST, and of each index; SQLite: the pages dbstat gives each table and index),
    and of the database in all (PostgreSQL: pg_total_relation_size summed over the schema;
    SQLite: the file after a WAL checkpoint);
  - tile files (hash tiles and entry bundles) and mirror bytes per event;
  - with --compact, after VACUUM FULL (PostgreSQL) or VACUUM (SQLite): live rows only,
    without the dead row versions that rewritten partial tiles leave until (auto)vacuum;
  - the same, multiplied out to --target events (linear: B-tree and heap sizes grow with
    the rows; the tile count is exact, from the tlog-tiles layout).

Usage: python bench/bench_storage.py [--events 20000] [--db sqlite,postgresql]
                                     [--demo SHIPMENTS] [--compact]
                                     [--target 100000000]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_capture import drop_db, prepare_db
from bench_writer import prepared_document

from corridor.capture import write_captures
from corridor.config import Settings
from corridor.ledger.tiles import tiles_for_size
from corridor.node import RunningLog, open_ledger
from corridor.store.db import Database
from corridor.store.wal import tune_writer

Sizes = list[tuple[str, str, int]]  # (kind: table|index, name, bytes)


def fill_bench(url: str, work: Path, events: int) -> tuple[RunningLog, int]:
    db = Database(url)
    ledger = open_ledger(Settings(data_dir=work, db_url=url), db)
    conn = db.connect()
    if db.dialect == "sqlite":
        tune_writer(conn)
    for g in range(events // 1000):
        write_captures(conn, ledger, [prepared_document(g, "S")])
    conn.close()
    return ledger, events


def fill_demo(url: str, work: Path, shipments: int) -> tuple[RunningLog, int]:
    from corridor.demo import load_demo

    settings = Settings(data_dir=work, db_url=url)
    load_demo(settings, shipments=shipments)
    db = Database(url)
    with db.connect() as conn:
        count = int(conn.fetchone("SELECT COUNT(*) FROM events")[0])
    return open_ledger(settings, db), count


def sqlite_sizes(path: Path, compact: bool) -> tuple[Sizes, int]:
    conn = sqlite3.connect(path)
    try:
        if compact:
            conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        kinds = dict(conn.execute("SELECT name, type FROM sqlite_master"))
        rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    finally:
        conn.close()
    sizes = [("index" if kinds.get(name) == "index" or name.startswith("sqlite_autoindex")
              else "table", name, int(size)) for name, size in rows]
    return sizes, path.stat().st_size


def pg_sizes(url: str, compact: bool) -> tuple[Sizes, int]:
    db = Database(url)
    if compact:
        with db.connect(reader=True) as conn:
            conn.execute("VACUUM FULL")
    with db.connect() as conn:
        tables = conn.fetchall(
            "SELECT c.oid, c.relname, pg_relation_size(c.oid), "
            "COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0), "
            "pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'")
        indexes = conn.fetchall(
            "SELECT i.relname, pg_relation_size(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema()")
    sizes: Sizes = [("table", name, int(heap) + int(toast)) for _, name, heap, toast, _ in tables]
    sizes += [("index", name, int(size)) for name, size in indexes]
    return sizes, sum(int(r[4]) for r in tables)


def mirror_files(ledger: RunningLog, directory: Path) -> tuple[int, int]:
    """Export the log; (tile and bundle files, their bytes)."""
    ledger.sign_now()
    ledger.export(directory)
    files = [p for p in (directory / "tile").rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def tile_files(size: int) -> int:
    """Files of a tlog-tiles mirror of `size` entries: hash tiles and entry bundles."""
    tiles = tiles_for_size(size)
    return len(tiles) + sum(1 for level, _, _ in tiles if level == 0)


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB"


def report(kind: str, sizes: Sizes, total: int, events: int, mirror: tuple[int, int],
           target: int, top: int) -> None:
    print(f"\n== {kind}: {events:,} events ==")
    tables = sum(s for k, _, s in sizes if k == "table")
    indexes = sum(s for k, _, s in sizes if k == "index")
    print(f"{'bytes/event':>12}  {'kind':5}  name")
    for k, name, size in sorted(sizes, key=lambda r: -r[2])[:top]:
        print(f"{size / events:12.1f}  {k:5}  {name}")
    print(f"{tables / events:12.1f}  all tables (heap + TOAST)")
    print(f"{indexes / events:12.1f}  all indexes")
    print(f"{total / events:12.1f}  database in all")
    files, size = mirror
    print(f"mirror: {files} tile files ({files / events:.5f} per event), "
          f"{size / events:.1f} bytes per event")
    scale = target / events
    print(f"-> {target:,} events: database {_gb(total * scale)} (tables {_gb(tables * scale)},"
          f" indexes {_gb(indexes * scale)}); mirror {_gb(size * scale)} in "
          f"{tile_files(target):,} tile files")


def run(kind: str, events: int, demo: int, target: int, top: int, compact: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="corridor-bench-storage-"))
    url, _key, schema = prepare_db(kind, work)
    try:
        t0 = time.perf_counter()
        ledger, count = fill_demo(url, work, demo) if demo else fill_bench(url, work, events)
        took = time.perf_counter() - t0
        try:
            mirror = mirror_files(ledger, work / "mirror")
        finally:
            ledger.close()
        sizes, total = (sqlite_sizes(work / "corridor.sqlite3", compact) if kind == "sqlite"
                        else pg_sizes(url, compact))
        print(f"({kind}: {count:,} events written in {took:.1f} s, one process"
              f"{'; compacted' if compact else ''})")
        report(kind, sizes, total, count, mirror, target, top)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        drop_db(schema)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000, help="multiple of 1,000")
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--demo", type=int, default=0, metavar="SHIPMENTS",
                    help="load the demo scenario of this many shipments instead")
    ap.add_argument("--compact", action="store_true",
                    help="VACUUM FULL / VACUUM before measuring (live rows only)")
    ap.add_argument("--target", type=int, default=100_000_000)
    ap.add_argument("--top", type=int, default=12, help="tables and indexes listed")
    args = ap.parse_args()
    for kind in args.db.split(","):
        run(kind.strip(), args.events, args.demo, args.target, args.top, args.compact)


if __name__ == "__main__":
    main()
