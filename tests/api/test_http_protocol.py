"""JoinedWritesProtocol (what `corridor serve` runs uvicorn with): each response leaves in one
write, and nothing about HTTP changes: keep-alive, pipelining, bodies streamed over several
loop turns, large bodies under flow control, HEAD, and errors from uvicorn itself."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from corridor.api.http_protocol import HOLD_BYTES, JoinedWritesProtocol
from tests.api.e1_server import ThreadServer

WRITES: list[int] = []  # sizes of the real transport's writes, in order


class _CountingTransport:
    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(len(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _CountingProtocol(JoinedWritesProtocol):
    """The production protocol, with the real transport's writes counted."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport.transport = _CountingTransport(transport)  # type: ignore[attr-defined]


BIG = bytes(range(256)) * (4 * HOLD_BYTES // 256 + 3)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    path = scope["path"]
    if path == "/stream":  # three chunks, each in its own loop turn
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/big":  # many parts in one loop turn: held only up to HOLD_BYTES
        await send({"type": "http.response.start", "status": 200, "headers": []})
        step = HOLD_BYTES // 2
        for start in range(0, len(BIG), step):
            await send({"type": "http.response.body", "body": BIG[start:start + step],
                        "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    body = f"hello {path}".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadServer]:
    s = ThreadServer(_app, http=_CountingProtocol).start()
    yield s
    s.stop()


def test_a_response_leaves_in_one_write_on_a_kept_alive_connection(server: ThreadServer
                                                                   ) -> None:
    with httpx.Client(base_url=server.url) as client:
        client.get("/warm")
        WRITES.clear()
        for k in range(3):
            r = client.get(f"/r{k}")
            assert r.status_code == 200 and r.text == f"hello /r{k}"
        head = client.head("/h")
        assert head.status_code == 200 and head.headers["content-length"] == "8"
    assert len(WRITES) == 4  # one per response, head and body together


def test_pipelined_requests_are_answered_in_order(server: ThreadServer) -> None:
    requests = b"".join(f"GET /p{k} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for k in range(5))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(requests)
        got = b""
        while got.count(b"hello /p") < 5 or not got.endswith(b"hello /p4"):
            chunk = sock.recv(65536)
            assert chunk, f"connection closed early: {got!r}"
            got += chunk
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in got.split(b"HTTP/1.1 200 OK")[1:]]
    assert bodies == [f"hello /p{k}".encode() for k in range(5)]


def test_a_body_streamed_over_several_turns_arrives_whole(server: ThreadServer) -> None:
    WRITES.clear()
    r = httpx.get(f"{server.url}/stream")
    assert r.status_code == 200 and r.text == "one two three"
    assert r.headers["transfer-encoding"] == "chunked"
    assert len(WRITES) >= 3  # each turn's part went out in its turn, not held to the end


def test_a_large_body_is_not_held_whole(server: ThreadServer) -> None:
    WRITES.clear()
    r = httpx.get(f"{server.url}/big")
    assert r.status_code == 200 and r.content == BIG
    # written as it came (so the transport's flow control can pause the sender), never
    # more than HOLD_BYTES and one part at a time
    assert len(WRITES) >= len(BIG) // HOLD_BYTES
    assert max(WRITES) < HOLD_BYTES + HOLD_BYTES // 2 + 64


def test_uvicorns_own_error_responses_still_go_out(server: ThreadServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    assert got.startswith(b"HTTP/1.1 400 Bad Request") and b"Invalid HTTP request" in got
