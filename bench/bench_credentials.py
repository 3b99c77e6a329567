"""Credential figures of issue 20; prints its numbers.

Targets: issue and verify (eddsa-jcs-2022) at least 2,000 credentials/s on one core;
verification of a credential with 20 evidence receipts under 10 ms; eddsa-rdfc-2022 within 5x
of eddsa-jcs-2022.

On a temporary node loaded with the demo (its credentials issued by the demo certifier through
CredentialService), it measures:
1. crypto only, one core: add_proof ("sign"), verify_proof ("verify") and both in turn
   ("sign+verify") with the certifier's key, on a real GreenMetalCredential and a real
   OriginCredential with their proof taken off, per cryptosuite. This is the figure the
   2,000/s target is read against.
2. end to end on the node: CredentialService.issue for the demo's lots (claim computed from the
   events, evidence receipts, status list index, one DB transaction), per cryptosuite. Printed
   beside (1) for comparison; it is not the target's figure.
3. verify_credential (signature, trusted issuer, validity, signed status list, 20 evidence
   receipts) of a demo credential whose evidence is replaced by 20 real log receipts, all
   against one checkpoint (the usual case) and against 20 different checkpoints (each receipt's
   signed note checked on its own; the log is grown by one filler entry between receipts).
4. the rdfc/jcs cost ratio of (1)'s sign+verify.

Rates are medians over --rounds rounds of about --seconds / --rounds each, in CPU time of the
measuring thread (the one-core figure on a shared machine), with wall-clock beside them.

Usage: .venv/bin/python bench/bench_credentials.py [--rounds R] [--shipments N] [--seconds S]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import itertools
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corridor.config import Settings
from corridor.credentials.credential import KINDS, evidence_entry
from corridor.credentials.data_integrity import JCS, RDFC, SUITES, add_proof, verify_proof
from corridor.credentials.keys import IssuerKey
from corridor.credentials.service import CredentialService, IssueRequest
from corridor.credentials.verify import LogTrust, verify_credential
from corridor.demo import load_demo
from corridor.ledger.entry import LogEntry
from corridor.ledger.proof import parse_receipt
from corridor.node import RunningLog, open_ledger
from corridor.query import Viewer
from corridor.store import credentials as store
from corridor.store.db import Connection, Database

RATE_TARGET = 2_000  # credentials/s, jcs sign+verify on one core
LATENCY_TARGET_MS = 10.0  # verification with 20 evidence receipts
RATIO_TARGET = 5.0  # rdfc cost at most this many times jcs
RECEIPTS = 20


@dataclass(frozen=True)
class Rate:
    cpu: float  # per CPU second of the measuring thread, median of the rounds
    wall: float  # per wall-clock second, median of the rounds
    per_round: int  # calls in each round


@dataclass(frozen=True)
class Latency:
    cpu_ms: float  # median
    cpu_p95_ms: float
    wall_ms: float
    wall_p95_ms: float
    runs: int


def _per_call(fn: Callable[[], object]) -> float:
    """Seconds per call once warm: one cold call (imports, caches), then ~0.1 s of calls."""
    fn()
    count, start = 0, time.perf_counter()
    while count < 3 or time.perf_counter() - start < 0.1:
        fn()
        count += 1
    return (time.perf_counter() - start) / count


def measure_rate(fn: Callable[[], object], seconds: float, rounds: int) -> Rate:
    per_round = max(1, int(seconds / rounds / _per_call(fn)))
    cpu, wall = [], []
    for _ in range(rounds):
        gc.collect()
        c0, w0 = time.thread_time(), time.perf_counter()
        for _ in range(per_round):
            fn()
        cpu.append(per_round / max(time.thread_time() - c0, 1e-9))
        wall.append(per_round / (time.perf_counter() - w0))
    return Rate(statistics.median(cpu), statistics.median(wall), per_round)


def _p95(samples: list[float]) -> float:
    return sorted(samples)[math.ceil(len(samples) * 0.95) - 1]


def measure_latency(fn: Callable[[], object], seconds: float, min_runs: int = 50) -> Latency:
    fn()  # warm
    cpu, wall = [], []
    gc.collect()
    end = time.perf_counter() + seconds
    while len(cpu) < min_runs or time.perf_counter() < end:
        c0, w0 = time.thread_time(), time.perf_counter()
        fn()
        cpu.append((time.thread_time() - c0) * 1e3)
        wall.append((time.perf_counter() - w0) * 1e3)
    return Latency(statistics.median(cpu), _p95(cpu), statistics.median(wall), _p95(wall),
                   len(cpu))


# -- the node ----------------------------------------------------------------------------------

@dataclass
class Node:
    settings: Settings
    db: Database
    ledger: RunningLog
    conn: Connection
    service: CredentialService
    certifier: store.Certifier
    key: IssuerKey
    credentials: list[store.StoredCredential]  # the demo's, as issued

    def close(self) -> None:
        self.conn.close()
        self.ledger.close()


def open_demo_node(folder: Path, shipments: int) -> Node:
    settings = Settings(data_dir=folder)
    load_demo(settings, shipments=shipments)
    db = Database(settings.db_url)
    ledger = open_ledger(settings, db)
    conn = db.connect()
    certifier = store.certifiers(conn)[0]
    issued = store.list_credentials(conn, issuer_party=certifier.party_id, limit=100_000)
    return Node(settings, db, ledger, conn, CredentialService(settings, db, ledger), certifier,
                IssuerKey.from_secret_multibase(certifier.secret_key), issued)


def unsigned_of_each_kind(node: Node) -> dict[str, dict[str, Any]]:
    """The first demo credential of each kind, proof taken off."""
    found: dict[str, dict[str, Any]] = {}
    for stored in node.credentials:
        if stored.kind not in found:
            document = json.loads(stored.document)
            document.pop("proof")
            found[stored.kind] = document
    missing = [k for k in KINDS if k not in found]
    if missing:
        raise SystemExit(f"the demo issued no {', '.join(missing)}: try more --shipments")
    return found


# -- (1) crypto only ---------------------------------------------------------------------------

def bench_crypto(node: Node, seconds: float, rounds: int
                 ) -> dict[tuple[str, str], dict[str, Rate]]:
    key = node.key
    results: dict[tuple[str, str], dict[str, Rate]] = {}
    for kind, unsigned in unsigned_of_each_kind(node).items():
        for suite in SUITES:
            signed = add_proof(unsigned, key, cryptosuite=suite)
            verify_proof(signed, expected_purpose="assertionMethod")  # it does verify

            def sign(doc: dict = unsigned, s: str = suite) -> dict:
                return add_proof(doc, key, cryptosuite=s)

            def verify(doc: dict = signed) -> object:
                return verify_proof(doc, expected_purpose="assertionMethod")

            def both(doc: dict = unsigned, s: str = suite) -> object:
                return verify_proof(add_proof(doc, key, cryptosuite=s),
                                    expected_purpose="assertionMethod")

            results[(kind, suite)] = {name: measure_rate(fn, seconds, rounds)
                                      for name, fn in (("sign", sign), ("verify", verify),
                                                       ("sign+verify", both))}
    return results


# -- (2) end to end on the node ----------------------------------------------------------------

def bench_node_issue(node: Node, seconds: float, rounds: int) -> dict[str, Rate]:
    row = node.conn.fetchone("SELECT identifier FROM parties WHERE id = ?",
                             (node.certifier.party_id,))
    viewer = Viewer(node.certifier.party_id, (str(row[0]),), "auditor")
    lots = [(c.kind, c.subject) for c in node.credentials]
    results = {}
    for suite in SUITES:
        requests = [IssueRequest(kind, subject, suite) for kind, subject in lots]
        turn = itertools.count()

        def issue(reqs: list[IssueRequest] = requests, n: Iterator[int] = turn) -> object:
            return node.service.issue(node.conn, viewer, reqs[next(n) % len(reqs)])

        results[suite] = measure_rate(issue, seconds, rounds)
    return results


# -- (3) verification with 20 evidence receipts ------------------------------------------------

def _evidence(node: Node, index: int) -> dict[str, Any]:
    entry = node.ledger.entry(index)
    receipt = node.ledger.receipt(index)
    assert entry is not None and receipt is not None, f"log entry {index} has no receipt"
    return evidence_entry(LogEntry.decode(entry).event_hash_id, index, node.ledger.origin,
                          receipt)


def _grow_log(node: Node, n: int) -> None:
    """One filler entry, then a new signed (and witnessed) checkpoint."""
    digest = hashlib.sha256(f"bench-filler-{n}".encode()).digest()
    filler = LogEntry(f"ni:///sha-256;{digest.hex()}?ver=CBV2.0", digest,
                      "urn:epc:id:pgln:4870000.00000", "2026-01-01T00:00:00.000000Z")
    with node.conn.transaction():
        node.ledger.append(node.conn, [filler])
    node.ledger.sign_now()
    node.ledger.witness_now()


def twenty_receipt_credentials(node: Node, base: store.StoredCredential
                               ) -> dict[str, dict[str, Any]]:
    """Unsigned: a live demo credential with 20 evidence receipts, against one checkpoint and
    against 20 different ones."""
    document = json.loads(base.document)
    document.pop("proof")
    size = node.ledger.size()
    indices = [i * size // RECEIPTS for i in range(RECEIPTS)]  # spread over the log
    one = [_evidence(node, i) for i in indices]
    many = []
    for n, index in enumerate(indices):
        _grow_log(node, n)
        many.append(_evidence(node, index))
    checkpoints = {parse_receipt(e["receipt"].encode()).checkpoint for e in many}
    assert len(checkpoints) == RECEIPTS, "the receipts should name 20 different checkpoints"
    return {"one checkpoint": {**document, "evidence": one},
            "20 checkpoints": {**document, "evidence": many}}


def bench_twenty(node: Node, seconds: float) -> dict[tuple[str, str], Latency]:
    base = next(c for c in node.credentials if c.revoked_at is None)
    status = node.service.status_list_document(node.conn, base.status_list)
    trust = LogTrust(node.ledger.signer.verifier, node.ledger.policy)
    trusted = [node.certifier.did]
    results = {}
    cases = twenty_receipt_credentials(node, base)
    for suite, case in ((JCS, "one checkpoint"), (JCS, "20 checkpoints"),
                        (RDFC, "one checkpoint")):
        credential = add_proof(cases[case], node.key, cryptosuite=suite)
        report = verify_credential(credential, trusted=trusted, status_list=status, log=trust)
        assert report.ok, json.dumps(report.as_json(), indent=1)
        assert sum(c.name.startswith("evidence ") for c in report.checks) == RECEIPTS

        def verify(doc: dict = credential) -> object:
            return verify_credential(doc, trusted=trusted, status_list=status, log=trust)

        results[(suite, case)] = measure_latency(verify, seconds)
    return results


# -- report ------------------------------------------------------------------------------------

def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_crypto(results: dict[tuple[str, str], dict[str, Rate]], node: Node,
                 rounds: int) -> None:
    sizes = {k: len(json.dumps(d)) for k, d in unsigned_of_each_kind(node).items()}
    print(f"(1) crypto only, one core: credentials/s per CPU second (wall beside), median of "
          f"{rounds} rounds; issuer {node.key.did[:24]}...")
    print(f"{'kind':22} {'cryptosuite':16} {'sign':>15} {'verify':>15} {'sign+verify':>15}")
    for (kind, suite), rates in results.items():
        cells = " ".join(f"{r.cpu:7,.0f} ({r.wall:5,.0f})" for r in rates.values())
        print(f"{kind:22} {suite:16} {cells}")
    print("    documents: " + ", ".join(f"{k} {n:,} bytes of JSON" for k, n in sizes.items()))


def print_node(results: dict[str, Rate], node: Node, rounds: int) -> None:
    kinds = ", ".join(sorted({c.kind for c in node.credentials}))
    print(f"(2) end to end, CredentialService.issue on the node (claim from the events, "
          f"receipts, status index, one transaction), median of {rounds} rounds over the "
          f"{len(node.credentials)} demo lots ({kinds}):")
    for suite, rate in results.items():
        print(f"    {suite:16} {rate.cpu:7,.0f} credentials/s per CPU second "
              f"({rate.wall:,.0f} wall), {rate.per_round} per round")


def print_twenty(results: dict[tuple[str, str], Latency]) -> None:
    print(f"(3) verify_credential with {RECEIPTS} evidence receipts (signature, issuer, "
          "validity, signed status list, receipts), ms:")
    print(f"    {'cryptosuite':16} {'receipts against':16} {'CPU median':>10} {'p95':>7} "
          f"{'wall median':>11} {'p95':>7} {'runs':>6}")
    for (suite, case), lat in results.items():
        print(f"    {suite:16} {case:16} {lat.cpu_ms:10.2f} {lat.cpu_p95_ms:7.2f} "
              f"{lat.wall_ms:11.2f} {lat.wall_p95_ms:7.2f} {lat.runs:6}")


def print_verdicts(crypto: dict[tuple[str, str], dict[str, Rate]], node_rates: dict[str, Rate],
                   twenty: dict[tuple[str, str], Latency]) -> None:
    kinds = sorted({k for k, _ in crypto})
    jcs = {k: crypto[(k, JCS)]["sign+verify"].cpu for k in kinds}
    slowest = min(jcs, key=jcs.__getitem__)
    print(f"{_verdict(jcs[slowest] >= RATE_TARGET)} issue+verify, jcs, crypto only on one core "
          f"(add_proof then verify_proof; the figure the target refers to): "
          f"{jcs[slowest]:,.0f} credentials/s for {slowest}, the slower kind "
          f"(target >= {RATE_TARGET:,}/s)")
    issue = node_rates[JCS].cpu
    print(f"info issue, jcs, end to end on the node (CredentialService.issue, not the target's "
          f"figure): {issue:,.0f} credentials/s; against {RATE_TARGET:,}/s it would be "
          f"{_verdict(issue >= RATE_TARGET)}")
    for case in ("one checkpoint", "20 checkpoints"):
        lat = twenty[(JCS, case)]
        what = "the usual case" if case == "one checkpoint" else "the worst case"
        print(f"{_verdict(lat.cpu_ms < LATENCY_TARGET_MS)} verify with {RECEIPTS} receipts, "
              f"jcs, {case} ({what}): median {lat.cpu_ms:.2f} ms CPU, p95 {lat.cpu_p95_ms:.2f} "
              f"ms (wall median {lat.wall_ms:.2f} ms) (target < {LATENCY_TARGET_MS:g} ms)")
    ratios = {k: jcs[k] / crypto[(k, RDFC)]["sign+verify"].cpu for k in kinds}
    worst = max(ratios, key=ratios.__getitem__)
    detail = ", ".join(f"{k} {r:.1f}x" for k, r in ratios.items())
    print(f"{_verdict(ratios[worst] <= RATIO_TARGET)} rdfc/jcs = {ratios[worst]:.1f}x "
          f"(target <= {RATIO_TARGET:g}x): sign+verify cost, worst kind; {detail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per rate (median)")
    parser.add_argument("--shipments", type=int, default=30, help="demo shipments to load")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="about how long each measurement runs")
    args = parser.parse_args()
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        node = open_demo_node(Path(tmp), args.shipments)
        try:
            print(f"demo node: {args.shipments} shipments, log of {node.ledger.size():,} "
                  f"entries, {len(node.credentials)} credentials, loaded in "
                  f"{time.perf_counter() - start:.1f} s")
            crypto = bench_crypto(node, args.seconds / 2, args.rounds)
            print_crypto(crypto, node, args.rounds)
            node_rates = bench_node_issue(node, args.seconds, args.rounds)
            print_node(node_rates, node, args.rounds)
            twenty = bench_twenty(node, args.seconds)
            print_twenty(twenty)
            print_verdicts(crypto, node_rates, twenty)
        finally:
            node.close()
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
