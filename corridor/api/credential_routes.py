"""HTTP routes of certificates (W3C Verifiable Credentials about lots, corridor.credentials):

  POST /credentials                    {type, subject, cryptosuite?}: issue (certifier only)
  GET  /credentials?subject=&issuer=   list (a filter is required unless admin)
  GET  /credentials/{id}               the credential (public: it is meant to be shown)
  POST /credentials/{id}/revoke        {reason}: revoke (its issuer or an admin)
  GET  /credentials/status/{n}         a signed Bitstring Status List credential (public)
  POST /credentials/verify             {credential, events?} or a credential: check it with
                                       the node's certifiers, status lists and log (public)
  GET  /certifiers                     the accredited certifiers: the issuers to trust
  POST /certifiers                     {party, name, accreditation, scope?}: accredit (admin)
  GET  /.well-known/did.json           the node's did:web document
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from corridor.credentials import CredentialError
from corridor.credentials.credential import KINDS
from corridor.credentials.service import (
    CredentialService,
    IssueRefused,
    IssueRequest,
    NotCertifier,
)
from corridor.query.visibility import Viewer
from corridor.serving import (
    AppContext,
    AuthError,
    ProblemError,
    by_method,
    read_json_body,
    require_party,
    viewer_for,
)
from corridor.store import credentials as store
from corridor.store.parties import PartyError

VC_MEDIA_TYPE = "application/vc"
MAX_VERIFY_BYTES = 8 * 1024 * 1024  # a credential with its evidence events




def _listing(c: store.StoredCredential, base: str) -> dict[str, Any]:
    return {"id": c.id, "type": c.kind, "subject": c.subject, "issuedAt": c.issued_at,
            "revokedAt": c.revoked_at, "revocationReason": c.revocation_reason,
            "url": f"{base}/credentials/{c.id}"}


def _certifier_json(c: store.Certifier) -> dict[str, Any]:
    return {"party": c.party_id, "did": c.did, "name": c.display_name,
            "accreditation": c.accreditation, "scope": list(c.scope), "since": c.created_at}


def _text(body: dict[str, Any], field: str, *, default: str | None = None) -> str:
    value = body.get(field, default)
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise ProblemError.invalid(f"/{field}", "must be a non-empty string")
    return value.strip()


class _Routes:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @property
    def service(self) -> CredentialService:
        return self.ctx.credential_service()

    async def _body(self, request: Request, limit: int = 64 * 1024) -> dict[str, Any]:
        body = await read_json_body(request, limit)
        if not isinstance(body, dict):
            raise ProblemError.invalid("", "the body must be a JSON object")
        return body

    async def issue(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        body = await self._body(request)
        kind = _text(body, "type")
        if kind not in KINDS:
            raise ProblemError.invalid("/type", f"must be one of {', '.join(KINDS)}")
        issue = IssueRequest(kind, _text(body, "subject"),
                             _text(body, "cryptosuite", default="eddsa-jcs-2022"))
        try:
            stored = await self.ctx.read(lambda c: self.service.issue(c, viewer, issue))
        except NotCertifier as exc:
            raise AuthError(403, str(exc), rule="not-a-certifier") from None
        except IssueRefused as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            raise ProblemError(exc.status, "about:blank", "Claim not supported by the log"
                               if exc.status == 422 else "Evidence not yet provable",
                               str(exc), headers=headers, rule="claim-unsupported"
                               if exc.status == 422 else "evidence-not-ready",
                               missing=exc.missing) from None
        except CredentialError as exc:
            raise ProblemError(422, "about:blank", "Claim not supported by the log", str(exc),
                               rule="claim-unsupported",
                               missing=getattr(exc, "missing", [])) from None
        return Response(stored.document, status_code=201, media_type=VC_MEDIA_TYPE,
                        headers={"Location": f"/credentials/{stored.id}"})

    async def get(self, request: Request) -> Response:
        credential_id = request.path_params["id"]
        found = await self.ctx.read(lambda c: store.get_credential(c, credential_id))
        if found is None:
            raise ProblemError.not_found(f"no credential {credential_id!r}")
        return Response(found.document, media_type=VC_MEDIA_TYPE)

    async def list(self, request: Request) -> Response:
        viewer = await viewer_for(request, self.ctx)
        subject = request.query_params.get("subject")
        issuer = request.query_params.get("issuer")
        if subject is not None and (not subject or "\x00" in subject):
            raise ProblemError.invalid("subject", "must be a lot identifier, not empty")
        if subject is None and issuer is None and not viewer.is_admin:
            raise ProblemError.invalid("subject", "give subject (a lot) or issuer (a certifier's party id)")
        issuer_party = None
        if issuer is not None:
            if not issuer.isdigit():
                raise ProblemError.invalid("issuer", "must be a certifier's numeric party id")
            issuer_party = int(issuer)
        found = await self.ctx.read(lambda c: store.list_credentials(
            c, subject=subject, issuer_party=issuer_party))
        base = self.service.base_url
        return JSONResponse([_listing(c, base) for c in found])

    async def revoke(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        body = await self._body(request)
        reason = _text(body, "reason")
        credential_id = request.path_params["id"]
        try:
            stored = await self.ctx.read(
                lambda c: self.service.revoke(c, viewer, credential_id, reason))
        except store.CredentialStoreError as exc:
            raise ProblemError.not_found(str(exc)) from None
        except NotCertifier as exc:
            raise AuthError(403, str(exc), rule="not-the-issuer") from None
        return JSONResponse(_listing(stored, self.service.base_url))

    async def status(self, request: Request) -> Response:
        raw = request.path_params["n"]
        if not raw.isdigit() or len(raw) > 18:
            raise ProblemError.not_found(f"no status list {raw!r}")
        document = await self.ctx.read(lambda c: self.service.status_list_document(c, int(raw)))
        if document is None:
            raise ProblemError.not_found(f"no status list {raw!r}")
        # verifiers cache it for offline checks; a revocation shows within the max-age
        return Response(json.dumps(document, ensure_ascii=False), media_type=VC_MEDIA_TYPE,
                        headers={"Cache-Control": "public, max-age=300"})

    async def verify(self, request: Request) -> Response:
        body = await self._body(request, MAX_VERIFY_BYTES)
        credential: Any = body.get("credential", body)
        events = body.get("events") if "credential" in body else None
        if not isinstance(credential, dict):
            raise ProblemError.invalid("/credential", "must be a JSON object")
        if events is not None and (not isinstance(events, list)
                                   or not all(isinstance(e, dict) for e in events)):
            raise ProblemError.invalid("/events", "must be an array of EPCIS events")
        report = await self.ctx.read(lambda c: self.service.verify(c, credential, events))
        return JSONResponse(report.as_json())

    async def certifiers(self, request: Request) -> Response:
        found = await self.ctx.read(store.certifiers)
        return JSONResponse([_certifier_json(c) for c in found])

    async def accredit(self, request: Request) -> Response:
        viewer: Viewer = await require_party(request, self.ctx)
        if not viewer.is_admin:
            raise AuthError(403, "only an admin party may accredit a certifier")
        body = await self._body(request)
        scope = body.get("scope", list(KINDS))
        if not isinstance(scope, list) or not all(isinstance(s, str) for s in scope):
            raise ProblemError.invalid("/scope", "must be an array of credential types")
        party, name = _text(body, "party"), _text(body, "name")
        accreditation = _text(body, "accreditation")
        try:
            made = await self.ctx.read(lambda c: self.service.accredit(
                c, party, display_name=name, accreditation=accreditation, scope=tuple(scope)))
        except PartyError as exc:
            raise ProblemError.invalid("/party", str(exc)) from None
        except (CredentialError, store.CredentialStoreError) as exc:
            raise ProblemError.invalid("/scope" if "scope" in str(exc) else "/party", str(exc)) from None
        return JSONResponse(_certifier_json(made), status_code=201)

    async def did(self, request: Request) -> Response:
        return JSONResponse(self.service.did_document(),
                            media_type="application/did+json")


def routes(ctx: AppContext) -> list[BaseRoute]:
    r = _Routes(ctx)
    collection = {"GET": r.list, "POST": r.issue}
    certifiers = {"GET": r.certifiers, "POST": r.accredit}
    return [
        Route("/.well-known/did.json", r.did, methods=["GET"]),
        Route("/certifiers", by_method(certifiers), methods=list(certifiers)),
        Route("/credentials", by_method(collection), methods=list(collection)),
        Route("/credentials/verify", r.verify, methods=["POST"]),
        Route("/credentials/status/{n}", r.status, methods=["GET"]),
        Route("/credentials/{id}/revoke", r.revoke, methods=["POST"]),
        Route("/credentials/{id}", r.get, methods=["GET"]),
    ]
