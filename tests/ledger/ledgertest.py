"""Helpers of the ledger tests: entries, appends, and real HTTP servers (uvicorn in a thread)
on loopback."""

from __future__ import annotations

import hashlib
import socket
import threading
import time

import uvicorn

from corridor.ledger.entry import LogEntry
from corridor.node import RunningLog as Ledger

ORIGIN = "corridor.test/log"


def make_entries(start: int, count: int, party: str = "urn:epc:id:pgln:4012345.00000"
                 ) -> list[LogEntry]:
    return [LogEntry(f"ni:///sha-256;{hashlib.sha256(str(i).encode()).hexdigest()}?ver=CBV2.0",
                     hashlib.sha256(b"doc %d" % i).digest(), party,
                     f"2026-11-27T10:{i // 60 % 60:02d}:{i % 60:02d}.000000Z")
            for i in range(start, start + count)]


def append(ledger: Ledger, count: int, start: int | None = None) -> list[int]:
    conn = ledger._conn()
    first = ledger.size() if start is None else start
    with conn.transaction():
        return ledger.append(conn, make_entries(first, count))


class Server:
    """A Starlette/ASGI app served by uvicorn in a thread on a free loopback port."""

    def __init__(self, app: object, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Server:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error",
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


