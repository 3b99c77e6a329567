"""HTTP routes of the corridor's legs, dwell and flow (corridor.monitoring.legs):

  GET /api/corridor/legs?from=&to=
      per leg and node: count, p50 / p90 of transit or stay hours, trend by ISO week, within
      [from, to) (dates YYYY-MM-DD) on the leg's departure / the stay's arrival; and the units
      over p90 now that the caller may see

Who may read: any party (401 without a key). The figures are the corridor's, over every
unit; the units over p90 are only those whose current place the caller may read.
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from corridor.monitoring.legs import corridor_legs, legs_json, parse_day, visible_overdue
from corridor.query.visible_set import readable_among
from corridor.serving import AppContext, ProblemError, require_party
from corridor.store.db import Connection

PARAMETERS = ("from", "to")
# The units over p90 an answer lists, longest over first.
OVERDUE_LIMIT = 1000



def _day(request: Request, name: str) -> datetime | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ProblemError.invalid(name, "give it once")
    if not values:
        return None
    try:
        return parse_day(values[0])
    except ValueError as exc:
        raise ProblemError.invalid(name, str(exc)) from None


def dates(request: Request) -> tuple[datetime | None, datetime | None]:
    unknown = sorted(set(request.query_params) - set(PARAMETERS))
    if unknown:
        raise ProblemError.invalid(unknown[0], "unknown query parameter; use from, to")
    start, end = _day(request, "from"), _day(request, "to")
    if start is not None and end is not None and end <= start:
        raise ProblemError.invalid("to", "must be after from")
    return start, end


class _Routes:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def legs(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        start, end = dates(request)
        cache_key = self.ctx.db.url

        def read(conn: Connection) -> dict[str, object]:
            found = corridor_legs(conn, cache_key)
            overdue, _ = visible_overdue(
                found, lambda pks: readable_among(conn, viewer, pks), OVERDUE_LIMIT)
            return legs_json(found.statistics(start, end), found.places, overdue, start, end,
                             found.samples.now)

        return JSONResponse(await self.ctx.read(read))


def routes(ctx: AppContext) -> list[BaseRoute]:
    r = _Routes(ctx)
    return [Route("/api/corridor/legs", r.legs, methods=["GET"])]
