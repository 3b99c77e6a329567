"""The demo's second Italian importer: Fonderia Berica near Vicenza (corridor.demo.actors), which
bought one container of high-carbon ferro-chromium from the Aktobe works in 2026, a lot of its
own. About 24 t: under the 50-tonne de minimis of Regulation (EU) 2025/2083, so its CBAM
declaration shows an importer with nothing due, next to Metalli Padani far above it.

The container travels the scenario's journey (corridor.demo.scenario: Aktobe -> Aktau -> ferry
-> Alat -> rail -> Poti -> Black Sea -> Constanta -> Trieste or Genoa -> the foundry) drawn
from its own random streams (`seed/foundry` for the shipment, `seed/F001/production` for its
lot), apart from the numbered orders, so adding it changed no other shipment, lot or event.
It joins demos of at least scenario.FOUNDRY_FROM shipments (the small demos of the tests carry
the first importer's orders only); its shipment number, 900001, keeps its SSCC and documents
clear of the numbered shipments of any demo (they count from 1).
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.demo.production import lot_production
from corridor.demo.scenario import (
    PRODUCTS,
    WINDOW_START,
    PlannedEvent,
    ShipmentPlan,
    _Builder,
    _travel,
)

NUMBER = 900001  # the container's shipment number (SSCC serial, documents)
KEY = "F001"  # the lot's key: lot number FA26-F001, its inputs ORE26-F001 etc.
PURCHASE_ORDER = "PO-2026-FB01"
UNITS = 24  # big-bag pallets of about a tonne, as in the works' other containers


def foundry_order(seed: int) -> tuple[list[ShipmentPlan], list[PlannedEvent]]:
    """The foundry's container and the event that made its lot."""
    rng = random.Random(f"{seed}/foundry")
    ferro, product = ACTOR_BY_SLUG["ferro"], PRODUCTS["fecr"]
    lot_number = f"FA26-{KEY}"
    lot = f"urn:epc:class:lgtin:{ferro.prefix}.{product.item_ref}.{lot_number}"
    # February or March: delivered, and entered the EU, well before the scenario's AS_OF
    depart = (WINDOW_START + timedelta(days=rng.uniform(25, 55))).replace(
        minute=0, second=0, microsecond=0)
    i_port = "genoa" if rng.random() < 0.4 else "trieste"
    net_kg = rng.randint(980, 1010) * UNITS
    price = Decimal(rng.randint(*product.usd_per_tonne)) * Decimal(net_kg) / Decimal(1000)
    plan = ShipmentPlan(
        number=NUMBER, shipper="ferro", product=product, lot=lot, lot_number=lot_number,
        container=f"urn:epc:id:sscc:{ferro.prefix}.1{NUMBER:09d}",
        units=[f"urn:epc:id:sscc:{ferro.prefix}.0{NUMBER:06d}{u:03d}"
               for u in range(1, UNITS + 1)],
        net_kg=net_kg,
        route=["aktobe", "aktau", "alat", "border", "poti", "constanta", i_port, "vicenza"],
        invoice_amount=price.quantize(Decimal("0.01")), invoice_currency="USD",
        invoice_date=depart, invoice_id=f"INV-{depart.year}-{NUMBER:06d}", buyer="foundry",
    )
    _travel(_Builder(plan, rng), depart, PURCHASE_ORDER)
    made = lot_production(seed, 0, shipper="ferro", product=product.code, cn=product.cn,
                          lot=lot, lot_number=lot_number, lot_kg=net_kg,
                          made=depart - timedelta(days=rng.uniform(2, 5)), key=KEY)
    return [plan], [PlannedEvent(made.party, made.when, made.event)]
