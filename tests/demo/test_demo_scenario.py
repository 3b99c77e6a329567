"""The scenario generator: deterministic, valid EPCIS 2.0, and shaped like the corridor."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import jsonschema
import pytest

from corridor.demo.actors import ACTORS
from corridor.demo.scenario import AS_OF, Scenario, ShipmentPlan, documents, generate
from corridor.epcis.identifiers import check_digit, urn_to_dl


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate(200, 7)


def test_same_seed_same_documents() -> None:
    a = [json.dumps(d, sort_keys=True) for _, d in documents(generate(12, 3))]
    b = [json.dumps(d, sort_keys=True) for _, d in documents(generate(12, 3))]
    assert a == b
    c = [json.dumps(d, sort_keys=True) for _, d in documents(generate(12, 4))]
    assert a != c


def test_a_bigger_demo_extends_a_smaller_one() -> None:
    small = generate(9, 7).shipments
    big = generate(30, 7).shipments
    for s, b in zip(small, big[:9], strict=True):
        assert s.container == b.container
        assert [e.event for e in s.events] == [e.event for e in b.events]


def test_documents_are_valid_epcis_2(conformance: Path) -> None:
    schema = json.loads((conformance / "gs1-epcis" / "EPCIS-JSON-Schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    count = 0
    for _, doc in documents(generate(12, 7)):
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, errors[:3]
        count += 1
    assert count > 50


def test_identifiers_are_well_formed(scenario: Scenario) -> None:
    for plan in scenario.shipments[:20]:
        for epc in [plan.container, *plan.units]:
            dl = urn_to_dl(epc)
            assert dl is not None and len(dl.rsplit("/", 1)[1]) == 18, epc
        assert urn_to_dl(plan.lot) is not None
    for actor in ACTORS:
        gln = actor.gln
        assert len(gln) == 13 and check_digit(gln[:-1]) == gln[-1]
    # The GS1 check digit of a known GLN (GS1 General Specifications example 0614141000005).
    assert check_digit("061414100000") == "5"


def test_nothing_happens_after_as_of(scenario: Scenario) -> None:
    assert all(e.time <= AS_OF for e in scenario.all_events())
    in_transit = [p for p in scenario.shipments if not p.delivered]
    assert 10 <= len(in_transit) <= 100  # the latest departures are still on their way


def _days_to(plan: ShipmentPlan, place_sglns: set[str], step: str = "arriving") -> float | None:
    start = next(e.time for e in plan.events if e.event.get("bizStep") == "departing")
    for e in plan.events:
        if e.event.get("bizStep") == step and e.event.get("bizLocation", {}).get("id") in \
                place_sglns:
            return (e.time - start).total_seconds() / 86400
    return None


def test_transit_times_match_the_corridor(scenario: Scenario) -> None:
    from corridor.demo.geography import PLACE_BY_KEY as P

    undelayed = [p for p in scenario.shipments if not p.delayed_days and p.shipper == "smelter"]
    baku = [d for p in undelayed if (d := _days_to(p, {P["alat"].sgln, P["baku"].sgln}))]
    poti = [d for p in undelayed if (d := _days_to(p, {P["poti"].sgln, P["batumi"].sgln}))]
    cta = [d for p in undelayed if (d := _days_to(p, {P["constanta"].sgln}))]
    assert 7.5 <= statistics.median(baku) <= 10.5, statistics.median(baku)
    assert 10.5 <= statistics.median(poti) <= 13.5, statistics.median(poti)
    assert 19 <= statistics.median(cta) <= 23, statistics.median(cta)


def test_delays_and_dispositions_occur(scenario: Scenario) -> None:
    delayed = [p for p in scenario.shipments if p.delayed_days]
    assert delayed and all(p.route[1] == "aktau" for p in delayed)
    holds = [e for p in delayed for e in p.events if e.event.get("bizStep") == "holding"]
    assert holds and all("draft" in e.event["cor:holdReason"] for e in holds)
    outcomes = {p.outcome for p in scenario.shipments}
    assert {"damaged", "mismatch_quantity", "conformant"} <= outcomes
    # Later in the season, lower Caspian: delays get more frequent.
    half = len(scenario.shipments) // 2
    by_time = sorted(scenario.shipments, key=lambda p: p.invoice_date)
    assert sum(1 for p in by_time[half:] if p.delayed_days) > sum(
        1 for p in by_time[:half] if p.delayed_days)


def test_goods_and_money(scenario: Scenario) -> None:
    cn = {p.product.cn[:4] for p in scenario.shipments}
    assert cn == {"7601", "7202"}
    assert {p.invoice_currency for p in scenario.shipments} == {"USD", "EUR"}
    for p in scenario.shipments:
        per_tonne = float(p.invoice_amount) / (p.net_kg / 1000)
        assert 800 < per_tonne < 2800
    sensors = [e for p in scenario.shipments for e in p.events
               if e.event.get("bizStep") == "sensor_reporting"]
    kinds = {r["type"] for e in sensors for el in e.event["sensorElementList"]
             for r in el["sensorReport"]}
    assert kinds == {"Temperature", "RelativeHumidity", "Acceleration"}


def test_bad_count_is_refused() -> None:
    with pytest.raises(ValueError, match="shipments"):
        generate(-1)
