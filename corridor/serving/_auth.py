"""Who is asking: `Authorization: Bearer <API key>` -> Viewer.

No header means the public viewer (the public log needs no credentials and sees no event
data). A header that is present but malformed, or a key that is unknown or revoked, is a 401
problem (`epcisException:SecurityException`), never a silent downgrade to public: a client
with a broken key must find out.

Route modules call `await viewer_for(request, ctx)`; it raises `AuthError`, a ProblemError
that the app renders like any other.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from corridor.query.visibility import Viewer
from corridor.serving._context import AppContext
from corridor.serving._db import read_db
from corridor.serving._problems import GS1_HEADERS, ProblemError
from corridor.store.db import Database
from corridor.store.parties import hash_api_key, party_for_key


class AuthError(ProblemError):
    """401 (no or bad credentials) or 403 (a known party, not allowed): the binding's
    SecurityException.

    A 401 challenges with `WWW-Authenticate: Bearer realm="corridor"` (RFC 6750), adding
    `error="invalid_token"` for a key that is malformed, unknown or revoked and
    `error="invalid_request"` for a Bearer header without a key: `error` names which. No
    credentials at all, or another scheme than Bearer, get the challenge alone."""

    def __init__(self, status: int, detail: str, *, error: str | None = None,
                 rule: str | None = None) -> None:
        title = "Unauthorised request" if status == 401 else "Access to resource forbidden"
        challenge: dict[str, str] = {}
        if status == 401:
            value = 'Bearer realm="corridor"'
            challenge["WWW-Authenticate"] = f'{value}, error="{error}"' if error else value
        rule = rule or (error.replace("_", "-") if error else (
            "missing-credentials" if status == 401 else "forbidden"))
        super().__init__(status, "epcisException:SecurityException", title, detail,
                         headers={**GS1_HEADERS, **challenge}, rule=rule)


def parse_bearer(header: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header; None when no header was sent."""
    if header is None:
        return None
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthError(401, "Authorization header must be 'Bearer <API key>'",
                        rule="bearer-required")
    if not key.strip():
        raise AuthError(401, "Authorization header must be 'Bearer <API key>'",
                        error="invalid_request")
    key = key.strip()
    if len(key) > 512 or not key.isprintable():
        raise AuthError(401, "malformed API key", error="invalid_token")
    return key


def _viewer_for_key(db: Database, key: str) -> Viewer | None:
    party = read_db(db, lambda conn: party_for_key(conn, key), reader=True)  # one SELECT
    if party is None:
        return None
    return Viewer(party.id, party.identifiers, party.role)


class CaptureKeys:
    """The parties of recent API keys, for POST /epcis/events only: that path is the hot one,
    and a database lookup of the key on every request would be a large share of its cost.

    A cached key is never trusted to store anything: the route hands its hash to the capture
    writer, which checks, inside the write transaction, that it is still an active party's
    key (capture.KeyRevoked otherwise), so a revocation or key rotation, even by the CLI in
    another process, stops captures at once. Only keys that were found are cached (a stream
    of random keys cannot fill it); at most `size`, the oldest dropped first."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._by_hash: dict[str, Viewer] = {}

    async def viewer(self, request: HTTPConnection, ctx: AppContext
                     ) -> tuple[Viewer, str | None]:
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


async def viewer_for(request: HTTPConnection, ctx: AppContext) -> Viewer:
    """The Viewer for a request (HTTP or WebSocket). Raises AuthError(401) on a bad key."""
    key = parse_bearer(request.headers.get("authorization"))
    if key is None:
        return Viewer.PUBLIC
    return await _viewer_of_key(key, ctx)


async def _viewer_of_key(key: str, ctx: AppContext) -> Viewer:
    """The Viewer of a (well-formed) API key; AuthError(401) if unknown or revoked."""
    if ctx.db.dialect == "sqlite":
        # a point read on a local file (WAL: never waits for writers) costs less than the
        # hop to a worker thread and back
        viewer = _viewer_for_key(ctx.db, key)
    else:
        viewer = await run_in_threadpool(_viewer_for_key, ctx.db, key)
    if viewer is None:
        raise AuthError(401, "unknown or revoked API key", error="invalid_token")
    return viewer


async def require_party(request: HTTPConnection, ctx: AppContext) -> Viewer:
    """Like viewer_for, but anonymous requests are refused with 401."""
    return must_be_party(await viewer_for(request, ctx))


def must_be_party(viewer: Viewer) -> Viewer:
    """The viewer, unless anonymous: then 401."""
    if viewer.is_public:
        raise AuthError(401, "this resource needs 'Authorization: Bearer <API key>'")
    return viewer
