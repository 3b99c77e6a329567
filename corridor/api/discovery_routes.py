"""The discovery resources: /epcis/{eventTypes,epcs,bizSteps,bizLocations,readPoints,
dispositions}, one value of each (/epcis/{resource}/{value}) and its events (.../events)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from corridor.api.epcis_http import EPCIS_CONTEXT, per_page
from corridor.api.epcis_resource import PAGING, EpcisResource, options, path_value
from corridor.query import run as qrun
from corridor.query.params import QueryError, from_url_pairs
from corridor.serving import GS1_HEADERS, ProblemError, require_party

EVENT_TYPES = ["AggregationEvent", "AssociationEvent", "ObjectEvent", "TransactionEvent",
               "TransformationEvent"]
# Discovery resource -> the query parameter its /{value}/events adds.
_DISCOVERY_PARAM = {"eventTypes": "eventType", "epcs": "MATCH_epc", "bizSteps": "EQ_bizStep",
                    "bizLocations": "EQ_bizLocation", "readPoints": "EQ_readPoint",
                    "dispositions": "EQ_disposition"}


def _resource(request: Request) -> str:
    resource = request.path_params["resource"]
    if resource not in _DISCOVERY_PARAM:
        raise ProblemError.epcis(404, "NoSuchNameException", "Resource not found",
                                 f"/epcis/{resource} is not a resource of this server")
    return resource


class DiscoveryRoutes(EpcisResource):
    async def discovery(self, request: Request) -> Response:
        resource = _resource(request)
        if request.method == "OPTIONS":
            return options("OPTIONS, GET")
        viewer = await require_party(request, self.ctx)
        limit = per_page(request)
        unknown = sorted(set(request.query_params) - set(PAGING))
        if unknown:
            raise QueryError([(n, "unknown query parameter") for n in unknown])
        scope = f"discovery/{resource}"
        after = self.page_start(request, viewer, scope)
        if resource == "eventTypes":
            members, headers = list(EVENT_TYPES), dict(GS1_HEADERS)
        else:
            found = await self.db(lambda c: qrun.discover(
                c, resource, viewer, after=after if isinstance(after, str) else None,
                limit=limit + 1))
            members, headers = self.page(request, viewer, scope, found, limit,
                                          lambda member: member)
        return JSONResponse({"@context": EPCIS_CONTEXT, "type": "Collection",
                             "member": members}, headers=headers)

    async def discovery_item(self, request: Request) -> Response:
        resource = _resource(request)
        rest = path_value(request, f"/epcis/{resource}/")
        is_events = request.url.path.endswith("/events") and rest.endswith("/events")
        value = rest[:-len("/events")] if is_events else rest
        if request.method == "OPTIONS":
            return options("OPTIONS, GET")
        viewer = await require_party(request, self.ctx)
        param = _DISCOVERY_PARAM[resource]
        if is_events:
            raw = from_url_pairs((k, v) for k, v in request.query_params.multi_items()
                                 if k not in PAGING)
            if param in raw:
                raise QueryError([(param, f"is given by the path /epcis/{resource}/...")])
            raw[param] = [value]
            return await self.query_response(request, viewer, raw,
                                             f"{resource}/{value}/events")
        if resource == "eventTypes":
            found = value in EVENT_TYPES
        else:
            query = await self.compile(request, {param: [value]})
            found = bool(await self.db(lambda c: qrun.select_events(c, query, viewer,
                                                                    after=None, limit=1)))
        if not found:
            raise ProblemError.epcis(404, "NoSuchNameException", "Resource not found",
                                     f"no {resource} value {value!r} among the events this client"
                                     " may read")
        return JSONResponse({"@context": EPCIS_CONTEXT, "type": "Collection",
                             "member": ["events"]}, headers=GS1_HEADERS)
