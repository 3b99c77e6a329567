"""Harness of the EPCIS REST tests: the real app on a real uvicorn server on loopback (in a
thread of the test process), over SQLite or PostgreSQL, with parties made through the store."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from corridor.api.http_protocol import JoinedWritesProtocol
from corridor.app import create_app
from corridor.config import Settings
from corridor.store import parties as party_store
from corridor.store.db import Database
from corridor.store.migrations import migrate

ALICE_ID = "urn:epc:id:pgln:0614141.00001"
BOB_ID = "urn:epc:id:pgln:4012345.00001"
CAROL_ID = "urn:epc:id:pgln:0012345.00001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadServer:
    """uvicorn serving an ASGI app in a background thread; stop() shuts it down cleanly."""

    def __init__(self, app: Any, port: int | None = None, http: Any = JoinedWritesProtocol
                 ) -> None:
        self.port = port or free_port()
        # the protocol `corridor serve` runs
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", access_log=False, http=http)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass
class Node:
    url: str
    settings: Settings
    db: Database
    app: Any
    keys: dict[str, str] = field(default_factory=dict)
    party_ids: dict[str, int] = field(default_factory=dict)

    @property
    def ledger(self) -> Any:
        return self.app.state.ctx.ledger

    def client(self, who: str | None = None, **headers: str) -> httpx.Client:
        h = dict(headers)
        if who is not None:
            h["Authorization"] = f"Bearer {self.keys[who]}"
        return httpx.Client(base_url=self.url, headers=h, timeout=60)


def make_parties(db: Database) -> tuple[dict[str, str], dict[str, int]]:
    keys: dict[str, str] = {}
    ids: dict[str, int] = {}
    with db.connect() as conn:
        migrate(db, conn)
        for name, ident, role, extra in (
                ("admin", "urn:epc:id:pgln:9999999.00001", "admin", ()),
                ("alice", ALICE_ID, "member", ("urn:epc:id:sgln:0614141.00001.0",)),
                ("bob", BOB_ID, "member", ()),
                ("carol", CAROL_ID, "auditor", ())):
            party, key = party_store.add_party(conn, name, ident, role=role,
                                               extra_identifiers=extra)
            keys[name], ids[name] = key, party.id
    return keys, ids


def start_node(db_url: str, data_dir: Path, **settings: Any) -> tuple[Node, ThreadServer]:
    # webhook receivers of the tests listen on loopback, refused by default (SSRF guard)
    settings.setdefault("allow_private_webhooks", True)
    s = Settings(data_dir=data_dir, db_url=db_url, **settings)
    db = Database(db_url)
    keys, ids = make_parties(db)
    app = create_app(s)
    server = ThreadServer(app).start()
    return Node(server.url, s, db, app, keys, ids), server


def event_doc(events: list[dict[str, Any]], context: dict[str, str] | None = None
              ) -> dict[str, Any]:
    ctx: list[Any] = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
    if context:
        ctx.append(context)
    return {"@context": ctx, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-01-01T00:00:00Z", "epcisBody": {"eventList": events}}


def object_event(epc: str, *, biz_step: str = "shipping", when: str = "2026-03-01T10:00:00Z",
                 location: str = "urn:epc:id:sgln:0614141.00777.0",
                 **extra: Any) -> dict[str, Any]:
    return {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": when,
            "eventTimeZoneOffset": "+00:00", "epcList": [epc], "bizStep": biz_step,
            "readPoint": {"id": location}, "bizLocation": {"id": location}, **extra}


def capture(client: httpx.Client, doc: dict[str, Any] | bytes, media: str = "application/ld+json",
            **headers: str) -> httpx.Response:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return client.post("/epcis/capture", content=body,
                       headers={"Content-Type": media, **headers})


def all_events(client: httpx.Client, params: dict[str, Any] | None = None,
               **headers: str) -> list[dict[str, Any]]:
    r = client.get("/epcis/events", params=params or {}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
