"""Large capture documents are prepared in worker processes: the same jobs, events and errors
as on the server's own thread, and a worker killed mid-life does not fail a capture."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.e1_server import Node, all_events, capture, event_doc, object_event, start_node


def _node(tmp: Path, workers: int) -> tuple[Node, Any]:
    # every document (process_bytes=1) goes to the workers, or none (workers=0)
    return start_node(f"sqlite:///{tmp / 'c.sqlite3'}", tmp, max_capture_events=50,
                      capture_workers=workers, capture_process_bytes=1)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Node]]:
    pooled, s1 = _node(tmp_path_factory.mktemp("pooled"), 1)
    inline, s2 = _node(tmp_path_factory.mktemp("inline"), 0)
    try:
        yield pooled, inline
    finally:
        s1.stop()
        s2.stop()


def _outcome(node: Node, body: bytes, media: str = "application/ld+json",
             **headers: str) -> tuple[int, Any]:
    with node.client("alice") as alice:
        r = capture(alice, body, media, **headers)
        out = r.json() if r.content else None
        if r.status_code == 202:
            job = alice.get(r.headers["Location"]).json()
            out = (job["success"], job["eventCount"],
                   [(e["eventHashID"], e["duplicate"]) for e in job["events"]],
                   [(e["location"], e["rule"]) for e in job["errors"]])
        elif isinstance(out, dict):
            out = (out.get("type"), out.get("detail", "").split(";")[0])
        return r.status_code, out


def _doc(tag: str, n: int = 20, **extra: Any) -> bytes:
    import json

    return json.dumps(event_doc([object_event(f"urn:epc:id:sgtin:0614141.812345.{tag}{i}",
                                              **extra) for i in range(n)])).encode()


def test_workers_and_thread_agree(nodes: tuple[Node, Node], conformance: Path) -> None:
    pooled, inline = nodes
    bad_event = _doc("B", 3).replace(b'"OBSERVE"', b'"SIDEWAYS"', 1)
    xml = (conformance / "gs1-epcis" / "XML" / "Example_9.6.1-ObjectEvent-2020_06_18a.xml")
    cases: list[tuple[bytes, str, dict[str, str]]] = [
        (_doc("A"), "application/ld+json", {}),  # stored
        (_doc("A"), "application/ld+json", {}),  # again: every event a duplicate
        (xml.read_bytes(), "application/xml", {}),
        (bad_event, "application/ld+json", {}),  # rollback: 400, nothing stored
        (bad_event, "application/ld+json", {"GS1-Capture-Error-Behaviour": "proceed"}),
        (_doc("M", 51), "application/ld+json", {}),  # over the capture limit: 413
        (b"{not json", "application/ld+json", {}),
    ]
    for body, media, headers in cases:
        got = _outcome(pooled, body, media, **headers)
        assert got == _outcome(inline, body, media, **headers), (body[:80], got)
    with pooled.client("alice") as a, inline.client("alice") as b:
        assert sorted(e["eventID"] for e in all_events(a, {"perPage": 1000})) == sorted(
            e["eventID"] for e in all_events(b, {"perPage": 1000}))


def test_a_killed_worker_does_not_fail_a_capture(nodes: tuple[Node, Node]) -> None:
    pooled, _ = nodes
    assert _outcome(pooled, _doc("K1"))[0] == 202  # the pool is running
    pool = pooled.app.state.ctx.parts["capture-preparer"]._pool
    assert pool is not None
    for pid in list(pool._processes):
        os.kill(pid, signal.SIGKILL)
    status, (success, count, events, _errors) = _outcome(pooled, _doc("K2"))
    assert status == 202 and success and count == 20 and not any(d for _, d in events)
    # and the next one gets a fresh pool
    assert _outcome(pooled, _doc("K3"))[1][0] is True
    assert pooled.app.state.ctx.parts["capture-preparer"]._pool is not pool
