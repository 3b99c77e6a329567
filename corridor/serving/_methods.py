"""One endpoint for several methods of a path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

Endpoint = Callable[[Request], Awaitable[Response]]


def by_method(endpoints: dict[str, Endpoint]) -> Endpoint:
    """One endpoint for several methods of a path, so that a 405 lists all of them in Allow."""

    async def endpoint(request: Request) -> Response:
        # Starlette answers HEAD wherever GET is routed.
        method = "GET" if request.method == "HEAD" else request.method
        return await endpoints[method](request)

    return endpoint
