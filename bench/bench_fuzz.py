"""Hostile requests against a real `corridor serve`: every route, generated bad input.

Starts a node on a fresh store (SQLite, or --db postgresql), with four parties: A holds
private events marked by a random secret, B is a hostile member that knows the eventIDs,
EPCs and places of most of them ("targets") and has squatted one of those eventIDs (an event
of its own under it, shared with itself), C is an auditor with no grant, and the public has
no key. A's other events ("hidden") are known to nobody but A. Then it sends
generated requests over every route: query parameters, path segments, headers and bodies
(JSON-LD, XML, JSON of any shape and depth, oversize, invalid UTF-8, lone surrogates),
aimed at A's events or random, and checks each answer:

  5xx     any status >= 500 (grouped by route and the problem's detail)
  hang    no answer within 10 s
  leak    a response to B, C or the public that carries a value of A's hidden events, or
          a value of a target event that this sender never sent itself

and samples the server's resident memory (its process and its capture workers). A few
oversize bodies (chunked, 64 MiB) go to every body route first.

Usage: python bench/bench_fuzz.py [--requests 100000] [--concurrency 16] [--db sqlite|postgresql]
       [--seed N]
The figures: requests by status class, 5xx, hangs, leaks, latency p50/p99, memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
from bench_capture import PG, drop_db, store_url

from corridor.store import parties as party_store
from corridor.store.db import Database
from corridor.store.migrations import migrate

CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
HANG_SECONDS = 10.0
ROLES_SENDING = ("B", "B", "B", "C", "PUBLIC", "PUBLIC", "A", "ADMIN")

# ------------------------------------------------------------------ hostile values

HOSTILE_TEXT = [
    "", " ", "\t", "0", "-1", "1e309", "NaN", "Infinity", "-0", "0x10", "00000000000000000001",
    "99999999999999999999", "-99999999999999999999", "18446744073709551616", "1.5",
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-13-45T99:00:00+05:00",
    "2024-02-30T00:00:00Z", "2024-05-01T10:00:00", "2024-05-01T10:00:00.1234567890123Z",
    "2024-05-01", "now", "urn:epc:id:sgtin:", "urn:epc:id:sgtin:4700000.000001.",
    "urn:epc:id:sgtin:4700000.000001.1", "urn:epc:idpat:sgtin:4700000.*.*",
    "https://id.gs1.org/01/04700000000012/21/1", "https://id.gs1.org/414/", "urn:uuid:",
    "ni:///sha-256;" + "00" * 32 + "?ver=CBV2.0", "ni:///sha-256;zz", "../../etc/passwd",
    "%2e%2e%2f", "' OR 1=1 --", "\"; DROP TABLE events; --", "<script>alert(1)</script>",
    "{{7*7}}", "${jndi:ldap://x}", "\u202e\u0645\u0631\u062d\u0628\u0627", "😀" * 50,
    "a" * 5000, "é" * 3000, "\x00", "a\x00b", "\u0085", "\ufeff", "\uffff",
    "urn:epcglobal:cbv:bizstep:shipping", "shipping", "SHIPPING", "teleporting",
    "https://ns.gs1.org/voc/BizStep-shipping", "ObjectEvent", "NoSuchEvent", "ADD", "add",
]
HOSTILE_NUMBERS: list[object] = [0, -1, 1.5, 10**20, -(10**20), 1e308, 2**63, 2**64, None,
                                 True, [], {}, "12"]
PARAM_NAMES = [
    "eventType", "GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime", "EQ_action",
    "EQ_bizStep", "EQ_disposition", "EQ_readPoint", "WD_readPoint", "EQ_bizLocation",
    "WD_bizLocation", "EQ_transformationID", "MATCH_epc", "MATCH_parentID", "MATCH_inputEPC",
    "MATCH_outputEPC", "MATCH_anyEPC", "MATCH_epcClass", "MATCH_inputEPCClass",
    "MATCH_outputEPCClass", "MATCH_anyEPCClass", "EQ_quantity", "GT_quantity", "LE_quantity",
    "EQ_eventID", "EXISTS_errorDeclaration", "GE_errorDeclarationTime",
    "LT_errorDeclarationTime", "EQ_errorReason", "EQ_correctiveEventID", "orderBy",
    "orderDirection", "eventCountLimit", "maxEventCount", "perPage", "nextPageToken",
    "EQ_bizTransaction_po", "EQ_source_owning_party", "EQ_destination_owning_party",
    "EQ_sensorMetadata_type", "GE_value_CEL", "EQ_type", "GT_minValue", "EXISTS_ILMD_ex:lot",
    "EQ_INNER_ex:x", "EQ_ex:f", "GE_ex:n", "HASATTR_bizLocation", "EQUATTR_bizLocation_x",
    "EQ_persistentDisposition_set", "stream", "unknownParam", "", "a" * 300,
]
DISCOVERY = ["eventTypes", "epcs", "bizSteps", "bizLocations", "readPoints", "dispositions",
             "nope", "a" * 300]


def deep_json(depth: int, kind: str = "list") -> str:
    return ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1"
                                                                + "}" * depth)


@dataclass
class World:
    """What the fuzzer knows of the store it attacks, A's secrets included."""

    base: str
    keys: dict[str, str | None]
    secret: str  # in every value of A's events: <secret>e7z (EPC), p1z (place), h2z (hidden)
    a_event_ids: list[str]
    a_epcs: list[str]
    a_places: list[str]
    log_size: int = 0
    # the secret-bearing values each sender has sent (it may store them and read them back)
    sent: dict[str, set[str]] = field(default_factory=dict)

    def tokens(self, text: str) -> set[str]:
        return set(re.findall(re.escape(self.secret) + r"[eph]\d+z|" + re.escape(self.secret)
                              + "po", text))


@dataclass
class Req:
    who: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    route: str = ""


class Fuzzer:
    """Generates hostile requests over every route of the node."""

    def __init__(self, world: World, seed: int) -> None:
        self.w = world
        self.rng = random.Random(seed)
        self.routes: list[tuple[str, Callable[[], Req]]] = [
            ("GET /epcis/events", self.query_events), ("GET /epcis/events", self.query_events),
            ("GET /epcis/events", self.query_events),
            ("GET /epcis/events/{id}", self.single_event),
            ("GET /epcis/events/{id}/receipt", self.receipt),
            ("POST /epcis/capture", self.capture_document),
            ("POST /epcis/capture", self.capture_document),
            ("POST /epcis/events", self.capture_event),
            ("GET /epcis/capture/{id}", self.capture_job),
            ("GET /epcis/{discovery}", self.discovery),
            ("GET /epcis/{discovery}/{value}/events", self.discovery_item),
            ("POST /epcis/queries", self.create_query),
            ("GET /epcis/queries/{name}/events", self.query_named),
            ("GET|DELETE /epcis/queries/{name}", self.named_query),
            ("POST /epcis/queries/{name}/subscriptions", self.subscribe),
            ("POST|DELETE /parties/shares", self.share),
            ("POST /parties, /parties/grants", self.admin_body),
            ("GET /parties/me, /parties", self.parties_read),
            ("GET /log/...", self.log), ("GET /api/fx/...", self.fx),
            ("GET /, /event/..., /search, ...", self.web), ("POST /login", self.login),
            ("OPTIONS|HEAD|PUT *", self.odd_method),
        ]

    # -- small generators

    def text(self) -> str:
        r = self.rng.random()
        if r < 0.35:
            return self.rng.choice(self.w.a_event_ids + self.w.a_epcs + self.w.a_places)
        if r < 0.85:
            return self.rng.choice(HOSTILE_TEXT)
        return "".join(chr(self.rng.randrange(1, 0x3000)) for _ in range(self.rng.randrange(60)))

    def url_text(self) -> str:
        """A path or query value: percent-encoded, sometimes with raw encoded bytes that are
        not UTF-8 (a lone surrogate's encoding, a bare continuation byte)."""
        if self.rng.random() < 0.08:
            return self.rng.choice(["%ED%A0%80", "%FF", "%C0%AF", "%", "%zz", "%00"])
        return quote(self.text().replace("\x00", "%00"), safe="")

    def who(self) -> str:
        return self.rng.choice(ROLES_SENDING)

    def headers(self, who: str) -> dict[str, str]:
        h: dict[str, str] = {}
        key = self.w.keys.get(who)
        if key:
            h["Authorization"] = f"Bearer {key}"
        r = self.rng.random()
        if r < 0.06:
            h["Authorization"] = self.rng.choice(
                ["Bearer", "Bearer " + "x" * 10000, "Basic eDp5", "Bearer cor_\u00e9", "bearer  "])
        if self.rng.random() < 0.15:
            h["GS1-EPCIS-Version"] = self.rng.choice(
                ["2.0.0", "1.2", "2." + "0" * 5000, "", "x", "2.0.0, 1.2", "9" * 40])
        if self.rng.random() < 0.1:
            h["GS1-CBV-Version"] = self.rng.choice(["2.0.0", "x", "2." + "0" * 3000])
        if self.rng.random() < 0.1:
            h["GS1-EPC-Format"] = self.rng.choice(
                ["Always_GS1_Digital_Link", "Always_EPC_URN", "Never_Translates", "x" * 300])
        if self.rng.random() < 0.08:
            h["GS1-Extensions"] = self.rng.choice(
                ["ex=https://example.com/", "ex=", "=x", "a" * 5000, "ex=urn:x, ex=urn:y"])
        if self.rng.random() < 0.05:
            h["Accept"] = self.rng.choice(["application/xml", "text/html", "*/*", "x/" * 500])
        return h

    def params(self) -> str:
        parts = []
        for _ in range(self.rng.randrange(1, 5)):
            name = self.rng.choice(PARAM_NAMES)
            parts.append(f"{quote(name, safe='')}={self.url_text()}")
        return "&".join(parts)

    def json_value(self, depth: int = 0) -> object:
        r = self.rng.random()
        if depth > 4 or r < 0.4:
            return self.rng.choice([*HOSTILE_TEXT, *HOSTILE_NUMBERS])
        if r < 0.7:
            return [self.json_value(depth + 1) for _ in range(self.rng.randrange(4))]
        return {self.rng.choice(["a", "eventID", "type", "@context", "dest", "name", "query",
                                 "party", "x" * 100]): self.json_value(depth + 1)
                for _ in range(self.rng.randrange(4))}

    def body(self, valid: Callable[[], object]) -> bytes:
        """A body for a JSON route: a valid one with one field made hostile, or garbage."""
        r = self.rng.random()
        if r < 0.45:
            doc = valid()
            _mutate(doc, self.rng, self.json_value)
            return json.dumps(doc, ensure_ascii=self.rng.random() < 0.5).encode("utf-8",
                                                                                  "surrogatepass")
        if r < 0.6:
            return deep_json(self.rng.choice([100, 1000, 5000, 50000]),
                             self.rng.choice(["list", "dict"])).encode()
        if r < 0.7:
            return self.rng.choice([b"", b"{", b"\xff\xfe", b'{"a":"\\ud800"}', b"null", b"[]",
                                    b'"x"', b"1e999999", b'{"a":1,"a":2}', b"\x00" * 100])
        if r < 0.75:
            return b'{"a":"' + b"x" * self.rng.choice([70_000, 2_000_000]) + b'"}'
        return json.dumps(self.json_value()).encode()

    def event(self) -> dict:
        n = self.rng.randrange(10**6)
        return {"type": "ObjectEvent", "eventTime": "2024-05-01T10:00:00Z",
                "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
                "epcList": [f"urn:epc:id:sgtin:4700000.000002.{n}"], "bizStep": "shipping",
                "bizLocation": {"id": "urn:epc:id:sgln:4700000.00002.0"}}

    def document(self) -> dict:
        return {"@context": [CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": "2024-05-01T10:00:00Z",
                "epcisBody": {"eventList": [self.event() for _ in range(self.rng.randrange(1, 4))]}}

    def xml_document(self) -> bytes:
        r = self.rng.random()
        if r < 0.2:
            return (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;'
                    b'&b;&b;&b;&b;">]><x>&c;&c;&c;&c;</x>')
        if r < 0.35:
            return (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                    b"<x>&e;</x>")
        if r < 0.5:
            return b"<a>" * 5000 + b"</a>" * 5000
        value = self.text().replace("&", "&amp;").replace("<", "&lt;")
        value = "".join(c for c in value if c in "\t\n\r" or " " <= c <= "\ud7ff")
        return (
            '<?xml version="1.0" encoding="UTF-8"?><epcis:EPCISDocument '
            'xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" '
            'creationDate="2024-05-01T10:00:00Z"><EPCISBody><EventList><ObjectEvent>'
            f"<eventTime>{value}</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>"
            f"<epcList><epc>{value}</epc></epcList><action>OBSERVE</action>"
            "</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>").encode()

    # -- one generator per route

    def query_events(self) -> Req:
        who = self.who()
        return Req(who, "GET", f"/epcis/events?{self.params()}", self.headers(who))

    def single_event(self) -> Req:
        who = self.who()
        return Req(who, "GET", f"/epcis/events/{self.url_text()}", self.headers(who))

    def receipt(self) -> Req:
        who = self.who()
        return Req(who, "GET", f"/epcis/events/{self.url_text()}/receipt", self.headers(who))

    def capture_document(self) -> Req:
        who = self.who()
        h = self.headers(who)
        if self.rng.random() < 0.25:
            h["Content-Type"] = "application/xml"
            return Req(who, "POST", "/epcis/capture", h, self.xml_document())
        h["Content-Type"] = self.rng.choice(["application/ld+json"] * 5 + ["text/plain", "x"])
        if self.rng.random() < 0.05:
            h["Corridor-Signature"] = self.rng.choice(["x", "ed25519=" + "A" * 86, "=" * 500])
        return Req(who, "POST", "/epcis/capture", h, self.body(self.document))

    def capture_event(self) -> Req:
        who = self.who()
        h = {**self.headers(who), "Content-Type": "application/ld+json"}
        if self.rng.random() < 0.1:
            deep = self.event()
            text = json.dumps(deep)[:-1] + ',"ex:a":' + deep_json(
                self.rng.choice([100, 1000, 20000]), "dict") + "}"
            return Req(who, "POST", "/epcis/events", h, text.encode())
        return Req(who, "POST", "/epcis/events", h,
                   self.body(lambda: {"@context": [CONTEXT], **self.event()}))

    def capture_job(self) -> Req:
        who = self.who()
        job = self.rng.choice(["1", "2", "0", "-1", "99999999999999999999", self.url_text()])
        return Req(who, "GET", f"/epcis/capture/{job}", self.headers(who))

    def discovery(self) -> Req:
        who = self.who()
        resource = quote(self.rng.choice(DISCOVERY), safe="")
        query = f"?{self.params()}" if self.rng.random() < 0.5 else ""
        return Req(who, "GET", f"/epcis/{resource}{query}", self.headers(who))

    def discovery_item(self) -> Req:
        who = self.who()
        resource = quote(self.rng.choice(DISCOVERY), safe="")
        return Req(who, "GET", f"/epcis/{resource}/{self.url_text()}/events?{self.params()}",
                   self.headers(who))

    def create_query(self) -> Req:
        who = self.who()
        h = {**self.headers(who), "Content-Type": "application/json"}
        return Req(who, "POST", "/epcis/queries", h, self.body(lambda: {
            "name": f"q{self.rng.randrange(50)}",
            "query": {self.rng.choice(PARAM_NAMES): [self.text()]}}))

    def query_named(self) -> Req:
        who = self.who()
        name = self.rng.choice([f"q{self.rng.randrange(50)}", self.url_text()])
        return Req(who, "GET", f"/epcis/queries/{name}/events?{self.params()}",
                   self.headers(who))

    def named_query(self) -> Req:
        who = self.who()
        name = self.rng.choice([f"q{self.rng.randrange(50)}", self.url_text()])
        method = self.rng.choice(["GET", "GET", "DELETE"])
        return Req(who, method, f"/epcis/queries/{name}", self.headers(who))

    def subscribe(self) -> Req:
        who = self.who()
        h = {**self.headers(who), "Content-Type": "application/json"}
        dest = self.rng.choice(["http://127.0.0.1:9/hook", "http://[::1]:9/", "ftp://x/",
                                "http://169.254.169.254/latest", "x", "http://" + "a" * 3000,
                                "http://localhost:9/", "https://0x7f000001/"])
        return Req(who, "POST", f"/epcis/queries/q{self.rng.randrange(50)}/subscriptions", h,
                   self.body(lambda: {"dest": dest, "stream": True,
                                      "initialRecordTime": "2000-01-01T00:00:00Z"}))

    def share(self) -> Req:
        # Not A nor the admin: their shares would widen B's view legitimately.
        who = self.rng.choice(["B", "B", "C", "PUBLIC"])
        if self.rng.random() < 0.5:
            return Req(who, "DELETE", f"/parties/shares?eventID={self.url_text()}"
                       f"&party={self.url_text()}", self.headers(who))
        h = {**self.headers(who), "Content-Type": "application/json"}
        return Req(who, "POST", "/parties/shares", h, self.body(lambda: {
            "eventID": self.rng.choice(self.w.a_event_ids), "party": "Beta"}))

    def admin_body(self) -> Req:
        who = self.rng.choice(["ADMIN", "ADMIN", "B", "PUBLIC"])
        h = {**self.headers(who), "Content-Type": "application/json"}
        if self.rng.random() < 0.5:
            return Req(who, "POST", "/parties/grants", h, self.body(
                lambda: {"auditor": "Audit", "party": self.text()}))
        return Req(who, "POST", "/parties", h, self.body(lambda: {
            "name": self.text(), "identifier": f"urn:example:{self.rng.randrange(10**9)}",
            "verifierKey": self.rng.choice(["", "zz", "A" * 44])}))

    def parties_read(self) -> Req:
        who = self.who()
        path = self.rng.choice(["/parties/me", "/parties", f"/parties/{self.url_text()}/revoke"])
        method = "POST" if path.endswith("/revoke") else "GET"
        return Req(who, method, path, self.headers(who))

    def log(self) -> Req:
        r = self.rng.random()
        if r < 0.3:
            groups = "/".join(f"x{self.rng.randrange(1000):03d}"
                              for _ in range(self.rng.randrange(1, 400)))
            path = f"/log/tile/{self.rng.randrange(0, 70)}/{groups}/{self.rng.randrange(1000):03d}"
        elif r < 0.6:
            path = (f"/log/tile/{self.rng.choice(['0', '1', 'entries', '99', '-1', 'x'])}/"
                    f"{self.rng.randrange(1000):03d}"
                    f"{self.rng.choice(['', '.p/1', '.p/256', '.p/0', '.p/999', '.p/x'])}")
        elif r < 0.8:
            path = f"/log/tile/{self.url_text()}"
        else:
            path = self.rng.choice(["/log/checkpoint", "/log/info", "/log/", "/log/tile/"])
        return Req("PUBLIC", "GET", path, {})

    def fx(self) -> Req:
        who = self.who()
        path = self.rng.choice(["ticker", "rates", "convert", "check"])
        q = "&".join(f"{n}={self.url_text()}" for n in self.rng.sample(
            ["base", "quote", "from", "to", "amount", "date", "currency", "bank", "days"],
            self.rng.randrange(0, 4)))
        return Req(who, "GET", f"/api/fx/{path}?{q}", self.headers(who))

    def web(self) -> Req:
        who = self.who()
        index = self.rng.choice([0, 1, 2, self.w.log_size, 10**30, -1])
        path = self.rng.choice([
            "/", f"/event/{index}", f"/event/{index}/receipt", f"/event/{index}/event.json",
            "/ledger", f"/search?q={self.url_text()}", f"/search?place={self.url_text()}",
            f"/search?party={self.url_text()}", f"/shipment/{self.url_text()}",
            f"/lot/{self.url_text()}", "/static/../../etc/passwd", "/static/%2e%2e/x"])
        return Req(who, "GET", path, self.headers(who))

    def login(self) -> Req:
        body = self.rng.choice([b"api_key=" + quote(self.text()).encode(), b"api_key=%ff%fe",
                                b"x" * 5000, b"api_key=" + b"a" * 4000, b""])
        return Req("PUBLIC", "POST", "/login",
                   {"Content-Type": "application/x-www-form-urlencoded"}, body)

    def odd_method(self) -> Req:
        who = self.who()
        method = self.rng.choice(["OPTIONS", "HEAD", "PUT", "PATCH", "TRACE"])
        path = self.rng.choice(["/epcis/events", "/epcis/capture", "/epcis/queries",
                                "/epcis/eventTypes", "/parties/shares", "/log/checkpoint", "/"])
        return Req(who, method, path, self.headers(who))

    def next(self) -> Req:
        route, make = self.rng.choice(self.routes)
        req = make()
        req.route = route
        asked = " ".join([unquote(req.path), (req.body or b"").decode("utf-8", "replace"),
                          *req.headers.values()])
        self.w.sent.setdefault(req.who, set()).update(self.w.tokens(asked))
        return req


def _mutate(doc: object, rng: random.Random, value: Callable[[], object]) -> None:
    """Replace, delete or add one field somewhere in a JSON document."""
    node = doc
    for _ in range(rng.randrange(1, 6)):
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
            if isinstance(node[key], dict | list) and rng.random() < 0.6:
                node = node[key]
                continue
            action = rng.random()
            if action < 0.6:
                node[key] = value()
            elif action < 0.8:
                del node[key]
            else:
                node[rng.choice(["extra", "ex:x", "@id", key + "x"])] = value()
            return
        if isinstance(node, list) and node:
            i = rng.randrange(len(node))
            if isinstance(node[i], dict | list) and rng.random() < 0.7:
                node = node[i]
                continue
            node[i] = value()
            return
        return


# ------------------------------------------------------------------ the node


def make_world(db: str, work: Path, port: int, pg: str = PG
               ) -> tuple[World, subprocess.Popen, str | None]:
    """A node with A's private events, B's squat and the parties' keys."""
    url, schema = store_url(db, work, "fuzz_", pg)
    database = Database(url)
    keys: dict[str, str | None] = {"PUBLIC": None}
    with database.connect() as conn:
        migrate(database, conn)
        for who, name, ident, role in (("A", "Alpha", "urn:epc:id:pgln:4700000.00001", "member"),
                                       ("B", "Beta", "urn:epc:id:pgln:4700000.00002", "member"),
                                       ("C", "Audit", "urn:example:auditor", "auditor"),
                                       ("ADMIN", "Admin", "urn:example:admin", "admin")):
            keys[who] = party_store.add_party(conn, name, ident, role=role)[1]
    corridor = str(Path(sys.executable).parent / "corridor")
    env = {**os.environ, "CORRIDOR_DATA_DIR": str(work)}
    proc = subprocess.Popen([corridor, "serve", "--db", url, "--host", "127.0.0.1",
                             "--port", str(port)], env=env, cwd=work,
                            stdout=(work / "server.log").open("ab"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(base + "/log/checkpoint", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise SystemExit("server did not start")
    secret = "s" + secrets.token_hex(7)  # EPC serials and extensions: at most 20 characters
    world = World(base, keys, secret, [], [], [])
    events = []
    for n in range(25):
        hidden = n >= 20  # known to nobody but A
        epc = f"urn:epc:id:sgtin:4700000.000001.{secret}{'h' if hidden else 'e'}{n}z"
        place = f"urn:epc:id:sgln:4700000.00001.{secret}{'h' if hidden else 'p'}{n % 3}z"
        event_id = f"urn:uuid:{secrets.token_hex(4)}-0000-4000-8000-{n:012d}"
        events.append({"type": "ObjectEvent", "eventID": event_id,
                       "eventTime": f"2024-05-{n % 28 + 1:02d}T10:00:00Z",
                       "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "epcList": [epc],
                       "bizStep": "shipping", "bizLocation": {"id": place},
                       "readPoint": {"id": place},
                       "bizTransactionList": [{"type": "po",
                                               "bizTransaction": f"urn:example:po:{secret}po"}]})
        if not hidden:
            world.a_event_ids.append(event_id)
            world.a_epcs.append(epc)
            world.a_places.append(place)
    with httpx.Client(base_url=base, timeout=30) as client:
        # B's squat first: an event of its own under A's first eventID, shared with itself.
        squat = {**events[0], "epcList": ["urn:epc:id:sgtin:4700000.000002.squat"],
                 "bizLocation": {"id": "urn:epc:id:sgln:4700000.00002.0"},
                 "readPoint": {"id": "urn:epc:id:sgln:4700000.00002.0"},
                 "bizTransactionList": []}
        _capture(client, keys["B"], [squat])
        r = client.post("/parties/shares", json={"eventID": events[0]["eventID"],
                                                 "party": "Beta"},
                        headers={"Authorization": f"Bearer {keys['B']}"})
        assert r.status_code == 201, r.text
        _capture(client, keys["A"], events)
        world.log_size = 26
    return world, proc, schema


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _capture(client: httpx.Client, key: str | None, events: list[dict]) -> None:
    doc = {"@context": [CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2024-05-01T10:00:00Z", "epcisBody": {"eventList": events}}
    r = client.post("/epcis/capture", json=doc, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/ld+json"})
    assert r.status_code == 202, r.text
    for _ in range(200):
        job = client.get(r.headers["Location"], headers={"Authorization": f"Bearer {key}"})
        if not job.json().get("running"):
            assert job.json().get("success"), job.text
            return
        time.sleep(0.05)
    raise SystemExit("capture did not finish")


def rss_by_process(pid: int) -> dict[int, int]:
    """Resident memory, in KiB, of a process and of each of its children (the capture
    workers)."""
    found: dict[int, int] = {}
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    found[p] = int(line.split()[1])
        except OSError:
            pass
    return found


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children, in KiB."""
    return sum(rss_by_process(pid).values())


def growth_kib(samples: list[dict[int, int]]) -> int:
    """How much the processes grew while sampled: for each process, its largest sample less
    its first (a worker started midway counts from its own start, not from zero)."""
    first: dict[int, int] = {}
    most: dict[int, int] = {}
    for sample in samples:
        for p, kib in sample.items():
            first.setdefault(p, kib)
            most[p] = max(most.get(p, 0), kib)
    return sum(most[p] - first[p] for p in most)


# ------------------------------------------------------------------ the run


@dataclass
class Findings:
    statuses: Counter = field(default_factory=Counter)
    server_errors: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)
    hangs: list = field(default_factory=list)
    leaks: list = field(default_factory=list)
    latencies: list = field(default_factory=list)
    rss: list = field(default_factory=list)
    by_process: list = field(default_factory=list)

    def sample_memory(self, pid: int) -> None:
        sample = rss_by_process(pid)
        self.by_process.append(sample)
        self.rss.append(sum(sample.values()))


async def _chunks(size: int) -> AsyncIterator[bytes]:
    block = b"[" * 65536
    for _ in range(size // len(block)):
        yield block


async def oversize(world: World, findings: Findings, pid: int, mib: int) -> None:
    """A chunked body of `mib` MiB to every route that takes a body."""
    targets = ["/epcis/capture", "/epcis/events", "/epcis/queries", "/parties/shares",
               "/epcis/queries/q1/subscriptions", "/login", "/parties"]
    async with httpx.AsyncClient(base_url=world.base, timeout=60) as client:
        for path in targets:
            start = time.monotonic()
            try:
                r = await client.post(path, content=_chunks(mib << 20), headers={
                    "Authorization": f"Bearer {world.keys['ADMIN']}",
                    "Content-Type": "application/json"})
                status = r.status_code
            except httpx.HTTPError:
                status = 0  # the server closed the connection after its limit: fine
            findings.latencies.append(time.monotonic() - start)
            findings.statuses[f"oversize {status}"] += 1
            if status >= 500:
                findings.server_errors[("POST " + path, status, "oversize")] += 1
            findings.sample_memory(pid)


async def send(client: httpx.AsyncClient, req: Req, findings: Findings, world: World) -> None:
    start = time.monotonic()
    try:
        # bytes: a header may carry non-ASCII on purpose
        headers = {k: v.encode("utf-8") for k, v in req.headers.items()}
        r = await client.request(req.method, req.path, headers=headers, content=req.body)
    except httpx.TimeoutException:
        findings.hangs.append((req.route, req.method, req.path[:200]))
        return
    except httpx.HTTPError as exc:
        findings.statuses[f"closed {exc.__class__.__name__}"] += 1
        return
    findings.latencies.append(time.monotonic() - start)
    findings.statuses[f"{r.status_code // 100}xx"] += 1
    if r.status_code >= 500:
        detail = r.text[:160]
        try:
            detail = r.json().get("detail", detail)
        except ValueError:
            pass
        key = (req.route, r.status_code, detail)
        findings.server_errors[key] += 1
        findings.examples.setdefault(key, (req.method, req.path[:300],
                                           {k: v[:80] for k, v in req.headers.items()},
                                           (req.body or b"")[:300]))
    if req.who not in ("A", "ADMIN") and world.secret in r.text:
        # An error message may quote the request, and a sender may store a value (in its own
        # events or named queries) and read it back: only a value it never sent is a leak.
        told = world.tokens(r.text) - world.sent.get(req.who, set())
        if told:
            findings.leaks.append((req.who, req.method, req.path[:300], r.status_code,
                                   sorted(told)[:3]))


async def settled(pid: int, seconds: float = 15.0) -> None:
    """Wait until the server's processes stop growing on their own (capture workers still
    importing their libraries), so that memory is measured from a started server."""
    deadline = time.monotonic() + seconds
    last = rss_by_process(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = rss_by_process(pid)
        if now.keys() == last.keys() and all(abs(now[p] - last[p]) < 1024 for p in now):
            return
        last = now


async def fuzz(world: World, seed: int, total: int, concurrency: int, pid: int,
               oversize_mib: int) -> Findings:
    findings = Findings()
    await settled(pid)
    findings.sample_memory(pid)
    if oversize_mib:
        await oversize(world, findings, pid, oversize_mib)
    fuzzer = Fuzzer(world, seed)
    queue: asyncio.Queue[Req | None] = asyncio.Queue(maxsize=concurrency * 2)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    stop = asyncio.Event()

    async def worker(client: httpx.AsyncClient) -> None:
        while (req := await queue.get()) is not None:
            try:
                await send(client, req, findings, world)
            except Exception as exc:  # noqa: BLE001 - the client's own failure: counted
                findings.statuses[f"not sent {exc.__class__.__name__}"] += 1

    async def sample() -> None:
        while not stop.is_set():
            findings.sample_memory(pid)
            await asyncio.sleep(1.0)

    async with httpx.AsyncClient(base_url=world.base, limits=limits,
                                 timeout=HANG_SECONDS) as client:
        workers = [asyncio.create_task(worker(client)) for _ in range(concurrency)]
        sampler = asyncio.create_task(sample())
        for _ in range(total):
            await queue.put(fuzzer.next())
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
        stop.set()
        await sampler
    findings.sample_memory(pid)
    return findings


def report(findings: Findings, seconds: float) -> str:
    lat = sorted(findings.latencies) or [0.0]
    sent = sum(v for k, v in findings.statuses.items() if not k.startswith("oversize"))
    lines = [
        (f"requests {sent + len(findings.hangs)} in {seconds:.1f} s"
         f" ({(sent + len(findings.hangs)) / max(seconds, 1e-9):.0f}/s)"),
        "by status: " + ", ".join(f"{k} {v}" for k, v in sorted(findings.statuses.items())),
        (f"5xx: {sum(findings.server_errors.values())}"
         f" ({len(findings.server_errors)} distinct causes)"),
        f"hangs over {HANG_SECONDS:.0f} s: {len(findings.hangs)}",
        f"leaks of A's events to B, C or the public: {len(findings.leaks)}",
        (f"latency p50 {statistics.median(lat) * 1000:.1f} ms,"
         f" p99 {lat[int(len(lat) * 0.99) - 1 if len(lat) > 1 else 0] * 1000:.1f} ms,"
         f" max {lat[-1] * 1000:.0f} ms"),
        (f"server memory (RSS, with workers): start {findings.rss[0] / 1024:.0f} MiB,"
         f" max {max(findings.rss) / 1024:.0f} MiB, end {findings.rss[-1] / 1024:.0f} MiB,"
         f" growth of its processes {growth_kib(findings.by_process) / 1024:.0f} MiB"),
    ]
    for (route, status, detail), count in findings.server_errors.most_common(30):
        lines.append(f"  {count:6d} x {status} {route}: {detail}")
        lines.append(f"           e.g. {findings.examples.get((route, status, detail))}")
    for hang in findings.hangs[:10]:
        lines.append(f"  hang: {hang}")
    for leak in findings.leaks[:10]:
        lines.append(f"  LEAK: {leak}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--oversize-mib", type=int, default=64)
    ap.add_argument("--port", type=int, default=8747)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="corridor-fuzz-") as tmp:
        world, proc, schema = make_world(args.db, Path(tmp), args.port)
        try:
            start = time.monotonic()
            findings = asyncio.run(fuzz(world, args.seed, args.requests, args.concurrency,
                                        proc.pid, args.oversize_mib))
            seconds = time.monotonic() - start
            alive = httpx.get(world.base + "/log/checkpoint", timeout=10).status_code
            print(f"bench_fuzz: {args.db}, seed {args.seed}, concurrency {args.concurrency}")
            print(report(findings, seconds))
            print(f"server answers afterwards: /log/checkpoint {alive}")
        finally:
            stop_server(proc)
            drop_db(schema)


if __name__ == "__main__":
    main()
