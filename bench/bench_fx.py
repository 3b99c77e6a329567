"""FX figures: importing the recorded tables, and answering from them (SQLite file).

    .venv/bin/python bench/bench_fx.py
Prints medians in milliseconds."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

from corridor.fx.importer import import_bundled
from corridor.fx.rates import cross_rate
from corridor.fx.ticker import ticker
from corridor.fx.triangulation import check
from corridor.fx.valuation import value
from corridor.store.db import Database
from corridor.store.migrations import migrate


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        conn = db.connect()
        migrate(db, conn)
        first = time.perf_counter()
        report = import_bundled(conn)
        print(f"import bundled (first, {report.stored.inserted} rates): "
              f"{(time.perf_counter() - first) * 1000:.1f} ms")
        print(f"import bundled (again, all unchanged): "
              f"{median_ms(lambda: import_bundled(conn), 5):.1f} ms median of 5")
        day = date(2026, 4, 2)
        print(f"ticker(on=None): {median_ms(lambda: ticker(conn), 50):.2f} ms median of 50")
        print(f"cross_rate USD->KZT direct: "
              f"{median_ms(lambda: cross_rate(conn, 'USD', 'KZT', day), 200):.3f} ms")
        print(f"cross_rate KZT->TMT via USD: "
              f"{median_ms(lambda: cross_rate(conn, 'KZT', 'TMT', day), 200):.3f} ms")
        print(f"value 1250000 UZS->KZT: "
              f"{median_ms(lambda: value(conn, Decimal(1250000), 'UZS', 'KZT', day), 200):.3f}"
              " ms")
        print(f"check (triangulation, one date): "
              f"{median_ms(lambda: check(conn, day), 20):.1f} ms median of 20")
        conn.close()


if __name__ == "__main__":
    main()
