"""GET /openapi.json: the OpenAPI 3.1 description of the whole HTTP surface, merged from the
data files of corridor/serving/openapi/ (its servers are relative: `/`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from corridor.serving import AppContext, openapi


async def _document(request: Request) -> Response:
    return Response(openapi.document_json(), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=300"})


def routes(ctx: AppContext) -> list[BaseRoute]:
    return [Route("/openapi.json", _document, methods=["GET"], name="openapi")]
