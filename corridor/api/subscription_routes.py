"""HTTP and WebSocket routes of query subscriptions (EPCIS 2.0 REST binding):

  POST/GET/OPTIONS  /epcis/queries/{name}/subscriptions
  GET/DELETE/OPTIONS /epcis/queries/{name}/subscriptions/{subscriptionID}
  WebSocket          /epcis/queries/{name}/events?stream=true | ?second=..&minute=..

Subscriptions belong to the party that made them: every party sees and deletes only its own
(an admin sees all), and deliveries carry only what the subscriber may read.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from corridor.query.visibility import Viewer
from corridor.serving import (
    GS1_HEADERS,
    AppContext,
    AuthError,
    ProblemError,
    read_db,
    read_json_body,
    require_party,
)
from corridor.store.db import Connection
from corridor.subscriptions import matching, service_for
from corridor.subscriptions import store as substore
from corridor.subscriptions.model import (
    Subscription,
    SubscriptionError,
    check_dest_address,
    check_epc_format,
    parse_controls,
)
from corridor.subscriptions.service import query_document

log = logging.getLogger("corridor.subscriptions")

_MAX_BODY = 64 * 1024


def _no_query(name: str) -> ProblemError:
    return ProblemError.epcis(404, "NoSuchNameException", "Query not found",
                              f"there is no named query {name!r} for this party")


def _no_subscription(sub_id: str) -> ProblemError:
    return ProblemError.epcis(404, "NoSuchNameException", "Subscription not found",
                              f"there is no subscription {sub_id!r}")


def _bad(exc: SubscriptionError) -> ProblemError:
    """`exc.field` is a JSON pointer into the body, or the header at fault (pointer "")."""
    where = exc.field if exc.field.startswith("/") and exc.field != "/" else ""
    return ProblemError.epcis(400, "SubscriptionControlsException", "Subscription error",
                              str(exc), pointer=where, rule="subscription-controls",
                              message=exc.message)


class _Routes:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.service = service_for(ctx)

    def _query_exists(self, viewer: Viewer, name: str) -> bool:
        if "\x00" in name:  # cannot be stored (PostgreSQL text), so cannot exist
            return False
        return read_db(self.ctx.db,
                       lambda c: matching.named_query(c, viewer.party_id or 0, name)) is not None

    # -- /epcis/queries/{name}/subscriptions ------------------------------------------------

    async def collection(self, request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "OPTIONS":
            return Response(status_code=204,
                            headers={**GS1_HEADERS, "Allow": "OPTIONS, GET, POST"})
        viewer = await require_party(request, self.ctx)
        exists = await run_in_threadpool(self._query_exists, viewer, name)
        if not exists:
            raise _no_query(name)
        if request.method == "GET":
            return await self._list(request, viewer, name)
        return await self._create(request, viewer, name)

    async def _list(self, request: Request, viewer: Viewer, name: str) -> Response:
        party = None if viewer.is_admin else viewer.party_id
        subs = await run_in_threadpool(
            read_db, self.ctx.db, lambda c: substore.list_for(c, name, party))
        return JSONResponse([s.to_json() for s in subs], headers=GS1_HEADERS)

    async def _create(self, request: Request, viewer: Viewer, name: str) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in ("application/json", "application/ld+json"):
            raise ProblemError.epcis(415, "UnsupportedMediaTypeException",
                                     "Unsupported media type",
                                     "send the subscription as application/json",
                                     rule="media-type")
        # streamed and bounded: 413 past _MAX_BODY; too deep, not JSON, surrogates: 400
        body = await read_json_body(request, _MAX_BODY, "SubscriptionControlsException")
        if not isinstance(body, dict):
            raise _bad(SubscriptionError("/", "must be a JSON object"))
        try:
            req = parse_controls(body, dest_required=True)
            epc_format = check_epc_format(request.headers.get("gs1-epc-format"))
            if req.dest is not None:  # SSRF guard; resolves names, so off the event loop
                await run_in_threadpool(check_dest_address, req.dest,
                                        allow_private=self.ctx.settings.allow_private_webhooks)
        except SubscriptionError as exc:
            raise _bad(exc) from None
        if viewer.party_id is None:
            raise AuthError(401, "subscriptions need a party")
        party_id = viewer.party_id

        def create(conn: Connection) -> Subscription:
            cursor = -1 if req.initial_record_time else matching.max_log_index(conn)
            return substore.create(conn, name, party_id, req, cursor=cursor,
                                   epc_format=epc_format)

        sub = await self.ctx.read(create)
        self.service.notify()
        location = str(request.url_for("subscription", name=name, sub_id=sub.id))
        return JSONResponse(sub.to_json(), status_code=201,
                            headers={**GS1_HEADERS, "Location": location})

    # -- /epcis/queries/{name}/subscriptions/{sub_id} ---------------------------------------

    async def member(self, request: Request) -> Response:
        name, sub_id = request.path_params["name"], request.path_params["sub_id"]
        if request.method == "OPTIONS":
            return Response(status_code=204,
                            headers={**GS1_HEADERS, "Allow": "OPTIONS, DELETE, GET"})
        viewer = await require_party(request, self.ctx)
        sub = None if "\x00" in sub_id else await run_in_threadpool(
            read_db, self.ctx.db, lambda c: substore.get(c, sub_id))
        # Someone else's subscription is reported as absent: its existence is not ours to know.
        if (sub is None or sub.query_name != name
                or (sub.party_id != viewer.party_id and not viewer.is_admin)):
            raise _no_subscription(sub_id)
        if request.method == "DELETE":
            await self.ctx.read(lambda c: substore.delete(c, sub_id))
            return Response(status_code=204, headers=GS1_HEADERS)
        return JSONResponse(sub.to_json(), headers=GS1_HEADERS)

    # -- WebSocket /epcis/queries/{name}/events ---------------------------------------------

    async def websocket(self, ws: WebSocket) -> None:
        name = ws.path_params["name"]
        try:
            viewer = await require_party(ws, self.ctx)
        except AuthError as exc:
            await ws.close(code=1008, reason=str(exc.detail)[:120])
            return
        params = {k: v for k, v in ws.query_params.items()}
        controls: dict[str, Any] = {}
        for key in ("stream", "reportIfEmpty", "initialRecordTime"):
            if key in params:
                controls[key] = params.pop(key)
        schedule = {k: params.pop(k) for k in ("second", "minute", "hour", "dayOfMonth",
                                               "month", "dayOfWeek") if k in params}
        if schedule:
            controls["schedule"] = schedule
        try:
            if params:
                raise SubscriptionError(min(params), "unknown WebSocket subscription "
                                        "parameter")
            req = parse_controls(controls, pointer="", dest_required=False)
        except SubscriptionError as exc:
            await ws.close(code=1008, reason=str(exc)[:120])
            return
        exists = await run_in_threadpool(self._query_exists, viewer, name)
        if not exists:
            await ws.close(code=1008, reason=f"no named query {name!r}"[:120])
            return
        await ws.accept()
        wake = self.service.listen()
        try:
            cursor = -1 if req.initial_record_time else await run_in_threadpool(
                read_db, self.ctx.db, matching.max_log_index)
            min_time = (req.initial_record_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                        if req.initial_record_time else None)
            closed = asyncio.ensure_future(self._until_closed(ws))
            while not closed.done():
                if req.schedule is not None:
                    now = datetime.now(UTC)
                    fire = req.schedule.next_after(now)
                    if fire is None:
                        break
                    await asyncio.wait([closed], timeout=(fire - now).total_seconds())
                else:
                    waiter = asyncio.ensure_future(wake.wait())
                    await asyncio.wait([closed, waiter], timeout=1.0,
                                       return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    wake.clear()
                if closed.done():
                    break
                cursor, _sent = await self._push(ws, viewer, name, cursor, min_time,
                                                report_empty=req.schedule is not None
                                                and req.report_if_empty)
            closed.cancel()
        except WebSocketDisconnect:
            pass
        finally:
            self.service.unlisten(wake)
            if ws.application_state == WebSocketState.CONNECTED:
                try:
                    await ws.close()
                except RuntimeError:  # the client went away meanwhile
                    log.debug("websocket already closed")

    async def _until_closed(self, ws: WebSocket) -> None:
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
        except (WebSocketDisconnect, RuntimeError):
            return

    async def _push(self, ws: WebSocket, viewer: Viewer, name: str, cursor: int,
                    min_time: str | None, *, report_empty: bool) -> tuple[int, int]:
        batch = self.service.tuning.batch

        def fetch(conn: Connection) -> tuple[int, list[tuple[int, dict[str, Any]]] | None]:
            top = matching.max_log_index(conn)
            if top <= cursor:
                return top, []
            found = matching.matching_events(conn, viewer.party_id or 0, name, after=cursor,
                                             upto=top, limit=batch, min_record_time=min_time,
                                             viewer=viewer)
            if found is not None and len(found) == batch:
                top = found[-1][0]
            return top, found

        sent = 0
        while True:
            top, found = await self.ctx.read(fetch)
            if found is None:  # the query was deleted: end the subscription
                await ws.close(code=1000, reason="query deleted")
                raise WebSocketDisconnect(1000)
            if found or (report_empty and sent == 0):
                body = query_document(None, [e for _, e in found], query_name=name)
                await ws.send_text(body.decode("utf-8"))
                sent += 1
            if top <= cursor or len(found) < batch:
                return max(top, cursor), sent
            cursor = top


def routes(ctx: AppContext) -> list[BaseRoute]:
    r = _Routes(ctx)
    return [
        Route("/epcis/queries/{name}/subscriptions", r.collection,
              methods=["GET", "POST", "OPTIONS"], name="subscriptions"),
        Route("/epcis/queries/{name}/subscriptions/{sub_id}", r.member,
              methods=["GET", "DELETE", "OPTIONS"], name="subscription"),
        WebSocketRoute("/epcis/queries/{name}/events", r.websocket, name="query_websocket"),
    ]
