"""A deterministic scenario of Middle Corridor traffic as EPCIS 2.0 events.

Shipments come in orders of three containers of one lot. Order `g` draws everything it needs
from its own `random.Random(f"{seed}/{g}")`, so shipment `i` is the same whatever the number of
shipments asked for: a bigger demo extends a smaller one instead of replacing it.

Each container travels: plant -> rail -> Aktau or Kuryk -> Caspian ferry -> Alat or Baku ->
Azerbaijani and Georgian rail -> Poti or Batumi -> Black Sea -> Constanta -> Trieste or Genoa
-> the buyer's plant near Brescia (a second importer's order: corridor.demo.foundry). Events
are emitted only up to `AS_OF`, so the latest shipments are still on their way.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from corridor.demo.actors import ACTOR_BY_SLUG, PLACE_OPERATOR, Actor
from corridor.demo.geography import (
    PLACE_BY_KEY,
    PLACES,
    TYPICAL_DWELL_DAYS,
    TYPICAL_LEG_DAYS,
    Place,
    event_time,
    location_vocabulary,
)
from corridor.demo.production import lot_production, parts_production
from corridor.demo.sensors import logger_elements

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# Namespace of the demo's own extension fields (invoice value, CN code, hold reason).
COR_NS = "https://ns.corridor.example/epcis/"

WINDOW_START = datetime(2026, 1, 12, tzinfo=UTC)
WINDOW_DAYS = 128
AS_OF = datetime(2026, 5, 29, 12, 0, tzinfo=UTC)
CONTAINERS_PER_ORDER = 3
# A demo of at least this many shipments (ten orders) carries the second importer's order.
FOUNDRY_FROM = 30
# The demo's insurer covers every third container (corridor.demo.insurance); one heat
# excursion in every HEAT_BLOCK shipments falls on a covered one, so that its claim shows.
INSURED_EVERY, HEAT_BLOCK = 3, 100


@dataclass(frozen=True)
class Product:
    code: str  # short key
    name: str
    cn: str  # EU Combined Nomenclature code
    item_ref: str  # GTIN item reference with indicator digit (6 digits for a 7-digit prefix)
    usd_per_tonne: tuple[int, int]


PRODUCTS = {
    "al": Product("al", "Aluminium ingots, unalloyed (P1020A)", "76011000", "076011",
                  (2480, 2760)),
    "fecr": Product("fecr", "High-carbon ferro-chromium", "72024110", "072041", (1240, 1420)),
    "femn": Product("femn", "High-carbon ferro-manganese", "72021120", "072011", (930, 1120)),
}

# USD -> EUR used to price the EUR invoices (a contract rate, not a market quote).
CONTRACT_EUR_PER_USD = Decimal("0.9150")


@dataclass
class PlannedEvent:
    party: str  # slug of the capturing actor
    time: datetime  # UTC
    event: dict[str, Any]


@dataclass
class ShipmentPlan:
    number: int
    shipper: str
    product: Product
    lot: str  # LGTIN class URN
    lot_number: str
    container: str  # SSCC URN of the container load
    units: list[str]  # SSCC URNs of the bundles / big-bag pallets inside
    net_kg: int
    route: list[str]  # place keys in travel order
    invoice_amount: Decimal
    invoice_currency: str
    invoice_date: datetime
    invoice_id: str
    delayed_days: float = 0.0
    outcome: str = "conformant"  # conformant | damaged | mismatch_quantity
    has_logger: bool = False
    heat_excursion: bool = False  # the logger's first readings of the Caspian crossing > 40 CEL
    buyer: str = "buyer"  # slug of the importer the container is for
    events: list[PlannedEvent] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return any(e.event.get("bizStep") == "receiving" and e.party == self.buyer
                   for e in self.events)


@dataclass
class Scenario:
    shipments: list[ShipmentPlan]
    lot_events: list[PlannedEvent]
    others: list[ShipmentPlan] = field(default_factory=list)  # for other importers

    def all_events(self) -> list[PlannedEvent]:
        events = list(self.lot_events)
        for s in [*self.shipments, *self.others]:
            events.extend(s.events)
        events.sort(key=lambda e: (e.time, e.party))
        return events


def _bt(actor: Actor, kind: str, ident: str) -> dict[str, str]:
    return {"type": kind, "bizTransaction": f"urn:epcglobal:cbv:bt:{actor.gln}:{ident}"}


class _Builder:
    """Writes the events of one shipment."""

    def __init__(self, plan: ShipmentPlan, rng: random.Random) -> None:
        self.plan = plan
        self.rng = rng
        self.shipper = ACTOR_BY_SLUG[plan.shipper]
        self.buyer = ACTOR_BY_SLUG[plan.buyer]

    def transfer(self) -> dict[str, Any]:
        # Every transport event of the container is part of one business transfer, from the
        # shipper to the buyer: naming both lets each of them read the whole chain.
        return {
            "sourceList": [{"type": "owning_party", "source": self.shipper.pgln}],
            "destinationList": [{"type": "owning_party", "destination": self.buyer.pgln}],
        }

    def emit(self, party: str, when: datetime, place: Place | None, body: dict[str, Any],
             ) -> None:
        if when > AS_OF:
            return
        stamp, tz = event_time(place, when)
        event: dict[str, Any] = {"type": body.pop("type", "ObjectEvent"),
                                 "eventTime": stamp, "eventTimeZoneOffset": tz}
        event.update(body)
        self.plan.events.append(PlannedEvent(party, when, event))

    def observe(self, party: str, when: datetime, place: Place, step: str, disposition: str,
                extra: dict[str, Any] | None = None, *, read_point: str | None = None) -> None:
        body: dict[str, Any] = {
            "epcList": [self.plan.container],
            "action": "OBSERVE",
            "bizStep": step,
            "disposition": disposition,
            "readPoint": {"id": read_point or place.sgln},
            "bizLocation": {"id": place.sgln},
        }
        body.update(extra or {})
        body.update(self.transfer())
        self.emit(party, when, place, body)

    def sensor(self, party: str, start: datetime, end: datetime, vessel_sgln: str,
               place: Place, alarm: bool, heat: bool = False) -> None:
        """Readings of the container's data logger over a sea crossing, reported on arrival."""
        body = {
            "epcList": [self.plan.container],
            "action": "OBSERVE",
            "bizStep": "sensor_reporting",
            "readPoint": {"id": vessel_sgln},
            "sensorElementList": logger_elements(self.rng, self.plan.number, start, end,
                                                 alarm=alarm, heat=heat),
        }
        body.update(self.transfer())
        self.emit(party, end + timedelta(minutes=30), place, body)


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(hours=rng.uniform(low, high))


def _leg(rng: random.Random, a: str, b: str, spread: float = 0.12) -> timedelta:
    days = TYPICAL_LEG_DAYS[(a, b)] * rng.uniform(1 - spread, 1 + spread * 1.5)
    return timedelta(days=days)


def _vessel(carrier: str, rng: random.Random) -> str:
    return f"urn:epc:id:sgln:{ACTOR_BY_SLUG[carrier].prefix}.{rng.randrange(101, 106):05d}.0"


def _dwell(rng: random.Random, place: str, low: float = 0.7, high: float = 1.3) -> timedelta:
    return timedelta(days=TYPICAL_DWELL_DAYS[place] * rng.uniform(low, high))


def _travel(b: _Builder, depart: datetime, po: str | None = None) -> None:
    """All events of one container from its plant to the buyer. Leg transit times and port
    dwell times are drawn around geography.TYPICAL_LEG_DAYS / TYPICAL_DWELL_DAYS, in the
    order of the journey (the stages draw from `b.rng` one after the other)."""
    po = po or f"PO-2026-{1000 + (b.plan.number - 1) // CONTAINERS_PER_ORDER}"
    _dispatch(b, depart, po)
    leave = _through_kazakh_port(b, depart)
    leave = _across_caspian(b, leave)
    leave = _across_caucasus(b, leave)
    leave = _across_black_sea(b, leave)
    leave = _to_italy(b, leave)
    _deliver(b, leave, po)


def _dispatch(b: _Builder, depart: datetime, po: str) -> None:
    """Packing at the plant, shipping with the order's documents, departure by rail."""
    plan, rng = b.plan, b.rng
    origin = PLACE_BY_KEY[plan.route[0]]
    shipper = plan.shipper
    lot_qty = [{"epcClass": plan.lot, "quantity": plan.net_kg, "uom": "KGM"}]
    invoice = {"cor:invoiceAmount": f"{plan.invoice_amount:.2f}",
               "cor:invoiceCurrency": plan.invoice_currency, "cor:cnCode": plan.product.cn}
    b.emit(shipper, depart - _hours(rng, 10, 16), origin, {
        "type": "AggregationEvent", "parentID": plan.container, "childEPCs": list(plan.units),
        "action": "ADD", "bizStep": "packing", "disposition": "in_progress",
        "readPoint": {"id": origin.sgln}, "bizLocation": {"id": origin.sgln},
        "childQuantityList": lot_qty, **b.transfer(),
    })
    b.observe(shipper, depart - _hours(rng, 1, 3), origin, "shipping", "in_transit", {
        "bizTransactionList": [_bt(b.buyer, "po", po), _bt(b.shipper, "inv", plan.invoice_id),
                               _bt(b.shipper, "desadv", f"DESADV-{plan.number:06d}")],
        **invoice,
    })
    b.observe("kzrail", depart, origin, "departing", "in_transit")


def _through_kazakh_port(b: _Builder, depart: datetime) -> datetime:
    """Kazakh rail to the Caspian, the port (customs, a hold when the ferry load is reduced),
    loading on the ferry. Returns the ferry's departure."""
    plan, rng = b.plan, b.rng
    origin, key = plan.route[0], plan.route[1]
    port, operator = PLACE_BY_KEY[key], PLACE_OPERATOR[key]
    t = depart + _leg(rng, origin, key)
    b.observe("kzrail", t, port, "arriving", "in_transit")
    leave = t + _dwell(rng, key)
    b.observe(operator, t + _hours(rng, 1, 4), port, "receiving", "in_progress")
    b.observe("customs", t + _hours(rng, 5, 11), port, "inspecting", "conformant")
    if plan.delayed_days:
        b.observe(operator, t + _hours(rng, 12, 16), port, "holding", "in_progress", {
            "cor:holdReason": "Ferry load reduced: Caspian water level limits draft at "
                              f"{port.name}; container rolled to a later sailing",
        })
        leave += timedelta(days=plan.delayed_days)
    b.observe(operator, leave - _hours(rng, 3, 6), port, "loading", "in_transit", {
        "bizTransactionList": [_bt(ACTOR_BY_SLUG["ferry"], "bol",
                                   f"CFL-BL-{plan.number:06d}")]})
    b.observe("ferry", leave, port, "departing", "in_transit")
    return leave


def _across_caspian(b: _Builder, leave: datetime) -> datetime:
    """The ferry crossing (logger readings reported on arrival) and the Azerbaijani port.
    Returns the train's departure."""
    plan, rng = b.plan, b.rng
    kz_port, key = plan.route[1], plan.route[2]
    port = PLACE_BY_KEY[key]
    t = leave + _leg(rng, kz_port, key)
    if plan.has_logger:
        b.sensor("ferry", leave, t, _vessel("ferry", rng), port,
                 alarm=plan.outcome == "damaged" and rng.random() < 0.5,
                 heat=plan.heat_excursion)
    b.observe("ferry", t, port, "arriving", "in_transit")
    leave = t + _dwell(rng, key)
    b.observe(PLACE_OPERATOR[key], t + _hours(rng, 1, 4), port, "unloading", "in_progress")
    b.observe("azrail", leave, port, "departing", "in_transit")
    return leave


def _across_caucasus(b: _Builder, leave: datetime) -> datetime:
    """Rail across Azerbaijan, handover to Georgian Railway at the border, the Georgian port.
    Returns the ship's departure."""
    plan, rng = b.plan, b.rng
    c_port, key = plan.route[2], plan.route[4]
    port, operator = PLACE_BY_KEY[key], PLACE_OPERATOR[key]
    t = leave + _leg(rng, c_port, "border")
    b.observe("gerail", t, PLACE_BY_KEY["border"], "accepting", "in_transit")
    t += _leg(rng, "border", key)
    b.observe("gerail", t, port, "arriving", "in_transit")
    leave = t + _dwell(rng, key)
    b.observe(operator, t + _hours(rng, 1, 5), port, "receiving", "in_progress")
    b.observe(operator, leave - _hours(rng, 4, 12), port, "loading", "in_transit", {
        "bizTransactionList": [_bt(ACTOR_BY_SLUG["euxine"], "bol",
                                   f"EUX-BS-{plan.number:06d}")]})
    b.observe("euxine", leave, port, "departing", "in_transit")
    return leave


def _across_black_sea(b: _Builder, leave: datetime) -> datetime:
    """The Black Sea crossing to Constanta (logger readings reported on arrival) and the
    transshipment onto the Mediterranean service. Returns that ship's departure."""
    plan, rng = b.plan, b.rng
    constanta = PLACE_BY_KEY["constanta"]
    t = leave + _leg(rng, plan.route[4], "constanta")
    if plan.has_logger:
        b.sensor("euxine", leave, t, _vessel("euxine", rng), constanta,
                 alarm=plan.outcome == "damaged")
    b.observe("euxine", t, constanta, "arriving", "in_transit")
    leave = t + _dwell(rng, "constanta")
    b.observe("constanta", t + _hours(rng, 2, 6), constanta, "unloading", "in_progress")
    b.observe("constanta", leave - _hours(rng, 3, 10), constanta, "loading",
              "in_transit", {"bizTransactionList": [_bt(ACTOR_BY_SLUG["euxine"], "bol",
                                                        f"EUX-MED-{plan.number:06d}")]})
    b.observe("euxine", leave, constanta, "departing", "in_transit")
    return leave


def _to_italy(b: _Builder, leave: datetime) -> datetime:
    """The Mediterranean leg to the Italian port and unloading there. Returns the truck's
    departure."""
    rng = b.rng
    key = b.plan.route[6]
    port = PLACE_BY_KEY[key]
    t = leave + _leg(rng, "constanta", key)
    b.observe("euxine", t, port, "arriving", "in_transit")
    leave = t + _dwell(rng, key)
    b.observe(PLACE_OPERATOR[key], t + _hours(rng, 1, 4), port, "unloading", "in_progress")
    return leave


def _deliver(b: _Builder, leave: datetime, po: str) -> None:
    """Road to the buyer, receipt, inspection (with the quantity received) and unpacking."""
    plan, rng = b.plan, b.rng
    plant = PLACE_BY_KEY[plan.route[-1]]
    t = leave + _leg(rng, plan.route[6], plan.route[-1])
    b.observe(plan.buyer, t, plant, "receiving", "in_progress", {
        "bizTransactionList": [_bt(b.buyer, "po", po),
                               _bt(b.buyer, "recadv", f"RECADV-{plan.number:06d}")]})
    t += _hours(rng, 4, 20)
    received = plan.net_kg
    if plan.outcome == "mismatch_quantity":
        received -= 1000 * rng.randint(1, 3) + rng.randint(0, 400)
    b.observe(plan.buyer, t, plant, "inspecting", plan.outcome, {
        "quantityList": [{"epcClass": plan.lot, "quantity": received, "uom": "KGM"}]})
    b.emit(plan.buyer, t + _hours(rng, 1, 6), plant, {
        "type": "AggregationEvent", "parentID": plan.container, "childEPCs": list(plan.units),
        "action": "DELETE", "bizStep": "unpacking", "disposition": "in_progress",
        "readPoint": {"id": plant.sgln}, "bizLocation": {"id": plant.sgln},
        **b.transfer(),
    })


def insured(number: int) -> bool:
    """Whether the demo's insurer covers shipment `number` (corridor.demo.insurance)."""
    return number % INSURED_EVERY == 2


def _heat(plan: ShipmentPlan, heated: set[int]) -> bool:
    """A heat excursion for the first insured, logger-carrying, undisturbed container of each
    HEAT_BLOCK shipments (`heated`: the blocks that have one), from what the plan drew."""
    block = (plan.number - 1) // HEAT_BLOCK
    hot = block not in heated and plan.has_logger and insured(plan.number) \
        and not plan.delayed_days and plan.outcome == "conformant"
    if hot:
        heated.add(block)
    return hot


def _order(seed: int, g: int, numbers: list[int], heated: set[int]
           ) -> tuple[list[ShipmentPlan], list[PlannedEvent]]:
    """Order `g`: its shipments, and the events that made its lot (and, for ferro-chromium,
    the parts the buyer made of it)."""
    rng = random.Random(f"{seed}/{g}")
    shipper = "smelter" if rng.random() < 0.6 else "ferro"
    actor = ACTOR_BY_SLUG[shipper]
    product = PRODUCTS["al"] if shipper == "smelter" else PRODUCTS[rng.choice(["fecr", "femn"])]
    lot_number = f"{'AL' if shipper == 'smelter' else 'FA'}26-{g + 1:04d}"
    lot = f"urn:epc:class:lgtin:{actor.prefix}.{product.item_ref}.{lot_number}"
    depart0 = WINDOW_START + timedelta(days=rng.uniform(0, WINDOW_DAYS))
    depart0 = depart0.replace(minute=0, second=0, microsecond=0)
    origin = "pavlodar" if shipper == "smelter" else "aktobe"
    kz_port = "kuryk" if rng.random() < 0.2 else "aktau"
    c_port = "baku" if rng.random() < 0.25 else "alat"
    g_port = "batumi" if rng.random() < 0.3 else "poti"
    i_port = "genoa" if rng.random() < 0.4 else "trieste"
    currency = "EUR" if rng.random() < 0.35 else "USD"
    usd_per_t = Decimal(rng.randint(*product.usd_per_tonne))
    # The Caspian is falling: the later in the season, the likelier a reduced ferry load.
    progress = (depart0 - WINDOW_START).total_seconds() / (WINDOW_DAYS * 86400)
    units_per_container = 25 if shipper == "smelter" else 24
    plans: list[ShipmentPlan] = []
    lot_kg = 0
    for k, n in enumerate(numbers):
        unit_kg = rng.randint(995, 1040) if shipper == "smelter" else rng.randint(980, 1010)
        net_kg = unit_kg * units_per_container
        lot_kg += net_kg
        price = usd_per_t * Decimal(net_kg) / Decimal(1000)
        if currency == "EUR":
            price *= CONTRACT_EUR_PER_USD
        delayed = 0.0
        if kz_port == "aktau" and rng.random() < 0.08 + 0.3 * progress:
            delayed = round(rng.uniform(2.5, 9.0), 1)
        roll = rng.random()
        outcome = "damaged" if roll < 0.03 else "mismatch_quantity" if roll < 0.05 \
            else "conformant"
        depart = depart0 + timedelta(days=k * rng.uniform(0.8, 1.6))
        plan = ShipmentPlan(
            number=n, shipper=shipper, product=product, lot=lot, lot_number=lot_number,
            container=f"urn:epc:id:sscc:{actor.prefix}.1{n:09d}",
            units=[f"urn:epc:id:sscc:{actor.prefix}.0{n:06d}{u:03d}"
                   for u in range(1, units_per_container + 1)],
            net_kg=net_kg,
            route=[origin, kz_port, c_port, "border", g_port, "constanta", i_port, "brescia"],
            invoice_amount=price.quantize(Decimal("0.01")), invoice_currency=currency,
            invoice_date=depart, invoice_id=f"INV-{depart.year}-{n:06d}",
            delayed_days=delayed, outcome=outcome, has_logger=rng.random() < 0.4,
        )
        plan.heat_excursion = _heat(plan, heated)
        _travel(_Builder(plan, rng), depart)
        plans.append(plan)
    made = depart0 - timedelta(days=rng.uniform(2, 5))
    events = [lot_production(seed, g, shipper=shipper, product=product.code, cn=product.cn,
                             lot=lot, lot_number=lot_number, lot_kg=lot_kg, made=made)]
    if product.code == "fecr":
        events.append(parts_production(seed, g, lot, [_received(p) for p in plans]))
    return plans, [PlannedEvent(m.party, m.when, m.event) for m in events if m is not None]


def _received(plan: ShipmentPlan) -> tuple[int, datetime | None]:
    """(kg the buyer's inspection found, when the container was unpacked, if it was)."""
    kg, unpacked = plan.net_kg, None
    for e in plan.events:
        if e.party == plan.buyer and e.event.get("bizStep") == "inspecting":
            kg = int(e.event["quantityList"][0]["quantity"])
        elif e.party == plan.buyer and e.event.get("bizStep") == "unpacking":
            unpacked = e.time
    return kg, unpacked


def generate(shipments: int = 200, seed: int = 7) -> Scenario:
    """The first `shipments` shipments of the scenario drawn from `seed`."""
    if shipments < 0:
        raise ValueError(f"shipments: must be >= 0, got {shipments}")
    plans: list[ShipmentPlan] = []
    lot_events: list[PlannedEvent] = []
    numbers = list(range(1, shipments + 1))
    heated: set[int] = set()
    for g in range(0, len(numbers), CONTAINERS_PER_ORDER):
        order, made = _order(seed, g // CONTAINERS_PER_ORDER,
                             numbers[g:g + CONTAINERS_PER_ORDER], heated)
        plans.extend(order)
        lot_events.extend(m for m in made if m.time <= AS_OF)
    from corridor.demo.foundry import foundry_order  # it travels by this module's journey
    others, made = foundry_order(seed) if shipments >= FOUNDRY_FROM else ([], [])
    return Scenario(plans, [*lot_events, *(m for m in made if m.time <= AS_OF)], others)


def documents(scenario: Scenario) -> Iterator[tuple[str, dict[str, Any]]]:
    """(capturing actor slug, EPCIS document) in capture order: each party sends one document
    per day with the events it recorded that day."""
    batches: dict[tuple[str, str], list[PlannedEvent]] = {}
    for planned in scenario.all_events():
        batches.setdefault((planned.time.strftime("%Y-%m-%d"), planned.party), []).append(planned)
    for (day, party), events in sorted(batches.items()):
        yield party, document([e.event for e in events], f"{day}T23:59:00Z")


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value


def document(events: list[dict[str, Any]], creation_date: str) -> dict[str, Any]:
    """An EPCISDocument of the events. Their keys are sent in sorted (RFC 8785) order: the
    store keeps events in that canonical form, and the Event Hash ID (like the GS1 reference
    generator) reads source/destination entries in document order, so sorting up front keeps
    the ID recomputed from a stored event equal to the one computed at capture."""
    return {
        "@context": [EPCIS_CONTEXT, {"cor": COR_NS}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": creation_date,
        "epcisBody": {"eventList": [_sorted_keys(e) for e in events]},
    }


def master_data_documents(creation_date: str = "2026-01-01T00:00:00Z"
                          ) -> Iterator[tuple[str, dict[str, Any]]]:
    """(operator slug, EPCIS document) describing the places: each operator sends the master
    data of its own sites, an EPCISMasterDataDocument (vocabularies in
    epcisHeader.epcisMasterData, where an EPCISDocument carries them too)."""
    by_operator: dict[str, list[Place]] = {}
    for place in PLACES:
        by_operator.setdefault(PLACE_OPERATOR[place.key], []).append(place)
    for slug, places in by_operator.items():
        yield slug, {
            "@context": [EPCIS_CONTEXT],
            "type": "EPCISMasterDataDocument",
            "schemaVersion": "2.0",
            "creationDate": creation_date,
            "epcisHeader": {"epcisMasterData": {
                "vocabularyList": [location_vocabulary(tuple(places))]}},
        }
