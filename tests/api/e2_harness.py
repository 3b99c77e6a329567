"""Test harness of the parties/subscriptions tests: a real `corridor serve` subprocess on
loopback, a real webhook receiver on loopback, parties made through the store, and small
EPCIS document builders."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from corridor.store import Database, migrate
from corridor.store import parties as party_store

CORRIDOR = str(Path(sys.executable).parent / "corridor")
CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def db_url_for(kind: str, tmp_path: Path, request: Any) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'corridor.sqlite3'}"
    return request.getfixturevalue("pg_url")


def module_db_url(kind: str, tmp_path: Path, request: Any) -> str:
    """Like db_url_for, for module-scoped fixtures (pg_url is function-scoped): a fresh
    PostgreSQL schema dropped when the module's tests are done."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'corridor.sqlite3'}"
    import secrets

    import psycopg

    base = request.getfixturevalue("pg_server")
    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    request.addfinalizer(drop)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


class Server:
    """`corridor serve` in a subprocess, killable at will (SIGKILL) and restartable."""

    def __init__(self, db_url: str, data_dir: Path, port: int | None = None, *,
                 allow_private_webhooks: bool = True) -> None:
        self.db_url = db_url
        self.data_dir = data_dir
        self.port = port or free_port()
        # the webhook receivers of these tests listen on loopback, which the SSRF guard
        # refuses unless allowed
        self.allow_private_webhooks = allow_private_webhooks
        self.proc: subprocess.Popen | None = None
        self.log = data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CORRIDOR_DATA_DIR": str(self.data_dir),
               "CORRIDOR_ALLOW_PRIVATE_WEBHOOKS": "1" if self.allow_private_webhooks else "0"}
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [CORRIDOR, "serve", "--db", self.db_url, "--host", "127.0.0.1",
             "--port", str(self.port)],
            cwd=self.data_dir, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"corridor serve exited: {self.log.read_text()[-3000:]}")
            try:
                httpx.get(self.url + "/log/checkpoint", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"corridor serve did not start: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def add_party(db_url: str, name: str, identifier: str, role: str = "member",
              extra: tuple[str, ...] = ()) -> tuple[int, str]:
    db = Database(db_url)
    with db.connect() as conn:
        migrate(db, conn)
        party, key = party_store.add_party(conn, name, identifier, role=role,
                                           extra_identifiers=extra)
    return party.id, key


def auth(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def event_ids(self) -> list[str]:
        doc = self.json()
        return [e["eventID"] for e in doc["epcisBody"]["queryResults"]["resultsBody"]
                ["eventList"]]


@dataclass
class Receiver:
    """A webhook receiver on loopback. `fail_first` requests answer 500 (then 200)."""

    fail_first: int = 0
    port: int = 0  # 0: any free port
    received: list[Received] = field(default_factory=list)
    attempts: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.attempts.append(time.monotonic())
                    fail = len(receiver.attempts) <= receiver.fail_first
                    if not fail:
                        receiver.received.append(
                            Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                     body))
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def event_ids(self) -> list[str]:
        with self.lock:
            return [i for r in self.received for i in r.event_ids()]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[str]:
        """Wait until `count` events (in total) arrived; return their ids."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ids = self.event_ids()
            if len(ids) >= count:
                return ids
            time.sleep(0.05)
        return self.event_ids()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def object_event(*, epc: str, biz_step: str = "shipping", location: str | None = None,
                 source: str | None = None, destination: str | None = None,
                 event_id: str | None = None, when: str = "2024-05-01T10:00:00.000Z"
                 ) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": event_id or f"urn:uuid:{uuid.uuid4()}",
        "eventTime": when,
        "eventTimeZoneOffset": "+00:00",
        "epcList": [epc],
        "action": "OBSERVE",
        "bizStep": biz_step,
    }
    if location:
        event["bizLocation"] = {"id": location}
    if source:
        event["sourceList"] = [{"type": "owning_party", "source": source}]
    if destination:
        event["destinationList"] = [{"type": "owning_party", "destination": destination}]
    return event


def document(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@context": [CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T10:00:00.000Z",
        "epcisBody": {"eventList": events},
    }


def capture(client: httpx.Client, key: str | None, events: list[dict[str, Any]],
            timeout: float = 20.0) -> dict[str, Any]:
    """POST /epcis/capture and wait for the job to finish; return the job."""
    r = client.post("/epcis/capture", json=document(events),
                    headers={**auth(key), "Content-Type": "application/ld+json"})
    assert r.status_code == 202, r.text
    location = r.headers["Location"]
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(location, headers=auth(key))
        assert job.status_code == 200, job.text
        body = job.json()
        if not body.get("running"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"capture job still running: {body}")
        time.sleep(0.05)


def create_query(client: httpx.Client, key: str, name: str, query: dict[str, Any]) -> None:
    r = client.post("/epcis/queries", json={"name": name, "query": query}, headers=auth(key))
    assert r.status_code == 201, r.text
