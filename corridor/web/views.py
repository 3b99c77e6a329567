"""Page data for the dashboard: plain functions (connection, session, ...) -> template context.
They run in a worker thread; routes.py only wires them to HTTP."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from corridor.demo.geography import PLACES
from corridor.query.epc import canonical
from corridor.query.params import QueryError
from corridor.query.visibility import visibility_clause
from corridor.store.db import Connection
from corridor.store.events import place_match
from corridor.web import data
from corridor.web.corridor_map import render_map
from corridor.web.overview import overview
from corridor.web.session import Session

# ---------------------------------------------------------------- log status


@dataclass
class CheckpointView:
    size: int
    root_b64: str
    note: str
    witnessed: int
    created_at: str
    cosigners: list[tuple[str, str]]  # (witness name, time ISO)

    @property
    def age(self) -> str:
        try:
            made = datetime.fromisoformat(self.created_at)
        except ValueError:
            return ""
        return human_age((datetime.now(UTC) - made).total_seconds())


def human_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _cosigners(note: str, origin: str) -> list[tuple[str, str]]:
    out = []
    _, _, sigs = note.rpartition("\n\n")
    for line in sigs.splitlines():
        if not line.startswith("\u2014 "):
            continue
        name, _, b64 = line[2:].partition(" ")
        if name == origin:
            continue
        try:
            blob = base64.b64decode(b64)
        except ValueError:
            continue
        when = ""
        if len(blob) == 4 + 72:  # tlog-cosignature/v1: key id, 8-byte timestamp, signature
            stamp = int.from_bytes(blob[4:12], "big")
            when = datetime.fromtimestamp(stamp, UTC).isoformat()
        out.append((name, when))
    return out


def checkpoints(conn: Connection, origin: str, limit: int = 20) -> list[CheckpointView]:
    rows = conn.fetchall(
        "SELECT size, root, note, witnessed, created_at FROM ledger_checkpoints"
        " ORDER BY size DESC LIMIT ?", (limit,))
    return [CheckpointView(int(r[0]), base64.b64encode(bytes(r[1])).decode(), str(r[2]),
                           int(r[3]), str(r[4]), _cosigners(str(r[2]), origin)) for r in rows]


def log_status(conn: Connection, info: dict[str, Any], limit: int = 1) -> dict[str, Any]:
    row = conn.fetchone("SELECT size FROM ledger_state WHERE id = 1")
    history = checkpoints(conn, info.get("origin", ""), limit)
    return {"tree_size": int(row[0]) if row else 0, "latest": history[0] if history else None,
            "history": history, "info": info}


# ---------------------------------------------------------------- pages


def ticker_rows(conn: Connection) -> list[Any]:
    from corridor.fx.ticker import ticker

    try:
        return ticker(conn)
    except (LookupError, ValueError, ArithmeticError):  # no usable rate: no strip row
        return []


def overview_page(conn: Connection, session: Session, info: dict[str, Any],
                  cache_key: str | None = None) -> dict[str, Any]:
    ctx: dict[str, Any] = {"ticker": ticker_rows(conn), "log": log_status(conn, info)}
    if session.public:
        svg, stats = render_map([], link_units=False)
        ctx.update(map_svg=svg, map_stats=stats, ov=None)
        return ctx
    ov = overview(conn, session.viewer, cache_key=cache_key)
    svg, stats = render_map(ov.positions)
    ctx.update(map_svg=svg, map_stats=stats, ov=ov)
    return ctx


@dataclass
class ValuationView:
    valuation: Any  # corridor.fx.valuation.Valuation
    note: str  # why the rate is not the invoice date's, or ""


def _valuations(conn: Connection, amount: str, currency: str, on: date) -> list[ValuationView]:
    """The invoice in KZT (and USD or EUR) at the official rate of the invoice date; when no
    rate was recorded near that date, at the nearest recorded NBK date, saying so."""
    from corridor.fx.valuation import value
    from corridor.store.fx_store import effective_dates

    out = []
    for target in ("KZT", "USD" if currency != "USD" else "EUR"):
        try:
            out.append(ValuationView(value(conn, Decimal(amount), currency, target, on), ""))
            continue
        except (LookupError, ValueError, ArithmeticError):
            pass
        dates = effective_dates(conn, "NBK")
        if not dates:
            continue
        nearest = min(dates, key=lambda d: abs((d - on).days))
        try:
            v = value(conn, Decimal(amount), currency, target, nearest)
        except (LookupError, ValueError, ArithmeticError):
            continue
        out.append(ValuationView(v, f"no rate recorded for {on.isoformat()}: nearest recorded "
                                    f"date {nearest.isoformat()}"))
    return out


def shipment_page(conn: Connection, session: Session, ref: str) -> dict[str, Any] | None:
    try:
        ship = data.shipment(conn, session.viewer, data.epc_key(ref))
    except QueryError:  # not an identifier at all (e.g. a malformed pattern URN)
        return None
    if ship is None:
        return None
    valuations: list[Any] = []
    if ship.invoice:
        amount, currency, event = ship.invoice
        valuations = _valuations(conn, amount, currency, event.time.date())
    temps = [p for p in ship.sensors if p.kind == "Temperature"]
    hums = [p for p in ship.sensors if p.kind == "RelativeHumidity"]
    shocks = [p for p in ship.sensors if p.kind == "Acceleration"]
    return {"ship": ship, "valuations": valuations, "dl": canonical(ship.epc),
            "chart": sensor_chart(temps, hums, shocks) if ship.sensors else ""}


def lot_page(conn: Connection, session: Session, ref: str) -> dict[str, Any] | None:
    try:
        lot = data.lot(conn, session.viewer, data.epc_key(ref))
    except QueryError:
        return None
    if lot is None:
        return None
    shipments = []
    for container in lot.containers:
        ship = data.shipment(conn, session.viewer, canonical(container))
        if ship is not None:
            shipments.append(ship)
    return {"lot": lot, "shipments": shipments, "dl": canonical(lot.epc_class)}


def event_page(conn: Connection, session: Session, index: int,
               info: dict[str, Any]) -> dict[str, Any] | None:
    ev = data.event_by_log_index(conn, session.viewer, index)
    if ev is None:
        return None
    row = conn.fetchone("SELECT doc FROM events WHERE id = ?", (ev.pk,))
    stored = str(row[0]) if row else json.dumps(ev.doc)
    namespaces = dict(conn.fetchall("SELECT prefix, iri FROM event_namespaces"))
    return {
        "ev": ev, "stored_doc": stored,
        "pretty": json.dumps(ev.doc, indent=2, ensure_ascii=False),
        "xml": event_xml(ev.doc, namespaces),
        "verify_data": {
            "receiptUrl": f"/event/{index}/receipt",
            "entry": {"eventHashId": ev.hash_id, "party": ev.party,
                      "recordTime": ev.record_time, "logIndex": index, "signature": None},
            "witnesses": [w["vkey"] for w in info.get("witnesses", [])],
            "quorum": int(info.get("quorum", 0) or 0),
        },
    }


def event_xml(doc: dict[str, Any], namespaces: dict[str, str]) -> str:
    """The event in EPCIS 2.0 XML (A's converter); a note instead when it cannot convert."""
    try:
        from corridor.epcis.documents import EpcisDocument, to_xml

        used = {p: iri for p, iri in namespaces.items()
                if any(k.startswith(p + ":") for k in _all_keys(doc))}
        xml = to_xml(EpcisDocument("EPCISDocument", {"schemaVersion": "2.0",
                                                     "creationDate": doc.get("eventTime")},
                                   [doc], used))
        return xml.decode("utf-8")
    except (ValueError, TypeError, KeyError) as exc:  # JSON-LD is the stored form
        return f"<!-- XML view unavailable: {exc.__class__.__name__}: {exc} -->"


def _all_keys(value: Any) -> list[str]:
    keys: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            keys.append(k)
            keys.extend(_all_keys(v))
    elif isinstance(value, list):
        for v in value:
            keys.extend(_all_keys(v))
    return keys


# ---------------------------------------------------------------- search


@dataclass
class Hit:
    kind: str  # shipment | lot | event | place | party
    label: str
    href: str
    detail: str = ""


def search(conn: Connection, session: Session, q: str, limit: int = 50) -> list[Hit]:
    """Find shipments, lots, events, places and parties matching a query the viewer may see."""
    from urllib.parse import quote

    q = q.strip()
    if not q:
        return []
    hits: list[Hit] = []
    vis_sql, vis_params = visibility_clause(session.viewer)
    key = data.epc_key(q)

    def epc_hits(keys: list[str]) -> None:
        if not keys:
            return
        marks = ",".join("?" * len(keys))
        rows = conn.fetchall(
            "SELECT DISTINCT x.epc, x.role FROM event_epcs x JOIN events e ON e.id = x.event_pk"
            f" WHERE x.epc IN ({marks}) AND ({vis_sql}) LIMIT ?", [*keys, *vis_params, limit])
        seen = set()
        for epc, role in rows:
            if epc in seen:
                continue
            seen.add(epc)
            if epc.startswith(data.SSCC_PREFIX):
                hits.append(Hit("shipment", epc, f"/shipment/{data.unit_ref(epc)}",
                                "logistic unit (SSCC)"))
            elif "/10/" in epc:
                hits.append(Hit("lot", epc, f"/lot/{quote(epc, safe=':/')}", "lot (LGTIN)"))
            else:
                hits.append(Hit("epc", epc, f"/search?q={quote(epc)}", role))

    epc_hits([key])
    if not hits and "/" not in q and ":" not in q:
        # A lot number on its own: the end of an LGTIN key. Range-scan the GTIN-based keys of
        # the index rather than LIKE '%...' over every row.
        rows = conn.fetchall(
            "SELECT DISTINCT x.epc FROM event_epcs x WHERE x.epc >= ? AND x.epc < ?",
            [f"{_DL}/01/", f"{_DL}/010"])
        epc_hits([r[0] for r in rows if r[0].endswith(f"/10/{q}")][:limit])
    # Business transactions (bill of lading, invoice, order...): by full URN, or by the
    # document number under any party's GLN (urn:epcglobal:cbv:bt:<GLN>:<number>).
    candidates = [q, *(f"urn:epcglobal:cbv:bt:{gln}:{q}" for gln in _party_glns(conn))]
    marks = ",".join("?" * len(candidates))
    rows = conn.fetchall(
        "SELECT f.path, f.sval, e.log_index, x.epc FROM event_fields f"
        " JOIN events e ON e.id = f.event_pk"
        " LEFT JOIN event_epcs x ON x.event_pk = e.id AND x.role IN ('epc', 'parent')"
        f" WHERE f.path >= 'bizTransaction:' AND f.path < 'bizTransaction;'"
        f" AND f.sval IN ({marks}) AND ({vis_sql}) ORDER BY e.event_time LIMIT ?",
        [*candidates, *vis_params, limit])
    for path, sval, log_index, epc in rows:
        kind = path.split(":", 1)[1]
        if epc and epc.startswith(data.SSCC_PREFIX):
            hits.append(Hit("shipment", epc, f"/shipment/{data.unit_ref(epc)}",
                            f"{kind} {sval}"))
        elif log_index is not None:
            hits.append(Hit("event", sval, f"/event/{log_index}", kind))
    low = q.lower()
    for place in PLACES:
        if low in place.name.lower() or low == place.locode.lower() or key == canonical(
                place.sgln):
            hits.append(Hit("place", place.name, f"/search?place={place.key}",
                            f"{place.locode} {place.sgln}"))
    rows = conn.fetchall(
        "SELECT p.name, p.identifier, p.role FROM parties p WHERE lower(p.name) LIKE ?"
        " OR p.identifier = ? ORDER BY p.name LIMIT 20", [f"%{low}%", q])
    for name, ident, role in rows:
        hits.append(Hit("party", name, f"/search?party={quote(ident)}", f"{role} {ident}"))
    # One row per target, first reason wins.
    unique: dict[str, Hit] = {}
    for h in hits:
        unique.setdefault(h.href, h)
    return list(unique.values())[:limit]


_DL = "https://id.gs1.org"


def _party_glns(conn: Connection) -> list[str]:
    """13-digit GLNs of every registered party identifier that is a PGLN or SGLN."""
    glns = []
    for (ident,) in conn.fetchall("SELECT DISTINCT identifier FROM party_identifiers"):
        key = canonical(ident)
        for ai in ("/417/", "/414/"):
            if key.startswith(_DL + ai):
                glns.append(key[len(_DL + ai):len(_DL + ai) + 13])
    return glns


def units_at(conn: Connection, session: Session, *, place_key: str | None = None,
             party: str | None = None, limit: int = 200) -> list[Hit]:
    """Shipments the viewer may see that passed a place or involve a party."""
    from corridor.demo.geography import PLACE_BY_KEY

    vis_sql, vis_params = visibility_clause(session.viewer)
    if place_key is not None:
        place = PLACE_BY_KEY.get(place_key)
        if place is None:
            return []
        key = canonical(place.sgln)
        at, at_params = place_match("e", "biz_location", [key])
        seen, seen_params = place_match("e", "read_point", [key])
        cond, params = f"({at} OR {seen})", [*at_params, *seen_params]
    elif party is not None:
        cond = ("(e.party = ? OR EXISTS (SELECT 1 FROM event_parties p WHERE p.event_pk = e.id"
                " AND p.value = ?))")
        params = [party, canonical(party)]
    else:
        return []
    rows = conn.fetchall(
        "SELECT x.epc, MAX(e.event_time) FROM events e JOIN event_epcs x ON x.event_pk = e.id"
        f" WHERE x.role IN ('epc', 'parent') AND x.epc LIKE ? AND {cond} AND ({vis_sql})"
        " GROUP BY x.epc ORDER BY 2 DESC LIMIT ?",
        [data.SSCC_PREFIX + "%", *params, *vis_params, limit])
    return [Hit("shipment", epc, f"/shipment/{data.unit_ref(epc)}", f"last seen {t[:16]}Z")
            for epc, t in rows]


# ---------------------------------------------------------------- sensor chart


def sensor_chart(temps: list[data.SensorPoint], hums: list[data.SensorPoint],
                 shocks: list[data.SensorPoint]) -> str:
    """A small inline SVG: temperature and humidity lines, shock peaks as bars."""
    from html import escape

    everything = temps + hums + shocks
    if not everything:
        return ""
    w, h, pad = 640, 180, 28
    t0 = min(p.time for p in everything).timestamp()
    t1 = max(p.time for p in everything).timestamp()
    span = max(t1 - t0, 1.0)

    def x(p: data.SensorPoint) -> float:
        return round(pad + (p.time.timestamp() - t0) / span * (w - 2 * pad), 1)

    def y(v: float, lo: float, hi: float) -> float:
        return round(h - pad - (v - lo) / max(hi - lo, 1e-9) * (h - 2 * pad), 1)

    parts = [(f'<svg class="sensor-chart" viewBox="0 0 {w} {h}" role="img" '
             'aria-label="Sensor readings" xmlns="http://www.w3.org/2000/svg">'),
             f'<line class="axis" x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}"/>']
    for p in shocks:
        top = y(min(p.value, 60.0), 0, 60)
        cls = "shock alarm" if p.alarm else "shock"
        parts.append(f'<line class="{cls}" x1="{x(p)}" y1="{h - pad}" x2="{x(p)}" y2="{top}">'
                     f'<title>{escape(f"shock {p.value} {p.uom}")}</title></line>')
    for series, cls, lo, hi in ((temps, "temp", -10.0, 40.0), (hums, "hum", 0.0, 100.0)):
        if series:
            pts = " ".join(f"{x(p)},{y(p.value, lo, hi)}" for p in series)
            parts.append(f'<polyline class="{cls}" points="{pts}"/>')
            for p in series:
                parts.append(f'<circle class="{cls}" cx="{x(p)}" cy="{y(p.value, lo, hi)}" '
                             f'r="2.5"><title>{escape(f"{p.value} {p.uom}")}</title></circle>')
    parts.append(f'<text x="{pad}" y="14" class="legend temp">temperature \u00b0C</text>'
                 f'<text x="{pad + 150}" y="14" class="legend hum">humidity %</text>'
                 f'<text x="{pad + 270}" y="14" class="legend shock">shock m/s\u00b2</text>')
    parts.append("</svg>")
    return "".join(parts)
