"""The corridor page (/corridor?from=&to=) and its CSV (/corridor.csv?from=&to=): legs, dwell
and flow as corridor.monitoring.legs figures them, with server-rendered SVG charts (transit
time per leg as a small histogram, dwell per node, legs departed per week).

Who sees what: a signed-in party sees the corridor's figures (over every unit, as the API
gives them) and the units over p90 now whose current place it may read, linked to their
shipment pages. The public gets what the overview gives it: the places, no figure and no
unit; the CSV is a 404 for it."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from corridor.monitoring.eta import EtaService
from corridor.monitoring.forecast import Forecast
from corridor.monitoring.legs import (
    Figures,
    Statistics,
    Week,
    corridor_legs,
    names_of,
    parse_day,
    visible_overdue,
)
from corridor.query.dashboard import corridor
from corridor.query.places import stored_places
from corridor.query.visible_set import readable_among
from corridor.store.db import Connection
from corridor.store.notices import list_notices
from corridor.web.data import unit_ref
from corridor.web.geo_map import render_map
from corridor.web.session import Session

OVERDUE_SHOWN = 100  # rows of the units over p90; the rest are counted
CSV_HEADER = ("kind", "origin", "origin_name", "destination", "destination_name", "count",
              "p50_hours", "p90_hours")


def page_dates(raw_from: str, raw_to: str,
               ) -> tuple[datetime | None, datetime | None, list[str]]:
    """?from= and ?to= as days; what is wrong with them (the filter left out then)."""
    found: list[datetime | None] = []
    errors = []
    for name, raw in (("from", raw_from), ("to", raw_to)):
        try:
            found.append(parse_day(raw) if raw else None)
        except ValueError as exc:
            found.append(None)
            errors.append(f"{name}: {exc}")
    start, end = found
    if start is not None and end is not None and end <= start:
        errors.append("to: must be after from")
        end = None
    return start, end, errors


def histogram(f: Figures, width: int = 180, height: int = 36) -> Markup:
    """A leg's transit hours in bars (Figures.bins) from its fastest to its slowest."""
    hours, counts = f.hours, f.bins
    if not counts:
        return Markup("")
    low, high = hours[0], hours[-1]
    top = max(counts)
    bar = width / len(counts)
    rects = "".join(
        f'<rect x="{i * bar:.1f}" y="{height - c / top * height:.1f}" width="{bar - 1:.1f}" '
        f'height="{c / top * height:.1f}"><title>{c}</title></rect>'
        for i, c in enumerate(counts) if c)
    title = escape(f"{len(hours)} legs, {low:.0f} h to {high:.0f} h")
    return Markup(f'<svg class="chart histogram" width="{width}" height="{height}" '
                  f'viewBox="0 0 {width} {height}" role="img" aria-label="{title}">'
                  f'<title>{title}</title>{rects}</svg>')


def dwell_chart(nodes: Sequence[tuple[str, Figures]], width: int = 560) -> Markup:
    """Per node, a bar to the p50 stay and a thinner one on to the p90, in days."""
    if not nodes:
        return Markup("")
    row, label = 22, 180
    scale = max((f.p90 or 0.0) for _, f in nodes) or 1.0
    room = width - label - 70
    parts = []
    for i, (name, f) in enumerate(nodes):
        y = i * row
        p50, p90 = (f.p50 or 0.0) / scale * room, (f.p90 or 0.0) / scale * room
        parts.append(
            f'<text x="0" y="{y + 15}">{escape(name[:28])}</text>'
            f'<rect class="p90" x="{label}" y="{y + 8}" width="{p90:.1f}" height="6"/>'
            f'<rect class="p50" x="{label}" y="{y + 4}" width="{p50:.1f}" height="14"/>'
            f'<text x="{label + p90 + 6:.1f}" y="{y + 15}">{(f.p50 or 0) / 24:.1f} / '
            f'{(f.p90 or 0) / 24:.1f} d</text>')
    height = row * len(nodes)
    return Markup(f'<svg class="chart dwell" id="dwell-chart" width="{width}" height="{height}" '
                  f'viewBox="0 0 {width} {height}" role="img" aria-label="Stay per node, p50 '
                  f'and p90 in days">{"".join(parts)}</svg>')


def volume_chart(weeks: Sequence[Week], width: int = 560, height: int = 120) -> Markup:
    """Legs departed per ISO week."""
    if not weeks:
        return Markup("")
    top = max(w.count for w in weeks)
    bar = width / len(weeks)
    body = height - 16
    parts = []
    for i, w in enumerate(weeks):
        h = w.count / top * body
        parts.append(f'<rect x="{i * bar:.1f}" y="{body - h:.1f}" width="{max(bar - 1, 1):.1f}"'
                     f' height="{h:.1f}" data-week="{w.week}"><title>{w.week}: {w.count} legs'
                     f'</title></rect>')
    ends = (f'<text x="0" y="{height - 2}">{weeks[0].week}</text>'
            f'<text x="{width}" y="{height - 2}" text-anchor="end">{weeks[-1].week}</text>')
    return Markup(f'<svg class="chart volume" id="volume-chart" width="{width}" '
                  f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
                  f'aria-label="Legs departed per week">{"".join(parts)}{ends}</svg>')


def shipment_href(unit: str) -> str:
    return f"/shipment/{quote(unit_ref(unit), safe=':/')}"


def _query(raw_from: str, raw_to: str) -> str:
    pairs = [(k, v) for k, v in (("from", raw_from), ("to", raw_to)) if v]
    return "&".join(f"{k}={quote(v)}" for k, v in pairs)


def corridor_page(conn: Connection, session: Session, raw_from: str, raw_to: str,
                  cache_key: str | None = None) -> dict[str, Any]:
    """The context of the corridor page."""
    places = stored_places(conn)
    found = corridor_legs(conn, cache_key)
    now = found.samples.now  # the corridor's "now": its newest event that places a unit
    notices = [s.notice for s in list_notices(conn, at=now)] if now is not None else []
    map_svg, _ = render_map([], corridor(conn, cache_key), link_units=False,
                            notices=notices, at=now)
    ctx: dict[str, Any] = {"raw_from": raw_from, "raw_to": raw_to, "places": places,
                           "stats": None, "csv_href": "/corridor.csv?" + _query(raw_from, raw_to),
                           "map_svg": map_svg, "notices": notices, "as_of": now,
                           "place_name": None}
    if session.public:
        return ctx
    start, end, errors = page_dates(raw_from, raw_to)
    stats = found.statistics(start, end)
    # How many units are over p90 on each leg and at each node: a corridor-wide count, like the
    # other figures; which units they are is /corridor/overdue, through the viewer's
    # visibility (a check per unit that the figures' page does not pay).
    over_legs = Counter((o.origin, o.destination) for o in found.overdue if o.where == "leg")
    over_nodes = Counter(o.origin for o in found.overdue if o.where == "node")
    names = names_of(found.places)

    def name(key: str) -> str:
        return names.get(key, key)

    ctx.update(
        stats=stats, errors=errors, place_name=name, as_of=found.samples.now,
        overdue_total=len(found.overdue), over_legs=over_legs, over_nodes=over_nodes,
        histogram=histogram, shipment_href=shipment_href,
        dwell_svg=dwell_chart([(name(k), f) for k, f in stats.nodes.items()]),
        volume_svg=volume_chart(stats.weeks))
    return ctx


FORECASTS_SHOWN = 50


def visible_forecasts(conn: Connection, session: Session, service: EtaService
                      ) -> tuple[list[Forecast], int]:
    """The forecasts of the units in transit the viewer may see (its newest event readable),
    soonest first, at most FORECASTS_SHOWN; and how many units are in transit in all."""
    every = service.in_transit(conn)
    shown: list[Forecast] = []
    for start in range(0, len(every), 256):
        batch = every[start:start + 256]
        ok = readable_among(conn, session.viewer, [pk for _, pk in batch])
        shown += [f for f, pk in batch if pk in ok]
        if len(shown) >= FORECASTS_SHOWN:
            break
    return shown[:FORECASTS_SHOWN], len(every)


def forecasts_page(conn: Connection, session: Session, service: EtaService) -> dict[str, Any]:
    """The context of /corridor/forecasts: the viewer's units in transit, soonest first."""
    shown, in_transit = visible_forecasts(conn, session, service)
    names = names_of(stored_places(conn))
    return {"forecasts": shown, "in_transit": in_transit, "shipment_href": shipment_href,
            "place_name": lambda key: names.get(key, key)}


def overdue_page(conn: Connection, session: Session, cache_key: str | None = None
                 ) -> dict[str, Any] | None:
    """The units over p90 now that the viewer may see, longest over first (None: public)."""
    if session.public:
        return None
    found = corridor_legs(conn, cache_key)
    overdue, more = visible_overdue(
        found, lambda pks: readable_among(conn, session.viewer, pks), OVERDUE_SHOWN)
    names = names_of(found.places)
    return {"overdue": overdue, "overdue_more": more, "overdue_total": len(found.overdue),
            "as_of": found.samples.now, "place_name": lambda key: names.get(key, key),
            "shipment_href": shipment_href}


def _h(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def corridor_csv(conn: Connection, raw_from: str, raw_to: str,
                 cache_key: str | None = None) -> str:
    """One row per leg and per node with its figures (the filter as the page reads it)."""
    start, end, _ = page_dates(raw_from, raw_to)
    found = corridor_legs(conn, cache_key)
    return stats_csv(found.statistics(start, end), names_of(found.places))


def stats_csv(stats: Statistics, names: dict[str, str] | Any) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for (o, d), f in stats.legs.items():
        w.writerow(("leg", o, names.get(o, o), d, names.get(d, d), f.count, _h(f.p50),
                    _h(f.p90)))
    for k, f in stats.nodes.items():
        w.writerow(("node", k, names.get(k, k), "", "", f.count, _h(f.p50), _h(f.p90)))
    return out.getvalue()
