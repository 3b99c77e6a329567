"""Who is asking: `Authorization: Bearer <API key>` -> Viewer.

No header means the public viewer (the public log needs no credentials and sees no event
data). A header that is present but malformed, or a key that is unknown or revoked, is a 401
RFC 7807 problem (`epcisException:SecurityException`), never a silent downgrade to public:
a client with a broken key must find out.

Route modules call `await viewer_for(request, ctx)`; it raises `AuthError`, an HTTPException
whose `.response()` is the problem document. The app factory registers
`EXCEPTION_HANDLERS` so that the error renders the same from every route.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from corridor.query.visibility import Viewer
from corridor.store.db import Connection, Database
from corridor.store.parties import hash_api_key, party_for_key

__all__ = [
    "EXCEPTION_HANDLERS",
    "AuthError",
    "CaptureKeys",
    "Viewer",
    "hash_api_key",
    "must_be_party",
    "read_db",
    "require_party",
    "viewer_for",
]

T = TypeVar("T")


class AuthError(HTTPException):
    """401 (no or bad credentials) or 403 (known party, not allowed) as a problem document."""

    def __init__(self, status: int, detail: str) -> None:
        headers = {"WWW-Authenticate": 'Bearer realm="corridor"'} if status == 401 else None
        super().__init__(status_code=status, detail=detail, headers=headers)

    def response(self, instance: str | None = None) -> Response:
        body: dict[str, Any] = {
            "type": "epcisException:SecurityException",
            "title": "Unauthorised request" if self.status_code == 401
            else "Access to resource forbidden",
            "status": self.status_code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        return JSONResponse(body, status_code=self.status_code, headers=self.headers,
                            media_type="application/problem+json")


def instance_uri(request: HTTPConnection) -> str:
    """The absolute, percent-encoded URI of the request, for a problem's `instance` (the REST
    binding types it `format: uri`, so a bare path or raw Unicode would not do)."""
    raw = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    path = quote(bytes(raw), safe=_URI_SAFE)
    base = f"{request.url.scheme}://{request.url.netloc}"
    return base + path


_URI_SAFE = "/:@!$&'()*+,;=-._~%"


async def _auth_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthError)
    return exc.response(instance_uri(request))


# For Starlette(exception_handlers=...): renders AuthError raised anywhere in a route.
EXCEPTION_HANDLERS: dict[Any, Callable[..., Any]] = {AuthError: _auth_error_handler}


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


def parse_bearer(header: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header; None when no header was sent."""
    if header is None:
        return None
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthError(401, "Authorization header must be 'Bearer <API key>'")
    key = key.strip()
    if len(key) > 512 or not key.isprintable():
        raise AuthError(401, "malformed API key")
    return key


def _viewer_for_key(db: Database, key: str) -> Viewer | None:
    party = read_db(db, lambda conn: party_for_key(conn, key), reader=True)  # one SELECT
    if party is None:
        return None
    return Viewer(party.id, party.identifiers, party.role)


class CaptureKeys:
    """The parties of recent API keys, for POST /epcis/events only: that path is the hot one,
    and on it the key lookup was a tenth of the server's time.

    A cached key is never trusted to store anything: the route hands its hash to the capture
    writer, which checks, inside the write transaction, that it is still an active party's
    key (capture.KeyRevoked otherwise), so a revocation or key rotation, even by the CLI in
    another process, stops captures at once. Only keys that were found are cached (a stream
    of random keys cannot fill it); at most `size`, the oldest dropped first."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._by_hash: dict[str, Viewer] = {}

    async def viewer(self, request: HTTPConnection, ctx: Any) -> tuple[Viewer, str | None]:
        """(viewer, key hash) of a request: the hash is None when no key was sent."""
        key = parse_bearer(request.headers.get("authorization"))
        if key is None:
            return Viewer.PUBLIC, None
        key_hash = hash_api_key(key)
        viewer = self._by_hash.get(key_hash)
        if viewer is None:
            viewer = await _viewer_of_key(key, ctx)
            if len(self._by_hash) >= self.size:
                del self._by_hash[next(iter(self._by_hash))]
            self._by_hash[key_hash] = viewer
        return viewer, key_hash

    def forget(self, key_hash: str) -> None:
        self._by_hash.pop(key_hash, None)


async def viewer_for(request: HTTPConnection, ctx: Any) -> Viewer:
    """The Viewer for a request (HTTP or WebSocket). Raises AuthError(401) on a bad key."""
    key = parse_bearer(request.headers.get("authorization"))
    if key is None:
        return Viewer.PUBLIC
    return await _viewer_of_key(key, ctx)


async def _viewer_of_key(key: str, ctx: Any) -> Viewer:
    """The Viewer of a (well-formed) API key; AuthError(401) if unknown or revoked."""
    if ctx.db.dialect == "sqlite":
        # a point read on a local file (WAL: never waits for writers) costs less than the
        # hop to a worker thread and back
        viewer = _viewer_for_key(ctx.db, key)
    else:
        viewer = await run_in_threadpool(_viewer_for_key, ctx.db, key)
    if viewer is None:
        raise AuthError(401, "unknown or revoked API key")
    return viewer


async def require_party(request: HTTPConnection, ctx: Any) -> Viewer:
    """Like viewer_for, but anonymous requests are refused with 401."""
    return must_be_party(await viewer_for(request, ctx))


def must_be_party(viewer: Viewer) -> Viewer:
    """The viewer, unless anonymous: then 401."""
    if viewer.is_public:
        raise AuthError(401, "this resource needs 'Authorization: Bearer <API key>'")
    return viewer
