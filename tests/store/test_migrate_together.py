"""Nodes that start together on one empty PostgreSQL schema migrate it once between them:
each migration is applied by exactly one, and none fails on another's half-made tables."""

from __future__ import annotations

import threading

from corridor.store.db import Database
from corridor.store.migrations import all_migrations, migrate


def test_four_nodes_migrate_one_schema_together(pg_url: str) -> None:
    db = Database(pg_url)
    start = threading.Barrier(4)
    applied: list[list[str]] = []
    failed: list[BaseException] = []

    def node() -> None:
        try:
            with db.connect() as conn:
                start.wait()
                applied.append(migrate(db, conn))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            failed.append(exc)

    threads = [threading.Thread(target=node) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failed, failed
    ids = [i for done in applied for i in done]
    wanted = [m.id for m in all_migrations() if m.dialect in (None, "postgresql")]
    assert sorted(ids) == sorted(wanted)  # every migration once, by one of the four
    with db.connect() as conn:
        assert len(conn.fetchall("SELECT id FROM schema_migrations")) == len(wanted)
