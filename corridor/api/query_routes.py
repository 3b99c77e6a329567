"""Named queries: /epcis/queries (list, create), /epcis/queries/{name} (read, delete) and
/epcis/queries/{name}/events (the events it selects)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from corridor.api.epcis_http import per_page
from corridor.api.epcis_resource import JSON_TYPES, PAGING, EpcisResource, media_type, options
from corridor.epcis.validation import MAX_STRING
from corridor.query.params import QueryError, from_json
from corridor.query.visibility import Viewer
from corridor.serving import (
    GS1_HEADERS,
    AuthError,
    ProblemError,
    SafeJSONResponse,
    read_json_body,
    require_party,
)
from corridor.store import named_queries as nq
from corridor.store.db import Connection
from corridor.subscriptions.store import delete_for_query

_QUERY_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
# Query parameters of a WebSocket subscription to /queries/{name}/events (subscription_routes).
_WS_CONTROLS = frozenset({"stream", "reportIfEmpty", "initialRecordTime", "second", "minute",
                          "hour", "dayOfMonth", "month", "dayOfWeek"})


class QueryRoutes(EpcisResource):
    async def queries(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return options("OPTIONS, GET, POST")
        viewer = await require_party(request, self.ctx)
        if request.method == "GET":
            limit = per_page(request)
            after = self.page_start(request, viewer, "queries")
            found = await self.db(lambda c: nq.list_names(
                c, viewer.party_id, after=after if isinstance(after, str) else None,
                limit=limit + 1))
            found, headers = self.page(request, viewer, "queries", found, limit,
                                       lambda q: q.name)
            return SafeJSONResponse([q.as_json() for q in found], headers=headers)
        return await self._create(request, viewer)

    async def _create(self, request: Request, viewer: Viewer) -> Response:
        if media_type(request) not in JSON_TYPES:
            raise ProblemError.epcis(415, "ValidationException", "Unsupported media type",
                                     "send the query definition as application/json",
                                     rule="media-type")
        # streamed and bounded: 413 past 1 MiB; too deep, not JSON, lone surrogates: 400.
        # A value may be as long as a captured string (it may be compared with one).
        definition = await read_json_body(request, 1024 * 1024, max_string=MAX_STRING)
        if not isinstance(definition, dict):
            raise ProblemError.epcis(400, "ValidationException", "Invalid query definition",
                                     "/: must be a JSON object with name and query")
        name, params = definition.get("name"), definition.get("query")
        if not isinstance(name, str) or not _QUERY_NAME.fullmatch(name):
            raise ProblemError.epcis(400, "ValidationException", "Invalid query name",
                                     "/name: 1 to 100 characters of A-Z a-z 0-9 _ . -",
                                     pointer="/name", rule="query-name",
                                     message="1 to 100 characters of A-Z a-z 0-9 _ . -")
        if not isinstance(params, dict):
            raise ProblemError.epcis(400, "QueryParameterException", "Invalid query definition",
                                     "/query: must be a JSON object of EPCIS query parameters",
                                     pointer="/query", rule="query-parameter",
                                     message="must be a JSON object of EPCIS query parameters")
        extensions = self.extensions(request)
        await self.compile(request, from_json(params), extensions)  # refuse bad queries now
        created = await self.db(lambda c: nq.create(c, viewer.party_id, name, params,
                                                    extensions))
        location = f"/epcis/queries/{name}"
        if not created:
            raise ProblemError.epcis(409, "ResourceAlreadyExistsException", "Query exists",
                                     f"a query named {name!r} already exists", headers={
                                         "Location": location}, pointer="/name")
        return JSONResponse({"name": name, "query": params}, status_code=201,
                            headers={**GS1_HEADERS, "Location": location})

    async def _named(self, viewer: Viewer, name: str) -> nq.NamedQuery:
        # a name with U+0000 cannot be stored (PostgreSQL text), so it cannot exist
        found = None if "\x00" in name else await self.db(
            lambda c: nq.get(c, viewer.party_id, name) or nq.get(c, None, name))
        if found is None:
            raise ProblemError.epcis(404, "NoSuchNameException", "Query not found",
                                     f"there is no named query {name!r} for this party")
        return found

    async def query(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return options("OPTIONS, GET, DELETE")
        viewer = await require_party(request, self.ctx)
        name = request.path_params["name"]
        found = await self._named(viewer, name)
        if request.method == "DELETE":
            if found.owner != nq.owner_key(viewer.party_id):
                raise AuthError(403, f"query {name!r} belongs to the node, not to this party")
            await self.db(lambda c: self._delete_query(c, viewer.party_id, name))
            return Response(status_code=204, headers=GS1_HEADERS)
        return SafeJSONResponse(found.as_json(), headers=GS1_HEADERS)

    @staticmethod
    def _delete_query(conn: Connection, party_id: int | None, name: str) -> None:
        # The query and its subscriptions go together: no delivery is decided for a query
        # that no longer exists.
        with conn.transaction():
            nq.delete(conn, party_id, name)
            if party_id is not None:
                delete_for_query(conn, party_id, name)

    async def query_events(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return options("OPTIONS, GET")
        viewer = await require_party(request, self.ctx)
        name = request.path_params["name"]
        found = await self._named(viewer, name)
        unknown = sorted(set(request.query_params) - set(PAGING))
        controls = [n for n in unknown if n in _WS_CONTROLS]
        if controls:  # the binding's 400 for this resource: SubscriptionControlsException
            raise QueryError([(n, "a subscription control, for a WebSocket only")
                              for n in controls],
                             "SubscriptionControlsException")
        if unknown:
            raise QueryError([(n, "unknown query parameter") for n in unknown])
        return await self.query_response(request, viewer, from_json(found.query),
                                         f"queries/{name}", found.extensions, name)
