"""The demo's insurer (corridor.demo.insurance) on a demo of 30 shipments with two local
witnesses: its policies on every third container, the claims they open (Aktau holds under the
port's load-cut notices, a heat excursion, a short delivery) while most pay nothing, the
insurer's reading of the insured containers only, a claim bundle verified offline, and a
second load that adds nothing. The heat excursion changes no other shipment's events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest

from corridor.cli.local_witnesses import LocalWitnesses
from corridor.config import Settings
from corridor.demo import DemoSummary, load_demo, scenario
from corridor.demo.actors import ACTOR_BY_SLUG, AUDITOR_GRANTS
from corridor.demo.geography import PLACE_BY_KEY
from corridor.demo.insurance import load_cut_periods
from corridor.demo.scenario import ShipmentPlan, generate
from corridor.insurance.bundle import verify_bundle
from corridor.insurance.evaluation import viewer_of
from corridor.insurance.evidence import claim_bundle
from corridor.insurance.service import InsuranceService
from corridor.ledger.note import parse_vkey
from corridor.ledger.policy import threshold_policy
from corridor.monitoring.notices import NOTICE_BIZ_STEP
from corridor.node import open_ledger
from corridor.node.signer import load_or_create_signer
from corridor.query import matching_events
from corridor.store import insurance as store
from corridor.store.db import Database
from corridor.store.notices import list_notices, stamp
from corridor.store.parties import find_party

SHIPMENTS = 30
SEED = 7
AKTAU = PLACE_BY_KEY["aktau"].sgln


@dataclass
class Demo:
    settings: Settings
    summary: DemoSummary
    plans: dict[int, ShipmentPlan]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("demo-insurance")
    settings = Settings(data_dir=tmp, db_url=f"sqlite:///{tmp / 'node.db'}",
                        log_origin="demo-insurance.test/log")
    witnesses = LocalWitnesses(tmp / "witnesses", load_or_create_signer(settings).verifier)
    settings = replace(settings, witnesses=witnesses.start(), witness_quorum=2)
    try:
        summary = load_demo(settings, shipments=SHIPMENTS, seed=SEED)
        plans = generate(SHIPMENTS, SEED)
        yield Demo(settings, summary, {p.number: p for p in [*plans.shipments, *plans.others]})
    finally:
        witnesses.stop()


def _claims(demo: Demo) -> list[store.StoredClaim]:
    with Database(demo.settings.db_url).connect() as conn:
        insurer = find_party(conn, ACTOR_BY_SLUG["insurer"].pgln)
        return InsuranceService(None).claims(conn, viewer_of(conn, insurer.id))


def test_the_insurer_covers_every_third_container_and_most_pay_nothing(demo: Demo) -> None:
    insurance = demo.summary.insurance
    covered = [n for n in demo.plans if n % 3 == 2]
    assert insurance.policies == insurance.policies_bound == len(covered) == 10
    fired = {(int(c.unit[-4:]), c.trigger_id) for c in _claims(demo)}
    # 2: the heat excursion; 8: short-landed at Brescia; 20 and 26: held at Aktau by load cuts
    assert fired == {(2, "heat"), (8, "short-delivery"),
                     (20, "port-wait"), (20, "load-cut"), (20, "late"),
                     (26, "port-wait"), (26, "load-cut"), (26, "late")}
    assert len({n for n, _ in fired}) == 4 < len(covered) - 4  # six of ten pay nothing
    assert insurance.claims == len(fired)
    assert insurance.payouts == {"EUR": sum((Decimal(c.payout) for c in _claims(demo)
                                             if c.currency == "EUR"), Decimal(0)),
                                 "USD": sum((Decimal(c.payout) for c in _claims(demo)
                                             if c.currency == "USD"), Decimal(0))}
    assert "10 insurance policies, 8 claims paying EUR" in "\n".join(demo.summary.lines())


def test_the_aktau_claims_rest_on_the_operators_load_cut_notices(demo: Demo) -> None:
    claims = {(int(c.unit[-4:]), c.trigger_id): c for c in _claims(demo)}
    with Database(demo.settings.db_url).connect() as conn:
        notices = {n.notice.hash_id: n.notice for n in list_notices(conn, node=AKTAU)
                   if n.party == ACTOR_BY_SLUG["aktau"].pgln}
        posted = dict(conn.fetchall("SELECT hash_id, event_time FROM events WHERE biz_step = ?",
                                    (NOTICE_BIZ_STEP,)))
    assert len(notices) == len(load_cut_periods(generate(SHIPMENTS, SEED))) >= 2
    assert all(n.kind == "load_cut" and 30 <= (n.value or 0) <= 50 for n in notices.values())
    # posted at their own historic time: each notice event is dated when its cut began
    assert {h: stamp(n.valid_from) for h, n in notices.items()} == posted
    cut = claims[(20, "load-cut")]
    assert cut.detail["firing"]["notices"] and set(cut.detail["firing"]["notices"]) <= set(
        notices)
    assert Decimal(cut.detail["firing"]["measure"]) >= 48
    assert Decimal(claims[(20, "port-wait")].detail["firing"]["measure"]) >= 96
    assert Decimal(claims[(20, "late")].detail["firing"]["measure"]) >= 48
    # container 20's policy settles in tenge: each claim converted at the NBK rate of its date
    settlement = cut.detail["settlement"]
    assert settlement["target"] == "KZT" and settlement["source"] == "NBK"
    assert settlement["date"] == cut.triggered_at[:10]
    assert Decimal(settlement["result"]) == (Decimal(cut.payout) * Decimal(
        settlement["rate"])).quantize(Decimal("0.01"))


def test_the_heat_excursion_pays_its_first_tier(demo: Demo) -> None:
    plan = demo.plans[2]
    assert plan.heat_excursion and plan.has_logger and plan.outcome == "conformant"
    (heat,) = [c for c in _claims(demo) if c.trigger_id == "heat"]
    assert heat.unit == plan.container
    assert 360 <= Decimal(heat.detail["firing"]["measure"]) < 1440
    assert heat.detail["firing"]["share"] == "0.1"
    readings = [r["value"] for e in plan.events if e.event.get("bizStep") == "sensor_reporting"
                for el in e.event["sensorElementList"] for r in el["sensorReport"]
                if r["type"] == "Temperature"]
    assert [t for t in readings if t > 40] == readings[:2]
    assert all(41 <= t <= 46 for t in readings[:2])


def test_the_insurer_reads_insured_containers_only(demo: Demo) -> None:
    assert ACTOR_BY_SLUG["insurer"].role == "member"
    assert all("insurer" not in grant for grant in AUDITOR_GRANTS)
    with Database(demo.settings.db_url).connect() as conn:
        insurer = viewer_of(conn, find_party(conn, ACTOR_BY_SLUG["insurer"].pgln).id)
        insured = matching_events(conn, insurer, {"MATCH_anyEPC": [demo.plans[5].container]})
        uninsured = matching_events(conn, insurer,
                                    {"MATCH_anyEPC": [demo.plans[4].container]})
    assert {"departing", "arriving", "loading"} <= {e.biz_step for e in insured}
    assert uninsured == []


def test_a_demo_claim_bundle_verifies_offline(demo: Demo) -> None:
    db = Database(demo.settings.db_url)
    ledger = open_ledger(demo.settings, db)
    try:
        (late,) = [c for c in _claims(demo) if c.trigger_id == "late" and c.unit.endswith("0020")]
        with db.connect() as conn:
            insurer = viewer_of(conn, find_party(conn, ACTOR_BY_SLUG["insurer"].pgln).id)
            bundle = claim_bundle(conn, InsuranceService(ledger), insurer, late.id)
        log_key = ledger.signer.verifier
        witnesses = [(parse_vkey(w.vkey), None) for w in demo.settings.witnesses]
        report = verify_bundle(json.loads(json.dumps(bundle)), log_key,
                               threshold_policy(log_key, witnesses, 2))
        assert report.ok, report.as_json()
        assert bundle["claim"]["payout"] == late.payout
    finally:
        ledger.close()


def test_loading_again_adds_nothing(demo: Demo) -> None:
    again = load_demo(demo.settings, shipments=SHIPMENTS, seed=SEED)
    insurance = again.insurance
    assert (insurance.notices_posted, insurance.policies_bound) == (0, 0)
    assert (insurance.policies, insurance.claims) == (10, 8)
    assert again.checkpoint_size == demo.summary.checkpoint_size


def test_the_heat_excursion_changes_no_other_event(monkeypatch: pytest.MonkeyPatch) -> None:
    hot = generate(200, SEED)
    monkeypatch.setattr(scenario, "_heat", lambda plan, heated: False)
    cool = generate(200, SEED)
    changed = []
    for a, b in zip([*hot.shipments, *hot.others], [*cool.shipments, *cool.others],
                    strict=True):
        if [e.event for e in a.events] != [e.event for e in b.events]:
            changed.append(a.number)
            for x, y in zip(a.events, b.events, strict=True):
                if x.event != y.event:  # only the logger's temperatures differ
                    assert x.event["bizStep"] == "sensor_reporting"
                    strip = [[{**r, "value": 0} if r["type"] == "Temperature" else r
                              for r in el["sensorReport"]] for el in x.event[
                        "sensorElementList"]]
                    assert strip == [[{**r, "value": 0} if r["type"] == "Temperature" else r
                                      for r in el["sensorReport"]] for el in y.event[
                        "sensorElementList"]]
    assert changed == [p.number for p in hot.shipments if p.heat_excursion] == [2, 110]
    assert hot.lot_events == cool.lot_events
