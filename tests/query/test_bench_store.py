"""bench/bench_query.py loads its store straight through insert_events (no HTTP, no capture):
its rows must keep following the store's formats, or the query figures stop meaning anything."""

from __future__ import annotations

from pathlib import Path

from corridor.epcis.identifiers import canonical
from corridor.store.db import Database
from tests.benches import load_bench


def test_the_query_bench_store_is_a_store_like_capture_makes(tmp_path: Path) -> None:
    bench = load_bench("bench_query")
    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    bench.build(url, 40)
    with Database(url).connect() as conn:
        assert conn.fetchone("SELECT COUNT(*), MIN(id), MAX(id) FROM events") == (40, 1, 40)
        assert conn.fetchall("SELECT DISTINCT path, value FROM event_parties") == [
            ("source:owning_party", canonical(bench.PARTY))]
        assert int(conn.fetchone("SELECT COUNT(*) FROM event_parties")[0]) == 40
        assert int(conn.fetchone("SELECT COUNT(*) FROM event_epcs")[0]) == 80
