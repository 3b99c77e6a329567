"""What a credential claims, computed from logged events alone (no SQL, no HTTP).

GreenMetalCredential: a lot's carbon intensity, in tCO2e per tonne of metal, within a stated
boundary (corridor/credentials/data/green_metal_classes.yml), from the ILMD of the events that
produced it (TransformationEvents with the lot in their outputQuantityList, or ObjectEvents ADD
with it in their quantityList), per batch:

read by corridor.emissions.batch (the emissions model CBAM uses too): the CN code
(data/cn_codes.yml says which headings may be certified), electricity and its sources
(factors in corridor/emissions/data/electricity_factors.yml), direct emissions, and upstream
emissions (needed when the boundary is cradle-to-gate).

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
from dataclasses import dataclass
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
    differences,
    in_log_order,
    out,
    place_of,
    rounded,
    same_item,
)
from corridor.emissions.batch import (
    BatchEmissions,
    ElectricityFactors,
    electricity_factors,
    produces,
    read_batch,
    totals,
)
from corridor.emissions.events import FiguresMissing
from corridor.ledger.entry import LogEntry
from corridor.ledger.entry_document import entry_document

__all__ = ["Claim", "ClaimRefused", "GreenMetalConfig", "LoggedEvent", "green_metal_claim",
           "green_metal_config", "origin_claim", "recompute", "recompute_pairs"]

GREEN, ORIGIN = "GreenMetalCredential", "OriginCredential"


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
    factors = electricity_factors()
    cn, classes = _data("cn_codes.yml"), _data("green_metal_classes.yml")
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
        factors.factors, factors.source,
        {str(k): (str(v["material"]), str(v["text"])) for k, v in cn["headings"].items()},
        materials, boundaries, chosen)


def _batch(event: LoggedEvent, lot: str, cfg: GreenMetalConfig) -> BatchEmissions:
    """One producing event's figures; ClaimRefused naming all that is missing."""
    def certified(cn: str) -> None:
        if cn[:4] not in cfg.headings:
            # Goods no GreenMetalCredential certifies: no figure would make the claim.
            known = ", ".join(f"{h} {t}" for h, (_, t) in cfg.headings.items())
            raise ClaimRefused(f"lot {lot}: CN code {cn} is not under a heading a "
                               f"GreenMetalCredential certifies ({known})")

    try:
        return read_batch(event, lot, factors=ElectricityFactors(cfg.factors, cfg.factor_source),
                          upstream="upstream" in cfg.boundaries[cfg.boundary],
                          check_cn=certified)
    except FiguresMissing as exc:
        raise ClaimRefused(*exc.missing) from None


def _material(lot: str, batches: Sequence[BatchEmissions], cfg: GreenMetalConfig
              ) -> tuple[str, Material]:
    codes = sorted({b.cn for b in batches})
    if len(codes) > 1:
        raise ClaimRefused(f"lot {lot}: its production events give different CN codes "
                           f"({', '.join(codes)})")
    heading = cfg.headings[codes[0][:4]]
    return codes[0], cfg.materials[heading[0]]


def _listed(amounts: Mapping[str, Decimal]) -> list[dict[str, Any]]:
    return [{"source": s, "co2e": out(v / THOUSAND)}
            for s, v in sorted(amounts.items(), key=lambda kv: (-kv[1], kv[0]))]


def green_metal_claim(lot: str, events: Sequence[LoggedEvent], *,
                      config: GreenMetalConfig | None = None) -> Claim:
    """The GreenMetalCredential claim of `lot` (an LGTIN class) from its logged events."""
    cfg = config or green_metal_config()
    producing = in_log_order(e for e in events if produces(e, lot))
    if not producing:
        raise ClaimRefused(f"lot {lot}: no TransformationEvent (nor ObjectEvent ADD with "
                            "ILMD) produced it")
    batches: list[BatchEmissions] = []
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


def _green_subject(lot: str, cn: str, material: Material, batches: Sequence[BatchEmissions],
                   tonnes: Decimal, cfg: GreenMetalConfig) -> dict[str, Any]:
    sums = totals(batches, ElectricityFactors(cfg.factors, cfg.factor_source))
    kwh, by_source = sums.kwh, sums.kwh_by_source
    direct, upstream = sums.direct_by_source, sums.upstream_by_source
    parts = {"direct": sums.direct, "electricity": sums.electricity,
             "upstream": sums.upstream}
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
