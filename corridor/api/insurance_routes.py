"""HTTP routes of parametric export-risk cover (corridor.insurance):

  POST /api/policies                 the insurer (or an admin) offers terms (201, the policy)
  POST /api/policies/{id}/bind       the insured (or an admin) binds: the terms' digest is
                                     logged in a binding event (200, the policy)
  GET  /api/policies                 the policies the caller is insurer or insured of
  GET  /api/policies/{id}            one policy with its claims
  GET  /api/claims?policy=           the claims of the caller's policies (of one policy)
  GET  /api/claims/{id}              one claim
  GET  /api/claims/{id}/bundle       the claim's evidence bundle (409 with Retry-After until a
                                     witnessed checkpoint covers every item it rests on)

Visibility as for events: a key is needed (401), and a policy or claim the caller is neither
insurer nor insured of is not found (404) unless the caller is an admin.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from corridor.insurance.evidence import claim_bundle
from corridor.insurance.service import (
    InsuranceError,
    InsuranceService,
    claim_json,
    policy_json,
)
from corridor.query import Viewer
from corridor.serving import (
    AppContext,
    AuthError,
    ProblemError,
    by_method,
    read_json_body,
    require_party,
)
from corridor.store.db import Connection

T = TypeVar("T")
# Above the largest terms the description allows (500 units and 20 triggers' places of up to
# ~2 KB each), so that terms breaking a documented bound are refused for that bound (400), not
# for their size (413).
MAX_TERMS_BYTES = 4 * 1024 * 1024
# Policy and claim ids are urn:uuid:...; anything else names nothing (and a NUL would break a
# PostgreSQL query rather than find nothing).
_ID = re.compile(r"[!-~]{1,512}")




def _problem(exc: InsuranceError) -> ProblemError:
    """The service's refusal as an RFC 7807 problem of its status."""
    detail, pointer = str(exc), exc.pointer or ""
    if exc.status == 400:
        return ProblemError.invalid(pointer, detail.removeprefix(f"{pointer}: "))
    if exc.status == 403:
        return AuthError(403, detail, rule="not-a-party-to-the-policy")
    if exc.status == 404:
        return ProblemError.not_found(detail)
    if exc.status == 409:
        return ProblemError(409, "about:blank", "Evidence not yet provable", detail,
                            headers={"Retry-After": "1"}, rule="evidence-not-ready")
    try:
        title = HTTPStatus(exc.status).phrase
    except ValueError:
        title = "Error"
    return ProblemError(exc.status, "about:blank", title, detail, pointer=pointer)


def _nul_at(value: Any, path: str = "") -> str | None:
    """The JSON pointer of the first string holding a NUL, which no identifier has and which
    PostgreSQL cannot store or compare."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items: Any = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, inner in items:
        where = f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"
        if "\x00" in str(key):
            return where
        found = _nul_at(inner, where)
        if found is not None:
            return found
    return None


def _path_id(request: Request, what: str) -> str:
    value = request.path_params["id"]
    if not _ID.fullmatch(value):
        raise ProblemError.not_found(f"no {what} {value!r} you may read")
    return value


def _policy_filter(request: Request) -> str | None:
    values = request.query_params.getlist("policy")
    if len(values) > 1:
        raise ProblemError.invalid("policy", "give it once")
    if not values:
        return None
    if not _ID.fullmatch(values[0]):
        raise ProblemError.invalid("policy", "must be a policy id (printable ASCII without spaces, at most "
                             "512 characters)")
    return values[0]


class _Routes:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @property
    def service(self) -> InsuranceService:
        return self.ctx.insurance_service()

    async def _db(self, fn: Callable[[Connection], T]) -> T:
        """`fn` on a worker thread's connection; the service's refusals become problems."""
        call: Awaitable[T] = self.ctx.read(fn)
        try:
            return await call
        except InsuranceError as exc:
            raise _problem(exc) from None

    async def offer(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        body = await read_json_body(request, MAX_TERMS_BYTES)
        nul = _nul_at(body)
        if nul is not None:
            raise ProblemError.invalid(nul, "holds a NUL character")
        service = self.service
        policy = await self._db(lambda c: service.offer(c, viewer, body))
        return JSONResponse(policy_json(policy), status_code=201,
                            headers={"Location": f"/api/policies/{policy.id}"})

    async def bind(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        policy_id = _path_id(request, "policy")
        service = self.service
        policy = await self._db(lambda c: service.bind(c, viewer, policy_id))
        return JSONResponse(policy_json(policy))

    async def policies(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        service = self.service
        found = await self._db(lambda c: service.policies(c, viewer))
        return JSONResponse([policy_json(p) for p in found])

    async def policy(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        policy_id = _path_id(request, "policy")
        service = self.service

        def read(conn: Connection) -> dict[str, Any]:
            found = service.readable_policy(conn, viewer, policy_id)
            claims = service.claims(conn, viewer, found.id)
            return {**policy_json(found), "claims": [claim_json(c) for c in claims]}

        return JSONResponse(await self._db(read))

    async def claims(self, request: Request) -> Response:
        viewer: Viewer = await require_party(request, self.ctx)
        policy_id = _policy_filter(request)
        service = self.service
        found = await self._db(lambda c: service.claims(c, viewer, policy_id))
        return JSONResponse([claim_json(c) for c in found])

    async def claim(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        claim_id = _path_id(request, "claim")
        service = self.service
        found = await self._db(lambda c: service.readable_claim(c, viewer, claim_id))
        return JSONResponse(claim_json(found))

    async def bundle(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        claim_id = _path_id(request, "claim")
        service = self.service
        found = await self._db(lambda c: claim_bundle(c, service, viewer, claim_id))
        return JSONResponse(found)


def routes(ctx: AppContext) -> list[BaseRoute]:
    r = _Routes(ctx)
    collection = {"GET": r.policies, "POST": r.offer}
    return [
        Route("/api/policies", by_method(collection), methods=list(collection)),
        Route("/api/policies/{id}/bind", r.bind, methods=["POST"]),
        Route("/api/policies/{id}", r.policy, methods=["GET"]),
        Route("/api/claims", r.claims, methods=["GET"]),
        Route("/api/claims/{id}/bundle", r.bundle, methods=["GET"]),
        Route("/api/claims/{id}", r.claim, methods=["GET"]),
    ]
