"""`corridor serve` as a user runs it: a subprocess on loopback that prints its URL and
answers the EPCIS REST binding, and captures an EPCISQueryDocument (the binding accepts both
document kinds)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from corridor.store.db import Database
from tests.api.e1_server import free_port, make_parties

CORRIDOR = str(Path(sys.executable).parent / "corridor")


def test_serve_prints_url_and_serves(tmp_path: Path, conformance: Path) -> None:
    port = free_port()
    db_url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    keys, _ids = make_parties(Database(db_url))
    env = {**os.environ, "CORRIDOR_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([CORRIDOR, "serve", "--db", db_url, "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert f"http://127.0.0.1:{port}/" in line
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                root = httpx.get(base + "/epcis/")
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        assert root.status_code == 200 and "events" in root.json()["member"]
        doc = (conformance / "gs1-epcis" / "JSON" / "EPCISQueryDocument.jsonld").read_bytes()
        r = httpx.post(base + "/epcis/capture", content=doc,
                       headers={"Authorization": f"Bearer {keys['alice']}",
                                "Content-Type": "application/ld+json"})
        assert r.status_code == 202, r.text
        job = httpx.get(base + r.headers["Location"],
                        headers={"Authorization": f"Bearer {keys['alice']}"}).json()
        assert job["success"] and job["events"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
