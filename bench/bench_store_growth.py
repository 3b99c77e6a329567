"""How the SQLite writer's cost per 1,000-event document grows with the store.

bench_capture.py starts each run on an empty store, and its rounds get slower as the store
fills. This bench shows why: it writes bench_capture's documents with the writer alone (as
bench_writer.py does) and, every --every documents, prints the events stored, the median
writer time per document since the last line, the WAL frames (pages of 4 KiB) the last
commit wrote, and which tables and indexes those pages belong to (SQLite's dbstat). Each
commit's WAL is checkpointed and emptied outside the timing, so every count is one commit's.

Usage: python bench/bench_store_growth.py [--docs 60] [--every 10] [--top 6]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import struct
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_capture import prepare_db
from bench_writer import prepared_document

from corridor.capture import write_captures
from corridor.config import Settings
from corridor.node import open_ledger
from corridor.store.db import Database
from corridor.store.wal import tune_writer

WAL_HEADER, FRAME_HEADER = 32, 24  # https://www.sqlite.org/fileformat.html#the_write_ahead_log


def wal_pages(wal: Path, page_size: int) -> list[int]:
    """The page number of each frame in a WAL file (big-endian, first field of a frame)."""
    data = wal.read_bytes()
    step = FRAME_HEADER + page_size
    return [struct.unpack_from(">I", data, off)[0]
            for off in range(WAL_HEADER, len(data) - step + 1, step)]


def owners(path: Path) -> dict[int, str]:
    """Page number -> the table or index it belongs to."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {page: name for name, page in conn.execute("SELECT name, pageno FROM dbstat")}
    finally:
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=60)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--top", type=int, default=6)
    args = ap.parse_args()
    try:
        sqlite3.connect(":memory:").execute("SELECT 1 FROM dbstat LIMIT 1")
    except sqlite3.Error as exc:
        print(f"bench_store_growth: skipped, this SQLite has no dbstat table ({exc})")
        return
    work = Path(tempfile.mkdtemp(prefix="corridor-bench-growth-"))
    try:
        url, _key, _schema = prepare_db("sqlite", work)
        store = work / "corridor.sqlite3"
        db = Database(url)
        ledger = open_ledger(Settings(data_dir=work, db_url=url), db)
        conn = db.connect()
        tune_writer(conn)
        conn.raw.execute("PRAGMA wal_autocheckpoint=0")
        page_size = int(conn.fetchone("PRAGMA page_size")[0])
        print(f"SQLite writer alone, 1,000-event documents of bench_capture, one per commit;"
              f" pages of {page_size} bytes", flush=True)
        times: list[float] = []
        for d in range(args.docs):
            work_item = prepared_document(d, "G")
            t0 = time.perf_counter()
            write_captures(conn, ledger, [work_item])
            times.append(time.perf_counter() - t0)
            if (d + 1) % args.every == 0:
                pages = wal_pages(work / "corridor.sqlite3-wal", page_size)
                owner = owners(store)
                by = Counter(owner.get(p, "(new or free)") for p in pages)
                top = ", ".join(f"{name} {n}" for name, n in by.most_common(args.top))
                print(f"  {(d + 1) * 1000:>7,} events: {statistics.median(times) * 1e3:6.1f} ms"
                      f" per document, {len(pages):,} WAL frames: {top}", flush=True)
                times.clear()
            conn.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        conn.close()
        ledger.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
