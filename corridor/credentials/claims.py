"""What a credential claims, computed from logged events alone (no SQL, no HTTP).

GreenMetalCredential: a lot's carbon intensity, in tCO2e per tonne of metal, within a stated
boundary (corridor/credentials/data/green_metal_classes.yml), from the ILMD of the events that
produced it (TransformationEvents with the lot in their outputQuantityList, or ObjectEvents ADD
with it in their quantityList), per batch:

- `cor:cnCode`: the lot's CN code (data/cn_codes.yml says which headings may be certified);
- `cor:electricityKWh` (or Energy sensor reports of the event): electricity used;
- `cor:electricitySource`: [{`cor:source`, `cor:share`}], shares adding up to 1, each source
  one of data/electricity_factors.yml (IPCC AR5 life-cycle medians);
- `cor:directEmissions`: [{`cor:source`, `cor:co2eKg`}]: the plant's process emissions;
- `cor:upstreamEmissions`: [{`cor:source`, `cor:co2eKg`}]: the inputs' footprint (needed when
  the boundary is cradle-to-gate).

The net mass is the lot's quantity in the producing events (KGM or TNE). Intensity =
(direct + electricity [+ upstream]) / net tonnes; each class of the lot's material is met when
the rounded intensity at the class's boundary is at most its threshold.

OriginCredential: see corridor.credentials.genealogy.

A claim the events do not support is refused (ClaimRefused) with every missing figure or event
named. `recompute` / `recompute_pairs` compute an issued credential's claim again from supplied
events and list each difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml

from corridor.credentials.genealogy import OriginConfig, origin_claim, stated_countries
from corridor.credentials.logged import (
    THOUSAND,
    Claim,
    ClaimRefused,
    LoggedEvent,
    checked_namespaces,
    differences,
    expand,
    in_log_order,
    mass_kg,
    number,
    out,
    place_of,
    rounded,
    same_item,
)
from corridor.credentials.logged import field as ext
from corridor.epcis.cbv import normalise
from corridor.ledger.entry import LogEntry
from corridor.ledger.entry_document import entry_document

__all__ = ["Claim", "ClaimRefused", "GreenMetalConfig", "LoggedEvent", "green_metal_claim",
           "green_metal_config", "origin_claim", "recompute", "recompute_pairs"]

GREEN, ORIGIN = "GreenMetalCredential", "OriginCredential"
LOT_NUMBER = "urn:epcglobal:cbv:mda:lotNumber"
SHARE_TOLERANCE = Decimal("0.001")
# Energy sensor report units (UN/CEFACT Recommendation 20) in kWh.
ENERGY_UNITS = {"WHR": Decimal("0.001"), "KWH": Decimal(1), "MWH": Decimal(1000),
                "GWH": Decimal(1000000)}


@dataclass(frozen=True)
class MetalClass:
    id: str
    label: str
    boundary: str
    max: Decimal  # tCO2e per tonne
    basis: str
    cn_prefixes: tuple[str, ...] = ()
    below: bool = False  # met only strictly below `max` (else at most `max`)

    def met(self, value: Decimal) -> bool:
        return value < self.max if self.below else value <= self.max


@dataclass(frozen=True)
class Material:
    name: str
    method: str
    classes: tuple[MetalClass, ...]


@dataclass(frozen=True)
class GreenMetalConfig:
    factors: Mapping[str, Decimal]  # gCO2e per kWh, by electricity source
    factor_source: str
    headings: Mapping[str, tuple[str, str]]  # CN heading -> (material, text)
    materials: Mapping[str, Material]
    boundaries: Mapping[str, tuple[str, ...]]
    boundary: str  # the boundary claims state


def _data(name: str) -> Any:
    text = resources.files("corridor.credentials").joinpath(f"data/{name}").read_text(
        encoding="utf-8")
    return yaml.safe_load(text)


@cache
def green_metal_config(boundary: str | None = None) -> GreenMetalConfig:
    """The configuration of data/*.yml; `boundary` overrides the default boundary."""
    factors, cn, classes = (_data("electricity_factors.yml"), _data("cn_codes.yml"),
                            _data("green_metal_classes.yml"))
    materials = {
        name: Material(name, str(m["method"]), tuple(
            MetalClass(str(c["id"]), str(c["label"]), str(c["boundary"]),
                       Decimal(str(c["max"])), " ".join(str(c["basis"]).split()),
                       tuple(str(p) for p in c.get("cn_prefixes") or ()),
                       bool(c.get("below", False)))
            for c in m["classes"]))
        for name, m in classes["materials"].items()}
    boundaries = {str(k): tuple(v) for k, v in classes["boundaries"].items()}
    chosen = boundary or str(classes["default_boundary"])
    if chosen not in boundaries:
        raise ClaimRefused(f"boundary {chosen!r} is not one of {', '.join(boundaries)}")
    return GreenMetalConfig(
        {str(k): Decimal(str(v)) for k, v in factors["factors"].items()},
        str(factors["source"]),
        {str(k): (str(v["material"]), str(v["text"])) for k, v in cn["headings"].items()},
        materials, boundaries, chosen)


@dataclass
class _Batch:
    event: LoggedEvent
    mass_kg: Decimal
    cn: str
    lot_number: str | None
    kwh: Decimal
    shares: dict[str, Decimal]
    direct: dict[str, Decimal]  # kgCO2e by source
    upstream: dict[str, Decimal] = field(default_factory=dict)


def _produces(event: LoggedEvent, lot: str) -> bool:
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
                 cfg: GreenMetalConfig, where: str,
                 missing: list[str]) -> tuple[Decimal, dict[str, Decimal]]:
    kwh = number(ext(ilmd, "electricityKWh", ns))
    if kwh is None:
        kwh = _sensor_kwh(event.event)
    if kwh is None or kwh < 0:
        missing.append(f"{where}: ILMD lacks cor:electricityKWh, a number >= 0 (and no "
                       "Energy sensor report gives it)")
    shares = _by_source(ilmd, "electricitySource", "share", ns, where, missing)
    for source in shares:
        if source not in cfg.factors:
            missing.append(f"{where}: electricity source {source!r} has no emission factor "
                           f"(known: {', '.join(cfg.factors)})")
    if shares and abs(sum(shares.values()) - 1) > SHARE_TOLERANCE:
        missing.append(f"{where}: cor:electricitySource shares add up to "
                       f"{sum(shares.values())}, not 1")
    return kwh or Decimal(0), shares


def _batch(event: LoggedEvent, lot: str, cfg: GreenMetalConfig) -> _Batch:
    """One producing event's figures; ClaimRefused naming all that is missing."""
    ns = checked_namespaces(event)
    ev, where, missing = event.event, f"event {event.hash_id}", []
    listed = "outputQuantityList" if ev.get("type") == "TransformationEvent" else "quantityList"
    kg, problem = mass_kg(ev.get(listed), lot)
    if kg is None:
        missing.append(f"{where}: no net mass of lot {lot} in its {listed}"
                       + (f": {problem}" if problem else ""))
    ilmd = ev.get("ilmd")
    if not isinstance(ilmd, Mapping):
        raise ClaimRefused(*missing, f"{where}: no ILMD (the batch's production figures)")
    cn = ext(ilmd, "cnCode", ns)
    if not isinstance(cn, str) or not cn.strip():
        missing.append(f"{where}: ILMD lacks cor:cnCode")
    elif cn.strip()[:4] not in cfg.headings:
        # Goods no GreenMetalCredential certifies: no figure would make the claim.
        known = ", ".join(f"{h} {t}" for h, (_, t) in cfg.headings.items())
        raise ClaimRefused(f"lot {lot}: CN code {cn.strip()} is not under a heading a "
                           f"GreenMetalCredential certifies ({known})")
    kwh, shares = _electricity(ilmd, event, ns, cfg, where, missing)
    direct = _by_source(ilmd, "directEmissions", "co2eKg", ns, where, missing)
    upstream: dict[str, Decimal] = {}
    if "upstream" in cfg.boundaries[cfg.boundary]:
        upstream = _by_source(ilmd, "upstreamEmissions", "co2eKg", ns, where, missing)
    if missing:
        raise ClaimRefused(*missing)
    lot_number = next((v for k, v in ilmd.items()
                       if expand(k, ns) == LOT_NUMBER and isinstance(v, str)), None)
    assert kg is not None and isinstance(cn, str)
    return _Batch(event, kg, cn.strip(), lot_number, kwh, shares, direct, upstream)


def _material(lot: str, batches: Sequence[_Batch], cfg: GreenMetalConfig
              ) -> tuple[str, Material]:
    codes = sorted({b.cn for b in batches})
    if len(codes) > 1:
        raise ClaimRefused(f"lot {lot}: its production events give different CN codes "
                           f"({', '.join(codes)})")
    heading = cfg.headings[codes[0][:4]]
    return codes[0], cfg.materials[heading[0]]


def _sum(parts: Sequence[Mapping[str, Decimal]]) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for part in parts:
        for key, value in part.items():
            total[key] = total.get(key, Decimal(0)) + value
    return total


def _listed(amounts: Mapping[str, Decimal]) -> list[dict[str, Any]]:
    return [{"source": s, "co2e": out(v / THOUSAND)}
            for s, v in sorted(amounts.items(), key=lambda kv: (-kv[1], kv[0]))]


def green_metal_claim(lot: str, events: Sequence[LoggedEvent], *,
                      config: GreenMetalConfig | None = None) -> Claim:
    """The GreenMetalCredential claim of `lot` (an LGTIN class) from its logged events."""
    cfg = config or green_metal_config()
    producing = in_log_order(e for e in events if _produces(e, lot))
    if not producing:
        raise ClaimRefused(f"lot {lot}: no TransformationEvent (nor ObjectEvent ADD with "
                            "ILMD) produced it")
    batches: list[_Batch] = []
    missing: list[str] = []
    for event in producing:
        try:
            batches.append(_batch(event, lot, cfg))
        except ClaimRefused as exc:
            missing += exc.missing
    if missing:
        raise ClaimRefused(*missing)
    cn, material = _material(lot, batches, cfg)
    tonnes = sum((b.mass_kg for b in batches), Decimal(0)) / THOUSAND
    if tonnes <= 0:
        raise ClaimRefused(f"lot {lot}: its production events give a net mass of 0")
    subject = _green_subject(lot, cn, material, batches, tonnes, cfg)
    return Claim(GREEN, subject, producing)


def _green_subject(lot: str, cn: str, material: Material, batches: Sequence[_Batch],
                   tonnes: Decimal, cfg: GreenMetalConfig) -> dict[str, Any]:
    kwh = sum((b.kwh for b in batches), Decimal(0))
    by_source = _sum([{s: b.kwh * share for s, share in b.shares.items()} for b in batches])
    direct, upstream = _sum([b.direct for b in batches]), _sum([b.upstream for b in batches])
    parts = {"direct": sum(direct.values(), Decimal(0)) / THOUSAND,
             "electricity": sum((k * cfg.factors[s] for s, k in by_source.items()),
                                Decimal(0)) / Decimal(1000000),
             "upstream": sum(upstream.values(), Decimal(0)) / THOUSAND}
    included = cfg.boundaries[cfg.boundary]

    def intensity(boundary: str) -> Decimal:
        return sum((parts[p] for p in cfg.boundaries[boundary]), Decimal(0)) / tonnes

    classes = [{"classId": c.id, "label": c.label, "boundary": c.boundary,
                "threshold": out(c.max), "comparison": "below" if c.below else "at-most",
                "carbonIntensity": out(intensity(c.boundary)),
                "met": c.met(rounded(intensity(c.boundary))), "basis": c.basis}
               for c in material.classes
               if (not c.cn_prefixes or cn.startswith(c.cn_prefixes))
               and set(cfg.boundaries[c.boundary]) <= set(included)]
    lot_numbers = sorted({b.lot_number for b in batches if b.lot_number})
    subject: dict[str, Any] = {"id": lot, "type": "MetalLot", "cnCode": cn,
                               "material": material.name}
    if len(lot_numbers) == 1:
        subject["lotNumber"] = lot_numbers[0]
    subject.update({
        "producedAt": sorted({p for b in batches if (p := place_of(b.event.event))}),
        "netMass": out(tonnes), "massUnit": "t",
        "boundary": cfg.boundary, "boundaryIncludes": list(included),
        "method": material.method,
        "electricityKWh": out(kwh),
        "electricitySources": [
            {"source": s, "share": out(k / kwh if kwh else Decimal(0)), "kWh": out(k),
             "emissionFactor": out(cfg.factors[s])}
            for s, k in sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0]))],
        "emissionFactorUnit": "gCO2e/kWh", "emissionFactorSource": cfg.factor_source,
        "directEmissions": out(parts["direct"]), "directEmissionSources": _listed(direct),
        "electricityEmissions": out(parts["electricity"]),
    })
    if "upstream" in included:
        subject["upstreamEmissions"] = out(parts["upstream"])
        subject["upstreamEmissionSources"] = _listed(upstream)
    subject.update({
        "totalEmissions": out(sum((parts[p] for p in included), Decimal(0))),
        "emissionsUnit": "tCO2e",
        "carbonIntensity": out(intensity(cfg.boundary)), "carbonIntensityUnit": "tCO2e/t",
        "classes": classes,
        "classesMet": [c["classId"] for c in classes if c["met"]],
    })
    return subject


# -- recomputing an issued credential ---------------------------------------------------------

def _kind(credential: Mapping[str, Any]) -> str | None:
    types = credential.get("type")
    types = types if isinstance(types, list) else [types]
    return next((t for t in types if t in (GREEN, ORIGIN)), None)


def recompute(credential: Mapping[str, Any], events: Sequence[LoggedEvent], *,
              config: GreenMetalConfig | None = None,
              origin_config: OriginConfig | None = None) -> list[str]:
    """Every difference between an issued credential's claim and the claim computed again
    from `events` (its evidence events); an empty list when they match.

    Green metal: computed with the boundary the credential states and this node's (or the
    given) configuration. Origin: offline, the countries of the transformations' places are
    taken from the credential itself (the certifier attests the site countries); the walk,
    masses, shares and the rule are computed again."""
    subject = credential.get("credentialSubject")
    kind = _kind(credential)
    if not isinstance(subject, Mapping) or not isinstance(subject.get("id"), str):
        return ["/credentialSubject: no subject with an id (the lot)"]
    try:
        if kind == GREEN:
            boundary = subject.get("boundary")
            cfg = config or green_metal_config(boundary if isinstance(boundary, str) else None)
            claim = green_metal_claim(str(subject["id"]), events, config=cfg)
        elif kind == ORIGIN:
            countries = stated_countries(subject)
            by_item = _mentions(events)
            rule = subject.get("originRule")
            claim = origin_claim(str(subject["id"]), by_item, country_of=countries,
                                 config=origin_config,
                                 rule=rule if isinstance(rule, str) else None)
        else:
            return [f"/type: not a {GREEN} or {ORIGIN}"]
    except ClaimRefused as exc:
        return [f"/credentialSubject: the supplied events do not support the claim: {exc}"]
    return (differences(dict(subject), claim.subject, "/credentialSubject")
            + _evidence_differences(credential.get("evidence"), claim.evidence))


def _mentions(events: Sequence[LoggedEvent]):
    """fetch() over supplied events: those naming an EPC or EPC class anywhere."""
    def fetch(item: str) -> list[LoggedEvent]:
        return [e for e in events if _names(e.event, item)]
    return fetch


def _names(value: Any, item: str) -> bool:
    if isinstance(value, Mapping):
        return any(_names(v, item) for v in value.values())
    if isinstance(value, list):
        return any(_names(v, item) for v in value)
    return same_item(value, item)


def _evidence_differences(stated: Any, needed: Sequence[LoggedEvent]) -> list[str]:
    entries = [e for e in stated if isinstance(e, Mapping)] if isinstance(stated, list) else []
    ids = [e.get("id") for e in entries]
    found = [f"/evidence: lacks event {e.hash_id}, which the claim rests on"
             for e in needed if e.hash_id not in ids]
    wanted = {e.hash_id for e in needed}
    found += [f"/evidence/{k}: event {i} is not one the claim rests on"
              for k, i in enumerate(ids) if i not in wanted]
    return found


def recompute_pairs(credential: Mapping[str, Any],
                    pairs: Sequence[tuple[LogEntry, Mapping[str, Any]]]) -> list[str]:
    """`recompute` for corridor.credentials.verify: each evidence entry (from its log
    receipt) with the supplied event whose document it is. The log index of each comes from
    the credential's evidence, the capturing party from the entry (the log holds it)."""
    evidence = credential.get("evidence")
    index = {e.get("id"): e.get("logIndex") for e in evidence or ()
             if isinstance(e, Mapping)} if isinstance(evidence, list) else {}
    events, problems = [], []
    for entry, event in pairs:
        position = index.get(entry.event_hash_id)
        if not isinstance(position, int) or isinstance(position, bool):
            problems.append(f"/evidence: event {entry.event_hash_id} has no logIndex")
            continue
        form = entry_document(event, entry)
        document = form.document if form is not None else dict(event)
        events.append(LoggedEvent(entry.event_hash_id, position, document,
                                  party=entry.party))
    return problems or recompute(credential, events)
