"""POST /epcis/capture and the capture jobs (/epcis/capture, /epcis/capture/{captureID}):
HTTP in and out of corridor.capture's service, which does the capture."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from corridor.api.epcis_http import PageTokens, per_page
from corridor.api.epcis_resource import (
    JSON_TYPES,
    PAGING,
    XML_TYPES,
    EpcisResource,
    media_type,
    options,
)
from corridor.capture import (
    BEHAVIOURS,
    Accepted,
    CaptureService,
    DocumentOutcome,
    EventsRejected,
    InvalidDocument,
    PreparationFailed,
    TooManyEvents,
    list_jobs,
    read_job,
)
from corridor.query.params import QueryError
from corridor.query.visibility import Viewer
from corridor.serving import (
    GS1_HEADERS,
    AppContext,
    AuthError,
    ProblemError,
    must_be_party,
    problem_response,
    read_body,
    require_party,
    viewer_for,
)
from corridor.store.db import Connection
from corridor.subscriptions import notify_captured

# A bad signature is a capture.SignatureError, rendered by epcis_routes.EXCEPTION_HANDLERS.
SIGNATURE_HEADER = "Corridor-Signature"
T = TypeVar("T")


def capture_service(ctx: AppContext) -> CaptureService:
    """The node's CaptureService (one per process: its writer thread and worker pool)."""
    if ctx.capture is None:
        def on_stored(event_ids: list[str]) -> None:
            notify_captured(ctx, event_ids)

        async def run_db(fn: Callable[[Connection], T]) -> T:
            return await ctx.read(fn)

        ctx.capture = CaptureService(ctx.settings, ctx.db, ctx.running_log(), run_db=run_db,
                                     on_stored=on_stored)
    return ctx.capture


def may_capture(viewer: Viewer) -> None:
    must_be_party(viewer)
    if viewer.role not in ("member", "admin"):
        raise AuthError(403, f"a party with role {viewer.role!r} may read but not capture")


class CaptureRoutes(EpcisResource):
    def __init__(self, ctx: AppContext, tokens: PageTokens) -> None:
        super().__init__(ctx, tokens)
        self.service = capture_service(ctx)
        settings = ctx.settings
        self.limit_headers = {
            "GS1-EPCIS-Capture-Limit": str(settings.max_capture_events),
            "GS1-EPCIS-Capture-File-Size-Limit": str(settings.max_capture_bytes),
        }

    async def writer(self, request: Request) -> Viewer:
        """The request's party, if it may capture (a fresh key lookup)."""
        viewer = await viewer_for(request, self.ctx)
        may_capture(viewer)
        return viewer

    async def capture_body(self, request: Request, media_types: tuple[str, ...], hint: str
                           ) -> tuple[str, bytes]:
        """(media type, body) of a capture request: 415 for another media type, 413 for too
        large a body."""
        media = media_type(request)
        if media not in media_types:
            raise ProblemError.epcis(415, "ValidationException", "Unsupported media type",
                                     f"Content-Type {media or '(none)'!r}: {hint}",
                                     rule="media-type")
        body = await read_body(request, self.ctx.settings.max_capture_bytes,
                               self.limit_headers)
        return media, body

    async def capture(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return options("OPTIONS, GET, POST", self.limit_headers)
        if request.method == "GET":
            return await self._list_jobs(request)
        viewer = await self.writer(request)
        behaviour = request.headers.get("gs1-capture-error-behaviour", "rollback").strip()
        if behaviour not in BEHAVIOURS:
            raise ProblemError.epcis(400, "ValidationException", "Bad GS1-Capture-Error-Behaviour",
                                     f"GS1-Capture-Error-Behaviour: {behaviour!r} is not rollback"
                                     " or proceed", rule="capture-error-behaviour")
        media, body = await self.capture_body(
            request, JSON_TYPES + XML_TYPES,
            "send application/ld+json, application/json or application/xml")
        assert viewer.party_id is not None
        try:
            outcome = await self.service.capture_document(
                body, media, party_id=viewer.party_id, identifiers=viewer.identifiers,
                behaviour=behaviour, signature=request.headers.get(SIGNATURE_HEADER.lower()))
        except PreparationFailed as exc:
            raise ProblemError.epcis(500, "ImplementationException", "Document not captured",
                                     f"{exc}; nothing was stored") from None
        return self._captured(outcome)

    def _captured(self, outcome: DocumentOutcome) -> Response:
        location = f"/epcis/capture/{outcome.job_id}"
        headers = {**GS1_HEADERS, **self.limit_headers, "Location": location}
        if isinstance(outcome, Accepted):
            return Response(orjson.dumps(outcome.job), status_code=202,
                            media_type="application/json", headers=headers)
        if isinstance(outcome, EventsRejected):
            return JSONResponse(outcome.job, status_code=202, headers=headers)
        if isinstance(outcome, TooManyEvents):
            return problem_response(ProblemError.epcis(
                413, "CaptureLimitExceededException", "Too many events",
                f"{outcome.count} events; GS1-EPCIS-Capture-Limit is {outcome.limit}",
                headers=self.limit_headers, pointer="/epcisBody/eventList", rule="capture-limit"))
        assert isinstance(outcome, InvalidDocument)
        whole = outcome.problems
        return problem_response(ProblemError.epcis(
            400, "ValidationException", "Invalid EPCIS document",
            "; ".join(str(p) for p in whole[:20])
            + (f" (+{len(whole) - 20} more)" if len(whole) > 20 else ""),
            headers={"Location": location}, errors=[p.entry() for p in whole[:100]]))

    async def _list_jobs(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        limit = per_page(request)
        scope = "capture-jobs"
        before = self.page_start(request, viewer, scope)
        unknown = sorted(set(request.query_params) - set(PAGING))
        if unknown:
            raise QueryError([(n, "unknown query parameter") for n in unknown])
        jobs = await self.db(lambda c: list_jobs(
            c, before=before if isinstance(before, int) else None,
            party_id=None if viewer.is_admin else viewer.party_id, limit=limit + 1))
        jobs, headers = self.page(request, viewer, scope, jobs, limit, lambda j: j[0])
        return JSONResponse([job for _, job in jobs], headers=headers)

    async def capture_job(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return options("OPTIONS, GET")
        viewer = await require_party(request, self.ctx)
        raw = request.path_params["capture_id"]
        job = None
        if raw.isascii() and raw.isdigit() and len(raw) < 19:
            job = await self.db(lambda c: read_job(c, int(raw)))
        if job is None or (not viewer.is_admin and job["partyId"] != viewer.party_id):
            raise ProblemError.epcis(404, "NoSuchNameException", "Capture job not found",
                                     f"there is no capture job {raw!r} for this party")
        return JSONResponse(job, headers=GS1_HEADERS)
