"""Short database reads from request handlers, on one connection per worker thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

from corridor.store.db import Connection, Database

T = TypeVar("T")

# One connection per worker thread and database: opening a connection per request would
# dominate the cost of a key lookup.
_local = threading.local()


def _thread_connection(db: Database, reader: bool = False) -> Connection:
    conns: dict[tuple[str, bool], Connection] = getattr(_local, "conns", None) or {}
    _local.conns = conns
    conn = conns.get((db.url, reader))
    if conn is None:
        conn = conns[(db.url, reader)] = db.connect(reader=reader)
    return conn


def read_db(db: Database, fn: Callable[[Connection], T], *, reader: bool = False) -> T:
    """Run a short read on this thread's connection and end its implicit transaction, so that
    PostgreSQL never keeps an idle transaction (and its locks) open between requests.
    `reader=True`: a single-statement read, on an autocommit connection (no ROLLBACK)."""
    reader = reader and db.dialect == "postgresql"  # SQLite connections are all like that
    conn = _thread_connection(db, reader)
    try:
        result = fn(conn)
    except Exception:
        conns = _local.conns
        conns.pop((db.url, reader), None)
        with contextlib.suppress(Exception):  # the connection may be what broke
            conn.close()
        raise
    if conn.dialect == "postgresql" and not reader:
        conn.raw.rollback()
    return result
