"""The EPCIS 2.0 REST binding under /epcis/: its top level, its error handlers, and its
resources mounted in one list (one module each).

capture_routes (capture and capture jobs), event_routes (events, one event, its receipt),
query_routes (named queries and their events), discovery_routes (eventTypes, epcs, ...);
epcis_resource holds what they share. Thin: each handler authenticates, hands the work to
corridor.capture, corridor.query or corridor.store, and renders the result with the GS1
headers. Every event read goes through corridor.query.visibility for the requesting party.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from corridor.api.capture_routes import SIGNATURE_HEADER, CaptureRoutes
from corridor.api.discovery_routes import DiscoveryRoutes
from corridor.api.epcis_http import EPCIS_CONTEXT, PageTokens
from corridor.api.epcis_resource import options, query_problem
from corridor.api.event_routes import EventRoutes
from corridor.api.query_routes import QueryRoutes
from corridor.capture import SignatureError
from corridor.query.params import QueryError
from corridor.serving import (
    GS1_HEADERS,
    AppContext,
    ProblemError,
    instance_uri,
    problem_response,
    require_party,
)

_TOP_LEVEL = ["capture", "events", "eventTypes", "epcs", "bizSteps", "bizLocations",
              "readPoints", "dispositions", "queries"]


async def _root(request: Request) -> Response:
    if request.method == "OPTIONS":
        return options("OPTIONS, GET")
    return JSONResponse({"@context": EPCIS_CONTEXT, "type": "Collection",
                         "member": _TOP_LEVEL}, headers=GS1_HEADERS)


def _release_token(ctx: AppContext) -> Callable[[Request], Awaitable[Response]]:
    async def release(request: Request) -> Response:
        """DELETE /nextPageToken/{token}, optional in the binding: page tokens here are
        signed and hold no server resources, so there is nothing to release; they do not
        expire, and none can be revoked alone (see PageTokens). A party's request only."""
        await require_party(request, ctx)
        raise ProblemError.epcis(501, "ImplementationException",
                                 "Functionality not supported by server",
                                 "nextPageToken values hold no server resources and cannot"
                                 " be revoked")

    return release


async def _on_query_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, QueryError)
    return problem_response(query_problem(exc), instance_uri(request))


async def _on_signature_error(request: Request, exc: Exception) -> Response:
    """A bad Corridor-Signature: 401, or 403 for a party without a verifier key."""
    assert isinstance(exc, SignatureError)
    if exc.no_key:
        problem = ProblemError.epcis(403, "SecurityException", "Capture signature not accepted",
                                     f"{SIGNATURE_HEADER}: {exc}", rule="signature")
    else:
        # (a 401 carries a challenge, RFC 7235: the key was right, the signature was not)
        problem = ProblemError.epcis(401, "SecurityException", "Invalid capture signature",
                                     f"{SIGNATURE_HEADER}: {exc}", rule="signature",
                                     headers={"WWW-Authenticate": 'Bearer realm="corridor"'})
    return problem_response(problem, instance_uri(request))


# For Starlette(exception_handlers=...): the errors of the query and capture layers that
# reach a route, as the binding's problems (ProblemError itself is corridor.serving's).
EXCEPTION_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
    QueryError: _on_query_error, SignatureError: _on_signature_error}


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
        Route("/epcis/nextPageToken/{token}", _release_token(ctx), methods=["DELETE"]),
        Route("/epcis/{resource}", discovery.discovery, methods=any_),
        Route("/epcis/{resource}/{rest:path}", discovery.discovery_item, methods=any_),
    ]
