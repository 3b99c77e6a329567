"""The EPCIS 2.0 REST binding under /epcis/: its top level, its error handlers, and its
resources mounted in one list (one module each).

capture_routes (capture and capture jobs), event_routes (events, one event, its receipt),
query_routes (named queries and their events), discovery_routes (eventTypes, epcs, ...);
epcis_resource holds what they share. Thin: each handler authenticates, hands the work to
corridor.capture, corridor.query or corridor.store, and renders the result with the GS1
headers. Every event read goes through corridor.query.visibility for the requesting party.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from corridor.api.auth import instance_uri
from corridor.api.capture_routes import CaptureRoutes
from corridor.api.context import AppContext
from corridor.api.discovery_routes import DiscoveryRoutes
from corridor.api.epcis_http import EPCIS_CONTEXT, GS1_HEADERS, PageTokens, ProblemError, problem
from corridor.api.epcis_resource import options
from corridor.api.event_routes import EventRoutes
from corridor.api.query_routes import QueryRoutes
from corridor.query.params import QueryError

_TOP_LEVEL = ["capture", "events", "eventTypes", "epcs", "bizSteps", "bizLocations",
              "readPoints", "dispositions", "queries"]


async def _root(request: Request) -> Response:
    if request.method == "OPTIONS":
        return options("OPTIONS, GET")
    return JSONResponse({"@context": EPCIS_CONTEXT, "type": "Collection",
                         "member": _TOP_LEVEL}, headers=GS1_HEADERS)


async def _release_token(request: Request) -> Response:
    """DELETE /nextPageToken/{token}, optional in the binding: page tokens here are signed
    and hold no server resources, so there is nothing to release and no way to revoke one."""
    raise ProblemError(501, "ImplementationException", "Functionality not supported by server",
                       "nextPageToken values hold no server resources and cannot be revoked"
                       " before they expire")


def _error_handlers() -> dict[Any, Callable[..., Any]]:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return exc.response(instance_uri(request))

    async def on_query(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, QueryError)
        names = ", ".join(sorted({n for n, _ in exc.problems}))
        return problem(400, exc.exception, "Invalid query parameters",
                       f"{names}: " + "; ".join(f"{n}: {m}" for n, m in exc.problems),
                       instance_uri(request),
                       parameters=[{"name": n, "problem": m} for n, m in exc.problems])

    return {ProblemError: on_problem, QueryError: on_query}


EXCEPTION_HANDLERS = _error_handlers()


def routes(ctx: AppContext) -> list[BaseRoute]:
    tokens = PageTokens.for_data_dir(ctx.settings.data_dir)
    capture = CaptureRoutes(ctx, tokens)
    events = EventRoutes(ctx, tokens, capture)
    queries = QueryRoutes(ctx, tokens)
    discovery = DiscoveryRoutes(ctx, tokens)
    any_ = ["GET", "OPTIONS"]
    return [
        Route("/epcis", _root, methods=any_),
        Route("/epcis/", _root, methods=any_),
        Route("/epcis/capture", capture.capture, methods=["GET", "POST", "OPTIONS"]),
        Route("/epcis/capture/{capture_id}", capture.capture_job, methods=any_),
        Route("/epcis/events", events.events, methods=["GET", "POST", "OPTIONS"]),
        Route("/epcis/events/{event_id:path}", events.event, methods=any_),
        Route("/epcis/queries", queries.queries, methods=["GET", "POST", "OPTIONS"]),
        Route("/epcis/queries/{name}", queries.query, methods=["GET", "DELETE", "OPTIONS"]),
        Route("/epcis/queries/{name}/events", queries.query_events, methods=any_),
        Route("/epcis/nextPageToken/{token}", _release_token, methods=["DELETE"]),
        Route("/epcis/{resource}", discovery.discovery, methods=any_),
        Route("/epcis/{resource}/{rest:path}", discovery.discovery_item, methods=any_),
    ]
