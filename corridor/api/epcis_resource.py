"""What the /epcis/ resource modules share: request helpers, paging (nextPageToken and the
Link to the next page), and events rendered as an EPCISQueryDocument."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from corridor.api.epcis_http import EPCIS_CONTEXT, PageTokens, parse_extensions, per_page
from corridor.epcis.documents import split_json_document, to_xml
from corridor.epcis.identifiers import urn_to_dl
from corridor.query import run as qrun
from corridor.query.engine import compile_query
from corridor.query.params import Query, QueryError
from corridor.query.visibility import Viewer
from corridor.serving import GS1_HEADERS, AppContext, ProblemError, query_pointer
from corridor.store.db import Connection
from corridor.store.events import display_time, now_utc

T = TypeVar("T")
JSON_TYPES = ("application/json", "application/ld+json")
XML_TYPES = ("application/xml", "text/xml")
PAGING = ("perPage", "nextPageToken")


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def options(allow: str, extra: dict[str, str] | None = None) -> Response:
    return Response(status_code=204, headers={**GS1_HEADERS, "Allow": allow, **(extra or {})})


def query_problem(exc: QueryError) -> ProblemError:
    """A QueryError as the binding's 400: each bad parameter named once, in `detail`, in
    `parameters` ({name, problem}) and in `errors` (pointer `/query/<name>`)."""
    rule = ("subscription-controls" if exc.exception == "SubscriptionControlsException"
            else "query-parameter")
    return ProblemError.epcis(
        400, exc.exception, "Invalid query parameters",
        "; ".join(f"{n}: {m}" for n, m in exc.problems),
        parameters=[{"name": n, "problem": m} for n, m in exc.problems],
        errors=[{"pointer": query_pointer(n), "message": m,
                 "rule": "unknown-parameter" if m == "unknown query parameter" else rule}
                for n, m in exc.problems])


def viewer_key(viewer: Viewer) -> str:
    return f"{viewer.party_id}:{viewer.role}"


def path_value(request: Request, prefix: str) -> str:
    """The rest of the path after `prefix`, percent-decoded once from the raw path (so an
    encoded '/' inside a Digital Link survives routing)."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes | bytearray) else request.url.path
    path = path.split("?", 1)[0]
    return unquote(path[len(prefix):]) if path.startswith(prefix) else \
        request.url.path[len(prefix):]


def next_link(request: Request, limit: int, token: str, *, keep_query: bool = False) -> str:
    """The Link header value of the next page: this path with perPage and nextPageToken (and,
    with `keep_query`, the request's other query parameters first)."""
    params = [(k, v) for k, v in request.query_params.multi_items()
              if k not in PAGING] if keep_query else []
    params += [("perPage", str(limit)), ("nextPageToken", token)]
    return f'<{request.url.path}?{urlencode(params)}>; rel="next"'


def _wants_xml(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return ("xml" in accept) and "json" not in accept


def _json_media(request: Request) -> str:
    """application/ld+json only to a client that names it in Accept; otherwise
    application/json, the media type the REST binding documents for query results."""
    return ("application/ld+json" if "application/ld+json" in request.headers.get("accept", "")
            else "application/json")


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


class EpcisResource:
    """Base of the /epcis/ resource modules: the node's parts, page tokens, a database hop."""

    def __init__(self, ctx: AppContext, tokens: PageTokens) -> None:
        self.ctx = ctx
        self.tokens = tokens

    async def db(self, fn: Callable[[Connection], T]) -> T:
        return await self.ctx.read(fn)

    async def replica(self, fn: Callable[[Connection], T]) -> T:
        """A read of captured events, on the read replica when the node has one (it may lag
        the primary; the viewer's visibility rules apply there all the same)."""
        return await self.ctx.read_replica(fn)

    @staticmethod
    def extensions(request: Request) -> dict[str, str]:
        return parse_extensions(request.headers.get("gs1-extensions"))

    # -- paging ------------------------------------------------------------------------------

    def page_start(self, request: Request, viewer: Viewer, scope: str) -> Any:
        """Where the page asked for starts: what its nextPageToken holds (None: the first)."""
        token = request.query_params.get("nextPageToken")
        return self.tokens.check(token, viewer_key(viewer), scope) if token else None

    def page(self, request: Request, viewer: Viewer, scope: str, items: list[T], limit: int,
             position: Callable[[T], Any]) -> tuple[list[T], dict[str, str]]:
        """The first `limit` of `items` (fetched `limit + 1`) and the GS1 headers, with a
        Link to the next page, which starts after `position` of this page's last item."""
        headers = dict(GS1_HEADERS)
        if len(items) > limit:
            items = items[:limit]
            token = self.tokens.issue(viewer_key(viewer), scope, position(items[-1]))
            headers["Link"] = next_link(request, limit, token)
        return items, headers

    # -- events as a query document ----------------------------------------------------------

    async def compile(self, request: Request, raw: dict[str, list[str]],
                      extensions: dict[str, str] | None = None) -> Query:
        ext = {**(extensions or {}), **self.extensions(request)}
        return await self.db(lambda c: compile_query(c, raw, ext))

    async def query_response(self, request: Request, viewer: Viewer,
                             raw: dict[str, list[str]], scope: str,
                             extensions: dict[str, str] | None = None,
                             query_name: str | None = None) -> Response:
        """One page of the events a query selects for `viewer`."""
        limit = per_page(request)
        ext = {**(extensions or {}), **self.extensions(request)}
        token = request.query_params.get("nextPageToken")

        def work(conn: Connection) -> tuple[Query, list[qrun.EventRowOut], str | None]:
            # One worker-thread hop for compile, count and page.
            query = compile_query(conn, raw, ext)
            scope_key = f"{scope}\n{query.fingerprint}"
            after, served = None, 0
            if token:
                position = self.tokens.check(token, viewer_key(viewer), scope_key)
                if not (isinstance(position, list) and len(position) == 3):
                    raise ProblemError.epcis(400, "QueryParameterException",
                                             "Invalid nextPageToken", "nextPageToken: malformed",
                                             pointer="/query/nextPageToken", message="malformed")
                after, served = (position[0], int(position[1])), int(position[2])
            if query.max_event_count is not None and not token:
                count = qrun.count_events(conn, query, viewer, query.max_event_count + 1)
                if count > query.max_event_count:
                    raise ProblemError.epcis(413, "QueryTooLargeException",
                                             "Query result too large",
                                             f"maxEventCount: more than {query.max_event_count}"
                                             " events match", pointer="/query/maxEventCount",
                                             message=f"more than {query.max_event_count} events"
                                             " match")
            want = limit
            if query.event_count_limit is not None:
                want = max(0, min(limit, query.event_count_limit - served))
            rows = qrun.select_events(conn, query, viewer, after=after,
                                      limit=want + 1) if want else []
            next_token = None
            if len(rows) > want:
                rows = rows[:want]
                last = rows[-1]
                next_token = self.tokens.issue(viewer_key(viewer), scope_key,
                                               [last.sort_value, last.pk, served + len(rows)])
            return query, rows, next_token

        _query, rows, next_token = await self.replica(work)
        return self.document(request, rows, next_token, query_name, limit)

    def document(self, request: Request, rows: list[qrun.EventRowOut],
                 next_token: str | None, query_name: str | None,
                 limit: int | None = None) -> Response:
        """`rows` as an EPCISQueryDocument in the JSON-LD or XML the request accepts."""
        headers = dict(GS1_HEADERS)
        if next_token is not None:
            assert limit is not None
            headers["Link"] = next_link(request, limit, next_token, keep_query=True)
        epc_format = request.headers.get("gs1-epc-format", "No_Preference")
        if epc_format not in ("No_Preference", "Always_GS1_Digital_Link", "Always_EPC_URN",
                              "Never_Translates"):
            raise ProblemError.epcis(400, "ValidationException", "Bad GS1-EPC-Format",
                                     f"GS1-EPC-Format: {epc_format!r} is not a known value",
                                     rule="gs1-epc-format")
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

    @staticmethod
    def _xml(text: str, headers: dict[str, str]) -> Response:
        doc = split_json_document(json.loads(text))
        return Response(to_xml(doc), media_type="application/xml", headers=headers)
