"""HTTP routes of port and border notices (corridor.monitoring):

  POST /api/notices             an operator (a member or admin party) posts a notice; it is
                                logged as an EPCIS event of that party (201, the notice)
  GET  /api/notices?node=&at=&from=&to=&limit=
                                the notices, public: about a node, in force at a time, in
                                force at some time of [from, to)
  GET  /api/notices/{id}        one notice by the Event Hash ID of its event (ni:///...: the
                                path keeps its slashes)
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from corridor.monitoring.notices import (
    MAX_NODE,
    NoticeError,
    notice_json,
    parse_notice,
    parse_time,
)
from corridor.monitoring.service import POSTERS, NotAllowed, notice, notices, post_notice
from corridor.serving import (
    AppContext,
    AuthError,
    ProblemError,
    by_method,
    read_json_body,
    require_party,
    viewer_for,
)
from corridor.store.db import Connection
from corridor.store.notices import MAX_LIMIT, StoredNotice

PARAMETERS = ("node", "at", "from", "to", "limit")
BODY_LIMIT = 64 * 1024



def _one(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ProblemError.invalid(name, "give it once")
    if not values:
        return None
    if not values[0] or "\x00" in values[0] or len(values[0]) > MAX_NODE:
        raise ProblemError.invalid(name, f"must be a non-empty string of at most {MAX_NODE} characters")
    return values[0]


def _time(request: Request, name: str) -> datetime | None:
    raw = _one(request, name)
    if raw is None:
        return None
    try:
        return parse_time(raw, name)
    except NoticeError as exc:
        raise ProblemError.invalid(name, exc.message) from None


def _limit(request: Request) -> int:
    raw = _one(request, "limit")
    if raw is None:
        return 100
    if not raw.isascii() or not raw.isdigit() or len(raw) > 4 or not 1 <= int(raw) <= MAX_LIMIT:
        raise ProblemError.invalid("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def notice_path(hash_id: str) -> str:
    """Where a notice is served: its Event Hash ID with its `?` escaped, so that it stays in
    the path."""
    return "/api/notices/" + quote(hash_id, safe=":/;=")


def _json(found: StoredNotice) -> dict[str, Any]:
    return notice_json(found.notice, found.party)


class _Routes:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def post(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        if viewer.role not in POSTERS:
            raise AuthError(403, "only a member or admin party (an operator) may post notices",
                            rule="not-an-operator")
        body = await read_json_body(request, BODY_LIMIT)
        try:
            parse_notice(body)  # refused here, before a database connection is taken
        except NoticeError as exc:
            raise ProblemError.invalid(exc.pointer, exc.message) from None
        ledger = self.ctx.running_log()

        def run(conn: Connection) -> StoredNotice | None:
            posted = post_notice(conn, ledger, viewer, body)
            return notice(conn, posted.hash_id)

        try:
            found = await self.ctx.read(run)
        except NotAllowed as exc:
            raise AuthError(403, str(exc), rule="not-an-operator") from None
        except NoticeError as exc:
            raise ProblemError.invalid(exc.pointer, exc.message) from None
        assert found is not None
        return JSONResponse(_json(found), status_code=201,
                            headers={"Location": notice_path(found.notice.hash_id)})

    async def list(self, request: Request) -> Response:
        await viewer_for(request, self.ctx)  # public, but a bad key is still refused (401)
        unknown = sorted(set(request.query_params) - set(PARAMETERS))
        if unknown:
            raise ProblemError.invalid(unknown[0], "unknown query parameter; use " + ", ".join(PARAMETERS))
        node, at = _one(request, "node"), _time(request, "at")
        start, end = _time(request, "from"), _time(request, "to")
        if start is not None and end is not None and end <= start:
            raise ProblemError.invalid("to", "must be after from")
        limit = _limit(request)
        found = await self.ctx.read(lambda c: notices(c, node=node, at=at, start=start, end=end,
                                                 limit=limit))
        return JSONResponse([_json(n) for n in found])

    async def get(self, request: Request) -> Response:
        await viewer_for(request, self.ctx)
        hash_id = request.path_params["id"]
        found = await self.ctx.read(lambda c: notice(c, hash_id))
        if found is None:
            raise ProblemError.epcis(404, "NoSuchNameException", "Not found",
                                     f"no notice {hash_id!r}")
        return JSONResponse(_json(found))


def routes(ctx: AppContext) -> list[BaseRoute]:
    r = _Routes(ctx)
    collection = {"GET": r.list, "POST": r.post}
    one = Route("/api/notices/{id:path}", r.get, methods=["GET"])
    # Any id, a line break included, gets this route's 404 problem rather than no route.
    one.path_regex = re.compile(r"^/api/notices/(?P<id>.*)$", re.DOTALL)
    return [Route("/api/notices", by_method(collection), methods=list(collection)), one]
