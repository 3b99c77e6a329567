"""Large capture documents are prepared in worker processes: the same jobs, events and errors
as on the server's own thread, whole or split; a worker killed mid-life does not fail a
capture, a document that kills every worker fails alone, and no worker outlives its server."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from corridor.capture import prepare_document
from tests.api.e1_server import Node, all_events, capture, event_doc, object_event, start_node
from tests.api.e2_harness import Server, add_party, auth


def _node(tmp: Path, workers: int) -> tuple[Node, Any]:
    # every document (process_bytes=1) goes to the workers, or none (workers=0)
    return start_node(f"sqlite:///{tmp / 'c.sqlite3'}", tmp, max_capture_events=50,
                      capture_workers=workers, capture_process_bytes=1)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Node, Node, Node, Node]]:
    """One worker (whole documents), two (each document split in two: the pool is idle
    between these sequential captures), and a node without workers to compare each with."""
    started = [_node(tmp_path_factory.mktemp(f"w{n}"), n) for n in (1, 2, 0, 0)]
    try:
        yield tuple(node for node, _ in started)  # type: ignore[misc]
    finally:
        for _, server in started:
            server.stop()


def _outcome(node: Node, body: bytes, media: str = "application/ld+json",
             **headers: str) -> tuple[int, Any]:
    with node.client("alice") as alice:
        r = capture(alice, body, media, **headers)
        out = r.json() if r.content else None
        if r.status_code == 202:
            job = alice.get(r.headers["Location"]).json()
            out = (job["success"], job["eventCount"],
                   [(e["eventHashID"], e["duplicate"]) for e in job["events"]],
                   [(e["pointer"], e["rule"]) for e in job["errors"]])
        elif isinstance(out, dict):
            out = (out.get("type"), out.get("detail", "").split(";")[0])
        return r.status_code, out


def _doc(tag: str, n: int = 20, **extra: Any) -> bytes:
    return json.dumps(event_doc([object_event(f"urn:epc:id:sgtin:0614141.812345.{tag}{i}",
                                              **extra) for i in range(n)])).encode()


def _spoil(body: bytes, *indices: int) -> bytes:
    """The document with the action of these events made invalid."""
    doc = json.loads(body)
    for i in indices:
        doc["epcisBody"]["eventList"][i]["action"] = "SIDEWAYS"
    return json.dumps(doc).encode()


def _bad_date(body: bytes, *indices: int) -> bytes:
    """Events whose eventTime passes the schema but is no date (found while preparing)."""
    doc = json.loads(body)
    for i in indices:
        doc["epcisBody"]["eventList"][i]["eventTime"] = "2026-02-30T10:00:00Z"
    return json.dumps(doc).encode()


def _repeat(body: bytes, source: int, target: int) -> bytes:
    """The document with event `target` replaced by a copy of event `source`."""
    doc = json.loads(body)
    events = doc["epcisBody"]["eventList"]
    events[target] = dict(events[source])
    return json.dumps(doc).encode()


@pytest.mark.parametrize("which", ["one worker", "split over two"])
def test_workers_and_thread_agree(nodes: tuple[Node, Node, Node, Node], conformance: Path,
                                  which: str) -> None:
    pooled, inline = (nodes[0], nodes[2]) if which == "one worker" else (nodes[1], nodes[3])
    tag = "1" if which == "one worker" else "2"
    bad_event = _spoil(_doc("B" + tag, 3), 0)
    proceed = {"GS1-Capture-Error-Behaviour": "proceed"}
    xml = (conformance / "gs1-epcis" / "XML" / "Example_9.6.1-ObjectEvent-2020_06_18a.xml")
    cases: list[tuple[bytes, str, dict[str, str]]] = [
        (_doc("A" + tag), "application/ld+json", {}),  # stored
        (_doc("A" + tag), "application/ld+json", {}),  # again: every event a duplicate
        (xml.read_bytes(), "application/xml", {}),
        (bad_event, "application/ld+json", {}),  # rollback: 400, nothing stored
        (bad_event, "application/ld+json", proceed),
        # bad events in both halves
        (_spoil(_doc("C" + tag), 2, 15, 16), "application/ld+json", proceed),
        (_bad_date(_doc("D" + tag), 3, 18), "application/ld+json", {}),
        # rollback: the first half is clean, the second is not
        (_bad_date(_doc("F" + tag), 18), "application/ld+json", {}),
        # a document repeating an event in both halves: stored once
        (_repeat(_doc("R" + tag), 1, 17), "application/ld+json", {}),
        (_bad_date(_doc("E" + tag), 1, 12), "application/ld+json", proceed),
        (_doc("M" + tag, 51), "application/ld+json", {}),  # over the capture limit: 413
        (b"{not json", "application/ld+json", {}),
    ]
    for body, media, headers in cases:
        got = _outcome(pooled, body, media, **headers)
        assert got == _outcome(inline, body, media, **headers), (body[:80], got)
    preparer = pooled.app.state.ctx.capture.preparer
    assert preparer.split_documents == (0 if which == "one worker" else len(cases))
    with pooled.client("alice") as a, inline.client("alice") as b:
        assert sorted(e["eventID"] for e in all_events(a, {"perPage": 1000})) == sorted(
            e["eventID"] for e in all_events(b, {"perPage": 1000}))


def test_a_killed_worker_does_not_fail_a_capture(nodes: tuple[Node, Node, Node, Node]
                                                 ) -> None:
    pooled = nodes[0]
    assert _outcome(pooled, _doc("K1"))[0] == 202  # the pool is running
    pool = pooled.app.state.ctx.capture.preparer._pool
    assert pool is not None
    for pid in list(pool._processes):
        os.kill(pid, signal.SIGKILL)
    status, (success, count, events, _errors) = _outcome(pooled, _doc("K2"))
    assert status == 202 and success and count == 20 and not any(d for _, d in events)
    # and the next one gets a fresh pool
    assert _outcome(pooled, _doc("K3"))[1][0] is True
    assert pooled.app.state.ctx.capture.preparer._pool is not pool



def _die(body: bytes, media: str, **kwargs: Any) -> Any:
    """Stands in for prepare_document: a document that crashes whatever parses it."""
    os._exit(3)


def test_a_document_that_kills_its_workers_fails_alone(nodes: tuple[Node, Node, Node, Node]
                                                       ) -> None:
    """Tried on two pools, then a 500: never retried in the server process, which goes on."""
    pooled = nodes[1]
    preparer = pooled.app.state.ctx.capture.preparer
    with pooled.client("alice") as alice:
        before = len(all_events(alice, {"perPage": 1000}))
        preparer.run = _die
        try:
            r = capture(alice, _doc("P"))
        finally:
            preparer.run = prepare_document
        assert r.status_code == 500, r.text
        assert r.json()["type"] == "epcisException:ImplementationException"
        assert "nothing was stored" in r.json()["detail"]
        assert len(all_events(alice, {"perPage": 1000})) == before
        assert _outcome(pooled, _doc("P2"))[0] == 202  # and the next one is captured


def _die_on_poison(body: bytes, media: str, **kwargs: Any) -> Any:
    """Stands in for prepare_document: crashes its process on a document holding POISON,
    prepares the others (after a pause, so that they are in flight when it crashes)."""
    if b"POISON" in body:
        time.sleep(0.05)
        os._exit(3)
    time.sleep(0.2)
    return prepare_document(body, media, **kwargs)


def test_a_poisoned_document_fails_no_concurrent_capture(nodes: tuple[Node, Node, Node, Node]
                                                         ) -> None:
    """Documents in flight on the pool a poisoned document breaks are tried again, and that
    retry never shares a pool with the poisoned document's own retry: only it fails."""
    from concurrent.futures import ThreadPoolExecutor

    pooled = nodes[1]  # two workers
    preparer = pooled.app.state.ctx.capture.preparer
    preparer.run = _die_on_poison
    try:
        for round_ in range(3):
            bodies = [_doc(f"Q{round_}-{k}", n=5) for k in range(4)]
            bodies.insert(1, _doc(f"POISON{round_}", n=5))
            with ThreadPoolExecutor(len(bodies)) as pool:
                outcomes = list(pool.map(lambda b: _outcome(pooled, b), bodies))
            statuses = [status for status, _ in outcomes]
            assert statuses == [202, 500, 202, 202, 202], outcomes
            assert all(out[0] is True for status, out in outcomes if status == 202)
    finally:
        preparer.run = prepare_document
    assert _outcome(pooled, _doc("Q-after"))[1][0] is True


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; it only waits for its reaper


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("stop", ["SIGKILL", "SIGTERM"])
def test_workers_leave_with_the_server(tmp_path: Path, stop: str) -> None:
    """However the server ends, its worker processes do not outlive it."""
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    server = Server(url, tmp_path).start()
    try:
        _, key = add_party(url, "alice", "urn:epc:id:pgln:0614141.00001")
        body = _doc("W", 600)
        assert len(body) >= 128 * 1024  # prepared in the workers
        r = httpx.post(server.url + "/epcis/capture", content=body, timeout=60,
                       headers={**auth(key), "Content-Type": "application/ld+json"})
        assert r.status_code == 202 and r.json()["success"], r.text
        assert server.proc is not None
        workers = _children(server.proc.pid)
        assert len(workers) >= 2  # the pool's workers (and its resource tracker)
        server.proc.send_signal(getattr(signal, stop))
        server.proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in workers if _alive(p)]
    finally:
        server.kill()


def _posted(tag: str, **extra: Any) -> bytes:
    return json.dumps(object_event(f"urn:epc:id:sgtin:0614141.812345.{tag}", **extra)).encode()


def _summary(prepared: Any) -> Any:
    """What a prepared single event stands for, without its record time."""
    from corridor.capture import EventRefused

    if isinstance(prepared, EventRefused):
        return ("refused", prepared.title, prepared.detail)
    if isinstance(prepared, list):
        return ("rejected", [(e["location"], e["rule"]) for e in prepared])
    return ("work", [(p.index, p.row.event_id, p.row.hash_id, p.row.doc, tuple(p.row.columns))
                     for p in prepared.prepared],  # index rows: tuples here, lists if pickled
            [[list(row) for row in index.rows(t)] for _, index in prepared.index
             for t in range(3)])


def test_concurrent_single_events_prepared_in_worker_batches(tmp_path: Path) -> None:
    """POST /epcis/events under concurrency: the events go to the worker processes in
    batches, and each comes back as the server itself would have prepared it (valid, not
    JSON, not an object, not a valid EPCIS event, an impossible eventTime: refused by
    validation, corridor.epcis.rules, before the index could choke on it). A worker killed
    from outside fails none: the batch is prepared in the server process, and the next goes
    to a fresh pool."""
    import asyncio

    from corridor.capture import CapturePreparer, prepare_event

    bodies = [_posted(f"B{i}") for i in range(30)] + [
        b"{not json", b"[1, 2]", _posted("B-bad", action="NOT-AN-ACTION"),
        _posted("B-time", eventTime="2026-13-45T00:00:00Z")]
    want = [_summary(prepare_event(b, 7, "urn:epc:id:pgln:0614141.00001", None))
            for b in bodies]
    assert [w[0] for w in want[-5:]] == ["work", "refused", "refused", "refused", "refused"]
    assert "/eventTime: '2026-13-45T00:00:00Z' is not a valid date-time" in want[-1][2]

    async def run(preparer: CapturePreparer) -> list[Any]:
        deadline = time.monotonic() + 60
        while not preparer.takes_events():  # the first call starts the workers
            assert time.monotonic() < deadline, "the workers never answered"
            await asyncio.sleep(0.05)
        got = await asyncio.gather(*(preparer.prepare_event(
            b, 7, "urn:epc:id:pgln:0614141.00001", None) for b in bodies))
        return [_summary(g) for g in got]

    preparer = CapturePreparer(workers=2, process_bytes=1 << 30)
    try:
        assert asyncio.run(run(preparer)) == want
        assert 1 <= preparer.event_batches < len(bodies)  # batched, not one trip per event
        pool = preparer._processes()
        for pid in [p.pid for p in pool._processes.values()]:  # type: ignore[union-attr]
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)

        async def after_kill() -> list[Any]:
            got = await asyncio.gather(*(preparer.prepare_event(
                b, 7, "urn:epc:id:pgln:0614141.00001", None) for b in bodies))
            return [_summary(g) for g in got]

        assert asyncio.run(after_kill()) == want
        assert not preparer.takes_events()  # the broken pool is gone; a fresh one warms
    finally:
        preparer.close()


def test_start_readies_every_worker_before_any_capture(tmp_path: Path) -> None:
    """`corridor serve` starts the pool at startup (CapturePreparer.start): every worker
    process is spawned and answering before the first capture arrives."""
    from corridor.capture import CapturePreparer

    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    server = Server(url, tmp_path).start()
    try:
        assert server.proc is not None
        deadline = time.monotonic() + 30
        while len(_children(server.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_children(server.proc.pid)) >= 2  # no capture was posted
    finally:
        server.kill()
    preparer = CapturePreparer(workers=2, process_bytes=1 << 30)
    try:
        preparer.start()
        preparer.start()  # starting again while they start spawns nothing more
        deadline = time.monotonic() + 60
        while not preparer.takes_events():
            assert time.monotonic() < deadline, "the workers never answered"
            time.sleep(0.05)
        assert len(preparer._processes()._processes) == 2  # type: ignore[arg-type]
    finally:
        preparer.close()


def _collector_state(body: bytes, media: str, **kwargs: Any) -> Any:
    """Stands in for prepare_document: how the cycle collector runs in this worker, and
    whether garbage cycles piled up past the limit are collected before the next job."""
    import gc

    from corridor.capture import workers as capture_prep

    state = (gc.isenabled(), gc.get_freeze_count() > 0)
    for _ in range(capture_prep._COLLECT_AFTER + 10):  # garbage cycles
        cycle: list[Any] = []
        cycle.append(cycle)
    piled = gc.get_count()[0]
    capture_prep._collect_if_due()
    return state, piled > capture_prep._COLLECT_AFTER, gc.get_count()[0] < 1000


def test_workers_collect_cycles_between_jobs_only(tmp_path: Path) -> None:
    """In a worker the automatic collector is off and what the imports made is frozen (its
    passes over a document's parsed objects cost ~6% of the work); garbage is collected
    between jobs once enough piled up. The server process keeps its collector on."""
    import asyncio
    import gc

    from corridor.capture import CapturePreparer

    preparer = CapturePreparer(workers=1, process_bytes=0, run=_collector_state)
    try:
        state = asyncio.run(preparer.prepare(b"{}", "application/ld+json"))
    finally:
        preparer.close()
    assert state == ((False, True), True, True)
    assert gc.isenabled()


def _thread_nice(*_args: Any, **_kwargs: Any) -> int:
    """Stands in for prepare_document (or any pool call): the nice value of the thread it
    runs on."""
    import threading

    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="per-thread priorities are set on Linux only")
def test_documents_are_prepared_below_the_writers_priority() -> None:
    """In a worker, documents are prepared on a thread at nice +10, so that the server's
    writer (the serial stage) is scheduled first; other calls on the pool, such as batches of
    single events, run at the server's own priority."""
    import asyncio

    from corridor.capture.workers import _DOCUMENT_NICE, CapturePreparer

    ours = os.getpriority(os.PRIO_PROCESS, 0)
    preparer = CapturePreparer(workers=1, process_bytes=0, run=_thread_nice)
    try:
        document = asyncio.run(preparer.prepare(b"{}", "application/ld+json"))
        plain = preparer._processes().submit(_thread_nice).result(timeout=60)
    finally:
        preparer.close()
    assert document == min(ours + _DOCUMENT_NICE, 19)
    assert plain == ours
