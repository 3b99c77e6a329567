"""Origin by genealogy: walk a lot's logged history back to raw material and apply an origin
rule (corridor/credentials/data/origin_rules.yml). Pure: events come from `fetch`, countries
from `country_of`; no SQL, no HTTP.

The walk goes from a lot (or unit) to the TransformationEvents that output it, from each to its
inputs (inputQuantityList masses; an inputEPCList unit weighs what its AggregationEvent ADD
packed in it, childQuantityList), and again, until items no logged event produced: raw
material. Each transformation gets the share of the lot's material that passed through it
(its input masses, proportionally, along every path). The contributing share of an item is
the part of its material that a transformation in the rule's contributing country made:
1 for an item made there, the mass-weighted share of its inputs for an item made elsewhere,
0 for raw material. The walk is bounded (max_depth, max_events): past them the claim is
refused, never cut short.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml

from corridor.credentials.logged import (
    THOUSAND,
    Claim,
    ClaimRefused,
    LoggedEvent,
    in_log_order,
    mass_kg,
    out,
    party_of,
    place_of,
    rounded,
    same_item,
)
from corridor.epcis.identifiers import canonical

ORIGIN = "OriginCredential"
Fetch = Callable[[str], Sequence[LoggedEvent]]
CountryOf = Callable[[str], str | None]


@dataclass(frozen=True)
class OriginRule:
    id: str
    statement: str
    final_country: str
    contributing_country: str
    min_share: Decimal
    basis: str


@dataclass(frozen=True)
class OriginConfig:
    rules: Mapping[str, OriginRule]
    default_rule: str
    max_depth: int
    max_events: int


@cache
def origin_config() -> OriginConfig:
    data = yaml.safe_load(resources.files("corridor.credentials").joinpath(
        "data/origin_rules.yml").read_text(encoding="utf-8"))
    rules = {str(k): OriginRule(str(k), str(r["statement"]), str(r["final_country"]),
                                str(r["contributing_country"]), Decimal(str(r["min_share"])),
                                " ".join(str(r["basis"]).split()))
             for k, r in data["rules"].items()}
    return OriginConfig(rules, str(data["default_rule"]), int(data["limits"]["max_depth"]),
                        int(data["limits"]["max_events"]))


@dataclass
class _Step:
    """One transformation met on the walk."""
    event: LoggedEvent
    place: str | None
    country: str | None
    inputs: list[tuple[str, Decimal]]
    outputs: list[tuple[str, Decimal | None]]
    share: Decimal = field(default=Decimal(0))


def _outputs(event: Mapping[str, Any], item: str) -> bool:
    """Whether `event` is a TransformationEvent that output `item`."""
    if event.get("type") != "TransformationEvent":
        return False
    epcs, classes = event.get("outputEPCList"), event.get("outputQuantityList")
    if isinstance(epcs, list) and any(same_item(e, item) for e in epcs):
        return True
    return isinstance(classes, list) and any(
        isinstance(q, Mapping) and same_item(q.get("epcClass"), item) for q in classes)


class _Walk:
    def __init__(self, lot: str, fetch: Fetch, country_of: CountryOf, cfg: OriginConfig,
                 rule: OriginRule) -> None:
        self.lot, self.fetch, self.country_of, self.cfg, self.rule = (
            lot, fetch, country_of, cfg, rule)
        self.cache: dict[str, list[LoggedEvent]] = {}
        self.read = 0
        self.visits = 0
        self.steps: dict[str, _Step] = {}
        self.evidence: dict[str, LoggedEvent] = {}
        self.missing: list[str] = []

    def refuse(self, why: str) -> ClaimRefused:
        return ClaimRefused(f"genealogy of lot {self.lot}: {why}")

    def events_of(self, item: str) -> list[LoggedEvent]:
        key = canonical(item)
        if key not in self.cache:
            found = list(self.fetch(item))
            self.read += len(found)
            if self.read > self.cfg.max_events:
                raise self.refuse(f"more than {self.cfg.max_events} events to read")
            self.cache[key] = found
        return self.cache[key]

    def producers(self, item: str) -> list[LoggedEvent]:
        return in_log_order(e for e in self.events_of(item) if _outputs(e.event, item))

    def contents(self, unit: str) -> list[tuple[str, Decimal]] | None:
        """What an AggregationEvent ADD packed in `unit` (childQuantityList masses), or None."""
        for event in self.events_of(unit):
            ev = event.event
            if ev.get("type") != "AggregationEvent" or ev.get("action") != "ADD" \
                    or not same_item(ev.get("parentID"), unit):
                continue
            packed = []
            for q in ev.get("childQuantityList") or ():
                kg, _ = mass_kg([q], str(q.get("epcClass"))) if isinstance(q, Mapping) \
                    else (None, None)
                if kg is not None:
                    packed.append((str(q["epcClass"]), kg))
            if packed:
                self.evidence[event.hash_id] = event
                return packed
        return None

    def material(self, item: str, share: Decimal, depth: int, path: tuple[str, ...]
                 ) -> Decimal:
        """The contributing share of `item`'s material; records the share of the lot's
        material (`share`) that each transformation behind it handled."""
        key = canonical(item)
        if key in path:
            raise self.refuse(f"a cycle through {item}")
        if depth > self.cfg.max_depth:
            raise self.refuse(f"more than {self.cfg.max_depth} steps back to raw material "
                              f"(at {item})")
        self.visits += 1
        if self.visits > 4 * self.cfg.max_events:
            raise self.refuse("too many paths to walk")
        producers = self.producers(item)
        if producers:
            masses = [self.output_mass(p, item) for p in producers]
            # Several batches made it: each stands for its part of the output (equal parts
            # when a batch's output mass is not given).
            weights = [m for m in masses if m] if all(masses) else [Decimal(1)] * len(masses)
            total = sum(weights, Decimal(0))
            return sum((w / total * self.transformation(p, share * w / total, depth,
                                                        (*path, key))
                        for p, w in zip(producers, weights, strict=True)), Decimal(0))
        packed = self.contents(item)
        if packed:
            total = sum(kg for _, kg in packed)
            return sum((kg / total * self.material(child, share * kg / total, depth + 1,
                                                   (*path, key))
                        for child, kg in packed), Decimal(0)) if total else Decimal(0)
        return Decimal(0)

    @staticmethod
    def output_mass(event: LoggedEvent, item: str) -> Decimal | None:
        kg, _ = mass_kg(event.event.get("outputQuantityList"), item)
        return kg

    def transformation(self, event: LoggedEvent, share: Decimal, depth: int,
                       path: tuple[str, ...]) -> Decimal:
        step = self.steps.get(event.hash_id) or self.step(event)
        step.share += share
        total = sum(kg for _, kg in step.inputs)
        behind = sum((kg / total * self.material(item, share * kg / total, depth + 1, path)
                      for item, kg in step.inputs), Decimal(0)) if total else Decimal(0)
        return Decimal(1) if step.country == self.rule.contributing_country else behind

    def step(self, event: LoggedEvent) -> _Step:
        ev, where = event.event, f"event {event.hash_id}"
        place = place_of(ev)
        country = self.country_of(place) if place else None
        if place is None:
            self.missing.append(f"{where}: no bizLocation or readPoint (where it took place)")
        elif not country:
            self.missing.append(f"{where}: no country known for its place {place}")
        inputs: list[tuple[str, Decimal]] = []
        for q in ev.get("inputQuantityList") or ():
            item = q.get("epcClass") if isinstance(q, Mapping) else None
            kg, problem = mass_kg([q], str(item)) if isinstance(item, str) else (None, None)
            if kg is None:
                self.missing.append(f"{where}: input {item}: "
                                    f"{problem or 'no class and mass'}")
            else:
                inputs.append((str(item), kg))
        for epc in ev.get("inputEPCList") or ():
            packed = self.contents(str(epc))
            if packed is None:
                self.missing.append(f"{where}: input {epc} has no known mass (no "
                                    "AggregationEvent ADD with its childQuantityList)")
            else:
                inputs.append((str(epc), sum((kg for _, kg in packed), Decimal(0))))
        outputs: list[tuple[str, Decimal | None]] = [
            (str(q["epcClass"]), mass_kg([q], str(q["epcClass"]))[0])
            for q in ev.get("outputQuantityList") or ()
            if isinstance(q, Mapping) and isinstance(q.get("epcClass"), str)]
        outputs += [(str(e), None) for e in ev.get("outputEPCList") or ()]
        step = self.steps[event.hash_id] = _Step(event, place, country, inputs, outputs)
        self.evidence[event.hash_id] = event
        return step


def _tonnes(kg: Decimal) -> int | float:
    return out(kg / THOUSAND)


def _step_subject(step: _Step) -> dict[str, Any]:
    ev = step.event.event
    shown: dict[str, Any] = {"event": step.event.hash_id}
    if isinstance(ev.get("eventTime"), str):
        shown["eventTime"] = ev["eventTime"]
    shown.update({"place": step.place, "country": step.country})
    party = party_of(step.event)
    if party:
        shown["party"] = party
    if isinstance(ev.get("bizStep"), str):
        shown["bizStep"] = ev["bizStep"]
    shown["inputs"] = [{"item": item, "mass": _tonnes(kg)} for item, kg in step.inputs]
    shown["outputs"] = [{"item": item, **({"mass": _tonnes(kg)} if kg is not None else {})}
                        for item, kg in step.outputs]
    shown["inputMass"] = _tonnes(sum((kg for _, kg in step.inputs), Decimal(0)))
    made = [kg for _, kg in step.outputs]
    if made and all(kg is not None for kg in made):
        shown["outputMass"] = _tonnes(sum((kg for kg in made if kg is not None), Decimal(0)))
    shown["shareOfMass"] = out(step.share)
    return shown


def origin_claim(lot: str, fetch: Fetch, *, country_of: CountryOf,
                 config: OriginConfig | None = None, rule: str | None = None) -> Claim:
    """The OriginCredential claim of `lot`: `fetch(item)` gives the logged events (visible
    to the issuer) that name an EPC or EPC class, `country_of(location)` a place's ISO 3166
    country. Refused (ClaimRefused) when the genealogy lacks an event, mass or country, or
    fails the rule, with what is missing named."""
    cfg = config or origin_config()
    chosen = cfg.rules.get(rule or cfg.default_rule)
    if chosen is None:
        raise ClaimRefused(f"origin rule {rule!r} is not one of {', '.join(cfg.rules)}")
    walk = _Walk(lot, fetch, country_of, cfg, chosen)
    producers = walk.producers(lot)
    if not producers:
        raise ClaimRefused(f"lot {lot}: no TransformationEvent produced it")
    share = rounded(walk.material(lot, Decimal(1), 0, ()))
    if walk.missing:
        raise ClaimRefused(*walk.missing)
    last = [walk.steps[p.hash_id] for p in producers]
    refused = [f"lot {lot}: its last transformation (event {s.event.hash_id} at {s.place}) "
               f"took place in {s.country}, not {chosen.final_country}"
               for s in last if s.country != chosen.final_country]
    if share < chosen.min_share:
        refused.append(f"lot {lot}: material transformed in {chosen.contributing_country} "
                       f"makes {share} of the input mass of its last transformation, less "
                       f"than the {chosen.min_share} the rule {chosen.id} asks")
    if refused:
        raise ClaimRefused(*refused)
    made = sum((walk.output_mass(p, lot) or Decimal(0) for p in producers), Decimal(0))
    subject: dict[str, Any] = {
        "id": lot, "type": "ProductLot",
        "originStatement": chosen.statement, "originRule": chosen.id,
        "ruleBasis": chosen.basis,
        "netMass": _tonnes(made), "massUnit": "t",
        "lastTransformationCountry": chosen.final_country,
        "contributingCountry": chosen.contributing_country,
        "contributingShare": out(share), "minimumShare": out(chosen.min_share),
        "transformations": [_step_subject(s) for s in sorted(
            walk.steps.values(), key=lambda s: (s.event.log_index, s.event.hash_id))],
    }
    return Claim(ORIGIN, subject, in_log_order(walk.evidence.values()))


def stated_countries(subject: Mapping[str, Any]) -> CountryOf:
    """country_of as an issued credential states it (the certifier attests each site's
    country): for recomputing an origin claim offline, without the node's master data."""
    known: dict[str, str] = {}
    for step in subject.get("transformations") or ():
        if isinstance(step, Mapping) and isinstance(step.get("place"), str) \
                and isinstance(step.get("country"), str):
            known[canonical(step["place"])] = step["country"]

    def country_of(location: str) -> str | None:
        return known.get(canonical(location))
    return country_of
