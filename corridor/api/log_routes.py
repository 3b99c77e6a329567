"""Public, read-only routes of the log (C2SP tlog-tiles under /log/) and the HTTP shell of a
C2SP tlog-witness."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from corridor.ledger.tiles import TILE_WIDTH, TileError, parse_tile_path
from corridor.ledger.witness import Witness
from corridor.serving import AppContext, ProblemError, instance_uri, problem_response

IMMUTABLE = "public, max-age=31536000, immutable"
MAX_WITNESS_REQUEST = 64 * 1024


def routes(ctx: AppContext) -> list[BaseRoute]:
    async def checkpoint(request: Request) -> Response:
        log = ctx.running_log()
        note = await run_in_threadpool(log.checkpoint)
        if note is None:  # nothing signed yet, or not yet cosigned by the quorum
            why = await run_in_threadpool(log.waiting_for)
            return PlainTextResponse(f"no checkpoint published yet: {why}\n", status_code=404,
                                     headers={"Cache-Control": "no-store",
                                              "Retry-After": "1"})
        return Response(note, media_type="text/plain; charset=utf-8",
                        headers={"Cache-Control": "no-cache, max-age=1"})

    async def info(request: Request) -> Response:
        return JSONResponse(ctx.running_log().info(), headers={"Cache-Control": "max-age=60"})

    async def tile(request: Request) -> Response:
        path = "tile/" + request.path_params["rest"]
        try:
            level, n, width = parse_tile_path(path)
        except TileError as exc:  # no such path: a problem naming it
            return problem_response(ProblemError.epcis(
                404, "NoSuchNameException", "Not a tile of this log", f"path: {exc}"),
                instance_uri(request))
        data = await run_in_threadpool(ctx.running_log().read_tile, level, n, width)
        if data is None:
            return PlainTextResponse(f"{path}: not in the log\n", status_code=404)
        cache = IMMUTABLE if width == TILE_WIDTH else "public, max-age=3600"
        return Response(data, media_type="application/octet-stream",
                        headers={"Cache-Control": cache})

    return [
        Route("/log/checkpoint", checkpoint, methods=["GET"]),
        Route("/log/info", info, methods=["GET"]),
        Route("/log/tile/{rest:path}", tile, methods=["GET"]),
    ]


def witness_app(witness: Witness) -> Starlette:
    """POST /add-checkpoint and GET /<origin hash>/checkpoint (tlog-witness)."""

    async def add_checkpoint(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_WITNESS_REQUEST:
                return PlainTextResponse("request too large\n", status_code=400)
        res = await run_in_threadpool(witness.add_checkpoint, body)
        return Response(res.body, status_code=res.status, media_type=res.content_type)

    async def latest(request: Request) -> Response:
        res = witness.latest(request.path_params["origin_hash"])
        return Response(res.body, status_code=res.status, media_type=res.content_type)

    return Starlette(routes=[
        Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
        Route("/{origin_hash:str}/checkpoint", latest, methods=["GET"]),
    ])
