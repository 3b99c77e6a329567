"""Page data for the dashboard: plain functions (connection, session, ...) -> template context.
They run in a worker thread; routes.py only wires them to HTTP."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from corridor.cbam import CredentialCheck
from corridor.epcis.documents import EpcisDocument, to_xml
from corridor.epcis.identifiers import SSCC_KEY_PREFIX, canonical
from corridor.fx.model import HOME_BANK
from corridor.fx.ticker import TickerRow, ticker
from corridor.fx.valuation import Valuation, value
from corridor.query import log_view
from corridor.query import search as found
from corridor.query.custody import last_seen, named_ids, where_views_end
from corridor.query.dashboard import corridor, overview
from corridor.query.events_view import stored_document
from corridor.query.params import QueryError
from corridor.query.parties import PartyNames, party_names
from corridor.query.place_view import visits
from corridor.query.places import Places, stored_places
from corridor.query.run import known_namespaces
from corridor.store.db import Connection
from corridor.store.fx_store import effective_dates
from corridor.store.notices import list_notices
from corridor.web import cbam_page, certificates, data, labels
from corridor.web.geo_map import render_map
from corridor.web.sensor_chart import sensor_chart
from corridor.web.session import Session

WHERE_VIEWS_END_SHOWN = 50  # rows of the overview's "where your view ends" table

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
    return [CheckpointView(c.size, base64.b64encode(c.root).decode(), c.note, c.witnessed,
                           c.created_at, _cosigners(c.note, origin))
            for c in log_view.latest_checkpoints(conn, limit)]


def log_status(conn: Connection, info: dict[str, Any], limit: int = 1) -> dict[str, Any]:
    history = checkpoints(conn, info.get("origin", ""), limit)
    return {"tree_size": log_view.tree_size(conn), "latest": history[0] if history else None,
            "history": history, "info": info}


# ---------------------------------------------------------------- pages


def ticker_rows(conn: Connection) -> list[TickerRow]:
    try:
        return ticker(conn)
    except (LookupError, ValueError, ArithmeticError):  # no usable rate: no strip row
        return []


def overview_page(conn: Connection, session: Session, info: dict[str, Any],
                  cache_key: str | None = None) -> dict[str, Any]:
    ctx: dict[str, Any] = {"ticker": ticker_rows(conn), "log": log_status(conn, info)}
    if session.public:
        svg, stats = render_map([], corridor(conn, cache_key), link_units=False)
        ctx.update(map_svg=svg, map_stats=stats, ov=None, view_ends=[])
        return ctx
    ov = overview(conn, session.viewer, cache_key=cache_key)
    names = party_names(conn)
    # the port notices in force when the view stands (its newest event), marked on their nodes
    notices = [s.notice for s in list_notices(conn, at=ov.as_of)] if ov.as_of else []
    svg, stats = render_map(ov.positions, ov.corridor, notices=notices, at=ov.as_of)
    ctx.update(map_svg=svg, map_stats=stats, ov=ov, names=names,
               view_ends=where_views_end(conn, ov.parts[:WHERE_VIEWS_END_SHOWN], names,
                                         ov.corridor.places))
    return ctx


@dataclass
class ValuationView:
    valuation: Valuation
    note: str  # why the rate is not the invoice date's, or ""


def _valuations(conn: Connection, amount: str, currency: str, on: date) -> list[ValuationView]:
    """The invoice in KZT (and USD or EUR) at the official rate in force on the invoice date:
    the latest published on or before it. When none was recorded in the days just before, at
    the latest earlier recorded NBK date, saying so; never at a rate published after the date
    (no valuation at all then, and the page says so)."""
    out = []
    earlier: list[date] | None = None  # the KZT bank's dates up to `on`, read when needed
    for target in ("KZT", "USD" if currency != "USD" else "EUR"):
        try:
            out.append(ValuationView(value(conn, Decimal(amount), currency, target, on), ""))
            continue
        except (LookupError, ValueError, ArithmeticError):
            pass
        if earlier is None:
            earlier = [d for d in effective_dates(conn, HOME_BANK["KZT"]) if d <= on]
        if not earlier:
            continue
        latest = earlier[-1]
        try:
            v = value(conn, Decimal(amount), currency, target, latest)
        except (LookupError, ValueError, ArithmeticError):
            continue
        out.append(ValuationView(v, f"no rate recorded in the days before {on.isoformat()}: "
                                    f"latest earlier recorded date {latest.isoformat()}"))
    return out


def shipment_page(conn: Connection, session: Session, ref: str,
                  cache_key: str | None = None) -> dict[str, Any] | None:
    known = corridor(conn, cache_key)
    try:
        ship = data.shipment(conn, session.viewer, data.epc_key(ref), known)
    except QueryError:  # not an identifier at all (e.g. a malformed pattern URN)
        return None
    if ship is None:
        return None
    names = party_names(conn)
    _view_ends(conn, session, ship, names, known.places)
    valuations: list[Any] = []
    if ship.invoice:
        amount, currency, event = ship.invoice
        valuations = _valuations(conn, amount, currency, event.time.date())
    return {"ship": ship, "valuations": valuations, "dl": canonical(ship.epc), "names": names,
            "chart": sensor_chart(ship.sensors)}


def _view_ends(conn: Connection, session: Session, ship: data.Shipment, names: PartyNames,
               places: Places) -> None:
    """Where the viewer's view of the unit ends, when it sees only part of its route
    (corridor.query.custody): set on the shipment, whose status it becomes."""
    moves = [e for e in ship.events if e.biz_step != "sensor_reporting"]
    if not moves:
        return
    named = named_ids(conn, session.viewer, among=[moves[-1].pk])
    if named is not None and moves[-1].pk not in named:
        ship.last_seen = last_seen(ship.events, names, places)


def lot_page(conn: Connection, session: Session, ref: str, cache_key: str | None = None, *,
             check: CredentialCheck | None = None) -> dict[str, Any] | None:
    known = corridor(conn, cache_key)
    try:
        lot = data.lot(conn, session.viewer, data.epc_key(ref), known.places)
    except QueryError:
        return None
    if lot is None:
        return None
    names = party_names(conn)
    shipments = []
    for container in lot.containers:
        ship = data.shipment(conn, session.viewer, canonical(container), known)
        if ship is not None:
            _view_ends(conn, session, ship, names, known.places)
            shipments.append(ship)
    ilmd = lot.commissioned.doc.get("ilmd") if lot.commissioned else None
    attributes = labels.master_data(ilmd, known_namespaces(conn)) \
        if isinstance(ilmd, dict) else []
    listed = certificates.lot_credentials(conn, lot.epc_class)
    subjects = [str(c.subject["id"]) for c in listed if c.kind == "GreenMetalCredential"
                and isinstance(c.subject.get("id"), str)]
    return {"lot": lot, "shipments": shipments, "dl": canonical(lot.epc_class), "names": names,
            "attributes": attributes, "credentials": listed,
            "cbam": cbam_page.lot_cbam(conn, list(dict.fromkeys(subjects)) or [lot.epc_class],
                                       ilmd, check, first_seen=_first_seen(lot),
                                       shipped=[e.doc for s in shipments for e in s.events
                                                if e.biz_step == "shipping"])}


def _first_seen(lot: data.Lot) -> tuple[str, str] | None:
    """(place name, country) of the lot's earliest visible event at a place with a country."""
    placed = [e for e in lot.events if e.place is not None and e.place.country]
    first = min(placed, key=lambda e: e.time, default=None)
    return (first.place.name, first.place.country) if first and first.place else None


def event_page(conn: Connection, session: Session, index: int,
               info: dict[str, Any]) -> dict[str, Any] | None:
    """The event at a log index, when the viewer may read it; None otherwise (the page then
    shows the public log entry only)."""
    ev = data.event_by_log_index(conn, session.viewer, index, stored_places(conn))
    if ev is None:
        return None
    stored = stored_document(conn, ev.pk) or json.dumps(ev.doc)
    namespaces = known_namespaces(conn)
    return {
        "ev": ev, "stored_doc": stored, "names": party_names(conn),
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
    """The event in EPCIS 2.0 XML (corridor.epcis's writer); a note instead when it cannot
    convert."""
    try:
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
    viewer = session.viewer
    key = data.epc_key(q)

    def epc_hits(keys: list[str]) -> None:
        seen = set()
        for epc, role in found.epc_roles(conn, viewer, keys, limit):
            if epc in seen:
                continue
            seen.add(epc)
            if epc.startswith(SSCC_KEY_PREFIX):
                hits.append(Hit("shipment", epc, f"/shipment/{data.unit_ref(epc)}",
                                "logistic unit (SSCC)"))
            elif "/10/" in epc:
                hits.append(Hit("lot", epc, f"/lot/{quote(epc, safe=':/')}", "lot (LGTIN)"))
            else:
                hits.append(Hit("epc", epc, f"/search?q={quote(epc)}", role))

    epc_hits([key])
    if not hits and "/" not in q and ":" not in q:
        # A lot number on its own: the end of an LGTIN key.
        epc_hits(found.lots_numbered(conn, q)[:limit])
    # Business transactions (bill of lading, invoice, order...): by full URN, or by the
    # document number under any party's GLN (urn:epcglobal:cbv:bt:<GLN>:<number>).
    candidates = [q, *(f"urn:epcglobal:cbv:bt:{gln}:{q}" for gln in found.party_glns(conn))]
    for path, sval, log_index, epc in found.transactions(conn, viewer, candidates, limit):
        kind = path.split(":", 1)[1]
        if epc and epc.startswith(SSCC_KEY_PREFIX):
            hits.append(Hit("shipment", epc, f"/shipment/{data.unit_ref(epc)}",
                            f"{kind} {sval}"))
        elif log_index is not None:
            hits.append(Hit("event", sval, f"/event/{log_index}", kind))
    low = q.lower()
    for place in stored_places(conn):
        if low in place.name.lower() or low == place.locode.lower() or key == place.location:
            hits.append(Hit("place", place.name, f"/place/{quote(place.key, safe=':/')}",
                            f"{place.locode} {place.sgln}"))
    for name, ident, role in found.parties_matching(conn, q):
        hits.append(Hit("party", name, f"/search?party={quote(ident)}", f"{role} {ident}"))
    # One row per target, first reason wins.
    unique: dict[str, Hit] = {}
    for h in hits:
        unique.setdefault(h.href, h)
    return list(unique.values())[:limit]


def search_labels(conn: Connection, *, place_key: str | None = None,
                  party: str | None = None) -> dict[str, str]:
    """The names of the place and party a search is for, where known."""
    out = {}
    if place_key is not None and (place := stored_places(conn).by_key.get(place_key)):
        out["place"] = place.name
    if party is not None and (name := party_names(conn).name(party)):
        out["party"] = name
    return out


def units_at(conn: Connection, session: Session, *, place_key: str | None = None,
             party: str | None = None, limit: int = 200) -> list[Hit]:
    """Shipments the viewer may see that passed a place or involve a party."""
    if place_key is not None:
        place = stored_places(conn).by_key.get(place_key)
        if place is None:
            return []
        rows = found.units_last_seen(conn, session.viewer, location=place.location, limit=limit)
    elif party is not None:
        rows = found.units_last_seen(conn, session.viewer, party=party, limit=limit)
    else:
        return []
    return [Hit("shipment", epc, f"/shipment/{data.unit_ref(epc)}", f"last seen {t[:16]}Z")
            for epc, t in rows]


# ---------------------------------------------------------------- places


def place_page(conn: Connection, session: Session, key: str,
               cache_key: str | None = None) -> dict[str, Any] | None:
    """A place's facts (public master data) and, for a party, the units it may see there."""
    known = corridor(conn, cache_key)
    place = known.places.by_key.get(key)
    if place is None:
        return None
    typical = known.typical
    legs = [(known.places.by_key[b], days) for (a, b), days in typical.leg_days.items()
            if a == place.key and b in known.places.by_key]
    found = [] if session.public else visits(
        conn, session.viewer, place, known.places, typical, party_names(conn),
        cache_key=cache_key)
    return {"place": place, "visits": found, "dwell": typical.dwell_days.get(place.key),
            "legs": legs}
