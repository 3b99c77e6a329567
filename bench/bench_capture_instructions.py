"""Instructions per event of each part of a capture, counted by valgrind (callgrind).

Wall-clock figures on this kind of machine drift by tens of per cent within minutes;
instruction counts repeat to a few per cent whatever else runs, so they show what a change
to one part did. Each part runs in a child process under `valgrind --tool=callgrind`, once
over 1 and once over 3 inputs (1,000-event documents of bench_capture's events, or batches
of 1,000 single events); the difference divided by 2,000 is the figure, so start-up and
imports cancel out.

Parts (the document parts include `parse`: subtract it for the part alone):
  parse         read_document without the schema (orjson, the document's structure)
  validate      parse + the schema validation
  hash          parse + the Event Hash ID of each event
  index         parse + index_event; index-python: the same without its C part
  canonical     parse + each event's RFC 8785 bytes and their SHA-256
  prepare       parse + prepare_work (all of the above but validation)
  pickle        prepare + pickling the work for the trip back to the server
  write         the writer's write_captures on SQLite, one document per transaction
  single        prepare_event of single events (POST /epcis/events), everything included
  single-write  the writer on SQLite, groups of 20 single events

Usage: python bench/bench_capture_instructions.py [part ...]   (needs valgrind)
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PARTY = "urn:epc:id:pgln:0614141.00001"
PARTS = ("parse", "validate", "hash", "index", "index-python", "canonical", "prepare",
         "pickle", "write", "single", "single-write")
SMALL, LARGE = 1, 3  # inputs per run; the figure is (I(LARGE) - I(SMALL)) / 2,000


def make_inputs(folder: Path) -> None:
    """LARGE + 1 documents (one warms up) and as many batches of 1,000 single events,
    each with fresh identifiers, plus their prepared works for the writer parts."""
    from bench_capture import CONTEXT, document, event

    from corridor.capture import prepare_document, prepare_event

    for r in range(LARGE + 1):
        body = document([event(r * 1000 + k, "I") for k in range(1000)])
        (folder / f"doc{r}.json").write_bytes(body)
        work = prepare_document(body, "application/ld+json", behaviour="rollback",
                                party_id=1, party=PARTY, signature=None, limit=10 ** 6)
        (folder / f"work{r}.pkl").write_bytes(pickle.dumps(work))
        singles = [json.dumps({"@context": [CONTEXT], **event(r * 1000 + k, "J")}).encode()
                   for k in range(1000)]
        (folder / f"singles{r}.pkl").write_bytes(pickle.dumps(singles))
        works = [prepare_event(b, 1, PARTY, None) for b in singles]
        (folder / f"singleworks{r}.pkl").write_bytes(pickle.dumps(works))


def child(part: str, count: int, folder: Path) -> None:
    """Run `part` over `count` + 1 inputs (the first one warms caches up)."""
    if part == "index-python":
        os.environ["CORRIDOR_PURE_PYTHON"] = "1"
    import hashlib

    from corridor import capture as cap
    from corridor.capture import prepare_event
    from corridor.epcis.documents import read_document
    from corridor.epcis.hashid import event_hash_id
    from corridor.ledger.jcs import canonicalize
    from corridor.store.event_index import index_event

    if part in ("write", "single-write"):
        from corridor.config import Settings
        from corridor.node import open_ledger
        from corridor.store.db import Database
        from corridor.store.migrations import migrate
        from corridor.store.wal import tune_writer

        store = Path(tempfile.mkdtemp())
        url = f"sqlite:///{store / 'c.sqlite3'}"
        db = Database(url)
        conn = db.connect()
        migrate(db, conn)
        tune_writer(conn)
        ledger = open_ledger(Settings(data_dir=store, db_url=url), db)
    for r in range(count + 1):
        if part == "write":
            work = pickle.loads((folder / f"work{r}.pkl").read_bytes())
            cap.write_captures(conn, ledger, [work])
            continue
        if part == "single-write":
            works = pickle.loads((folder / f"singleworks{r}.pkl").read_bytes())
            for start in range(0, len(works), 20):
                cap.write_captures(conn, ledger, works[start:start + 20])
            continue
        if part == "single":
            for body in pickle.loads((folder / f"singles{r}.pkl").read_bytes()):
                prepare_event(body, 1, PARTY, None)
            continue
        doc = read_document((folder / f"doc{r}.json").read_bytes(),
                            validate=part == "validate")
        events, ns = doc.events, doc.namespaces
        if part == "hash":
            for e in events:
                event_hash_id(e, ns)
        elif part in ("index", "index-python"):
            for e in events:
                index_event(e, ns)
        elif part == "canonical":
            for e in events:
                hashlib.sha256(canonicalize(e)).digest()
        elif part in ("prepare", "pickle"):
            work = cap.prepare_work(doc, party_id=1, party_identifier=PARTY)
            if part == "pickle":
                pickle.dumps(work)


def instructions(part: str, count: int, folder: Path) -> int:
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--child", part, str(count), str(folder)],
        capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or not found:
        raise SystemExit(f"{part}: valgrind run failed:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def per_event(part: str, folder: Path) -> int:
    return (instructions(part, LARGE, folder) - instructions(part, SMALL, folder)) // (
        (LARGE - SMALL) * 1000)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
        return
    parts = sys.argv[1:] or list(PARTS)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise SystemExit(f"unknown parts {unknown}; known: {', '.join(PARTS)}")
    if shutil.which("valgrind") is None:
        print("bench_capture_instructions: skipped, valgrind is not installed"
              " (apt-get install valgrind)")
        return
    folder = Path(tempfile.mkdtemp(prefix="corridor-instr-"))
    try:
        make_inputs(folder)
        print("instructions per event (callgrind; runs over 3 inputs minus runs over 1)")
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for part, value in zip(parts, pool.map(lambda p: per_event(p, folder), parts),
                                   strict=True):
                print(f"  {part:<13} {value:>9,}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
