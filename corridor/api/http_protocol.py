"""uvicorn's httptools protocol, sending each response in one write.

uvicorn writes a response's head and its body with two `transport.write` calls, that is two
`send` system calls and two TCP segments; for a small response on a busy server those writes
can cost as much as producing the response. Here what one response writes in
a turn of the event loop leaves together: the parts are joined when the response completes,
or at the end of the loop turn for a response streamed over several turns.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Held bytes beyond this go out at once: a large or streamed body meets the transport's own
# flow control (which pauses the sender) as before.
HOLD_BYTES = 64 * 1024


class JoinedWrites:
    """A transport's stand-in whose writes are held until `flush` (called at the latest at
    the end of the loop turn of the first held write, or once HOLD_BYTES are held).
    Everything else is the transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))
        self._held_bytes += len(data)
        if self._held_bytes >= HOLD_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._held:
            data = b"".join(self._held) if len(self._held) > 1 else self._held[0]
            self._held.clear()
            self._held_bytes = 0
            if not self.transport.is_closing():
                self.transport.write(data)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def abort(self) -> None:
        self._held.clear()
        self._held_bytes = 0
        self.transport.abort()

    def get_write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() + self._held_bytes

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class JoinedWritesProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose responses go out in one write each (`uvicorn.run(...,
    http=JoinedWritesProtocol)`). A WebSocket upgrade gets the real transport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = JoinedWrites(transport, self.loop)  # type: ignore[assignment]

    def on_response_complete(self) -> None:
        self.transport.flush()  # type: ignore[attr-defined]
        super().on_response_complete()

    def handle_websocket_upgrade(self) -> None:
        joined = self.transport
        joined.flush()  # type: ignore[attr-defined]
        self.transport = joined.transport  # type: ignore[attr-defined]
        super().handle_websocket_upgrade()
