"""How the demo's lots are made, as EPCIS TransformationEvents.

Each order's lot is commissioned by a TransformationEvent at its plant (bizStep
commissioning): inputs the plant's lots of raw material (alumina and anodes at the Pavlodar
smelter, ore and coke at the Aktobe ferro-alloy plant), output the metal lot, and an ILMD with
the lot's master data and the batch's production figures (corridor/demo/data/production.yml):
electricity used and its sources, direct process emissions, the inputs' upstream footprint.
The Aktobe furnaces report their electricity as an Energy sensor report of the meter instead.

The buyer, Metalli Padani near Brescia, melts each ferro-chromium lot once all its containers
are in, with steel scrap, into a lot of cast wear parts under its own GS1 prefix: a second
TransformationEvent, whose genealogy an OriginCredential follows back to Kazakhstan.

Figures are drawn from the order's own random stream (`seed/g/production`), apart from the
stream that draws the shipments, so adding them changed no shipment.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.demo.geography import PLACE_BY_KEY, Place, event_time

DATA_FILE = Path(__file__).resolve().parent / "data" / "production.yml"


@dataclass(frozen=True)
class Made:
    """A production event and who captures it when."""
    party: str  # slug of the capturing actor
    when: datetime  # UTC
    event: dict[str, Any]


def _made(party: str, when: datetime, place: Place, body: dict[str, Any]) -> Made:
    stamp, tz = event_time(place, when)
    return Made(party, when, {"type": "TransformationEvent", "eventTime": stamp,
                              "eventTimeZoneOffset": tz, **body})


@cache
def _data() -> dict[str, Any]:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def _draw(rng: random.Random, bounds: list[float]) -> float:
    return rng.uniform(float(bounds[0]), float(bounds[1]))


def _profile(rng: random.Random, profiles: list[dict[str, Any]]) -> dict[str, Any]:
    roll, total = rng.random(), 0.0
    for profile in profiles:
        total += float(profile["weight"])
        if roll < total:
            return profile
    return profiles[-1]


def _utc(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _kg(value: float) -> int:
    return int(Decimal(str(value)).quantize(Decimal(1)))


def _quantity(epc_class: str, kg: int) -> dict[str, Any]:
    return {"epcClass": epc_class, "quantity": kg, "uom": "KGM"}


def _emissions(amounts: dict[str, int]) -> list[dict[str, Any]]:
    return [{"cor:source": source, "cor:co2eKg": kg} for source, kg in amounts.items()]


def lot_production(seed: int, g: int, *, shipper: str, product: str, cn: str, lot: str,
                   lot_number: str, lot_kg: int, made: datetime, key: str | None = None
                   ) -> Made:
    """The TransformationEvent that made order `g`'s lot (`product`: a key of
    production.yml's metals, the scenario's product code). `key` names a lot outside the
    numbered orders: it stands for `g` in the random stream and the input lots' numbers."""
    spec = _data()["metals"][product]
    rng = random.Random(f"{seed}/{key if key else g}/production")
    actor, place = ACTOR_BY_SLUG[shipper], PLACE_BY_KEY["pavlodar" if shipper == "smelter"
                                                         else "aktobe"]
    tonnes = lot_kg / 1000
    profile = _profile(rng, spec["profiles"])
    kwh = _kg(_draw(rng, spec["electricity_kwh_per_t"]) * tonnes)
    inputs: dict[str, tuple[str, int]] = {}
    for item in spec["inputs"]:
        number = f"{item['lot_prefix']}26-{key if key else f'{g + 1:04d}'}"
        inputs[item["name"]] = (f"urn:epc:class:lgtin:{actor.prefix}.{item['item_ref']}.{number}",
                                _kg(_draw(rng, item["kg_per_t"]) * tonnes))
    direct = {name: _kg(inputs[rule["input"]][1] * float(rule["kg_co2_per_kg"])
                        - float(spec["direct"].get("kept_in_alloy_kg_per_t", 0)) * tonnes)
              for name, rule in spec["direct"]["from_inputs"].items()}
    if "pfc_kg_per_t" in profile:
        direct["pfc"] = _kg(_draw(rng, profile["pfc_kg_per_t"]) * tonnes)
    upstream = {name: _kg(inputs[name][1] * _draw(rng, bounds))
                for name, bounds in profile["upstream_kg_per_kg"].items()}
    ilmd: dict[str, Any] = {
        "cbvmda:countryOfOrigin": "KZ", "cbvmda:lotNumber": lot_number, "cor:cnCode": cn,
        "cor:electricitySource": [{"cor:source": s, "cor:share": share}
                                  for s, share in profile["sources"].items()],
        "cor:directEmissions": _emissions(direct),
        "cor:upstreamEmissions": _emissions(upstream),
    }
    body: dict[str, Any] = {
        "inputQuantityList": [_quantity(c, kg) for c, kg in inputs.values()],
        "outputQuantityList": [_quantity(lot, lot_kg)],
        "bizStep": "commissioning", "disposition": "active",
        "readPoint": {"id": place.sgln}, "bizLocation": {"id": place.sgln},
    }
    if spec.get("metered"):
        # The furnace's energy meter over the campaign that made the lot.
        start = made - timedelta(hours=max(12.0, tonnes / 2.5))
        body["sensorElementList"] = [{
            "sensorMetadata": {"deviceID": f"urn:epc:id:giai:{actor.prefix}.MTR{g % 4 + 1:03d}",
                               "startTime": _utc(start), "endTime": _utc(made)},
            "sensorReport": [{"type": "Energy", "value": kwh, "uom": "KWH"}],
        }]
    else:
        ilmd["cor:electricityKWh"] = kwh
    body["ilmd"] = ilmd
    return _made(shipper, made, place, body)


def parts_production(seed: int, g: int, fecr_lot: str,
                     received: list[tuple[int, datetime | None]]) -> Made | None:
    """The buyer's melt of a ferro-chromium lot into cast parts, once every container of the
    lot is unpacked at Brescia (`received`: kg received and unpacking time of each); None
    while one is still on its way."""
    if not received or any(at is None for _, at in received):
        return None
    spec = _data()["parts"]
    rng = random.Random(f"{seed}/{g}/parts")
    buyer, place = ACTOR_BY_SLUG["buyer"], PLACE_BY_KEY["brescia"]
    fecr_kg = sum(kg for kg, _ in received)
    share = _draw(rng, spec["fecr_share_of_charge"])
    scrap_kg = _kg(fecr_kg * (1 - share) / share)
    out_kg = _kg((fecr_kg + scrap_kg) * _draw(rng, spec["yield"]))
    lot_number = f"{spec['lot_prefix']}26-{g + 1:04d}"
    parts = f"urn:epc:class:lgtin:{buyer.prefix}.{spec['item_ref']}.{lot_number}"
    scrap = (f"urn:epc:class:lgtin:{buyer.prefix}.{spec['scrap']['item_ref']}."
             f"{spec['scrap']['lot_prefix']}26-{g + 1:04d}")
    last = max(at for _, at in received if at is not None)
    when = (last + timedelta(days=_draw(rng, spec["days_after_delivery"]))).replace(
        second=0, microsecond=0)
    return _made("buyer", when, place, {
        "inputQuantityList": [_quantity(fecr_lot, fecr_kg), _quantity(scrap, scrap_kg)],
        "outputQuantityList": [_quantity(parts, out_kg)],
        "bizStep": "commissioning", "disposition": "active",
        "readPoint": {"id": place.sgln}, "bizLocation": {"id": place.sgln},
        "ilmd": {"cbvmda:countryOfOrigin": "IT", "cbvmda:lotNumber": lot_number,
                 "cor:cnCode": spec["cn"]},
    })
