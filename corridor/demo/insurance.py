"""The demo's insurer: Adriatica Cargo Insurance (corridor.demo.actors) covers every third
container of the scenario (scenario.insured) with the parametric cover of
corridor/demo/data/insurance.yml, through the same service the API uses.

- The Aktau port operator posts load-cut notices for the periods in which the scenario held
  containers at Aktau (its `holding` events, grouped), each with its own historic time.
- The insurer offers, and the exporter (the smelter or the ferro-alloy works) binds, one
  policy per covered container: sum insured from its invoice, promised arrival from its rail
  departure, its own Kazakh port and destination in the triggers. The binding is dated when
  the container was shipped (the service's `at`: the demo replays a history), so cover
  attaches before the journey. The first covered container that was held at its port
  settles in KZT, so a claim shows the conversion.
- Binding shares the container's events with the insurer once evaluated; the log is signed
  and witnessed, the witnessed events evaluated (claims opened), and signed and witnessed
  again so that the claim events are covered too.

Loading twice adds nothing: a notice is logged once (posting the same one again is a
duplicate capture), and a container the insurer already has a policy on is not offered again.
A bigger demo can add a notice for a longer period; overlapping notices count once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import yaml

from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.demo.geography import PLACE_BY_KEY
from corridor.demo.scenario import AS_OF, WINDOW_START, Scenario, ShipmentPlan, insured
from corridor.fx.valuation import round_money
from corridor.insurance.evaluation import viewer_of
from corridor.insurance.service import InsuranceService
from corridor.monitoring.notices import time_text
from corridor.monitoring.service import post_notice
from corridor.node import RunningLog
from corridor.store.db import Connection
from corridor.store.notices import list_notices

DATA_FILE = Path(__file__).resolve().parent / "data" / "insurance.yml"
NOTICE_PORT = "aktau"  # the port whose operator posts notices (the holds happen there)


class PartyRef(Protocol):
    """A registered demo party (corridor.demo.load.DemoParty)."""

    @property
    def party_id(self) -> int: ...


@dataclass
class InsuranceSummary:
    notices_posted: int = 0  # by this call
    policies_bound: int = 0  # by this call
    policies: int = 0  # the insurer's bound policies
    claims: int = 0  # on them
    payouts: dict[str, Decimal] = field(default_factory=dict)  # total by policy currency

    def line(self) -> str:
        paid = " + ".join(f"{c} {a:,.2f}" for c, a in sorted(self.payouts.items()))
        return (f"{self.policies} insurance policies, {self.claims} claims"
                + (f" paying {paid}" if paid else ""))


@dataclass(frozen=True)
class Hold:
    start: datetime  # the port's holding event
    end: datetime | None  # the ferry's departure, None if still waiting at AS_OF


@cache
def cover_data() -> dict[str, Any]:
    return dict(yaml.safe_load(DATA_FILE.read_text(encoding="utf-8")))


def _plans(scenario: Scenario) -> list[ShipmentPlan]:
    return sorted([*scenario.shipments, *scenario.others], key=lambda p: p.number)


def _step_time(plan: ShipmentPlan, step: str, party: str | None = None,
               after: datetime | None = None) -> datetime | None:
    for e in sorted(plan.events, key=lambda e: e.time):
        if e.event.get("bizStep") == step and (party is None or e.party == party) \
                and (after is None or e.time > after):
            return e.time
    return None


def holds_at(scenario: Scenario, port: str = NOTICE_PORT) -> list[Hold]:
    """Every hold of a container at `port`: from the operator's holding event to the
    ferry's departure, by start."""
    holds = []
    for plan in _plans(scenario):
        if plan.route[1] != port:
            continue
        start = _step_time(plan, "holding", party=port)
        if start is not None:
            holds.append(Hold(start, _step_time(plan, "departing", "ferry", after=start)))
    return sorted(holds, key=lambda h: h.start)


def load_cut_periods(scenario: Scenario) -> list[tuple[datetime, datetime | None, int]]:
    """(from, until or None, cut %) of each period of holds at NOTICE_PORT: holds less than
    the merge gap apart make one period, from the first hold, on the hour, to the last
    departure, on the next hour."""
    gap = timedelta(hours=cover_data()["notices"]["merge_gap_hours"])
    low, high = cover_data()["notices"]["cut_percent"]
    periods: list[list[Any]] = []
    for hold in holds_at(scenario):
        last = periods[-1] if periods else None
        if last is not None and (last[1] is None or hold.start <= last[1] + gap):
            last[1] = None if last[1] is None or hold.end is None else max(last[1], hold.end)
        else:
            periods.append([hold.start, hold.end])
    season = (AS_OF - WINDOW_START).total_seconds()
    out = []
    for start, end in periods:
        progress = (start - WINDOW_START).total_seconds() / season
        cut = int(low + 5 * round((high - low) * min(max(progress, 0.0), 1.0) / 5))
        until = None if end is None else \
            end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        out.append((start.replace(minute=0, second=0, microsecond=0), until, cut))
    return out


def _post_notices(conn: Connection, ledger: RunningLog, operator: PartyRef,
                  scenario: Scenario) -> int:
    """The operator's load-cut notices, each posted at its own start; the number new."""
    node = PLACE_BY_KEY[NOTICE_PORT].sgln
    known = {n.notice.hash_id for n in list_notices(conn, node=node, limit=10000)}
    viewer = viewer_of(conn, operator.party_id)
    posted = 0
    for start, until, cut in load_cut_periods(scenario):
        raw = {"node": node, "kind": "load_cut", "value": cut, "validFrom": time_text(start),
               "validUntil": None if until is None else time_text(until),
               "text": f"Ferry loads cut by {cut} %: the Caspian's falling level limits the "
                       f"draft at {PLACE_BY_KEY[NOTICE_PORT].name}; containers roll to later "
                       "sailings"}
        notice = post_notice(conn, ledger, viewer, raw, now=start)
        posted += notice.hash_id not in known
    return posted


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


def policy_terms(plan: ShipmentPlan, settlement: str | None = None) -> dict[str, Any] | None:
    """The terms the insurer offers on the plan's container, or None before it departed."""
    data = cover_data()
    departed = _step_time(plan, "departing")
    if departed is None:
        return None
    places = {"kazakh_port": PLACE_BY_KEY[plan.route[1]].sgln,
              "destination": PLACE_BY_KEY[plan.route[-1]].sgln}
    promised = departed + timedelta(days=data["transit_days"][plan.route[0]])
    triggers = []
    for spec in data["triggers"]:
        trigger = {k: places.get(v, v) if k in ("node", "destination") else v
                   for k, v in spec.items()}
        if spec["type"] == "delay":
            trigger["promisedArrival"] = time_text(promised.astimezone(UTC))
        triggers.append(trigger)
    insured_value = plan.invoice_amount * Decimal(data["insured_value_uplift"])
    sum_insured = Decimal(math.ceil(insured_value / 100) * 100)
    premium = sum_insured * Decimal(data["premium_rate"][plan.product.code])
    terms: dict[str, Any] = {
        "insurer": ACTOR_BY_SLUG["insurer"].pgln, "insured": ACTOR_BY_SLUG[plan.shipper].pgln,
        "units": [plan.container], "sumInsured": _money(sum_insured),
        "currency": plan.invoice_currency,
        "premium": _money(round_money(premium, plan.invoice_currency)),
        "coverFrom": data["cover"]["from"], "coverUntil": data["cover"]["until"],
        "triggers": triggers,
    }
    if settlement is not None and settlement != plan.invoice_currency:
        terms["settlementCurrency"] = settlement
    return terms


def _kzt_settled(plans: list[ShipmentPlan]) -> str | None:
    """The container whose policy settles in the other currency: the first covered one held
    at its port, so that its claims show the conversion."""
    return next((p.container for p in plans if p.delayed_days), None)


def _sign_and_witness(ledger: RunningLog) -> None:
    ledger.sign_now()
    ledger.witness_now()


def insure_demo(conn: Connection, ledger: RunningLog, parties: Mapping[str, PartyRef],
                scenario: Scenario) -> InsuranceSummary:
    """Notices, policies, binding, evaluation (see the module docstring)."""
    service = InsuranceService(ledger)
    done = InsuranceSummary()
    done.notices_posted = _post_notices(conn, ledger, parties[NOTICE_PORT], scenario)
    insurer = viewer_of(conn, parties["insurer"].party_id)
    mine = {unit: policy for policy in service.policies(conn, insurer)
            for unit in policy.terms_json["units"]}
    plans = [p for p in _plans(scenario) if insured(p.number)]
    kzt = _kzt_settled(plans)
    settlement = str(cover_data()["settlement_currency"])
    for plan in plans:
        policy = mine.get(plan.container)
        booked = _step_time(plan, "shipping")
        if policy is None:
            terms = policy_terms(plan, settlement if plan.container == kzt else None)
            if terms is None or booked is None:
                continue
            policy = service.offer(conn, insurer, terms)
        if policy.bound_at is None:  # new, or offered by a load that stopped before binding
            # cover attaches when the exporter ships the container with its documents
            service.bind(conn, viewer_of(conn, parties[plan.shipper].party_id), policy.id,
                         at=booked)
            done.policies_bound += 1
    if done.policies_bound or done.notices_posted:
        _sign_and_witness(ledger)  # only witnessed events trigger
    if service.evaluate(conn).claims:
        _sign_and_witness(ledger)  # covers the claim events, for the bundles
    bound = [p for p in service.policies(conn, insurer) if p.bound_at is not None]
    done.policies = len(bound)
    claims = service.claims(conn, insurer)
    done.claims = len(claims)
    for claim in claims:
        done.payouts[claim.currency] = done.payouts.get(claim.currency, Decimal(0)) \
            + Decimal(claim.payout)
    return done
