"""The demo's production events: each lot made by a TransformationEvent at its plant, with
the figures a green metal claim needs, and the buyer's parts made of delivered
ferro-chromium."""

from __future__ import annotations

from collections import Counter

import pytest

from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.demo.geography import PLACE_BY_KEY
from corridor.demo.scenario import AS_OF, Scenario, generate


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate(200, 7)


def _made(scenario: Scenario) -> dict[str, dict]:
    return {e.event["outputQuantityList"][0]["epcClass"]: e.event for e in scenario.lot_events}


def test_every_lot_is_made_at_its_plant(scenario: Scenario) -> None:
    made = _made(scenario)
    kg: Counter[str] = Counter()
    for plan in scenario.shipments:
        kg[plan.lot] += plan.net_kg
    for lot, total in kg.items():
        event = made[lot]
        assert event["type"] == "TransformationEvent" and event["bizStep"] == "commissioning"
        assert event["outputQuantityList"] == [{"epcClass": lot, "quantity": total,
                                                "uom": "KGM"}]
        plant = PLACE_BY_KEY["pavlodar" if ".076011." in lot else "aktobe"]
        assert event["bizLocation"]["id"] == plant.sgln
        assert len(event["inputQuantityList"]) == 2
        ilmd = event["ilmd"]
        assert ilmd["cbvmda:countryOfOrigin"] == "KZ" and ilmd["cor:cnCode"][:4] in (
            "7601", "7202")
        assert sum(s["cor:share"] for s in ilmd["cor:electricitySource"]) == pytest.approx(1)
        assert ilmd["cor:directEmissions"] and ilmd["cor:upstreamEmissions"]
        metered = "sensorElementList" in event
        assert metered == (".072" in lot) and metered != ("cor:electricityKWh" in ilmd)


def test_most_aluminium_is_coal_powered(scenario: Scenario) -> None:
    profiles = Counter(
        "coal" if e["ilmd"]["cor:electricitySource"][0]["cor:source"] == "coal" else "other"
        for lot, e in _made(scenario).items() if ".076011." in lot)
    assert profiles["other"] >= 3 and profiles["coal"] > profiles["other"]


def test_delivered_ferro_chromium_is_melted_into_parts_at_brescia(scenario: Scenario) -> None:
    buyer = ACTOR_BY_SLUG["buyer"]
    parts = [e for e in scenario.lot_events if e.party == "buyer"]
    assert parts
    for planned in parts:
        event = planned.event
        fecr, scrap = (q["epcClass"] for q in event["inputQuantityList"])
        assert ".072041." in fecr and scrap.startswith(f"urn:epc:class:lgtin:{buyer.prefix}.")
        assert event["outputQuantityList"][0]["epcClass"].startswith(
            f"urn:epc:class:lgtin:{buyer.prefix}.073251.")
        assert event["bizLocation"]["id"] == PLACE_BY_KEY["brescia"].sgln
        plans = [p for p in scenario.shipments if p.lot == fecr]
        assert all(p.delivered for p in plans)
        unpacked = max(e.time for p in plans for e in p.events
                       if e.event.get("bizStep") == "unpacking")
        assert unpacked < planned.time <= AS_OF
        charge = sum(q["quantity"] for q in event["inputQuantityList"])
        assert 0.40 <= event["inputQuantityList"][0]["quantity"] / charge <= 0.44
