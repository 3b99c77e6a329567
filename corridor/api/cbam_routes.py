"""HTTP routes of EU CBAM (corridor.cbam):

  GET /api/cbam/declaration?importer=&year=[&format=json|csv|html][&price=&period=]
                            [&paid=INSTALLATION=AMOUNT:CURRENCY[:YYYY-MM-DD]:EVIDENCE ...]
      an importer's declaration data for a calendar year (the importer itself, an admin, or
      an auditor the importer granted); the certificate price defaults to the published price
      of cbam_rules.yml certificate_price.default_period (for 2026 the published price of
      each quarter of importation wins for its imports); `paid` (repeatable): the carbon
      price paid at origin for a line, with its evidence (corridor.cbam.paid); a credential's communicated values
      count once the node verifies it (signature, trusted issuer, status, evidence)
  GET /api/cbam/installations/{id}/communication?period=[&format=json|xlsx]
      an installation's communication (SEE per product) for a year or quarter (its operator,
      an admin, or an auditor the operator granted)

Both read the events through the reader's own visibility.
"""

from __future__ import annotations

import re
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from corridor.cbam.communication import PeriodError
from corridor.cbam.outputs import communication_xlsx, declaration_csv, declaration_html
from corridor.cbam.paid import FORM, PaidError, parse_paid
from corridor.cbam.service import (
    ImporterDeclaration,
    NotAllowed,
    UnknownInstallation,
    check_reader,
    default_price,
    importer_declaration,
    installation_communication,
    party_of,
    published_price,
)
from corridor.emissions.cbam import CarbonPricePaid
from corridor.emissions.cbam_data import CbamError, PaidPriceError
from corridor.query import QueryError
from corridor.serving import AppContext, AuthError, ProblemError, require_party
from corridor.store.db import Connection

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
QUARTER = re.compile(r"[0-9]{4}-Q[1-4]")
PRICE = re.compile(r"[0-9]{1,5}(\.[0-9]{1,4})?")
YEARS = (2026, 2100)  # the definitive period starts in 2026
# Carbon prices paid in one request, each at most PAID_CHARS: the whole query must stay within
# what the HTTP server parses (it refuses a request line of about 100 KB).
MAX_PAID, PAID_CHARS = 10, 400



def _one(request: Request, name: str, *, required: bool = False) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ProblemError.invalid(name, "give it once")
    if not values:
        if required:
            raise ProblemError.invalid(name, "required")
        return None
    value = values[0]
    if not value.strip() or "\x00" in value or len(value) > 512:
        raise ProblemError.invalid(name, "must be a non-empty string")
    return value


def _year(request: Request) -> int:
    raw = _one(request, "year", required=True) or ""
    if not raw.isascii() or not raw.isdigit() or not YEARS[0] <= int(raw) <= YEARS[1]:
        raise ProblemError.invalid("year", f"must be a calendar year from {YEARS[0]} to {YEARS[1]}")
    return int(raw)


def _format(request: Request, allowed: tuple[str, ...]) -> str:
    chosen = _one(request, "format") or "json"
    if chosen not in allowed:
        raise ProblemError.invalid("format", f"must be one of {', '.join(allowed)}")
    return chosen


def _price(request: Request) -> tuple[Decimal, str]:
    raw, period = _one(request, "price"), _one(request, "period")
    if period is not None and not QUARTER.fullmatch(period):
        raise ProblemError.invalid("period", "must be a quarter, e.g. 2026-Q1")
    if raw is None:
        try:
            return published_price(period) if period else default_price()
        except CbamError as exc:
            raise ProblemError.invalid("price", str(exc)) from None
    if period is None:
        raise ProblemError.invalid("period", "give the period of the price (e.g. 2026-Q1)")
    if not PRICE.fullmatch(raw) or Decimal(raw) <= 0:
        raise ProblemError.invalid("price", "must be EUR per certificate above 0, e.g. 75.36 (at most 5 "
                            "digits before the point and 4 after)")
    return Decimal(raw), period


def _paid(request: Request) -> dict[str, CarbonPricePaid]:
    given = request.query_params.getlist("paid")
    if len(given) > MAX_PAID:
        raise ProblemError.invalid("paid", f"at most {MAX_PAID} values")
    for value in given:
        if not value.strip() or "\x00" in value or len(value) > PAID_CHARS:
            raise ProblemError.invalid("paid", f"each value: {FORM}, at most {PAID_CHARS} characters")
    try:
        return parse_paid(given)
    except PaidError as exc:
        raise ProblemError.invalid("paid", str(exc)) from None


class _Routes:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def declaration(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        importer = _one(request, "importer", required=True) or ""
        year, chosen = _year(request), _format(request, ("json", "csv", "html"))
        price, period = _price(request)
        paid = _paid(request)

        verifier = self.ctx.credential_service()

        def read(conn: Connection) -> ImporterDeclaration:
            check_reader(conn, viewer, party_of(conn, importer),
                         f"the CBAM declaration of {importer}")
            return importer_declaration(
                conn, viewer, importer, year, price_eur=price, price_period=period, paid=paid,
                check=lambda doc: [c.name for c in verifier.verify(conn, doc).checks
                                   if not c.ok])

        try:
            found = await self.ctx.read(read)
        except NotAllowed as exc:
            raise AuthError(403, str(exc), rule="not-the-importer") from None
        except PaidPriceError as exc:
            raise ProblemError.invalid("paid", str(exc)) from None
        except (CbamError, QueryError) as exc:
            raise ProblemError.invalid("importer", str(exc)) from None
        if chosen == "csv":
            return Response(declaration_csv(found.declaration), media_type="text/csv",
                            headers=_attachment(f"cbam-declaration-{year}.csv"))
        if chosen == "html":
            return Response(declaration_html(found.declaration, extra={
                "containersNotCounted": list(found.imports.not_counted)}),
                media_type="text/html")
        return JSONResponse(found.to_json())

    async def communication(self, request: Request) -> Response:
        viewer = await require_party(request, self.ctx)
        site = request.path_params["id"]
        period = _one(request, "period", required=True) or ""
        chosen = _format(request, ("json", "xlsx"))
        try:
            found = await self.ctx.read(
                lambda c: installation_communication(c, viewer, site, period))
        except PeriodError as exc:
            raise ProblemError.invalid("period", str(exc)) from None
        except UnknownInstallation as exc:
            raise ProblemError.epcis(404, "NoSuchNameException", "Not found",
                                     str(exc)) from None
        except NotAllowed as exc:
            raise AuthError(403, str(exc), rule="not-the-operator") from None
        if chosen == "xlsx":
            return Response(communication_xlsx(found), media_type=XLSX,
                            headers=_attachment(f"cbam-communication-{found.period.label}.xlsx"))
        return JSONResponse(found.to_json())


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def routes(ctx: AppContext) -> list[BaseRoute]:
    r = _Routes(ctx)
    return [
        Route("/api/cbam/declaration", r.declaration, methods=["GET"]),
        Route("/api/cbam/installations/{id}/communication", r.communication, methods=["GET"]),
    ]
