"""HTTP routes of the fx concern, answering from stored rates only (no network):

  GET /api/fx/ticker[?date=]                       the five pairs against USD
  GET /api/fx/rates?base=&quote=&date=             one cross rate, with its rule
  GET /api/fx/rates?base=&quote=&from=&to=         history (add format=csv for CSV)
  GET /api/fx/convert?amount=&from=&to=[&date=]    valuation with the rounding stated
  GET /api/fx/check[?date=&tolerance=]             triangulation of the banks' quotes
Errors are RFC 9457 problem details naming the parameter.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from corridor.fx.model import CURRENCIES, RateNotFound
from corridor.fx.rates import CrossRate, cross_rate, history
from corridor.fx.ticker import ticker
from corridor.fx.triangulation import DEFAULT_TOLERANCE, check
from corridor.fx.valuation import to_decimal, value
from corridor.serving import (
    AppContext,
    ProblemError,
    instance_uri,
    problem_response,
    query_pointer,
)
from corridor.store.db import Connection
from corridor.store.fx_store import latest_date


class BadParam(ValueError):
    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


def _problem(status: int, title: str, detail: str, name: str | None = None,
             reason: str | None = None) -> ProblemError:
    """A plain HTTP problem (type about:blank); a bad parameter is named in `invalid-params`
    (the extension member RFC 7807 shows for it) and in `errors` (with `reason`)."""
    if name:
        return ProblemError(status, "about:blank", title, detail, pointer=query_pointer(name),
                            message=reason, **{"invalid-params": [{"name": name,
                                                                    "reason": detail}]})
    return ProblemError(status, "about:blank", title, detail)


def _date(request: Request, name: str, required: bool = False) -> date | None:
    text = request.query_params.get(name)
    if not text:
        if required:
            raise BadParam(name, "is required (YYYY-MM-DD)")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadParam(name, f"{text!r} is not a date YYYY-MM-DD") from None


def _param(request: Request, name: str) -> str:
    text = request.query_params.get(name, "").strip()
    if not text:
        raise BadParam(name, "is required")
    return text


def _wants_csv(request: Request) -> bool:
    fmt = request.query_params.get("format", "").lower()
    if fmt and fmt not in ("csv", "json"):
        raise BadParam("format", f"{fmt!r}: use json or csv")
    return fmt == "csv" or (not fmt and "text/csv" in request.headers.get("accept", ""))


def _cross_dict(c: CrossRate) -> dict[str, Any]:
    return {
        "base": c.base, "quote": c.quote, "date": c.on.isoformat(), "rate": str(c.rate),
        "rule": c.rule, "explanation": c.explanation, "source": c.sources,
        "effective_date": c.effective_date.isoformat(), "carried_forward": c.carried_forward,
        "label": c.label,
        "legs": [{"bank": lg.bank, "currency": lg.currency, "home": lg.home,
                  "units": lg.units, "value": str(lg.value), "rate": str(lg.rate),
                  "effective_date": lg.effective_date.isoformat(),
                  "publication_date": lg.publication_date.isoformat()
                  if lg.publication_date else None,
                  "basis": lg.basis, "source_url": lg.source_url} for lg in c.legs],
    }


def _csv(rows: list[dict[str, Any]], columns: list[str], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


_PARAMS = frozenset({"base", "quote", "date", "from", "to", "amount", "tolerance", "format"})


def _handler(ctx: AppContext, work: Callable[[Connection, Request], Response]
             ) -> Callable[[Request], Awaitable[Response]]:
    """Run `work` in a thread with its own connection; map errors to problem details."""

    def run(request: Request) -> Response:
        conn = ctx.db.connect()
        try:
            return work(conn, request)
        finally:
            conn.close()

    async def endpoint(request: Request) -> Response:
        try:
            return await run_in_threadpool(run, request)
        except BadParam as exc:
            problem = _problem(400, "Bad Request", f"query parameter {exc.name}: {exc.reason}",
                               exc.name, exc.reason)
        except RateNotFound as exc:
            problem = _problem(404, "Rate Not Found", str(exc))
        except (ValueError, TypeError) as exc:
            text = str(exc)
            name, _, reason = text.partition(":") if ":" in text else ("", "", text)
            problem = _problem(400, "Bad Request", text, name if name in _PARAMS else None,
                               reason.strip())
        return problem_response(problem, instance_uri(request))

    return endpoint


def _ticker(conn: Connection, request: Request) -> Response:
    on = _date(request, "date")
    rows = [r.as_dict() for r in ticker(conn, on)]
    if _wants_csv(request):
        return _csv(rows, ["pair", "rate", "display", "inverse_pair", "inverse", "change_pct",
                           "source", "effective_date", "rule", "label"], "ticker.csv")
    return JSONResponse({"date": on.isoformat() if on else None, "rows": rows})


def _rates(conn: Connection, request: Request) -> Response:
    base, quote = _param(request, "base"), _param(request, "quote")
    on = _date(request, "date")
    start, end = _date(request, "from"), _date(request, "to")
    as_csv = _wants_csv(request)
    if on and (start or end):
        raise BadParam("date", "give either date or from/to, not both")
    if on is None and start is None and end is None:
        on = latest_date(conn) or datetime.now(UTC).date()
    if on is not None:
        rows = [_cross_dict(cross_rate(conn, base, quote, on))]
    else:
        if start is None or end is None:
            raise BadParam("from" if start is None else "to", "is required with the other")
        carried = request.query_params.get("include_carried", "") in ("1", "true", "yes")
        rows = [_cross_dict(c) for c in history(conn, base, quote, start, end,
                                                include_carried=carried)]
    if as_csv:
        return _csv(rows, ["date", "base", "quote", "rate", "rule", "source",
                           "effective_date", "carried_forward", "label"], "rates.csv")
    if on is not None:
        return JSONResponse(rows[0])
    return JSONResponse({"base": base.upper(), "quote": quote.upper(),
                         "from": start.isoformat(), "to": end.isoformat(), "rates": rows})


def _convert(conn: Connection, request: Request) -> Response:
    amount_text = _param(request, "amount")
    try:
        amount = to_decimal(amount_text)
    except ValueError as exc:
        raise BadParam("amount", str(exc).split(": ", 1)[-1]) from None
    on = _date(request, "date")  # none: the latest stored rate, its date in "rateDate"
    codes = []
    for name in ("from", "to"):
        code = _param(request, name).upper()
        if code not in CURRENCIES:
            raise BadParam(name, f"{code!r} is not one of {', '.join(CURRENCIES)}")
        codes.append(code)
    result = value(conn, amount, codes[0], codes[1], on)
    body = result.as_dict()
    body["legs"] = _cross_dict(result.cross)["legs"]
    return JSONResponse(body)


def _check(conn: Connection, request: Request) -> Response:
    on = _date(request, "date") or latest_date(conn) or datetime.now(UTC).date()
    text = request.query_params.get("tolerance")
    tolerance = DEFAULT_TOLERANCE
    if text:
        try:
            tolerance = Decimal(text)
        except InvalidOperation:
            raise BadParam("tolerance", f"{text!r} is not a decimal fraction") from None
        if not tolerance.is_finite() or not 0 <= tolerance < 1:
            raise BadParam("tolerance", f"{text!r} must be a fraction from 0 to 1 (0.01 = 1%)")
    rows = [{
        "base": c.base, "quote": c.quote, "reference": c.reference.label,
        "reference_rate": str(c.reference.rate), "reference_dates": c.reference.dates,
        "other": c.other.label, "other_rate": str(c.other.rate), "other_dates": c.other.dates,
        "deviation": str(c.deviation), "allowed": str(c.allowed), "flagged": c.flagged,
    } for c in check(conn, on, tolerance=tolerance)]
    if _wants_csv(request):
        return _csv(rows, list(rows[0]) if rows else ["base", "quote"], "check.csv")
    return JSONResponse({"date": on.isoformat(), "tolerance": str(tolerance),
                         "flagged": sum(1 for r in rows if r["flagged"]),
                         "comparisons": rows})


def routes(ctx: AppContext) -> list[BaseRoute]:
    return [
        Route("/api/fx/ticker", _handler(ctx, _ticker), methods=["GET"]),
        Route("/api/fx/rates", _handler(ctx, _rates), methods=["GET"]),
        Route("/api/fx/convert", _handler(ctx, _convert), methods=["GET"]),
        Route("/api/fx/check", _handler(ctx, _check), methods=["GET"]),
    ]
