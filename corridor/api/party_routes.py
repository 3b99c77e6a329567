"""HTTP management of parties, shares and auditor grants (the CLI's `corridor party ...`).

  GET    /parties/me                         the calling party (any party)
  POST   /parties/shares   {eventID, party, capturedBy?}
                                             share the events the caller captured under that
                                             eventID or Event Hash ID (admin: those of
                                             capturedBy, needed when several parties' events
                                             carry that eventID)
  DELETE /parties/shares?eventID=..&party=..[&capturedBy=..] withdraw such a share
  GET    /parties                            list parties (admin)
  POST   /parties          {name, identifier, role?, verifierKey?, identifiers?}
                                             add a party; the response shows its key once (admin)
  POST   /parties/{ref}/revoke               revoke a party (admin)
  POST   /parties/grants   {auditor, party}  let an auditor read what a party may (admin)
  DELETE /parties/grants?auditor=..&party=.. withdraw a grant (admin)
  GET    /openapi/parties.json               OpenAPI of these and the subscription resources

A party names another by numeric id, main identifier or name. An event the caller may not
share answers 404, like an event it may not read: existence is not disclosed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from corridor.query.visibility import Viewer
from corridor.serving import (
    GS1_HEADERS,
    AppContext,
    AuthError,
    ProblemError,
    by_method,
    openapi,
    read_json_body,
    require_party,
)
from corridor.store import parties as store
from corridor.store.db import Connection

Handler = Callable[[Request, Viewer], Awaitable[Response]]


class _BadRequest(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")


def _party_json(p: store.Party, grants: list[int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": p.id, "name": p.name, "identifier": p.identifier,
                           "role": p.role, "identifiers": list(p.identifiers),
                           "verifierKey": p.verifier_key, "createdAt": p.created_at,
                           "revokedAt": p.revoked_at}
    if grants is not None:
        out["grants"] = grants
    return out


async def _json_body(request: Request) -> dict[str, Any]:
    # streamed and bounded (413 past 64 KiB); too deep, not JSON or a lone surrogate: 400
    body = await read_json_body(request, 64 * 1024)
    if not isinstance(body, dict):
        raise _BadRequest("/", "must be a JSON object")
    return body


def _text(body: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _BadRequest(f"/{field}", "must be a non-empty string")
    if "\x00" in value:
        raise _BadRequest(f"/{field}", "must not contain a NUL character")
    return value


def _param(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise _BadRequest(name, "query parameter is required")
    if "\x00" in value:
        raise _BadRequest(name, "must not contain a NUL character")
    return value


class _Routes:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def wrap(self, handler: Handler, *, admin: bool = False
             ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            viewer = await require_party(request, self.ctx)
            if admin and not viewer.is_admin:
                raise AuthError(403, "only an admin party may do this")
            try:
                return await handler(request, viewer)
            except store.PartyError as exc:
                if exc.field == "party" and "no party" in str(exc):
                    raise ProblemError.epcis(404, "NoSuchNameException", "Not found",
                                             str(exc)) from None
                raise ProblemError.epcis(400, "ValidationException", "Bad request",
                                         str(exc)) from None
            except _BadRequest as exc:
                raise ProblemError.epcis(400, "ValidationException", "Bad request",
                                         str(exc)) from None

        return endpoint

    async def me(self, request: Request, viewer: Viewer) -> Response:
        assert viewer.party_id is not None
        pid = viewer.party_id

        def load(conn: Connection) -> dict[str, Any]:
            party = store.get_party(conn, pid)
            assert party is not None
            grants = store.grants_of(conn, pid) if party.role == "auditor" else None
            return _party_json(party, grants)

        return JSONResponse(await self.ctx.read(load), headers=GS1_HEADERS)

    async def share(self, request: Request, viewer: Viewer) -> Response:
        body = await _json_body(request)
        event_id, target = _text(body, "eventID"), _text(body, "party")
        assert event_id is not None and target is not None
        captured_by = _text(body, "capturedBy", required=False)
        return await self._share(request, viewer, event_id, target, captured_by, undo=False)

    async def unshare(self, request: Request, viewer: Viewer) -> Response:
        captured_by = request.query_params.get("capturedBy") or None
        return await self._share(request, viewer, _param(request, "eventID"),
                                 _param(request, "party"), captured_by, undo=True)

    async def _share(self, request: Request, viewer: Viewer, event_id: str, target: str,
                     captured_by: str | None, *, undo: bool) -> Response:
        """A share names stored events, never the eventID text: a member's share names the
        events it captured under that eventID, an admin's those of one capturing party."""
        def run(conn: Connection) -> bool:
            pks = store.events_to_share(
                conn, event_id, sharer=None if viewer.is_admin else viewer.party_id,
                captured_by=captured_by if viewer.is_admin else None)
            if not pks:
                return False
            if undo:
                return store.unshare_events(conn, pks, target)
            store.share_events(conn, pks, target)
            return True

        try:
            done = await self.ctx.read(run)
        except store.AmbiguousEvent as exc:
            raise ProblemError.epcis(409, "ValidationException", "Conflict", str(exc)) from None
        if not done:
            raise ProblemError.epcis(404, "NoSuchNameException", "Not found",
                                     f"no event {event_id!r} that this party captured"
                                     + (" shared with that party" if undo else ""))
        return Response(status_code=204 if undo else 201, headers=GS1_HEADERS)

    async def list_parties(self, request: Request, viewer: Viewer) -> Response:
        def load(conn: Connection) -> list[dict[str, Any]]:
            return [_party_json(p, store.grants_of(conn, p.id) if p.role == "auditor" else None)
                    for p in store.list_parties(conn)]

        return JSONResponse(await self.ctx.read(load), headers=GS1_HEADERS)

    async def add(self, request: Request, viewer: Viewer) -> Response:
        body = await _json_body(request)
        extra = body.get("identifiers", [])
        if not isinstance(extra, list) or not all(isinstance(i, str) for i in extra):
            raise _BadRequest("/identifiers", "must be an array of strings")
        role = body.get("role", "member")
        if not isinstance(role, str):
            raise _BadRequest("/role", "must be a string")
        name, ident = _text(body, "name"), _text(body, "identifier")
        vkey = _text(body, "verifierKey", required=False)

        def run(conn: Connection) -> tuple[store.Party, str]:
            return store.add_party(conn, name or "", ident or "", role=role, verifier_key=vkey,
                                   extra_identifiers=extra)

        party, key = await self.ctx.read(run)
        return JSONResponse({**_party_json(party), "apiKey": key}, status_code=201,
                            headers=GS1_HEADERS)

    async def revoke(self, request: Request, viewer: Viewer) -> Response:
        ref = request.path_params["ref"]
        party = await self.ctx.read(lambda c: store.revoke_party(c, ref))
        return JSONResponse(_party_json(party), headers=GS1_HEADERS)

    async def grant(self, request: Request, viewer: Viewer) -> Response:
        body = await _json_body(request)
        auditor, party = _text(body, "auditor"), _text(body, "party")
        await self.ctx.read(lambda c: store.grant_auditor(c, auditor or "", party or ""))
        return Response(status_code=201, headers=GS1_HEADERS)

    async def ungrant(self, request: Request, viewer: Viewer) -> Response:
        auditor, party = _param(request, "auditor"), _param(request, "party")
        done = await self.ctx.read(lambda c: store.revoke_grant(c, auditor, party))
        if not done:
            raise ProblemError.epcis(404, "NoSuchNameException", "Not found", "no such grant")
        return Response(status_code=204, headers=GS1_HEADERS)


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi.subset(openapi.PARTIES_TAGS))


def routes(ctx: AppContext) -> list[BaseRoute]:
    r = _Routes(ctx)
    shares = {"POST": r.wrap(r.share), "DELETE": r.wrap(r.unshare)}
    grants = {"POST": r.wrap(r.grant, admin=True), "DELETE": r.wrap(r.ungrant, admin=True)}
    parties = {"GET": r.wrap(r.list_parties, admin=True), "POST": r.wrap(r.add, admin=True)}
    return [
        Route("/openapi/parties.json", _openapi, methods=["GET"]),
        Route("/parties/me", r.wrap(r.me), methods=["GET"]),
        Route("/parties/shares", by_method(shares), methods=list(shares)),
        Route("/parties/grants", by_method(grants), methods=list(grants)),
        Route("/parties", by_method(parties), methods=list(parties)),
        Route("/parties/{ref}/revoke", r.wrap(r.revoke, admin=True), methods=["POST"]),
    ]
