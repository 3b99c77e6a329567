"""Crash safety: SIGKILL `corridor serve` at random moments during a stream of captures.

After the last restart: every acknowledged event is stored (a capture job reported success,
or POST /epcis/events answered 201), no document is half-stored (each document's events are
all there or none), the node's own store audits clean, and the public log verifies from
outside over HTTP (`corridor log verify`).
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.api.e2_harness import (
    CORRIDOR,
    Server,
    add_party,
    auth,
    db_url_for,
    document,
    object_event,
)

DOC_EVENTS = 4


class Stream:
    """Captures documents in a loop, recording what the server acknowledged."""

    def __init__(self, base: str, key: str, prefix: str) -> None:
        self.base, self.key, self.prefix = base, key, prefix
        self.sent: list[list[str]] = []  # event ids per document (documents only)
        self.acked: set[str] = set()
        self.stop = threading.Event()
        self.n = 0

    def _event(self) -> dict:
        self.n += 1
        return object_event(epc=f"urn:epc:id:sgtin:4800000.000001.{self.prefix}{self.n}",
                            event_id=f"urn:uuid:{uuid.uuid4()}")

    def run(self) -> None:
        client = httpx.Client(base_url=self.base, timeout=5.0)
        try:
            while not self.stop.is_set():
                try:
                    if self.n % 3 == 0:
                        self._single(client)
                    else:
                        self._document(client)
                except httpx.HTTPError:
                    time.sleep(0.05)  # the server is down; keep trying until told to stop
        finally:
            client.close()

    def _single(self, client: httpx.Client) -> None:
        event = self._event()
        self.sent.append([event["eventID"]])
        r = client.post("/epcis/events", json=event,
                        headers={**auth(self.key), "Content-Type": "application/ld+json"})
        if r.status_code == 201:
            self.acked.add(event["eventID"])

    def _document(self, client: httpx.Client) -> None:
        events = [self._event() for _ in range(DOC_EVENTS)]
        ids = [e["eventID"] for e in events]
        self.sent.append(ids)
        r = client.post("/epcis/capture", json=document(events),
                        headers={**auth(self.key), "Content-Type": "application/ld+json"})
        if r.status_code != 202:
            return
        location = r.headers["Location"]
        for _ in range(200):
            job = client.get(location, headers=auth(self.key))
            if job.status_code == 200 and not job.json().get("running"):
                if job.json().get("success"):
                    self.acked.update(ids)
                return
            time.sleep(0.02)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sigkill_during_captures(kind: str, tmp_path: Path, request) -> None:
    url = db_url_for(kind, tmp_path, request)
    _, key = add_party(url, "Alpha", "urn:epc:id:pgln:4800000.00001")
    server = Server(url, tmp_path / "node").start()
    rng = random.Random(20240501)
    stream = Stream(server.url, key, "k")
    worker = threading.Thread(target=stream.run, daemon=True)
    worker.start()
    try:
        for _ in range(3):
            time.sleep(rng.uniform(0.3, 1.2))
            server.kill()
            time.sleep(rng.uniform(0.0, 0.3))
            server.start()
        time.sleep(rng.uniform(0.3, 1.0))
    finally:
        stream.stop.set()
        worker.join(timeout=30)
    try:
        assert stream.acked, "no capture was acknowledged: the test proved nothing"
        client = httpx.Client(base_url=server.url, timeout=30.0)
        stored: set[str] = set()
        for ids in stream.sent:
            present = [i for i in ids
                       if client.get(f"/epcis/events/{quote(i, safe='')}",
                                     headers=auth(key)).status_code == 200]
            assert len(present) in (0, len(ids)), f"half-stored document: {present} of {ids}"
            stored.update(present)
        lost = stream.acked - stored
        assert not lost, f"{len(lost)} acknowledged events lost"
        # The node's own audit, then the public log verified from outside over HTTP.
        deadline = time.monotonic() + 15
        info = client.get("/log/info").json()
        while time.monotonic() < deadline:
            cp = client.get("/log/checkpoint")
            if cp.status_code == 200 and int(cp.text.splitlines()[1]) >= len(stored):
                break
            time.sleep(0.3)
        assert int(cp.text.splitlines()[1]) == len(stored)
        client.close()
        # No capture runs any more: auditing the store beside the live server is safe.
        audit = subprocess.run([CORRIDOR, "log", "audit", "--data-dir", str(server.data_dir),
                                "--db", url], capture_output=True, text=True, timeout=120,
                               check=False)
        assert audit.returncode == 0, audit.stdout + audit.stderr
        verify = subprocess.run([CORRIDOR, "log", "verify", server.url + "/log",
                                 "--vkey", info["log_vkey"]], capture_output=True, text=True,
                                timeout=120, check=False)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert f"size {len(stored)}" in verify.stdout
    finally:
        server.stop()
