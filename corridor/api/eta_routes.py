"""HTTP and WebSocket routes of forecasts and their alerts (corridor.monitoring.eta):

  GET    /api/shipments/{epc}/eta   a unit's arrival forecast (epc: SSCC URN or Digital Link);
                                    404 unless the caller may read one of the unit's events;
                                    an ended unit, or one history cannot forecast, is a 200
                                    with `forecast: null` and the reason
  POST   /api/alerts                subscribe a webhook to forecast alerts (201)
  GET    /api/alerts                the caller's alert subscriptions
  GET    /api/alerts/{id}           one of them
  DELETE /api/alerts/{id}           unsubscribe
  WebSocket /api/alerts?units=&slipHours=&dwellOverP90=   alerts as they are raised

Alerts go through the query subscriptions' outbox (signed, retried) and the WebSocket wakes of
corridor.subscriptions; a party is only alerted on units it can see.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from corridor.epcis.identifiers import SSCC_KEY_PREFIX, canonical
from corridor.monitoring.eta import Eta, eta_service
from corridor.monitoring.eta_alerts import (
    ALERT_KIND,
    alert_json,
    iso,
    parse_request,
    subscription_json,
    unit_visible,
)
from corridor.query.visibility import Viewer
from corridor.serving import (
    AppContext,
    AuthError,
    ProblemError,
    by_method,
    read_json_body,
    require_party,
)
from corridor.store.db import Connection
from corridor.subscriptions import service_for
from corridor.subscriptions import store as substore
from corridor.subscriptions.model import Subscription, SubscriptionError, check_dest_address

# Above the largest body the description allows (1,000 units of up to 512 characters), so that
# a body breaking a documented bound is refused for that bound (400), not for its size (413).
BODY_LIMIT = 1024 * 1024


def _bad(exc: SubscriptionError) -> ProblemError:
    where = exc.field if exc.field.startswith("/") and exc.field != "/" else ""
    return ProblemError.epcis(400, "ValidationException", "Bad request", str(exc),
                              pointer=where, message=exc.message)


def _not_found(what: str) -> ProblemError:
    return ProblemError.not_found(f"no {what} that you may see")


def unit_key(text: str) -> str | None:
    """The canonical key of an SSCC given as URN or Digital Link, else None."""
    if not text or len(text) > 512 or "\x00" in text:
        return None
    key = canonical(text.strip())
    return key if key.startswith(SSCC_KEY_PREFIX) else None


def eta_json(eta: Eta) -> dict[str, Any]:
    out: dict[str, Any] = {"unit": eta.unit, "status": eta.status}
    found = eta.forecast
    if found is None:
        return {**out, "forecast": None, "reason": eta.reason, "event": eta.event}
    return {**out, "destination": found.destination, "p10": iso(found.p10),
            "p50": iso(found.p50), "p90": iso(found.p90), "asOf": iso(found.as_of),
            "event": eta.event, "basis": list(found.basis), "remaining": list(found.remaining)}


class _Routes:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def eta(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        unit = unit_key(request.path_params["epc"])
        if unit is None:
            raise _not_found("logistic unit (SSCC) by that identifier")
        service = eta_service(self.ctx.db)

        def read(conn: Connection) -> Eta | None:
            if not unit_visible(conn, viewer, unit):
                return None
            return service.eta(conn, unit)

        found = await self.ctx.read(read)
        if found is None:
            raise _not_found(f"logistic unit {unit}")
        return JSONResponse(eta_json(found))

    async def subscribe(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        body = await read_json_body(request, BODY_LIMIT)
        try:
            req = parse_request(body)
            assert req.dest is not None
            await run_in_threadpool(check_dest_address, req.dest,
                                    allow_private=self.ctx.settings.allow_private_webhooks)
        except SubscriptionError as exc:
            raise _bad(exc) from None
        party = viewer.party_id
        assert party is not None and req.dest is not None
        dest, secret, settings = req.dest, req.secret, req.rule.settings()
        sub = await self.ctx.read(lambda c: substore.create_other(c, ALERT_KIND, party, dest,
                                                             secret, settings))
        return JSONResponse(subscription_json(sub), status_code=201,
                            headers={"Location": f"/api/alerts/{sub.id}"})

    async def listing(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        party = None if viewer.is_admin else viewer.party_id
        subs = await self.ctx.read(lambda c: substore.list_for(c, ALERT_KIND, party))
        return JSONResponse([subscription_json(s) for s in subs])

    async def _own(self, request: Request) -> tuple[Viewer, Subscription]:
        viewer = await require_party(request, self.ctx)
        sub_id = request.path_params["id"]
        sub = None if "\x00" in sub_id else await self.ctx.read(lambda c: substore.get(c, sub_id))
        if (sub is None or sub.query_name != ALERT_KIND
                or (sub.party_id != viewer.party_id and not viewer.is_admin)):
            raise _not_found(f"alert subscription {sub_id!r}")
        return viewer, sub

    async def one(self, request: Request) -> Response:
        _, sub = await self._own(request)
        return JSONResponse(subscription_json(sub))

    async def delete(self, request: Request) -> Response:
        _, sub = await self._own(request)
        await self.ctx.read(lambda c: substore.delete(c, sub.id))
        return Response(status_code=204)

    async def websocket(self, ws: WebSocket) -> None:
        try:
            viewer = await require_party(ws, self.ctx)
            controls: dict[str, Any] = {"dest": None}
            params = dict(ws.query_params)
            if "units" in params:
                raw = params.pop("units")
                controls["units"] = "all" if raw == "all" else raw.split(",")
            if "slipHours" in params:
                controls["slipHours"] = _number(params.pop("slipHours"))
            if "dwellOverP90" in params:
                controls["dwellOverP90"] = params.pop("dwellOverP90") == "true"
            if params:
                raise SubscriptionError(min(params), "unknown alert parameter")
            del controls["dest"]
            rule = parse_request(controls, dest_required=False).rule
        except (AuthError, SubscriptionError) as exc:
            await ws.close(code=1008, reason=str(exc)[:120])
            return
        await ws.accept()
        await self._stream(ws, viewer, rule)

    async def _stream(self, ws: WebSocket, viewer: Viewer, rule: Any) -> None:
        service, wake = eta_service(self.ctx.db), service_for(self.ctx).listen()
        seq, _ = service.alerts_after(2**62)
        closed = asyncio.ensure_future(_until_closed(ws))
        try:
            while not closed.done():
                waiter = asyncio.ensure_future(wake.wait())
                await asyncio.wait([closed, waiter], timeout=1.0,
                                   return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                wake.clear()
                seq, alerts = service.alerts_after(seq)
                wanted = [a for a in alerts if rule.wants(a)]
                if not wanted or closed.done():
                    continue
                seen = await self.ctx.read(lambda c, w=wanted: [
                    a for a in w if unit_visible(c, viewer, a.unit)])  # type: ignore[misc]
                for alert in seen:
                    await ws.send_text(json.dumps(alert_json(alert, None)))
        except WebSocketDisconnect:
            pass
        finally:
            closed.cancel()
            service_for(self.ctx).unlisten(wake)
            with contextlib.suppress(RuntimeError):
                await ws.close()


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text  # refused by parse_request, naming the field


async def _until_closed(ws: WebSocket) -> None:
    try:
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass
    except (WebSocketDisconnect, RuntimeError):
        return


def routes(ctx: AppContext) -> list[BaseRoute]:
    r = _Routes(ctx)
    collection = {"GET": r.listing, "POST": r.subscribe}
    member = {"GET": r.one, "DELETE": r.delete}
    eta = Route("/api/shipments/{epc:path}/eta", r.eta, methods=["GET"])
    one = Route("/api/alerts/{id}", by_method(member), methods=list(member))
    # Any value, a line break included, gets these routes' 404 problem rather than no route.
    eta.path_regex = re.compile(r"^/api/shipments/(?P<epc>.*)/eta$", re.DOTALL)
    one.path_regex = re.compile(r"^/api/alerts/(?P<id>[^/]*)$", re.DOTALL)
    return [eta, Route("/api/alerts", by_method(collection), methods=list(collection)),
            WebSocketRoute("/api/alerts", r.websocket), one]
