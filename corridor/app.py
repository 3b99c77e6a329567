"""The HTTP application of a node: opens the store, migrates it, opens the log, mounts every
concern's routes (the REST API of corridor.api, the dashboard of corridor.web) and the
operations endpoints (/healthz, /readyz, /metrics; request ids: docs/operations.md), and runs
the log's background signer and the subscription task for its lifetime.

This module and corridor.cli are the only ones that import corridor.api and corridor.web.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from corridor.api import (
    cbam_routes,
    corridor_routes,
    credential_routes,
    epcis_routes,
    eta_routes,
    fx_routes,
    insurance_routes,
    log_routes,
    notice_routes,
    openapi_routes,
    party_routes,
    subscription_routes,
)
from corridor.api.capture_routes import capture_service
from corridor.api.epcis_http import version_problem
from corridor.config import Settings
from corridor.monitoring.eta import eta_service
from corridor.node import open_ledger
from corridor.node.passes import BackgroundPass
from corridor.serving import (
    EXCEPTION_HANDLERS,
    AppContext,
    ProblemError,
    instance_uri,
    problem_response,
)
from corridor.serving.health import Readiness, health_routes
from corridor.serving.logs import RequestIds
from corridor.serving.metrics import HttpMetrics, NodeMetrics, metrics_routes
from corridor.store.db import Connection, Database
from corridor.store.migrations import migrate
from corridor.subscriptions import subscription_lifespan
from corridor.web import routes as web_routes

log = logging.getLogger("corridor.app")

Handler = Callable[[Request, Exception], Awaitable[Response]]

# Starlette's own errors (no route matches, e.g. a path value with a line break; a method
# the route does not allow) as the binding's problems under /epcis/.
_HTTP_PROBLEMS = {404: ("NoSuchNameException", "Resource not found"),
                  405: ("ValidationException", "Method not allowed")}


async def _on_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    problem = ProblemError.epcis(500, "ImplementationException", "Internal error",
                                 f"{exc.__class__.__name__} while serving this request")
    return problem_response(problem, instance_uri(request))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith("/epcis"):
        if exc.status_code in {204, 304}:
            return Response(status_code=exc.status_code, headers=exc.headers)
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    exception, title = _HTTP_PROBLEMS.get(exc.status_code, ("ValidationException", "Bad request"))
    problem = ProblemError.epcis(exc.status_code, exception, title, str(exc.detail),
                                 headers=exc.headers)
    return problem_response(problem, instance_uri(request))


def _handlers() -> dict[type[Exception], Handler]:
    return {**EXCEPTION_HANDLERS, **epcis_routes.EXCEPTION_HANDLERS,
            HTTPException: _on_http, Exception: _on_error}


def _routes(ctx: AppContext, ops: list[BaseRoute]) -> list[BaseRoute]:
    epcis = epcis_routes.routes(ctx)
    # The catch-all discovery routes (/epcis/{resource}/...) go last so that the other
    # concerns' fixed paths under /epcis/ (subscriptions) win.
    generic = [r for r in epcis if "{resource}" in getattr(r, "path", "")]
    specific = [r for r in epcis if r not in generic]
    return [*ops,
            *specific,
            *log_routes.routes(ctx),
            *fx_routes.routes(ctx),
            *subscription_routes.routes(ctx),
            *web_routes.routes(ctx),
            *party_routes.routes(ctx),
            *credential_routes.routes(ctx),
            *cbam_routes.routes(ctx),
            *insurance_routes.routes(ctx),
            *notice_routes.routes(ctx),
            *eta_routes.routes(ctx),
            *corridor_routes.routes(ctx),
            *openapi_routes.routes(ctx),
            *generic]


def create_app(settings: Settings) -> Starlette:
    """The ASGI app of a node. Migrations run here, once, before the first request."""
    db = Database(settings.db_url)
    with db.connect() as conn:
        migrate(db, conn)
    ledger = open_ledger(settings, db)
    ctx = AppContext(settings=settings, db=db, ledger=ledger)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ledger.start()
        try:
            async with subscription_lifespan(ctx) as subscriptions:
                # claims open as logged events: wake the subscriptions that deliver them
                insurance = ctx.insurance_service()

                def claims(conn: Connection) -> None:
                    if insurance.evaluate(conn).claims:
                        subscriptions.notify()

                # forecasts kept fresh; their alerts wake the deliveries and WebSocket listeners
                forecasts = eta_service(db)
                forecasts.on_alerts = lambda _: subscriptions.notify()
                # one node of several does the shared work: the log's sequencer
                sequencing = ledger.sequencer.held.is_set
                subscriptions.active = forecasts.queues_alerts = sequencing
                passes = [BackgroundPass("insurance", db, claims, interval=1.0,
                                         when=sequencing),
                          BackgroundPass("eta", db, forecasts.refresh, interval=0.25)]
                for p in passes:
                    p.start()
                try:
                    yield
                finally:
                    for p in passes:
                        await asyncio.to_thread(p.stop)
        finally:
            if ctx.capture is not None:  # commits what is queued, then stops the workers
                await asyncio.to_thread(ctx.capture.close)
            ledger.stop()

    # Operations: /healthz, /readyz, /metrics; request ids on every request and log line.
    metrics, readiness = NodeMetrics(ctx), Readiness(ctx)
    metrics.watch_witnesses(ledger)
    ops = [*health_routes(readiness), *metrics_routes(metrics)]
    app = Starlette(routes=_routes(ctx, ops), lifespan=lifespan, exception_handlers=_handlers(),
                    middleware=[Middleware(RequestIds),
                                Middleware(HttpMetrics, metrics=metrics,
                                           capture_service=lambda: capture_service(ctx)),
                                Middleware(_VersionCheck)])
    app.state.ctx = ctx
    app.state.metrics, app.state.readiness = metrics, readiness
    return app


class _VersionCheck:
    """406 for /epcis/ requests asking for an EPCIS or CBV version other than 2.0."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # (ASGI header names are lower case; most requests carry no GS1 header at all)
        if scope["type"] == "http" and scope["path"].startswith("/epcis") and any(
                name.startswith(b"gs1-") for name, _ in scope["headers"]):
            why = version_problem(Headers(scope=scope))
            if why:
                problem = ProblemError.epcis(406, "NotAcceptableException",
                                             "Version not supported", why)
                response = problem_response(problem, instance_uri(HTTPConnection(scope)))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
