"""Insurance figures of issue 21; prints its numbers.

Targets: evaluating all triggers for 10,000 policies after each captured event adds under
0.2 ms per event; a claim bundle of 50 events verifies in under 100 ms.

On a temporary SQLite node (no witnesses: every signed checkpoint counts as witnessed):
1. --policies policies are offered and bound, each on its own container, with the triggers of
   the demo's policies (door-to-door delay, dwell and a load-cut notice at the port,
   dispositions, temperature). Then --rounds rounds: each captures one event for each of
   --per-round insured containers (the next step of its journey, one EPCIS document of
   100 events at a time, like a busy port's capture), plus as many events of uninsured
   containers, signs a checkpoint and runs one evaluation pass (InsuranceService.evaluate:
   the policies the new events touch, evaluated again on their units' verified events, new
   events shared with the insurer, claims opened). Per round: the capture time per event, and
   the evaluation time per captured event (the figure the 0.2 ms target is read against, as
   the cost the evaluation adds to each captured event), with the ratio to capture.
2. A container whose temperature stays above the policy's limit across 50 sensor reports
   opens a claim resting on those 50 events; its bundle (50 events with their receipts, the
   binding event, the terms) is verified offline (corridor.insurance.bundle.verify_bundle):
   the median of --verifications runs.

Figures are medians over rounds, wall-clock on one thread.

Usage: .venv/bin/python bench/bench_insurance.py [--policies N] [--rounds R] [--per-round K]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from corridor.capture import capture_document
from corridor.config import Settings
from corridor.epcis.documents import read_document
from corridor.insurance.bundle import verify_bundle
from corridor.insurance.evidence import claim_bundle
from corridor.insurance.service import InsuranceService
from corridor.ledger.policy import threshold_policy
from corridor.node import RunningLog, open_ledger
from corridor.query import Viewer
from corridor.store.db import Connection, Database
from corridor.store.migrations import migrate
from corridor.store.parties import Party, add_party

EVALUATION_TARGET_MS = 0.2
VERIFY_TARGET_MS = 100.0
CTX = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
INSURER = "urn:epc:id:pgln:8010605.00000"
INSURED = "urn:epc:id:pgln:4870101.00000"
PORT = "urn:epc:id:sgln:4870104.00010.0"
# The stops of a journey, in order: each round moves every container one stop on.
STOPS = ["urn:epc:id:sgln:4870101.00001.0", PORT, PORT, "urn:epc:id:sgln:4760202.00010.0",
         "urn:epc:id:sgln:4860302.00010.0", "urn:epc:id:sgln:8010602.00010.0",
         "urn:epc:id:sgln:8010603.00001.0"]
STEPS = ["departing", "arriving", "departing", "arriving", "arriving", "arriving", "receiving"]
START = datetime(2026, 3, 2, tzinfo=UTC)


def sscc(n: int) -> str:
    return f"urn:epc:id:sscc:4870101.{n:010d}"


def terms(unit: str) -> dict[str, Any]:
    return {
        "insurer": INSURER, "insured": INSURED, "units": [unit], "sumInsured": "60000.00",
        "currency": "USD", "premium": "900.00", "coverFrom": "2026-01-01T00:00:00Z",
        "coverUntil": "2026-12-31T23:59:59Z",
        "triggers": [
            {"id": "late", "type": "delay", "destination": STOPS[-1],
             "promisedArrival": "2026-04-01T00:00:00Z",
             "tiers": [{"atLeastHours": 48, "share": "0.25"},
                       {"atLeastHours": 120, "share": "0.5"}]},
            {"id": "port", "type": "dwell", "node": PORT,
             "tiers": [{"atLeastHours": 96, "share": "0.1"}]},
            {"id": "cut", "type": "notice", "node": PORT, "kinds": ["load_cut"],
             "tiers": [{"atLeastHours": 24, "share": "0.05"}]},
            {"id": "loss", "type": "disposition", "dispositions": ["damaged", "stolen"],
             "tiers": [{"share": "1"}]},
            {"id": "heat", "type": "sensor", "measurement": "Temperature", "uom": "CEL",
             "min": "-30", "max": "40", "tiers": [{"atLeastMinutes": 360, "share": "0.2"}]},
        ]}


def event(unit: str, step: int, when: datetime) -> dict[str, Any]:
    place = STOPS[step % len(STOPS)]
    return {"type": "ObjectEvent", "eventTime": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "eventTimeZoneOffset": "+00:00", "epcList": [unit], "action": "OBSERVE",
            "bizStep": STEPS[step % len(STEPS)], "disposition": "in_transit",
            "readPoint": {"id": place}, "bizLocation": {"id": place},
            "sourceList": [{"type": "owning_party", "source": INSURED}]}


def capture(conn: Connection, ledger: RunningLog, party: Party, events: list[dict[str, Any]]
            ) -> None:
    for start in range(0, len(events), 100):
        doc = {"@context": CTX, "type": "EPCISDocument", "schemaVersion": "2.0",
               "creationDate": "2026-03-01T00:00:00Z",
               "epcisBody": {"eventList": events[start:start + 100]}}
        result = capture_document(conn, ledger, read_document(
            json.dumps(doc).encode(), "application/ld+json"), party_id=party.id,
            party_identifier=party.identifier)
        assert result.success, result.errors[:2]


def bind_all(conn: Connection, service: InsuranceService, units: list[str]) -> float:
    admin = Viewer(0, (), "admin")
    started = time.perf_counter()
    for unit in units:
        policy = service.offer(conn, admin, terms(unit))
        service.bind(conn, admin, policy.id, at=START - timedelta(days=1))
    return time.perf_counter() - started


def rounds(conn: Connection, ledger: RunningLog, service: InsuranceService, party: Party,
           args: argparse.Namespace) -> list[tuple[float, float, int]]:
    """(capture s, evaluation s, events) per round, after one pass over the bindings."""
    ledger.sign_now()
    service.evaluate(conn)
    out = []
    for r in range(args.rounds):
        when = START + timedelta(hours=30 * r)
        batch = [event(sscc(n), r, when + timedelta(seconds=n)) for n in range(args.per_round)]
        batch += [event(sscc(10_000_000 + n), r, when) for n in range(args.per_round)]
        t0 = time.perf_counter()
        capture(conn, ledger, party, batch)
        t1 = time.perf_counter()
        ledger.sign_now()
        t2 = time.perf_counter()
        service.evaluate(conn)
        t3 = time.perf_counter()
        out.append((t1 - t0, t3 - t2, len(batch)))
    return out


def hot_bundle(conn: Connection, ledger: RunningLog, service: InsuranceService,
               party: Party, reports: int) -> dict[str, Any]:
    """A claim resting on `reports` sensor events, each one reading above 40 CEL."""
    unit = sscc(9_999_999)
    admin = Viewer(0, (), "admin")
    policy = service.offer(conn, admin, terms(unit))
    service.bind(conn, admin, policy.id, at=START - timedelta(days=1))
    hot = []
    for k in range(reports + 1):
        when = START + timedelta(hours=k)
        hot.append({"type": "ObjectEvent", "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "eventTimeZoneOffset": "+00:00", "epcList": [unit], "action": "OBSERVE",
                    "bizStep": "sensor_reporting", "readPoint": {"id": PORT},
                    "sourceList": [{"type": "owning_party", "source": INSURED}],
                    "sensorElementList": [{"sensorMetadata": {"time": when.strftime(
                        "%Y-%m-%dT%H:%M:%SZ")}, "sensorReport": [{
                            "type": "Temperature", "uom": "CEL",
                            "value": 44.5 if k < reports else 21.0}]}]})
    capture(conn, ledger, party, hot)
    ledger.sign_now()
    service.evaluate(conn)
    claim = next(c for c in service.claims(conn, admin, policy.id) if c.trigger_id == "heat")
    ledger.sign_now()
    return claim_bundle(conn, service, admin, claim.id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policies", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--per-round", type=int, default=500)
    parser.add_argument("--verifications", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), db_url=f"sqlite:///{tmp}/bench.db",
                            witnesses=[], witness_quorum=0)
        db = Database(settings.db_url)
        conn = db.connect()
        migrate(db, conn)
        ledger = open_ledger(settings, db)
        add_party(conn, "Insurer", INSURER)
        party = add_party(conn, "Shipper", INSURED)[0]
        service = InsuranceService(ledger)
        bound_s = bind_all(conn, service, [sscc(n) for n in range(args.policies)])
        print(f"policies: {args.policies} offered and bound in {bound_s:.1f} s "
              f"({args.policies / bound_s:,.0f}/s)")
        measured = rounds(conn, ledger, service, party, args)
        for n, (cap, ev, count) in enumerate(measured):
            print(f"round {n}: {count} events, capture {cap / count * 1e3:.3f} ms/event, "
                  f"evaluation {ev / count * 1e3:.3f} ms/event")
        capture_ms = statistics.median(c / n * 1e3 for c, _, n in measured)
        evaluate_ms = statistics.median(e / n * 1e3 for _, e, n in measured)
        print(f"evaluation with {args.policies} policies: median {evaluate_ms:.3f} ms per "
              f"captured event (target < {EVALUATION_TARGET_MS} ms), "
              f"{evaluate_ms / capture_ms:.2f}x the capture's {capture_ms:.3f} ms/event")
        bundle = hot_bundle(conn, ledger, service, party, 50)
        trust = threshold_policy(ledger.signer.verifier, [], 0)
        times = []
        for _ in range(args.verifications):
            t0 = time.perf_counter()
            report = verify_bundle(bundle, ledger.signer.verifier, trust)
            times.append(time.perf_counter() - t0)
            assert report.ok, report.as_json()
        verify_ms = statistics.median(times) * 1e3
        print(f"bundle of {len(bundle['events'])} events: verified offline in median "
              f"{verify_ms:.1f} ms (target < {VERIFY_TARGET_MS:.0f} ms)")
        ledger.close()
        conn.close()
    ok = evaluate_ms < EVALUATION_TARGET_MS and verify_ms < VERIFY_TARGET_MS
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
