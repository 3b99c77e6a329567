"""Webhook receivers that misbehave hold up nobody but themselves.

Real receivers on loopback, the real delivery service over an SQLite store: one receiver
answers its status line a byte every 0.3 s (a per-read timeout would wait for ever), one
never answers, one answers 200 with an endless body; a well-behaved receiver subscribed
beside them gets its delivery at once, the stalled ones fail within the delivery deadline
and are retried, and the endless body is never read."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from corridor.store.db import Connection, Database
from corridor.store.migrations import migrate
from corridor.store.parties import add_party
from corridor.subscriptions import store as substore
from corridor.subscriptions.model import Request
from corridor.subscriptions.service import SubscriptionService, Tuning
from tests.api.e2_harness import Receiver


class RawReceiver:
    """A TCP server on loopback that reads a request and then runs `answer(socket)`."""

    def __init__(self, answer: Callable[[socket.socket, threading.Event], None]) -> None:
        self.answer = answer
        self.closing = threading.Event()
        self.requests = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"

    def _serve(self) -> None:
        self.server.settimeout(0.2)
        while not self.closing.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                self.answer(conn, self.closing)
            except OSError:
                pass

    def close(self) -> None:
        self.closing.set()
        self.server.close()


def trickle(conn: socket.socket, closing: threading.Event) -> None:
    for byte in b"HTTP/1.1 200 OK\r\n" * 100:
        if closing.wait(0.3):
            return
        conn.send(bytes([byte]))


def silent(conn: socket.socket, closing: threading.Event) -> None:
    closing.wait(30)


def endless_body(conn: socket.socket, closing: threading.Event) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    sent = 0
    while not closing.is_set() and sent < 512 << 20:
        conn.send(chunk)
        sent += len(chunk)


@pytest.fixture
def conn_and_db(tmp_path: Path) -> Iterator[tuple[Connection, Database]]:
    db = Database(f"sqlite:///{tmp_path / 'slow.sqlite3'}")
    conn = db.connect()
    migrate(db, conn)
    yield conn, db
    conn.close()


def _subscribe(conn: Connection, party_id: int, dest: str) -> str:
    # Not a stream nor a schedule: the service only delivers what the outbox holds.
    req = Request(dest=dest, secret=None, stream=False, schedule=None, report_if_empty=False,
                  initial_record_time=None)
    sub = substore.create(conn, "q", party_id, req, cursor=-1)
    with conn.transaction():
        substore.enqueue(conn, sub.id, b'{"hello": "receiver"}', 1)
    return sub.id


def test_a_stalled_receiver_holds_up_only_itself(conn_and_db) -> None:
    conn, db = conn_and_db
    party, _ = add_party(conn, "Sub", "urn:example:sub")
    stalled = [RawReceiver(trickle), RawReceiver(silent), RawReceiver(endless_body)]
    good = Receiver()
    try:
        slow_ids = [_subscribe(conn, party.id, r.url) for r in stalled]

        async def run() -> tuple[float, str, dict[str, dict[str, int]]]:
            service = SubscriptionService(db, Tuning(timeout=2.0, poll_interval=0.2,
                                                     backoff_base=0.2), allow_private=True)
            await service.start()
            try:
                await asyncio.sleep(0.5)  # the stalled deliveries are under way
                good_id = _subscribe(conn, party.id, good.url)
                service.notify()
                start = time.monotonic()
                while not good.received and time.monotonic() - start < 10:
                    await asyncio.sleep(0.02)
                first = time.monotonic() - start
                await asyncio.sleep(2.5)  # past the 2 s deadline of the stalled ones
                counts = {s: substore.outbox_counts(conn, s) for s in [*slow_ids, good_id]}
                return first, good_id, counts
            finally:
                await service.stop()

        first, good_id, counts = asyncio.run(run())
        assert len(good.received) == 1 and first < 1.0, first
        assert counts[good_id]["delivered"] == 1
        trickled, unanswered, endless = slow_ids
        # The endless body's 200 counts; its body is left unread.
        assert counts[endless]["delivered"] == 1
        for sub_id in (trickled, unanswered):
            assert counts[sub_id]["delivered"] == 0, counts
            row = conn.fetchone("SELECT attempts, last_error FROM subscription_outbox"
                                " WHERE subscription_id = ?", (sub_id,))
            assert row[0] >= 1 and "no answer within 2 s" in row[1], row
    finally:
        for r in stalled:
            r.close()
        good.close()
