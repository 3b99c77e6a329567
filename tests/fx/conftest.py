"""Fixtures of the fx tests: the recorded bank responses (shipped in corridor/fx/data), a
migrated database, and a FeedClient whose transport serves the recorded bodies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from corridor.fx.http import FeedClient
from corridor.fx.importer import DATA_DIR, Recorded, load_cassette
from corridor.store.db import Connection, Database
from corridor.store.migrations import migrate


@pytest.fixture(scope="session")
def recorded() -> dict[str, Recorded]:
    """Every recorded response, by request URL."""
    out: dict[str, Recorded] = {}
    for path in sorted(DATA_DIR.glob("*.yml")):
        for rec in load_cassette(path):
            out[rec.url] = rec
    return out


def body_of(recorded: dict[str, Recorded], fragment: str) -> bytes:
    hits = [r for url, r in recorded.items() if fragment in url]
    assert len(hits) == 1, f"{fragment}: {len(hits)} recordings"
    return hits[0].body


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[Connection]:
    db = Database(f"sqlite:///{tmp_path / 'fx.sqlite3'}")
    c = db.connect()
    migrate(db, c)
    yield c
    c.close()


@pytest.fixture
def pg_conn(pg_url: str) -> Iterator[Connection]:
    db = Database(pg_url)
    c = db.connect()
    migrate(db, c)
    yield c
    c.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_conn(request: pytest.FixtureRequest) -> Connection:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("conn")
    return request.getfixturevalue("pg_conn")


class Served:
    """A MockTransport handler: recorded responses by URL, overridable per URL, and a log
    of the requests made."""

    def __init__(self, recorded: dict[str, Recorded]) -> None:
        self.recorded = recorded
        self.overrides: dict[str, Callable[[httpx.Request], httpx.Response]] = {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url in self.overrides:
            return self.overrides[url](request)
        rec = self.recorded.get(url)
        if rec is None:
            return httpx.Response(404, text="not recorded")
        return httpx.Response(rec.status, headers=rec.headers, content=rec.body)


@pytest.fixture
def served(recorded: dict[str, Recorded]) -> Served:
    return Served(recorded)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(served: Served, sleeps: list[float]) -> Iterator[FeedClient]:
    with FeedClient(transport=httpx.MockTransport(served), sleep=sleeps.append) as c:
        yield c
