"""Loading the demo through the real capture path, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from corridor.config import Settings
from corridor.demo import DemoError, DemoSummary, demo_api_key, load_demo
from corridor.demo.actors import ACTORS, AUDITOR_GRANTS
from corridor.store.db import Database


def _added(*loads: DemoSummary) -> int:
    """The notices, binding events and claim events the demo's insurance logged over the
    loads (corridor.demo.insurance): the log holds them besides the scenario's events."""
    return sum(s.insurance.notices_posted + s.insurance.policies_bound for s in loads) \
        + loads[-1].insurance.claims


def _check_store(settings: Settings, total: int) -> None:
    from corridor.node import open_ledger
    from corridor.store.parties import find_party, grants_of, party_for_key

    db = Database(settings.db_url)
    with db.connect() as conn:
        count, logged = conn.fetchone("SELECT COUNT(*), COUNT(log_index) FROM events")
        assert count == logged == total
        for actor in ACTORS:
            party = party_for_key(conn, demo_api_key(7, actor.slug))
            assert party is not None and party.identifier == actor.pgln, actor.slug
            assert party.role == actor.role
        for auditor, party_slug in AUDITOR_GRANTS:
            a = find_party(conn, next(x.pgln for x in ACTORS if x.slug == auditor))
            p = find_party(conn, next(x.pgln for x in ACTORS if x.slug == party_slug))
            assert p.id in grants_of(conn, a.id)
        assert conn.fetchone("SELECT COUNT(*) FROM fx_rates")[0] > 0
    ledger = open_ledger(settings, db)
    try:
        assert ledger.audit() == []  # entries, tiles, checkpoints and event documents agree
        assert ledger.size() == total
    finally:
        ledger.close()


def test_load_is_complete_and_idempotent(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_demo(settings, shipments=6)
    assert first.events_captured == first.events_total > 100
    assert first.checkpoint_size == first.events_total + _added(first)
    assert not first.already_loaded
    again = load_demo(settings, shipments=6)
    assert again.already_loaded and again.events_captured == 0
    assert again.checkpoint_size == first.checkpoint_size
    assert [p.api_key for p in again.parties] == [p.api_key for p in first.parties]
    _check_store(settings, first.events_total + _added(first))


def test_a_bigger_load_adds_only_the_new_shipments(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    small = load_demo(settings, shipments=3)
    big = load_demo(settings, shipments=6)
    assert big.events_captured == big.events_total - small.events_total
    assert big.checkpoint_size == big.events_total + _added(small, big)


def test_bad_shipment_count(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="shipments"):
        load_demo(Settings(data_dir=tmp_path), shipments=0)


@pytest.mark.postgres
def test_load_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    settings = Settings(data_dir=tmp_path, db_url=pg_url)
    summary = load_demo(settings, shipments=3)
    assert summary.events_captured == summary.events_total
    _check_store(settings, summary.events_total + _added(summary))
    assert load_demo(settings, shipments=3).already_loaded
