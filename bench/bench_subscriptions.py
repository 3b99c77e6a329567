"""Subscription delivery: how fast captured events reach a webhook, and what subscriptions
cost capture.

Runs `corridor serve` (SQLite, a temporary directory) in a subprocess and a webhook receiver
in this process, both on loopback. Prints:
- capture throughput (events/s over HTTP, documents of --events events) with no subscription
  (baseline) and with --subs stream subscriptions, and their ratio;
- delivery latency (capture job finished -> webhook received), median and p95;
- delivered events/s per subscription.

    .venv/bin/python bench/bench_subscriptions.py [--docs 20] [--events 100] [--subs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "api"))

from e2_harness import (  # the harness lives with the tests
    Receiver,
    Server,
    add_party,
    auth,
    capture,
    create_query,
    object_event,
)


def _receiver() -> tuple[Receiver, dict[str, float]]:
    arrivals: dict[str, float] = {}
    receiver = Receiver()
    original = receiver.received

    class Noting(list):
        def append(self, item) -> None:  # type: ignore[no-untyped-def]
            now = time.monotonic()
            for event_id in item.event_ids():
                arrivals.setdefault(event_id, now)
            super().append(item)

    receiver.received = Noting(original)
    return receiver, arrivals


def _capture_run(client: httpx.Client, key: str, docs: int, per_doc: int, tag: str
                 ) -> tuple[float, dict[str, float]]:
    finished: dict[str, float] = {}
    start = time.monotonic()
    for d in range(docs):
        events = [object_event(epc=f"urn:epc:id:sgtin:4600000.000001.{tag}{d}x{i}")
                  for i in range(per_doc)]
        job = capture(client, key, events, timeout=120)
        assert job["success"], job
        now = time.monotonic()
        for e in events:
            finished[e["eventID"]] = now
    return time.monotonic() - start, finished


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=20)
    ap.add_argument("--events", type=int, default=100)
    ap.add_argument("--subs", type=int, default=5)
    args = ap.parse_args()
    total = args.docs * args.events
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        _, key = add_party(url, "Bench", "urn:epc:id:pgln:4600000.00001")
        server = Server(url, Path(tmp) / "node").start()
        client = httpx.Client(base_url=server.url, timeout=120)
        receivers: list[tuple[Receiver, dict[str, float]]] = []
        try:
            base_s, _ = _capture_run(client, key, args.docs, args.events, "base")
            create_query(client, key, "all", {})
            for _ in range(args.subs):
                receiver, arrivals = _receiver()
                r = client.post("/epcis/queries/all/subscriptions", headers=auth(key),
                                json={"dest": receiver.url, "stream": True,
                                      "signatureToken": "bench-secret"})
                assert r.status_code == 201, r.text
                receivers.append((receiver, arrivals))
            subs_s, finished = _capture_run(client, key, args.docs, args.events, "subs")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and any(len(a) < total for _, a in receivers):
                time.sleep(0.05)
            latencies = [a[i] - finished[i] for _, a in receivers for i in finished if i in a]
            delivered = [len(a) for _, a in receivers]
            span = [max(a.values()) - min(finished.values()) for _, a in receivers if a]
        finally:
            client.close()
            server.stop()
            for receiver, _ in receivers:
                receiver.close()
    lat = sorted(latencies)
    print(f"capture, no subscription: {total / base_s:,.0f} events/s ({args.docs} docs x "
          f"{args.events} events)")
    print(f"capture, {args.subs} stream subscriptions: {total / subs_s:,.0f} events/s "
          f"(ratio to baseline {base_s / subs_s:.2f})")
    print(f"delivered: {delivered} of {total} per subscription")
    if lat:
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
        print(f"delivery latency (job finished -> webhook): median "
              f"{statistics.median(lat) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    if span:
        print(f"delivered per subscription: {total / max(span):,.0f} events/s")


if __name__ == "__main__":
    main()
