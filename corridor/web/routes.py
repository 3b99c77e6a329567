"""The dashboard: server-rendered pages (Jinja2) and plain static files, no build step.

Pages: / (overview), /shipment/{SSCC}, /lot/{LGTIN}, /place/{key}, /event/{log index},
/ledger (the log), /search, /login, /api-reference (the OpenAPI description as a page),
/certificate/{credential id} (printable), /verify?credential= (checked in the browser),
/cbam?year= (an importer's EU CBAM exposure), /insurance (the viewer's parametric cover:
portfolio, exposures, claims, loss ratio) and /corridor?from=&to= (legs, dwell and flow, with
/corridor.csv). Event
data obeys the same visibility as the REST API; the public sees the log (a log entry's page
too, without its event), the places and the ticker. docs/dashboard.md describes each page."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from corridor.credentials.service import CredentialService
from corridor.insurance.evidence import claim_bundle
from corridor.insurance.service import InsuranceError, witnessed_size
from corridor.monitoring.eta import eta_service
from corridor.monitoring.eta_alerts import unit_visible
from corridor.query.events_view import stored_document
from corridor.serving import AppContext, ProblemError, read_db, read_limited
from corridor.store.db import Connection
from corridor.web import (
    api_reference,
    cbam_page,
    certificates,
    corridor_page,
    insurance_page,
    labels,
    views,
)
from corridor.web.log_entry import log_entry
from corridor.web.session import COOKIE, Session, request_key, session_for_key

HERE = Path(__file__).resolve().parent
_env = Environment(loader=FileSystemLoader(HERE / "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True,
                   lstrip_blocks=True)
_env.filters["urlq"] = lambda s: quote(str(s), safe=":/")
_env.filters["days"] = lambda v: "" if v is None else f"{v:.1f} d"
_env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False)
_env.filters["with_unit"] = labels.with_unit
_env.filters["term"] = lambda code, section: certificates.term(section, code)
_env.filters["percent"] = certificates.percent
_env.filters["fig"] = cbam_page.fig


def _time(stored: str | None) -> str:
    """Stored UTC text -> 'YYYY-MM-DD HH:MM UTC'."""
    return f"{stored[:10]} {stored[11:16]} UTC" if stored else ""


_env.filters["utc"] = _time


T = TypeVar("T")
MAX_INDEX = 2**63 - 1  # log indices are 64-bit
MAX_QUERY = 500  # characters of a search or identifier worth looking up
MAX_LOGIN_FORM = 4096  # bytes of the login form (one API key)


class Pages:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def info(self) -> dict[str, Any]:
        ledger = self.ctx.ledger
        if ledger is None:
            return {"origin": self.ctx.settings.log_origin, "witnesses": []}
        return ledger.info()

    async def _run(self, request: Request, fn: Callable[[Connection, Session], T],
                   ) -> tuple[Session, T]:
        key = request_key(request)

        def work(conn: Connection) -> tuple[Session, T]:
            session = session_for_key(conn, key)
            return session, fn(conn, session)

        return await self.ctx.read(work)

    def render(self, name: str, request: Request, session: Session, status: int = 200,
               **context: Any) -> HTMLResponse:
        html = _env.get_template(name).render(request=request, session=session, **context)
        response = HTMLResponse(html, status_code=status)
        if session.bad_key and request.cookies.get(COOKIE):
            response.delete_cookie(COOKIE)
        return response

    def not_found(self, request: Request, session: Session, what: str) -> HTMLResponse:
        # The same answer whether the thing does not exist or the viewer may not see it.
        return self.render("error.html", request, session, status=404, title="Not found",
                           message=f"No {what} that you may see here."
                           + (" Log in as a party to see its shipments." if session.public
                              else ""))

    async def overview(self, request: Request) -> Response:
        info = self.info()
        session, ctx = await self._run(
            request, lambda conn, s: views.overview_page(conn, s, info, self.ctx.db.url))
        return self.render("overview.html", request, session, **ctx)

    async def shipment(self, request: Request) -> Response:
        ref = request.path_params["ref"][:MAX_QUERY]

        def page(conn: Connection, s: Session) -> dict[str, Any] | None:
            ctx = views.shipment_page(conn, s, ref, self.ctx.db.url)
            if ctx is not None:  # its cover, for the policies' parties only
                ctx.update(insurance_page.shipment_cover(conn, s, ctx["ship"].epc))
                # the arrival forecast, for a viewer that sees where the unit is now
                ctx["eta"] = eta_service(self.ctx.db).eta(conn, ctx["dl"]) \
                    if unit_visible(conn, s.viewer, ctx["dl"]) else None
            return ctx

        session, ctx = await self._run(request, page)
        if ctx is None:
            return self.not_found(request, session, f"shipment {ref}")
        return self.render("shipment.html", request, session, **ctx)

    async def lot(self, request: Request) -> Response:
        ref = request.path_params["ref"][:MAX_QUERY]
        session, ctx = await self._run(
            request, lambda conn, s: views.lot_page(
                conn, s, ref, self.ctx.db.url,
                check=cbam_page.node_check(self.credentials, conn)))
        if ctx is None:
            return self.not_found(request, session, f"lot {ref}")
        return self.render("lot.html", request, session, **ctx,
                           cred_verify=certificates.verify_config(self.credentials, self.info()))

    async def cbam(self, request: Request) -> Response:
        """An importer's EU CBAM page for a year: the logged-in party's own, or (an admin, an
        auditor granted over it) the party ?importer= names."""
        year = cbam_page.page_year(request.query_params.get("year", "")[:MAX_QUERY])
        ref = request.query_params.get("importer", "")[:MAX_QUERY] or None
        session, ctx = await self._run(request, lambda conn, s: None if year is None else
                                       cbam_page.cbam_page(conn, s, ref, year,
                                                           cbam_page.node_check(
                                                               self.credentials, conn)))
        if ctx is None:
            return self.not_found(request, session, "CBAM page")
        return self.render("cbam.html", request, session, **ctx)

    async def insurance(self, request: Request) -> Response:
        """The signed-in party's parametric cover: the policies it is insurer or insured of."""
        ledger = self.ctx.ledger

        def page(conn: Connection, s: Session) -> dict[str, Any] | None:
            # only events a witness-quorum checkpoint covers place a unit, as they trigger
            witnessed = witnessed_size(ledger.checkpoint()) if ledger is not None else None
            return insurance_page.insurance_page(conn, s, witnessed, self.ctx.db.url)

        session, ctx = await self._run(request, page)
        if ctx is None:
            return self.not_found(request, session, "insurance page")
        return self.render("insurance.html", request, session, **ctx)

    def _dates(self, request: Request) -> tuple[str, str]:
        q = request.query_params
        return q.get("from", "")[:MAX_QUERY], q.get("to", "")[:MAX_QUERY]

    async def corridor(self, request: Request) -> Response:
        """Legs, dwell and flow: the corridor's figures for a party, the places for the
        public (as the overview)."""
        start, end = self._dates(request)
        etas = eta_service(self.ctx.db)

        def page(conn: Connection, s: Session) -> dict[str, Any]:
            ctx = corridor_page.corridor_page(conn, s, start, end, self.ctx.db.url)
            if not s.public:  # expected arrivals per destination: a corridor-wide figure
                ctx["arrivals"] = etas.arrivals(conn)
            return ctx

        session, ctx = await self._run(request, page)
        return self.render("corridor.html", request, session, **ctx)

    async def corridor_forecasts(self, request: Request) -> Response:
        """The arrival forecasts of the units in transit the signed-in party may see."""
        etas = eta_service(self.ctx.db)

        def page(conn: Connection, s: Session) -> dict[str, Any] | None:
            return None if s.public else corridor_page.forecasts_page(conn, s, etas)

        session, ctx = await self._run(request, page)
        if ctx is None:
            return self.not_found(request, session, "arrival forecasts")
        return self.render("corridor_forecasts.html", request, session, **ctx)

    async def corridor_overdue(self, request: Request) -> Response:
        """The units over p90 now that the signed-in party may see."""
        session, ctx = await self._run(request, lambda conn, s: corridor_page.overdue_page(
            conn, s, self.ctx.db.url))
        if ctx is None:
            return self.not_found(request, session, "units over p90")
        return self.render("corridor_overdue.html", request, session, **ctx)

    async def corridor_csv(self, request: Request) -> Response:
        """The corridor's figures as CSV, one row per leg and node (parties only)."""
        start, end = self._dates(request)
        session, text = await self._run(request, lambda conn, s: None if s.public else
                                        corridor_page.corridor_csv(conn, start, end,
                                                                   self.ctx.db.url))
        if text is None:
            return self.not_found(request, session, "corridor figures")
        return Response(text, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="corridor-legs.csv"'})

    async def claim_bundle(self, request: Request) -> Response:
        """A claim's evidence bundle as a download, for the signed-in insurer or insured (the
        API's /api/claims/{id}/bundle wants a key; the dashboard has a session)."""
        claim_id = request.path_params["id"][:MAX_QUERY]
        service = self.ctx.insurance_service()

        def build(conn: Connection, s: Session) -> dict[str, Any] | str | None:
            try:
                return claim_bundle(conn, service, s.viewer, claim_id)
            except InsuranceError as exc:
                return str(exc) if exc.status == 409 else None

        session, bundle = await self._run(request, build)
        if bundle is None:
            return self.not_found(request, session, f"claim {claim_id}")
        if isinstance(bundle, str):
            return Response(bundle + "\n", status_code=409, media_type="text/plain",
                            headers={"Retry-After": "1"})
        name = claim_id.rsplit(":", 1)[-1]
        return Response(json.dumps(bundle, indent=1), media_type="application/json", headers={
            "Content-Disposition": f'attachment; filename="claim-{name}.json"',
            "Cache-Control": "no-store"})

    @property
    def credentials(self) -> CredentialService:
        return self.ctx.credential_service()

    async def certificate(self, request: Request) -> Response:
        """A credential as a printable certificate (public: a credential is meant to be shown),
        with a QR code of its verification page."""
        credential_id = request.path_params["id"][:certificates.MAX_REF]
        session, cert = await self._run(
            request, lambda conn, s: certificates.certificate(conn, credential_id))
        if cert is None:
            return self.not_found(request, session, f"certificate {credential_id}")
        link = certificates.verify_url(self.credentials.base_url, cert.id)
        return self.render("certificate.html", request, session, cert=cert,
                           qr=certificates.qr_svg(link), verify_link=link,
                           json_href=f"/credentials/{quote(cert.id, safe=':')}",
                           cred_verify=certificates.verify_config(self.credentials, self.info()))

    async def verify_credential(self, request: Request) -> Response:
        """The verification page: ?credential= an id or this node's URL of one; the browser
        checks it (static/verify-credential.js), or a pasted credential."""
        ref = request.query_params.get("credential", "")[:certificates.MAX_REF]
        bases = [self.credentials.base_url, str(request.base_url)]
        credential_id = certificates.credential_ref(ref, bases) if ref else None
        session, cert = await self._run(request, lambda conn, s: certificates.certificate(
            conn, credential_id) if credential_id else None)
        return self.render("verify.html", request, session, status=404 if ref and not cert
                           else 200, cert=cert, ref=ref, foreign=bool(ref) and not credential_id,
                           cred_verify=certificates.verify_config(
                               self.credentials, self.info(), autorun=cert is not None))

    async def event(self, request: Request) -> Response:
        """The log entry at an index (public log data, for anyone) and, for a viewer that may
        read it, the event itself."""
        index = int(request.path_params["index"])
        info = self.info()
        if index > MAX_INDEX:
            session, _ = await self._run(request, lambda conn, s: None)
            return self.not_found(request, session, f"entry at log index {index}")
        entry = await run_in_threadpool(log_entry, self.ctx.ledger, index)
        session, ctx = await self._run(
            request, lambda conn, s: views.event_page(conn, s, index, info))
        if ctx is None and entry is None:
            return self.not_found(request, session, f"entry at log index {index}")
        return self.render("event.html", request, session, info=info, entry=entry, index=index,
                           **(ctx or {"ev": None}))

    async def place(self, request: Request) -> Response:
        key = request.path_params["key"][:MAX_QUERY]
        session, ctx = await self._run(
            request, lambda conn, s: views.place_page(conn, s, key, self.ctx.db.url))
        if ctx is None:
            return self.not_found(request, session, f"place {key}")
        return self.render("place.html", request, session, **ctx)

    async def receipt(self, request: Request) -> Response:
        """The C2SP tlog-proof receipt of a visible event, as a download."""
        index = min(int(request.path_params["index"]), MAX_INDEX)
        session, ev = await self._run(
            request, lambda conn, s: views.data.event_by_log_index(conn, s.viewer, index))
        if ev is None or self.ctx.ledger is None:
            return self.not_found(request, session, f"event at log index {index}")
        proof = await run_in_threadpool(self.ctx.ledger.receipt, index)
        if proof is None:  # say whether it waits for the signer or for the witnesses
            why = await run_in_threadpool(self.ctx.ledger.waiting_for, index)
            return Response(f"no receipt yet for entry {index}: {why}\n", status_code=404,
                            media_type="text/plain", headers={"Retry-After": "1"})
        return Response(proof, media_type="text/plain; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="corridor-{index}.tlog-proof"',
            "Cache-Control": "no-store"})

    async def event_json(self, request: Request) -> Response:
        """The stored event document exactly as digested into the log."""
        index = min(int(request.path_params["index"]), MAX_INDEX)
        session, ev = await self._run(
            request, lambda conn, s: views.data.event_by_log_index(conn, s.viewer, index))
        if ev is None:
            return self.not_found(request, session, f"event at log index {index}")
        doc = await run_in_threadpool(
            read_db, self.ctx.db, lambda conn: stored_document(conn, ev.pk))
        if doc is None:
            return self.not_found(request, session, f"event at log index {index}")
        return Response(doc, media_type="application/ld+json", headers={
            "Content-Disposition": f'attachment; filename="corridor-{index}.json"'})

    async def ledger(self, request: Request) -> Response:
        info = self.info()
        session, log = await self._run(
            request, lambda conn, s: views.log_status(conn, info, limit=25))
        base = str(request.base_url).rstrip("/")
        return self.render("log.html", request, session, log=log, base=base)

    async def search(self, request: Request) -> Response:
        q = request.query_params.get("q", "")[:MAX_QUERY]
        place = request.query_params.get("place")
        party = request.query_params.get("party")

        def find(conn: Connection, s: Session) -> tuple[list[views.Hit], dict[str, str]]:
            if "\x00" in f"{q}{place or ''}{party or ''}":
                return [], {}  # nothing stored holds U+0000 (and PostgreSQL cannot compare it)
            if place or party:
                return (views.units_at(conn, s, place_key=place, party=party),
                        views.search_labels(conn, place_key=place, party=party))
            return views.search(conn, s, q), {}

        session, (hits, named) = await self._run(request, find)
        return self.render("search.html", request, session, q=q, place=place, party=party,
                           hits=hits, named=named)

    async def login(self, request: Request) -> Response:
        if request.method == "GET":
            session, _ = await self._run(request, lambda conn, s: None)
            return self.render("login.html", request, session, error=None)
        # A urlencoded form of one field: parsed here, no multipart library needed. Read as
        # a stream that stops past the limit, so a huge body costs no more than the limit.
        body = await read_limited(request, MAX_LOGIN_FORM)
        if body is None:
            raise ProblemError.epcis(413, "CaptureLimitExceededException", "Request too large",
                                     f"/login: the form is larger than {MAX_LOGIN_FORM} bytes")
        key = (parse_qs(body.decode("utf-8", "replace")).get("api_key") or [""])[0].strip()
        session = await run_in_threadpool(
            read_db, self.ctx.db, lambda conn: session_for_key(conn, key))
        if session.public:
            return self.render("login.html", request, session, status=401,
                               error="Unknown or revoked API key.")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, key, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", max_age=7 * 86400)
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def api_page(self, request: Request) -> Response:
        """The API reference, rendered from the OpenAPI description /openapi.json serves."""
        session, _ = await self._run(request, lambda conn, s: None)
        return self.render("api_reference.html", request, session, **api_reference.reference())


class _LogIndex(Convertor):
    """{index:logindex}: a log index of at most 19 digits (larger ones match no route, rather
    than reaching int() with thousands of digits)."""

    regex = "[0-9]{1,19}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("logindex", _LogIndex())


def routes(ctx: AppContext) -> list[BaseRoute]:
    pages = Pages(ctx)
    return [
        Route("/", pages.overview, name="web_overview"),
        Route("/shipment/{ref:path}", pages.shipment, name="web_shipment"),
        Route("/lot/{ref:path}", pages.lot, name="web_lot"),
        Route("/place/{key:path}", pages.place, name="web_place"),
        Route("/event/{index:logindex}", pages.event, name="web_event"),
        Route("/event/{index:logindex}/receipt", pages.receipt, name="web_receipt"),
        Route("/event/{index:logindex}/event.json", pages.event_json, name="web_event_json"),
        Route("/ledger", pages.ledger, name="web_ledger"),
        Route("/certificate/{id:path}", pages.certificate, name="web_certificate"),
        Route("/cbam", pages.cbam, name="web_cbam"),
        Route("/insurance", pages.insurance, name="web_insurance"),
        Route("/corridor", pages.corridor, name="web_corridor"),
        Route("/corridor.csv", pages.corridor_csv, name="web_corridor_csv"),
        Route("/corridor/overdue", pages.corridor_overdue, name="web_corridor_overdue"),
        Route("/corridor/forecasts", pages.corridor_forecasts, name="web_corridor_forecasts"),
        Route("/insurance/claim/{id:path}/bundle.json", pages.claim_bundle,
              name="web_claim_bundle"),
        Route("/verify", pages.verify_credential, name="web_verify_credential"),
        Route("/search", pages.search, name="web_search"),
        Route("/login", pages.login, methods=["GET", "POST"], name="web_login"),
        Route("/logout", pages.logout, methods=["POST"], name="web_logout"),
        Route("/api-reference", pages.api_page, name="web_api_reference"),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
