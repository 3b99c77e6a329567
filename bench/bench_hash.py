"""Event Hash ID throughput and memory.

Prints, for a generated mix of all five EPCIS event types:
- events/s of corridor.epcis.hashid.event_hash_id on one core (median of several runs, fresh
  events each run: unique serials, SSCCs, lots and times; products and sites drawn from a
  catalogue of 300 GTINs and 50 GLNs, as in a real corridor), with the C core
  (corridor/epcis/_hashcore.c) when it is built and, in the same process, with the C core
  turned off (the pure-Python path), and their ratio,
- events/s of the GS1 reference package (epcis-event-hash-generator) on the same events in the
  same run: its full pipeline from the parsed JSON document (its JSON-LD expansion and
  conversion included, which is how it computes hashes) on one large document and on
  one-event documents (its cost per event grows with the document), and its hashing stage alone,
- the ratios, after checking both give the same hash IDs,
- the peak RSS of a child process that streams a generated 100,000-event XML document through
  corridor.epcis.documents.iter_events and hashes every event.

Usage: .venv/bin/python bench/bench_hash.py [--events N] [--runs R] [--stream-events N]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
           {"ex": "https://ns.example.com/epcis/"}]
NAMESPACES_NOTE = "prefixes from the document @context (corridor.epcis.jsonld.context_namespaces)"
BIZ_STEPS = ["shipping", "receiving", "loading", "unloading", "commissioning", "inspecting",
             "departing", "arriving", "storing", "packing", "transporting"]
DISPOSITIONS = ["in_transit", "in_progress", "active", "sellable_accessible", "needs_replacement",
                "container_closed", "damaged"]
ZONES = ["+00:00", "+05:00", "+06:00", "+04:00", "+03:00", "+02:00", "+01:00", "-05:00"]
COMPANIES = ["4012345", "0614141", "9521234", "4870001", "4760001"]


# A corridor-like catalogue: products (GTINs) and sites (GLNs) repeat from event to event,
# serial numbers, SSCCs, lots and times do not.
_CATALOGUE = random.Random(2026)


def _item(cp: str) -> str:
    return f"{_CATALOGUE.randrange(10 ** (13 - len(cp))):0{13 - len(cp)}d}"


PRODUCTS = [(cp, _item(cp)) for cp in COMPANIES for _ in range(60)]
SITES = [(cp, f"{_CATALOGUE.randrange(10 ** (12 - len(cp))):0{12 - len(cp)}d}")
         for cp in COMPANIES for _ in range(10)]


def _sgtin(rng: random.Random) -> str:
    cp, item = rng.choice(PRODUCTS)
    return f"urn:epc:id:sgtin:{cp}.{item}.{rng.randrange(10 ** 9)}"


def _sscc(rng: random.Random) -> str:
    cp = rng.choice(COMPANIES)
    return f"urn:epc:id:sscc:{cp}.{rng.randrange(10 ** (17 - len(cp))):0{17 - len(cp)}d}"


def _sgln(rng: random.Random) -> str:
    cp, ref = rng.choice(SITES)
    return f"urn:epc:id:sgln:{cp}.{ref}.{rng.choice(('0', '0', '1', '2', 'dock3'))}"


def _dl(rng: random.Random) -> str:
    cp, item = rng.choice(PRODUCTS)
    gtin = item[0] + cp + item[1:]
    return f"https://id.gs1.org/01/{gtin}{rng.randrange(10)}/21/{rng.randrange(10 ** 6)}"


def _lgtin(rng: random.Random) -> str:
    cp, item = rng.choice(PRODUCTS)
    return f"urn:epc:class:lgtin:{cp}.{item}.L{rng.randrange(10 ** 4)}"


def _epcs(rng: random.Random, n: int) -> list[str]:
    return [rng.choice((_sgtin, _sscc, _dl))(rng) for _ in range(n)]


def _quantities(rng: random.Random, n: int) -> list[dict]:
    return [{"epcClass": _lgtin(rng), "quantity": round(rng.uniform(1, 5000), rng.choice((0, 1, 2))),
             "uom": rng.choice(("KGM", "TNE", "LTR"))} for _ in range(n)]


def _time(rng: random.Random) -> tuple[str, str]:
    zone = rng.choice(ZONES)
    ms = rng.randrange(1000)
    when = (f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T"
            f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}."
            f"{ms:03d}{zone}")
    return when, zone


def make_event(rng: random.Random, kind: str) -> dict:
    when, zone = _time(rng)
    event: dict = {"type": kind, "eventTime": when, "eventTimeZoneOffset": zone}
    if kind == "ObjectEvent":
        event["epcList"] = _epcs(rng, rng.randrange(1, 6))
        event["action"] = rng.choice(("OBSERVE", "ADD"))
        if rng.random() < 0.3:
            event["quantityList"] = _quantities(rng, rng.randrange(1, 3))
    elif kind == "AggregationEvent":
        event["parentID"] = _sscc(rng)
        event["childEPCs"] = _epcs(rng, rng.randrange(1, 8))
        event["action"] = rng.choice(("ADD", "DELETE", "OBSERVE"))
    elif kind == "TransactionEvent":
        event["parentID"] = _sscc(rng)
        event["epcList"] = _epcs(rng, rng.randrange(1, 4))
        event["action"] = "ADD"
    elif kind == "TransformationEvent":
        event["inputEPCList"] = _epcs(rng, rng.randrange(1, 3))
        event["outputEPCList"] = _epcs(rng, rng.randrange(1, 3))
        event["inputQuantityList"] = _quantities(rng, 1)
        event["outputQuantityList"] = _quantities(rng, 1)
    else:
        event["parentID"] = f"urn:epc:id:grai:{rng.choice(COMPANIES)}.12345.{rng.randrange(999)}"
        event["childEPCs"] = _epcs(rng, rng.randrange(1, 3))
        event["action"] = "ADD"
    event["bizStep"] = rng.choice(BIZ_STEPS)
    event["disposition"] = rng.choice(DISPOSITIONS)
    event["readPoint"] = {"id": _sgln(rng)}
    if rng.random() < 0.7:
        event["bizLocation"] = {"id": _sgln(rng)}
    if kind in ("ObjectEvent", "TransactionEvent") or rng.random() < 0.3:
        event["bizTransactionList"] = [
            {"type": rng.choice(("po", "inv", "bol", "desadv")),
             "bizTransaction": f"urn:epcglobal:cbv:bt:{rng.choice(COMPANIES)}00000{rng.randrange(10)}:"
                               f"{rng.randrange(10 ** 6)}"}]
    if rng.random() < 0.3:
        event["sourceList"] = [{"type": "owning_party", "source": f"urn:epc:id:pgln:{rng.choice(COMPANIES)}.00001"}]
        event["destinationList"] = [{"type": "location", "destination": _sgln(rng)}]
    if kind == "ObjectEvent" and rng.random() < 0.25:
        event["sensorElementList"] = [{
            "sensorMetadata": {"time": _time(rng)[0], "deviceID": _sgtin(rng)},
            "sensorReport": [{"type": "Temperature", "value": round(rng.uniform(-20, 40), 1),
                              "uom": "CEL"},
                             {"type": "RelativeHumidity", "value": rng.randrange(100),
                              "uom": "A93"}]}]
    if rng.random() < 0.3:
        event["ex:wagon"] = f"KZ{rng.randrange(10 ** 8)}"
    if kind == "ObjectEvent" and event["action"] == "ADD" and rng.random() < 0.5:
        event["ilmd"] = {"ex:origin": rng.choice(("KZ", "UZ", "KG", "TJ", "TM"))}
    return event


KINDS = ["ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent",
         "AssociationEvent"]


def make_events(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    return [make_event(rng, KINDS[i % len(KINDS)]) for i in range(n)]


def make_document(events: list[dict]) -> dict:
    return {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-11-27T00:00:00Z", "epcisBody": {"eventList": events}}


def _rates(fn, count: int, runs: int) -> tuple[float, float]:
    """Median events/s over `runs` calls of fn(run_index): (CPU time of this process, wall).
    CPU time is the one-core figure on a shared machine; wall time is shown beside it."""
    cpu, wall = [], []
    for i in range(runs):
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        fn(i)
        cpu.append(count / (time.process_time() - c0))
        wall.append(count / (time.perf_counter() - w0))
    return statistics.median(cpu), statistics.median(wall)


def _reference(doc: dict) -> list[str]:
    from epcis_event_hash_generator import hash_generator, json_to_py

    events = json_to_py.event_list_from_epcis_document_json(json.loads(json.dumps(doc)))
    return hash_generator.calculate_hashes_from_pre_hashes(
        hash_generator.derive_prehashes_from_events(events))


def measure_throughput(n: int, ref_n: int, runs: int) -> None:
    from epcis_event_hash_generator import hash_generator, json_to_py

    from corridor.epcis.hashid import event_hash_id
    from corridor.epcis.jsonld import context_namespaces

    logging.disable(logging.CRITICAL)  # the reference logs at debug level on every node
    ns = context_namespaces(CONTEXT)
    # fresh events for every run, so no run profits from values cached by an earlier one
    batches = [make_events(n, seed=100 + i) for i in range(runs)]
    ref_doc = make_document(batches[0][:ref_n])

    ours = [event_hash_id(e, ns) for e in batches[0][:ref_n]]
    theirs = _reference(ref_doc)
    same = sum(a == b for a, b in zip(ours, theirs))
    print(f"agreement with the reference on {ref_n} events: {same}/{len(theirs)}")

    def run_ours(i: int) -> None:
        for e in batches[i]:
            event_hash_id(e, ns)

    from corridor.epcis import hash_fast

    # pure Python first, on its own fresh batches (the caches of values are shared by both
    # paths: neither gets events whose identifiers the other has already converted)
    was_native = hash_fast.native_enabled()
    hash_fast.set_native(False)
    pure_batches = [make_events(n, seed=200 + i) for i in range(runs)]
    pure_cpu, pure_wall = _rates(lambda i: [event_hash_id(e, ns) for e in pure_batches[i]], n,
                                 runs)
    pure_batches.clear()  # memory back before the next runs
    native = hash_fast.set_native(was_native)
    ref_runs = max(3, runs // 2)
    ours_cpu, ours_wall = _rates(run_ours, n, runs)
    ref_cpu, ref_wall = _rates(lambda i: _reference(ref_doc), ref_n, ref_runs)
    singles = [make_document([e]) for e in batches[0][:ref_n // 4]]
    single_cpu, single_wall = _rates(lambda i: [_reference(d) for d in singles], len(singles),
                                     ref_runs)
    converted = json_to_py.event_list_from_epcis_document_json(json.loads(json.dumps(ref_doc)))
    stage_cpu, stage_wall = _rates(lambda i: hash_generator.calculate_hashes_from_pre_hashes(
        hash_generator.derive_prehashes_from_events(converted)), ref_n, ref_runs)
    kinds = ", ".join(f"{k} {sum(e['type'] == k for e in batches[0])}" for k in KINDS)
    print(f"events per run: {n} ({kinds}); namespaces: {NAMESPACES_NOTE}")
    print("                                   events/s (CPU time)   events/s (wall)")
    label = "C core" if native else "C core not built or off (CORRIDOR_PURE_PYTHON=1)"
    print(f"corridor event_hash_id:            {ours_cpu:12,.0f}        {ours_wall:12,.0f}"
          f"   median of {runs}; {label}")
    print(f"corridor, pure Python:             {pure_cpu:12,.0f}        {pure_wall:12,.0f}"
          f"   median of {runs}; C core turned off in this process")
    print(f"ratio C core vs pure Python:       {ours_cpu / pure_cpu:11.2f}x        "
          f"{ours_wall / pure_wall:11.2f}x")
    print(f"reference, full pipeline:          {ref_cpu:12,.0f}        {ref_wall:12,.0f}"
          f"   median of {ref_runs}, one {ref_n}-event document")
    print(f"reference, one event per document: {single_cpu:12,.0f}        {single_wall:12,.0f}"
          f"   {len(singles)} documents")
    print(f"reference, hashing stage only:     {stage_cpu:12,.0f}        {stage_wall:12,.0f}")
    print(f"ratio vs reference full pipeline:  {ours_cpu / ref_cpu:11.1f}x        "
          f"{ours_wall / ref_wall:11.1f}x")
    print(f"ratio vs reference, 1-event docs:  {ours_cpu / single_cpu:11.1f}x        "
          f"{ours_wall / single_wall:11.1f}x")
    print(f"ratio vs reference hashing stage:  {ours_cpu / stage_cpu:11.1f}x        "
          f"{ours_wall / stage_wall:11.1f}x")


# ---- peak memory while streaming a large XML document ----

def write_xml(path: Path, count: int, block: int = 1000) -> None:
    """A `count`-event XML document: a converted block of generated events, repeated."""
    from corridor.epcis.documents import EpcisDocument, to_xml
    from corridor.epcis.jsonld import context_namespaces

    events = make_events(block, seed=11)
    doc = EpcisDocument("EPCISDocument", {"@context": CONTEXT, "type": "EPCISDocument",
                                          "schemaVersion": "2.0",
                                          "creationDate": "2026-11-27T00:00:00Z",
                                          "epcisBody": {}},
                        events, context_namespaces(CONTEXT))
    xml = to_xml(doc)
    start = xml.index(b"<EventList>") + len(b"<EventList>")
    end = xml.index(b"</EventList>")
    with path.open("wb") as out:
        out.write(xml[:start])
        body = xml[start:end]
        for _ in range(count // block):
            out.write(body)
        out.write(xml[end:])


def _peak_rss_mb() -> float:
    """This process's RSS high-water mark. VmHWM, not getrusage: on Linux a child's ru_maxrss
    starts from its parent's RSS at fork time, which would measure the parent."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_stream(path: str) -> None:
    """(child process) stream + hash every event; print count, seconds, peak RSS in MB."""
    from corridor.epcis.documents import iter_events
    from corridor.epcis.hashid import event_hash_id

    base = _peak_rss_mb()
    start = time.perf_counter()
    count = 0
    with open(path, "rb") as stream:
        for event, namespaces in iter_events(stream, "application/xml", max_bytes=1 << 40):
            event_hash_id(event, namespaces)
            count += 1
    seconds = time.perf_counter() - start
    peak = _peak_rss_mb()
    print(json.dumps({"events": count, "seconds": seconds, "peak_mb": peak,
                      "after_imports_mb": base}))


def measure_memory(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.xml"
        write_xml(path, count)
        size = path.stat().st_size / 2 ** 20
        out = subprocess.run([sys.executable, __file__, "--child-stream", str(path)],
                             capture_output=True, text=True, check=False,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
        if out.returncode != 0:
            raise SystemExit(f"streaming child failed:\n{out.stderr}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"streamed XML document: {result['events']:,} events, {size:,.0f} MB, "
          f"{result['events'] / result['seconds']:,.0f} events/s parse+validate+hash")
    print(f"peak RSS while hashing it: {result['peak_mb']:.1f} MB "
          f"(after imports: {result['after_imports_mb']:.1f} MB; target < 200 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--reference-events", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--stream-events", type=int, default=100_000)
    parser.add_argument("--child-stream")
    args = parser.parse_args()
    if args.child_stream:
        child_stream(args.child_stream)
        return
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
    measure_throughput(args.events, args.reference_events, args.runs)
    measure_memory(args.stream_events)


if __name__ == "__main__":
    main()
