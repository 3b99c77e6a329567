"""An installation's communication to its importers: per product (CN code) made in a reporting
period, the production route, the aggregated goods category and the specific embedded
emissions (SEE, direct and indirect), computed from the installation's logged production
events by corridor.emissions (batch.read_batch, cbam.specific_embedded_emissions). Pure: the
caller (corridor.cbam.service) reads the events as its viewer and hands them in.

The legal content of the communication is the operator's summary emissions report of
Implementing Regulation (EU) 2025/2547 Annex IV point 1.2 (cbam_rules.yml,
operator_summary_report); the Commission's Excel template names its sheet
"Summary_Communication" (docs/cbam-sources.md section 7). What this gives of it: the
installation (point 2: name, UN/LOCODE, its identifier), the operator (point 1(a)), the
production processes and their goods (point 3) and per good its specific direct embedded
emissions (point 4(a)) and, reported for information, its indirect ones. Precursors (points
12-16) are not counted: the demo's primary aluminium and ferro-alloys have none logged.

A reporting period is a calendar year ("2026") or a quarter ("2026-Q1"); an event is in it by
its local date (its eventTime with its own offset).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from corridor.emissions.batch import BatchEmissions, data_file, read_batch
from corridor.emissions.cbam import SpecificEmbeddedEmissions, in_scope, specific_embedded_emissions
from corridor.emissions.cbam_data import CbamError
from corridor.emissions.events import (
    FiguresMissing,
    LoggedEvent,
    checked_namespaces,
    field,
    rounded,
)

PERIOD = re.compile(r"([0-9]{4})(?:-Q([1-4]))?")
QUARTER_START = {1: 1, 2: 4, 3: 7, 4: 10}


class PeriodError(ValueError):
    """A reporting period that is not YYYY or YYYY-Qn."""


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # inclusive

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def parse_period(text: str) -> Period:
    """"2026" (the calendar year) or "2026-Q1" (a quarter); PeriodError otherwise."""
    m = PERIOD.fullmatch(text) if isinstance(text, str) else None
    if m is None or not 2000 <= int(m[1]) <= 2100:
        raise PeriodError(f"period {text!r}: give a year (2026) or a quarter (2026-Q1) "
                          "between 2000 and 2100")
    year = int(m[1])
    if m[2] is None:
        return Period(m[1], date(year, 1, 1), date(year, 12, 31))
    q = int(m[2])
    first = date(year, QUARTER_START[q], 1)
    after = date(year + 1, 1, 1) if q == 4 else date(year, QUARTER_START[q + 1], 1)
    return Period(f"{year}-Q{q}", first, date.fromordinal(after.toordinal() - 1))


@dataclass(frozen=True)
class Site:
    """The installation as the node knows it."""
    id: str  # its SGLN, as given
    name: str
    locode: str
    country: str
    operator: str | None  # the operator's party identifier
    operator_name: str | None


@dataclass(frozen=True)
class Product:
    cn: str
    name: str  # the CN code's description in cbam_goods.yml
    category: str | None
    route: str
    see: SpecificEmbeddedEmissions
    lots: tuple[str, ...]


@dataclass(frozen=True)
class Communication:
    installation: Site
    period: Period
    products: tuple[Product, ...]
    not_counted: tuple[str, ...]  # production events or lots left out, each with why
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return communication_json(self)


def local_date(event: Mapping[str, Any]) -> date | None:
    stamp = event.get("eventTime")
    try:
        return datetime.fromisoformat(stamp).date() if isinstance(stamp, str) else None
    except ValueError:
        return None


def outputs(event: Mapping[str, Any]) -> list[str]:
    """The lots a producing event made: a TransformationEvent's outputs, an ObjectEvent
    ADD's quantityList when it carries ILMD."""
    if event.get("type") == "TransformationEvent":
        entries = event.get("outputQuantityList")
    elif event.get("type") == "ObjectEvent" and event.get("action") == "ADD" \
            and isinstance(event.get("ilmd"), Mapping):
        entries = event.get("quantityList")
    else:
        return []
    return list(dict.fromkeys(q["epcClass"] for q in entries or []
                              if isinstance(q, Mapping) and isinstance(q.get("epcClass"), str)))


@cache
def _routes() -> dict[str, tuple[str, ...]]:
    raw = data_file("cbam_goods.yml")["aggregated_goods_categories"]
    return {str(k): tuple(v.get("routes") or ()) for k, v in raw.items()
            if isinstance(v, Mapping) and "name" in v}


def _route(batches: Sequence[BatchEmissions], category_key: str | None) -> str:
    """The production route the events log (ILMD cor:productionRoute), else the category's
    only route, else what is known."""
    logged = []
    for b in batches:
        ilmd = b.event.event.get("ilmd")
        value = field(ilmd, "productionRoute", checked_namespaces(b.event))
        if isinstance(value, str) and value.strip():
            logged.append(value.strip())
    if logged:
        return "; ".join(dict.fromkeys(logged))
    routes = _routes().get(category_key or "", ())
    if len(routes) == 1:
        return routes[0]
    if routes:
        return "not logged (cor:productionRoute); IR 2025/2547 routes: " + "; ".join(routes)
    return "not logged (cor:productionRoute)"


def _batches(events: Sequence[LoggedEvent], period: Period
             ) -> tuple[dict[str, list[BatchEmissions]], list[str]]:
    by_cn: dict[str, list[BatchEmissions]] = {}
    left_out: list[str] = []
    for event in events:
        if local_date(event.event) not in period:
            continue
        for lot in outputs(event.event):
            try:
                batch = read_batch(event, lot)
                scope = in_scope(batch.cn)
            except (FiguresMissing, CbamError) as exc:
                left_out.append(f"{lot}: {exc}")
                continue
            if not scope.in_scope:
                left_out.append(f"{lot} (event {event.hash_id}): CN {batch.cn} is not a CBAM "
                                f"good ({scope.reason})")
                continue
            by_cn.setdefault(scope.cn, []).append(batch)
    return by_cn, left_out


def communication(site: Site, period: Period, events: Sequence[LoggedEvent]) -> Communication:
    """The communication of `site` for `period` from its production events (`events`, those
    outside the period are skipped)."""
    by_cn, left_out = _batches(events, period)
    products = []
    for cn in sorted(by_cn):
        batches = by_cn[cn]
        try:
            see = specific_embedded_emissions(batches)
        except CbamError as exc:
            left_out.append(f"CN {cn}: {exc}")
            continue
        good = in_scope(cn).good
        products.append(Product(cn, good.description if good else f"CN {cn}", see.category,
                                _route(batches, good.category if good else None), see,
                                tuple(b.lot_number or "" for b in batches)))
    notes = (
        ("SEE direct = the installation's attributed direct emissions over the activity "
         "level (Regulation 2023/956 Annex IV); no precursor is counted"),
        ("SEE indirect = electricity x emission factor, reported for information: aluminium "
         "and the ferro-alloys in scope are Annex II goods (Article 7(1))"),
        ("Columns follow the operator's summary emissions report of IR 2025/2547 Annex IV "
         "point 1.2 (items 1(a), 2(a)-(c), 3, 4(a)); the full column list of the Commission's "
         "Summary_Communication template was not read (docs/cbam-sources.md section 7)"),
    )
    return Communication(site, period, tuple(products), tuple(left_out), notes)


def _fig(value: Any, places: int) -> str:
    return str(rounded(value, places))


def product_json(p: Product) -> dict[str, Any]:
    s = p.see
    return {"cnCode": p.cn, "productName": p.name, "aggregatedGoodsCategory": p.category,
            "productionRoute": p.route, "activityLevel": _fig(s.activity_level, 3),
            "directEmissions": _fig(s.attributed_direct, 3),
            "indirectEmissions": _fig(s.attributed_indirect, 3),
            "seeDirect": _fig(s.direct, 6), "seeIndirect": _fig(s.indirect, 6),
            "indirectCharged": s.indirect_charged, "basis": s.basis,
            "batches": len(p.lots), "evidence": list(s.evidence), "notes": list(s.notes)}


def communication_json(c: Communication) -> dict[str, Any]:
    """Figures as decimal strings: t and tCO2e to 3 places, SEE (tCO2e/t) to 6."""
    i = c.installation
    return {
        "installation": {"id": i.id, "name": i.name, "unLocode": i.locode,
                         "country": i.country, "operator": i.operator,
                         "operatorName": i.operator_name},
        "period": {"label": c.period.label, "start": c.period.start.isoformat(),
                   "end": c.period.end.isoformat()},
        "massUnit": "t", "emissionsUnit": "tCO2e", "seeUnit": "tCO2e/t",
        "products": [product_json(p) for p in c.products],
        "notCounted": list(c.not_counted), "notes": list(c.notes),
    }
