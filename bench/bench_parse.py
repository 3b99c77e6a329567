"""Parsing + validation throughput of EPCIS 2.0 JSON-LD documents (issue 2 target: at least
30,000 events/s on one core).

Builds a 20,000-event document from the official GS1 examples (all five event types, sensor
data, ILMD, error declarations, extensions), varying each copy's eventTime and identifiers, then
times `corridor.epcis.read_document` (parse with orjson + full validation against the official
EPCIS JSON schema with jsonschema_rs). Prints the median over several runs, in wall-clock and
CPU time, with orjson.loads alone on the same bytes as the floor (the parse Corridor cannot go
below), plus the streaming reader (`iter_events`: json_stream + validation in batches) for scale.

Run: .venv/bin/python bench/bench_parse.py [--events N] [--runs R]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corridor.epcis import read_document, validate_bytes
from corridor.epcis.documents import iter_events

CONFORMANCE = Path(os.environ.get("CORRIDOR_CONFORMANCE", ROOT.parent / "shared" / "conformance"))


def sample_events() -> tuple[list[dict], list]:
    """Every event of the valid JSON examples, and a merged @context for their prefixes."""
    events: list[dict] = []
    context: dict[str, str] = {}
    for path in sorted((CONFORMANCE / "gs1-epcis" / "JSON").rglob("*.jsonld")):
        data = path.read_bytes()
        doc = json.loads(data)
        if doc.get("type") != "EPCISDocument" or validate_bytes(data):
            continue
        for entry in doc.get("@context", []):
            if isinstance(entry, dict):
                context.update({k: v for k, v in entry.items() if isinstance(v, str)})
        events.extend(doc["epcisBody"]["eventList"])
    if not events:
        raise SystemExit(f"no examples found under {CONFORMANCE}")
    return events, ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", context]


def build_document(count: int) -> tuple[bytes, Counter]:
    events, context = sample_events()
    out = []
    for i in range(count):
        event = json.loads(json.dumps(events[i % len(events)]))
        event["eventTime"] = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00.000Z"
        event["eventID"] = f"urn:uuid:00000000-0000-4000-8000-{i:012d}"
        for key in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
            if key in event:
                event[key] = [f"{epc}.{i}" for epc in event[key]]
        out.append(event)
    doc = {"@context": context, "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2024-01-01T00:00:00Z", "epcisBody": {"eventList": out}}
    return json.dumps(doc).encode(), Counter(e["type"] for e in out)


def timed(func) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data, mix = build_document(args.events)
    print(f"document: {args.events} events, {len(data) / 1e6:.1f} MB; mix: "
          + ", ".join(f"{k} {v}" for k, v in sorted(mix.items())))
    limit = len(data) + 1

    def whole() -> None:
        doc = read_document(data, max_bytes=limit)
        assert len(doc.events) == args.events

    def streamed() -> None:
        count = sum(1 for _ in iter_events(io.BytesIO(data), max_bytes=limit))
        assert count == args.events

    def floor() -> None:
        orjson.loads(data)

    whole()  # warm up: compiles the schema validators once
    for name, func, runs in (
            ("read_document (parse + validate)", whole, args.runs),
            ("  baseline: orjson.loads alone, same bytes", floor, args.runs),
            ("iter_events (streaming parse + validate)", streamed, max(1, args.runs // 2))):
        times = [timed(func) for _ in range(runs)]
        wall = statistics.median(r[0] for r in times)
        cpu = statistics.median(r[1] for r in times)
        print(f"{name}: median of {runs}: {args.events / wall:,.0f} events/s wall, "
              f"{args.events / cpu:,.0f} events/s CPU ({wall * 1000:.0f} ms)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end: {load:.2f} (the machine is shared; CPU time is the "
          "steadier figure)")


if __name__ == "__main__":
    main()
