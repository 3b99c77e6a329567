"""/epcis/events: the events a query selects (GET), one posted event captured (POST), one
event (/epcis/events/{eventID}) and its offline receipt (.../receipt)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from corridor.api.capture_routes import SIGNATURE_HEADER, CaptureRoutes, may_capture
from corridor.api.epcis_http import PageTokens
from corridor.api.epcis_resource import (
    JSON_TYPES,
    PAGING,
    EpcisResource,
    options,
    path_value,
)
from corridor.capture import (
    EventRefused,
    KeyRevoked,
    SignatureError,
    job_error,
    posted_event_entry,
)
from corridor.query import run as qrun
from corridor.query.params import from_url_pairs
from corridor.query.visibility import Viewer
from corridor.serving import (
    GS1_HEADERS,
    AppContext,
    AuthError,
    CaptureKeys,
    ProblemError,
    problem_response,
    require_party,
)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.~-]")
_ESCAPES = {chr(c): f"%{c:02X}" for c in range(128)}


def _escape(m: re.Match[str]) -> str:
    return _ESCAPES[m.group()]


def _path_segment(text: str) -> str:
    """quote(text, safe=""), quicker for ASCII (event IDs usually are): only the few
    characters to escape cost a call."""
    return _UNSAFE.sub(_escape, text) if text.isascii() else quote(text, safe="")


# The headers of every 201 of POST /epcis/events but its Location, encoded once: it is the
# most frequent response of all.
_CREATED_HEADERS = [(b"content-type", b"application/json"),
                    *((k.lower().encode("latin-1"), v.encode("latin-1"))
                      for k, v in GS1_HEADERS.items())]


def _created(body: dict[str, Any], location: str) -> Response:
    response = Response(orjson.dumps(body), status_code=201)  # sets only Content-Length
    response.raw_headers += [*_CREATED_HEADERS, (b"location", location.encode("ascii"))]
    return response


class EventRoutes(EpcisResource):
    def __init__(self, ctx: AppContext, tokens: PageTokens, capture: CaptureRoutes) -> None:
        super().__init__(ctx, tokens)
        self.capture = capture
        self.keys = CaptureKeys()

    async def events(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return options("OPTIONS, GET, POST")
        if request.method == "POST":
            return await self._capture_event(request)
        viewer = await require_party(request, self.ctx)
        raw = from_url_pairs((k, v) for k, v in request.query_params.multi_items()
                             if k not in PAGING)
        return await self.query_response(request, viewer, raw, "events")

    async def _capture_event(self, request: Request) -> Response:
        # The key's party may come from a cache (CaptureKeys): the writer checks the key
        # again before storing, and any other answer is given only after a fresh lookup.
        viewer, key_hash = await self.keys.viewer(request, self.ctx)
        try:
            may_capture(viewer)
            _, body = await self.capture.capture_body(
                request, JSON_TYPES, "send one event as application/json or application/ld+json")
        except ProblemError:
            await self.capture.writer(request)
            raise
        assert viewer.party_id is not None
        try:
            outcome = await self.capture.service.capture_event(
                body, party_id=viewer.party_id, identifiers=viewer.identifiers,
                signature=request.headers.get(SIGNATURE_HEADER.lower()), key_hash=key_hash,
                recheck=lambda: self.capture.writer(request))
        except SignatureError:  # (rendered by epcis_routes.EXCEPTION_HANDLERS)
            await self.capture.writer(request)
            raise
        except KeyRevoked:
            assert key_hash is not None
            self.keys.forget(key_hash)
            raise AuthError(401, "unknown or revoked API key", error="invalid_token") from None
        # Pointers name the place in the event posted, not in the document the capture
        # service wrapped it in.
        if isinstance(outcome, EventRefused):
            return problem_response(ProblemError.epcis(
                400, "ValidationException", outcome.title, outcome.detail,
                errors=[posted_event_entry(p.entry()) for p in outcome.problems]))
        if not outcome.success:
            errors = [posted_event_entry(job_error(e)) for e in outcome.errors[:100]]
            detail = "; ".join(f"{e['pointer'] or '/'}: {e['message']} [{e['rule']}]"
                               for e in errors[:20])
            return problem_response(ProblemError.epcis(400, "ValidationException",
                                                       "Event not captured", detail,
                                                       errors=errors))
        captured = outcome.events[0]
        location = f"/epcis/events/{_path_segment(captured.event_id)}"
        if captured.duplicate:
            return problem_response(ProblemError.epcis(
                409, "ResourceAlreadyExistsException", "Event already captured",
                f"this party already captured this event (eventID {captured.event_id});"
                " nothing was stored again", headers={"Location": location}))
        return _created({"eventID": captured.event_id, "eventHashID": captured.hash_id,
                         "logIndex": captured.log_index, "captureID": str(outcome.job_id)},
                        location)

    async def event(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return options("OPTIONS, GET")
        viewer = await require_party(request, self.ctx)
        event_id = path_value(request, "/epcis/events/")
        receipt = event_id.endswith("/receipt") and request.url.path.endswith("/receipt")
        if receipt:
            return await self._receipt(viewer, event_id[:-len("/receipt")])
        # an eventID with U+0000 cannot be stored (capture refuses it), so it cannot exist
        row = None if "\x00" in event_id else await self.replica(
            lambda c: qrun.get_event(c, event_id, viewer))
        if row is None:
            raise ProblemError.epcis(404, "NoSuchNameException", "Event not found",
                                     f"no event {event_id!r} that this client may read")
        return self.document(request, [row], None, None)

    async def _receipt(self, viewer: Viewer, event_id: str) -> Response:
        index = None if "\x00" in event_id else await self.db(
            lambda c: qrun.event_log_index(c, event_id, viewer))
        if index is None:
            raise ProblemError.epcis(404, "NoSuchNameException", "Event not found",
                                     f"no event {event_id!r} that this client may read")
        proof = await run_in_threadpool(self.ctx.running_log().receipt, index)
        if proof is None:  # not yet signed, or waiting for the witness quorum: say which
            why = await run_in_threadpool(self.ctx.running_log().waiting_for, index)
            raise ProblemError.epcis(404, "NoSuchNameException", "Receipt not ready",
                                     f"event {event_id!r} is at log index {index}: {why}",
                                     headers={"Retry-After": "1"})
        return Response(proof, media_type="text/plain; charset=utf-8",
                        headers={**GS1_HEADERS, "X-Log-Index": str(index)})
