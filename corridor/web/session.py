"""Who is looking at a dashboard page: the API key kept in a cookie by the login form, or an
`Authorization: Bearer` header, resolved to the same Viewer the REST API uses."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from corridor.query.visibility import Viewer
from corridor.serving import AuthError, parse_bearer
from corridor.store.db import Connection
from corridor.store.parties import party_for_key

COOKIE = "corridor_key"


@dataclass(frozen=True)
class Session:
    viewer: Viewer
    name: str | None  # the party's name, None for the public
    bad_key: bool = False  # a key was presented but is unknown or revoked

    @property
    def public(self) -> bool:
        return self.viewer.party_id is None


PUBLIC = Session(Viewer.PUBLIC, None)


def session_for_key(conn: Connection, key: str | None) -> Session:
    """Blocking: look the key up (run it in a worker thread)."""
    if not key:
        return PUBLIC
    party = party_for_key(conn, key)
    if party is None:
        return Session(Viewer.PUBLIC, None, bad_key=True)
    return Session(Viewer(party.id, party.identifiers, party.role), party.name)


def request_key(request: Request) -> str | None:
    """The API key of a request: Authorization header first, else the login cookie."""
    try:
        key = parse_bearer(request.headers.get("authorization"))
    except AuthError:  # a malformed header counts as a bad key, shown as logged out
        return "\x00invalid"
    return key or request.cookies.get(COOKIE) or None
