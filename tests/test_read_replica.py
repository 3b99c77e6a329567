"""A read replica (Settings.read_db_url, CORRIDOR_READ_DB): EPCIS event queries read it,
captures, named-query definitions, keys and the log stay on the primary.

The "replica" is a second database holding a copy of the primary taken at one moment; then
each side gets an event the other lacks, so every answer shows which database it came from.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from corridor.config import Settings
from corridor.serving import AppContext
from corridor.store.db import Database
from tests.api.e2_harness import add_party, auth, capture, object_event

A_ID = "urn:epc:id:pgln:4700000.00001"
B_ID = "urn:epc:id:pgln:4700000.00002"


def _event(n: int, **kw: str) -> dict[str, Any]:
    return object_event(epc=f"urn:epc:id:sgtin:4700000.000001.{n:03d}",
                        event_id=f"urn:uuid:00000000-0000-4000-8000-{n:012d}", **kw)


def _uuid(n: int) -> str:
    return f"urn:uuid:00000000-0000-4000-8000-{n:012d}"


def _copy_sqlite(primary: str, replica: str) -> None:
    src = sqlite3.connect(primary.removeprefix("sqlite:///"))
    dst = sqlite3.connect(replica.removeprefix("sqlite:///"))
    with dst:
        src.backup(dst)
    src.close()
    dst.close()


def _schema(url: str) -> str:
    return url.rsplit("search_path%3D", 1)[1]


def _copy_postgresql(primary: str, replica: str) -> None:
    """Rows of every table of the primary's schema into the (migrated, empty) replica's,
    foreign keys unchecked while copying, sequences moved past the copied ids."""
    import psycopg

    src, dst = _schema(primary), _schema(replica)
    with psycopg.connect(replica, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_type = 'BASE TABLE'", [src]).fetchall()]
        conn.execute("SET session_replication_role = replica")
        for t in tables:
            conn.execute(f'DELETE FROM "{dst}"."{t}"')
            conn.execute(f'INSERT INTO "{dst}"."{t}" SELECT * FROM "{src}"."{t}"')
            seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id') WHERE EXISTS ("
                               "SELECT 1 FROM information_schema.columns WHERE table_schema"
                               " = %s AND table_name = %s AND column_name = 'id')",
                               [f'"{dst}"."{t}"', dst, t]).fetchone()
            if seq and seq[0]:
                conn.execute(f'SELECT setval(%s, (SELECT COALESCE(MAX(id), 0) + 1 FROM '
                             f'"{dst}"."{t}"), false)', [seq[0]])


@pytest.fixture(params=["sqlite", "postgresql"])
def two_dbs(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "sqlite":
        return (f"sqlite:///{tmp_path / 'primary.sqlite3'}",
                f"sqlite:///{tmp_path / 'replica.sqlite3'}")
    from tests.api.e2_harness import module_db_url

    request.applymarker(pytest.mark.postgres)
    return (module_db_url("postgresql", tmp_path, request),
            module_db_url("postgresql", tmp_path, request))


def _ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    events = response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return {e["eventID"] for e in events}


def _stored_ids(url: str) -> set[str]:
    db = Database(url)
    with db.connect() as conn:
        return {r[0] for r in conn.fetchall("SELECT event_id FROM events")}


def test_no_replica_reads_the_primary(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, db_url=f"sqlite:///{tmp_path / 'p.sqlite3'}")
    ctx = AppContext(settings, Database(settings.db_url))
    assert ctx.read_db is ctx.db
    settings.read_db_url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    ctx = AppContext(settings, Database(settings.db_url))
    assert ctx.read_db is not ctx.db and ctx.read_db.url == settings.read_db_url


def test_queries_read_the_replica(tmp_path: Path, two_dbs: tuple[str, str]) -> None:
    from starlette.testclient import TestClient

    from corridor.app import create_app

    primary, replica = two_dbs
    _, key_a = add_party(primary, "A", A_ID)
    _, key_b = add_party(primary, "B", B_ID)
    plain = Settings(data_dir=tmp_path, db_url=primary)
    with TestClient(create_app(plain)) as client:
        assert capture(client, key_a, [_event(1), _event(5, destination=B_ID)])["success"]
    if primary.startswith("sqlite"):
        _copy_sqlite(primary, replica)
    else:
        add_party(replica, "migrate only", "urn:epc:id:pgln:4700000.00099")
        _copy_postgresql(primary, replica)
    # The replica's own writes (as if the primary had gone on and the replica caught up
    # with it): events 3 and 4 exist only there; event 2 only on the primary.
    with TestClient(create_app(Settings(data_dir=tmp_path, db_url=replica))) as client:
        assert capture(client, key_a, [_event(3), _event(4, destination=B_ID)])["success"]
    with TestClient(create_app(plain)) as client:
        assert capture(client, key_a, [_event(2)])["success"]
        assert _ids(client.get("/epcis/events", headers=auth(key_a))) == \
            {_uuid(1), _uuid(2), _uuid(5)}

    split = Settings(data_dir=tmp_path, db_url=primary, read_db_url=replica)
    with TestClient(create_app(split)) as client:
        events = client.get("/epcis/events", headers=auth(key_a))
        assert _ids(events) == {_uuid(1), _uuid(3), _uuid(4), _uuid(5)}
        assert client.get(f"/epcis/events/{_uuid(3)}", headers=auth(key_a)).status_code == 200
        assert client.get(f"/epcis/events/{_uuid(2)}", headers=auth(key_a)).status_code == 404
        # The same party visibility on the replica: B reads only what names it.
        assert _ids(client.get("/epcis/events", headers=auth(key_b))) == {_uuid(4), _uuid(5)}
        assert client.get(f"/epcis/events/{_uuid(3)}", headers=auth(key_b)).status_code == 404
        assert client.get("/epcis/events").status_code == 401
        # A named query is defined on the primary; its events come from the replica.
        r = client.post("/epcis/queries", headers=auth(key_a),
                        json={"name": "steps", "query": {"EQ_bizStep": ["shipping"]}})
        assert r.status_code == 201, r.text
        assert _ids(client.get("/epcis/queries/steps/events", headers=auth(key_a))) == \
            {_uuid(1), _uuid(3), _uuid(4), _uuid(5)}
        assert _ids(client.get("/epcis/eventTypes/ObjectEvent/events",
                               headers=auth(key_a))) == {_uuid(1), _uuid(3), _uuid(4), _uuid(5)}
        # Captures still go to the primary.
        assert capture(client, key_a, [_event(6)])["success"]
    assert _uuid(6) in _stored_ids(primary) and _uuid(6) not in _stored_ids(replica)
    assert _stored_ids(primary) == {_uuid(n) for n in (1, 2, 5, 6)}
