"""A batch's emissions, read from the logged event that produced it (no SQL, no HTTP).

The one emissions model the green-metal credentials (corridor.credentials.claims) and CBAM
(corridor.emissions.cbam) share. A producing event is a TransformationEvent with the lot in
its outputQuantityList, or an ObjectEvent ADD with ILMD and the lot in its quantityList; its
ILMD gives:

- `cor:cnCode`: the batch's CN code;
- `cor:electricityKWh` (or Energy sensor reports of the event): electricity used;
- `cor:electricitySource`: [{`cor:source`, `cor:share`}], shares adding up to 1, each source
  one of data/electricity_factors.yml (IPCC AR5 life-cycle medians);
- `cor:directEmissions`: [{`cor:source`, `cor:co2eKg`}]: the plant's process emissions;
- `cor:upstreamEmissions`: [{`cor:source`, `cor:co2eKg`}]: the inputs' footprint (read when
  asked for).

The net mass is the lot's quantity in the event (KGM or TNE). Whatever is missing or wrong is
named, all at once (FiguresMissing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml

from corridor.emissions.events import (
    THOUSAND,
    FiguresMissing,
    LoggedEvent,
    checked_namespaces,
    expand,
    mass_kg,
    number,
    same_item,
)
from corridor.emissions.events import field as ext
from corridor.epcis.cbv import normalise

LOT_NUMBER = "urn:epcglobal:cbv:mda:lotNumber"
SHARE_TOLERANCE = Decimal("0.001")
MILLION = Decimal(1000000)
# Energy sensor report units (UN/CEFACT Recommendation 20) in kWh.
ENERGY_UNITS = {"WHR": Decimal("0.001"), "KWH": Decimal(1), "MWH": Decimal(1000),
                "GWH": Decimal(1000000)}


@dataclass(frozen=True)
class ElectricityFactors:
    factors: Mapping[str, Decimal]  # gCO2e per kWh, by electricity source
    source: str


def data_file(name: str) -> Any:
    """One of corridor/emissions/data/*.yml, parsed."""
    text = resources.files("corridor.emissions").joinpath(f"data/{name}").read_text(
        encoding="utf-8")
    return yaml.safe_load(text)


@cache
def electricity_factors() -> ElectricityFactors:
    data = data_file("electricity_factors.yml")
    return ElectricityFactors({str(k): Decimal(str(v)) for k, v in data["factors"].items()},
                              str(data["source"]))


@dataclass
class BatchEmissions:
    """One producing event's figures: emissions in kgCO2e by source, electricity in kWh."""
    event: LoggedEvent
    mass_kg: Decimal
    cn: str
    lot_number: str | None
    kwh: Decimal
    shares: dict[str, Decimal]
    direct: dict[str, Decimal]  # kgCO2e by source
    upstream: dict[str, Decimal] = field(default_factory=dict)

    @property
    def tonnes(self) -> Decimal:
        return self.mass_kg / THOUSAND

    def kwh_by_source(self) -> dict[str, Decimal]:
        return {s: self.kwh * share for s, share in self.shares.items()}


@dataclass(frozen=True)
class EmissionTotals:
    """Several batches' figures added up: emissions in tCO2e, electricity in kWh."""
    kwh: Decimal
    kwh_by_source: dict[str, Decimal]
    direct_by_source: dict[str, Decimal]  # kgCO2e
    upstream_by_source: dict[str, Decimal]  # kgCO2e
    direct: Decimal
    electricity: Decimal
    upstream: Decimal


def summed(parts: Sequence[Mapping[str, Decimal]]) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for part in parts:
        for key, value in part.items():
            total[key] = total.get(key, Decimal(0)) + value
    return total


def totals(batches: Sequence[BatchEmissions], factors: ElectricityFactors) -> EmissionTotals:
    """The batches' emissions: direct and upstream as logged, electricity as kWh by source
    times that source's factor."""
    by_source = summed([b.kwh_by_source() for b in batches])
    direct, upstream = summed([b.direct for b in batches]), summed([b.upstream for b in batches])
    return EmissionTotals(
        sum((b.kwh for b in batches), Decimal(0)), by_source, direct, upstream,
        sum(direct.values(), Decimal(0)) / THOUSAND,
        sum((k * factors.factors[s] for s, k in by_source.items()), Decimal(0)) / MILLION,
        sum(upstream.values(), Decimal(0)) / THOUSAND)


def produces(event: LoggedEvent, lot: str) -> bool:
    """Whether `event` produced `lot` (see the module's note)."""
    ev = event.event
    if ev.get("type") == "TransformationEvent":
        entries = ev.get("outputQuantityList")
    elif ev.get("type") == "ObjectEvent" and ev.get("action") == "ADD" \
            and isinstance(ev.get("ilmd"), Mapping):
        entries = ev.get("quantityList")
    else:
        return False
    return isinstance(entries, list) and any(
        isinstance(q, Mapping) and same_item(q.get("epcClass"), lot) for q in entries)


def _entries(value: Any) -> list[Any]:
    # One element of a list may come back as an object from an XML capture.
    return value if isinstance(value, list) else [value] if isinstance(value, Mapping) else []


def _by_source(ilmd: Mapping[str, Any], name: str, amount: str, ns: Mapping[str, str],
               where: str, missing: list[str]) -> dict[str, Decimal]:
    """cor:<name> entries [{cor:source, cor:<amount>}] summed by source."""
    value = ext(ilmd, name, ns)
    found: dict[str, Decimal] = {}
    if value is None:
        missing.append(f"{where}: ILMD lacks cor:{name}")
        return found
    entries = _entries(value)
    if not entries:
        missing.append(f"{where}: cor:{name} is empty")
    for k, entry in enumerate(entries):
        source, figure = ext(entry, "source", ns), number(ext(entry, amount, ns))
        if not isinstance(source, str) or not source:
            missing.append(f"{where}: cor:{name} entry {k} lacks cor:source")
        elif figure is None or figure < 0:
            missing.append(f"{where}: cor:{name} entry {k} ({source}) lacks a cor:{amount}"
                           " that is a number >= 0")
        else:
            found[source] = found.get(source, Decimal(0)) + figure
    return found


def _sensor_kwh(event: Mapping[str, Any]) -> Decimal | None:
    """Energy reported by the event's Energy sensor reports, in kWh (None: no such report)."""
    total: Decimal | None = None
    for element in _entries(event.get("sensorElementList")):
        for report in _entries(element.get("sensorReport") if isinstance(element, Mapping)
                               else None):
            if not isinstance(report, Mapping):
                continue
            kind = normalise("measurementType", str(report.get("type", "")))
            unit = ENERGY_UNITS.get(str(report.get("uom")))
            value = number(report.get("value"))
            if kind.removeprefix("MT-") == "Energy" and unit is not None and value is not None:
                total = (total or Decimal(0)) + value * unit
    return total


def _electricity(ilmd: Mapping[str, Any], event: LoggedEvent, ns: Mapping[str, str],
                 factors: ElectricityFactors, where: str,
                 missing: list[str]) -> tuple[Decimal, dict[str, Decimal]]:
    kwh = number(ext(ilmd, "electricityKWh", ns))
    if kwh is None:
        kwh = _sensor_kwh(event.event)
    if kwh is None or kwh < 0:
        missing.append(f"{where}: ILMD lacks cor:electricityKWh, a number >= 0 (and no "
                       "Energy sensor report gives it)")
    shares = _by_source(ilmd, "electricitySource", "share", ns, where, missing)
    for source in shares:
        if source not in factors.factors:
            missing.append(f"{where}: electricity source {source!r} has no emission factor "
                           f"(known: {', '.join(factors.factors)})")
    if shares and abs(sum(shares.values()) - 1) > SHARE_TOLERANCE:
        missing.append(f"{where}: cor:electricitySource shares add up to "
                       f"{sum(shares.values())}, not 1")
    return kwh or Decimal(0), shares


def read_batch(event: LoggedEvent, lot: str, *, factors: ElectricityFactors | None = None,
               upstream: bool = False,
               check_cn: Callable[[str], None] | None = None) -> BatchEmissions:
    """The figures `event` gives for `lot`; FiguresMissing naming all that is missing.

    `upstream`: read cor:upstreamEmissions too (and require them). `check_cn`: called with
    the CN code once read, before the rest; it raises to stop reading a good its caller does
    not deal with."""
    factors = factors or electricity_factors()
    ns = checked_namespaces(event)
    ev, where, missing = event.event, f"event {event.hash_id}", []
    listed = "outputQuantityList" if ev.get("type") == "TransformationEvent" else "quantityList"
    kg, problem = mass_kg(ev.get(listed), lot)
    if kg is None:
        missing.append(f"{where}: no net mass of lot {lot} in its {listed}"
                       + (f": {problem}" if problem else ""))
    ilmd = ev.get("ilmd")
    if not isinstance(ilmd, Mapping):
        raise FiguresMissing(*missing, f"{where}: no ILMD (the batch's production figures)")
    cn = ext(ilmd, "cnCode", ns)
    if not isinstance(cn, str) or not cn.strip():
        missing.append(f"{where}: ILMD lacks cor:cnCode")
    elif check_cn is not None:
        check_cn(cn.strip())
    kwh, shares = _electricity(ilmd, event, ns, factors, where, missing)
    direct = _by_source(ilmd, "directEmissions", "co2eKg", ns, where, missing)
    found: dict[str, Decimal] = {}
    if upstream:
        found = _by_source(ilmd, "upstreamEmissions", "co2eKg", ns, where, missing)
    if missing:
        raise FiguresMissing(*missing)
    lot_number = next((v for k, v in ilmd.items()
                       if expand(k, ns) == LOT_NUMBER and isinstance(v, str)), None)
    assert kg is not None and isinstance(cn, str)
    return BatchEmissions(event, kg, cn.strip(), lot_number, kwh, shares, direct, found)
