"""The overview's unit index: extended with new events, it equals one built from scratch."""

from __future__ import annotations

from pathlib import Path

from corridor.config import Settings
from corridor.demo import load_demo
from corridor.query import dashboard as data
from corridor.query.places import stored_places
from corridor.store.db import Database


def test_incremental_index_equals_full_rebuild(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    load_demo(settings, shipments=3)
    db = Database(settings.db_url)
    key = f"test-{tmp_path}"
    with db.connect() as conn:
        first = data.unit_index(conn, key)
        assert data.unit_index(conn, key) is first  # nothing new: the same index
        places = stored_places(conn)
        first.typical(places)  # each unit's trips, kept for the units that get no new event
    load_demo(settings, shipments=6)
    with db.connect() as conn:
        grown = data.unit_index(conn, key)
        full = data.unit_index(conn)
    assert grown is not first and grown.stamp == full.stamp
    assert grown.by_unit == full.by_unit
    assert grown.newest == full.newest
    assert grown.facts == full.facts
    assert grown.typical(places) == full.typical(places)
    assert list(grown.typical(places).leg_days) == list(full.typical(places).leg_days)
    assert len(full.by_unit) == 6 and len(full.newest) == full.stamp[1]
    data.UNIT_INDEXES.pop(key, None)
