"""The EPCIS 2.0 REST binding under /epcis/ (capture, events, discovery, named queries).

Thin: each handler authenticates, hands the work to corridor.store / corridor.query in a
worker thread, and renders the result with the GS1 headers. Every event read goes through
corridor.query.visibility for the requesting party.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlencode

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from corridor.api.auth import (
    AuthError,
    CaptureKeys,
    Viewer,
    instance_uri,
    must_be_party,
    read_db,
    require_party,
    viewer_for,
)
from corridor.api.capture_prep import (
    CapturePreparer,
    EventRefused,
    PreparationFailed,
    Refused,
    Rejected,
    TooMany,
    prepare_event,
)
from corridor.api.context import AppContext
from corridor.api.epcis_http import (
    EPCIS_CONTEXT,
    GS1_HEADERS,
    PageTokens,
    ProblemError,
    SafeJSONResponse,
    parse_extensions,
    per_page,
    problem,
    read_body,
    read_json_body,
)
from corridor.epcis.validation import MAX_STRING
from corridor.query import run as qrun
from corridor.query.engine import compile_query
from corridor.query.epc import urn_to_dl
from corridor.query.params import Query, QueryError, from_json, from_url_pairs
from corridor.store import capture as cap
from corridor.store import named_queries as nq
from corridor.store.db import Connection
from corridor.store.events import display_time, now_utc

T = TypeVar("T")
_JSON_TYPES = ("application/json", "application/ld+json")
_XML_TYPES = ("application/xml", "text/xml")
_EVENT_TYPES = ["AggregationEvent", "AssociationEvent", "ObjectEvent", "TransactionEvent",
                "TransformationEvent"]
_TOP_LEVEL = ["capture", "events", "eventTypes", "epcs", "bizSteps", "bizLocations",
              "readPoints", "dispositions", "queries"]
_QUERY_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
# Discovery resource -> the query parameter its /{value}/events adds.
_DISCOVERY_PARAM = {"eventTypes": "eventType", "epcs": "MATCH_epc", "bizSteps": "EQ_bizStep",
                    "bizLocations": "EQ_bizLocation", "readPoints": "EQ_readPoint",
                    "dispositions": "EQ_disposition"}
_PAGING = ("perPage", "nextPageToken")
# Query parameters of a WebSocket subscription to /queries/{name}/events (subscription_routes).
_WS_CONTROLS = frozenset({"stream", "reportIfEmpty", "initialRecordTime", "second", "minute",
                          "hour", "dayOfMonth", "month", "dayOfWeek"})
SIGNATURE_HEADER = "Corridor-Signature"


def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _wants_xml(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return ("xml" in accept) and "json" not in accept


def _json_media(request: Request) -> str:
    """application/ld+json only to a client that names it in Accept; otherwise
    application/json, the media type the REST binding documents for query results."""
    return ("application/ld+json" if "application/ld+json" in request.headers.get("accept", "")
            else "application/json")


def _viewer_key(viewer: Viewer) -> str:
    return f"{viewer.party_id}:{viewer.role}"


def _options(allow: str, extra: dict[str, str] | None = None) -> Response:
    return Response(status_code=204, headers={**GS1_HEADERS, "Allow": allow, **(extra or {})})


def _to_digital_link(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("urn:epc:"):
        return urn_to_dl(value) or value
    return value


def _event_as_digital_link(doc: str) -> str:
    """The stored event with its EPC URNs written as GS1 Digital Links (GS1-EPC-Format:
    Always_GS1_Digital_Link)."""
    event = json.loads(doc)
    for key in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        if isinstance(event.get(key), list):
            event[key] = [_to_digital_link(v) for v in event[key]]
    if "parentID" in event:
        event["parentID"] = _to_digital_link(event["parentID"])
    for key in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        for q in event.get(key) or ():
            if isinstance(q, dict) and "epcClass" in q:
                q["epcClass"] = _to_digital_link(q["epcClass"])
    for key in ("readPoint", "bizLocation"):
        if isinstance(event.get(key), dict) and "id" in event[key]:
            event[key]["id"] = _to_digital_link(event[key]["id"])
    for key, field in (("sourceList", "source"), ("destinationList", "destination")):
        for item in event.get(key) or ():
            if isinstance(item, dict) and field in item:
                item[field] = _to_digital_link(item[field])
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def _event_json(doc: str, record_time: str) -> str:
    """Stored canonical JSON plus recordTime, without parsing it again."""
    stamp = f'"recordTime":"{display_time(record_time)}"'
    return "{" + stamp + ("," + doc[1:] if doc != "{}" else "}")


_UNSAFE = re.compile(r"[^A-Za-z0-9_.~-]")
_ESCAPES = {chr(c): f"%{c:02X}" for c in range(128)}


def _escape(m: re.Match[str]) -> str:
    return _ESCAPES[m.group()]


def _path_segment(text: str) -> str:
    """quote(text, safe=""), quicker for ASCII (event IDs usually are): only the few
    characters to escape cost a call (str.translate looked up every character: 4 us for an
    Event Hash ID, against 1.9)."""
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


# A posted event up to this size is prepared on the event loop (a few hundred microseconds)
# or, when others are posted at the same time, in a worker process; larger ones go to a
# worker thread so that they cannot stall other requests.
_INLINE_EVENT_BYTES = 64 * 1024


class EpcisRoutes:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.tokens = PageTokens.for_data_dir(ctx.settings.data_dir)
        self._party_ids: dict[int, str] = {}
        self.keys = CaptureKeys()
        self._posting = 0  # POST /epcis/events requests in progress
        # One writer thread per process commits every capture queued meanwhile at once:
        # cheaper than SQLite's busy handler and than a commit per event.
        self.writer = cap.CaptureWriter(ctx.db, ctx.ledger)
        ctx.parts["capture-writer"] = self.writer
        settings = ctx.settings
        # Documents are parsed and hashed off the event loop: large ones in worker processes.
        self.preparer = CapturePreparer(settings.capture_workers,
                                        settings.capture_process_bytes)
        ctx.parts["capture-preparer"] = self.preparer
        self.limit_headers = {
            "GS1-EPCIS-Capture-Limit": str(settings.max_capture_events),
            "GS1-EPCIS-Capture-File-Size-Limit": str(settings.max_capture_bytes),
        }

    # -- plumbing ----------------------------------------------------------------------------

    async def db(self, fn: Callable[[Connection], T]) -> T:
        return await run_in_threadpool(read_db, self.ctx.db, fn)

    async def _party_identifier(self, viewer: Viewer) -> str:
        assert viewer.party_id is not None
        ident = self._party_ids.get(viewer.party_id)
        if ident is None:
            from corridor.store.parties import get_party

            party = await self.db(lambda c: get_party(c, viewer.party_id or 0))
            ident = party.identifier if party else (viewer.identifiers or ("unknown",))[0]
            self._party_ids[viewer.party_id] = ident
        return ident

    async def _writer(self, request: Request) -> Viewer:
        viewer = await viewer_for(request, self.ctx)
        self._may_capture(viewer)
        return viewer

    @staticmethod
    def _may_capture(viewer: Viewer) -> None:
        must_be_party(viewer)
        if viewer.role not in ("member", "admin"):
            raise ProblemError(403, "SecurityException", "Access to resource forbidden",
                               f"a party with role {viewer.role!r} may read but not capture")

    async def _signature(self, request: Request, body: bytes, viewer: Viewer) -> bytes | None:
        """The capture's Ed25519 signature from Corridor-Signature (over SHA-256 of the exact
        body bytes), checked against the party's verifier key before anything is stored."""
        header = request.headers.get(SIGNATURE_HEADER.lower())
        if header is None:
            return None
        scheme, sep, value = header.strip().partition("=")
        try:
            if not sep or scheme.strip().lower() != "ed25519":
                raise ValueError("expected ed25519=<base64 signature>")
            signature = base64.b64decode(value.strip(), validate=True)
        except (ValueError, binascii.Error) as exc:
            raise ProblemError(401, "SecurityException", "Invalid capture signature",
                               f"{SIGNATURE_HEADER}: {exc}") from None
        from corridor.store.parties import PartyError, verifier_key_of, verify_signature

        assert viewer.party_id is not None
        party_id = viewer.party_id
        digest = hashlib.sha256(body).digest()

        def check(conn: Connection) -> str | None:
            if verifier_key_of(conn, party_id) is None:
                return "no-key"
            try:
                verify_signature(conn, party_id, digest, signature)
            except PartyError as exc:
                return str(exc).removeprefix("signature: ")
            return None

        failure = await self.db(check)
        if failure == "no-key":
            raise ProblemError(403, "SecurityException", "Capture signature not accepted",
                               f"{SIGNATURE_HEADER}: this party has no registered verifier"
                               " key; register one before signing captures")
        if failure is not None:
            raise ProblemError(401, "SecurityException", "Invalid capture signature",
                               f"{SIGNATURE_HEADER}: {failure}")
        return signature

    async def _capture_input(self, request: Request, viewer: Viewer, media_types: tuple[str, ...],
                             hint: str) -> tuple[str, bytes, bytes | None, str]:
        """(media type, body, checked signature, party identifier) of a capture request:
        415 for another media type, 413 for too large a body, 401/403 for a bad signature."""
        media = _media(request)
        if media not in media_types:
            raise ProblemError(415, "ValidationException", "Unsupported media type",
                               f"Content-Type {media or '(none)'!r}: {hint}")
        body = await read_body(request, self.ctx.settings.max_capture_bytes,
                               self.limit_headers)
        signature = await self._signature(request, body, viewer)
        return media, body, signature, await self._party_identifier(viewer)

    def _extensions(self, request: Request) -> dict[str, str]:
        return parse_extensions(request.headers.get("gs1-extensions"))

    # -- top level ---------------------------------------------------------------------------

    async def root(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET")
        return JSONResponse({"@context": EPCIS_CONTEXT, "type": "Collection",
                             "member": _TOP_LEVEL}, headers=GS1_HEADERS)

    # -- capture -----------------------------------------------------------------------------

    async def capture(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET, POST", self.limit_headers)
        if request.method == "GET":
            return await self._list_jobs(request)
        viewer = await self._writer(request)
        behaviour = request.headers.get("gs1-capture-error-behaviour", "rollback").strip()
        if behaviour not in cap.BEHAVIOURS:
            raise ProblemError(400, "ValidationException", "Bad GS1-Capture-Error-Behaviour",
                               f"GS1-Capture-Error-Behaviour: {behaviour!r} is not rollback"
                               " or proceed")
        media, body, signature, party = await self._capture_input(
            request, viewer, _JSON_TYPES + _XML_TYPES,
            "send application/ld+json, application/json or application/xml")
        try:
            prepared = await self.preparer.prepare(
                body, media, behaviour=behaviour, party_id=viewer.party_id, party=party,
                signature=signature, limit=self.ctx.settings.max_capture_events)
        except PreparationFailed as exc:
            raise ProblemError(500, "ImplementationException", "Document not captured",
                               f"{exc}; nothing was stored") from None
        if isinstance(prepared, Refused | TooMany | Rejected):
            return await self.db(lambda c: self._capture_refused(c, prepared, viewer,
                                                                 behaviour))
        result = await self.writer.commit_async(prepared)
        self._notify(result)
        location = f"/epcis/capture/{result.job_id}"
        job = (cap.job_dict(result.job_row) if result.job_row is not None
               else await self.db(lambda c: cap.read_job(c, result.job_id)))
        return Response(orjson.dumps(job), status_code=202, media_type="application/json",
                        headers={**GS1_HEADERS, **self.limit_headers, "Location": location})

    def _capture_refused(self, conn: Connection, prepared: Refused | TooMany | Rejected,
                         viewer: Viewer, behaviour: str) -> Response:
        """Record the failed job of a capture that stopped before the write; its response."""
        if isinstance(prepared, Rejected):
            result = cap.record_failure(conn, prepared.errors, prepared.count,
                                        party_id=viewer.party_id, behaviour=behaviour)
            location = f"/epcis/capture/{result.job_id}"
            return JSONResponse(cap.read_job(conn, result.job_id), status_code=202,
                                headers={**GS1_HEADERS, **self.limit_headers,
                                         "Location": location})
        job_id = cap.create_job(conn, party_id=viewer.party_id, behaviour=behaviour)
        if isinstance(prepared, TooMany):
            cap.fail_job(conn, job_id, [{"location": "/epcisBody/eventList",
                                         "rule": "capture-limit",
                                         "message": "too many events"}], prepared.count)
            return problem(413, "CaptureLimitExceededException", "Too many events",
                           f"{prepared.count} events; GS1-EPCIS-Capture-Limit is"
                           f" {self.ctx.settings.max_capture_events}",
                           headers=self.limit_headers)
        whole = prepared.problems
        cap.fail_job(conn, job_id, [cap.problem_dict(p) for p in whole])
        return problem(
            400, "ValidationException", "Invalid EPCIS document",
            "; ".join(str(p) for p in whole[:20])
            + (f" (+{len(whole) - 20} more)" if len(whole) > 20 else ""),
            f"/epcis/capture/{job_id}", headers={"Location": f"/epcis/capture/{job_id}"},
            errors=[cap.problem_dict(p) for p in whole[:100]])

    def _notify(self, result: cap.CaptureResult) -> None:
        fresh = [e.event_id for e in result.events if not e.duplicate]
        if not fresh:
            return
        try:
            from corridor.subscriptions import notify_captured
        except ImportError:
            return
        notify_captured(self.ctx, fresh)

    async def _list_jobs(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        limit = per_page(request)
        scope = "capture-jobs"
        token = request.query_params.get("nextPageToken")
        before = self.tokens.check(token, _viewer_key(viewer), scope) if token else None
        unknown = sorted(set(request.query_params) - set(_PAGING))
        if unknown:
            raise QueryError([(n, "unknown query parameter") for n in unknown])

        def fetch(conn: Connection) -> list[tuple]:
            sql = ("SELECT id, party_id, behaviour, running, success, created_at, finished_at,"
                   " event_count, errors, results FROM capture_jobs WHERE id < ?")
            params: list[Any] = [before if isinstance(before, int) else 2**62]
            if not viewer.is_admin:
                sql += " AND party_id = ?"
                params.append(viewer.party_id)
            return conn.fetchall(sql + " ORDER BY id DESC LIMIT ?", [*params, limit + 1])

        rows = await self.db(fetch)
        headers = dict(GS1_HEADERS)
        if len(rows) > limit:
            rows = rows[:limit]
            nxt = self.tokens.issue(_viewer_key(viewer), scope, int(rows[-1][0]))
            query = urlencode({"perPage": limit, "nextPageToken": nxt})
            headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
        return JSONResponse([cap.job_dict(r) for r in rows], headers=headers)

    async def capture_job(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET")
        viewer = await require_party(request, self.ctx)
        raw = request.path_params["capture_id"]
        job = None
        if raw.isascii() and raw.isdigit() and len(raw) < 19:
            job = await self.db(lambda c: cap.read_job(c, int(raw)))
        if job is None or (not viewer.is_admin and job["partyId"] != viewer.party_id):
            raise ProblemError(404, "NoSuchNameException", "Capture job not found",
                               f"there is no capture job {raw!r} for this party")
        return JSONResponse(job, headers=GS1_HEADERS)

    # -- single events -----------------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET, POST")
        if request.method == "POST":
            return await self._post_event(request)
        viewer = await viewer_for(request, self.ctx)
        raw = from_url_pairs((k, v) for k, v in request.query_params.multi_items()
                             if k not in _PAGING)
        return await self._query_response(request, viewer, raw, "events")

    async def _post_event(self, request: Request) -> Response:
        self._posting += 1
        try:
            return await self._capture_event(request)
        finally:
            self._posting -= 1

    async def _capture_event(self, request: Request) -> Response:
        # The key's party may come from a cache (CaptureKeys): the writer checks the key
        # again before storing, and any other answer is given only after a fresh lookup.
        viewer, key_hash = await self.keys.viewer(request, self.ctx)
        try:
            self._may_capture(viewer)
            prepared = await self._posted_work(request, viewer)
        except ProblemError:
            await self._writer(request)
            raise
        if not isinstance(prepared, cap.CaptureWork):  # a refusal (rare)
            await self._writer(request)
        if isinstance(prepared, Response):
            return prepared
        if isinstance(prepared, list):  # rejected: record the failed job
            errors = prepared
            result = await self.db(lambda c: cap.record_failure(
                c, errors, 1, party_id=viewer.party_id))
        else:
            prepared.key_hash = key_hash
            try:
                result = await self.writer.commit_async(prepared)
            except cap.KeyRevoked:
                assert key_hash is not None
                self.keys.forget(key_hash)
                raise AuthError(401, "unknown or revoked API key") from None
        if not result.success:
            detail = "; ".join(str(e.get("message")) for e in result.errors[:20])
            return problem(400, "ValidationException", "Event not captured", detail,
                           f"/epcis/capture/{result.job_id}")
        self._notify(result)
        captured = result.events[0]
        location = f"/epcis/events/{_path_segment(captured.event_id)}"
        if captured.duplicate:
            return problem(409, "ResourceAlreadyExistsException", "Event already captured",
                           f"this party already captured this event (eventID"
                           f" {captured.event_id}); nothing was stored again", location,
                           headers={"Location": location})
        return _created({"eventID": captured.event_id, "eventHashID": captured.hash_id,
                         "logIndex": captured.log_index, "captureID": str(result.job_id)},
                        location)

    async def _posted_work(self, request: Request, viewer: Viewer
                           ) -> cap.CaptureWork | list[dict[str, Any]] | Response:
        _, body, signature, party = await self._capture_input(
            request, viewer, _JSON_TYPES,
            "send one event as application/json or application/ld+json")
        call = (body, viewer.party_id, party, signature)
        if len(body) > _INLINE_EVENT_BYTES:  # a large event must not stall the event loop
            prepared = await self.preparer.on_thread(prepare_event, *call)
        elif self._posting > 1 and self.preparer.takes_events():
            prepared = await self.preparer.prepare_event(*call)  # a worker, in a batch
        else:  # a lone client: a hop would cost it more than the work
            prepared = prepare_event(*call)
        if isinstance(prepared, EventRefused):
            return problem(400, "ValidationException", prepared.title, prepared.detail)
        return prepared

    async def event(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET")
        viewer = await viewer_for(request, self.ctx)
        event_id = _path_value(request, "/epcis/events/")
        receipt = event_id.endswith("/receipt") and request.url.path.endswith("/receipt")
        if receipt:
            return await self._receipt(request, viewer, event_id[:-len("/receipt")])
        # an eventID with U+0000 cannot be stored (capture refuses it), so it cannot exist
        row = None if "\x00" in event_id else await self.db(
            lambda c: qrun.get_event(c, event_id, viewer))
        if row is None:
            raise ProblemError(404, "NoSuchNameException", "Event not found",
                               f"no event {event_id!r} that this client may read")
        return self._document(request, [row], None, None)

    async def _receipt(self, request: Request, viewer: Viewer, event_id: str) -> Response:
        index = None if "\x00" in event_id else await self.db(
            lambda c: qrun.event_log_index(c, event_id, viewer))
        if index is None:
            raise ProblemError(404, "NoSuchNameException", "Event not found",
                               f"no event {event_id!r} that this client may read")
        proof = await run_in_threadpool(self.ctx.ledger.receipt, index)
        if proof is None:
            raise ProblemError(404, "NoSuchNameException", "Receipt not ready",
                               f"event {event_id!r} is at log index {index}, which no signed"
                               " checkpoint covers yet; retry shortly",
                               headers={"Retry-After": "1"})
        return Response(proof, media_type="text/plain; charset=utf-8",
                        headers={**GS1_HEADERS, "X-Log-Index": str(index)})

    # -- queries -----------------------------------------------------------------------------

    async def _compile(self, request: Request, raw: dict[str, list[str]],
                       extensions: dict[str, str] | None = None) -> Query:
        ext = {**(extensions or {}), **self._extensions(request)}
        return await self.db(lambda c: compile_query(c, raw, ext))

    async def _query_response(self, request: Request, viewer: Viewer,
                              raw: dict[str, list[str]], scope: str,
                              extensions: dict[str, str] | None = None,
                              query_name: str | None = None) -> Response:
        limit = per_page(request)
        ext = {**(extensions or {}), **self._extensions(request)}
        token = request.query_params.get("nextPageToken")

        def work(conn: Connection) -> tuple[Query, list[qrun.EventRowOut], str | None]:
            # One worker-thread hop for compile, count and page.
            query = compile_query(conn, raw, ext)
            scope_key = f"{scope}\n{query.fingerprint}"
            after, served = None, 0
            if token:
                position = self.tokens.check(token, _viewer_key(viewer), scope_key)
                if not (isinstance(position, list) and len(position) == 3):
                    raise ProblemError(400, "QueryParameterException", "Invalid nextPageToken",
                                       "nextPageToken: malformed")
                after, served = (position[0], int(position[1])), int(position[2])
            if query.max_event_count is not None and not token:
                count = qrun.count_events(conn, query, viewer, query.max_event_count + 1)
                if count > query.max_event_count:
                    raise ProblemError(413, "QueryTooLargeException", "Query result too large",
                                       f"maxEventCount: more than {query.max_event_count}"
                                       " events match")
            want = limit
            if query.event_count_limit is not None:
                want = max(0, min(limit, query.event_count_limit - served))
            rows = qrun.select_events(conn, query, viewer, after=after,
                                      limit=want + 1) if want else []
            next_token = None
            if len(rows) > want:
                rows = rows[:want]
                last = rows[-1]
                next_token = self.tokens.issue(_viewer_key(viewer), scope_key,
                                               [last.sort_value, last.pk, served + len(rows)])
            return query, rows, next_token

        _query, rows, next_token = await self.db(work)
        return self._document(request, rows, next_token, query_name, limit)

    def _document(self, request: Request, rows: list[qrun.EventRowOut],
                  next_token: str | None, query_name: str | None,
                  limit: int | None = None) -> Response:
        headers = dict(GS1_HEADERS)
        if next_token is not None:
            params = [(k, v) for k, v in request.query_params.multi_items()
                      if k not in _PAGING]
            params += [("perPage", str(limit)), ("nextPageToken", next_token)]
            headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
        epc_format = request.headers.get("gs1-epc-format", "No_Preference")
        if epc_format not in ("No_Preference", "Always_GS1_Digital_Link", "Always_EPC_URN",
                              "Never_Translates"):
            raise ProblemError(400, "ValidationException", "Bad GS1-EPC-Format",
                               f"GS1-EPC-Format: {epc_format!r} is not a known value")
        if epc_format == "Always_GS1_Digital_Link":
            headers["GS1-EPC-Format"] = epc_format
            events = ",".join(_event_json(_event_as_digital_link(r.doc), r.record_time)
                              for r in rows)
        else:
            # Digital Link -> URN needs each company prefix's length, which a Digital Link
            # does not carry: events are returned as captured.
            events = ",".join(_event_json(r.doc, r.record_time) for r in rows)
        results: dict[str, Any] = {"queryName": query_name or "SimpleEventQuery"}
        head = {"@context": [EPCIS_CONTEXT], "type": "EPCISQueryDocument",
                "schemaVersion": "2.0", "creationDate": display_time(now_utc()),
                "epcisBody": {"queryResults": {**results, "resultsBody": {"eventList": []}}}}
        text = json.dumps(head, separators=(",", ":"))
        text = text.replace('"eventList":[]', f'"eventList":[{events}]', 1)
        if _wants_xml(request):
            return self._xml(text, headers)
        return Response(text, media_type=_json_media(request), headers=headers)

    def _xml(self, text: str, headers: dict[str, str]) -> Response:
        from corridor.epcis.documents import split_json_document, to_xml

        doc = split_json_document(json.loads(text))
        return Response(to_xml(doc), media_type="application/xml", headers=headers)

    # -- discovery ---------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        resource = request.path_params["resource"]
        if resource not in _DISCOVERY_PARAM:
            raise ProblemError(404, "NoSuchNameException", "Resource not found",
                               f"/epcis/{resource} is not a resource of this server")
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET")
        viewer = await viewer_for(request, self.ctx)
        limit = per_page(request)
        unknown = sorted(set(request.query_params) - set(_PAGING))
        if unknown:
            raise QueryError([(n, "unknown query parameter") for n in unknown])
        token = request.query_params.get("nextPageToken")
        scope = f"discovery/{resource}"
        after = self.tokens.check(token, _viewer_key(viewer), scope) if token else None
        headers = dict(GS1_HEADERS)
        if resource == "eventTypes":
            members: list[str] = list(_EVENT_TYPES)
        else:
            members = await self.db(lambda c: qrun.discover(
                c, resource, viewer, after=after if isinstance(after, str) else None,
                limit=limit + 1))
            if len(members) > limit:
                members = members[:limit]
                nxt = self.tokens.issue(_viewer_key(viewer), scope, members[-1])
                query = urlencode({"perPage": limit, "nextPageToken": nxt})
                headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
        return JSONResponse({"@context": EPCIS_CONTEXT, "type": "Collection",
                             "member": members}, headers=headers)

    async def discovery_item(self, request: Request) -> Response:
        resource = request.path_params["resource"]
        if resource not in _DISCOVERY_PARAM:
            raise ProblemError(404, "NoSuchNameException", "Resource not found",
                               f"/epcis/{resource} is not a resource of this server")
        rest = _path_value(request, f"/epcis/{resource}/")
        is_events = request.url.path.endswith("/events") and rest.endswith("/events")
        value = rest[:-len("/events")] if is_events else rest
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET")
        viewer = await viewer_for(request, self.ctx)
        param = _DISCOVERY_PARAM[resource]
        if is_events:
            raw = from_url_pairs((k, v) for k, v in request.query_params.multi_items()
                                 if k not in _PAGING)
            if param in raw:
                raise QueryError([(param, f"is given by the path /epcis/{resource}/...")])
            raw[param] = [value]
            return await self._query_response(request, viewer, raw,
                                              f"{resource}/{value}/events")
        if resource == "eventTypes":
            found = value in _EVENT_TYPES
        else:
            query = await self._compile(request, {param: [value]})
            found = bool(await self.db(lambda c: qrun.select_events(c, query, viewer,
                                                                    after=None, limit=1)))
        if not found:
            raise ProblemError(404, "NoSuchNameException", "Resource not found",
                               f"no {resource} value {value!r} among the events this client"
                               " may read")
        return JSONResponse({"@context": EPCIS_CONTEXT, "type": "Collection",
                             "member": ["events"]}, headers=GS1_HEADERS)

    # -- named queries -----------------------------------------------------------------------

    async def queries(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET, POST")
        viewer = await require_party(request, self.ctx)
        if request.method == "GET":
            limit = per_page(request)
            token = request.query_params.get("nextPageToken")
            after = self.tokens.check(token, _viewer_key(viewer), "queries") if token else None
            found = await self.db(lambda c: nq.list_names(
                c, viewer.party_id, after=after if isinstance(after, str) else None,
                limit=limit + 1))
            headers = dict(GS1_HEADERS)
            if len(found) > limit:
                found = found[:limit]
                nxt = self.tokens.issue(_viewer_key(viewer), "queries", found[-1].name)
                query = urlencode({"perPage": limit, "nextPageToken": nxt})
                headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
            return SafeJSONResponse([q.as_json() for q in found], headers=headers)
        if _media(request) not in _JSON_TYPES:
            raise ProblemError(415, "ValidationException", "Unsupported media type",
                               "send the query definition as application/json")
        # streamed and bounded: 413 past 1 MiB; too deep, not JSON, lone surrogates: 400.
        # A value may be as long as a captured string (it may be compared with one).
        definition = await read_json_body(request, 1024 * 1024, max_string=MAX_STRING)
        if not isinstance(definition, dict):
            raise ProblemError(400, "ValidationException", "Invalid query definition",
                               "/: must be a JSON object with name and query")
        name, params = definition.get("name"), definition.get("query")
        if not isinstance(name, str) or not _QUERY_NAME.match(name):
            raise ProblemError(400, "ValidationException", "Invalid query name",
                               "/name: 1 to 100 characters of A-Z a-z 0-9 _ . -")
        extensions = self._extensions(request)
        await self._compile(request, from_json(params), extensions)  # refuse bad queries now
        created = await self.db(lambda c: nq.create(c, viewer.party_id, name, params,
                                                    extensions))
        location = f"/epcis/queries/{name}"
        if not created:
            raise ProblemError(409, "ResourceAlreadyExistsException", "Query exists",
                               f"a query named {name!r} already exists", headers={
                                   "Location": location})
        return JSONResponse({"name": name, "query": params}, status_code=201,
                            headers={**GS1_HEADERS, "Location": location})

    async def _named(self, viewer: Viewer, name: str) -> nq.NamedQuery:
        # a name with U+0000 cannot be stored (PostgreSQL text), so it cannot exist
        found = None if "\x00" in name else await self.db(
            lambda c: nq.get(c, viewer.party_id, name) or nq.get(c, None, name))
        if found is None:
            raise ProblemError(404, "NoSuchNameException", "Query not found",
                               f"there is no named query {name!r} for this party")
        return found

    async def query(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET, DELETE")
        viewer = await require_party(request, self.ctx)
        name = request.path_params["name"]
        found = await self._named(viewer, name)
        if request.method == "DELETE":
            if found.owner != nq.owner_key(viewer.party_id):
                raise ProblemError(403, "SecurityException", "Access to resource forbidden",
                                   f"query {name!r} belongs to the node, not to this party")
            await self.db(lambda c: self._delete_query(c, viewer.party_id, name))
            return Response(status_code=204, headers=GS1_HEADERS)
        return SafeJSONResponse(found.as_json(), headers=GS1_HEADERS)

    @staticmethod
    def _delete_query(conn: Connection, party_id: int | None, name: str) -> None:
        # The query and its subscriptions go together: no delivery is decided for a query
        # that no longer exists.
        from corridor.subscriptions.store import delete_for_query

        with conn.transaction():
            nq.delete(conn, party_id, name)
            if party_id is not None:
                delete_for_query(conn, party_id, name)

    async def query_events(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _options("OPTIONS, GET")
        viewer = await require_party(request, self.ctx)
        name = request.path_params["name"]
        found = await self._named(viewer, name)
        unknown = sorted(set(request.query_params) - set(_PAGING))
        controls = [n for n in unknown if n in _WS_CONTROLS]
        if controls:  # the binding's 400 for this resource: SubscriptionControlsException
            raise QueryError([(n, "a subscription control, for a WebSocket only")
                              for n in controls],
                             "SubscriptionControlsException")
        if unknown:
            raise QueryError([(n, "unknown query parameter") for n in unknown])
        return await self._query_response(request, viewer, from_json(found.query),
                                          f"queries/{name}", found.extensions, name)


def _path_value(request: Request, prefix: str) -> str:
    """The rest of the path after `prefix`, percent-decoded once from the raw path (so an
    encoded '/' inside a Digital Link survives routing)."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes | bytearray) else request.url.path
    path = path.split("?", 1)[0]
    return unquote(path[len(prefix):]) if path.startswith(prefix) else \
        request.url.path[len(prefix):]


async def _release_token(request: Request) -> Response:
    """DELETE /nextPageToken/{token}, optional in the binding: page tokens here are signed
    and hold no server resources, so there is nothing to release and no way to revoke one."""
    raise ProblemError(501, "ImplementationException", "Functionality not supported by server",
                       "nextPageToken values hold no server resources and cannot be revoked"
                       " before they expire")


def _error_handlers() -> dict[Any, Callable[..., Any]]:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return exc.response(instance_uri(request))

    async def on_query(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, QueryError)
        names = ", ".join(sorted({n for n, _ in exc.problems}))
        return problem(400, exc.exception, "Invalid query parameters",
                       f"{names}: " + "; ".join(f"{n}: {m}" for n, m in exc.problems),
                       instance_uri(request),
                       parameters=[{"name": n, "problem": m} for n, m in exc.problems])

    return {ProblemError: on_problem, QueryError: on_query}


EXCEPTION_HANDLERS = _error_handlers()


def routes(ctx: AppContext) -> list[BaseRoute]:
    r = EpcisRoutes(ctx)
    any_ = ["GET", "OPTIONS"]
    return [
        Route("/epcis", r.root, methods=any_),
        Route("/epcis/", r.root, methods=any_),
        Route("/epcis/capture", r.capture, methods=["GET", "POST", "OPTIONS"]),
        Route("/epcis/capture/{capture_id}", r.capture_job, methods=any_),
        Route("/epcis/events", r.events, methods=["GET", "POST", "OPTIONS"]),
        Route("/epcis/events/{event_id:path}", r.event, methods=any_),
        Route("/epcis/queries", r.queries, methods=["GET", "POST", "OPTIONS"]),
        Route("/epcis/queries/{name}", r.query, methods=["GET", "DELETE", "OPTIONS"]),
        Route("/epcis/queries/{name}/events", r.query_events, methods=any_),
        Route("/epcis/nextPageToken/{token}", _release_token, methods=["DELETE"]),
        Route("/epcis/{resource}", r.discovery, methods=any_),
        Route("/epcis/{resource}/{rest:path}", r.discovery_item, methods=any_),
    ]
