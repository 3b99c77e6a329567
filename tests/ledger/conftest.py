"""Fixtures of the ledger tests: logs on SQLite or PostgreSQL, HTTP servers on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from corridor.config import Settings, WitnessConfig
from corridor.node import RunningLog as Ledger
from corridor.node import open_ledger
from corridor.store.db import Database
from tests.ledger.ledgertest import ORIGIN, Server


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'node.sqlite3'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def node(tmp_path: Path) -> Callable[..., Ledger]:
    """Factory: node(db_url=..., witnesses=[...], quorum=k) -> open Ledger (closed after)."""
    opened: list[Ledger] = []

    def make(db_url: str | None = None, witnesses: list[WitnessConfig] | None = None,
             quorum: int = 0, data_dir: Path | None = None) -> Ledger:
        settings = Settings(data_dir=data_dir or tmp_path / "node",
                            db_url=db_url or f"sqlite:///{tmp_path / 'node.sqlite3'}",
                            log_origin=ORIGIN, witnesses=witnesses or [],
                            witness_quorum=quorum)
        ledger = open_ledger(settings, Database(settings.db_url), interval=0.2,
                             witness_timeout=2.0)
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        s.stop()
