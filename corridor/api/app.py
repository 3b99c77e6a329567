"""The HTTP application: opens the store, migrates it, opens the log, mounts every concern's
routes, and runs the log's background signer and the subscription task for its lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute

from corridor.api import epcis_routes
from corridor.api.auth import instance_uri
from corridor.api.context import AppContext
from corridor.api.epcis_http import problem, version_problem
from corridor.config import Settings
from corridor.store.db import Database
from corridor.store.migrations import migrate

log = logging.getLogger("corridor.api")

# Route modules of the other concerns: each exposes routes(ctx) -> list[BaseRoute].
_ROUTE_MODULES = ("corridor.api.log_routes", "corridor.api.fx_routes",
                  "corridor.api.subscription_routes", "corridor.web.routes",
                  "corridor.api.party_routes")


def _other_routes(ctx: AppContext) -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for name in _ROUTE_MODULES:
        module = importlib.import_module(name)
        found.extend(module.routes(ctx))
    return found


_HTTP_PROBLEMS = {404: ("NoSuchNameException", "Resource not found"),
                  405: ("ValidationException", "Method not allowed")}


def _handlers() -> dict[Any, Callable[..., Any]]:
    handlers: dict[Any, Callable[..., Any]] = dict(epcis_routes.EXCEPTION_HANDLERS)
    from corridor.api.auth import EXCEPTION_HANDLERS as auth_handlers

    handlers.update(auth_handlers)

    async def on_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "ImplementationException", "Internal error",
                       f"{exc.__class__.__name__} while serving this request",
                       instance_uri(request))

    async def on_http(request: Request, exc: Exception) -> Response:
        # Starlette's own 404 (no route matches, e.g. a path value with a line break) and 405:
        # under /epcis/ a problem document like every other error there.
        assert isinstance(exc, HTTPException)
        if not request.url.path.startswith("/epcis"):
            if exc.status_code in {204, 304}:
                return Response(status_code=exc.status_code, headers=exc.headers)
            return PlainTextResponse(exc.detail, status_code=exc.status_code,
                                     headers=exc.headers)
        exception, title = _HTTP_PROBLEMS.get(exc.status_code,
                                              ("ValidationException", "Bad request"))
        return problem(exc.status_code, exception, title, str(exc.detail), instance_uri(request),
                       headers=exc.headers)

    handlers[Exception] = on_error
    handlers[HTTPException] = on_http
    return handlers


def create_app(settings: Settings) -> Starlette:
    """The ASGI app of a node. Migrations run here, once, before the first request."""
    from corridor.node import open_ledger

    db = Database(settings.db_url)
    with db.connect() as conn:
        migrate(db, conn)
    ledger = open_ledger(settings, db)
    ctx = AppContext(settings=settings, db=db, ledger=ledger)
    mine = epcis_routes.routes(ctx)
    # The catch-all discovery routes (/epcis/{resource}/...) go last so that the other
    # concerns' fixed paths under /epcis/ (subscriptions) win.
    generic = [r for r in mine if "{resource}" in getattr(r, "path", "")]
    specific = [r for r in mine if r not in generic]
    routes = specific + _other_routes(ctx) + generic

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from corridor.subscriptions import subscription_lifespan

        ledger.start()
        try:
            async with subscription_lifespan(ctx):
                yield
        finally:
            capture = ctx.parts.get("capture")
            if capture is not None:  # commits what is queued, then stops the workers
                await asyncio.to_thread(capture.close)
            ledger.stop()

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=_handlers(),
                    middleware=[Middleware(_VersionCheck)])
    app.state.ctx = ctx
    return app


class _VersionCheck:
    """406 for /epcis/ requests asking for an EPCIS or CBV version other than 2.0."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # (ASGI header names are lower case; most requests carry no GS1 header at all)
        if scope["type"] == "http" and scope["path"].startswith("/epcis") and any(
                name.startswith(b"gs1-") for name, _ in scope["headers"]):
            from starlette.datastructures import Headers

            why = version_problem(Headers(scope=scope))
            if why:
                response = problem(406, "NotAcceptableException", "Version not supported",
                                   why, instance_uri(HTTPConnection(scope)))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
